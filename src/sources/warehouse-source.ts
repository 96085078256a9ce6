import pg from "pg";
import type { PqlConfig } from "../config/schema.ts";
import { PqlError } from "../errors.ts";
import { ClickhouseError, openClickhouse } from "../integrations/clickhouse/clickhouse-client.ts";
import { redactSecrets } from "../redact.ts";
import type { AccountFeatures, SignalFeature } from "../signals/account-features.ts";
import { accountFields, USER_FIELD_TRAITS, userFields } from "../signals/traits.ts";
import { windowSlices } from "../store/score-store.ts";
import { clickhouseDialect, type Dialect, postgresDialect } from "./dialect.ts";
import type { SignalSource } from "./signal-source.ts";
import { mappingOf, type SourceMapping, type WarehouseSourceConfig } from "./source-config.ts";
import {
  accountCountStatement,
  accountsStatement,
  byteOrdered,
  changedStatement,
  featuresStatement,
  type SourceColumns,
  traitColumns,
  traitsStatement,
  type WarehouseContext,
} from "./warehouse-sql.ts";

export type SourceErrorCategory =
  | "missing-table"
  | "missing-column"
  | "missing-database"
  | "unreachable"
  | "other";

/** Reading the warehouse failed: what is missing or unreachable, by name. Never holds the URL's credentials. */
export class SourceError extends PqlError {
  readonly category: SourceErrorCategory;
  /** Each thing missing from the source, in plain words (empty for other failures). */
  readonly problems: readonly string[];

  constructor(
    category: SourceErrorCategory,
    message: string,
    options: { hint?: string; problems?: string[] } = {},
  ) {
    super(`source_${category.replaceAll("-", "_")}`, message, {
      hint:
        options.hint ??
        (category === "unreachable"
          ? "check PQL_SOURCE_URL and that the warehouse is up; nothing was scored or written"
          : "fix `source:` in the config or the warehouse grant; `pql-router config check --source` lists every problem"),
    });
    this.category = category;
    this.problems = options.problems ?? [];
  }
}

/** The few calls a warehouse source makes: a query returning rows. */
export interface WarehouseClient {
  query<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/** PostgreSQL SQLSTATEs: undefined table, column, schema; connection classes 08 and 57P. */
const PG_CATEGORY: Record<string, SourceErrorCategory> = {
  "42P01": "missing-table",
  "42703": "missing-column",
  "3F000": "missing-database",
  "3D000": "missing-database",
};

/** The user name and password of a URL: never shown, even where a server repeats them. */
function credentialsOf(url: string): string[] {
  try {
    const u = new URL(url);
    return [decodeURIComponent(u.username), decodeURIComponent(u.password)].filter((v) => v !== "");
  } catch {
    return [];
  }
}

function postgresClient(url: string, timeoutMs: number): WarehouseClient {
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: 10_000,
    statement_timeout: timeoutMs,
  });
  pool.on("error", () => {});
  return {
    async query<T>(sql: string) {
      try {
        const { rows } = await pool.query(sql);
        return rows as T[];
      } catch (error) {
        const code = (error as { code?: string }).code ?? "";
        const category: SourceErrorCategory =
          PG_CATEGORY[code] ??
          (code.startsWith("08") || code.startsWith("57P") || /^E[A-Z]+$/.test(code)
            ? "unreachable"
            : "other");
        throw new SourceError(
          category,
          `PostgreSQL source: ${redactSecrets((error as Error).message, [url, ...credentialsOf(url)])}`,
        );
      }
    },
    close: () => pool.end(),
  };
}

/** What ClickHouse sources of this process have read: their queries and the bytes of the answers. */
const clickhouseReads = { queries: 0, bytes: 0 };

/**
 * The queries ClickHouse sources have sent in this process and the bytes of their answers (the
 * JSONEachRow bodies as received), since it started: what travelled from the warehouse, for
 * benchmarks. A PostgreSQL source is not counted.
 */
export function sourceBytesRead(): { queries: number; bytes: number } {
  return { ...clickhouseReads };
}

function clickhouseClient(url: string, timeoutMs: number): WarehouseClient {
  const ch = openClickhouse(url, {
    timeoutMs,
    onResponseBytes: (bytes) => {
      clickhouseReads.queries++;
      clickhouseReads.bytes += bytes;
    },
  });
  return {
    async query<T>(sql: string) {
      try {
        return await ch.query<T>(sql);
      } catch (error) {
        if (error instanceof ClickhouseError)
          throw new SourceError(error.category, `ClickHouse source: ${error.message}`);
        throw error;
      }
    },
    close: () => ch.close(),
  };
}

/** The columns of every table in `database`, with their types. */
async function readColumns(client: WarehouseClient, d: Dialect, database: string): Promise<SourceColumns> {
  const rows = await client.query<{ table: string; column: string; type: string }>(
    d.name === "postgres"
      ? `SELECT table_name AS "table", column_name AS "column", data_type AS "type" FROM information_schema.columns WHERE table_schema = ${d.str(database)}`
      : `SELECT table, name AS column, type FROM system.columns WHERE database = ${d.str(database)}`,
  );
  const columns = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const table = columns.get(r.table) ?? new Map<string, string>();
    table.set(r.column, r.type);
    columns.set(r.table, table);
  }
  return columns;
}

/** Every (table, column) the mapping names, by table. */
export function mappedColumns(m: SourceMapping): { table: string; columns: string[] }[] {
  const of = (t: object & { table: string }) =>
    Object.entries(t)
      .filter(([k, v]) => k !== "table" && typeof v === "string")
      .map(([, v]) => v as string);
  return [
    { table: m.tracks.table, columns: of(m.tracks) },
    ...(m.pages ? [{ table: m.pages.table, columns: of(m.pages) }] : []),
    ...(m.screens ? [{ table: m.screens.table, columns: of(m.screens) }] : []),
    { table: m.groups.table, columns: of(m.groups) },
    { table: m.identifies.table, columns: of(m.identifies) },
    ...(m.aliases ? [{ table: m.aliases.table, columns: of(m.aliases) }] : []),
  ];
}

/** What the mapping names that the warehouse lacks: each missing table or column, in plain words. */
export function missingFromSource(
  m: SourceMapping,
  columns: SourceColumns,
  database: string,
): { kind: "table" | "column"; text: string }[] {
  const missing: { kind: "table" | "column"; text: string }[] = [];
  for (const { table, columns: needed } of mappedColumns(m)) {
    const have = columns.get(table);
    if (!have) {
      missing.push({
        kind: "table",
        text: `table ${database}.${table} does not exist (or the source user may not read it)`,
      });
      continue;
    }
    for (const c of needed)
      if (!have.has(c))
        missing.push({ kind: "column", text: `column ${database}.${table}.${c} does not exist` });
  }
  return missing;
}

export interface OpenedWarehouse {
  ctx: WarehouseContext;
  client: WarehouseClient;
}

/**
 * Connects to the warehouse (`PQL_SOURCE_URL`) and reads its columns. A mapped table or column
 * that is missing fails here, before anything is read or written, naming every one.
 */
export async function openWarehouse(
  source: WarehouseSourceConfig,
  url: string | undefined,
): Promise<OpenedWarehouse> {
  if (!url)
    throw new SourceError("unreachable", `source.type is ${source.type} but PQL_SOURCE_URL is not set`, {
      hint: "set PQL_SOURCE_URL to the warehouse's connection URL (it is read from the environment only)",
    });
  const dialect = source.type === "postgres" ? postgresDialect : clickhouseDialect;
  const timeoutMs = source.timeoutSeconds * 1000;
  const client =
    source.type === "postgres" ? postgresClient(url, timeoutMs) : clickhouseClient(url, timeoutMs);
  try {
    const mapping = mappingOf(source);
    const columns = await readColumns(client, dialect, source.database);
    if (columns.size === 0)
      throw new SourceError(
        "missing-database",
        `the source ${source.type === "postgres" ? "schema" : "database"} ${source.database} has no tables (or does not exist)`,
      );
    const missing = missingFromSource(mapping, columns, source.database);
    if (missing.length > 0) {
      const problems = missing.map((p) => p.text);
      throw new SourceError(
        missing.some((p) => p.kind === "table") ? "missing-table" : "missing-column",
        `the source lacks what source: maps:\n  ${problems.join("\n  ")}`,
        { problems },
      );
    }
    return { ctx: { dialect, database: source.database, mapping, columns }, client };
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}

interface FeatureRow {
  account_id: string;
  first_ms: number | string | null;
  last_ms: number | string | null;
  active_users: number | string;
  active_days: number | string;
  events: number | string;
  previous_events: number | string;
  users: string[];
  [column: string]: unknown;
}

/**
 * The most bytes of listed keys (accounts, users) one statement carries. ClickHouse refuses a
 * query over `max_query_size` (256 KiB by default, and a read-only user may not raise it), and the
 * keys travel as literals: a list longer than this is split over several statements. The rest of
 * a statement (the features query with its signals) stays far below the remaining 56 KiB.
 */
export const MAX_LIST_BYTES = 200_000;

/** `keys` in consecutive pieces whose literals stay within `maxBytes` (`sizeOf`: a key's literal and its separator). */
export function byListBytes(
  keys: readonly string[],
  maxBytes = MAX_LIST_BYTES,
  sizeOf: (key: string) => number = (key) => Buffer.byteLength(key) + 4,
): string[][] {
  const pieces: string[][] = [];
  let piece: string[] = [];
  let bytes = 0;
  for (const key of keys) {
    const size = sizeOf(key);
    if (piece.length > 0 && bytes + size > maxBytes) {
      pieces.push(piece);
      piece = [];
      bytes = 0;
    }
    piece.push(key);
    bytes += size;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}

/** `keys` split by the size of their literals in the context's dialect (escapes count). */
function listed(ctx: WarehouseContext, keys: readonly string[]): string[][] {
  return byListBytes(keys, MAX_LIST_BYTES, (key) => Buffer.byteLength(ctx.dialect.str(key)) + 2);
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const msOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * A trait's value as the builtin store would hold it: warehouses flatten arrays into JSON text
 * (Segment writes `["BambooHR","Slack"]`), read back as the array.
 */
function traitValue(v: unknown): unknown {
  if (typeof v === "string" && v.startsWith("[") && v.endsWith("]")) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // text that merely looks like a list
    }
  }
  return v;
}

/** Per key: its traits (newest non-null value of each column) and when each was set. */
async function readTraits(
  w: OpenedWarehouse,
  table: { table: string; key: string; timestamp: string },
  traits: readonly string[],
  keys: readonly string[],
  /** `keys` are a run of the byte-ordered list: one statement selects them by range. */
  slice = false,
): Promise<Map<string, { traits: Record<string, unknown>; times: Record<string, string> }>> {
  const out = new Map<string, { traits: Record<string, unknown>; times: Record<string, string> }>();
  const rows: Record<string, unknown>[] = [];
  if (keys.length === 0) return out;
  for (const piece of slice ? [keys] : listed(w.ctx, keys))
    rows.push(
      ...(await w.client.query<Record<string, unknown>>(traitsStatement(w.ctx, table, traits, piece, slice))),
    );
  for (const row of rows) {
    const entry = { traits: {} as Record<string, unknown>, times: {} as Record<string, string> };
    traits.forEach((trait, i) => {
      const at = row[`t_${i}`];
      if (at === null || at === undefined) return;
      const value = row[`v_${i}`];
      // ClickHouse sends 64-bit integers as text (JSON numbers lose precision past 2^53).
      const int64 = /Int64/.test(w.ctx.columns.get(table.table)?.get(trait) ?? "");
      entry.traits[trait] = int64 && typeof value === "string" ? Number(value) : traitValue(value);
      entry.times[trait] = new Date(Number(at)).toISOString();
    });
    out.set(String(row.id), entry);
  }
  return out;
}

/** A source reading Segment-style tables in PostgreSQL or ClickHouse (see `source:`). */
export async function warehouseSource(
  source: WarehouseSourceConfig,
  url: string | undefined,
): Promise<SignalSource> {
  const w = await openWarehouse(source, url);
  const { ctx } = w;
  const ids = async (sql: string) =>
    (await w.client.query<{ account_id: string }>(sql)).map((r) => r.account_id);
  return {
    type: source.type,
    chunkSize: source.chunkSize,
    prepare: async () => {},
    accountIds: async (now, among) => {
      if (!among) return ids(accountsStatement(ctx, now));
      // The changed accounts (an incremental pass's) come from their events: no scan to confirm
      // they exist. One whose every event lies after `now` gets no features, so no snapshot.
      return byteOrdered(among);
    },
    accountCount: async () => {
      const [row] = await w.client.query<{ n: unknown }>(accountCountStatement(ctx));
      return Number(row?.n ?? 0);
    },
    newestEventAt: async () => {
      // Any call but an alias, as the builtin store's newest message.
      const spans = await tableSpans(w, (m) => [m.tracks, m.pages, m.screens, m.groups, m.identifies]);
      const lasts = spans.flatMap((t) => (t.to === null ? [] : [t.to.getTime()]));
      return lasts.length === 0 ? null : new Date(Math.max(...lasts));
    },
    changedAccountIds: async (last, now, windowDays) => {
      const slices = windowSlices(last, now, windowDays);
      // Rows received before the last pass may have reached the warehouse after it: look back by the load delay.
      const since = new Date(last.startedAt.getTime() - source.loadDelayHours * 3_600_000);
      const rows = await w.client.query<{ account_id: string }>(changedStatement(ctx, since, slices));
      return rows.map((r) => r.account_id);
    },
    featureReader: async (config, personaOf, options = {}) => {
      const groups = ctx.mapping.groups;
      const identifies = ctx.mapping.identifies;
      const accountTraits = traitColumns(ctx, groups.table, [
        groups.account,
        groups.user,
        groups.timestamp,
        groups.receivedAt,
      ]);
      const userColumns = ctx.columns.get(identifies.table) ?? new Map<string, string>();
      // Only what personas read: the title and persona traits, as the warehouse flattened their names.
      const userTraits = [...USER_FIELD_TRAITS.title, ...USER_FIELD_TRAITS.persona]
        .flatMap((t) => [t, snakeCase(t)])
        .filter((c, i, all) => all.indexOf(c) === i && userColumns.has(c));
      return async (now, ids, slice = false) => {
        if (ids.length === 0) return [];
        const rows: FeatureRow[] = [];
        // One statement per chunk: a full pass's chunk by its range of ids; otherwise the ids are
        // listed, over several statements when they would make one too long to send.
        const wanted = new Set(ids);
        for (const piece of slice ? [ids] : listed(ctx, ids))
          rows.push(
            ...(await w.client.query<FeatureRow>(
              featuresStatement(ctx, config, {
                now,
                accountIds: piece,
                previousCounts: options.previousCounts === true,
                slice,
              }),
            )),
          );
        // A range may hold accounts that were not asked for (none, for a true run of the list).
        const found = rows.filter((r) => wanted.has(r.account_id));
        const users = [...new Set(found.flatMap((r) => r.users ?? []))].sort();
        const [accounts, people] = await Promise.all([
          readTraits(
            w,
            { table: groups.table, key: groups.account, timestamp: groups.timestamp },
            accountTraits,
            ids,
            slice,
          ),
          readTraits(
            w,
            { table: identifies.table, key: identifies.user, timestamp: identifies.timestamp },
            userTraits,
            users,
          ),
        ]);
        // The matcher runs once per distinct (title, persona trait) pair, as the builtin store's does.
        const personaOfUser = new Map<string, string | null>();
        const byPair = new Map<string, string | null>();
        for (const id of users) {
          const p = people.get(id);
          const fields = p ? userFields(p.traits, p.times) : {};
          const pair = { title: fields.title ?? null, persona: fields.persona ?? null };
          const key = JSON.stringify([pair.title, pair.persona]);
          if (!byPair.has(key)) byPair.set(key, personaOf(pair));
          personaOfUser.set(id, byPair.get(key) ?? null);
        }
        return found.map((r) => toFeatures(r, config, accounts.get(r.account_id), personaOfUser, options));
      };
    },
    close: () => w.client.close(),
  };
}

/** Segment's flattening of a trait name: `jobTitle` -> `job_title`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toLowerCase();
}

function toFeatures(
  r: FeatureRow,
  config: PqlConfig,
  account: { traits: Record<string, unknown>; times: Record<string, string> } | undefined,
  personaOfUser: ReadonlyMap<string, string | null>,
  options: { previousCounts?: boolean },
): AccountFeatures {
  const traits = account?.traits ?? {};
  const fields = accountFields(traits, account?.times);
  const signals: Record<string, SignalFeature> = {};
  config.signals.forEach((s, k) => {
    const first = msOrNull(r[`f_${k}`]);
    if (first === null) return;
    signals[s.key] = {
      count: num(r[`n_${k}`]),
      ...(options.previousCounts ? { previousCount: num(r[`p_${k}`]) } : {}),
      firstAt: new Date(first),
    };
  });
  const personas = new Set<string>();
  let withoutPersona = 0;
  for (const user of r.users ?? []) {
    const key = personaOfUser.get(user) ?? null;
    if (key === null) withoutPersona++;
    else personas.add(key);
  }
  const first = msOrNull(r.first_ms);
  const last = msOrNull(r.last_ms);
  return {
    accountId: r.account_id,
    name: fields.name ?? null,
    domain: fields.domain ?? null,
    firmographics: {
      employees: fields.employees ?? null,
      industry: fields.industry ?? null,
      region: fields.region ?? null,
      plan: fields.plan ?? null,
      seats: fields.seats ?? null,
      techStack: fields.tech_stack ?? [],
      traits,
    },
    firstSeenAt: first === null ? null : new Date(first),
    lastSeenAt: last === null ? null : new Date(last),
    activeUsers: num(r.active_users),
    personas: [...personas].sort(),
    usersWithoutPersona: withoutPersona,
    activeDays: num(r.active_days),
    events: num(r.events),
    previousEvents: num(r.previous_events),
    signals,
  };
}

/** Rows and the time range (of the mapped timestamp) of each table `which` picks from the mapping. */
async function tableSpans(
  w: OpenedWarehouse,
  which: (m: SourceMapping) => ({ table: string; timestamp: string } | undefined)[],
): Promise<{ table: string; rows: number; from: Date | null; to: Date | null }[]> {
  const { dialect: d, mapping, database, columns } = w.ctx;
  const spans: { table: string; rows: number; from: Date | null; to: Date | null }[] = [];
  for (const t of which(mapping)) {
    if (!t) continue;
    const ms = d.ms(d.id(t.timestamp), columns.get(t.table)?.get(t.timestamp) ?? "");
    const [row] = await w.client.query<{ n: unknown; first: unknown; last: unknown }>(
      `SELECT count(*) AS n, min(${ms}) AS first, max(${ms}) AS last FROM ${d.table(database, t.table)}`,
    );
    const rows = Number(row?.n ?? 0);
    const at = (v: unknown) => (rows === 0 || v === null || v === undefined ? null : new Date(Number(v)));
    spans.push({ table: t.table, rows, from: at(row?.first), to: at(row?.last) });
  }
  return spans;
}

export interface SourceCheck {
  type: "postgres" | "clickhouse";
  database: string;
  /** What is missing or failed, in plain words: empty when the source can be read. */
  problems: string[];
  /** Per mapped table: its rows and the time range of its mapped timestamp. */
  tables: { table: string; rows: number; from: string | null; to: string | null }[];
}

/**
 * `config check --source`: connects, checks that every mapped table and column exists (listing
 * every one missing), and reports each table's rows and time range. Never throws for what it can
 * report.
 */
export async function checkSource(
  source: WarehouseSourceConfig,
  url: string | undefined,
): Promise<SourceCheck> {
  const check: SourceCheck = { type: source.type, database: source.database, problems: [], tables: [] };
  let w: OpenedWarehouse;
  try {
    w = await openWarehouse(source, url);
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    check.problems.push(...(error.problems.length > 0 ? error.problems : [error.message]));
    return check;
  }
  try {
    const spans = await tableSpans(w, (m) => [
      m.tracks,
      m.pages,
      m.screens,
      m.groups,
      m.identifies,
      m.aliases,
    ]);
    check.tables = spans.map((t) => ({
      table: t.table,
      rows: t.rows,
      from: t.from?.toISOString() ?? null,
      to: t.to?.toISOString() ?? null,
    }));
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    check.problems.push(error.message);
  } finally {
    await w.client.close();
  }
  return check;
}
