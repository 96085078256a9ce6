import type { AccountRef, BacktestInput, Observation } from "./backtest.ts";
import { fitIsotonic, predictIsotonic } from "./calibration.ts";

/** Thresholds tried: 0 to 100 in steps of 0.5. */
export const STEP = 0.5;
const GRID = Array.from({ length: 201 }, (_, i) => i * STEP);

export interface CurvePoint {
  threshold: number;
  /** Scorings at or above the threshold, and how many converted within the horizon. */
  scorings: number;
  converted: number;
  /** Observed conversion at or above the threshold. */
  rate: number;
  /** The same, smoothed: the mean isotonic probability of those scorings (monotone in the threshold). */
  smoothedRate: number;
  /** Accounts crossing the threshold (from below, or first seen above it), per week. */
  newPerWeek: number;
  /** Amount of converted accounts scored at or above it within the horizon before converting. */
  revenue: number;
}

/**
 * The trade-off of a hot threshold, from one config's replay: for each threshold, volume per
 * week, conversion and revenue captured. Pure. Crossings count every point an account's score
 * goes from below the threshold to at or above it (or appears above it): what routing would
 * send, before cooldowns and pool matching.
 */
export function thresholdCurve(
  input: BacktestInput,
  run: BacktestInput["runs"][number],
  obs: readonly Observation[],
): CurvePoint[] {
  const { scores } = run;
  const points = input.days.length;
  const cell = (score: number) => Math.min(GRID.length - 1, Math.floor(score / STEP + 1e-9));
  // Scorings and conversions by grid cell, then suffix sums: "at or above".
  const scorings = new Float64Array(GRID.length);
  const converted = new Float64Array(GRID.length);
  const probability = new Float64Array(GRID.length);
  const xs = obs.map((o) => scores.score[o.at] as number);
  const ys = obs.map((o) => o.label);
  const iso = obs.length > 0 ? fitIsotonic(xs, ys) : null;
  obs.forEach((o, i) => {
    const c = cell(xs[i] as number);
    scorings[c] = (scorings[c] as number) + 1;
    converted[c] = (converted[c] as number) + o.label;
    probability[c] = (probability[c] as number) + (iso ? predictIsotonic(iso, xs[i] as number) : 0);
  });
  // Crossings: a difference array over the cells each (previous, current) pair crosses.
  const crossings = new Float64Array(GRID.length + 1);
  for (let a = 0; a < input.accounts.length; a++) {
    let previous = Number.NaN;
    for (let p = 0; p < points; p++) {
      const s = scores.score[a * points + p] as number;
      if (Number.isNaN(s)) {
        previous = Number.NaN;
        continue;
      }
      // Thresholds t with previous < t <= s: cells (cell(previous) + 1 .. cell(s)), or all up to s.
      const low = Number.isNaN(previous) ? 0 : Math.floor(previous / STEP + 1e-9) + 1;
      const high = cell(s);
      if (low <= high) {
        crossings[low] = (crossings[low] as number) + 1;
        crossings[high + 1] = (crossings[high + 1] as number) - 1;
      }
      previous = s;
    }
  }
  // Revenue: each converter's best score among its judged points before converting.
  const best = new Map<number, number>();
  for (const o of obs)
    if (o.label === 1) best.set(o.account, Math.max(best.get(o.account) ?? 0, scores.score[o.at] as number));
  const revenue = new Float64Array(GRID.length + 1);
  for (const [account, score] of best) {
    const amount = input.outcomes.get((input.accounts[account] as AccountRef).id)?.amount ?? 0;
    revenue[0] = (revenue[0] as number) + amount;
    revenue[cell(score) + 1] = (revenue[cell(score) + 1] as number) - amount;
  }
  const weeks = (points * input.everyDays) / 7;
  const curve: CurvePoint[] = [];
  let n = 0;
  let hits = 0;
  let p = 0;
  for (let c = GRID.length - 1; c >= 0; c--) {
    n += scorings[c] as number;
    hits += converted[c] as number;
    p += probability[c] as number;
    curve.push({
      threshold: GRID[c] as number,
      scorings: n,
      converted: hits,
      rate: n === 0 ? 0 : hits / n,
      smoothedRate: n === 0 ? 0 : p / n,
      newPerWeek: 0,
      revenue: 0,
    });
  }
  curve.reverse();
  let running = 0;
  let money = 0;
  curve.forEach((point, c) => {
    running += crossings[c] as number;
    money += revenue[c] as number;
    point.newPerWeek = round2(running / weeks);
    point.revenue = round2(money);
  });
  return curve;
}

export interface ThresholdSuggestion {
  /** The proposal, or null when no threshold meets both constraints (see `closest`). */
  hot: number | null;
  warm: number | null;
  target: number;
  warmTarget: number;
  /** New hot accounts a week the team can take. */
  capacity: number;
  /** The proposal's own figures (at hot), or null. */
  atHot: CurvePoint | null;
  /** Without a proposal: the lowest threshold meeting the target, and the best-converting one within capacity. */
  closest: { meetsTarget: CurvePoint | null; fitsCapacity: CurvePoint | null };
  /** Hot scorings at least, for a threshold's conversion to be trusted. */
  minScorings: number;
}

/**
 * Proposes thresholds from a curve. Hot: the lowest threshold (most accounts, most revenue) whose
 * smoothed conversion reaches `target`, whose weekly volume fits `capacity`, and which rests on
 * at least `minScorings` scorings. Warm: below hot, the lowest threshold whose band [warm, hot)
 * converts at `warmTarget` or better (smoothed), else the current warm threshold if below hot. Pure.
 */
export function suggestThresholds(
  curve: readonly CurvePoint[],
  options: { target: number; warmTarget: number; capacity: number; minScorings: number; currentWarm: number },
): ThresholdSuggestion {
  const { target, warmTarget, capacity, minScorings } = options;
  const supported = curve.filter((p) => p.scorings >= minScorings);
  const meets = supported.filter((p) => p.smoothedRate >= target);
  const fits = supported.filter((p) => p.newPerWeek <= capacity);
  const hotPoint = meets.find((p) => p.newPerWeek <= capacity) ?? null;
  let warm: number | null = null;
  if (hotPoint) {
    const above = curve.find((p) => p.threshold === hotPoint.threshold) as CurvePoint;
    for (const p of curve) {
      if (p.threshold >= hotPoint.threshold) break;
      const n = p.scorings - above.scorings;
      const expected = p.smoothedRate * p.scorings - above.smoothedRate * above.scorings;
      if (n >= minScorings && expected / n >= warmTarget) {
        warm = p.threshold;
        break;
      }
    }
    // No band meets the warm target: keep the current warm threshold if it still sits below hot.
    if (warm === null)
      warm =
        options.currentWarm < hotPoint.threshold ? options.currentWarm : Math.floor(hotPoint.threshold / 2);
  }
  return {
    hot: hotPoint?.threshold ?? null,
    warm,
    target,
    warmTarget,
    capacity,
    atHot: hotPoint,
    closest: {
      meetsTarget: meets[0] ?? null,
      fitsCapacity: fits.reduce<CurvePoint | null>(
        (b, p) => (b === null || p.smoothedRate > b.smoothedRate ? p : b),
        null,
      ),
    },
    minScorings,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
