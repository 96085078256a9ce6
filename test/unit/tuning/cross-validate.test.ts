import { describe, expect, it } from "vitest";
import { Random } from "../../../src/sample/random.ts";
import { crossValidateLogistic, stratifiedFolds } from "../../../src/tuning/cross-validate.ts";
import { fitLogistic, predictLogistic, sigmoid } from "../../../src/tuning/logistic.ts";

const TRUTH = { intercept: -1, coefficients: [1.5, -0.8] };

/** Rows drawn from the logistic model TRUTH with standard-normal features. */
function world(seed: number, n: number): { X: number[][]; y: number[] } {
  const random = new Random(seed);
  const X = Array.from({ length: n }, () => [random.normal(), 2 * random.normal() + 1]);
  const y = X.map((row) =>
    random.chance(sigmoid(TRUTH.intercept + 1.5 * (row[0] as number) - 0.8 * (row[1] as number))) ? 1 : 0,
  );
  return { X, y };
}

describe("stratifiedFolds", () => {
  it("balances each class across folds and is fixed by the seed", () => {
    const y = [...new Array<number>(23).fill(1), ...new Array<number>(61).fill(0)];
    const folds = stratifiedFolds(y, 5, 42);
    for (const label of [0, 1]) {
      const counts = [0, 1, 2, 3, 4].map((f) => folds.filter((g, i) => g === f && y[i] === label).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
    const sizes = [0, 1, 2, 3, 4].map((f) => folds.filter((g) => g === f).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(stratifiedFolds(y, 5, 42)).toEqual(folds);
    expect(stratifiedFolds(y, 5, 43)).not.toEqual(folds);
  });

  it("rejects impossible fold counts", () => {
    expect(() => stratifiedFolds([0, 1, 0], 1, 1)).toThrow(RangeError);
    expect(() => stratifiedFolds([0, 1, 0], 4, 1)).toThrow(RangeError);
  });
});

describe("crossValidateLogistic", () => {
  const { X, y } = world(2024, 1500);
  const l2Grid = [0.01, 1, 100, 10_000];
  const result = crossValidateLogistic(X, y, { seed: 7, l2Grid });

  it("recovers the generating model and ranks held-out rows well", () => {
    expect(result.model.intercept).toBeCloseTo(TRUTH.intercept, 0);
    expect(Math.abs(result.model.intercept - TRUTH.intercept)).toBeLessThan(0.25);
    TRUTH.coefficients.forEach((c, j) => {
      expect(Math.abs((result.model.coefficients[j] as number) - c)).toBeLessThan(0.25);
    });
    expect(result.outOfFoldAuc).toBeGreaterThan(0.7);
    expect(result.model.converged).toBe(true);
  });

  it("chooses the penalty with the lowest mean held-out log-loss and refits with it", () => {
    expect(result.grid.map((g) => g.l2)).toEqual(l2Grid);
    const best = Math.min(...result.grid.map((g) => g.meanLogLoss));
    expect(result.grid.find((g) => g.l2 === result.l2)?.meanLogLoss).toBe(best);
    // an absurd penalty flattens the model: worse log-loss than a light one
    expect(result.grid[3]?.meanLogLoss).toBeGreaterThan(result.grid[0]?.meanLogLoss as number);
    expect(result.model).toEqual(fitLogistic(X, y, { l2: result.l2 }));
    expect(result.grid.find((g) => g.l2 === result.l2)?.auc).toBe(result.outOfFoldAuc);
  });

  it("predicts each row from the model that did not see it", () => {
    const train = X.flatMap((row, i) => (result.foldOf[i] === 2 ? [] : [{ row, outcome: y[i] as number }]));
    const model = fitLogistic(
      train.map((t) => t.row),
      train.map((t) => t.outcome),
      { l2: result.l2 },
    );
    X.forEach((row, i) => {
      if (result.foldOf[i] === 2) expect(result.outOfFold[i]).toBeCloseTo(predictLogistic(model, row), 12);
    });
    expect(result.outOfFold).toHaveLength(X.length);
  });

  it("is deterministic for a seed", () => {
    const again = crossValidateLogistic(X, y, { seed: 7, l2Grid });
    expect(again).toEqual(result);
    const other = crossValidateLogistic(X, y, { seed: 8, l2Grid });
    expect(other.foldOf).not.toEqual(result.foldOf);
  });
});
