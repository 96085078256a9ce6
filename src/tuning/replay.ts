import type { PqlConfig } from "../config/schema.ts";
import { routeNewlyHot } from "../routing/route-newly-hot.ts";
import type { AccountFeatures, SignalFeature } from "../signals/account-features.ts";
import { type IcpMatch, icpMatch } from "../signals/icp-match.ts";
import { estimatePqr } from "../signals/pqr-estimate.ts";
import {
  type ComponentName,
  intensity,
  scoreAccount,
  scoreNumbers,
  type Tier,
  weigh,
} from "../signals/score-account.ts";
import { type AccountHistory, DAY_MS } from "./replay-query.ts";

/** The components a score adds up, in a fixed order (the columns `weights fit` regresses on). */
export const COMPONENTS: readonly ComponentName[] = [
  "adoptionDepth",
  "activation",
  "usageVolume",
  "activeUsers",
  "personas",
  "integrations",
  "icpFit",
  "intent",
];

export const TIERS: readonly Tier[] = ["cold", "warm", "hot"];

/** First index whose value is above `x` (arrays ascending). */
function upperBound(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function prefixSums(values: Int32Array, map: (v: number) => number = (v) => v): Float64Array {
  const out = new Float64Array(values.length + 1);
  for (let i = 0; i < values.length; i++) out[i + 1] = (out[i] as number) + map(values[i] as number);
  return out;
}

/** An account history with the prefix sums that make any window a subtraction. */
export interface PreparedHistory {
  history: AccountHistory;
  product: Float64Array;
  activeDays: Float64Array;
  signals: Map<string, { days: Int32Array; prefix: Float64Array; firstAt: number }>;
}

export function prepare(history: AccountHistory): PreparedHistory {
  const signals = new Map<string, { days: Int32Array; prefix: Float64Array; firstAt: number }>();
  for (const [key, s] of history.signals)
    signals.set(key, { days: s.days, prefix: prefixSums(s.counts), firstAt: s.firstAt });
  return {
    history,
    product: prefixSums(history.productEvents),
    activeDays: prefixSums(history.productEvents, (n) => (n > 0 ? 1 : 0)),
    signals,
  };
}

/** Sum over the days in (from, to] of a day list and its prefix sums. */
function inRange(days: Int32Array, prefix: Float64Array, from: number, to: number): number {
  return (prefix[upperBound(days, to)] as number) - (prefix[upperBound(days, from)] as number);
}

/**
 * The features of one account at the midnight ending day `day` (t = day x 24 h), for config
 * number `configIndex` of the replay: exactly what the live features query returns at t (with
 * signals' previous counts, `{ previousCounts: true }`), from the rollups alone. null when the
 * account has no message at or before t (it did not exist yet).
 */
export function featuresAt(
  p: PreparedHistory,
  config: PqlConfig,
  configIndex: number,
  day: number,
): AccountFeatures | null {
  return featuresOf(p, config, lookupOf(p, config, configIndex), day, true);
}

/** One account under one config: its rollups of each of the config's signals (config order), and its first times as dates. */
interface AccountLookup {
  configIndex: number;
  signals: ({ days: Int32Array; prefix: Float64Array; firstAt: number; firstAtDate: Date } | undefined)[];
  firstSeenAt: Date | null;
}

function lookupOf(p: PreparedHistory, config: PqlConfig, configIndex: number): AccountLookup {
  return {
    configIndex,
    signals: config.signals.map((s) => {
      const r = p.signals.get(`${configIndex}:${s.key}`);
      return r && { ...r, firstAtDate: new Date(r.firstAt) };
    }),
    firstSeenAt: p.history.firstAt === null ? null : new Date(p.history.firstAt),
  };
}

/**
 * `featuresAt`, from a lookup (its first times' dates are shared by the features it returns);
 * signals' previous counts (never scored) only with `previousCounts`.
 */
function featuresOf(
  p: PreparedHistory,
  config: PqlConfig,
  lookup: AccountLookup,
  day: number,
  previousCounts: boolean,
): AccountFeatures | null {
  const h = p.history;
  const t = day * DAY_MS;
  if (h.firstAt === null || h.firstAt > t) return null;
  const w = config.scoring.activeWindowDays;
  const lastIndex = upperBound(h.days, day) - 1;
  let activeUsers = 0;
  let withoutPersona = 0;
  const personas = new Set<string>();
  for (const u of h.users) {
    if (upperBound(u.days, day) === upperBound(u.days, day - w)) continue;
    activeUsers++;
    if (u.personas === null) continue;
    const persona = u.personas[lookup.configIndex] ?? null;
    if (persona === null) withoutPersona++;
    else personas.add(persona);
  }
  const signals: Record<string, SignalFeature> = {};
  for (let k = 0; k < config.signals.length; k++) {
    const s = config.signals[k] as PqlConfig["signals"][number];
    const r = lookup.signals[k];
    if (!r || r.firstAt > t) continue;
    const count = inRange(r.days, r.prefix, day - s.windowDays, day);
    signals[s.key] = previousCounts
      ? {
          count,
          previousCount: inRange(r.days, r.prefix, day - 2 * s.windowDays, day - s.windowDays),
          firstAt: r.firstAtDate,
        }
      : { count, firstAt: r.firstAtDate };
  }
  return {
    accountId: h.accountId,
    name: h.name,
    domain: h.domain,
    firmographics: h.firmographics,
    firstSeenAt: lookup.firstSeenAt,
    lastSeenAt: lastIndex >= 0 ? new Date(h.lastAt[lastIndex] as number) : null,
    activeUsers,
    personas: [...personas].sort(),
    usersWithoutPersona: withoutPersona,
    activeDays: inRange(h.days, p.activeDays, day - w, day),
    events: inRange(h.days, p.product, day - w, day),
    previousEvents: inRange(h.days, p.product, day - 2 * w, day - w),
    signals,
  };
}

/**
 * Scores of every (account, point) of a replay, one config: column arrays indexed
 * account x points + point. A score of NaN: the account did not exist at that point.
 */
export interface ReplayScores {
  score: Float32Array;
  tier: Uint8Array;
  pqr: Float32Array;
  /** Component values (0-1) in `COMPONENTS` order: (account x points + point) x 8 + component. */
  components: Float32Array;
  /** Each signal's intensity (0-1, count over saturation) in config order: (account x points + point) x signals + signal. */
  signals: Float32Array;
  signalCount: number;
  /** Pool index (config order) of a routing the live pass would have made at that point; -1 none. */
  routedPool: Int16Array;
}

export function emptyScores(accounts: number, points: number, signalCount: number): ReplayScores {
  const n = accounts * points;
  return {
    signals: new Float32Array(n * signalCount),
    signalCount,
    score: new Float32Array(n).fill(Number.NaN),
    tier: new Uint8Array(n),
    pqr: new Float32Array(n),
    components: new Float32Array(n * COMPONENTS.length),
    routedPool: new Int16Array(n).fill(-1),
  };
}

/**
 * Replays one account through `days` (ascending midnights) for one config: the live scoring of
 * each point (a pure function of features known at it), and the routing the live pass would have
 * made as the account became hot, with the cooldowns of the config and the reps' "not a fit"
 * marks made before the point. `warmUp` days are scored for the previous tier only (the state
 * before the first reported point), not recorded.
 */
export function replayAccount(
  p: PreparedHistory,
  config: PqlConfig,
  configIndex: number,
  days: readonly number[],
  warmUp: number,
  notAFitAt: readonly number[],
  out: ReplayScores,
  accountIndex: number,
): void {
  const points = days.length - warmUp;
  const weights = weigh(config);
  const lookup = lookupOf(p, config, configIndex);
  let icp: IcpMatch | undefined;
  let previous: Tier | undefined;
  let lastRoutedAt: Date | undefined;
  for (let i = 0; i < days.length; i++) {
    const day = days[i] as number;
    // Previous counts are not scored: the replay leaves them out.
    const features = featuresOf(p, config, lookup, day, false);
    if (!features) {
      previous = undefined;
      continue;
    }
    const now = new Date(day * DAY_MS);
    // The ICP match reads the firmographics and the config only: the same at every point.
    icp ??= icpMatch(features.firmographics, config.icp);
    // The live score's numbers; its words (reasons) are worked out only where routing reads them.
    const scored = scoreNumbers(features, config, now, icp, weights);
    const pqr = estimatePqr(features, config).pqr;
    // Only an account becoming hot can be routed (see routeNewlyHot), which reads a whole score.
    let decision: ReturnType<typeof routeNewlyHot> = null;
    if (i >= warmUp && scored.tier === "hot" && previous !== "hot") {
      let marked: number | undefined;
      for (const at of notAFitAt)
        if (at <= now.getTime() && (marked === undefined || at > marked)) marked = at;
      decision = routeNewlyHot(previous, features, scoreAccount(features, config, now), config, {
        lastRoutedAt,
        notAFitAt: marked === undefined ? undefined : new Date(marked),
        now,
      });
    }
    if (decision) lastRoutedAt = now;
    previous = scored.tier;
    if (i < warmUp) continue;
    const at = accountIndex * points + (i - warmUp);
    out.score[at] = scored.score;
    out.tier[at] = TIERS.indexOf(scored.tier);
    out.pqr[at] = pqr;
    for (const c of scored.components)
      out.components[at * COMPONENTS.length + COMPONENTS.indexOf(c.name)] = c.value;
    for (let k = 0; k < config.signals.length; k++) {
      const signal = config.signals[k] as PqlConfig["signals"][number];
      out.signals[at * out.signalCount + k] = intensity(
        features.signals[signal.key]?.count ?? 0,
        signal.saturation,
      );
    }
    out.routedPool[at] = decision ? config.routing.pools.findIndex((pool) => pool.key === decision.pool) : -1;
  }
}
