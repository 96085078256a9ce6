import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { AccountFeatures } from "../../../src/signals/account-features.ts";
import { describePqr, estimatePqr } from "../../../src/signals/pqr-estimate.ts";
import { ROOT } from "../../helpers/cli.ts";
import { features, SCORING_CONFIG, scoringConfigWith } from "../../helpers/scoring.ts";

/** test/fixtures/scoring.config.yaml: tierFeatureUplift 0.5, size x2 from 1,000 employees, v1 volume (30 days). */
const shared = {
  tierFeatureUplift: 0.5,
  companySizeMultipliers: [
    { minEmployees: 0, multiplier: 1 },
    { minEmployees: 1000, multiplier: 2 },
  ],
};

/** 4 active users, 1,200 employees, 50 v1 in 30 days, the tier feature a2 used. */
const acme = features({
  firmographics: {
    employees: 1200,
    industry: null,
    region: null,
    plan: null,
    seats: null,
    techStack: [],
    traits: {},
  },
  activeUsers: 4,
  signals: {
    v1: { count: 50, previousCount: 0, firstAt: null },
    a2: { count: 1, previousCount: 0, firstAt: null },
  },
});

describe("estimatePqr, model seats (the default)", () => {
  it("is today's formula, in words", () => {
    const pqr = estimatePqr(acme, SCORING_CONFIG);
    // (4 x 2 seats x 10 x 12 = 960, x 1.5 = 1,440, + 50 x 365 / 30 x 0.1 = 60.83) x 2 = 3,001.67
    expect(pqr).toMatchObject({ model: "seats", pqr: 3001.67, seats: 8, seatRevenue: 960 });
    expect(describePqr(pqr)).toBe(
      "$3,001.67/yr = (8 seats x $10/seat/month x 12 x 1.5 tier features (a2) + $60.83/yr usage) x 2.0 size multiplier",
    );
  });

  it("reads the size multiplier's employee count from employeesTrait when set", () => {
    const config = scoringConfigWith({
      pqr: {
        seatPricePerMonth: 10,
        projectedSeatExpansion: 2,
        usagePricePerUnit: 0.1,
        employeesTrait: "headcount",
        ...shared,
      },
    });
    const viaTrait = features({
      ...acme,
      firmographics: { ...acme.firmographics, employees: null, traits: { headcount: "1,500" } },
    });
    expect(estimatePqr(viaTrait, config)).toMatchObject({ pqr: 3001.67, sizeMultiplier: 2 });
    // The firmographic is not read when a trait is named: size unknown, x 1.
    expect(estimatePqr(acme, config)).toMatchObject({ pqr: 1500.83, sizeMultiplier: 1 });
  });
});

describe("estimatePqr, model per-employee", () => {
  const config = scoringConfigWith({
    pqr: { model: "per-employee", pricePerEmployeePerMonth: 6, ...shared },
  });

  it("prices the employee count: employees x price x 12, the uplift, the size multiplier", () => {
    // 1,200 x 6 x 12 = 86,400; x 1.5 (a2) = 129,600; x 2 = 259,200
    const pqr = estimatePqr(acme, config);
    expect(pqr).toEqual({
      pqr: 259200,
      currency: "USD",
      model: "per-employee",
      employees: 1200,
      employeesFrom: "firmographics",
      employeesTrait: null,
      pricePerEmployeePerMonth: 6,
      employeeRevenue: 86400,
      tierFeatureUplift: 0.5,
      tierFeaturesUsed: ["a2"],
      usageRevenue: 0,
      usage: [],
      sizeMultiplier: 2,
    });
    expect(describePqr(pqr)).toBe(
      "$259,200/yr = 1,200 employees x $6/employee/month x 12 x 1.5 tier features (a2) x 2.0 size multiplier",
    );
  });

  it("reads the count from employeesTrait, and prices active users when the count is unknown", () => {
    const byTrait = scoringConfigWith({
      pqr: { model: "per-employee", pricePerEmployeePerMonth: 6, employeesTrait: "headcount", ...shared },
    });
    const headcount = (value: unknown) =>
      features({
        ...acme,
        firmographics: { ...acme.firmographics, employees: null, traits: { headcount: value } },
      });
    expect(estimatePqr(headcount("1,200"), byTrait)).toMatchObject({
      pqr: 259200,
      employees: 1200,
      employeesFrom: "trait",
    });
    // Unknown: 4 active users x 6 x 12 = 288; x 1.5 = 432; size unknown: x 1
    const unknown = estimatePqr(headcount("lots"), byTrait);
    expect(unknown).toMatchObject({
      pqr: 432,
      employees: 4,
      employeesFrom: "active users",
      sizeMultiplier: 1,
    });
    expect(describePqr(unknown)).toBe(
      "$432/yr = 4 employees (active users; headcount unknown) x $6/employee/month x 12 x 1.5 tier features (a2) x 1.0 size multiplier",
    );
  });

  it("reads as the issue's example: 300 employees x $15 x 12", () => {
    const payroll = scoringConfigWith({ pqr: { model: "per-employee", pricePerEmployeePerMonth: 15 } });
    const small: AccountFeatures = features({
      firmographics: { ...acme.firmographics, employees: 300 },
      activeUsers: 3,
    });
    expect(describePqr(estimatePqr(small, payroll))).toBe(
      "$54,000/yr = 300 employees x $15/employee/month x 12 x 1.0 size multiplier",
    );
  });
});

describe("estimatePqr, model usage", () => {
  it("prices each volume signal's annualised count at its unit price", () => {
    const raw = parse(fs.readFileSync(path.join(ROOT, "test/fixtures/scoring.config.yaml"), "utf8"));
    const config = scoringConfigWith({
      signals: [
        ...raw.signals,
        {
          key: "v2",
          label: "ran {count} payrolls",
          kind: "volume",
          match: { events: ["Payroll Run"] },
          weight: 1,
          windowDays: 7,
        },
      ],
      pqr: { model: "usage", usagePricePerUnit: 0.1, unitPrices: { v1: 0.3 }, ...shared },
    });
    const pqr = estimatePqr(
      features({ ...acme, signals: { ...acme.signals, v2: { count: 14, previousCount: 0, firstAt: null } } }),
      config,
    );
    // v1: 50 x 365 / 30 = 608.33/yr x 0.3 = 182.5; v2: 14 x 365 / 7 = 730/yr x 0.1 = 73
    // (182.5 + 73) x 1.5 (a2) x 2 (1,200 employees) = 766.5
    expect(pqr).toEqual({
      pqr: 766.5,
      currency: "USD",
      model: "usage",
      tierFeatureUplift: 0.5,
      tierFeaturesUsed: ["a2"],
      usageRevenue: 255.5,
      usage: [
        { signal: "v1", count: 50, windowDays: 30, perYear: 608.33, unitPrice: 0.3, revenue: 182.5 },
        { signal: "v2", count: 14, windowDays: 7, perYear: 730, unitPrice: 0.1, revenue: 73 },
      ],
      sizeMultiplier: 2,
    });
    expect(describePqr(pqr)).toBe(
      "$766.50/yr = (50 v1 in 30 days (608.33/yr) x $0.30 + 14 v2 in 7 days (730/yr) x $0.10) x 1.5 tier features (a2) x 2.0 size multiplier",
    );
  });
});
