import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { systemClock } from "../../src/clock.ts";
import { attributeMessages, storeMessages } from "../../src/store/message-store.ts";
import { readStatus } from "../../src/store/status.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import {
  createTestStore,
  ENGINES,
  postgresAvailable,
  SKIP_PG_REASON,
  type TestStore,
} from "../helpers/databases.ts";

const MIXED = path.join(ROOT, "test/fixtures/mixed.ndjson");
const CSV = path.join(ROOT, "test/fixtures/events.csv");
const MIXED_REJECTED = [
  { line: 6, reason: expect.stringMatching(/^bad JSON: /) },
  { line: 7, reason: "track without a string event (event: missing)" },
  { line: 9, reason: 'unknown type "signup", expected one of track, identify, group, page, screen, alias' },
  { line: 10, reason: "not a JSON object" },
  { line: 14, reason: 'unparseable timestamp "not a date"' },
  { line: 15, reason: "group without groupId (groupId: missing)" },
  { line: 17, reason: expect.stringMatching(/^message is 330\d\d bytes, over the 32 KB limit$/) },
];

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(`import on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`, () => {
    let store: TestStore;
    beforeAll(async () => {
      store = await createTestStore(engine.name);
    });
    afterAll(async () => {
      await store?.dispose();
    });
    const load = (file: string, batchSize = 3) =>
      importFile({ db: store.db, clock: systemClock }, file, { batchSize });

    it("stores every valid line of a file with bad and duplicate lines, naming each bad line", async () => {
      const summary = await load(MIXED);
      expect(summary).toEqual({ accepted: 8, duplicates: 1, rejected: MIXED_REJECTED });
    });

    it("stores nothing twice when the same file is imported again", async () => {
      const summary = await load(MIXED, 100);
      expect(summary).toEqual({ accepted: 0, duplicates: 9, rejected: MIXED_REJECTED });
      const status = await readStatus(store.db);
      expect(status.messages).toBe(8);
    });

    it("builds accounts and users from group and identify calls, newest trait wins", async () => {
      const account = await store.db.prisma.account.findUniqueOrThrow({ where: { id: "acct_1" } });
      expect(account).toMatchObject({
        name: "Acme Robotics",
        domain: "acme-robotics.example",
        employees: 500,
        industry: "Technology",
        region: "NA",
        plan: "trial",
        techStack: ["BambooHR", "Slack"],
      });
      const user = await store.db.prisma.user.findUniqueOrThrow({ where: { id: "u1" } });
      expect(user).toMatchObject({
        email: "ana@acme-robotics.example",
        title: "HR Manager",
        accountId: "acct_1",
      });
      expect(user.traits).toMatchObject({ title: "HR Manager", phone: "555" });
      expect(await store.db.prisma.user.findUniqueOrThrow({ where: { id: "u3" } })).toMatchObject({
        accountId: "acct_1",
      });
    });

    it("gives a call without context.groupId the account of its user, or of the user its anonymousId became", async () => {
      const { rows } = await store.db.sql.query<{ message_id: string; account_id: string | null }>(
        "SELECT message_id, account_id FROM messages ORDER BY message_id",
      );
      expect(Object.fromEntries(rows.map((r) => [r.message_id, r.account_id]))).toEqual({
        a1: null,
        g1: "acct_1",
        g3: "acct_1",
        i0: "acct_1",
        i1: "acct_1",
        p0: "acct_1",
        t1: "acct_1",
        t2: "acct_1",
      });
    });

    it("resolves earlier calls when the user's first group call arrives in a later batch", async () => {
      const lines = [
        {
          type: "track",
          messageId: "late-1",
          userId: "late",
          event: "Report Run",
          timestamp: "2026-10-01T00:00:00Z",
        },
        { type: "identify", messageId: "late-2", userId: "late", timestamp: "2026-10-01T00:00:01Z" },
        {
          type: "group",
          messageId: "late-3",
          userId: "late",
          groupId: "acct_late",
          timestamp: "2026-10-02T00:00:00Z",
        },
      ];
      const { parseSegmentMessage } = await import("../../src/signals/segment-message.ts");
      for (const line of lines) {
        const parsed = parseSegmentMessage(line, { receivedAt: new Date() });
        if (!parsed.ok) throw new Error(parsed.reason);
        await storeMessages(store.db, [parsed.message]);
      }
      const { rows } = await store.db.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM messages WHERE user_id = 'late' AND account_id = 'acct_late'",
      );
      expect(rows[0]?.n).toBe(3);
    });

    it("attributes a message left without an account once its alias is known (the scoring pass's sweep)", async () => {
      // As if another process stored it while the alias of anon-9 (to u3, of acct_1) was in flight.
      await store.db.sql.query(
        `INSERT INTO messages (message_id, type, anonymous_id, event, timestamp, received_at, payload)
        VALUES ('orphan-1', 'page', 'anon-9', '/pricing', now(), now(), '{}')`,
      );
      expect(await attributeMessages(store.db, new Date(Date.now() + 60_000))).toBe(0);
      expect(await attributeMessages(store.db, null)).toBe(1);
      const { rows } = await store.db.sql.query<{ account_id: string }>(
        "SELECT account_id FROM messages WHERE message_id = 'orphan-1'",
      );
      expect(rows[0]?.account_id).toBe("acct_1");
      await store.db.sql.query("DELETE FROM messages WHERE message_id = 'orphan-1'");
    });

    it("imports CSV with documented columns, reporting bad rows by line", async () => {
      const summary = await load(CSV);
      expect(summary).toEqual({
        accepted: 4,
        duplicates: 0,
        rejected: [
          { line: 7, reason: "track without a string event (event: missing)" },
          { line: 8, reason: "column traits: not valid JSON: {broken" },
        ],
      });
      const account = await store.db.prisma.account.findUniqueOrThrow({ where: { id: "acct_9" } });
      expect(account).toMatchObject({ name: "Beta Health", employees: 1200 });
      const { rows } = await store.db.sql.query<{ payload: { properties: Record<string, unknown> } }>(
        "SELECT payload FROM messages WHERE message_id = 'ct1'",
      );
      expect(rows[0]?.payload.properties).toEqual({ count: 3 });
    });

    it("runs as the real CLI: a table for people, the exact JSON summary as the last line with --json", async () => {
      await store.close(); // the CLI is another process: it must be able to open the database
      const json = await runCli(["import", MIXED, "--json"], store.env);
      expect(json.stderr).toBe("");
      expect(json.code).toBe(0);
      expect(json.json).toEqual({ accepted: 0, duplicates: 9, rejected: MIXED_REJECTED });
      const text = await runCli(["import", CSV], store.env);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain("0 accepted, 4 duplicates, 2 rejected");
      expect(text.stdout).toMatch(/│\s+8 │ column traits: not valid JSON: \{broken/);
      const status = await runCli(["status", "--json"], store.env);
      expect(status.json).toMatchObject({
        messages: 15,
        accounts: 3,
        users: 4,
        firstEventAt: "2026-09-01T00:00:00.000Z",
        lastEventAt: "2026-10-05T10:01:00.000Z",
      });
    });
  });
}

describe.skipIf(!postgresAvailable)(
  `concurrent writers on PostgreSQL${postgresAvailable ? "" : ` (${SKIP_PG_REASON})`}`,
  () => {
    it("store each message exactly once when two processes' batches overlap", async () => {
      const store = await createTestStore("postgres");
      const { openDatabase } = await import("../../src/store/database.ts");
      const { parseSegmentMessage } = await import("../../src/signals/segment-message.ts");
      const other = await openDatabase({ databaseUrl: store.env.DATABASE_URL, dataDir: "" });
      try {
        const message = (i: number) => {
          const parsed = parseSegmentMessage(
            {
              type: "track",
              messageId: `c-${i}`,
              userId: `u-${i % 7}`,
              event: "Report Run",
              context: { groupId: "acct_c" },
            },
            { receivedAt: new Date("2026-10-01T00:00:00Z") },
          );
          if (!parsed.ok) throw new Error(parsed.reason);
          return parsed.message;
        };
        // Two writers, each with its own connection pool, over ranges that overlap by half.
        const a = Array.from({ length: 400 }, (_, i) => message(i));
        const b = Array.from({ length: 400 }, (_, i) => message(i + 200));
        const results = await Promise.all([
          ...[0, 100, 200, 300].map((k) => storeMessages(store.db, a.slice(k, k + 100))),
          ...[0, 100, 200, 300].map((k) => storeMessages(other, b.slice(k, k + 100))),
        ]);
        const accepted = results.reduce((sum, r) => sum + r.accepted, 0);
        const duplicates = results.reduce((sum, r) => sum + r.duplicates, 0);
        expect(accepted).toBe(600);
        expect(duplicates).toBe(200);
        const { rows } = await store.db.sql.query<{ n: number; distinct_ids: number }>(
          "SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct_ids FROM messages",
        );
        expect(rows[0]).toEqual({ n: 600, distinct_ids: 600 });
      } finally {
        await other.close();
        await store.dispose();
      }
    });
  },
);
