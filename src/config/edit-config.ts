import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { UsageError } from "../errors.ts";
import { checkConfigText } from "./load-config.ts";

export type ConfigEdit = { path: (string | number)[]; value: number };

/**
 * The config text with `edits` applied and everything else kept: comments, order, quoting.
 * Only the named values change (a missing map on the way is created).
 */
export function editConfigText(source: string, edits: readonly ConfigEdit[]): string {
  const doc = parseDocument(source, { keepSourceTokens: true });
  for (const edit of edits) doc.setIn(edit.path, edit.value);
  return doc.toString({ lineWidth: 0 });
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
