import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignRoutings } from "../../src/app/jobs/assign-routings.ts";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { claimRouting } from "../../src/app/jobs/slack-actions.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { forgetAccount, forgetUser } from "../../src/store/forget.ts";
import { runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";
import { slackConfig, writeConfig } from "../helpers/slack-world.ts";

const END = new Date("2026-11-01T00:00:00Z");

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `forget (GDPR) on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      const config = writeConfig(tempDir(), slackConfig());
      const n = async (sql: string, params: unknown[] = []) =>
        (await store.db.sql.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0;

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        const world = await generateWorld({
          accounts: 120,
          days: 30,
          seed: 11,
          end: END,
          out: path.join(tempDir(), "w.ndjson"),
        });
        await importFile(jobContext(store.db, config), world.file);
        await runScorePass(jobContext(store.db, config), { now: END, route: true });
        await assignRoutings(jobContext(store.db, config, END), END);
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("erases a person: their messages, aliases and record; their account is rescored at the next pass", async () => {
        const { rows } = await store.db.sql.query<{ user_id: string; account_id: string }>(
          "SELECT user_id, account_id FROM messages WHERE user_id IS NOT NULL AND account_id IS NOT NULL ORDER BY message_id LIMIT 1",
        );
        const userId = rows[0]?.user_id as string;
        const accountId = rows[0]?.account_id as string;
        const mine = await n("SELECT count(*)::int AS n FROM messages WHERE user_id = $1", [userId]);
        const total = await n("SELECT count(*)::int AS n FROM messages");
        const snapshots = await n("SELECT count(*)::int AS n FROM score_snapshots");
        // Erased now (the store marks accounts changed at this time, after the last pass started).
        const { erased, accounts } = await forgetUser(store.db, userId, new Date());
        expect(erased.users).toBe(1);
        expect(erased.messages).toBeGreaterThanOrEqual(mine);
        expect(accounts).toContain(accountId);
        expect(
          await n("SELECT count(*)::int AS n FROM messages WHERE user_id = $1 OR anonymous_id = $1", [
            userId,
          ]),
        ).toBe(0);
        expect(await n("SELECT count(*)::int AS n FROM users WHERE id = $1", [userId])).toBe(0);
        // Nothing else: every other message and every snapshot is still there.
        expect(await n("SELECT count(*)::int AS n FROM messages")).toBe(total - (erased.messages ?? 0));
        expect(await n("SELECT count(*)::int AS n FROM score_snapshots")).toBe(snapshots);
        // The next (incremental) pass rescores the account without them.
        const pass = await runScorePass(jobContext(store.db, config), {
          now: new Date(END.getTime() + 120_000),
        });
        expect(pass.mode).toBe("incremental");
        const { rows: latest } = await store.db.sql.query<{ as_of: Date }>(
          "SELECT as_of FROM score_snapshots WHERE account_id = $1 ORDER BY as_of DESC LIMIT 1",
          [accountId],
        );
        expect(new Date(latest[0]?.as_of as Date).getTime()).toBe(END.getTime() + 120_000);
      });

      it("erases a company: messages, record, scores, routings with their claims and feedback, match and outcome", async () => {
        const { rows } = await store.db.sql.query<{ id: string; account_id: string }>(
          "SELECT id::text, account_id FROM routing_decisions WHERE rep_id IS NOT NULL ORDER BY id LIMIT 1",
        );
        const accountId = rows[0]?.account_id as string;
        const rep = config.config.routing.reps.find((r) => r.slackUserId && r.pools.length === 3);
        const claimed = await claimRouting(jobContext(store.db, config), BigInt(rows[0]?.id as string), {
          slackUserId: (rep ?? config.config.routing.managers[0])?.slackUserId as string,
        });
        expect(claimed.kind).toBe("done");
        const others = await n("SELECT count(*)::int AS n FROM accounts WHERE id <> $1", [accountId]);
        const users = await n("SELECT count(*)::int AS n FROM users WHERE account_id = $1", [accountId]);
        const { erased } = await forgetAccount(store.db, accountId);
        expect(erased).toMatchObject({
          accounts: 1,
          routing_decisions: 1,
          claims: 1,
          routing_feedback: 1,
          users_detached: users,
        });
        expect(erased.messages).toBeGreaterThan(0);
        expect(erased.score_snapshots).toBeGreaterThan(0);
        for (const table of [
          "messages",
          "score_snapshots",
          "routing_decisions",
          "outcomes",
          "hubspot_companies",
        ])
          expect(
            await n(`SELECT count(*)::int AS n FROM ${table} WHERE account_id = $1`, [accountId]),
            table,
          ).toBe(0);
        expect(await n("SELECT count(*)::int AS n FROM accounts WHERE id <> $1", [accountId])).toBe(others);
        // Twice: nothing left to erase.
        expect(Object.values((await forgetAccount(store.db, accountId)).erased).every((v) => v === 0)).toBe(
          true,
        );
      });

      it("the CLI needs exactly one of --user or --account", async () => {
        const run = await runCli(["forget"], { ...store.env, PQL_CONFIG: config.path });
        expect(run.code).toBe(2);
        expect(run.stderr).toContain("exactly one of --user ID or --account ID");
      });
    },
  );
}
