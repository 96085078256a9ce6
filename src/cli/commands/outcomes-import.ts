import path from "node:path";
import { UsageError } from "../../errors.ts";
import { readOutcomesCsv } from "../../signals/outcomes-csv.ts";
import { storeOutcomes } from "../../store/outcome-store.ts";
import type { Command } from "../command.ts";
import { table } from "../output.ts";

export const outcomesImportCommand: Command = {
  usage: "outcomes import <file.csv>",
  summary: "load known outcomes (account_id,converted,converted_at,amount) for backtests and reports",
  async run(ctx, positionals) {
    const file = positionals[0];
    if (!file) throw new UsageError("outcomes import needs a CSV file");
    const parsed = await readOutcomesCsv(path.resolve(file));
    const { db } = await ctx.runtime();
    const stored = await storeOutcomes(db, parsed.rows, `file:${path.basename(file)}`);
    const converted = parsed.rows.filter((r) => r.converted).length;
    const text = [
      `${file}: ${stored} outcomes stored (${converted} converted), ${parsed.rejected.length} rejected`,
    ];
    if (parsed.rejected.length > 0)
      text.push(
        table(
          ["line", "reason"],
          parsed.rejected.slice(0, 20).map((r) => [r.line, r.reason]),
        ),
      );
    return { json: { stored, converted, rejected: parsed.rejected }, text: text.join("\n") };
  },
};
