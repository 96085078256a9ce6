import type { PqlConfig } from "../config/schema.ts";
import type { Tier } from "../signals/score-account.ts";
import { type Calibration, calibrationOf, MIN_CONVERSIONS } from "./calibration-report.ts";
import { type ReplayScores, TIERS } from "./replay.ts";
import { DAY_MS } from "./replay-query.ts";
import { auc, liftAt, wilson } from "./stats.ts";

export interface AccountRef {
  id: string;
  name: string | null;
  domain: string | null;
}

export interface KnownOutcome {
  converted: boolean;
  /** Epoch ms; null when the conversion's date is unknown (such an account cannot be judged). */
  convertedAt: number | null;
  amount: number | null;
}

/** What a backtest replays and judges: the points, the outcomes and the replayed scores of each config. */
export interface BacktestInput {
  accounts: readonly AccountRef[];
  /** The reported points, day numbers (midnights UTC), ascending. */
  days: readonly number[];
  everyDays: number;
  horizonDays: number;
  outcomes: ReadonlyMap<string, KnownOutcome>;
  /** Accounts reps marked "not a fit" in Slack: when (epoch ms), newest last. */
  notAFit: ReadonlyMap<string, readonly number[]>;
  runs: readonly { label: string; config: PqlConfig; scores: ReplayScores }[];
}

/**
 * One scoring of one account at one point that can be judged: the account existed, had not
 * converted yet, and `label` says whether it converted within the horizon after the point.
 */
export interface Observation {
  account: number;
  point: number;
  /** Index into score arrays (account x points + point). */
  at: number;
  label: 0 | 1;
}

/**
 * The observations every config is judged on: (account, point) pairs where the account exists
 * (in the first config's replay: all configs replay the same accounts), has not converted at or
 * before the point, and has a known conversion date if it converted. No look-ahead: a label only
 * says what happened within the horizon after its point.
 */
export function observations(input: BacktestInput): Observation[] {
  const { accounts, days, outcomes, horizonDays } = input;
  const first = input.runs[0]?.scores;
  if (!first) return [];
  const points = days.length;
  const out: Observation[] = [];
  for (let a = 0; a < accounts.length; a++) {
    const outcome = outcomes.get((accounts[a] as AccountRef).id);
    if (outcome?.converted && outcome.convertedAt === null) continue;
    for (let p = 0; p < points; p++) {
      const at = a * points + p;
      if (Number.isNaN(first.score[at] as number)) continue;
      const t = (days[p] as number) * DAY_MS;
      const convertedAt = outcome?.converted ? (outcome.convertedAt as number) : null;
      if (convertedAt !== null && convertedAt <= t) continue;
      const label = convertedAt !== null && convertedAt <= t + horizonDays * DAY_MS ? 1 : 0;
      out.push({ account: a, point: p, at, label });
    }
  }
  return out;
}

export interface TierResult {
  tier: Tier;
  /** Scorings (account x point) in the tier, and distinct accounts among them. */
  observations: number;
  accounts: number;
  converted: number;
  rate: number;
  /** 95% Wilson interval of `rate`. */
  interval: { low: number; high: number };
  /** rate / base rate; null when the base rate is 0. */
  lift: number | null;
}

export interface PoolLoad {
  key: string;
  label: string;
  /** What the pool can hold open (routing.pools[].capacity). */
  capacity: number;
  /** New routings (accounts becoming hot) per week, one entry per point. */
  perWeek: number[];
  median: number;
  max: number;
  weeksOverCapacity: number;
}

export interface ConfigResult {
  label: string;
  thresholds: { hot: number; warm: number };
  observations: number;
  accounts: number;
  converted: number;
  baseRate: number;
  auc: number | null;
  /** Conversion of the top 10% of scorings over the base rate: lift whatever the thresholds. */
  liftTop10: number | null;
  tiers: TierResult[];
  hot: { precision: number | null; recall: number | null; lift: number | null };
  /** Converted accounts' amounts, once per account: all, and those hot (or warm or hot) within the horizon before converting. */
  revenue: {
    converters: number;
    total: number;
    hot: number;
    hotOrWarm: number;
    hotShare: number | null;
    hotOrWarmShare: number | null;
  };
  /** PQR at the last point before conversion against the amount, over converted accounts with one. */
  pqr: { accounts: number; medianAbsPctError: number | null; medianRatio: number | null };
  load: PoolLoad[];
  /** The score mapped to a probability of converting within the horizon; null with a single class. */
  calibration: Calibration | null;
  /** Accounts reps marked not a fit, and how many of them this config scores hot at a point after the mark. */
  feedback: { notAFit: number; stillHot: number; accounts: string[] };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** How one config did on the observations. Pure. */
export function judgeConfig(
  input: BacktestInput,
  run: BacktestInput["runs"][number],
  obs: readonly Observation[],
): ConfigResult {
  const { scores, config } = run;
  const points = input.days.length;
  const converted = obs.reduce((n, o) => n + o.label, 0);
  const baseRate = obs.length === 0 ? 0 : converted / obs.length;
  const tiers = TIERS.map((tier, index): TierResult => {
    const inTier = obs.filter((o) => scores.tier[o.at] === index);
    const hits = inTier.reduce((n, o) => n + o.label, 0);
    const rate = inTier.length === 0 ? 0 : hits / inTier.length;
    return {
      tier,
      observations: inTier.length,
      accounts: new Set(inTier.map((o) => o.account)).size,
      converted: hits,
      rate,
      interval: wilson(hits, inTier.length),
      lift: baseRate > 0 && inTier.length > 0 ? rate / baseRate : null,
    };
  }).reverse();
  const hot = tiers.find((t) => t.tier === "hot") as TierResult;
  // Revenue: each converted account once, captured when its tier was hot (or warm) at a point
  // within the horizon before it converted.
  const best = new Map<number, { tier: number; pqr: number; point: number }>();
  for (const o of obs) {
    if (o.label !== 1) continue;
    const tier = scores.tier[o.at] as number;
    const seen = best.get(o.account);
    best.set(o.account, {
      tier: Math.max(seen?.tier ?? 0, tier),
      // PQR at the last point before the conversion (points come in order).
      pqr: seen && seen.point > o.point ? seen.pqr : (scores.pqr[o.at] as number),
      point: Math.max(seen?.point ?? -1, o.point),
    });
  }
  let total = 0;
  let hotRevenue = 0;
  let warmRevenue = 0;
  const errors: number[] = [];
  const ratios: number[] = [];
  for (const [account, b] of best) {
    const amount = input.outcomes.get((input.accounts[account] as AccountRef).id)?.amount ?? null;
    if (amount === null) continue;
    total += amount;
    if (b.tier === 2) hotRevenue += amount;
    if (b.tier >= 1) warmRevenue += amount;
    if (amount > 0) {
      errors.push(Math.abs(b.pqr - amount) / amount);
      ratios.push(b.pqr / amount);
    }
  }
  // Routing load: new routings per point, per pool, as a weekly rate.
  const perWeekFactor = 7 / input.everyDays;
  const load = config.routing.pools.map((pool, index): PoolLoad => {
    const perPoint = new Array<number>(points).fill(0);
    for (let a = 0; a < input.accounts.length; a++)
      for (let p = 0; p < points; p++)
        if (scores.routedPool[a * points + p] === index) perPoint[p] = (perPoint[p] as number) + 1;
    const perWeek = perPoint.map((n) => round2(n * perWeekFactor));
    return {
      key: pool.key,
      label: pool.label,
      capacity: pool.capacity,
      perWeek,
      median: median(perWeek) ?? 0,
      max: Math.max(0, ...perWeek),
      weeksOverCapacity: perWeek.filter((n) => n > pool.capacity).length,
    };
  });
  // Reps' feedback: accounts marked not a fit that this config scores hot at a point after the
  // mark (or at the last point, for marks made after the period).
  const index = new Map(input.accounts.map((a, i) => [a.id, i]));
  const stillHot: string[] = [];
  for (const [id, marks] of input.notAFit) {
    const a = index.get(id);
    if (a === undefined || marks.length === 0) continue;
    const mark = marks[0] as number;
    let hotAfter = false;
    for (let p = 0; p < points && !hotAfter; p++) {
      const t = (input.days[p] as number) * DAY_MS;
      if (t < mark && p < points - 1) continue;
      if (scores.tier[a * points + p] === 2 && !Number.isNaN(scores.score[a * points + p] as number))
        hotAfter = true;
    }
    if (hotAfter) stillHot.push(id);
  }
  return {
    label: run.label,
    thresholds: { hot: config.tiers.hot, warm: config.tiers.warm },
    observations: obs.length,
    accounts: new Set(obs.map((o) => o.account)).size,
    converted,
    baseRate,
    auc: auc(
      obs.map((o) => scores.score[o.at] as number),
      obs.map((o) => o.label),
    ),
    liftTop10:
      obs.length === 0
        ? null
        : liftAt(
            obs.map((o) => scores.score[o.at] as number),
            obs.map((o) => o.label),
            0.1,
          ),
    tiers,
    hot: {
      precision: hot.observations === 0 ? null : hot.rate,
      recall: converted === 0 ? null : hot.converted / converted,
      lift: hot.lift,
    },
    revenue: {
      converters: best.size,
      total: round2(total),
      hot: round2(hotRevenue),
      hotOrWarm: round2(warmRevenue),
      hotShare: total > 0 ? hotRevenue / total : null,
      hotOrWarmShare: total > 0 ? warmRevenue / total : null,
    },
    pqr: { accounts: errors.length, medianAbsPctError: median(errors), medianRatio: median(ratios) },
    load,
    calibration: calibrationOf(
      obs.map((o) => scores.score[o.at] as number),
      obs.map((o) => o.label),
      obs.map((o) => o.account),
    ),
    feedback: {
      notAFit: [...input.notAFit.keys()].filter((id) => index.has(id)).length,
      stillHot: stillHot.length,
      accounts: stillHot.sort(),
    },
  };
}

export interface TierChange {
  accountId: string;
  name: string | null;
  from: { score: number; tier: Tier };
  to: { score: number; tier: Tier };
  converted: boolean;
}

/**
 * Baseline (run 0) against candidate (run 1): how observations move between tiers (matrix
 * [baseline tier][candidate tier], cold-warm-hot), and the accounts whose tier differs at the
 * last point, largest score change first.
 */
export function tierChanges(input: BacktestInput, obs: readonly Observation[], limit = 25) {
  const [base, cand] = input.runs;
  if (!base || !cand) return null;
  const matrix = TIERS.map(() => TIERS.map(() => 0));
  for (const o of obs) {
    const row = matrix[base.scores.tier[o.at] as number] as number[];
    const to = cand.scores.tier[o.at] as number;
    row[to] = (row[to] as number) + 1;
  }
  const points = input.days.length;
  const last = points - 1;
  const changed: TierChange[] = [];
  input.accounts.forEach((account, a) => {
    const at = a * points + last;
    if (Number.isNaN(base.scores.score[at] as number)) return;
    const from = base.scores.tier[at] as number;
    const to = cand.scores.tier[at] as number;
    if (from === to) return;
    changed.push({
      accountId: account.id,
      name: account.name ?? account.domain,
      from: { score: round2(base.scores.score[at] as number), tier: TIERS[from] as Tier },
      to: { score: round2(cand.scores.score[at] as number), tier: TIERS[to] as Tier },
      converted: input.outcomes.get(account.id)?.converted ?? false,
    });
  });
  changed.sort((x, y) => Math.abs(y.to.score - y.from.score) - Math.abs(x.to.score - x.from.score));
  const moved = obs.filter((o) => base.scores.tier[o.at] !== cand.scores.tier[o.at]).length;
  return {
    matrix: TIERS.map((from, i) => ({
      from,
      to: Object.fromEntries(TIERS.map((to, j) => [to, matrix[i]?.[j] ?? 0])),
    })),
    observationsMoved: moved,
    atLastPoint: changed.length,
    accounts: changed.slice(0, limit),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The hot tier should convert at least this well; below it, the definition is too broad. */
export const MIN_HOT_CONVERSION = 0.15;
/** Hot scorings needed to know the hot tier's conversion within about 10 points (at 25%). */
export const MIN_HOT_SCORINGS = 72;

/** What a config's backtest says RevOps should act on, in plain words. Pure. */
export function judgementWarnings(result: ConfigResult, horizonDays: number): string[] {
  const warnings: string[] = [];
  const hot = result.tiers.find((t) => t.tier === "hot");
  if (result.converted < MIN_CONVERSIONS)
    warnings.push(
      `Too few outcomes to judge: ${result.converted} conversions within ${horizonDays} days of a point, and at least ${MIN_CONVERSIONS} are needed. Import more outcomes (outcomes import, hubspot outcomes) or backtest a longer period.`,
    );
  if (hot && hot.observations > 0 && hot.observations < MIN_HOT_SCORINGS)
    warnings.push(
      `Only ${hot.observations} hot scorings: at least ${MIN_HOT_SCORINGS} are needed to know the hot tier's conversion within about 10 points.`,
    );
  if (hot && hot.observations > 0 && hot.rate < MIN_HOT_CONVERSION)
    warnings.push(
      `Hot converts at ${(100 * hot.rate).toFixed(1)}% (${hot.converted} of ${hot.observations}) within ${horizonDays} days, below ${100 * MIN_HOT_CONVERSION}%: the hot definition is too broad. Raise tiers.hot (pql-router thresholds suggest proposes one).`,
    );
  for (const l of result.load)
    if (l.weeksOverCapacity > 0)
      warnings.push(
        `Pool ${l.label}: new hot accounts exceeded its capacity of ${l.capacity} in ${l.weeksOverCapacity} of ${l.perWeek.length} weeks (up to ${l.max} a week): more than reps can work.`,
      );
  return warnings;
}
