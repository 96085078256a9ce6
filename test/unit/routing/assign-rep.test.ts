import { describe, expect, it } from "vitest";
import { checkConfigText } from "../../../src/config/load-config.ts";
import type { PqlConfig } from "../../../src/config/schema.ts";
import {
  type AssignmentInput,
  assignAll,
  assignRep,
  escalate,
  type PendingAssignment,
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

  it("keeps the account with its CRM owner even at capacity or at the daily limit; an owner out of office is covered by the round robin", () => {
    // Existing ownership comes before load checks: the CRM owner keeps their account.
    const loads = new Map<string, RepLoad>([
      ["ana", { open: 99, alertsToday: 0 }],
      ["dev", { open: 0, alertsToday: 10 }],
    ]);
    // ben is out of office 2026-11-30..2026-12-02 and NOW is 2026-12-01: the pool's round robin
    // covers, and the audit says why ben was passed over.
    const covered = assignRep(
      input({ loads, owner: { hubspotOwnerId: null, email: "ben@example.com" } }),
      config,
    );
    expect(covered.rule).toBe("round-robin");
    expect(covered.repId).not.toBe("ben");
    expect(covered.skipped[0]).toEqual({
      repId: "ben",
      reason: "owns the company but is out of office until 2026-12-02",
    });
    // ana holds 99 open accounts against a capacity of 10.
    expect(assignRep(input({ loads, owner: { hubspotOwnerId: "501", email: null } }), config)).toMatchObject({
      repId: "ana",
      rule: "existing-owner",
    });
    // dev is at 10/10 alerts today; the rotation passed in comes back untouched.
    const owned = assignRep(
      input({ loads, rotation: { ana: 3 }, owner: { hubspotOwnerId: null, email: "dev@example.com" } }),
      config,
    );
    expect(owned).toMatchObject({ repId: "dev", rule: "existing-owner", rotation: { ana: 3 } });
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

const pending = (id: number, pool: string, owner: PendingAssignment["owner"] = null): PendingAssignment => ({
  id: BigInt(id),
  pool,
  owner,
});

/** The loads a store would hold after `assigned`: one more open account and alert per assignment. */
function loadsAfter(
  loads: ReadonlyMap<string, RepLoad>,
  assigned: { assignment: { repId: string | null } }[],
): Map<string, RepLoad> {
  const next = new Map(loads);
  for (const { assignment } of assigned) {
    if (assignment.repId === null) continue;
    const load = next.get(assignment.repId) ?? { open: 0, alertsToday: 0 };
    next.set(assignment.repId, { open: load.open + 1, alertsToday: load.alertsToday + 1 });
  }
  return next;
}

describe("assignAll", () => {
  const config = withRouting({
    pools: [
      { key: "enterprise", label: "Enterprise", capacity: 100, match: { minEmployees: 1000 } },
      { key: "mid", label: "Mid", capacity: 100 },
      { key: "smb", label: "SMB", capacity: 100 },
    ],
    reps: [
      rep("ana", { weight: 3, capacity: 2, hubspotOwnerId: "501" }),
      rep("ben"),
      rep("eve", { pools: ["enterprise"] }),
    ],
  });

  it("assigns in order, each decision seeing the loads the previous ones added", () => {
    const loads = new Map<string, RepLoad>([["ana", { open: 1, alertsToday: 0 }]]);
    const rotations = new Map<string, Rotation>([["enterprise", { eve: 5 }]]);
    const decisions = [
      pending(1, "smb"),
      pending(2, "smb"),
      pending(3, "mid"),
      pending(4, "enterprise", { hubspotOwnerId: "501", email: null }),
      pending(5, "smb"),
    ];
    const result = assignAll(decisions, { loads, rotations, now: NOW }, config);
    // Hand-computed, weights ana 3, ben 1 (total 4):
    //  1: ana 3, ben 1 -> ana (ana 3-4 = -1); ana now holds 2 of 2.
    //  2: ana at capacity 2/2 (without the added load she would win: ana 2, ben 2, tie to ana);
    //     ben 1+1 = 2 -> ben, pays back the eligible total 1 -> ben 1.
    //  3: pool mid has no rep: nobody eligible, no rotation.
    //  4: ana owns the company: existing owner (even at capacity), no rotation for enterprise.
    //  5: ana at capacity 3/2 now; ben 1+1-1 = 1.
    expect(result.assignments.map((a) => [a.decisionId, a.assignment.repId, a.assignment.rule])).toEqual([
      [1n, "ana", "round-robin"],
      [2n, "ben", "round-robin"],
      [3n, null, "nobody-eligible"],
      [4n, "ana", "existing-owner"],
      [5n, "ben", "round-robin"],
    ]);
    expect(result.assignments[1]?.assignment.skipped).toEqual([{ repId: "ana", reason: "at capacity 2/2" }]);
    expect(result.assignments[1]?.assignment.reason).toBe(
      "ben: round robin in pool smb (skipped ana: at capacity 2/2)",
    );
    expect(result.assignments[2]?.assignment.reason).toBe("no rep in pool mid");
    expect(result.assignments[4]?.assignment.skipped).toEqual([{ repId: "ana", reason: "at capacity 3/2" }]);
    // Only smb's round robin chose: enterprise (existing owner) and mid (nobody) are not returned.
    expect([...result.rotations.entries()]).toEqual([["smb", { ana: -1, ben: 1 }]]);
    // The state passed in is not changed.
    expect(loads.get("ana")).toEqual({ open: 1, alertsToday: 0 });
    expect(loads.has("ben")).toBe(false);
    expect(rotations.get("smb")).toBeUndefined();
  });

  it("counts each assignment against maxAlertsPerDay", () => {
    const limited = withRouting({
      pools: [{ key: "smb", label: "SMB", capacity: 100 }],
      reps: [rep("x", { weight: 3, maxAlertsPerDay: 2 }), rep("y")],
    });
    const loads = new Map<string, RepLoad>([["x", { open: 0, alertsToday: 1 }]]);
    const result = assignAll(
      [pending(1, "smb"), pending(2, "smb"), pending(3, "smb")],
      { loads, rotations: new Map(), now: NOW },
      limited,
    );
    // 1: x 3, y 1 -> x (x -1), x has 2 alerts today. 2: without the count x would tie y at 2 and
    // win; with it x is at 2/2 and y (1+1 = 2, pays 1) takes it. 3: y again (1+1-1 = 1).
    expect(result.assignments.map((a) => a.assignment.repId)).toEqual(["x", "y", "y"]);
    expect(result.assignments[1]?.assignment.skipped).toEqual([{ repId: "x", reason: "2/2 alerts today" }]);
    expect(result.assignments[2]?.assignment.skipped).toEqual([{ repId: "x", reason: "2/2 alerts today" }]);
    expect(result.rotations.get("smb")).toEqual({ x: -1, y: 1 });
  });

  describe("determinism", () => {
    const weighted = withRouting({
      pools: [{ key: "smb", label: "SMB", capacity: 100 }],
      reps: [rep("a", { weight: 1 }), rep("b", { weight: 2, capacity: 3 }), rep("c", { weight: 3 })],
    });
    const loads = new Map<string, RepLoad>([["b", { open: 1, alertsToday: 1 }]]);
    const decisions = [1, 2, 3, 4, 5, 6, 7, 8].map((id) => pending(id, "smb"));
    // Hand-computed (weights 1/2/3; b can take 2 more before capacity 3):
    //  1: a1 b2 c3 -> c (c -3)       2: a2 b4 c0 -> b (b -2, open 2)   3: a3 b0 c3 -> a (tie, a -3)
    //  4: a-2 b2 c6 -> c (c 0)       5: a-1 b4 c3 -> b (b -2, open 3)
    //  6: b at capacity, total 4: a0 c6 -> c (c 2)   7: a1 c5 -> c (c 1)   8: a2 c4 -> c (c 0)
    const expected = ["c", "b", "a", "c", "b", "c", "c", "c"];

    it("gives the same assignments when run twice from the same loads and rotations", () => {
      const state = { loads, rotations: new Map<string, Rotation>(), now: NOW };
      const first = assignAll(decisions, state, weighted);
      const second = assignAll(decisions, state, weighted);
      expect(first.assignments.map((a) => a.assignment.repId)).toEqual(expected);
      expect(first.rotations.get("smb")).toEqual({ a: 2, b: -2, c: 0 });
      expect(second).toEqual(first);
    });

    it("makes the same choices when a second run resumes from the first half's rotations and loads", () => {
      const whole = assignAll(decisions, { loads, rotations: new Map(), now: NOW }, weighted);
      const firstHalf = assignAll(decisions.slice(0, 4), { loads, rotations: new Map(), now: NOW }, weighted);
      expect(firstHalf.rotations.get("smb")).toEqual({ a: -2, b: 2, c: 0 });
      // What a rerun or a second process reads back from the store after the first half.
      const secondHalf = assignAll(
        decisions.slice(4),
        { loads: loadsAfter(loads, firstHalf.assignments), rotations: firstHalf.rotations, now: NOW },
        weighted,
      );
      expect(secondHalf.assignments[0]?.assignment.skipped).toEqual([]);
      expect(secondHalf.assignments[1]?.assignment.skipped).toEqual([
        { repId: "b", reason: "at capacity 3/3" },
      ]);
      expect([...firstHalf.assignments, ...secondHalf.assignments]).toEqual(whole.assignments);
      expect(secondHalf.rotations).toEqual(whole.rotations);
      expect(whole.assignments.map((a) => a.assignment.repId)).toEqual(expected);
    });
  });
});

describe("escalate", () => {
  const routing = (sla: Record<string, unknown> | undefined) =>
    withRouting({
      pools: [
        { key: "enterprise", label: "Enterprise", capacity: 100, match: { minEmployees: 1000 } },
        { key: "smb", label: "SMB", capacity: 100, lead: "lee" },
      ],
      reps: [rep("a"), rep("b"), rep("c"), rep("d"), rep("eve", { pools: ["enterprise"] })],
      managers: [{ id: "lee", name: "Lee Park", email: "lee@example.com", slackUserId: "U0LEE" }],
      ...(sla ? { sla } : {}),
    });
  const base = {
    pool: "smb",
    currentRepId: "a",
    previousRepIds: ["b"],
    loads: new Map<string, RepLoad>(),
    rotation: { a: 5, c: -1, d: 1 } as Rotation,
    now: NOW,
  };

  it("with both: reassigns by round robin to a rep who has not had it, and mentions the pool lead", () => {
    const result = escalate(base, routing({ claimWithinHours: 4, escalate: "both" }));
    // a (current) and b (previous) are passed over, a despite the largest current weight;
    // c -1+1 = 0, d 1+1 = 2 -> d, pays back the eligible total 2 -> 0.
    expect(result).toEqual({
      repId: "d",
      leadId: "lee",
      reason: "reassigned to d (was a); lead lee mentioned",
      skipped: [
        { repId: "a", reason: "already had it" },
        { repId: "b", reason: "already had it" },
      ],
      rotation: { a: 5, c: 0, d: 0 },
    });
    // Without an sla section the default is both.
    expect(escalate(base, routing(undefined))).toEqual(result);
  });

  it("with lead: keeps the rep and the rotation, and mentions the lead", () => {
    const result = escalate(base, routing({ claimWithinHours: 4, escalate: "lead" }));
    expect(result).toEqual({
      repId: null,
      leadId: "lee",
      reason: "lead lee mentioned",
      skipped: [],
      rotation: { a: 5, c: -1, d: 1 },
    });
  });

  it("with reassign and nobody else eligible: no rep, no lead, and every reason", () => {
    const loads = new Map<string, RepLoad>([
      ["c", { open: 10, alertsToday: 0 }],
      ["d", { open: 12, alertsToday: 0 }],
    ]);
    const result = escalate({ ...base, loads }, routing({ claimWithinHours: 4, escalate: "reassign" }));
    expect(result).toEqual({
      repId: null,
      leadId: null,
      reason:
        "nobody else eligible (nobody eligible in pool smb (a: already had it; b: already had it; c: at capacity 10/10; d: at capacity 12/10))",
      skipped: [
        { repId: "a", reason: "already had it" },
        { repId: "b", reason: "already had it" },
        { repId: "c", reason: "at capacity 10/10" },
        { repId: "d", reason: "at capacity 12/10" },
      ],
      rotation: { a: 5, c: -1, d: 1 },
    });
  });

  it("says so when the pool has no lead", () => {
    const config = routing({ claimWithinHours: 4, escalate: "lead" });
    const result = escalate({ ...base, pool: "enterprise", currentRepId: "eve", previousRepIds: [] }, config);
    expect(result).toMatchObject({ repId: null, leadId: null, reason: "no pool lead configured" });
    // With both and no other enterprise rep: nobody else, and no lead to mention.
    const both = escalate(
      { ...base, pool: "enterprise", currentRepId: "eve", previousRepIds: [] },
      routing({ claimWithinHours: 4, escalate: "both" }),
    );
    expect(both).toMatchObject({
      repId: null,
      leadId: null,
      reason:
        "nobody else eligible (nobody eligible in pool enterprise (eve: already had it)); no pool lead configured",
    });
  });
});
