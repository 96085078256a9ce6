import fs from "node:fs";
import path from "node:path";
import { type BacktestOptions, type BacktestReport, runBacktest } from "../../app/jobs/backtest.ts";
import { loadConfig } from "../../config/load-config.ts";
import { UsageError } from "../../errors.ts";
import { backtestHtml } from "../../reporting/backtest-html.ts";
import { pct } from "../../reporting/manager-report.ts";
import type { ConfigResult } from "../../tuning/backtest.ts";
import type { Calibration } from "../../tuning/calibration-report.ts";
import type { CliContext, Command, Values } from "../command.ts";
import { formatNumber, keyValues, table } from "../output.ts";
import { createProgress } from "../progress.ts";

/** The options every command replaying history takes: backtest, thresholds suggest, weights fit. */
export const PERIOD_OPTIONS = {
  from: { type: "string" },
  to: { type: "string" },
  every: { type: "string" },
  horizon: { type: "string" },
} as const;

function dayOption(values: Values, name: string): Date | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const m = typeof raw === "string" ? /^\d{4}-\d{2}-\d{2}$/.exec(raw) : null;
  const at = m ? new Date(`${raw}T00:00:00Z`) : null;
  if (!at || Number.isNaN(at.getTime()))
    throw new UsageError(`--${name}: expected a date such as 2026-06-01, got ${JSON.stringify(raw)}`);
  return at;
}

function daysOption(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const m = typeof raw === "string" ? /^(\d{1,4})d?$/.exec(raw) : null;
  if (!m || Number(m[1]) < 1)
    throw new UsageError(
      `--${name}: expected a number of days such as ${fallback}d, got ${JSON.stringify(raw)}`,
    );
  return Number(m[1]);
}

/** --from, --to, --every, --horizon. */
export function periodOptions(
  values: Values,
): Pick<BacktestOptions, "from" | "to" | "everyDays" | "horizonDays"> {
  return {
    from: dayOption(values, "from"),
    to: dayOption(values, "to"),
    everyDays: daysOption(values, "every", 7),
    horizonDays: daysOption(values, "horizon", 90),
  };
}

/** A config file named by an option, validated as `config check` would (a bad one is refused with its report). */
export function configOption(values: Values, name: string) {
  const file = values[name];
  if (file === undefined) return undefined;
  if (typeof file !== "string" || !fs.existsSync(file))
    throw new UsageError(`--${name}: no such config file: ${JSON.stringify(file)}`);
  return loadConfig(file);
}

/** Runs a backtest of the live config, or of --config (beside --baseline), with a progress bar. */
export async function backtestFromOptions(ctx: CliContext, values: Values) {
  const period = periodOptions(values);
  const candidate = configOption(values, "config");
  const baseline = configOption(values, "baseline");
  const rt = await ctx.runtime({ config: candidate === undefined });
  const configs = [
    ...(baseline ? [{ label: `baseline (${path.basename(baseline.path)})`, config: baseline.config }] : []),
    candidate
      ? { label: `candidate (${path.basename(candidate.path)})`, config: candidate.config }
      : { label: `current (${path.basename(rt.config.path)})`, config: rt.config.config },
  ];
  const progress = createProgress("replaying", ctx.stderr, " accounts");
  try {
    return {
      rt,
      backtest: await runBacktest(rt.db, {
        ...period,
        configs,
        onProgress: (done, total) => progress.update(done, total),
      }),
    };
  } finally {
    progress.stop();
  }
}

const FORMATS = ["text", "json", "html"] as const;

export const backtestCommand: Command = {
  usage:
    "backtest [--config candidate.yaml] [--baseline current.yaml] [--from DATE --to DATE] [--every 7d] [--horizon 90d] [--format text|html|json] [--out FILE]",
  summary:
    "replay scoring on history without look-ahead and judge it against outcomes: conversion per tier, lift, precision and recall, revenue captured, PQR error, routing load; writes nothing live",
  options: {
    ...PERIOD_OPTIONS,
    config: { type: "string" },
    baseline: { type: "string" },
    format: { type: "string" },
    out: { type: "string" },
  },
  async run(ctx, _positionals, values) {
    const format = (values.format ?? (values.json ? "json" : "text")) as string;
    if (!(FORMATS as readonly string[]).includes(format))
      throw new UsageError(`--format: expected one of ${FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
    const { backtest } = await backtestFromOptions(ctx, values);
    const report = backtest.report;
    const out = typeof values.out === "string" ? values.out : undefined;
    if (format === "html" || out !== undefined) {
      const file = out ?? path.join(ctx.settings.dataDir, "backtest.html");
      const body =
        format === "html"
          ? await backtestHtml(report)
          : format === "json"
            ? `${JSON.stringify(report, null, 2)}\n`
            : `${renderBacktest(report)}\n`;
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      fs.writeFileSync(file, body);
      return { json: { ...report, file }, text: `backtest (${format}) written to ${file}` };
    }
    return { json: report, text: renderBacktest(report) };
  },
};

const ratio = (x: number | null) => (x === null ? "-" : `${x.toFixed(2)}x`);
const share = (x: number | null) => (x === null ? "-" : pct(x));

export function renderBacktest(r: BacktestReport): string {
  const p = r.period;
  const sections = [
    `Backtest: ${p.points} points every ${p.everyDays} days from ${p.from.slice(0, 10)} to ${p.to.slice(0, 10)}; converted = within ${p.horizonDays} days after a point (newest event ${p.dataEnd.slice(0, 10)}). Nothing live was written.`,
  ];
  if (r.warnings.length) sections.push(["Warnings:", ...r.warnings.map((w) => `  ! ${w}`)].join("\n"));
  const cols = r.configs;
  const row = (label: string, f: (c: ConfigResult) => string | number): (string | number)[] => [
    label,
    ...cols.map(f),
  ];
  sections.push(
    table(
      ["", ...cols.map((c) => c.label)],
      [
        row("thresholds hot / warm", (c) => `${c.thresholds.hot} / ${c.thresholds.warm}`),
        row(
          "scorings judged (accounts)",
          (c) => `${formatNumber(c.observations)} (${formatNumber(c.accounts)})`,
        ),
        row("converted within horizon", (c) => `${formatNumber(c.converted)} (base rate ${pct(c.baseRate)})`),
        ...(["hot", "warm", "cold"] as const).map((tier) =>
          row(`${tier}: scorings, conversion [95% CI]`, (c) => {
            const t = c.tiers.find((x) => x.tier === tier);
            return t
              ? `${formatNumber(t.observations)}, ${t.converted} = ${pct(t.rate)} [${pct(t.interval.low)}-${pct(t.interval.high)}]`
              : "-";
          }),
        ),
        row("lift of hot over base rate", (c) => ratio(c.hot.lift)),
        row("precision / recall of hot", (c) => `${share(c.hot.precision)} / ${share(c.hot.recall)}`),
        row(
          "AUC of the score; lift of its top 10%",
          (c) => `${c.auc === null ? "-" : c.auc.toFixed(3)}; ${ratio(c.liftTop10)}`,
        ),
        row(
          "revenue captured: hot / hot+warm",
          (c) =>
            `${formatNumber(c.revenue.hot)} (${share(c.revenue.hotShare)}) / ${formatNumber(c.revenue.hotOrWarm)} (${share(c.revenue.hotOrWarmShare)}) of ${formatNumber(c.revenue.total)}`,
        ),
        row("PQR error: median |error|, median PQR/amount", (c) =>
          c.pqr.accounts === 0
            ? "-"
            : `${share(c.pqr.medianAbsPctError)}, ${ratio(c.pqr.medianRatio)} (${c.pqr.accounts} converters)`,
        ),
        row("not-a-fit accounts still hot", (c) => `${c.feedback.stillHot} of ${c.feedback.notAFit}`),
        row("calibration: ECE / Brier (base rate's Brier)", (c) =>
          c.calibration
            ? `${c.calibration.ece.toFixed(4)} / ${c.calibration.brier.toFixed(4)} (${c.calibration.brierBaseRate.toFixed(4)})`
            : "-",
        ),
      ],
    ),
  );
  const last = cols[cols.length - 1];
  if (last?.calibration)
    sections.push(renderCalibration(last.calibration, `${last.label}: conversion per score decile`));
  sections.push(
    `Routing load: new hot accounts per week, per pool, against the pool's capacity:\n${table(
      ["config", "pool", "capacity", "median / week", "max / week", "weeks over capacity"],
      cols.flatMap((c) =>
        c.load.map((l) => [
          c.label,
          l.label,
          l.capacity,
          l.median,
          l.max,
          `${l.weeksOverCapacity} of ${l.perWeek.length}`,
        ]),
      ),
      { align: ["left", "left", "right", "right", "right", "right"] },
    )}`,
  );
  if (r.changes) {
    const c = r.changes;
    sections.push(
      `Tier moves, baseline -> candidate (${formatNumber(c.observationsMoved)} scorings moved; ${c.atLastPoint} accounts differ at the last point):\n` +
        table(
          ["baseline \\ candidate", "cold", "warm", "hot"],
          c.matrix.map((m) => [m.from, m.to.cold ?? 0, m.to.warm ?? 0, m.to.hot ?? 0]),
          { align: ["left", "right", "right", "right"] },
        ) +
        (c.accounts.length
          ? `\n${table(
              ["account", "baseline", "candidate", "converted"],
              c.accounts.map((a) => [
                a.name ?? a.accountId,
                `${a.from.score} ${a.from.tier}`,
                `${a.to.score} ${a.to.tier}`,
                a.converted ? "yes" : "no",
              ]),
            )}`
          : ""),
    );
  }
  sections.push(keyValues([["replayed in", `${(r.durationMs / 1000).toFixed(1)} s`]]));
  return sections.join("\n\n");
}

/** Deciles with their conversion, Wilson interval and calibrated probability; then ECE and Brier. */
export function renderCalibration(c: Calibration, title: string): string {
  return `${title} (${c.method} calibration, judged out of fold over ${c.folds} folds of accounts):\n${table(
    ["score", "scorings", "converted", "conversion [95% CI]", "calibrated"],
    c.deciles.map((d) => [
      `${d.min.toFixed(1)}-${d.max.toFixed(1)}`,
      formatNumber(d.observations),
      formatNumber(d.converted),
      `${pct(d.rate)} [${pct(d.interval.low)}-${pct(d.interval.high)}]`,
      pct(d.predicted),
    ]),
    { align: ["left", "right", "right", "right", "right"] },
  )}\nexpected calibration error ${c.ece.toFixed(4)}; Brier score ${c.brier.toFixed(4)} (always the base rate: ${c.brierBaseRate.toFixed(4)})`;
}
