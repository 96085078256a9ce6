import { UsageError } from "../../errors.ts";
import { saveCalibration } from "../../store/calibration-store.ts";
import { calibrationOf, MIN_CONVERSIONS } from "../../tuning/calibration-report.ts";
import type { Command } from "../command.ts";
import { backtestFromOptions, PERIOD_OPTIONS, renderCalibration } from "./backtest.ts";

const METHODS = ["isotonic", "platt"] as const;

export const calibrateCommand: Command = {
  usage:
    "calibrate [--method isotonic|platt] [--dry-run] [--from DATE --to DATE] [--every 7d] [--horizon 90d]",
  summary:
    "map the live config's score to a probability of converting within the horizon, fitted on a backtest; HubSpot, Slack and explain show it until the config changes",
  options: { ...PERIOD_OPTIONS, method: { type: "string" }, "dry-run": { type: "boolean" } },
  async run(ctx, _positionals, values) {
    const method = (values.method ?? "isotonic") as string;
    if (!(METHODS as readonly string[]).includes(method))
      throw new UsageError(`--method: expected one of ${METHODS.join(", ")}, got ${JSON.stringify(method)}`);
    const { rt, backtest } = await backtestFromOptions(ctx, {
      ...values,
      config: undefined,
      baseline: undefined,
    });
    const run = backtest.input.runs[0];
    const obs = backtest.observations;
    const conversions = obs.reduce((n, o) => n + o.label, 0);
    const calibration = run
      ? calibrationOf(
          obs.map((o) => run.scores.score[o.at] as number),
          obs.map((o) => o.label),
          obs.map((o) => o.account),
          method as (typeof METHODS)[number],
        )
      : null;
    const { period } = backtest.report;
    const enough = calibration !== null && conversions >= MIN_CONVERSIONS;
    const save = enough && values["dry-run"] !== true;
    const fittedAt = new Date(ctx.clock.now());
    if (save && calibration)
      await saveCalibration(rt.db, {
        configVersion: rt.config.version,
        fittedAt,
        horizonDays: period.horizonDays,
        model: calibration.model,
        period: { from: period.from, to: period.to, everyDays: period.everyDays },
        observations: obs.length,
        conversions,
        ece: calibration.ece,
        brier: calibration.brier,
      });
    const lines = [
      ...backtest.report.warnings.map((w) => `warning: ${w}`),
      ...(calibration
        ? [renderCalibration(calibration, `Conversion within ${period.horizonDays} days per score decile`)]
        : []),
      !enough
        ? `Not calibrated: ${conversions} conversions within ${period.horizonDays} days of a point, and at least ${MIN_CONVERSIONS} are needed. Import more outcomes or use a longer period.`
        : save
          ? `Calibrated config ${rt.config.version} on ${fittedAt.toISOString().slice(0, 10)}: HubSpot, Slack and explain now show the probability beside the score (until the config changes).`
          : "Dry run: nothing stored.",
    ];
    return {
      json: {
        period,
        configVersion: rt.config.version,
        method,
        conversions,
        observations: obs.length,
        calibration,
        stored: save,
        fittedAt: save ? fittedAt.toISOString() : null,
        warnings: backtest.report.warnings,
      },
      text: lines.join("\n"),
      exitCode: enough ? 0 : 1,
    };
  },
};
