import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rankedAccounts, tierCounts } from "../../src/store/score-store.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore } from "../helpers/databases.ts";

const T0 = Date.parse("2026-10-01T00:00:00Z");
const day = (n: number) => new Date(T0 + n * 86_400_000).toISOString();
const TIERS = ["cold", "warm", "hot"];

/** The brute-force answer: each account's newest snapshot (as_of, then id) at or before `asOf`. */
const BRUTE = `SELECT DISTINCT ON (account_id) account_id, id::text AS snapshot_id, tier, score
  FROM score_snapshots WHERE as_of <= $1::timestamptz ORDER BY account_id, as_of DESC, id DESC`;

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `current scores (latest_scores) on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      const q = async <R>(sql: string, params: unknown[] = []) =>
        (await store.db.sql.query<R>(sql, params)).rows;
      const insert = (rows: [account: string, asOfDay: number, tier: string, score: number][]) =>
        q(
          `INSERT INTO score_snapshots (account_id, as_of, score, tier, pqr, components, reasons, features, config_version)
          SELECT r.a, r.t, r.s, r.tier, 0, '{}', '[]', '{}', 'v1'
          FROM jsonb_to_recordset($1::jsonb) AS r(a text, t timestamptz, tier text, s float8)`,
          [JSON.stringify(rows.map(([a, d, tier, s]) => ({ a, t: day(d), tier, s })))],
        );
      const current = () =>
        q<{ account_id: string; snapshot_id: string; tier: string; score: number }>(
          "SELECT account_id, snapshot_id::text, tier, score FROM latest_scores ORDER BY account_id",
        );

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        await q("INSERT INTO accounts (id) SELECT 'a' || g FROM generate_series(1, 30) g");
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("holds each account's newest snapshot, whatever order snapshots arrive in, and follows deletes", async () => {
        await insert([["a1", 5, "warm", 50]]);
        await insert([["a1", 2, "hot", 90]]); // older: a replay of the past does not become current
        await insert([
          ["a2", 1, "cold", 10],
          ["a2", 3, "hot", 80], // one statement, two snapshots: the newer wins
        ]);
        expect((await current()).map((r) => [r.account_id, r.tier, r.score])).toEqual([
          ["a1", "warm", 50],
          ["a2", "hot", 80],
        ]);
        await insert([["a2", 3, "warm", 60]]); // same as_of: the later snapshot (higher id) wins
        expect((await current()).find((r) => r.account_id === "a2")?.score).toBe(60);

        await q("DELETE FROM score_snapshots WHERE account_id = 'a1' AND as_of = $1", [day(5)]);
        expect((await current()).find((r) => r.account_id === "a1")).toMatchObject({
          tier: "hot",
          score: 90,
        });
        await q("DELETE FROM score_snapshots WHERE account_id = 'a2'");
        expect((await current()).map((r) => r.account_id)).toEqual(["a1"]);
        await q("DELETE FROM score_snapshots WHERE account_id = 'a1'");
        await q("DELETE FROM accounts WHERE id = 'a1'");
        expect(await current()).toEqual([]);
      });

      it("refuses to update a snapshot in place (a new snapshot is written instead)", async () => {
        await insert([["a3", 1, "warm", 40]]);
        await expect(q("UPDATE score_snapshots SET tier = 'hot' WHERE account_id = 'a3'")).rejects.toThrow(
          /written once/,
        );
        expect((await current()).find((r) => r.account_id === "a3")?.tier).toBe("warm");
      });

      it("agrees with the history after random inserts and deletes, now and as of any past day", async () => {
        let seed = 7;
        const random = () => {
          seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
          return seed / 2_147_483_648;
        };
        const accounts = Array.from({ length: 28 }, (_, i) => `a${i + 3}`);
        for (let round = 0; round < 12; round++) {
          const rows: [string, number, string, number][] = [];
          for (let i = 0; i < 25; i++) {
            const a = accounts[Math.floor(random() * accounts.length)] as string;
            rows.push([
              a,
              Math.floor(random() * 20),
              TIERS[Math.floor(random() * 3)] as string,
              round * 100 + i,
            ]);
          }
          await insert(rows);
          if (round % 3 === 2) {
            await q(
              "DELETE FROM score_snapshots WHERE id IN (SELECT id FROM score_snapshots ORDER BY random() LIMIT 10)",
            );
          }
        }
        const brute = await q<{ account_id: string; snapshot_id: string; tier: string; score: number }>(
          BRUTE,
          ["infinity"],
        );
        expect(brute.length).toBeGreaterThan(20);
        expect(await current()).toEqual(brute);

        // The shared fragment (counts, rankings) as of the past matches the history too.
        for (const d of [0, 4, 9, 15, 30]) {
          const asOf = new Date(day(d));
          const expected = await q<{ account_id: string; tier: string; score: number }>(BRUTE, [
            asOf.toISOString(),
          ]);
          const counts: Record<string, number> = {};
          for (const r of expected) counts[r.tier] = (counts[r.tier] ?? 0) + 1;
          expect(await tierCounts(store.db, asOf)).toEqual(counts);
          const ranked = await rankedAccounts(store.db, asOf);
          expect(ranked.map((r) => r.accountId).sort()).toEqual(expected.map((r) => r.account_id).sort());
          const byId = new Map(expected.map((r) => [r.account_id, r.score]));
          for (const r of ranked) expect(r.score).toBe(byId.get(r.accountId));
        }
      });
    },
  );
}
