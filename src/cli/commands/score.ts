import { runScorePass, type ScorePassOptions, type ScorePassResult } from "../../app/jobs/score-pass.ts";
import type { Runtime } from "../../app/runtime.ts";
import { staleDataWarning } from "../../config/config-warnings.ts";
import { sourceNewestEventAt } from "../../sources/signal-source.ts";
import { type RankedAccount, rankedAccounts } from "../../store/score-store.ts";
import { atOption, type CliContext, type Command, intOption } from "../command.ts";
import { formatNumber, table } from "../output.ts";
import { createProgress } from "../progress.ts";

export const scoreCommand: Command = {
  usage: "score [--at DATE] [--full] [--limit N]",
  summary: "run a scoring pass (only changed accounts unless --full) and print the ranked accounts",
  options: { at: { type: "string" }, full: { type: "boolean" }, limit: { type: "string" } },
  async run(ctx, _positionals, values) {
    const now = atOption(values.at, ctx.clock);
    const limit = intOption(values, "limit", 20, 1);
    const rt = await ctx.runtime({ config: true });
    // A pass for a past date (--at) is a backtest: it never routes accounts to sales.
    const route = values.at === undefined;
    const summary = await scorePass(ctx, rt, { now, full: values.full === true, route });
    const stale = staleDataWarning(
      await sourceNewestEventAt(rt.config.config, rt.db, rt.settings.sourceUrl),
      now,
      rt.config.config,
    );
    const warnings = stale ? [stale] : [];
    if (values.json !== true) {
      const ranking = renderRanking(await rankedAccounts(rt.db, now, limit), summary);
      return { json: null, text: [...warnings.map((w) => `warning: ${w}`), ranking].join("\n") };
    }
    const ranked = await rankedAccounts(rt.db, now);
    return { json: { accounts: ranked.map(({ asOf: _asOf, ...a }) => a), summary, warnings }, text: "" };
  },
};

/** A scoring pass with a progress bar on a terminal (shared by `score` and `demo`). */
export async function scorePass(
  ctx: CliContext,
  rt: Runtime,
  options: Omit<ScorePassOptions, "onProgress">,
): Promise<ScorePassResult> {
  const progress = createProgress("scoring", ctx.stderr, " accounts");
  try {
    return await runScorePass(rt, { ...options, onProgress: (done, total) => progress.update(done, total) });
  } finally {
    progress.stop();
  }
}

export function renderRanking(shown: RankedAccount[], s: ScorePassResult): string {
  const money = (n: number) => `$${Math.round(n).toLocaleString("en-US")}`;
  const total = s.tiers.hot + s.tiers.warm + s.tiers.cold;
  const lines = [
    `scored ${formatNumber(s.scored)} of ${formatNumber(s.accounts)} accounts as of ${s.asOf} (${s.mode} pass, config ${s.configVersion}, ${(s.durationMs / 1000).toFixed(1)} s)`,
    `tiers: ${s.tiers.hot} hot, ${s.tiers.warm} warm, ${s.tiers.cold} cold` +
      `; since the last pass: ${s.changes.newlyHot.length} newly hot, ${s.changes.newlyWarm.length} newly warm, ${s.changes.cooled.length} cooled` +
      (s.changes.firstScored > 0 ? `, ${s.changes.firstScored} scored for the first time` : "") +
      (s.routed > 0 ? `; ${s.routed} routed to sales` : ""),
  ];
  if (shown.length > 0) {
    lines.push(
      table(
        ["#", "account", "domain", "tier", "score", "PQR", "top reason"],
        shown.map((a, i) => [
          i + 1,
          a.name ?? a.accountId,
          a.domain ?? "-",
          a.tier,
          a.score.toFixed(1),
          money(a.pqr),
          truncate(a.reasons[0] ?? "-", 90),
        ]),
        { align: ["right", "left", "left", "left", "right", "right", "left"] },
      ),
    );
    if (total > shown.length) lines.push(`... ${total - shown.length} more (--limit N, or --json for all)`);
  }
  return lines.join("\n");
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
