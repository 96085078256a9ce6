import { staleDataWarning } from "../../config/config-warnings.ts";
import { evaluate } from "../../signals/evaluate.ts";
import { sourceNewestEventAt } from "../../sources/signal-source.ts";
import { scoredOutcomes } from "../../store/outcome-store.ts";
import type { Command } from "../command.ts";
import { atOption } from "../command.ts";
import { keyValues, table } from "../output.ts";

export const evaluateCommand: Command = {
  usage: "evaluate [--at DATE]",
  summary: "how well the latest scores predict known outcomes: conversion per tier, base rate, AUC",
  options: { at: { type: "string" } },
  async run(ctx, _positionals, values) {
    const asOf = atOption(values.at, ctx.clock);
    const rt = await ctx.runtime({ config: true });
    const result = evaluate(await scoredOutcomes(rt.db, asOf));
    const stale = staleDataWarning(
      await sourceNewestEventAt(rt.config.config, rt.db, rt.settings.sourceUrl),
      asOf,
      rt.config.config,
    );
    const warnings = stale ? [stale] : [];
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const text =
      result.accounts === 0
        ? "No scored account has a known outcome: run `pql-router score` and `pql-router outcomes import <file>` first."
        : [
            keyValues([
              ["accounts with outcomes", result.accounts],
              ["converted", `${result.converted} (base rate ${pct(result.baseRate)})`],
              [
                "AUC",
                result.auc === null ? "- (needs converters and non-converters)" : result.auc.toFixed(3),
              ],
            ]),
            table(
              ["tier", "accounts", "converted", "conversion", "lift"],
              result.tiers.map((t) => [
                t.tier,
                t.accounts,
                t.converted,
                pct(t.rate),
                result.baseRate > 0 ? `${(t.rate / result.baseRate).toFixed(2)}x` : "-",
              ]),
              { align: ["left", "right", "right", "right", "right"] },
            ),
          ].join("\n");
    return {
      json: { asOf: asOf.toISOString(), ...result, warnings },
      text: [...warnings.map((w) => `warning: ${w}`), text].join("\n"),
    };
  },
};
