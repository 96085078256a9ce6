import type { AccountFeatures } from "../../signals/account-features.ts";
import { personaMatcher } from "../../signals/persona.ts";
import { type AccountScore, activityTrend, scoreAccount } from "../../signals/score-account.ts";
import { openSource } from "../../sources/signal-source.ts";
import { latestCalibration } from "../../store/calibration-store.ts";
import { findAccountId, scoreHistory } from "../../store/score-store.ts";
import { conversionPercent, conversionText } from "../../tuning/probability.ts";
import type { JobContext } from "../runtime.ts";

export interface AccountExplanation {
  accountId: string;
  asOf: Date;
  features: AccountFeatures;
  result: AccountScore;
  /** Distance of the score to each tier threshold (negative: below it). */
  thresholds: { tier: "hot" | "warm"; at: number; distance: number }[];
  /** The tier above and the points still missing to reach it; null for a hot account. */
  nextTier: { tier: "hot" | "warm"; at: number; pointsToGo: number } | null;
  /** Activity against the previous window, in percent (not scored); null when it says nothing. */
  activityTrendPct: number | null;
  /** The latest snapshots up to `asOf`, newest first. */
  trend: { asOf: Date; score: number; tier: string; configVersion: string }[];
  /** The score's calibrated chance of converting, by the current config's newest calibration; null when it has none. */
  probability: { percent: number; horizonDays: number; calibratedAt: Date; text: string } | null;
}

/**
 * Why an account (by id or domain) scores what it does as of `asOf`: its features read from the
 * source (`source:`), scored now by the current config, with the thresholds nearby and its recent
 * snapshots. undefined when no account has that id or domain.
 */
export async function explainAccount(
  rt: Pick<JobContext, "db" | "config" | "settings">,
  key: string,
  asOf: Date,
): Promise<AccountExplanation | undefined> {
  const { db } = rt;
  const config = rt.config.config;
  const accountId = await findAccountId(db, key);
  if (!accountId) return undefined;
  const source = await openSource(config, db, rt.settings?.sourceUrl);
  let features: AccountFeatures | undefined;
  try {
    const read = await source.featureReader(config, personaMatcher(config.personas), {
      previousCounts: true,
    });
    [features] = await read(asOf, [accountId]);
  } finally {
    await source.close();
  }
  if (!features) return undefined;
  const result = scoreAccount(features, config, asOf);
  const distance = (at: number) => Math.round((result.score - at) * 100) / 100;
  const above = result.tier === "cold" ? "warm" : result.tier === "warm" ? "hot" : null;
  // The score above is the current config's, which is what its calibration maps.
  const calibration = await latestCalibration(db, rt.config.version);
  return {
    accountId,
    asOf,
    features,
    result,
    thresholds: [
      { tier: "hot", at: config.tiers.hot, distance: distance(config.tiers.hot) },
      { tier: "warm", at: config.tiers.warm, distance: distance(config.tiers.warm) },
    ],
    nextTier: above
      ? { tier: above, at: config.tiers[above], pointsToGo: -distance(config.tiers[above]) }
      : null,
    activityTrendPct: activityTrend(features, config, asOf),
    trend: await scoreHistory(db, accountId, asOf, 5),
    probability: calibration
      ? {
          percent: conversionPercent(calibration, result.score),
          horizonDays: calibration.horizonDays,
          calibratedAt: calibration.fittedAt,
          text: conversionText(calibration, result.score),
        }
      : null,
  };
}
