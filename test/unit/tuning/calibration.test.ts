import { describe, expect, it } from "vitest";
import { Random } from "../../../src/sample/random.ts";
import {
  type CalibrationModel,
  calibrate,
  fitIsotonic,
  fitPlatt,
  predictCalibrated,
  predictIsotonic,
  predictPlatt,
} from "../../../src/tuning/calibration.ts";
import { brier } from "../../../src/tuning/stats.ts";

describe("fitIsotonic", () => {
  it("pools adjacent violators into known blocks", () => {
    // ys 1, 3, 2, 4, 3, 5 → blocks {1}, {3, 2} = 2.5, {4, 3} = 3.5, {5}
    const model = fitIsotonic([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 3, 5]);
    expect(model).toEqual({ xs: [1, 2, 3, 4, 5, 6], ps: [1, 2.5, 2.5, 3.5, 3.5, 5] });
    expect(predictIsotonic(model, 2.5)).toBe(2.5); // inside a block: its value
    expect(predictIsotonic(model, 3.5)).toBe(3); // between blocks: linear from (3, 2.5) to (4, 3.5)
    expect(predictIsotonic(model, 0)).toBe(1); // clamped
    expect(predictIsotonic(model, 99)).toBe(5);
  });

  it("sorts by x, pools equal xs and honours weights", () => {
    // x = 2 has y 3 (weight 1), x = 1 has y 1 (weight 3) — already monotone
    expect(fitIsotonic([2, 1], [3, 1], [1, 3])).toEqual({ xs: [1, 2], ps: [1, 3] });
    // x = 1: y 3 weight 1; x = 2: y 1 weight 3 → pooled (3 + 3) / 4 = 1.5 over [1, 2]
    expect(fitIsotonic([1, 2], [3, 1], [1, 3])).toEqual({ xs: [1, 2], ps: [1.5, 1.5] });
    // x = 1 twice (0 and 1 → 0.5) then x = 2 at 0 → all pooled to 1/3
    const tied = fitIsotonic([1, 2, 1], [0, 0, 1]);
    expect(tied.xs).toEqual([1, 2]);
    for (const p of tied.ps) expect(p).toBeCloseTo(1 / 3, 12);
  });

  it("equals the max-min formula and is monotone on random data", () => {
    // Independent characterisation: f(x_i) = max over j <= i of min over k >= i of mean(y_j..y_k).
    const random = new Random(3);
    for (let trial = 0; trial < 20; trial++) {
      const n = random.int(1, 25);
      const xs = Array.from({ length: n }, (_, i) => i * 2 + random.next());
      const ys = xs.map(() => random.int(0, 9));
      const model = fitIsotonic(xs, ys);
      for (let i = 0; i < n; i++) {
        let best = -Infinity;
        for (let j = 0; j <= i; j++) {
          let worst = Infinity;
          for (let k = i; k < n; k++) {
            const slice = ys.slice(j, k + 1);
            worst = Math.min(worst, slice.reduce((s, v) => s + v, 0) / slice.length);
          }
          best = Math.max(best, worst);
        }
        expect(predictIsotonic(model, xs[i] as number)).toBeCloseTo(best, 10);
      }
      const grid = Array.from({ length: 200 }, (_, g) => -1 + g * 0.3);
      const predictions = grid.map((x) => predictIsotonic(model, x));
      for (let g = 1; g < predictions.length; g++) {
        expect(predictions[g] as number).toBeGreaterThanOrEqual((predictions[g - 1] as number) - 1e-12);
      }
    }
  });

  it("is never worse than the base rate on its training data (Brier)", () => {
    const random = new Random(5);
    for (let trial = 0; trial < 20; trial++) {
      const scores = Array.from({ length: 80 }, () => random.int(0, 30));
      const outcomes: number[] = scores.map((s) => (random.chance(0.1 + s / 50) ? 1 : 0));
      const rate = outcomes.reduce((s, v) => s + v, 0) / outcomes.length;
      const model = fitIsotonic(scores, outcomes);
      const fitted = brier(
        scores.map((s) => predictIsotonic(model, s)),
        outcomes,
      );
      expect(fitted).toBeLessThanOrEqual(brier(new Array<number>(80).fill(rate), outcomes) + 1e-12);
    }
  });

  it("rejects bad input", () => {
    expect(() => fitIsotonic([], [])).toThrow(RangeError);
    expect(() => fitIsotonic([1], [1], [0])).toThrow(RangeError);
    expect(() => fitIsotonic([1, Number.NaN], [1, 0])).toThrow(RangeError);
  });
});

describe("fitPlatt", () => {
  /** Gradient of the cross-entropy against Platt's targets (n₊ + 1)/(n₊ + 2) and 1/(n₋ + 2), in (a, b). */
  function plattGradient(
    scores: number[],
    outcomes: number[],
    model: { a: number; b: number },
  ): [number, number] {
    const positives = outcomes.filter((y) => y === 1).length;
    const negatives = outcomes.length - positives;
    let gradientA = 0;
    let gradientB = 0;
    scores.forEach((s, i) => {
      const target = outcomes[i] === 1 ? (positives + 1) / (positives + 2) : 1 / (negatives + 2);
      const residual = target - predictPlatt(model, s);
      gradientA += residual * s;
      gradientB += residual;
    });
    return [gradientA, gradientB];
  }

  it("zeroes the gradient of the cross-entropy against Platt's smoothed targets", () => {
    const scores = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const outcomes = [0, 0, 1, 0, 0, 1, 0, 1, 1, 1];
    const model = fitPlatt(scores, outcomes);
    for (const g of plattGradient(scores, outcomes, model)) expect(Math.abs(g)).toBeLessThan(1e-8);
    expect(model.a).toBeGreaterThan(0);
  });

  it("stays finite when scores separate the classes", () => {
    // Plain maximum likelihood would send a to infinity here; the smoothed targets (3/4, 1/4) do not.
    const scores = [1, 2, 3, 4];
    const outcomes = [0, 0, 1, 1];
    const model = fitPlatt(scores, outcomes);
    expect(Number.isFinite(model.a) && Number.isFinite(model.b)).toBe(true);
    for (const g of plattGradient(scores, outcomes, model)) expect(Math.abs(g)).toBeLessThan(1e-8);
    expect(predictPlatt(model, 4)).toBeLessThan(0.9);
    expect(predictPlatt(model, 1)).toBeGreaterThan(0.1);
  });

  it("falls back to the smoothed base rate for constant scores or one class", () => {
    // 1 converter of 4: targets 2/3 once and 1/5 three times → mean (2/3 + 3/5) / 4 = 19/60
    const flat = fitPlatt([5, 5, 5, 5], [1, 0, 0, 0]);
    expect(flat.a).toBe(0);
    expect(predictPlatt(flat, 123)).toBeCloseTo(19 / 60, 8);
    // no converters: every target 1/(3 + 2) = 0.2
    expect(predictPlatt(fitPlatt([1, 2, 3], [0, 0, 0]), 2)).toBeCloseTo(0.2, 8);
  });
});

describe("calibrate", () => {
  const random = new Random(9);
  const scores = Array.from({ length: 300 }, () => random.int(0, 100));
  const outcomes = scores.map((s) => (random.chance(s / 120) ? 1 : 0));

  for (const method of ["isotonic", "platt"] as const) {
    it(`${method}: survives a JSON round trip and predicts monotone probabilities`, () => {
      const model = calibrate(scores, outcomes, method);
      expect(model.method).toBe(method);
      const stored = JSON.parse(JSON.stringify(model)) as CalibrationModel;
      expect(stored).toEqual(model);
      let previous = -1;
      for (let s = -10; s <= 110; s += 5) {
        const p = predictCalibrated(stored, s);
        expect(p).toBe(predictCalibrated(model, s));
        expect(p).toBeGreaterThanOrEqual(previous - 1e-12);
        expect(p >= 0 && p <= 1).toBe(true);
        previous = p;
      }
      expect(predictCalibrated(model, 90)).toBeGreaterThan(predictCalibrated(model, 10));
    });
  }

  it("rejects outcomes that are not 0/1", () => {
    expect(() => calibrate([1, 2], [0, 2], "platt")).toThrow(RangeError);
  });
});
