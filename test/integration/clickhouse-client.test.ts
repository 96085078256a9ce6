import net from "node:net";
import { inspect } from "node:util";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Clickhouse,
  ClickhouseError,
  openClickhouse,
} from "../../src/integrations/clickhouse/clickhouse-client.ts";
import { chIdentifier, chString } from "../../src/integrations/clickhouse/literals.ts";
import {
  CLICKHOUSE_URL,
  clickhouseAvailable,
  createClickhouseDatabase,
  createShardedTable,
  SHARD_DATABASES,
  SKIP_CLICKHOUSE_REASON,
  type TestClickhouseDatabase,
} from "../helpers/clickhouse.ts";

const PASSWORD = "S3cret-Pa55word";
const USER = "pqlr_secret_user";

/** A pino logger writing into `lines`, at debug level: everything the wrapper logs. */
function capturingLog(lines: string[]) {
  return pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
}

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The ClickhouseError that `work` fails with. */
async function failure(work: () => Promise<unknown>): Promise<ClickhouseError> {
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClickhouseError);
  return error as ClickhouseError;
}

/** `url` with a user name and password in it. */
function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

describe.skipIf(!clickhouseAvailable)(
  `ClickHouse client wrapper${clickhouseAvailable ? "" : ` (${SKIP_CLICKHOUSE_REASON})`}`,
  () => {
    let db: TestClickhouseDatabase;
    let ch: Clickhouse;
    let table: string;

    beforeAll(async () => {
      db = await createClickhouseDatabase("pqlr_client");
      ch = openClickhouse(db.url);
      table = `${chIdentifier(db.database)}.${chIdentifier("events")}`;
      await ch.exec(
        `CREATE TABLE ${table} (account_id String, event String, timestamp_ms Int64) ENGINE = MergeTree ORDER BY (account_id, timestamp_ms)`,
      );
    });

    afterAll(async () => {
      await ch?.close();
      await db?.drop();
    });

    it("inserts and queries rows; the URL's path is the default database", async () => {
      await ch.insert(table, [
        { account_id: "a1", event: "Signup", timestamp_ms: 1706933106789 },
        { account_id: "a2", event: "Invite Sent", timestamp_ms: 1706933106790 },
      ]);
      await ch.insert(table, []);
      const rows = await ch.query<{ account_id: string; timestamp_ms: string }>(
        "SELECT account_id, timestamp_ms FROM events ORDER BY account_id",
      );
      // JSONEachRow quotes 64-bit integers.
      expect(rows).toEqual([
        { account_id: "a1", timestamp_ms: "1706933106789" },
        { account_id: "a2", timestamp_ms: "1706933106790" },
      ]);
      await ch.exec(
        `INSERT INTO ${table} SELECT 'a3', 'Copied', timestamp_ms FROM ${table} WHERE account_id = 'a1'`,
      );
      const [count] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${table}`);
      expect(count?.n).toBe("3");
    });

    it("insert takes only a table name, never more SQL", async () => {
      for (const bad of ["events; DROP TABLE events", "events FORMAT CSV", "a.b.c", "", "`unclosed"]) {
        const error = await failure(() => ch.insert(bad, [{ account_id: "x" }]));
        expect(error.category).toBe("other");
      }
      await ch.insert(`${chIdentifier(db.database)}.events`, [
        { account_id: "a4", event: "Ok", timestamp_ms: 1 },
      ]);
    });

    it("classifies errors by ClickHouse's error code", async () => {
      const missingTable = await failure(() => ch.query(`SELECT 1 FROM ${chIdentifier(db.database)}.nope`));
      expect([missingTable.category, missingTable.serverCode]).toEqual(["missing-table", 60]);
      expect(missingTable.code).toBe("clickhouse_missing_table");
      expect(missingTable.hint).toMatch(/table name/);

      const missingColumn = await failure(() => ch.query(`SELECT nope FROM ${table}`));
      expect([missingColumn.category, missingColumn.serverCode]).toEqual(["missing-column", 47]);

      const missingDatabase = await failure(() => ch.query("SELECT 1 FROM pqlr_no_such_database.events"));
      expect([missingDatabase.category, missingDatabase.serverCode]).toEqual(["missing-database", 81]);

      const syntax = await failure(() => ch.exec("SELEC 1"));
      expect([syntax.category, syntax.serverCode]).toEqual(["other", 62]);

      // A message that looks like another code must not fool the classification.
      const tricky = await failure(() =>
        ch.query(`SELECT throwIf(1, ${chString("Code: 60, (UNKNOWN_TABLE)")})`),
      );
      expect(tricky.category).toBe("other");
    });

    it("a closed port and a slow answer are unreachable", async () => {
      const port = await closedPort();
      const down = openClickhouse(`http://127.0.0.1:${port}`);
      const refused = await failure(() => down.query("SELECT 1"));
      expect([refused.category, refused.serverCode]).toEqual(["unreachable", undefined]);
      await down.close();

      const impatient = openClickhouse(CLICKHOUSE_URL as string, { timeoutMs: 300 });
      const slow = await failure(() => impatient.query("SELECT sleep(2)"));
      expect(slow.category).toBe("unreachable");
      expect(slow.message).toMatch(/within 0.3 s/);
      await impatient.close();
    });

    it("a readonly=1 user can read: no settings are sent with reads", async ({ skip }) => {
      const reader = openClickhouse(withCredentials(db.url, "pqlr_readonly", ""));
      try {
        const rows = await reader.query<{ n: string }>(`SELECT count() AS n FROM ${table}`);
        expect(Number(rows[0]?.n)).toBeGreaterThan(0);
      } catch (error) {
        // 192 UNKNOWN_USER: a server not started by scripts/clickhouse-server.sh.
        if (error instanceof ClickhouseError && error.serverCode === 192) skip("no user pqlr_readonly here");
        throw error;
      } finally {
        await reader.close();
      }
    });

    it("never shows the URL's user name or password in an error or a log line", async () => {
      const lines: string[] = [];
      const log = capturingLog(lines);
      const port = await closedPort();
      const base = new URL(CLICKHOUSE_URL as string);
      const attempts: ClickhouseError[] = [];

      // The server refuses the password (193), or the user (192 or 516, by version).
      for (const user of ["default", USER]) {
        const wrong = openClickhouse(withCredentials(base.toString(), user, PASSWORD), { log });
        attempts.push(await failure(() => wrong.query("SELECT 1")));
        attempts.push(await failure(() => wrong.insert("events", [{ a: 1 }])));
        await wrong.close();
      }
      // Nothing answers.
      const down = openClickhouse(`http://${USER}:${PASSWORD}@127.0.0.1:${port}/db`, { log });
      attempts.push(await failure(() => down.exec("SELECT 1")));
      await down.close();
      // Not a URL at all.
      attempts.push(await failure(async () => openClickhouse(`http://${USER}:${PASSWORD}@[::1`)));

      expect(attempts.map((e) => e.serverCode)).toContain(193);
      expect(attempts.some((e) => e.category === "unreachable")).toBe(true);
      for (const error of attempts) {
        const shown = `${error.message}\n${inspect(error, { depth: 5 })}\n${JSON.stringify(error)}`;
        expect(shown).not.toContain(PASSWORD);
        expect(shown).not.toContain(USER);
      }
      for (const line of lines) {
        expect(line).not.toContain(PASSWORD);
        expect(line).not.toContain(USER);
      }
    });

    it("createShardedTable: the Distributed table reads each shard once and spreads inserts", async () => {
      const sharded = await createShardedTable(db.database, "spread", "account_id String, n UInt32", "n");
      await ch.insert(
        sharded.table,
        [1, 2, 3, 4, 5, 6].map((n) => ({ account_id: `a${n}`, n })),
      );
      const counts = await Promise.all(
        sharded.shardTables.map(async (t) =>
          Number((await ch.query<{ c: string }>(`SELECT count() AS c FROM ${t}`))[0]?.c),
        ),
      );
      // n % 2 picks the shard: odd n to shard 2, even n to shard 1.
      expect(counts).toEqual([3, 3]);
      // A row written to one shard's table directly is read once, from that shard only.
      await ch.insert(sharded.shardTables[0], [{ account_id: "direct", n: 100 }]);
      const [total] = await ch.query<{ c: string; s: string }>(
        `SELECT count() AS c, sum(n) AS s FROM ${sharded.table}`,
      );
      expect(total).toEqual({ c: "7", s: "121" });
      await sharded.drop();
      const left = await ch.query(
        `SELECT name FROM system.tables WHERE database IN ('${SHARD_DATABASES.join("', '")}') AND name = ${chString(`${db.database}_spread`)}`,
      );
      expect(left).toEqual([]);
    });
  },
);
