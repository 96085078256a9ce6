import { describe, expect, it } from "vitest";
import {
  activationOf,
  activityTrend,
  describeSignal,
  formatHours,
  intensity,
  scoreAccount,
  signalReason,
  weigh,
} from "../../../src/signals/score-account.ts";
import { SCORING_CONFIG as config, features, HOUR, NOW } from "../../helpers/scoring.ts";

const firstSeen = new Date(NOW.getTime() - 240 * HOUR);
const at = (hoursAfterFirstSeen: number) => new Date(firstSeen.getTime() + hoursAfterFirstSeen * HOUR);

/** Hand-computed in the comments below, from test/fixtures/scoring.config.yaml. */
const acme = features({
  accountId: "acct_acme",
  firmographics: {
    employees: 1200,
    industry: "Software",
    region: null,
    plan: "trial",
    seats: 5,
    techStack: ["BambooHR", "Slack"],
  },
  firstSeenAt: firstSeen,
  lastSeenAt: NOW,
  activeUsers: 4,
  personas: ["finance", "hr_admin", "recruiter"],
  usersWithoutPersona: 1,
  activeDays: 9,
  events: 100,
  previousEvents: 50,
  signals: {
    a1: { count: 5, previousCount: 1, firstAt: at(12) },
    a2: { count: 10, previousCount: 0, firstAt: at(30) },
    v1: { count: 50, previousCount: 10, firstAt: at(2) },
    i1: { count: 1, previousCount: 0, firstAt: at(1) },
    p1: { count: 3, previousCount: 0, firstAt: at(200) },
  },
});

describe("weigh", () => {
  it("splits each dimension's weight between its components, all adding up to 1", () => {
    // behavioural 50/100 split 2:1:1, account 30/100 split 1:2:0:1, intent 20/100.
    const w = Object.fromEntries(weigh(config).map((c) => [c.name, c.weight]));
    expect(w).toEqual({
      adoptionDepth: 0.25,
      activation: 0.125,
      usageVolume: 0.125,
      activeUsers: expect.closeTo(0.075, 10),
      personas: expect.closeTo(0.15, 10),
      integrations: 0,
      icpFit: expect.closeTo(0.075, 10),
      intent: 0.2,
    });
    expect(Object.values(w).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });
});

describe("scoreAccount", () => {
  it("scores a hot multi-persona account exactly as computed by hand", () => {
    const result = scoreAccount(acme, config, NOW);
    const value = Object.fromEntries(result.components.map((c) => [c.name, c.value]));
    expect(value).toEqual({
      adoptionDepth: 0.625, // (3 x min(1, 5/10) + 1 x min(1, 10/5)) / (3 + 1)
      activation: 1, // 0.7 x 2/2 milestones + 0.3 x (TTFV 12 h <= 24 h target)
      usageVolume: 0.5, // 50 / 100
      activeUsers: 0.4, // 4 / 10
      personas: 1, // min(1, 3 / 3)
      integrations: 1,
      icpFit: 1, // (50 x 1 + 30 x 1 + 20 x 1) / 100
      intent: 0.375, // (2 x 3/4 + 2 x 0) / 4
    });
    const contribution = Object.fromEntries(result.components.map((c) => [c.name, c.contribution]));
    expect(contribution).toEqual({
      adoptionDepth: 15.63,
      activation: 12.5,
      usageVolume: 6.25,
      activeUsers: 3,
      personas: 15,
      integrations: 0,
      icpFit: 7.5,
      intent: 7.5,
    });
    expect(result.score).toBe(67.38);
    expect(result.components.reduce((s, c) => s + c.contribution, 0)).toBeCloseTo(result.score, 10);
    expect(result.tier).toBe("hot");
    expect(result.icp).toEqual({
      score: 100,
      qualified: true,
      facts: ["1,200 employees", "Software", "uses BambooHR"],
      unknown: [],
    });
    // m1 at 1 h (expected by day 1), m2 at 12 h (expected by day 3): both on time
    expect(result.activation).toEqual({
      reached: ["m1", "m2"],
      onTime: ["m1", "m2"],
      total: 2,
      ttfvHours: 12,
    });
  });

  it("estimates PQR from seats x expansion, the tier-feature uplift, annualised usage and company size", () => {
    // seats 4 x 2 = 8; 8 x 10 x 12 = 960; a2 is a tier feature: x 1.5 = 1440;
    // usage 50 x 365 / 30 x 0.1 = 60.83; (1440 + 60.83) x 2 (1,200 employees) = 3001.67
    expect(scoreAccount(acme, config, NOW).pqr).toEqual({
      pqr: 3001.67,
      currency: "USD",
      model: "seats",
      seats: 8,
      seatPricePerMonth: 10,
      seatRevenue: 960,
      tierFeatureUplift: 0.5,
      tierFeaturesUsed: ["a2"],
      usageRevenue: 60.83,
      usage: [{ signal: "v1", count: 50, windowDays: 30, perYear: 608.33, unitPrice: 0.1, revenue: 60.83 }],
      sizeMultiplier: 2,
    });
  });

  it("explains itself in plain words, strongest contribution first, then what is missing", () => {
    expect(scoreAccount(acme, config, NOW).reasons).toEqual([
      "sent 5 offer letters in 30 days; ran 10 reports in 30 days",
      "3 personas active in 30 days (finance, HR admin, recruiter)",
      "reached all 2 activation milestones; first value 12 hours after the first event",
      "ICP fit 100/100 (1,200 employees, Software, uses BambooHR)",
      "visited pricing 3x in 14 days",
      "1 active user with no known persona",
    ]);
  });

  it("gives an account with no data a defined cold score and says what is missing", () => {
    const result = scoreAccount(features(), config, NOW);
    // Only ICP contributes, as neutral: 100 x 0.075 x 0.5
    expect(result.score).toBe(3.75);
    expect(result.tier).toBe("cold");
    expect(result.pqr.pqr).toBe(0);
    expect(result.icp.score).toBeNull();
    expect(result.reasons).toEqual([
      "no firmographics: ICP unknown",
      "no product activity in the last 30 days",
    ]);
  });

  it("counts unknown ICP criteria as neutral and names them", () => {
    const result = scoreAccount(
      features({ firmographics: { ...acme.firmographics, industry: null, techStack: [] } }),
      config,
      NOW,
    );
    // (50 x 1 + 30 x 0.5 + 20 x 0.5) / 100 = 75
    expect(result.icp).toEqual({
      score: 75,
      qualified: true,
      facts: ["1,200 employees"],
      unknown: ["industry", "tech stack"],
    });
    expect(result.reasons).toContain("industry, tech stack unknown: counted as neutral in ICP");
  });

  it("sums many users of one company into one account-level score", () => {
    const one = scoreAccount(features({ ...acme, activeUsers: 1, personas: ["hr_admin"] }), config, NOW);
    const many = scoreAccount(acme, config, NOW);
    expect(many.score).toBeGreaterThan(one.score);
    const personas = (r: typeof one) => r.components.find((c) => c.name === "personas")?.value;
    expect(personas(one)).toBe(0.3333); // 1 of the 3 personas that make a strong signal
    expect(personas(many)).toBe(1);
  });

  it("puts a score exactly at a threshold in the higher tier", () => {
    const idle = features({ ...acme, personas: [], activeUsers: 0, signals: {} });
    expect(scoreAccount(idle, config, NOW).score).toBe(7.5); // only ICP fit: 100 x 0.075 x 1
    expect(scoreAccount(idle, { ...config, tiers: { hot: 7.5, warm: 5 } }, NOW).tier).toBe("hot");
    expect(scoreAccount(idle, { ...config, tiers: { hot: 50, warm: 7.5 } }, NOW).tier).toBe("warm");
    expect(scoreAccount(idle, { ...config, tiers: { hot: 50, warm: 7.51 } }, NOW).tier).toBe("cold");
  });
});

describe("intensity", () => {
  it("saturates at 1", () => {
    expect(intensity(0, 10)).toBe(0);
    expect(intensity(5, 10)).toBe(0.5);
    expect(intensity(10, 10)).toBe(1);
    expect(intensity(500, 10)).toBe(1);
  });
});

describe("activationOf", () => {
  it("decays the TTFV part past the target and ignores milestones after now", () => {
    const slow = features({
      firstSeenAt: firstSeen,
      signals: { a1: { count: 1, previousCount: 0, firstAt: at(48) } },
    });
    // 0.7 x 1/2 + 0.3 x 24/48
    expect(activationOf(slow, config, NOW)).toEqual({
      value: 0.5,
      reached: ["m2"],
      onTime: ["m2"],
      ttfvHours: 48,
    });
    const late = features({
      firstSeenAt: firstSeen,
      signals: { a1: { count: 1, previousCount: 0, firstAt: at(73) } },
    });
    expect(activationOf(late, config, NOW).onTime).toEqual([]); // m2 expected by day 3 (72 h)
    const future = features({
      firstSeenAt: firstSeen,
      signals: { a1: { count: 1, previousCount: 0, firstAt: new Date(NOW.getTime() + 1) } },
    });
    expect(activationOf(future, config, NOW)).toEqual({ value: 0, reached: [], onTime: [], ttfvHours: null });
    const partial = scoreAccount(
      features({ ...acme, signals: { i1: { count: 1, previousCount: 0, firstAt: at(1) } } }),
      config,
      NOW,
    );
    expect(partial.reasons).toContain("reached 1 of 2 activation milestones (imported employees)");
    expect(partial.reasons).toContain("core value not reached yet (sent a first offer letter)");
    const exactlyNow = features({
      firstSeenAt: firstSeen,
      signals: { i1: { count: 1, previousCount: 0, firstAt: NOW } },
    });
    expect(activationOf(exactlyNow, config, NOW).reached).toEqual(["m1"]);
  });
});

describe("describeSignal and formatHours", () => {
  it("fills {count}, or appends the count to a label without it", () => {
    const [a1, , , i1] = config.signals;
    expect(describeSignal(a1 as (typeof config.signals)[number], 31)).toBe("sent 31 offer letters");
    expect(describeSignal(i1 as (typeof config.signals)[number], 1)).toBe("connected an HRIS");
    expect(describeSignal(i1 as (typeof config.signals)[number], 2)).toBe("connected an HRIS (2x)");
  });

  it("makes {s} plural unless the count is 1, and says the window only with a count", () => {
    const [a1, , , i1] = config.signals as (typeof config.signals)[number][];
    const letters = { ...(a1 as (typeof config.signals)[number]), label: "sent {count} offer letter{s}" };
    expect(describeSignal(letters, 1)).toBe("sent 1 offer letter");
    expect(describeSignal(letters, 2)).toBe("sent 2 offer letters");
    expect(signalReason(letters, 1)).toBe(`sent 1 offer letter in ${letters.windowDays} days`);
    // "connected an HRIS in 365 days" read as if it took a year: no count, no window.
    expect(signalReason(i1 as (typeof config.signals)[number], 1)).toBe("connected an HRIS");
    expect(signalReason(i1 as (typeof config.signals)[number], 2)).toBe(
      `connected an HRIS (2x) in ${(i1 as (typeof config.signals)[number]).windowDays} days`,
    );
  });

  it("says durations the way people do", () => {
    expect(formatHours(0.2)).toBe("12 minutes");
    expect(formatHours(12)).toBe("12 hours");
    expect(formatHours(36.25)).toBe("36.3 hours");
    expect(formatHours(72)).toBe("3 days");
  });
});

describe("activityTrend (not part of the score, not a reason)", () => {
  it("compares the active window with the one before, only once both are whole", () => {
    // acme was first seen 10 days ago: its previous 30-day window is partial, so no trend.
    expect(activityTrend(acme, config, NOW)).toBeNull();
    const old = { ...acme, firstSeenAt: new Date(NOW.getTime() - 61 * 24 * HOUR) };
    // 100 events against 50 before: up 100%.
    expect(activityTrend(old, config, NOW)).toBe(100);
    expect(activityTrend({ ...old, previousEvents: 0 }, config, NOW)).toBeNull();
    expect(activityTrend({ ...old, events: 25 }, config, NOW)).toBe(-50);
    expect(scoreAccount(old, config, NOW).reasons.some((r) => r.startsWith("activity"))).toBe(false);
  });
});
