import { describe, expect, it } from "vitest";
import { Random } from "../../../src/sample/random.ts";
import { fitLogistic, predictLogistic, sigmoid } from "../../../src/tuning/logistic.ts";

// mtcars (R datasets): horsepower, weight (1000 lb) and transmission (am: 1 = manual).
const HP = [
  110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66, 52, 65, 97, 150, 150,
  245, 175, 66, 91, 113, 264, 175, 335, 109,
];
const WT = [
  2.62, 2.875, 2.32, 3.215, 3.44, 3.46, 3.57, 3.19, 3.15, 3.44, 3.44, 4.07, 3.73, 3.78, 5.25, 5.424, 5.345,
  2.2, 1.615, 1.835, 2.465, 3.52, 3.435, 3.84, 3.845, 1.935, 2.14, 1.513, 3.17, 2.77, 3.57, 2.78,
];
const AM = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1];

// A small non-separable set solved independently below by plain gradient ascent.
const SMALL_X = [
  [0.5, 1.2],
  [-1.0, 0.3],
  [1.5, -0.4],
  [0.2, 0.9],
  [-0.7, -1.1],
  [1.1, 0.8],
  [-1.6, 0.5],
  [0.9, -1.3],
  [-0.3, 1.7],
  [1.8, 0.1],
  [-1.2, -0.6],
  [0.4, -0.2],
];
const SMALL_Y = [1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0];

/** Gradient ascent on the log-likelihood with a fixed step until every partial derivative is < 1e-11. */
function gradientAscent(X: number[][], y: number[]): number[] {
  const beta = new Array<number>((X[0] as number[]).length + 1).fill(0);
  for (let iteration = 0; iteration < 100_000; iteration++) {
    const gradient = beta.map(() => 0);
    X.forEach((row, i) => {
      const residual =
        (y[i] as number) -
        sigmoid(row.reduce((s, v, j) => s + v * (beta[j + 1] as number), beta[0] as number));
      gradient[0] = (gradient[0] as number) + residual;
      row.forEach((v, j) => {
        gradient[j + 1] = (gradient[j + 1] as number) + residual * v;
      });
    });
    if (Math.max(...gradient.map(Math.abs)) < 1e-11) return beta;
    gradient.forEach((g, j) => {
      beta[j] = (beta[j] as number) + 0.5 * g;
    });
  }
  throw new Error("gradient ascent did not converge");
}

const columns = (X: number[][], j: number) => X.map((row) => row[j] as number);

describe("fitLogistic without a penalty", () => {
  it("reproduces R's glm(am ~ hp + wt, family = binomial, data = mtcars)", () => {
    // R prints: (Intercept) 18.86630 (SE 7.44356), hp 0.03626 (0.01773), wt -8.08348 (3.06868);
    // residual deviance 10.059 → log-likelihood −5.0295.
    const X = HP.map((hp, i) => [hp, WT[i] as number]);
    for (const standardize of [true, false]) {
      const fit = fitLogistic(X, AM, { standardize });
      expect(fit.converged).toBe(true);
      expect(fit.intercept).toBeCloseTo(18.8663, 4);
      expect(fit.coefficients[0]).toBeCloseTo(0.03626, 4);
      expect(fit.coefficients[1]).toBeCloseTo(-8.08348, 4);
      expect(fit.interceptStandardError).toBeCloseTo(7.44356, 4);
      expect(fit.standardErrors[0]).toBeCloseTo(0.01773, 4);
      expect(fit.standardErrors[1]).toBeCloseTo(3.06868, 4);
      expect(fit.logLikelihood).toBeCloseTo(-10.059 / 2, 3);
      expect(fit.constantColumns).toEqual([false, false]);
    }
  });

  it("matches an independent gradient-ascent solution to 1e-6", () => {
    const expected = gradientAscent(SMALL_X, SMALL_Y);
    for (const standardize of [true, false]) {
      const fit = fitLogistic(SMALL_X, SMALL_Y, { standardize });
      expect(fit.intercept).toBeCloseTo(expected[0] as number, 6);
      expect(fit.coefficients[0]).toBeCloseTo(expected[1] as number, 6);
      expect(fit.coefficients[1]).toBeCloseTo(expected[2] as number, 6);
      expect(fit.l2).toBe(0);
    }
  });

  it("gives standard errors equal to the inverse Fisher information (one feature), and R's values", () => {
    const X = WT.map((w) => [w]);
    const fit = fitLogistic(X, AM);
    // I = Σ p(1−p) [1 x; x x²]; its inverse's diagonal is [Σwx², Σw] / (Σw · Σwx² − (Σwx)²)
    let sw = 0;
    let swx = 0;
    let swxx = 0;
    for (const w of WT) {
      const p = sigmoid(fit.intercept + (fit.coefficients[0] as number) * w);
      const weight = p * (1 - p);
      sw += weight;
      swx += weight * w;
      swxx += weight * w * w;
    }
    const det = sw * swxx - swx * swx;
    expect(fit.interceptStandardError).toBeCloseTo(Math.sqrt(swxx / det), 8);
    expect(fit.standardErrors[0]).toBeCloseTo(Math.sqrt(sw / det), 8);
    // R: glm(am ~ wt): (Intercept) 12.040 (4.510), wt -4.024 (1.436)
    expect(fit.intercept).toBeCloseTo(12.04, 2);
    expect(fit.coefficients[0]).toBeCloseTo(-4.024, 3);
    expect(fit.interceptStandardError).toBeCloseTo(4.51, 2);
    expect(fit.standardErrors[0]).toBeCloseTo(1.437, 2);
    const se = fit.standardErrors[0] as number;
    expect(fit.intervals[0]?.low).toBeCloseTo((fit.coefficients[0] as number) - 1.959964 * se, 5);
    expect(fit.intervals[0]?.high).toBeCloseTo((fit.coefficients[0] as number) + 1.959964 * se, 5);
  });

  it("drops a constant column, flags it and fits the rest as if it were absent", () => {
    const withConstant = SMALL_X.map((row) => [row[0] as number, 7, row[1] as number]);
    const fit = fitLogistic(withConstant, SMALL_Y);
    const plain = fitLogistic(SMALL_X, SMALL_Y);
    expect(fit.constantColumns).toEqual([false, true, false]);
    expect(fit.coefficients[1]).toBe(0);
    expect(fit.standardErrors[1]).toBeNull();
    expect(fit.intervals[1]).toBeNull();
    expect(fit.coefficients[0]).toBeCloseTo(plain.coefficients[0] as number, 8);
    expect(fit.coefficients[2]).toBeCloseTo(plain.coefficients[1] as number, 8);
    expect(fit.intercept).toBeCloseTo(plain.intercept, 8);
  });

  it("fits without an intercept: the score equations hold with no intercept term", () => {
    const fit = fitLogistic(SMALL_X, SMALL_Y, { fitIntercept: false });
    expect(fit.intercept).toBe(0);
    expect(fit.interceptStandardError).toBeNull();
    for (let j = 0; j < 2; j++) {
      const g = SMALL_X.reduce(
        (s, row, i) => s + ((SMALL_Y[i] as number) - predictLogistic(fit, row)) * (row[j] as number),
        0,
      );
      expect(Math.abs(g)).toBeLessThan(1e-8);
    }
  });

  it("splits a duplicated column's effect without failing", () => {
    const doubled = SMALL_X.map((row) => [row[0] as number, row[0] as number, row[1] as number]);
    const fit = fitLogistic(doubled, SMALL_Y, { standardize: false });
    const plain = fitLogistic(SMALL_X, SMALL_Y);
    expect((fit.coefficients[0] as number) + (fit.coefficients[1] as number)).toBeCloseTo(
      plain.coefficients[0] as number,
      5,
    );
    expect(fit.coefficients[2]).toBeCloseTo(plain.coefficients[1] as number, 5);
  });

  it("reports non-convergence but stays finite on separated data", () => {
    const X = [[1], [2], [3], [4], [5], [6]];
    const fit = fitLogistic(X, [0, 0, 0, 1, 1, 1], { maxIter: 50 });
    expect(fit.converged).toBe(false);
    expect(fit.iterations).toBe(50);
    expect(Number.isFinite(fit.coefficients[0])).toBe(true);
    expect(fit.coefficients[0]).toBeGreaterThan(5);
  });
});

describe("fitLogistic with an L2 penalty", () => {
  it("zeroes the gradient of the penalised log-likelihood (original scale)", () => {
    const l2 = 2.5;
    const fit = fitLogistic(SMALL_X, SMALL_Y, { l2, standardize: false });
    expect(fit.converged).toBe(true);
    const residuals = SMALL_X.map((row, i) => (SMALL_Y[i] as number) - predictLogistic(fit, row));
    expect(Math.abs(residuals.reduce((s, r) => s + r, 0))).toBeLessThan(1e-9); // intercept: not penalised
    for (let j = 0; j < 2; j++) {
      const g =
        residuals.reduce((s, r, i) => s + r * ((SMALL_X[i] as number[])[j] as number), 0) -
        l2 * (fit.coefficients[j] as number);
      expect(Math.abs(g)).toBeLessThan(1e-9);
    }
  });

  it("penalises standardised coefficients when standardize is on", () => {
    // θ_j = β_j · sd_j on z = (x − mean)/sd; the score equation is Σ (y − p) z_j = λ θ_j.
    const l2 = 2.5;
    const fit = fitLogistic(SMALL_X, SMALL_Y, { l2 });
    const residuals = SMALL_X.map((row, i) => (SMALL_Y[i] as number) - predictLogistic(fit, row));
    for (let j = 0; j < 2; j++) {
      const xs = columns(SMALL_X, j);
      const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length);
      const g =
        residuals.reduce((s, r, i) => s + (r * ((xs[i] as number) - mean)) / sd, 0) -
        l2 * (fit.coefficients[j] as number) * sd;
      expect(Math.abs(g)).toBeLessThan(1e-9);
    }
  });

  it("shrinks toward zero as l2 grows, ending at the base rate", () => {
    const norms = [0, 1, 10, 100, 1e8].map((l2) => {
      const fit = fitLogistic(SMALL_X, SMALL_Y, { l2 });
      return { fit, norm: Math.hypot(...fit.coefficients) };
    });
    for (let k = 1; k < norms.length; k++) expect(norms[k]?.norm).toBeLessThan(norms[k - 1]?.norm as number);
    const huge = norms[norms.length - 1]?.fit;
    for (const c of huge?.coefficients ?? []) expect(Math.abs(c)).toBeLessThan(1e-6);
    expect(huge?.intercept).toBeCloseTo(0, 5); // 6 of 12 converted: logit(0.5) = 0
  });

  it("converges under a heavy penalty on many rows (round-off does not stall the line search)", () => {
    const random = new Random(2024);
    const X = Array.from({ length: 1500 }, () => [random.normal(), 2 * random.normal() + 1]);
    const y = X.map((row) =>
      random.chance(sigmoid(-1 + 1.5 * (row[0] as number) - 0.8 * (row[1] as number))) ? 1 : 0,
    );
    for (const l2 of [0, 1e4, 1e6]) {
      const fit = fitLogistic(X, y, { l2 });
      expect(fit.converged).toBe(true);
      expect(fit.iterations).toBeLessThan(20);
    }
  });

  it("keeps perfectly separated data finite and converged", () => {
    const X = [[1], [2], [3], [4], [5], [6]];
    const fit = fitLogistic(X, [0, 0, 0, 1, 1, 1], { l2: 1 });
    expect(fit.converged).toBe(true);
    expect(Number.isFinite(fit.coefficients[0])).toBe(true);
    expect(fit.standardErrors[0]).not.toBeNull();
    expect(predictLogistic(fit, [6])).toBeGreaterThan(0.5);
  });

  it("derives standard errors from the penalised Hessian", () => {
    // One feature, standardize on: the penalty λ/2·(β·sd)² adds λ·sd² to the slope's entry of the
    // observed information on the original scale. Invert that 2×2 by hand.
    const l2 = 3;
    const fit = fitLogistic(
      WT.map((w) => [w]),
      AM,
      { l2 },
    );
    const mean = WT.reduce((s, v) => s + v, 0) / WT.length;
    const variance = WT.reduce((s, v) => s + (v - mean) ** 2, 0) / WT.length;
    let sw = 0;
    let swx = 0;
    let swxx = l2 * variance;
    for (const w of WT) {
      const p = sigmoid(fit.intercept + (fit.coefficients[0] as number) * w);
      sw += p * (1 - p);
      swx += p * (1 - p) * w;
      swxx += p * (1 - p) * w * w;
    }
    const det = sw * swxx - swx * swx;
    expect(fit.interceptStandardError).toBeCloseTo(Math.sqrt(swxx / det), 8);
    expect(fit.standardErrors[0]).toBeCloseTo(Math.sqrt(sw / det), 8);
  });
});

describe("fitLogistic input checks", () => {
  it("rejects ragged rows, mismatched lengths and outcomes outside [0, 1]", () => {
    expect(() => fitLogistic([[1], [2, 3]], [0, 1])).toThrow(RangeError);
    expect(() => fitLogistic([[1], [2]], [0])).toThrow(RangeError);
    expect(() => fitLogistic([[1], [2]], [0, 2])).toThrow(RangeError);
    expect(() => fitLogistic([], [])).toThrow(RangeError);
    expect(() => fitLogistic([[1], [2]], [0, 1], { l2: -1 })).toThrow(RangeError);
  });

  it("is plain JSON", () => {
    const random = new Random(1);
    const X = Array.from({ length: 50 }, () => [random.normal(), random.normal()]);
    const y = X.map((row) => (random.chance(sigmoid(row[0] as number)) ? 1 : 0));
    const fit = fitLogistic(X, y, { l2: 1 });
    expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
  });
});
