import { explainAccount } from "../../app/jobs/explain-account.ts";
import { UsageError } from "../../errors.ts";
import { describePqr } from "../../signals/pqr-estimate.ts";
import { formatHours } from "../../signals/score-account.ts";
import { counted } from "../../text.ts";
import type { Command } from "../command.ts";
import { atOption } from "../command.ts";
import { keyValues, table } from "../output.ts";

export const explainCommand: Command = {
  usage: "explain <account id or domain> [--at DATE]",
  summary: "why an account scores what it does: features, components, reasons, trend, nearby thresholds",
  options: { at: { type: "string" } },
  async run(ctx, positionals, values) {
    const key = positionals[0];
    if (!key) throw new UsageError("explain needs an account id or domain: pql-router explain acct_000042");
    const now = atOption(values.at, ctx.clock);
    const rt = await ctx.runtime({ config: true });
    const config = rt.config;
    const explained = await explainAccount(rt, key, now);
    if (!explained)
      throw new UsageError(
        `no account with id or domain ${JSON.stringify(key)}`,
        "`pql-router score` lists accounts",
      );
    const { accountId, features, result, thresholds, nextTier, activityTrendPct, probability } = explained;
    const trend = explained.trend.map((h) => ({ ...h, asOf: h.asOf.toISOString() }));
    const json = {
      accountId,
      name: features.name,
      domain: features.domain,
      asOf: now.toISOString(),
      score: result.score,
      tier: result.tier,
      probability: probability && {
        percent: probability.percent,
        horizonDays: probability.horizonDays,
        calibratedAt: probability.calibratedAt.toISOString(),
      },
      pqr: result.pqr,
      icp: result.icp,
      activation: result.activation,
      components: result.components.map(({ name, weight, value, contribution }) => ({
        name,
        weight,
        value,
        contribution,
      })),
      reasons: result.reasons,
      features,
      thresholds,
      nextTier,
      activityTrendPct,
      trend,
    };
    // Every tier but the top says how far the next one is; the top says how far it is from falling.
    const hot = thresholds.find((t) => t.tier === "hot");
    const near = nextTier
      ? [`${nextTier.pointsToGo} points below ${nextTier.tier} (${nextTier.at})`]
      : hot
        ? [`${hot.distance} points above ${hot.tier} (${hot.at})`]
        : [];
    const window = config.config.scoring.activeWindowDays;
    const text = [
      keyValues([
        [
          "account",
          `${features.name ?? accountId} (${accountId}${features.domain ? `, ${features.domain}` : ""})`,
        ],
        ["as of", now.toISOString()],
        ["score", `${result.score} (${result.tier})${near.length > 0 ? `: ${near.join(", ")}` : ""}`],
        ...(probability ? [["probability", probability.text] as [string, string]] : []),
        ["PQR", describePqr(result.pqr)],
        [
          "ICP",
          result.icp.score === null
            ? "unknown (no firmographics)"
            : `${result.icp.score}/100${result.icp.qualified ? ", qualified" : ""}`,
        ],
        [
          "active",
          `${counted(features.activeUsers, "user")}, ${counted(features.personas.length, "persona")}, ${counted(features.activeDays, "day")}, ${counted(features.events, "event")} in ${window} days`,
        ],
        [
          "trend (not scored)",
          activityTrendPct === null
            ? features.previousEvents === 0 || features.events === 0
              ? "-"
              : `- (first seen within the last ${2 * window} days: the previous window is partial)`
            : `activity ${activityTrendPct >= 0 ? "up" : "down"} ${Math.abs(activityTrendPct)}% on the previous ${window} days (${counted(features.previousEvents, "event")})`,
        ],
        [
          "activation",
          `${result.activation.reached.length} of ${result.activation.total} milestones (${result.activation.onTime.length} on time)` +
            (result.activation.ttfvHours === null
              ? ", core value not reached"
              : `, time to first value ${formatHours(result.activation.ttfvHours)}`),
        ],
      ]),
      "",
      table(
        ["component", "dimension", "weight", "value", "contribution"],
        result.components.map((c) => [
          c.name,
          c.dimension,
          c.weight.toFixed(3),
          c.value.toFixed(3),
          c.contribution.toFixed(2),
        ]),
        { align: ["left", "left", "right", "right", "right"] },
      ),
      "",
      "Reasons:",
      ...result.reasons.map((r) => `  - ${r}`),
      "",
      trend.length > 0
        ? `Last snapshots: ${trend.map((t) => `${t.asOf.slice(0, 16)} ${t.score} ${t.tier}`).join(" | ")}`
        : "No snapshots yet: run `pql-router score`.",
    ];
    return { json, text: text.join("\n") };
  },
};
