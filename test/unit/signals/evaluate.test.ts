import { describe, expect, it } from "vitest";
import { auc, evaluate } from "../../../src/signals/evaluate.ts";

const row = (score: number, converted: boolean, tier = "cold") => ({ score, converted, tier });

describe("auc", () => {
  it("is 1 for a perfect ranking, 0 for a reversed one, 0.5 for all ties", () => {
    expect(auc([row(1, false), row(2, false), row(3, true), row(4, true)])).toBe(1);
    expect(auc([row(1, true), row(2, true), row(3, false)])).toBe(0);
    expect(auc([row(5, true), row(5, false), row(5, false)])).toBe(0.5);
  });

  it("counts pairs by hand: 3 converters, 2 non-converters", () => {
    // pairs (pos > neg): 9>2 yes, 9>6 yes, 4>2 yes, 4>6 no, 6=6 half, 6>2 yes -> 4.5 of 6
    expect(auc([row(9, true), row(4, true), row(6, true), row(2, false), row(6, false)])).toBe(0.75);
  });

  it("is undefined without both classes", () => {
    expect(auc([row(1, true)])).toBeNull();
    expect(auc([])).toBeNull();
  });
});

describe("evaluate", () => {
  it("reports base rate and conversion per tier", () => {
    const result = evaluate([
      row(90, true, "hot"),
      row(80, false, "hot"),
      row(50, true, "warm"),
      row(10, false, "cold"),
      row(5, false, "cold"),
    ]);
    expect(result).toEqual({
      accounts: 5,
      converted: 2,
      baseRate: 0.4,
      auc: 0.8333,
      tiers: [
        { tier: "hot", accounts: 2, converted: 1, rate: 0.5 },
        { tier: "warm", accounts: 1, converted: 1, rate: 1 },
        { tier: "cold", accounts: 2, converted: 0, rate: 0 },
      ],
    });
  });
});
