import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { systemClock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { readOutcomesCsv } from "../../src/signals/outcomes-csv.ts";
import { storeOutcomes } from "../../src/store/outcome-store.ts";
import { rankedAccounts } from "../../src/store/score-store.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";

const config = loadConfig(path.join(ROOT, "pql-router.config.yaml"));
const END = new Date("2026-11-01T00:00:00Z");
const EARLY = new Date("2026-10-24T00:00:00Z");
const dir = tempDir();
let world: { early: string; late: string; outcomes: string };

beforeAll(async () => {
  // One world, split in time: what was known at EARLY, and what arrived after.
  const generated = await generateWorld({
    accounts: 120,
    days: 30,
    seed: 31,
    end: END,
    out: path.join(dir, "world.ndjson"),
  });
  const lines = fs.readFileSync(generated.file, "utf8").trimEnd().split("\n");
  const early = lines.filter((l) => (JSON.parse(l).timestamp as string) <= EARLY.toISOString());
  const late = lines.filter((l) => (JSON.parse(l).timestamp as string) > EARLY.toISOString());
  world = {
    early: path.join(dir, "early.ndjson"),
    late: path.join(dir, "late.ndjson"),
    outcomes: generated.outcomesFile,
  };
  fs.writeFileSync(world.early, `${early.join("\n")}\n`);
  fs.writeFileSync(world.late, `${late.join("\n")}\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const rankings = new Map<string, { accountId: string; score: number; tier: string }[]>();

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `scoring on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      beforeAll(async () => {
        store = await createTestStore(engine.name);
      });
      afterAll(async () => {
        await store?.dispose();
      });
      const load = (file: string) => importFile({ db: store.db, clock: systemClock }, file);
      const snapshotsOf = async (cycleRunId: number) => {
        const { rows } = await store.db.sql.query<{
          account_id: string;
          score: number;
          tier: string;
          pqr: string;
        }>(
          "SELECT account_id, score, tier, pqr::text FROM score_snapshots WHERE cycle_run_id = $1 ORDER BY account_id",
          [cycleRunId],
        );
        return rows;
      };
      const lastRunId = async () => {
        const { rows } = await store.db.sql.query<{ id: string }>(
          "SELECT max(id)::text AS id FROM cycle_runs WHERE status = 'ok'",
        );
        return Number(rows[0]?.id);
      };

      it("scores every account on a first (full) pass, as of a given time", async () => {
        await load(world.early);
        const result = await runScorePass(jobContext(store.db, config), { now: EARLY });
        const known = new Set(fs.readFileSync(world.early, "utf8").match(/acct_\d{6}/g)).size;
        expect(known).toBeGreaterThan(50);
        expect(known).toBeLessThan(120);
        expect(result).toMatchObject({
          mode: "full",
          accounts: known,
          scored: known,
          asOf: EARLY.toISOString(),
        });
        expect(result.tiers.hot + result.tiers.warm + result.tiers.cold).toBe(known);
        expect(result.changes.firstScored).toBe(known);
      });

      it("re-scores nothing when nothing changed", async () => {
        const result = await runScorePass(jobContext(store.db, config), { now: EARLY });
        expect(result).toMatchObject({ mode: "incremental", scored: 0 });
      });

      it("makes an incremental pass equal to a full pass", async () => {
        await load(world.late);
        const incremental = await runScorePass(jobContext(store.db, config), { now: END });
        expect(incremental.mode).toBe("incremental");
        expect(incremental.scored).toBeGreaterThan(0);
        const afterIncremental = await rankedAccounts(store.db, END);
        await runScorePass(jobContext(store.db, config), { now: END, full: true });
        const full = await rankedAccounts(store.db, END);
        expect(afterIncremental.map((a) => [a.accountId, a.score, a.tier, a.pqr])).toEqual(
          full.map((a) => [a.accountId, a.score, a.tier, a.pqr]),
        );
        rankings.set(
          engine.name,
          full.map(({ accountId, score, tier }) => ({ accountId, score, tier })),
        );
      });

      it("scores a past date from the data before it only, whatever arrived since", async () => {
        const { rows } = await store.db.sql.query<{ id: string }>(
          "SELECT min(id)::text AS id FROM cycle_runs WHERE status = 'ok' AND kind = 'score'",
        );
        const before = await snapshotsOf(Number(rows[0]?.id));
        const again = await runScorePass(jobContext(store.db, config), { now: EARLY });
        expect(again.mode).toBe("full");
        expect(await snapshotsOf(await lastRunId())).toEqual(before);
      });

      it("hot converts more than warm, and warm more than cold, against the world's outcomes", async () => {
        const outcomes = (await readOutcomesCsv(world.outcomes)).rows;
        await storeOutcomes(store.db, outcomes, "sample");
        const converted = new Set(outcomes.filter((o) => o.converted).map((o) => o.accountId));
        const ranked = await rankedAccounts(store.db, END);
        const rate = (tier: string) => {
          const inTier = ranked.filter((a) => a.tier === tier);
          return inTier.filter((a) => converted.has(a.accountId)).length / inTier.length;
        };
        // Every tier holds accounts, so each rate is a real fraction, not 0/0.
        for (const tier of ["hot", "warm", "cold"])
          expect(
            ranked.some((a) => a.tier === tier),
            tier,
          ).toBe(true);
        expect(rate("hot")).toBeGreaterThan(rate("warm"));
        expect(rate("warm")).toBeGreaterThan(rate("cold"));
        expect(ranked.every((a) => a.reasons.length > 0)).toBe(true);
      });

      it("explains an account with components that add up to its score, top contribution first in the reasons", async () => {
        await store.close(); // the CLI is another process
        const score = await runCli(["score", "--at", END.toISOString(), "--json"], store.env);
        expect(score.code).toBe(0);
        const listed = score.json as {
          accounts: { accountId: string; domain: string; score: number; reasons: string[] }[];
        };
        expect(listed.accounts).toHaveLength(120);
        const top = listed.accounts[0] as (typeof listed.accounts)[number];
        const explained = await runCli(
          ["explain", top.domain, "--at", END.toISOString(), "--json"],
          store.env,
        );
        expect(explained.code).toBe(0);
        const e = explained.json as {
          accountId: string;
          score: number;
          components: { name: string; contribution: number }[];
          reasons: string[];
          trend: { score: number }[];
        };
        expect(e.accountId).toBe(top.accountId);
        expect(e.score).toBe(top.score);
        expect(e.components.reduce((s, c) => s + c.contribution, 0)).toBeCloseTo(e.score, 6);
        expect(e.reasons).toEqual(top.reasons);
        expect(e.trend[0]?.score).toBe(top.score);
        const strongest = [...e.components].sort((a, b) => b.contribution - a.contribution)[0]?.name;
        const sayings: Record<string, RegExp> = {
          adoptionDepth: /^(sent|ran|scheduled|configured|invited|imported|launched|opened) /,
          intent: /^(visited pricing|clicked upgrade|read the API|explored admin)/,
          personas: /^\d+ personas? active/,
          activation: /activation milestones/,
          icpFit: /^ICP fit/,
          usageVolume: /^added \d+ candidates/,
          activeUsers: /^\d+ active users?/,
          integrations: /^connected/,
        };
        expect(e.reasons[0]).toMatch(sayings[strongest ?? ""] as RegExp);
        const text = await runCli(["score", "--at", END.toISOString(), "--limit", "5"], store.env);
        expect(text.stdout).toContain(
          `scored 0 of 120 accounts as of ${END.toISOString()} (incremental pass`,
        );
        expect(text.stdout).toMatch(/│\s+1 │ .+ │ (hot|warm|cold) +│ +\d+\.\d │ +\$[\d,]+ │ .+ │/);
        expect(text.stdout).toContain("... 115 more (--limit N, or --json for all)");
        const evaluation = await runCli(["evaluate", "--at", END.toISOString(), "--json"], store.env);
        expect(evaluation.json).toMatchObject({ accounts: 120, auc: expect.any(Number) });
      });
    },
  );
}

describe.skipIf(ENGINES.some((e) => e.skip))("both engines", () => {
  it("rank the same world identically", () => {
    expect(rankings.get("embedded")).toHaveLength(120);
    expect(rankings.get("postgres")).toEqual(rankings.get("embedded"));
  });
});
