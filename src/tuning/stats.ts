/**
 * Small, pure evaluation statistics for RevOps tuning: intervals, calibration errors, ranking
 * quality and score bands. Plain arrays in, plain numbers out (nothing is rounded). Paired inputs
 * (`probabilities`/`scores` with `outcomes`) must have the same, non-zero length; outcomes are
 * 0 (did not convert) or 1 (converted). Violations throw a RangeError: they are caller bugs.
 */

/** Wilson score interval for a binomial proportion. `n = 0` gives the uninformative {0, 1}. */
export function wilson(successes: number, n: number, z = 1.96): { low: number; high: number } {
  if (!Number.isInteger(n) || n < 0 || !(successes >= 0 && successes <= n)) {
    throw new RangeError(`wilson: need 0 <= successes <= n with n a whole number, got ${successes}/${n}`);
  }
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Mean squared difference between predicted probabilities and 0/1 outcomes (lower is better). */
export function brier(probabilities: readonly number[], outcomes: readonly number[]): number {
  checkPaired("brier", probabilities, outcomes);
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++)
    sum += ((probabilities[i] as number) - (outcomes[i] as number)) ** 2;
  return sum / probabilities.length;
}

/**
 * Mean negative log-likelihood (cross-entropy) of 0/1 outcomes. Probabilities are clipped to
 * [1e-15, 1 − 1e-15] so a confident miss costs about 34.5 rather than Infinity.
 */
export function logLoss(probabilities: readonly number[], outcomes: readonly number[]): number {
  checkPaired("logLoss", probabilities, outcomes);
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, probabilities[i] as number));
    const y = outcomes[i] as number;
    sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return sum / probabilities.length;
}

/**
 * Expected calibration error: predictions go into `bins` equal-width bins over [0, 1] (a
 * probability of exactly 1 goes in the last bin); the result is Σ (bin count / total) ×
 * |mean prediction − conversion rate| over non-empty bins.
 */
export function expectedCalibrationError(
  probabilities: readonly number[],
  outcomes: readonly number[],
  bins = 10,
): number {
  checkPaired("expectedCalibrationError", probabilities, outcomes);
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`expectedCalibrationError: bins must be >= 1`);
  const count = new Array<number>(bins).fill(0);
  const predicted = new Array<number>(bins).fill(0);
  const observed = new Array<number>(bins).fill(0);
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i] as number;
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[bin] = (count[bin] as number) + 1;
    predicted[bin] = (predicted[bin] as number) + p;
    observed[bin] = (observed[bin] as number) + (outcomes[i] as number);
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const c = count[b] as number;
    if (c > 0) ece += Math.abs((predicted[b] as number) - (observed[b] as number)) / probabilities.length;
  }
  return ece;
}

/**
 * ROC AUC by Mann-Whitney: the chance that a random converter scores above a random
 * non-converter, ties counting 1/2. Null when the outcomes hold only one class.
 */
export function auc(scores: readonly number[], outcomes: readonly number[]): number | null {
  checkPaired("auc", scores, outcomes);
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    const value = scores[order[start] as number] as number;
    while (end < order.length && scores[order[end] as number] === value) end++;
    const averageRank = (start + 1 + end) / 2; // ranks are 1-based; a tie group shares its mean rank
    for (let k = start; k < end; k++) {
      if (outcomes[order[k] as number] === 1) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = scores.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Quantile band edges (deciles for n = 10), ascending. Band 0 holds scores below edges[0],
 * band k holds edges[k-1] <= score < edges[k], the last band holds scores >= the last edge; see
 * {@link bandOf}. Every edge is an observed score, so each band is non-empty on `scores`.
 *
 * Ties: a group of equal scores is never split across bands. When a quantile cut falls inside a
 * tie group, the whole group goes to whichever side leaves the cut nearer its target position;
 * cuts that would produce an empty band are dropped. So with heavily tied scores the bands are
 * uneven and there may be fewer than n of them (edges.length + 1 bands). Empty input gives [].
 */
export function bands(scores: readonly number[], n = 10): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`bands: n must be a whole number >= 1, got ${n}`);
  if (scores.some((s) => !Number.isFinite(s))) throw new RangeError("bands: scores must be finite numbers");
  const sorted = [...scores].sort((a, b) => a - b);
  const total = sorted.length;
  const edges: number[] = [];
  for (let i = 1; i < n && total > 0; i++) {
    const target = Math.floor((i * total) / n);
    const value = sorted[target] as number;
    let groupStart = target;
    while (groupStart > 0 && sorted[groupStart - 1] === value) groupStart--;
    let groupEnd = target;
    while (groupEnd < total && sorted[groupEnd] === value) groupEnd++;
    const edge =
      target - groupStart <= groupEnd - target || groupEnd === total ? value : (sorted[groupEnd] as number);
    if (edge > (sorted[0] as number) && edge !== edges[edges.length - 1]) edges.push(edge);
  }
  return edges;
}

/** The band (0 = lowest scores) of `score` for edges from {@link bands}: the number of edges <= score. */
export function bandOf(edges: readonly number[], score: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((edges[mid] as number) <= score) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Lift in the top `topFraction` (0 < f <= 1) of scores: their conversion rate over the overall
 * rate. The top slice holds ceil(f × rows) rows; when the cut falls inside a group of tied
 * scores, that group contributes its average conversion for the remaining slots (the expected
 * value under a random tie-break), so the answer does not depend on row order. Null when nobody
 * converted (base rate 0).
 */
export function liftAt(
  scores: readonly number[],
  outcomes: readonly number[],
  topFraction: number,
): number | null {
  checkPaired("liftAt", scores, outcomes);
  if (!(topFraction > 0 && topFraction <= 1)) throw new RangeError(`liftAt: topFraction must be in (0, 1]`);
  const total = scores.length;
  const baseRate = outcomes.reduce((sum, y) => sum + y, 0) / total;
  if (baseRate === 0) return null;
  const order = scores.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const take = Math.max(1, Math.ceil(topFraction * total - 1e-9)); // 1e-9: 0.1 × 30 is 3.0000000000000004
  let taken = 0;
  let converted = 0;
  for (let start = 0; start < total && taken < take; ) {
    const value = scores[order[start] as number] as number;
    let end = start;
    let groupConverted = 0;
    while (end < total && scores[order[end] as number] === value) {
      groupConverted += outcomes[order[end] as number] as number;
      end++;
    }
    const size = end - start;
    const slots = Math.min(size, take - taken);
    converted += (groupConverted * slots) / size;
    taken += slots;
    start = end;
  }
  return converted / taken / baseRate;
}

function checkPaired(name: string, a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length)
    throw new RangeError(`${name}: ${a.length} predictions but ${b.length} outcomes`);
  if (a.length === 0) throw new RangeError(`${name}: no rows`);
}
