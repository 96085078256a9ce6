import { describe, expect, it } from "vitest";
import { Random } from "../../../src/sample/random.ts";
import {
  auc,
  bandOf,
  bands,
  brier,
  expectedCalibrationError,
  liftAt,
  logLoss,
  wilson,
} from "../../../src/tuning/stats.ts";

describe("wilson", () => {
  it("matches the formula worked by hand for 8/10", () => {
    // z² = 3.8416, p = 0.8, denominator = 1 + 3.8416/10 = 1.38416
    // centre = (0.8 + 3.8416/20) / 1.38416 = 0.99208 / 1.38416 = 0.716738
    // half   = 1.96 / 1.38416 × √(0.8·0.2/10 + 3.8416/400) = 1.416022 × √0.025604 = 1.416022 × 0.160012 = 0.226581
    // → [0.490157, 0.943319]
    const { low, high } = wilson(8, 10);
    expect(low).toBeCloseTo(0.490157, 6);
    expect(high).toBeCloseTo(0.943319, 6);
  });

  it("gives [0, 1] for no trials and starts at 0 for no successes", () => {
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
    // 0/10: centre = half = 0.19208 / 1.38416 = 0.138770 → [0, 0.277540]
    const none = wilson(0, 10);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.27754, 5);
  });

  it("narrows with z", () => {
    const wide = wilson(8, 10, 2.576);
    const narrow = wilson(8, 10, 1.645);
    expect(wide.high - wide.low).toBeGreaterThan(narrow.high - narrow.low);
  });

  it("rejects impossible counts", () => {
    expect(() => wilson(11, 10)).toThrow(RangeError);
    expect(() => wilson(1, 2.5)).toThrow(RangeError);
  });
});

describe("brier and logLoss", () => {
  it("computes the Brier score by hand", () => {
    // (0.1 − 0)² + (0.4 − 1)² + (0.8 − 1)² = 0.01 + 0.36 + 0.04 = 0.41; / 3
    expect(brier([0.1, 0.4, 0.8], [0, 1, 1])).toBeCloseTo(0.41 / 3, 12);
  });

  it("computes the log-loss by hand and clips certainty", () => {
    expect(logLoss([0.5, 0.8], [1, 0])).toBeCloseTo(-(Math.log(0.5) + Math.log(0.2)) / 2, 12);
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 6);
  });

  it("rejects mismatched or empty input", () => {
    expect(() => brier([0.1], [0, 1])).toThrow(RangeError);
    expect(() => brier([], [])).toThrow(RangeError);
  });
});

describe("expectedCalibrationError", () => {
  it("is 0 when every bin's mean prediction equals its conversion rate", () => {
    // 20 rows at 0.15 with 3 converters (rate 0.15); 4 rows at 0.75 with 3 converters (rate 0.75)
    const probabilities = [...new Array<number>(20).fill(0.15), ...new Array<number>(4).fill(0.75)];
    const outcomes = [1, 1, 1, ...new Array<number>(17).fill(0), 1, 1, 1, 0];
    expect(expectedCalibrationError(probabilities, outcomes)).toBeCloseTo(0, 12);
  });

  it("weights each bin's gap by its share of rows", () => {
    // bin [0.2, 0.3): mean 0.2, rate 0 → gap 0.2, weight 1/2; bin [0.9, 1]: mean 0.95, rate 0.5 → gap 0.45, weight 1/2
    // (0.9 and 1.0 share the last bin)  → 0.1 + 0.225 = 0.325
    expect(expectedCalibrationError([0.2, 0.2, 0.9, 1], [0, 0, 1, 0])).toBeCloseTo(0.325, 12);
    // with 2 bins: [0, 0.5) holds 0.2, 0.2 (gap 0.2), [0.5, 1] holds 0.9, 1 (gap 0.45) → same answer
    expect(expectedCalibrationError([0.2, 0.2, 0.9, 1], [0, 0, 1, 0], 2)).toBeCloseTo(0.325, 12);
    // with 1 bin, the gaps can cancel: [0.2, 0.9] vs [1, 0] → |mean 0.55 − rate 0.5| = 0.05
    expect(expectedCalibrationError([0.2, 0.9], [1, 0], 1)).toBeCloseTo(0.05, 12);
    // with 10 bins the same rows are apart: ½·|0.2 − 1| + ½·|0.9 − 0| = 0.85
    expect(expectedCalibrationError([0.2, 0.9], [1, 0])).toBeCloseTo(0.85, 12);
  });
});

describe("auc", () => {
  it("counts ties as one half (by hand)", () => {
    // converters {0.4, 0.8}, others {0.1, 0.4}: pairs 1 + ½ + 1 + 1 = 3.5 of 4
    expect(auc([0.1, 0.4, 0.4, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.875, 12);
    // converters {1, 2, 3}, others {2, 3}: (1,2) 0, (1,3) 0, (2,2) ½, (2,3) 0, (3,2) 1, (3,3) ½ = 2 of 6
    expect(auc([1, 2, 2, 3, 3], [1, 0, 1, 0, 1])).toBeCloseTo(1 / 3, 12);
  });

  it("is 1 when separated, 0 when reversed, 0.5 for identical scores, null for one class", () => {
    expect(auc([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(auc([4, 3, 2, 1], [0, 0, 1, 1])).toBe(0);
    expect(auc([7, 7, 7, 7], [0, 1, 0, 1])).toBe(0.5);
    expect(auc([1, 2, 3], [1, 1, 1])).toBeNull();
    expect(auc([1, 2, 3], [0, 0, 0])).toBeNull();
  });

  it("agrees with counting every pair on random tied data", () => {
    const random = new Random(7);
    const scores = Array.from({ length: 200 }, () => random.int(0, 20));
    const outcomes = scores.map((s) => (random.chance(s / 25) ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < scores.length; i++) {
      for (let j = 0; j < scores.length; j++) {
        if (outcomes[i] !== 1 || outcomes[j] !== 0) continue;
        pairs++;
        const a = scores[i] as number;
        const b = scores[j] as number;
        wins += a > b ? 1 : a === b ? 0.5 : 0;
      }
    }
    expect(auc(scores, outcomes)).toBeCloseTo(wins / pairs, 12);
  });
});

describe("bands", () => {
  it("cuts 1..100 into deciles of ten", () => {
    const scores = Array.from({ length: 100 }, (_, i) => 100 - i);
    const edges = bands(scores);
    expect(edges).toEqual([11, 21, 31, 41, 51, 61, 71, 81, 91]);
    expect(bandOf(edges, 1)).toBe(0);
    expect(bandOf(edges, 10)).toBe(0);
    expect(bandOf(edges, 11)).toBe(1);
    expect(bandOf(edges, 100)).toBe(9);
    expect(bandOf(edges, -5)).toBe(0);
    expect(bandOf(edges, 1e9)).toBe(9);
  });

  it("keeps a tie group whole, on the side nearer the cut, and drops empty bands", () => {
    // 10 scores, 5 bands → cuts at positions 2, 4, 6, 8.
    // pos 2 is inside the six 1s [0, 6): 2 from the start vs 4 from the end → the 1s go up → edge 1 = min → dropped
    // pos 4: 4 from the start vs 2 from the end → the 1s go down → edge 2; pos 6: edge 2 again → dropped; pos 8: edge 4
    const edges = bands([1, 1, 1, 1, 1, 1, 2, 3, 4, 5], 5);
    expect(edges).toEqual([2, 4]);
    expect([1, 2, 3, 4, 5].map((s) => bandOf(edges, s))).toEqual([0, 1, 1, 2, 2]);
  });

  it("gives one band for identical or no scores", () => {
    expect(bands([3, 3, 3, 3])).toEqual([]);
    expect(bands([])).toEqual([]);
    expect(bands([1, 2, 3])).toEqual([2, 3]);
  });

  it("never leaves a band empty on heavily tied random data", () => {
    const random = new Random(11);
    for (let trial = 0; trial < 50; trial++) {
      const scores = Array.from({ length: random.int(1, 60) }, () => random.int(0, random.int(0, 12)));
      const edges = bands(scores, 10);
      const counts = new Array<number>(edges.length + 1).fill(0);
      for (const s of scores) counts[bandOf(edges, s)] = (counts[bandOf(edges, s)] as number) + 1;
      expect(counts.every((c) => c > 0)).toBe(true);
      expect(edges.length).toBeLessThanOrEqual(9);
    }
  });
});

describe("liftAt", () => {
  it("divides the top slice's conversion by the base rate", () => {
    // base rate 4/10 = 0.4; the top 2 both converted → 1 / 0.4 = 2.5
    const scores = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    const outcomes = [1, 1, 0, 0, 1, 0, 0, 1, 0, 0];
    expect(liftAt(scores, outcomes, 0.2)).toBeCloseTo(2.5, 12);
    expect(liftAt(scores, outcomes, 1)).toBeCloseTo(1, 12);
  });

  it("averages over a tie group cut by the slice, whatever the row order", () => {
    // base 0.5; top half = 2 rows: the 3 (converted) and half of the two 2s (rate ½) → 1.5 / 2 = 0.75 → lift 1.5
    expect(liftAt([3, 2, 2, 1], [1, 1, 0, 0], 0.5)).toBeCloseTo(1.5, 12);
    expect(liftAt([2, 1, 3, 2], [0, 0, 1, 1], 0.5)).toBeCloseTo(1.5, 12);
  });

  it("is null without converters", () => {
    expect(liftAt([1, 2], [0, 0], 0.5)).toBeNull();
  });
});
