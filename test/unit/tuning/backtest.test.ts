import { describe, expect, it } from "vitest";
import {
  type BacktestInput,
  judgeConfig,
  judgementWarnings,
  observations,
  tierChanges,
} from "../../../src/tuning/backtest.ts";
import { emptyScores, type ReplayScores } from "../../../src/tuning/replay.ts";
import { DAY_MS } from "../../../src/tuning/replay-query.ts";
import { suggestThresholds, thresholdCurve } from "../../../src/tuning/thresholds.ts";
import { SCORING_CONFIG } from "../../helpers/scoring.ts";

// Three accounts, four weekly points (days 100, 107, 114, 121), horizon 10 days.
const DAYS = [100, 107, 114, 121];
const TIER = { cold: 0, warm: 1, hot: 2 } as const;

function scores(rows: (readonly [number, keyof typeof TIER, number] | null)[][]): ReplayScores {
  const s = emptyScores(rows.length, DAYS.length, 0);
  rows.forEach((points, a) => {
    points.forEach((p, i) => {
      if (!p) return;
      const at = a * DAYS.length + i;
      s.score[at] = p[0];
      s.tier[at] = TIER[p[1]];
      s.pqr[at] = p[2];
    });
  });
  return s;
}

const config = structuredClone(SCORING_CONFIG);
config.tiers = { hot: 70, warm: 40 };

const base = scores([
  // a: hot from the second point, converts on day 115 (amount 1,000): judged at 100, 107, 114.
  [
    [30, "cold", 500],
    [75, "hot", 800],
    [80, "hot", 900],
    [85, "hot", 950],
  ],
  // b: warm throughout, never converts.
  [
    [50, "warm", 100],
    [45, "warm", 100],
    [60, "warm", 100],
    [55, "warm", 100],
  ],
  // c: appears at the third point, cold, converts on day 130 (amount 3,000): judged at 121 only.
  [null, null, [10, "cold", 2000], [20, "cold", 2500]],
]);
base.routedPool[1] = 0; // a became hot at the second point: routed to pool 0.

const input: BacktestInput = {
  accounts: [
    { id: "a", name: "A", domain: null },
    { id: "b", name: "B", domain: null },
    { id: "c", name: "C", domain: null },
  ],
  days: DAYS,
  everyDays: 7,
  horizonDays: 10,
  outcomes: new Map([
    ["a", { converted: true, convertedAt: 115 * DAY_MS, amount: 1000 }],
    ["b", { converted: false, convertedAt: null, amount: null }],
    ["c", { converted: true, convertedAt: 130 * DAY_MS, amount: 3000 }],
  ]),
  notAFit: new Map([["b", [105 * DAY_MS]]]),
  runs: [{ label: "current", config, scores: base }],
};

describe("backtest judgement", () => {
  const obs = observations(input);

  it("judges a scoring only before its account converted, labelled by conversion within the horizon", () => {
    // a: 100 (115 > 110: no), 107 (yes), 114 (yes), 121 after converting: out.
    // b: four points, never. c: 114 (130 > 124: no), 121 (yes).
    expect(obs.map((o) => [input.accounts[o.account]?.id, DAYS[o.point], o.label])).toEqual([
      ["a", 100, 0],
      ["a", 107, 1],
      ["a", 114, 1],
      ["b", 100, 0],
      ["b", 107, 0],
      ["b", 114, 0],
      ["b", 121, 0],
      ["c", 114, 0],
      ["c", 121, 1],
    ]);
  });

  it("reports tiers, lift, precision and recall, revenue, PQR error, load and feedback by hand", () => {
    const r = judgeConfig(input, input.runs[0] as BacktestInput["runs"][number], obs);
    expect(r.observations).toBe(9);
    expect(r.converted).toBe(3);
    expect(r.baseRate).toBeCloseTo(3 / 9);
    const hot = r.tiers.find((t) => t.tier === "hot");
    expect(hot).toMatchObject({ observations: 2, accounts: 1, converted: 2, rate: 1 });
    expect(hot?.lift).toBeCloseTo(3);
    expect(r.tiers.find((t) => t.tier === "cold")).toMatchObject({ observations: 3, converted: 1 });
    expect(r.hot.precision).toBe(1);
    expect(r.hot.recall).toBeCloseTo(2 / 3);
    // a converted hot (1,000), c converted cold (3,000).
    expect(r.revenue).toMatchObject({
      converters: 2,
      total: 4000,
      hot: 1000,
      hotOrWarm: 1000,
      hotShare: 0.25,
    });
    // PQR at the last point before converting: a 900 vs 1,000 (10%), c 2,500 vs 3,000 (16.7%).
    expect(r.pqr.accounts).toBe(2);
    expect(r.pqr.medianAbsPctError).toBeCloseTo((0.1 + 1 / 6) / 2);
    expect(r.load[0]).toMatchObject({ perWeek: [0, 1, 0, 0], max: 1, weeksOverCapacity: 0 });
    // b was marked not a fit on day 105 and is never hot.
    expect(r.feedback).toEqual({ notAFit: 1, stillHot: 0, accounts: [] });
    expect(judgementWarnings(r, 10)[0]).toContain("Too few outcomes to judge: 3 conversions within 10 days");
  });

  it("lists the tier moves between a baseline and a candidate", () => {
    const cand = scores([
      [
        [30, "cold", 0],
        [75, "hot", 0],
        [80, "hot", 0],
        [85, "hot", 0],
      ],
      [
        [50, "warm", 0],
        [45, "warm", 0],
        [72, "hot", 0],
        [71, "hot", 0],
      ],
      [null, null, [10, "cold", 0], [20, "cold", 0]],
    ]);
    const both = { ...input, runs: [...input.runs, { label: "candidate", config, scores: cand }] };
    const moves = tierChanges(both, obs);
    expect(moves?.observationsMoved).toBe(2);
    expect(moves?.matrix.find((m) => m.from === "warm")?.to).toEqual({ cold: 0, warm: 2, hot: 2 });
    expect(moves?.accounts).toEqual([
      {
        accountId: "b",
        name: "B",
        from: { score: 55, tier: "warm" },
        to: { score: 71, tier: "hot" },
        converted: false,
      },
    ]);
  });

  it("draws the threshold curve: volume crossing each threshold, conversion at or above it, revenue", () => {
    const curve = thresholdCurve(input, input.runs[0] as BacktestInput["runs"][number], obs);
    const at = (t: number) => curve.find((p) => p.threshold === t);
    // At 70: scorings a@107 (75), a@114 (80): both converted.
    expect(at(70)).toMatchObject({ scorings: 2, converted: 2, rate: 1, revenue: 1000 });
    // Crossings of 70 over 4 weeks: a at 107 (30 -> 75) only.
    expect(at(70)?.newPerWeek).toBe(0.25);
    // At 0 everything: 9 scorings, 3 converted; crossings: a, b at 100 and c at 114 appear.
    expect(at(0)).toMatchObject({ scorings: 9, converted: 3, revenue: 4000, newPerWeek: 0.75 });
    const s = suggestThresholds(curve, {
      target: 0.9,
      warmTarget: 0.3,
      capacity: 1,
      minScorings: 2,
      currentWarm: 40,
    });
    expect(s.hot).toBe(60.5);
    const none = suggestThresholds(curve, {
      target: 0.9,
      warmTarget: 0.3,
      capacity: 0.1,
      minScorings: 2,
      currentWarm: 40,
    });
    expect(none.hot).toBeNull();
    expect(none.closest.meetsTarget?.threshold).toBe(60.5);
  });
});
