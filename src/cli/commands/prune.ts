import { runPrune } from "../../app/jobs/prune.ts";
import { UsageError } from "../../errors.ts";
import type { Command } from "../command.ts";
import { formatNumber, keyValues } from "../output.ts";
import { createProgress } from "../progress.ts";

/** `--older-than`: a whole number of days, written `400d` (or `400`). */
export function olderThanOption(value: unknown): number {
  const m = typeof value === "string" ? /^(\d{1,5})d?$/.exec(value) : null;
  if (!m || Number(m[1]) < 1)
    throw new UsageError(
      `--older-than: expected a number of days such as 400d, got ${JSON.stringify(value ?? null)}`,
    );
  return Number(m[1]);
}

export const pruneCommand: Command = {
  usage: "prune --older-than 400d [--dry-run]",
  summary: "delete raw messages no window or pass still needs; first-seen times, scores and routings stay",
  options: { "older-than": { type: "string" }, "dry-run": { type: "boolean" } },
  async run(ctx, _positionals, values) {
    const olderThanDays = olderThanOption(values["older-than"]);
    const rt = await ctx.runtime({ config: true });
    const progress = createProgress("pruning", ctx.stderr, " messages");
    const result = await (async () => {
      try {
        return await runPrune(rt, {
          olderThanDays,
          dryRun: values["dry-run"] === true,
          onProgress: (done, total) => progress.update(done, total),
        });
      } finally {
        progress.stop();
      }
    })();
    const verb = result.dryRun ? "would delete" : "deleted";
    const lines = [
      `${result.dryRun ? "dry run: nothing deleted. " : ""}messages before ${result.cutoff}:`,
      keyValues([
        [`${verb}, of accounts`, formatNumber(result.deleted.messages)],
        [`${verb}, never attributed to an account`, formatNumber(result.deleted.unattributed)],
        ["first/last times kept (new rows)", formatNumber(result.summaries)],
        ["shortest --older-than allowed", `${result.minimumDays}d`],
      ]),
    ];
    if (result.heldBack) lines.push(`cut earlier than asked: ${result.heldBack}`);
    lines.push("kept: every score snapshot, routing, claim and outcome; identities and traits.");
    return { json: result, text: lines.join("\n") };
  },
};
