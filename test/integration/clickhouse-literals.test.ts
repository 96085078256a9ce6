import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Clickhouse,
  ClickhouseError,
  openClickhouse,
} from "../../src/integrations/clickhouse/clickhouse-client.ts";
import {
  chDateTime,
  chDateTime64,
  chEpochMs,
  chIdentifier,
  chNumber,
  chString,
  chStringArray,
} from "../../src/integrations/clickhouse/literals.ts";
import {
  clickhouseAvailable,
  createClickhouseDatabase,
  createShardedTable,
  SKIP_CLICKHOUSE_REASON,
  type TestClickhouseDatabase,
  type TestShardedTable,
} from "../helpers/clickhouse.ts";

/** Values that break naive quoting, each of which must come back byte for byte. */
const HOSTILE = [
  "",
  "plain",
  "it's",
  "''",
  "\\",
  "ends with a backslash\\",
  "\\'",
  "\\\\'",
  "'; DROP TABLE events; --",
  "' OR '1'='1",
  "a\u0000b",
  "\u0000",
  "\u00001",
  "line\nbreak\r\nand\ttab",
  "\\x00 \\n \\0 typed out",
  "`backquoted`",
  '"double"',
  "😀 emoji and 𝄞 clef",
  "שלום עולם",
  "\u202Eevil right-to-left override",
  "e\u0301 combining, \u2028 line separator, \uFEFF BOM",
  "{name:String} and $1 and ?",
  `${Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("")}\u007f`,
  "x".repeat(10_000),
];

const rows = HOSTILE.map((s, id) => ({ id, s }));

describe.skipIf(!clickhouseAvailable)(
  `ClickHouse literals on the real server${clickhouseAvailable ? "" : ` (${SKIP_CLICKHOUSE_REASON})`}`,
  () => {
    let db: TestClickhouseDatabase;
    let ch: Clickhouse;
    let sharded: TestShardedTable;
    let local: string;
    let version: string;

    beforeAll(async () => {
      db = await createClickhouseDatabase("pqlr_literals");
      ch = openClickhouse(db.url);
      local = `${chIdentifier(db.database)}.${chIdentifier("strings")}`;
      await ch.exec(`CREATE TABLE ${local} (id UInt32, s String) ENGINE = MergeTree ORDER BY id`);
      await ch.insert(local, rows);
      sharded = await createShardedTable(db.database, "strings_dist", "id UInt32, s String", "id");
      await ch.insert(sharded.table, rows);
      [{ version = "" } = {}] = await ch.query<{ version: string }>("SELECT version() AS version");
    });

    afterAll(async () => {
      await sharded?.drop();
      await ch?.close();
      await db?.drop();
    });

    it("the client's insert stores every hostile string as it is", async () => {
      const back = await ch.query<{ id: number; s: string }>(`SELECT id, s FROM ${local} ORDER BY id`);
      expect(back).toEqual(rows);
    });

    it("chString selects each one, and only it, by equality", async () => {
      for (const { id, s } of rows) {
        const found = await ch.query<{ id: number; s: string }>(
          `SELECT id, s FROM ${local} WHERE s = ${chString(s)}`,
        );
        expect(found, JSON.stringify(s.slice(0, 40))).toEqual([{ id, s }]);
      }
    });

    it("chString alone reads back as the same text, and length in bytes agrees", async () => {
      for (const s of HOSTILE) {
        const [row] = await ch.query<{ v: string; bytes: string }>(
          `SELECT ${chString(s)} AS v, length(${chString(s)}) AS bytes`,
        );
        expect(row?.v).toBe(s);
        expect(Number(row?.bytes)).toBe(Buffer.byteLength(s, "utf8"));
      }
    });

    it("chStringArray matches with has(), the empty list included", async () => {
      const all = await ch.query<{ id: number }>(
        `SELECT id FROM ${local} WHERE has(${chStringArray(HOSTILE)}, s) ORDER BY id`,
      );
      expect(all.map((r) => r.id)).toEqual(rows.map((r) => r.id));
      const some = await ch.query<{ id: number }>(
        `SELECT id FROM ${local} WHERE has(${chStringArray(["it's", "a\u0000b", "nope"])}, s) ORDER BY id`,
      );
      expect(some.map((r) => r.id)).toEqual([2, 10]);
      const none = await ch.query<{ n: string }>(
        `SELECT count() AS n FROM ${local} WHERE has(${chStringArray([])}, s)`,
      );
      expect(none).toEqual([{ n: "0" }]);
    });

    it("18.16 takes no array after IN (hence has())", async ({ skip }) => {
      if (!version.startsWith("18.")) skip("only 18.x is known to reject it");
      const sql = `SELECT count() AS n FROM ${local} WHERE s IN ${chStringArray(["it's"])}`;
      const error = await ch.query(sql).catch((e: unknown) => e);
      expect((error as ClickhouseError).serverCode).toBe(53); // TYPE_MISMATCH
    });

    it("through the Distributed table: rows spread over both shards, each found once", async () => {
      const perShard = await Promise.all(
        sharded.shardTables.map((t) => ch.query<{ n: string }>(`SELECT count() AS n FROM ${t}`)),
      );
      const counts = perShard.map(([r]) => Number(r?.n));
      expect(counts.every((n) => n > 0)).toBe(true);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(rows.length);
      const [total] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${sharded.table}`);
      expect(Number(total?.n)).toBe(rows.length);
      for (const { id, s } of rows) {
        const found = await ch.query<{ id: number; s: string }>(
          `SELECT id, s FROM ${sharded.table} WHERE s = ${chString(s)}`,
        );
        expect(found, JSON.stringify(s.slice(0, 40))).toEqual([{ id, s }]);
      }
    });

    it("chNumber reads back as the same double, negatives safe after a minus", async () => {
      const numbers = [0, 1, -1, 0.1, -0.1, 1 / 3, 1e-7, 123456.789, 2.2250738585072014e-308, 1e15 + 0.5];
      numbers.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1706933106789);
      for (const n of numbers) {
        const [row] = await ch.query<{ bytes: string; minus: number }>(
          `SELECT hex(reinterpretAsString(toFloat64(${chNumber(n)}))) AS bytes, 0 -${chNumber(n)} AS minus`,
        );
        expect(row?.bytes, String(n)).toBe(doubleHex(n));
      }
      const [row] = await ch.query<{ v: number }>(`SELECT 10 -${chNumber(-5)} AS v`);
      expect(row?.v).toBe(15);
    });

    it("chEpochMs compares exactly with Int64 millisecond timestamps", async () => {
      const events = `${chIdentifier(db.database)}.${chIdentifier("events")}`;
      await ch.exec(
        `CREATE TABLE ${events} (id UInt32, timestamp_ms Int64) ENGINE = MergeTree ORDER BY timestamp_ms`,
      );
      const edge = new Date("2024-02-03T04:05:06.789Z");
      await ch.insert(events, [
        { id: 1, timestamp_ms: edge.getTime() - 1 },
        { id: 2, timestamp_ms: edge.getTime() },
        { id: 3, timestamp_ms: edge.getTime() + 1 },
      ]);
      const after = await ch.query<{ id: number }>(
        `SELECT id FROM ${events} WHERE timestamp_ms >= ${chEpochMs(edge)} ORDER BY id`,
      );
      expect(after.map((r) => r.id)).toEqual([2, 3]);
      const [shown] = await ch.query<{ t: string }>(
        `SELECT toString(toDateTime(intDiv(${chEpochMs(edge)}, 1000), 'UTC')) AS t`,
      );
      expect(shown?.t).toBe("2024-02-03 04:05:06");
    });

    it("chDateTime is the UTC second, at both ends of its range", async () => {
      for (const iso of ["1970-01-01T00:00:00Z", "2024-02-03T04:05:06Z", "2105-12-31T23:59:59Z"]) {
        const date = new Date(iso);
        const [row] = await ch.query<{ s: string }>(`SELECT toUnixTimestamp(${chDateTime(date)}) AS s`);
        expect(Number(row?.s), iso).toBe(date.getTime() / 1000);
      }
    });

    it("chDateTime64 keeps milliseconds on current servers; 18.16 rejects it", async ({ skip }) => {
      const at = new Date("2024-02-03T04:05:06.789Z");
      // toUnixTimestamp64Milli came after DateTime64 itself (20.1): check from 21 on.
      const sql = `SELECT toUnixTimestamp64Milli(${chDateTime64(at)}) AS ms`;
      const major = Number(version.split(".")[0]);
      if (major === 18) {
        const error = await ch.query(sql).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ClickhouseError);
        expect((error as ClickhouseError).serverCode).toBe(46); // UNKNOWN_FUNCTION
      } else if (major >= 21) {
        const [row] = await ch.query<{ ms: string }>(sql);
        expect(Number(row?.ms)).toBe(at.getTime());
      } else {
        skip(`nothing checked on ${version}`);
      }
    });

    it("chIdentifier names hostile tables and columns", async () => {
      const names = ["we`ird", "it's", "a\\b", "événements", "select", "has space", "db.dot"];
      const table = `${chIdentifier(db.database)}.${chIdentifier("t`'\\ é")}`;
      await ch.exec(
        `CREATE TABLE ${table} (${names.map((n) => `${chIdentifier(n)} String`).join(", ")}) ENGINE = MergeTree ORDER BY tuple()`,
      );
      const row = Object.fromEntries(names.map((n) => [n, `value of ${n}`]));
      await ch.insert(table, [row]);
      for (const n of names) {
        const [found] = await ch.query<{ v: string }>(`SELECT ${chIdentifier(n)} AS v FROM ${table}`);
        expect(found?.v).toBe(`value of ${n}`);
      }
    });
  },
);

/** The 8 bytes of a double, little-endian, in hex as ClickHouse prints reinterpretAsString. */
function doubleHex(n: number): string {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(n === 0 ? 0 : n);
  // reinterpretAsString drops trailing zero bytes.
  return bytes
    .toString("hex")
    .toUpperCase()
    .replace(/(00)+$/, "");
}
