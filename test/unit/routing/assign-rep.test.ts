import { describe, expect, it } from "vitest";
import { checkConfigText } from "../../../src/config/load-config.ts";
import type { PqlConfig } from "../../../src/config/schema.ts";
import {
  type AssignmentInput,
  assignRep,
  type RepLoad,
  type Rotation,
} from "../../../src/routing/assign-rep.ts";
import { routeNewlyHot } from "../../../src/routing/route-newly-hot.ts";
import type { AccountScore } from "../../../src/signals/score-account.ts";
import { features, SCORING_CONFIG } from "../../helpers/scoring.ts";

const NOW = new Date("2026-12-01T10:00:00Z");

/** The tests' scoring config with a routing section of this test's own. */
function withRouting(routing: Record<string, unknown>): PqlConfig {
  const result = checkConfigText(JSON.stringify({ ...SCORING_CONFIG, routing }));
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return result.config;
}

const rep = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: id.toUpperCase(),
  email: `${id}@example.com`,
  pools: ["smb"],
  capacity: 10,
  ...extra,
});

const input = (over: Partial<AssignmentInput> = {}): AssignmentInput => ({
  pool: "smb",
  owner: null,
  loads: new Map(),
  rotation: {},
  now: NOW,
  ...over,
});

describe("assignRep", () => {
  const config = withRouting({
    pools: [
      { key: "enterprise", label: "Enterprise", capacity: 100, match: { minEmployees: 1000 } },
      { key: "smb", label: "SMB", capacity: 100 },
    ],
    reps: [
      rep("ana", { hubspotOwnerId: "501" }),
      rep("ben", { outOfOffice: [{ from: "2026-11-30", to: "2026-12-02" }] }),
      rep("chloe", { capacity: 25 }),
      rep("dev", { maxAlertsPerDay: 10 }),
      rep("eve", { pools: ["enterprise"], email: "Eve@Example.com" }),
    ],
  });

  it("gives the account to the company's owner when the owner is a configured rep, by owner id or email", () => {
    const byId = assignRep(input({ owner: { hubspotOwnerId: "501", email: null } }), config);
    expect(byId).toMatchObject({ repId: "ana", rule: "existing-owner", skipped: [] });
    // Even a rep of another pool: the account stays with whoever owns it in the CRM.
    const byEmail = assignRep(input({ owner: { hubspotOwnerId: "999", email: "EVE@example.COM" } }), config);
    expect(byEmail).toMatchObject({
      repId: "eve",
      rule: "existing-owner",
      reason: "eve: owns the company in HubSpot",
    });
    // An owner who is no rep of ours: the round robin decides.
    const stranger = assignRep(input({ owner: { hubspotOwnerId: "777", email: "x@y.example" } }), config);
    expect(stranger.rule).toBe("round-robin");
  });

  it("skips reps out of office, at capacity or at their daily alert limit, saying why", () => {
    const loads = new Map<string, RepLoad>([
      ["chloe", { open: 25, alertsToday: 2 }],
      ["dev", { open: 1, alertsToday: 10 }],
    ]);
    const result = assignRep(input({ loads }), config);
    expect(result).toEqual({
      repId: "ana",
      rule: "round-robin",
      skipped: [
        { repId: "ben", reason: "out of office until 2026-12-02" },
        { repId: "chloe", reason: "at capacity 25/25" },
        { repId: "dev", reason: "10/10 alerts today" },
      ],
      reason:
        "ana: round robin in pool smb (skipped ben: out of office until 2026-12-02; chloe: at capacity 25/25; dev: 10/10 alerts today)",
      // ana (weight 1) was the only one eligible: +1, then pays back the eligible total 1.
      rotation: { ana: 0 },
    });
    // The day after the last day away, ben is back.
    const back = assignRep(input({ loads, now: new Date("2026-12-03T00:00:00Z") }), config);
    expect(back.skipped.map((s) => s.repId)).toEqual(["chloe", "dev"]);
  });

  it("posts unassigned, with every reason, when nobody is eligible", () => {
    const full = new Map<string, RepLoad>(
      ["ana", "chloe", "dev"].map((id) => [id, { open: 99, alertsToday: 0 }]),
    );
    expect(assignRep(input({ loads: full }), config)).toMatchObject({
      repId: null,
      rule: "nobody-eligible",
      reason:
        "nobody eligible in pool smb (ana: at capacity 99/10; ben: out of office until 2026-12-02; chloe: at capacity 99/25; dev: at capacity 99/10)",
    });
    expect(assignRep(input({ pool: "mid" }), config)).toMatchObject({
      repId: null,
      reason: "no rep in pool mid",
    });
  });

  it("rotates by weight (smooth weighted round robin), the same state giving the same choice", () => {
    const weighted = withRouting({
      pools: [{ key: "smb", label: "SMB", capacity: 100 }],
      reps: [rep("a", { weight: 1 }), rep("b", { weight: 2 }), rep("c", { weight: 3 })],
    });
    // Hand-computed: weights 1/2/3, total 6. Current weights after adding: a1 b2 c3 -> c (c -3);
    // a2 b4 c0 -> b (b -2); a3 b0 c3 -> a (first of the tie: a -3); a-2 b2 c6 -> c; ...
    let rotation: Rotation = {};
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const next = assignRep(input({ rotation }), weighted);
      picks.push(next.repId as string);
      rotation = next.rotation;
    }
    expect(picks).toEqual(["c", "b", "a", "c", "b", "c"]);
    expect(rotation).toEqual({ a: 0, b: 0, c: 0 });
    // Same history, same choice: a rerun from the stored state picks again what was picked.
    const state: Rotation = { a: -2, b: 2, c: 0 };
    expect(assignRep(input({ rotation: state }), weighted).repId).toBe(
      assignRep(input({ rotation: state }), weighted).repId,
    );
  });

  it("gives 1,000 accounts over weights 1/2/3 shares within 2 points of the weights", () => {
    const weighted = withRouting({
      pools: [{ key: "smb", label: "SMB", capacity: 100 }],
      reps: [rep("a", { weight: 1 }), rep("b", { weight: 2 }), rep("c", { weight: 3 })],
    });
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    let rotation: Rotation = {};
    for (let i = 0; i < 1_000; i++) {
      const next = assignRep(input({ rotation }), weighted);
      counts[next.repId as string] = (counts[next.repId as string] ?? 0) + 1;
      rotation = next.rotation;
    }
    for (const [id, weight] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ] as const)
      expect(Math.abs((counts[id] as number) / 1_000 - weight / 6), id).toBeLessThan(0.02);
  });
});

describe("a pool's industries", () => {
  it("routes by the industry trait, case-insensitively", () => {
    const config = withRouting({
      pools: [
        { key: "health", label: "Health", capacity: 10, match: { industries: ["Healthcare"] } },
        { key: "smb", label: "SMB", capacity: 10 },
      ],
    });
    const score = { accountId: "acct_t", score: 80, tier: "hot", pqr: { pqr: 100 } } as AccountScore;
    const of = (industry: string | null) =>
      features({
        firmographics: { employees: 50, industry, region: null, plan: null, seats: null, techStack: [] },
      });
    const fresh = { lastRoutedAt: undefined, now: NOW };
    expect(routeNewlyHot("warm", of("healthcare"), score, config, fresh)?.pool).toBe("health");
    expect(routeNewlyHot("warm", of("Retail"), score, config, fresh)?.pool).toBe("smb");
    expect(routeNewlyHot("warm", of(null), score, config, fresh)?.pool).toBe("smb");
  });

  it("refuses an out-of-office period that ends before it starts", () => {
    const result = checkConfigText(
      JSON.stringify({
        ...SCORING_CONFIG,
        routing: {
          pools: [{ key: "smb", label: "SMB", capacity: 10 }],
          reps: [rep("ana", { outOfOffice: [{ from: "2026-12-05", to: "2026-12-01" }] })],
        },
      }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems).toEqual([
        expect.stringMatching(/^routing\.reps\[0\]\.outOfOffice\[0\]: expected from on or before to/),
      ]);
  });
});
