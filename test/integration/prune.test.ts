import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import type { PruneResult } from "../../src/app/jobs/prune.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import type { AccountFeatures } from "../../src/signals/account-features.ts";
import { personaMatcher } from "../../src/signals/persona.ts";
import { readAccountFeatures } from "../../src/store/account-features-query.ts";
import { personaKeys } from "../../src/store/persona-store.ts";
import { runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";
import { slackConfig, writeConfig } from "../helpers/slack-world.ts";

const DAY = 86_400_000;
// The world ends at the start of today: the CLI prunes by the real clock.
const END = new Date(Math.floor(Date.now() / DAY) * DAY);

/** Windows of at most 30 days, activity 14 (its trend reads 28): the history scoring reads is 30 days. */
const config = slackConfig((c) => {
  c.scoring.activeWindowDays = 14;
  for (const s of c.signals) s.windowDays = Math.min(s.windowDays, 30);
});

/** What scoring reads, minus the signals' previous-period counts (not scored, and cut by a prune). */
function scored(features: AccountFeatures[]) {
  return features.map((f) => ({
    ...f,
    signals: Object.fromEntries(
      Object.entries(f.signals).map(([key, s]) => [
        key,
        { count: s.count, firstAt: s.firstAt?.toISOString() },
      ]),
    ),
  }));
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(`prune on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`, () => {
    let store: TestStore;
    const file = writeConfig(tempDir(), config);
    const env = () => ({ ...store.env, PQL_CONFIG: file.path });
    const n = async (sql: string, params: unknown[] = []) =>
      (await store.db.sql.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0;
    const features = async () => {
      const ids = (await store.db.sql.query<{ id: string }>("SELECT id FROM accounts ORDER BY id")).rows.map(
        (r) => r.id,
      );
      const personas = await personaKeys(store.db, personaMatcher(config.personas));
      return readAccountFeatures(store.db, config, END, ids, personas);
    };
    const kept = () =>
      Promise.all(
        ["score_snapshots", "routing_decisions", "latest_scores", "users", "accounts", "identity_links"].map(
          (t) => n(`SELECT count(*)::int AS n FROM ${t}`),
        ),
      );

    beforeAll(async () => {
      store = await createTestStore(engine.name);
      const world = await generateWorld({
        accounts: 60,
        days: 90,
        seed: 5,
        end: END,
        out: path.join(tempDir(), "w.ndjson"),
      });
      await importFile(jobContext(store.db, config), world.file);
      await runScorePass(jobContext(store.db, config, END), { now: END, route: true });
      await release(store, engine.name);
    });
    afterAll(async () => {
      await store?.dispose();
    });

    it("refuses a cut inside the history the scoring reads, naming the flag, the value and the window", async () => {
      const run = await runCli(["prune", "--older-than", "20d"], env());
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("--older-than: 20d is shorter than the history the scoring reads: 30d");
      const bad = await runCli(["prune", "--older-than", "a year"], env());
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--older-than: expected a number of days such as 400d, got "a year"');
    });

    it("deletes old messages but keeps every score input: a full rescore after it gives the same scores", async () => {
      store = await reopen(store, engine.name);
      const before = await features();
      const messages = await n("SELECT count(*)::int AS n FROM messages");
      const keptBefore = await kept();
      const scoresBefore = (
        await store.db.sql.query<{ account_id: string; score: number; tier: string }>(
          "SELECT account_id, score, tier FROM latest_scores ORDER BY account_id",
        )
      ).rows;
      await release(store, engine.name);

      const dry = await runCli(["prune", "--older-than", "40d", "--dry-run", "--json"], env());
      expect(dry.code, dry.stderr).toBe(0);
      const would = dry.json as PruneResult;
      expect(would.dryRun).toBe(true);
      expect(would.deleted.messages).toBeGreaterThan(1000);

      const run = await runCli(["prune", "--older-than", "40d", "--json"], env());
      expect(run.code, run.stderr).toBe(0);
      const result = run.json as PruneResult;
      expect(result).toMatchObject({
        olderThanDays: 40,
        minimumDays: 30,
        heldBack: null,
        dryRun: false,
        deleted: would.deleted,
        summaries: would.summaries,
      });
      const cutoff = Date.parse(result.cutoff);
      expect(Math.abs(cutoff - (Date.now() - 40 * DAY))).toBeLessThan(10 * 60_000);

      store = await reopen(store, engine.name);
      expect(await n("SELECT count(*)::int AS n FROM messages WHERE timestamp < $1", [result.cutoff])).toBe(
        0,
      );
      expect(await n("SELECT count(*)::int AS n FROM messages")).toBe(
        messages - result.deleted.messages - result.deleted.unattributed,
      );
      expect(await n("SELECT count(*)::int AS n FROM pruned_message_times")).toBe(result.summaries);
      expect(await kept()).toEqual(keptBefore);
      // First-seen dates, each signal's first time, counts, personas: all as before.
      const after = await features();
      expect(scored(after)).toEqual(scored(before));
      expect(after.filter((f) => f.firstSeenAt && f.firstSeenAt.getTime() < cutoff).length).toBeGreaterThan(
        10,
      );

      await runScorePass(jobContext(store.db, config, END), { now: END, full: true });
      const scoresAfter = (
        await store.db.sql.query<{ account_id: string; score: number; tier: string }>(
          "SELECT account_id, score, tier FROM latest_scores ORDER BY account_id",
        )
      ).rows;
      expect(scoresAfter).toEqual(scoresBefore);
      expect(
        await n("SELECT count(*)::int AS n FROM cycle_runs WHERE kind = 'prune' AND status = 'ok'"),
      ).toBe(1);
      await release(store, engine.name);

      // Again: nothing left to delete, and the text form says what it did.
      const again = await runCli(["prune", "--older-than", "40d"], env());
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/deleted, of accounts\s+0/);
      expect(again.stdout).toContain("kept: every score snapshot, routing, claim and outcome");
      const last = await runCli(["prune", "--older-than", "40d", "--json"], env());
      expect((last.json as PruneResult).deleted).toEqual({ messages: 0, unattributed: 0 });
      const status = await runCli(["status", "--json"], env());
      expect((status.json as { prunedBefore: string }).prunedBefore).toBe((last.json as PruneResult).cutoff);
    });
  });
}

/** The embedded database admits one process: the test lets go of it while the CLI runs. */
async function release(store: TestStore, engine: string): Promise<void> {
  if (engine !== "postgres") await store.close();
}

async function reopen(store: TestStore, engine: string): Promise<TestStore> {
  if (engine === "postgres") return store;
  const { openDatabase } = await import("../../src/store/database.ts");
  const db = await openDatabase({ databaseUrl: undefined, dataDir: store.env.PQL_DATA_DIR as string });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= db.close();
    return closed;
  };
  return {
    ...store,
    db,
    close,
    dispose: async () => {
      await close();
      await store.dispose();
    },
  };
}
