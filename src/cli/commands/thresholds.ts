import { writeCandidateConfig } from "../../config/edit-config.ts";
import { UsageError } from "../../errors.ts";
import { pct } from "../../reporting/manager-report.ts";
import { MIN_HOT_SCORINGS } from "../../tuning/backtest.ts";
import { type CurvePoint, suggestThresholds, thresholdCurve } from "../../tuning/thresholds.ts";
import type { Command, Values } from "../command.ts";
import { formatNumber, table } from "../output.ts";
import { backtestFromOptions, PERIOD_OPTIONS } from "./backtest.ts";

function fractionOption(values: Values, name: string, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  const n = Number(raw);
  if (raw === undefined || typeof raw !== "string" || !(n > 0 && n < 1))
    throw new UsageError(
      `--${name}: expected a conversion rate between 0 and 1 such as 0.25, got ${JSON.stringify(raw ?? null)}`,
    );
  return n;
}

export const thresholdsSuggestCommand: Command = {
  usage:
    "thresholds suggest --target-conversion 0.25 [--warm-target RATE] [--capacity from-config|N] [--out candidate.yaml] [--config FILE] [--from DATE --to DATE] [--every 7d] [--horizon 90d]",
  summary:
    "propose hot and warm thresholds from history: hot converts at the target and fits the team's weekly capacity; shows the trade-off curve; writes a candidate config",
  options: {
    ...PERIOD_OPTIONS,
    "target-conversion": { type: "string" },
    "warm-target": { type: "string" },
    capacity: { type: "string" },
    out: { type: "string" },
    config: { type: "string" },
  },
  async run(ctx, _positionals, values) {
    const target = fractionOption(values, "target-conversion");
    const givenWarm = values["warm-target"] === undefined ? null : fractionOption(values, "warm-target");
    if (givenWarm !== null && givenWarm >= target)
      throw new UsageError(`--warm-target: ${givenWarm} must be below --target-conversion ${target}`);
    const rawCapacity = values.capacity ?? "from-config";
    if (rawCapacity !== "from-config" && !/^\d+(\.\d+)?$/.test(String(rawCapacity)))
      throw new UsageError(
        `--capacity: expected from-config or a number of new hot accounts a week, got ${JSON.stringify(rawCapacity)}`,
      );
    const { rt, backtest } = await backtestFromOptions(ctx, values);
    const run = backtest.input.runs[backtest.input.runs.length - 1];
    if (!run) throw new UsageError("thresholds suggest: nothing was replayed");
    const capacity =
      rawCapacity === "from-config"
        ? run.config.routing.pools.reduce((sum, p) => sum + p.capacity, 0)
        : Number(rawCapacity);
    const curve = thresholdCurve(backtest.input, run, backtest.observations);
    // Warm by default: halfway between the base rate and the hot target (warm must beat the average account).
    const baseRate = curve[0]?.rate ?? 0;
    const warmTarget = givenWarm ?? Math.min(target, (baseRate + target) / 2);
    const suggestion = suggestThresholds(curve, {
      target,
      warmTarget,
      capacity,
      minScorings: Math.min(MIN_HOT_SCORINGS, Math.max(10, Math.round(backtest.observations.length / 100))),
      currentWarm: run.config.tiers.warm,
    });
    const current = { hot: run.config.tiers.hot, warm: run.config.tiers.warm };
    let candidate: string | null = null;
    if (typeof values.out === "string" && suggestion.hot !== null && suggestion.warm !== null) {
      const livePath = typeof values.config === "string" ? values.config : rt.config.path;
      writeCandidateConfig(livePath, values.out, [
        { path: ["tiers", "hot"], value: suggestion.hot },
        { path: ["tiers", "warm"], value: suggestion.warm },
      ]);
      candidate = values.out;
    }
    const shown = curve.filter(
      (p) => p.threshold % 5 === 0 || p.threshold === suggestion.hot || p.threshold === current.hot,
    );
    const row = (p: CurvePoint) => [
      `${p.threshold}${p.threshold === suggestion.hot ? " <- suggested" : p.threshold === current.hot ? " <- current" : ""}`,
      formatNumber(p.newPerWeek),
      formatNumber(p.scorings),
      `${pct(p.rate)} (${pct(p.smoothedRate)})`,
      formatNumber(p.revenue),
    ];
    const lines = [
      `Hot thresholds on ${backtest.report.period.points} points from ${backtest.report.period.from.slice(0, 10)} to ${backtest.report.period.to.slice(0, 10)}: target ${pct(target)} converting within ${backtest.report.period.horizonDays} days, capacity ${formatNumber(capacity)} new hot accounts a week${rawCapacity === "from-config" ? " (the pools' capacities)" : ""}.`,
      ...backtest.report.warnings.map((w) => `warning: ${w}`),
      table(
        [
          "hot threshold",
          "new hot / week",
          "scorings at or above",
          "conversion (smoothed)",
          "revenue captured",
        ],
        shown.map(row),
        {
          align: ["left", "right", "right", "right", "right"],
        },
      ),
    ];
    if (suggestion.hot !== null && suggestion.atHot) {
      lines.push(
        `Suggested: hot ${suggestion.hot} (was ${current.hot}), warm ${suggestion.warm} (was ${current.warm}). Hot would convert at ${pct(suggestion.atHot.smoothedRate)} with ${formatNumber(suggestion.atHot.newPerWeek)} new hot accounts a week.`,
        candidate
          ? `Candidate config written to ${candidate} (only tiers.hot and tiers.warm changed): check it with pql-router backtest --config ${candidate} --baseline <live config>.`
          : "Pass --out candidate.yaml to write a candidate config.",
      );
    } else {
      const { meetsTarget, fitsCapacity } = suggestion.closest;
      lines.push(
        `No threshold converts at ${pct(target)} within a capacity of ${formatNumber(capacity)} a week; nothing written. Closest options:`,
        meetsTarget
          ? `  - hot ${meetsTarget.threshold} meets the target (${pct(meetsTarget.smoothedRate)}) but sends ${formatNumber(meetsTarget.newPerWeek)} new hot accounts a week: raise capacity (--capacity) or add reps.`
          : `  - no threshold with at least ${suggestion.minScorings} scorings reaches ${pct(target)}: lower --target-conversion, or improve the signals.`,
        fitsCapacity
          ? `  - the best conversion within capacity: hot ${fitsCapacity.threshold} converts at ${pct(fitsCapacity.smoothedRate)} (${formatNumber(fitsCapacity.newPerWeek)} new hot accounts a week).`
          : "  - no threshold fits the capacity.",
      );
    }
    return {
      json: {
        period: backtest.report.period,
        current,
        suggested: suggestion.hot === null ? null : { hot: suggestion.hot, warm: suggestion.warm },
        ...suggestion,
        candidate,
        curve,
        warnings: backtest.report.warnings,
      },
      text: lines.join("\n"),
      exitCode: suggestion.hot === null ? 1 : 0,
    };
  },
};
