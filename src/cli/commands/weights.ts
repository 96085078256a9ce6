import { writeCandidateConfig } from "../../config/edit-config.ts";
import { UsageError } from "../../errors.ts";
import { pct } from "../../reporting/manager-report.ts";
import { fitWeights } from "../../tuning/weights.ts";
import type { Command } from "../command.ts";
import { table } from "../output.ts";
import { backtestFromOptions, PERIOD_OPTIONS } from "./backtest.ts";

export const weightsFitCommand: Command = {
  usage:
    "weights fit [--out candidate.yaml] [--config FILE] [--from DATE --to DATE] [--every 7d] [--horizon 90d]",
  summary:
    "fit component and signal weights to outcomes (regularised logistic regression, cross-validated), beside the hand-set ones; a report, never applied",
  options: { ...PERIOD_OPTIONS, out: { type: "string" }, config: { type: "string" } },
  async run(ctx, _positionals, values) {
    const { rt, backtest } = await backtestFromOptions(ctx, values);
    const run = backtest.input.runs[backtest.input.runs.length - 1];
    if (!run) throw new UsageError("weights fit: nothing was replayed");
    const fit = fitWeights(run, backtest.observations);
    if (!fit)
      return {
        json: {
          period: backtest.report.period,
          fit: null,
          candidate: null,
          warnings: backtest.report.warnings,
        },
        text: `Too few outcomes to fit weights: ${backtest.observations.filter((o) => o.label === 1).length} conversions within the horizon among ${backtest.observations.length} scorings (at least 5 needed, and 50 to trust it).`,
        exitCode: 1,
      };
    let candidate: string | null = null;
    if (typeof values.out === "string" && fit.edits.length > 0) {
      writeCandidateConfig(
        typeof values.config === "string" ? values.config : rt.config.path,
        values.out,
        fit.edits,
      );
      candidate = values.out;
    }
    const n = (x: number | null, digits = 3) => (x === null ? "-" : x.toFixed(digits));
    const lines = [
      `Weights fitted on ${fit.rows.toLocaleString("en-US")} scorings (${fit.converted} converted within ${backtest.report.period.horizonDays} days) from ${backtest.report.period.from.slice(0, 10)} to ${backtest.report.period.to.slice(0, 10)}; L2 penalty ${fit.l2} chosen by ${fit.folds}-fold cross-validation over accounts.`,
      ...backtest.report.warnings.map((w) => `warning: ${w}`),
      table(
        ["input", "hand-set share", "fitted share [95% CI]", "log-odds per unit [95% CI]"],
        fit.columns.map((c) => [
          c.name,
          pct(c.handSet),
          `${pct(c.fitted)}${c.fittedInterval ? ` [${pct(c.fittedInterval.low)}-${pct(c.fittedInterval.high)}]` : ""}`,
          `${n(c.coefficient, 2)}${c.interval ? ` [${n(c.interval.low, 2)}, ${n(c.interval.high, 2)}]` : ""}`,
        ]),
        { align: ["left", "right", "right", "right"] },
      ),
      table(
        ["on held-back accounts", "AUC", "lift in the top 10%"],
        [
          [
            "fitted weights",
            n(fit.heldOut.fitted.auc),
            fit.heldOut.fitted.liftTop10 === null ? "-" : `${n(fit.heldOut.fitted.liftTop10, 2)}x`,
          ],
          [
            "hand-set score",
            n(fit.heldOut.handSet.auc),
            fit.heldOut.handSet.liftTop10 === null ? "-" : `${n(fit.heldOut.handSet.liftTop10, 2)}x`,
          ],
        ],
        { align: ["left", "right", "right"] },
      ),
      candidate
        ? `Candidate config written to ${candidate} (weights only; thresholds unchanged): compare it with pql-router backtest --config ${candidate} --baseline <live config>, then pql-router thresholds suggest --config ${candidate}.`
        : "Nothing applied. Pass --out candidate.yaml to write a candidate config.",
    ];
    return {
      json: { period: backtest.report.period, fit, candidate, warnings: backtest.report.warnings },
      text: lines.join("\n"),
    };
  },
};
