import fs from "node:fs";
import path from "node:path";
import { isScalar, parseDocument } from "yaml";
import { UsageError } from "../errors.ts";
import { checkConfigText } from "./load-config.ts";

export type ConfigEdit = { path: (string | number)[]; value: number };

/**
 * The config text with `edits` applied and everything else kept byte for byte: comments, order,
 * quoting, layout. Each existing value is replaced in place in the source text; a value whose key
 * is missing is added through the YAML document (which keeps comments but may re-indent).
 */
export function editConfigText(source: string, edits: readonly ConfigEdit[]): string {
  const doc = parseDocument(source);
  const inPlace: { start: number; end: number; text: string }[] = [];
  const missing: ConfigEdit[] = [];
  for (const edit of edits) {
    const node = doc.getIn(edit.path, true);
    if (isScalar(node) && node.range)
      inPlace.push({ start: node.range[0], end: node.range[1], text: String(edit.value) });
    else missing.push(edit);
  }
  if (missing.length > 0) {
    for (const edit of edits) doc.setIn(edit.path, edit.value);
    return doc.toString({ lineWidth: 0 });
  }
  let text = source;
  for (const r of inPlace.sort((a, b) => b.start - a.start))
    text = text.slice(0, r.start) + r.text + text.slice(r.end);
  return text;
}

/**
 * Writes a candidate config: the live file with `edits`, to `out`, validated as `config check`
 * would. Never the live file itself. Returns the candidate's version (content hash).
 */
export function writeCandidateConfig(livePath: string, out: string, edits: readonly ConfigEdit[]): string {
  if (path.resolve(out) === path.resolve(livePath))
    throw new UsageError(
      `--out: ${out} is the live config: write the candidate to another file and review it`,
    );
  const text = editConfigText(fs.readFileSync(livePath, "utf8"), edits);
  const check = checkConfigText(text, out);
  if (!check.ok)
    throw new UsageError(`the candidate config would be invalid:\n  ${check.problems.join("\n  ")}`);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, text);
  return check.version;
}
