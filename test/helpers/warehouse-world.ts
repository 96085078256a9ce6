import pg from "pg";
import type { Clickhouse } from "../../src/integrations/clickhouse/clickhouse-client.ts";
import { chIdentifier } from "../../src/integrations/clickhouse/literals.ts";
import type { WarehouseSourceConfig } from "../../src/sources/source-config.ts";
import { snakeCase } from "../../src/sources/warehouse-source.ts";
import { createShardedTable } from "./clickhouse.ts";

/** A row of a Segment warehouse table: column -> value (null: no value). */
export type WarehouseRow = Record<string, unknown>;

export interface WarehouseTables {
  tracks: WarehouseRow[];
  pages: WarehouseRow[];
  identifies: WarehouseRow[];
  groups: WarehouseRow[];
  aliases: WarehouseRow[];
}

/**
 * Traits flattened the way Segment's warehouse destination does: nested objects joined with `_`,
 * names in snake_case, arrays as JSON text.
 */
function flatten(traits: Record<string, unknown>, prefix = "", out: WarehouseRow = {}): WarehouseRow {
  for (const [key, value] of Object.entries(traits)) {
    const name = prefix + snakeCase(key);
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) out[name] = JSON.stringify(value);
    else if (typeof value === "object") flatten(value as Record<string, unknown>, `${name}_`, out);
    else out[name] = value;
  }
  return out;
}

/**
 * Segment messages (as sent to the Tracking API) as Segment's warehouse destination would load
 * them: one table per call type, `context_group_id` on tracks and pages, traits flattened into
 * columns. `receivedAt(i)` is when message i reached the warehouse.
 */
export function toSegmentWarehouse(
  messages: readonly Record<string, unknown>[],
  receivedAt: (message: Record<string, unknown>) => Date,
): WarehouseTables {
  const tables: WarehouseTables = { tracks: [], pages: [], identifies: [], groups: [], aliases: [] };
  for (const m of messages) {
    const context = (m.context ?? {}) as Record<string, unknown>;
    const base = {
      id: m.messageId,
      user_id: m.userId ?? null,
      anonymous_id: m.anonymousId ?? null,
      timestamp: new Date(String(m.timestamp)),
      received_at: receivedAt(m),
    };
    const properties = (m.properties ?? {}) as Record<string, unknown>;
    const groupId = (context.groupId as string | undefined) ?? null;
    switch (m.type) {
      case "track":
        tables.tracks.push({ ...base, context_group_id: groupId, event: m.event });
        break;
      case "page":
        tables.pages.push({
          ...base,
          context_group_id: groupId,
          name: m.name ?? null,
          path:
            properties.path ??
            ((context.page as Record<string, unknown> | undefined)?.path as string) ??
            null,
        });
        break;
      case "identify":
        tables.identifies.push({ ...base, ...flatten((m.traits ?? {}) as Record<string, unknown>) });
        break;
      case "group":
        tables.groups.push({
          ...base,
          group_id: m.groupId,
          ...flatten((m.traits ?? {}) as Record<string, unknown>),
        });
        break;
      case "alias":
        tables.aliases.push({ ...base, previous_id: m.previousId });
        break;
    }
  }
  return tables;
}

/** The columns each table has before any trait arrives (what the preset maps), with their types. */
const BASE_COLUMNS: Record<keyof WarehouseTables, Record<string, string>> = {
  tracks: { user_id: "text", anonymous_id: "text", context_group_id: "text", event: "text" },
  pages: { user_id: "text", anonymous_id: "text", context_group_id: "text", name: "text", path: "text" },
  identifies: { user_id: "text", anonymous_id: "text" },
  groups: { user_id: "text", anonymous_id: "text", group_id: "text" },
  aliases: { user_id: "text", anonymous_id: "text", previous_id: "text" },
};

/** The PostgreSQL type of a column from its values (every value of a column has one JS type). */
function postgresType(values: unknown[]): string {
  const sample = values.find((v) => v !== null && v !== undefined);
  if (sample instanceof Date) return "timestamptz";
  if (typeof sample === "number")
    return values.every((v) => v == null || Number.isInteger(v)) ? "bigint" : "double precision";
  if (typeof sample === "boolean") return "boolean";
  return "text";
}

/**
 * Creates schema `schema` in the PostgreSQL database at `url` holding `tables` (each table's
 * columns are those any of its rows has, as Segment adds a column once a value arrives), and
 * appends rows to them. Tables that exist get new rows (and new columns) only.
 */
export async function loadPostgresWarehouse(
  url: string,
  schema: string,
  tables: WarehouseTables,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    for (const [table, rows] of Object.entries(tables) as [string, WarehouseRow[]][]) {
      const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      const typeOf = new Map(columns.map((c) => [c, postgresType(rows.map((r) => r[c]))]));
      const base = Object.entries({
        ...BASE_COLUMNS[table as keyof WarehouseTables],
        timestamp: "timestamptz",
        received_at: "timestamptz",
      })
        .map(([c, t]) => `"${c}" ${t}`)
        .join(", ");
      await client.query(`CREATE TABLE IF NOT EXISTS "${schema}"."${table}" (id text PRIMARY KEY, ${base})`);
      for (const c of columns)
        if (c !== "id")
          await client.query(
            `ALTER TABLE "${schema}"."${table}" ADD COLUMN IF NOT EXISTS "${c}" ${typeOf.get(c)}`,
          );
      for (let i = 0; i < rows.length && columns.length > 0; i += 1000) {
        const batch = rows.slice(i, i + 1000);
        await client.query(
          `INSERT INTO "${schema}"."${table}" (${columns.map((c) => `"${c}"`).join(", ")})
          SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM jsonb_populate_recordset(NULL::"${schema}"."${table}", $1::jsonb)`,
          [JSON.stringify(batch)],
        );
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * The ClickHouse type of a column from its values (times as Int64 epoch ms: 18.16 has no
 * DateTime64); null when every value is null (such a column is made Nullable(String)).
 */
function clickhouseType(column: string, values: Iterable<unknown>): string | null {
  if (column === "id") return "String";
  if (column === "timestamp" || column === "received_at") return "Int64";
  let sample: unknown;
  for (const v of values)
    if (v !== null && v !== undefined) {
      sample = v;
      break;
    }
  if (sample === undefined) return null;
  if (sample instanceof Date) return "Nullable(Int64)";
  if (typeof sample === "number") return "Nullable(Float64)";
  if (typeof sample === "boolean") return "Nullable(UInt8)";
  return "Nullable(String)";
}

/** Each table's columns, in order, with their ClickHouse types (null: no value seen yet, made Nullable(String)). */
export type ClickhouseWarehouseColumns = Record<keyof WarehouseTables, Map<string, string | null>>;

/**
 * The ClickHouse columns of `tables`: the mapped ones, then every column any row has, each typed
 * from its first value. Given `into` (the columns of the batches before), adds to it: new columns
 * go last, and a column seen only as null so far takes the type of its first value. So a world
 * converted and loaded in pieces gets the tables it would get whole.
 */
export function clickhouseWarehouseColumns(
  tables: WarehouseTables,
  into?: ClickhouseWarehouseColumns,
): ClickhouseWarehouseColumns {
  const out = into ?? {
    tracks: new Map(),
    pages: new Map(),
    identifies: new Map(),
    groups: new Map(),
    aliases: new Map(),
  };
  for (const [table, rows] of Object.entries(tables) as [keyof WarehouseTables, WarehouseRow[]][]) {
    const columns = out[table];
    const names = new Set(["id", ...Object.keys(BASE_COLUMNS[table]), "timestamp", "received_at"]);
    for (const r of rows) for (const c of Object.keys(r)) names.add(c);
    for (const c of names)
      if (!columns.has(c) || columns.get(c) === null)
        columns.set(
          c,
          clickhouseType(
            c,
            rows.map((r) => r[c]),
          ),
        );
  }
  return out;
}

/**
 * Creates the tables of `columns` in ClickHouse database `database`, empty: each a Distributed
 * table over the two shards of the test cluster (rows spread by id) when `sharded`, else one
 * MergeTree table. Returns the MergeTree tables made (the shards' when sharded), as SQL.
 */
export async function createClickhouseWarehouse(
  ch: Clickhouse,
  database: string,
  columns: ClickhouseWarehouseColumns,
  options: { sharded: boolean },
): Promise<string[]> {
  const local: string[] = [];
  for (const [table, typed] of Object.entries(columns) as [
    keyof WarehouseTables,
    Map<string, string | null>,
  ][]) {
    const ddl = [...typed].map(([c, type]) => `${chIdentifier(c)} ${type ?? "Nullable(String)"}`).join(", ");
    if (options.sharded) {
      const sharded = await createShardedTable(database, table, ddl, "cityHash64(id)", {
        orderBy: "(timestamp, id)",
      });
      local.push(...sharded.shardTables);
    } else {
      const target = `${chIdentifier(database)}.${chIdentifier(table)}`;
      await ch.exec(`CREATE TABLE ${target} (${ddl}) ENGINE = MergeTree ORDER BY (timestamp, id)`);
      local.push(target);
    }
  }
  return local;
}

/**
 * Appends `tables` to the tables createClickhouseWarehouse made with `columns` (which must hold
 * every column of `tables`: clickhouseWarehouseColumns over them), `batchRows` rows per INSERT
 * (default 20,000).
 */
export async function appendClickhouseWarehouse(
  ch: Clickhouse,
  database: string,
  columns: ClickhouseWarehouseColumns,
  tables: WarehouseTables,
  options: { batchRows?: number } = {},
): Promise<void> {
  const batchRows = options.batchRows ?? 20_000;
  for (const [table, rows] of Object.entries(tables) as [keyof WarehouseTables, WarehouseRow[]][]) {
    const names = [...columns[table].keys()];
    const target = `${chIdentifier(database)}.${chIdentifier(table)}`;
    for (let i = 0; i < rows.length; i += batchRows) {
      await ch.insert(
        target,
        rows.slice(i, i + batchRows).map((r) => {
          const out: Record<string, unknown> = {};
          for (const c of names) {
            const v = r[c];
            out[c] = v instanceof Date ? v.getTime() : typeof v === "boolean" ? Number(v) : (v ?? null);
          }
          return out;
        }),
      );
    }
  }
}

/**
 * Loads `tables` into ClickHouse database `database` in Segment's layout: each table a Distributed
 * table over the two shards of the test cluster (rows spread by id) when `sharded`, else one
 * MergeTree table. Times are Int64 epoch milliseconds. (In pieces: clickhouseWarehouseColumns
 * over every piece, createClickhouseWarehouse, then appendClickhouseWarehouse per piece.)
 */
export async function loadClickhouseWarehouse(
  ch: Clickhouse,
  database: string,
  tables: WarehouseTables,
  options: { sharded: boolean },
): Promise<void> {
  const columns = clickhouseWarehouseColumns(tables);
  await createClickhouseWarehouse(ch, database, columns, options);
  await appendClickhouseWarehouse(ch, database, columns, tables);
}

/** `source:` reading Segment's layout in `database` (no load delay: rows land as they are received). */
export function presetSource(
  type: "postgres" | "clickhouse",
  database: string,
  chunkSize = 7,
): WarehouseSourceConfig {
  return { type, preset: "segment-warehouse", database, chunkSize, loadDelayHours: 0, timeoutSeconds: 120 };
}

/**
 * `source:` with a custom mapping naming what Segment's layout in `database` lacks: a column of
 * tracks (`event_name`), a table (`orgs`) and a column of identifies (`loaded_at`).
 */
export function wrongSource(type: "postgres" | "clickhouse", database: string): WarehouseSourceConfig {
  return {
    type,
    database,
    chunkSize: 100,
    loadDelayHours: 0,
    timeoutSeconds: 120,
    mapping: {
      tracks: {
        table: "tracks",
        user: "user_id",
        event: "event_name",
        timestamp: "timestamp",
        receivedAt: "received_at",
      },
      groups: {
        table: "orgs",
        account: "group_id",
        user: "user_id",
        timestamp: "timestamp",
        receivedAt: "received_at",
      },
      identifies: { table: "identifies", user: "user_id", timestamp: "timestamp", receivedAt: "loaded_at" },
      notTraits: [],
      notTraitPrefixes: [],
    },
  };
}

/** What `wrongSource` lacks, as `config check --source` and a failed pass name it. */
export const wrongSourceProblems = (database: string) => [
  `column ${database}.tracks.event_name does not exist`,
  `table ${database}.orgs does not exist (or the source user may not read it)`,
  `column ${database}.identifies.loaded_at does not exist`,
];
