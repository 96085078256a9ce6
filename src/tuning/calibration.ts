import { fitLogistic, sigmoid } from "./logistic.ts";

/**
 * Isotonic (monotone non-decreasing) fit as knots: `xs` ascending, `ps` the fitted value at each.
 * Each pool-adjacent-violators block contributes its smallest and largest x (one knot when they
 * coincide), both at the block's weighted mean. See {@link predictIsotonic}.
 */
export interface IsotonicModel {
  xs: number[];
  ps: number[];
}

/** Platt scaling: p = sigmoid(a · score + b). (Platt writes 1 / (1 + exp(A·f + B)), so a = −A, b = −B.) */
export interface PlattModel {
  a: number;
  b: number;
}

/** A calibration model as stored in the database: plain JSON, no functions, no NaN or Infinity. */
export type CalibrationModel = ({ method: "isotonic" } & IsotonicModel) | ({ method: "platt" } & PlattModel);

/**
 * Weighted least-squares isotonic regression of ys on xs by pool-adjacent-violators. Rows with the
 * same x are pooled first (one x, one value). Weights default to 1 and must be positive.
 */
export function fitIsotonic(
  xs: readonly number[],
  ys: readonly number[],
  weights?: readonly number[],
): IsotonicModel {
  if (xs.length === 0) throw new RangeError("fitIsotonic: no rows");
  if (ys.length !== xs.length) throw new RangeError(`fitIsotonic: ${xs.length} xs but ${ys.length} ys`);
  if (weights !== undefined && weights.length !== xs.length)
    throw new RangeError("fitIsotonic: weights length differs");
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i]))
      throw new RangeError(`fitIsotonic: row ${i} is not finite`);
    const w = weights?.[i] ?? 1;
    if (!(w > 0 && Number.isFinite(w))) throw new RangeError(`fitIsotonic: weight ${i} is ${w}, must be > 0`);
  }
  const order = xs.map((_, i) => i).sort((a, b) => (xs[a] as number) - (xs[b] as number));

  interface Block {
    weight: number;
    sum: number;
    low: number;
    high: number;
  }
  const blocks: Block[] = [];
  for (let k = 0; k < order.length; ) {
    const x = xs[order[k] as number] as number;
    const block: Block = { weight: 0, sum: 0, low: x, high: x };
    for (; k < order.length && xs[order[k] as number] === x; k++) {
      const i = order[k] as number;
      const w = weights?.[i] ?? 1;
      block.weight += w;
      block.sum += w * (ys[i] as number);
    }
    blocks.push(block);
    // Pool while the previous block's mean exceeds this one's (a violation of monotonicity).
    for (;;) {
      const last = blocks[blocks.length - 1] as Block;
      const previous = blocks[blocks.length - 2];
      if (previous === undefined || previous.sum / previous.weight <= last.sum / last.weight) break;
      blocks.pop();
      previous.weight += last.weight;
      previous.sum += last.sum;
      previous.high = last.high;
    }
  }

  const model: IsotonicModel = { xs: [], ps: [] };
  for (const block of blocks) {
    const mean = block.sum / block.weight;
    model.xs.push(block.low);
    model.ps.push(mean);
    if (block.high > block.low) {
      model.xs.push(block.high);
      model.ps.push(mean);
    }
  }
  return model;
}

/**
 * Value of an isotonic model at x: the block value inside a block's x-range, linear interpolation
 * between the end of one block and the start of the next, and clamped to the first/last value
 * outside the fitted range. Monotone non-decreasing in x, and exact at every training x.
 */
export function predictIsotonic(model: IsotonicModel, x: number): number {
  const { xs, ps } = model;
  const last = xs.length - 1;
  if (last < 0) throw new RangeError("predictIsotonic: empty model");
  if (x <= (xs[0] as number)) return ps[0] as number;
  if (x >= (xs[last] as number)) return ps[last] as number;
  let low = 0; // invariant: xs[low] <= x < xs[high]
  let high = last;
  while (high - low > 1) {
    const mid = (low + high) >>> 1;
    if ((xs[mid] as number) <= x) low = mid;
    else high = mid;
  }
  const x0 = xs[low] as number;
  const x1 = xs[high] as number;
  const p0 = ps[low] as number;
  const p1 = ps[high] as number;
  return p0 + ((p1 - p0) * (x - x0)) / (x1 - x0);
}

/**
 * Platt scaling: a one-feature logistic regression of outcomes on scores, fitted to Platt's
 * smoothed targets (n₊ + 1)/(n₊ + 2) for converters and 1/(n₋ + 2) for the rest, which keeps the
 * fit finite even when the scores separate the classes perfectly. Constant scores give a = 0.
 */
export function fitPlatt(scores: readonly number[], outcomes: readonly number[]): PlattModel {
  checkOutcomes("fitPlatt", scores, outcomes);
  const positives = outcomes.filter((y) => y === 1).length;
  const negatives = outcomes.length - positives;
  const high = (positives + 1) / (positives + 2);
  const low = 1 / (negatives + 2);
  const fit = fitLogistic(
    scores.map((s) => [s]),
    outcomes.map((y) => (y === 1 ? high : low)),
  );
  return { a: fit.coefficients[0] as number, b: fit.intercept };
}

/** Calibrated probability for a score under a Platt model. */
export function predictPlatt(model: PlattModel, score: number): number {
  return sigmoid(model.a * score + model.b);
}

/**
 * Fits a score → probability map. Isotonic follows the data closely (needs a few hundred rows and
 * can return exactly 0 or 1 at the extremes); Platt is a smooth two-parameter curve that suits small
 * samples. The result is plain JSON: store it, read it back, pass it to {@link predictCalibrated}.
 */
export function calibrate(
  scores: readonly number[],
  outcomes: readonly number[],
  method: CalibrationModel["method"],
): CalibrationModel {
  checkOutcomes("calibrate", scores, outcomes);
  return method === "isotonic"
    ? { method, ...fitIsotonic(scores, outcomes) }
    : { method, ...fitPlatt(scores, outcomes) };
}

/** Calibrated probability for a score. */
export function predictCalibrated(model: CalibrationModel, score: number): number {
  return model.method === "isotonic" ? predictIsotonic(model, score) : predictPlatt(model, score);
}

function checkOutcomes(name: string, scores: readonly number[], outcomes: readonly number[]): void {
  if (scores.length === 0) throw new RangeError(`${name}: no rows`);
  if (scores.length !== outcomes.length)
    throw new RangeError(`${name}: ${scores.length} scores but ${outcomes.length} outcomes`);
  if (outcomes.some((y) => y !== 0 && y !== 1)) throw new RangeError(`${name}: outcomes must be 0 or 1`);
}
