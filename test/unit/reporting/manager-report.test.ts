import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { configSchema, type PqlConfig } from "../../../src/config/schema.ts";
import { buildReport, reportCsv } from "../../../src/reporting/manager-report.ts";
import type { ReportData, ReportRouting } from "../../../src/store/report-store.ts";

const config: PqlConfig = configSchema.parse(
  YAML.parse(fs.readFileSync(path.join(import.meta.dirname, "../../fixtures/full.config.yaml"), "utf8")),
);
const NOW = new Date("2026-11-30T12:00:00Z");
const SINCE = new Date("2026-10-31T12:00:00Z");
const T0 = new Date("2026-11-20T10:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

function routing(over: Partial<ReportRouting>): ReportRouting {
  return {
    id: "1",
    accountId: "acct",
    name: "Acme",
    domain: "acme.example",
    pool: "smb",
    repId: "dev",
    status: "open",
    decidedAt: T0,
    claimedBy: null,
    claimedAt: null,
    escalations: 0,
    converted: null,
    amount: null,
    ...over,
  };
}

function data(over: Partial<ReportData> = {}): ReportData {
  return {
    routings: [
      // Claimed after 10, 20, 30 and 100 minutes; one open; one not a fit.
      routing({
        id: "1",
        accountId: "a1",
        repId: "dev",
        status: "claimed",
        claimedBy: "dev",
        claimedAt: at(10),
        converted: true,
        amount: 1200,
      }),
      routing({
        id: "2",
        accountId: "a2",
        repId: "dev",
        status: "claimed",
        claimedBy: "chloe",
        claimedAt: at(20),
      }),
      routing({
        id: "3",
        accountId: "a3",
        repId: "chloe",
        pool: "mid-market",
        status: "claimed",
        claimedBy: "chloe",
        claimedAt: at(30),
        converted: true,
        amount: 800,
      }),
      routing({
        id: "4",
        accountId: "a4",
        repId: "ben",
        pool: "enterprise",
        status: "claimed",
        claimedBy: "ben",
        claimedAt: at(100),
        converted: false,
      }),
      routing({
        id: "5",
        accountId: "a5",
        repId: "ana",
        pool: "enterprise",
        decidedAt: new Date("2026-11-29T12:00:00Z"),
      }),
      routing({ id: "6", accountId: "a6", repId: "dev", status: "not_a_fit" }),
    ],
    feedback: [
      { kind: "escalation", reason: "reassigned", n: 2 },
      { kind: "not_a_fit", reason: "competitor", n: 1 },
      { kind: "snooze", reason: "3d", n: 3 },
    ],
    tiers: { hot: 6, warm: 10, cold: 84 },
    outcomes: [
      { score: 80, tier: "hot", converted: true },
      { score: 75, tier: "hot", converted: false },
      { score: 50, tier: "warm", converted: false },
      { score: 10, tier: "cold", converted: false },
    ],
    calibratedAt: new Date("2026-11-25T00:00:00Z"),
    ...over,
  };
}

describe("buildReport", () => {
  it("computes the claim rate, median and p90 time to claim, per pool and per rep, by hand", () => {
    const r = buildReport(data(), config, { since: SINCE, now: NOW });
    expect(r.claims).toMatchObject({ routed: 6, claimed: 4, claimRate: 0.6667 });
    // Times 10, 20, 30, 100: median (20+30)/2 = 25; p90 at position 2.7: 30 + 0.7 x 70 = 79.
    expect(r.claims.medianMinutesToClaim).toBe(25);
    expect(r.claims.p90MinutesToClaim).toBe(79);
    expect(r.claims.minutesToClaim).toEqual([10, 20, 30, 100]);
    expect(r.funnel).toEqual({
      accounts: { hot: 6, warm: 10, cold: 84 },
      routed: 6,
      claimed: 4,
      converted: 2,
    });
    expect(r.byPool).toEqual([
      { pool: "enterprise", label: "Enterprise", routed: 2, claimed: 1, claimRate: 0.5 },
      { pool: "mid-market", label: "Mid-market", routed: 1, claimed: 1, claimRate: 1 },
      { pool: "smb", label: "SMB", routed: 3, claimed: 2, claimRate: 0.6667 },
    ]);
    const chloe = r.byRep.find((p) => p.repId === "chloe");
    // Assigned a3 (claimed herself), claimed a2 too; converted a3 for 800.
    expect(chloe).toEqual({
      repId: "chloe",
      name: "Chloe Martin",
      assigned: 1,
      claimed: 2,
      claimRate: 1,
      medianMinutesToClaim: 25,
      converted: 1,
      revenue: 800,
    });
    const dev = r.byRep.find((p) => p.repId === "dev");
    expect(dev).toMatchObject({ assigned: 3, claimed: 1, claimRate: 0.3333, converted: 1, revenue: 1200 });
    expect(r.feedback).toEqual({
      escalations: 2,
      snoozes: [{ reason: "3d", n: 3 }],
      notAFit: [{ reason: "competitor", n: 1 }],
    });
    expect(r.conversion.baseRate).toBe(0.25);
    expect(r.unclaimed.map((u) => [u.accountId, u.hoursOpen])).toEqual([["a5", 24]]);
    expect(r.warnings).toEqual([]);
  });

  it("warns in plain words: hot converting under 15%, more waiting than capacity, a calibration older than 30 days", () => {
    const outcomes = Array.from({ length: 25 }, (_, i) => ({ score: 80, tier: "hot", converted: i < 3 }));
    const open = Array.from({ length: 91 }, (_, i) => routing({ id: String(100 + i), accountId: `o${i}` }));
    const r = buildReport(
      data({ outcomes, routings: open, calibratedAt: new Date("2026-10-01T00:00:00Z") }),
      config,
      { since: SINCE, now: NOW },
    );
    // 3 of 25 = 12%; capacity 15 + 20 + 25 + 30 = 90 < 91 waiting; calibrated 2026-10-01, 60 days before.
    expect(r.warnings).toHaveLength(3);
    expect(r.warnings[0]).toContain("Hot accounts convert at 12% (3 of 25)");
    expect(r.warnings[1]).toContain("91 routed accounts wait unclaimed, above the team's capacity of 90");
    expect(r.warnings[2]).toBe(
      "The score was last calibrated on 2026-10-01 (over 30 days): run `pql-router calibrate` against recent outcomes.",
    );
    // Too few hot outcomes to judge: no warning.
    const few = buildReport(data({ outcomes: outcomes.slice(0, 10) }), config, { since: SINCE, now: NOW });
    expect(few.warnings).toEqual([]);
  });

  it("says when the current config was never calibrated, and not when its calibration is 30 days old or less", () => {
    const never = buildReport(data({ calibratedAt: null }), config, { since: SINCE, now: NOW });
    expect(never.warnings).toEqual([
      "The score was never calibrated for the current config: HubSpot and Slack show no conversion probability until you run `pql-router calibrate` against recent outcomes.",
    ]);
    const month = buildReport(data({ calibratedAt: new Date("2026-10-31T12:00:00Z") }), config, {
      since: SINCE,
      now: NOW,
    });
    expect(month.warnings).toEqual([]);
  });
});

describe("reportCsv", () => {
  it("writes one row per routing, quoted, with formulas neutralised", () => {
    const csv = reportCsv(
      data({
        routings: [
          routing({
            name: '=HYPERLINK("evil")',
            domain: "a,b.example",
            claimedBy: "dev",
            claimedAt: at(10),
            status: "claimed",
          }),
        ],
      }),
      config,
    );
    const [header, row] = csv.trimEnd().split("\n");
    expect(header).toBe(
      "account_id,name,domain,pool,assigned_to,routed_at,status,claimed_by,claimed_at,minutes_to_claim,escalations,converted,amount",
    );
    expect(row).toBe(
      `acct,"'=HYPERLINK(""evil"")","a,b.example",smb,Dev Patel,2026-11-20T10:00:00.000Z,claimed,Dev Patel,2026-11-20T10:10:00.000Z,10,0,,`,
    );
  });
});
