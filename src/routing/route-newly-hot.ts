import type { PqlConfig } from "../config/schema.ts";
import type { AccountFeatures } from "../signals/account-features.ts";
import type { AccountScore, Tier } from "../signals/score-account.ts";

export interface RoutingDecisionInput {
  accountId: string;
  pool: string;
  reason: string;
}

/** What routing needs to know of an account's past: its last routing and last "not a fit". */
export interface RoutingHistory {
  lastRoutedAt?: Date | undefined;
  /** When a rep last marked it not a fit in Slack: not routed again for `cooldowns.notAFitDays`. */
  notAFitAt?: Date | undefined;
  now: Date;
}

/**
 * The routing decision for an account that has just become hot (its previous snapshot was not
 * hot, or it had none): the first pool, in config order, whose match fits the account; an empty
 * match takes all. Pure. Accounts that stay hot, or are not hot, are not routed; nor is one
 * routed within `cooldowns.rerouteAfterHours` of its last routing (an account flapping around
 * the threshold makes one task, not one per crossing), nor within `cooldowns.notAFitDays` of a
 * rep marking it not a fit. Rep assignment (`assignRep`) follows.
 */
export function routeNewlyHot(
  previousTier: Tier | undefined,
  features: AccountFeatures,
  score: AccountScore,
  config: Pick<PqlConfig, "routing" | "tiers" | "cooldowns">,
  history: RoutingHistory,
): RoutingDecisionInput | null {
  if (score.tier !== "hot" || previousTier === "hot") return null;
  const { lastRoutedAt, notAFitAt, now } = history;
  if (lastRoutedAt && now.getTime() - lastRoutedAt.getTime() < config.cooldowns.rerouteAfterHours * 3_600_000)
    return null;
  if (notAFitAt && now.getTime() - notAFitAt.getTime() < config.cooldowns.notAFitDays * 86_400_000)
    return null;
  const { employees, region, industry } = features.firmographics;
  const pool = config.routing.pools.find(({ match }) => {
    if (match.minEmployees !== undefined && (employees === null || employees < match.minEmployees))
      return false;
    if (match.maxEmployees !== undefined && (employees === null || employees > match.maxEmployees))
      return false;
    if (match.regions !== undefined && (region === null || !match.regions.includes(region))) return false;
    if (
      match.industries !== undefined &&
      (industry === null || !match.industries.some((i) => i.toLowerCase() === industry.toLowerCase()))
    )
      return false;
    if (match.minPqr !== undefined && score.pqr.pqr < match.minPqr) return false;
    return true;
  });
  if (!pool) return null;
  const became = previousTier === undefined ? "first scored hot" : `became hot (was ${previousTier})`;
  return {
    accountId: score.accountId,
    pool: pool.key,
    reason: `${became}: score ${score.score} >= ${config.tiers.hot}; pool ${pool.label}`,
  };
}
