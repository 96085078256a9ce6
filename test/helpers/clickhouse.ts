import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type Clickhouse, openClickhouse } from "../../src/integrations/clickhouse/clickhouse-client.ts";
import { chIdentifier, chString } from "../../src/integrations/clickhouse/literals.ts";
import { redactSecrets } from "../../src/redact.ts";

/**
 * The ClickHouse server tests use: $PQL_TEST_CLICKHOUSE_URL (what .ci/run sets), else the one
 * `scripts/clickhouse-server.sh start` runs (its URL file), else none.
 */
export const CLICKHOUSE_URL: string | undefined =
  process.env.PQL_TEST_CLICKHOUSE_URL ||
  readUrlFile(process.env.PQL_CLICKHOUSE_DIR || "/tmp/pqlr-clickhouse");

function readUrlFile(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, "url"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The cluster of scripts/clickhouse-server.sh: shard 1 reads database pqlr_shard_1, shard 2 pqlr_shard_2. */
export const CLUSTER = "pqlr_two_shards";
export const SHARD_DATABASES = ["pqlr_shard_1", "pqlr_shard_2"] as const;

/** Whether CLICKHOUSE_URL answers `SELECT 1` (within 3 s). */
export async function probeClickhouse(): Promise<boolean> {
  if (!CLICKHOUSE_URL) return false;
  const ch = openClickhouse(CLICKHOUSE_URL, { timeoutMs: 3000 });
  try {
    await ch.query("SELECT 1 AS one");
    return true;
  } catch {
    return false;
  } finally {
    await ch.close();
  }
}

/**
 * Whether ClickHouse-backed tests run. Without a server they are skipped (and say why); under CI
 * a missing server is a failure, never a skip (as for PostgreSQL in ./databases.ts).
 */
export const clickhouseAvailable = await probeClickhouse();
const shownUrl = CLICKHOUSE_URL ? redactSecrets(CLICKHOUSE_URL) : undefined;
if (!clickhouseAvailable && process.env.CI) {
  throw new Error(
    `CI is set but ClickHouse is not reachable at ${shownUrl ?? "(no PQL_TEST_CLICKHOUSE_URL)"}: ClickHouse-backed tests must run`,
  );
}
export const SKIP_CLICKHOUSE_REASON = shownUrl
  ? `no ClickHouse at ${shownUrl}: skipped (scripts/clickhouse-server.sh start)`
  : "no ClickHouse (set PQL_TEST_CLICKHOUSE_URL or run scripts/clickhouse-server.sh start): skipped";

/** Runs `work` with a client on the test server, closed afterwards. */
async function withAdmin<T>(work: (ch: Clickhouse) => Promise<T>): Promise<T> {
  if (!CLICKHOUSE_URL) throw new Error(SKIP_CLICKHOUSE_REASON);
  const ch = openClickhouse(CLICKHOUSE_URL);
  try {
    return await work(ch);
  } finally {
    await ch.close();
  }
}

export interface TestClickhouseDatabase {
  /** CLICKHOUSE_URL with the database as its path (the client's default database). */
  url: string;
  database: string;
  /** Drops the database and any shard tables made for it by createShardedTable. */
  drop: () => Promise<void>;
}

/** A fresh, empty database with a unique name (`<prefix>_<16 hex>`). */
export async function createClickhouseDatabase(prefix = "pqlr_test"): Promise<TestClickhouseDatabase> {
  const database = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await withAdmin((ch) => ch.exec(`CREATE DATABASE ${chIdentifier(database)}`));
  const url = new URL(CLICKHOUSE_URL as string);
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    database,
    drop: () =>
      withAdmin(async (ch) => {
        const left = await ch.query<{ database: string; name: string }>(
          `SELECT database, name FROM system.tables
           WHERE database IN (${SHARD_DATABASES.map(chString).join(", ")})
             AND startsWith(name, ${chString(`${database}_`)})`,
        );
        for (const t of left) await ch.exec(`DROP TABLE IF EXISTS ${qualified(t.database, t.name)}`);
        await ch.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
      }),
  };
}

export interface TestShardedTable {
  /** The Distributed table, `database`.`table`, as SQL. */
  table: string;
  /** The two local tables, `pqlr_shard_1`.`<database>_<table>` and shard 2's, as SQL. */
  shardTables: [string, string];
  /** Drops the Distributed table and both local tables. */
  drop: () => Promise<void>;
}

/**
 * A table split over the two shards of `pqlr_two_shards`: a MergeTree `<database>_<table>` in
 * pqlr_shard_1 and in pqlr_shard_2, and `<database>.<table>`, a Distributed table over them that
 * reads each once and sends each inserted row to one of them by `shardingKey` (an expression,
 * e.g. `cityHash64(account_id)`). `columns` is the column list's DDL, e.g.
 * "account_id String, timestamp_ms Int64"; `orderBy` the MergeTree's (default: none).
 */
export async function createShardedTable(
  database: string,
  table: string,
  columns: string,
  shardingKey: string,
  options: { orderBy?: string } = {},
): Promise<TestShardedTable> {
  const local = `${database}_${table}`;
  const shardTables = SHARD_DATABASES.map((db) => qualified(db, local)) as [string, string];
  const distributed = qualified(database, table);
  await withAdmin(async (ch) => {
    for (const t of shardTables) {
      await ch.exec(
        `CREATE TABLE ${t} (${columns}) ENGINE = MergeTree ORDER BY ${options.orderBy ?? "tuple()"}`,
      );
    }
    // Database '' = each shard's <default_database> (see scripts/clickhouse-server.sh).
    await ch.exec(
      `CREATE TABLE ${distributed} (${columns})
       ENGINE = Distributed(${CLUSTER}, '', ${chString(local)}, ${shardingKey})`,
    );
  });
  return {
    table: distributed,
    shardTables,
    drop: () =>
      withAdmin(async (ch) => {
        for (const t of [distributed, ...shardTables]) await ch.exec(`DROP TABLE IF EXISTS ${t}`);
      }),
  };
}

function qualified(database: string, table: string): string {
  return `${chIdentifier(database)}.${chIdentifier(table)}`;
}
