import fs from "node:fs";
import path from "node:path";
import { type ImportSummary, importFile } from "../../app/jobs/import-file.ts";
import type { Runtime } from "../../app/runtime.ts";
import { UsageError } from "../../errors.ts";
import type { CliContext, Command } from "../command.ts";
import { formatNumber, printable, table } from "../output.ts";
import { createProgress } from "../progress.ts";

export const importCommand: Command = {
  usage: "import <file>",
  summary: "load Segment messages from NDJSON (one a line) or CSV; duplicates are skipped",
  async run(ctx, positionals) {
    const file = positionals[0];
    if (!file) throw new UsageError("import needs a file: pql-router import <file.ndjson|file.csv>");
    const resolved = path.resolve(file);
    if (!fs.existsSync(resolved)) throw new UsageError(`file not found: ${resolved}`);
    const rt = await ctx.runtime();
    const summary = await importInto(ctx, rt, resolved);
    return { json: summary, text: renderImport(resolved, summary) };
  },
};

/** Imports one file with a progress bar on a terminal (shared by `import` and `demo`). */
export async function importInto(ctx: CliContext, rt: Runtime, file: string): Promise<ImportSummary> {
  const progress = createProgress(`importing ${printable(path.basename(file))}`, ctx.stderr, " MB");
  try {
    return await importFile(rt, file, {
      onProgress: ({ bytesRead, totalBytes }) =>
        progress.update(Math.round(bytesRead / 1e5) / 10, Math.round(totalBytes / 1e5) / 10),
    });
  } finally {
    progress.stop();
  }
}

export function renderImport(file: string, s: ImportSummary): string {
  const lines = [
    `${file}: ${formatNumber(s.accepted)} accepted, ${formatNumber(s.duplicates)} duplicates, ${formatNumber(s.rejected.length)} rejected`,
  ];
  if (s.rejected.length > 0) {
    const shown = s.rejected.slice(0, 20);
    lines.push(
      table(
        ["line", "reason"],
        shown.map((r) => [r.line, r.reason]),
        { align: ["right", "left"] },
      ),
    );
    if (s.rejected.length > shown.length)
      lines.push(`... and ${s.rejected.length - shown.length} more (--json lists all)`);
  }
  return lines.join("\n");
}
