import { Random } from "../sample/random.ts";
import { fitLogistic, type LogisticModel, type LogisticOptions, predictLogistic } from "./logistic.ts";
import { auc, logLoss } from "./stats.ts";

/** Options for {@link crossValidateLogistic}; fitIntercept, standardize and maxIter pass to every fit. */
export interface CrossValidationOptions extends Omit<LogisticOptions, "l2"> {
  /** Default 5. */
  folds?: number;
  /** Penalties to compare (see LogisticOptions.l2). Default [0.01, 0.1, 1, 10, 100]. */
  l2Grid?: readonly number[];
  /** Seeds the shuffle that deals rows into folds: same seed, same folds, same result. */
  seed: number;
  /** The fold of each row, when rows must be grouped (e.g. every point of an account in one fold); else stratified. */
  foldOf?: readonly number[];
}

export interface CrossValidationResult {
  /** The chosen penalty: lowest mean held-out log-loss (the larger l2 on an exact tie). */
  l2: number;
  /**
   * One entry per grid value, in grid order: the mean over folds of the held-out log-loss, and the
   * AUC of the pooled out-of-fold predictions (null when y holds one class).
   */
  grid: { l2: number; meanLogLoss: number; auc: number | null }[];
  /** Fold (0-based) of each row. */
  foldOf: number[];
  /** Held-out predicted probability of each row under the chosen l2 (from the model that did not see it). */
  outOfFold: number[];
  outOfFoldAuc: number | null;
  /** Refit on every row with the chosen l2. */
  model: LogisticModel;
}

/**
 * Stratified k-fold cross-validation of {@link fitLogistic} over a grid of L2 penalties. Each fold
 * should hold both classes; with fewer converters than folds some training sets may hold only one
 * class and their (unpenalised) intercept runs off, which the log-loss then punishes.
 */
export function crossValidateLogistic(
  X: readonly (readonly number[])[],
  y: readonly number[],
  options: CrossValidationOptions,
): CrossValidationResult {
  const { folds = 5, l2Grid = [0.01, 0.1, 1, 10, 100], seed, foldOf: given, ...fitOptions } = options;
  if (l2Grid.length === 0) throw new RangeError("crossValidateLogistic: l2Grid is empty");
  if (X.length !== y.length)
    throw new RangeError(`crossValidateLogistic: ${X.length} rows but ${y.length} outcomes`);
  if (given && given.length !== y.length)
    throw new RangeError(`crossValidateLogistic: ${given.length} folds for ${y.length} rows`);
  const foldOf = given ? [...given] : stratifiedFolds(y, folds, seed);

  const grid: CrossValidationResult["grid"] = [];
  const predictions: number[][] = [];
  for (const l2 of l2Grid) {
    const outOfFold = new Array<number>(y.length).fill(0);
    let lossSum = 0;
    for (let f = 0; f < folds; f++) {
      const train = foldOf.flatMap((g, i) => (g === f ? [] : [i]));
      const test = foldOf.flatMap((g, i) => (g === f ? [i] : []));
      const model = fitLogistic(
        train.map((i) => X[i] as readonly number[]),
        train.map((i) => y[i] as number),
        { ...fitOptions, l2 },
      );
      for (const i of test) outOfFold[i] = predictLogistic(model, X[i] as readonly number[]);
      lossSum += logLoss(
        test.map((i) => outOfFold[i] as number),
        test.map((i) => y[i] as number),
      );
    }
    grid.push({ l2, meanLogLoss: lossSum / folds, auc: auc(outOfFold, y) });
    predictions.push(outOfFold);
  }

  let best = 0;
  grid.forEach((entry, k) => {
    const current = grid[best] as (typeof grid)[number];
    if (
      entry.meanLogLoss < current.meanLogLoss ||
      (entry.meanLogLoss === current.meanLogLoss && entry.l2 > current.l2)
    )
      best = k;
  });
  const l2 = (grid[best] as (typeof grid)[number]).l2;
  const outOfFold = predictions[best] as number[];
  return {
    l2,
    grid,
    foldOf,
    outOfFold,
    outOfFoldAuc: auc(outOfFold, y),
    model: fitLogistic(X, y, { ...fitOptions, l2 }),
  };
}

/**
 * Deals rows into `folds` folds, each class shuffled (seeded Fisher-Yates) and dealt round-robin,
 * the count carrying on from one class to the next, so fold sizes and per-fold class counts differ
 * by at most one. Returns each row's fold (0-based). Outcomes must be 0 or 1.
 */
export function stratifiedFolds(y: readonly number[], folds: number, seed: number): number[] {
  if (!Number.isInteger(folds) || folds < 2 || folds > y.length) {
    throw new RangeError(`stratifiedFolds: folds must be a whole number in [2, ${y.length}], got ${folds}`);
  }
  if (y.some((v) => v !== 0 && v !== 1)) throw new RangeError("stratifiedFolds: outcomes must be 0 or 1");
  const random = new Random(seed);
  const foldOf = new Array<number>(y.length).fill(0);
  let dealt = 0;
  for (const label of [0, 1]) {
    const rows = y.flatMap((v, i) => (v === label ? [i] : []));
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random.next() * (i + 1));
      [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
    }
    for (const row of rows) foldOf[row] = dealt++ % folds;
  }
  return foldOf;
}
