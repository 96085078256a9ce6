import path from "node:path";
import { UsageError } from "../../errors.ts";
import { generateWorld } from "../../sample/generate-world.ts";
import { parseTimestamp } from "../../signals/segment-message.ts";
import { type Command, intOption } from "../command.ts";
import { formatNumber, keyValues } from "../output.ts";
import { createProgress } from "../progress.ts";

/** Sample worlds end here unless --end says otherwise, so the same arguments give the same file. */
export const DEFAULT_WORLD_END = "2026-11-01T00:00:00Z";

export const generateCommand: Command = {
  usage: "generate --accounts N --days D --seed S --out FILE [--end DATE]",
  summary: "write a deterministic sample world (Segment NDJSON) and FILE.outcomes.csv",
  options: {
    accounts: { type: "string" },
    days: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    end: { type: "string" },
  },
  async run(ctx, _positionals, values) {
    const accounts = intOption(values, "accounts", undefined, 1);
    const days = intOption(values, "days", 30, 1);
    const seed = intOption(values, "seed", 1);
    if (typeof values.out !== "string") throw new UsageError("--out FILE is required");
    const endText = typeof values.end === "string" ? values.end : DEFAULT_WORLD_END;
    const end = parseTimestamp(endText);
    if (!end) throw new UsageError(`--end: expected an ISO-8601 date, got ${JSON.stringify(endText)}`);
    const progress = createProgress("generating", ctx.stderr, " accounts");
    const summary = await generateWorld({
      accounts,
      days,
      seed,
      end,
      out: path.resolve(values.out),
      onProgress: (done, total) => progress.update(done, total),
    }).finally(() => progress.stop());
    return {
      json: { ...summary, days, seed, end: end.toISOString() },
      text: keyValues([
        [
          "events",
          `${summary.file} (${formatNumber(summary.messages)} messages, ${(summary.bytes / 1e6).toFixed(1)} MB)`,
        ],
        [
          "outcomes",
          `${summary.outcomesFile} (${formatNumber(summary.converted)} of ${formatNumber(accounts)} converted)`,
        ],
        ["world", `${days} days to ${end.toISOString()}, seed ${seed}`],
      ]),
    };
  },
};
