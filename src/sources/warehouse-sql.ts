import type { PqlConfig } from "../config/schema.ts";
import { signalRules } from "../store/account-features-query.ts";
import type { Dialect } from "./dialect.ts";
import type { SourceMapping } from "./source-config.ts";

/** The columns of each table of the source, with their types, as the warehouse reports them. */
export type SourceColumns = ReadonlyMap<string, ReadonlyMap<string, string>>;

export interface WarehouseContext {
  dialect: Dialect;
  database: string;
  mapping: SourceMapping;
  columns: SourceColumns;
}

const DAY_MS = 86_400_000;

/** `keys` sorted byte by byte (UTF-8), the order both dialects compare in with `byteOrder`. */
export function byteOrdered(keys: readonly string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** The type of `table.column`, or an error naming both (`checkSource` reports them all first). */
function typeOf(ctx: WarehouseContext, table: string, column: string): string {
  const type = ctx.columns.get(table)?.get(column);
  if (type === undefined) throw new Error(`the source has no column ${table}.${column}`);
  return type;
}

/** The mapped tables that exist (screens and aliases are optional). */
function eventTables(m: SourceMapping) {
  return [
    { type: "track", t: m.tracks, event: m.tracks.event, name: undefined, path: undefined },
    ...(m.pages
      ? [{ type: "page", t: m.pages, event: undefined, name: m.pages.name, path: m.pages.path }]
      : []),
    ...(m.screens
      ? [{ type: "screen", t: m.screens, event: undefined, name: m.screens.name, path: undefined }]
      : []),
  ];
}

/**
 * Every event of the source as pql-router's messages table would hold it, one row each:
 * (account_id, user_id, type, event, path, ts, recv), times in epoch ms. The account is the
 * event's own (Segment: context_group_id), else its user's latest group, else the latest group of
 * the user its anonymous id is aliased to: the attribution the builtin store makes as messages
 * and group calls arrive. Group calls belong to their group; identifies to their user's account.
 * `where(ts, recv, account)` filters each table before anything is joined: time bounds, and a
 * first cut on the account (`account` is the table's own account column as text, '' for
 * identifies, whose account is always resolved through the user).
 */
export function resolvedEvents(
  ctx: WarehouseContext,
  where: (ts: string, recv: string, account: string) => string,
): string {
  const { dialect: d, database, mapping: m } = ctx;
  const ms = (table: string, column: string) => d.ms(d.id(column), typeOf(ctx, table, column));
  const txt = (column: string | undefined) => (column ? d.text(d.id(column)) : "''");
  // The branches name their columns pq_*: a warehouse column called `ts` or `path` must never meet
  // an alias of the same name (ClickHouse 18.16 substitutes aliases into WHERE).
  const row = (o: {
    g: string;
    u: string;
    a: string;
    type: string;
    event: string;
    path: string;
    ts: string;
    recv: string;
  }) =>
    `SELECT ${o.g} AS pq_g, ${o.u} AS pq_u, ${o.a} AS pq_a, ${o.type} AS pq_type, ${o.event} AS pq_event, ` +
    `${o.path} AS pq_path, ${o.ts} AS pq_ts, ${o.recv} AS pq_recv`;
  // An anonymous id leads to an account only for an event without a user id (as the builtin store attributes).
  const anonymous = (user: string, anon: string | undefined) =>
    anon ? `CASE WHEN ${txt(user)} = '' THEN ${txt(anon)} ELSE '' END` : "''";
  const branches: string[] = [];
  for (const e of eventTables(m)) {
    const ts = ms(e.t.table, e.t.timestamp);
    const recv = ms(e.t.table, e.t.receivedAt);
    const path = e.path ? txt(e.path) : "''";
    // A page's event is its name, or its path when it has none (as the builtin store keeps it).
    const event = e.event ? txt(e.event) : e.path ? d.firstNonEmpty([txt(e.name), path]) : txt(e.name);
    // The builtin store refuses a track without an event name.
    const named = e.event ? ` AND ${txt(e.event)} != ''` : "";
    branches.push(
      `${row({ g: txt(e.t.account), u: txt(e.t.user), a: anonymous(e.t.user, e.t.anonymousId), type: d.str(e.type), event, path, ts, recv })} ` +
        `FROM ${d.table(database, e.t.table)} WHERE (${where(ts, recv, txt(e.t.account))})${named}`,
    );
  }
  const g = m.groups;
  const gts = ms(g.table, g.timestamp);
  const grecv = ms(g.table, g.receivedAt);
  branches.push(
    `${row({ g: txt(g.account), u: txt(g.user), a: "''", type: "'group'", event: "''", path: "''", ts: gts, recv: grecv })} ` +
      `FROM ${d.table(database, g.table)} WHERE (${where(gts, grecv, txt(g.account))})`,
  );
  const i = m.identifies;
  const its = ms(i.table, i.timestamp);
  const irecv = ms(i.table, i.receivedAt);
  branches.push(
    `${row({ g: "''", u: txt(i.user), a: "''", type: "'identify'", event: "''", path: "''", ts: its, recv: irecv })} ` +
      `FROM ${d.table(database, i.table)} WHERE (${where(its, irecv, "''")})`,
  );
  const all = `(${branches.join("\nUNION ALL\n")}) ev`;
  const columns = "pq_g, pq_u, pq_a, pq_type, pq_event, pq_path, pq_ts, pq_recv";
  const out = (account: string, from: string) =>
    `SELECT ${account} AS account_id, pq_u AS user_id, pq_type AS type, pq_event AS event, pq_path AS path, ` +
    `pq_ts AS ts, pq_recv AS recv\n  FROM (${from}) x`;
  // Each user's latest group (their account), and each anonymous id's latest alias.
  const userAccount = (keyAs: string, valueAs: string) =>
    d.latestPerKey(d.table(database, g.table), txt(g.user), txt(g.account), gts, keyAs, valueAs);
  const withUser = d.leftJoin(`SELECT ${columns} FROM ${all}`, userAccount("pq_u", "pq_ua"), "pq_u");
  if (!m.aliases) return out(d.firstNonEmpty(["pq_g", d.joined("pq_ua")]), withUser);
  const a = m.aliases;
  const aliasUser = d.latestPerKey(
    d.table(database, a.table),
    txt(a.previousId),
    txt(a.user),
    ms(a.table, a.timestamp),
    "pq_a",
    "pq_au",
  );
  const withAlias = d.leftJoin(
    `SELECT ${columns}, ${d.joined("pq_ua")} AS pq_ua1 FROM (${withUser}) x1`,
    aliasUser,
    "pq_a",
  );
  const withAliasAccount = d.leftJoin(
    `SELECT ${columns}, pq_ua1, ${d.joined("pq_au")} AS pq_au1 FROM (${withAlias}) x2`,
    userAccount("pq_au1", "pq_aa"),
    "pq_au1",
  );
  return out(d.firstNonEmpty(["pq_g", "pq_ua1", d.joined("pq_aa")]), withAliasAccount);
}

/** A signal's match over resolved events, as a condition (a message matching twice counts once). */
export function signalMatch(d: Dialect, signal: PqlConfig["signals"][number]): string {
  const { exact, prefix } = signalRules(signal);
  const parts: string[] = [];
  // Exact names grouped by (type, column), in the order they first appear.
  const groups = new Map<string, string[]>();
  for (const rule of exact) {
    const at = `${rule.type}:${rule.by}`;
    groups.set(at, [...(groups.get(at) ?? []), rule.name]);
  }
  for (const [at, names] of groups) {
    const [type, by] = at.split(":") as [string, "event" | "path"];
    // type is one of track, screen, page (ours, not the config's).
    parts.push(`(type = '${type}' AND ${d.inList(by, names)})`);
  }
  for (const p of prefix) parts.push(`(type = 'page' AND path != '' AND path LIKE ${d.str(p)})`);
  return parts.length > 0 ? `(${parts.join(" OR ")})` : d.name === "postgres" ? "false" : "0";
}

export interface FeaturesStatementOptions {
  now: Date;
  accountIds: readonly string[];
  previousCounts: boolean;
  /**
   * The ids are a run of the byte-ordered account list (a full pass's chunk): select them by their
   * range, with no list to send. Otherwise they are listed.
   */
  slice?: boolean;
}

/**
 * One statement per chunk of accounts: the features the builtin query computes (first and last
 * seen, active users, active days, events now and in the window before, each signal's count in
 * its window and first time ever), aggregated where the events live. Active users come back as
 * ids, so their personas are worked out from their distinct titles only.
 */
export function featuresStatement(
  ctx: WarehouseContext,
  config: PqlConfig,
  o: FeaturesStatementOptions,
): string {
  const d = ctx.dialect;
  const now = o.now.getTime();
  const active = config.scoring.activeWindowDays * DAY_MS;
  const product = "type IN ('track', 'page', 'screen')";
  const recent = `${product} AND ts > ${now - active}`;
  const previous = `${product} AND ts <= ${now - active} AND ts > ${now - 2 * active}`;
  const columns = [
    "account_id",
    `min(ts) AS first_ms`,
    `max(ts) AS last_ms`,
    `${d.uniqIf("user_id", `${recent} AND user_id != ''`)} AS active_users`,
    `${d.uniqIf(d.day("ts"), recent)} AS active_days`,
    `${d.count(recent)} AS events`,
    `${d.count(previous)} AS previous_events`,
    `${d.distinctIf("user_id", recent)} AS users`,
  ];
  config.signals.forEach((s, k) => {
    const match = signalMatch(d, s);
    const w = s.windowDays * DAY_MS;
    columns.push(`${d.count(`${match} AND ts > ${now - w}`)} AS n_${k}`);
    if (o.previousCounts)
      columns.push(`${d.count(`${match} AND ts <= ${now - w} AND ts > ${now - 2 * w}`)} AS p_${k}`);
    columns.push(`${d.minIf("ts", match)} AS f_${k}`);
  });
  // A first cut before the joins: an event whose own account lies outside the chunk's range of
  // ids cannot be the chunk's (the ids come sorted, so a full pass's chunks are ranges); events
  // without an account of their own go on to be resolved through their user.
  // Compared byte by byte (UTF-8) on both engines, whatever the database's collation.
  const ids = byteOrdered(o.accountIds);
  const first = d.str(ids[0] ?? "");
  const last = d.str(ids[ids.length - 1] ?? "");
  const events = resolvedEvents(ctx, (ts, _recv, account) => {
    const a = d.byteOrder(account);
    return `${ts} <= ${now} AND (${account} = '' OR (${a} >= ${first} AND ${a} <= ${last}))`;
  });
  const chunk = o.slice
    ? `${d.byteOrder("account_id")} >= ${first} AND ${d.byteOrder("account_id")} <= ${last}`
    : d.inList("account_id", o.accountIds);
  return `SELECT ${columns.join(",\n  ")}
FROM (${events}) e
WHERE ${chunk}
GROUP BY account_id
ORDER BY account_id`;
}

/** The accounts with any event at or before `now`. */
export function accountsStatement(ctx: WarehouseContext, now: Date): string {
  const d = ctx.dialect;
  const events = resolvedEvents(ctx, (ts) => `${ts} <= ${now.getTime()}`);
  // Byte order, whatever the collation: a run of this list is then a range (see `slice`).
  return `SELECT account_id FROM (SELECT DISTINCT account_id FROM (${events}) e WHERE account_id != '') a
ORDER BY ${d.byteOrder("account_id")}`;
}

/** How many accounts have any event (counted in the warehouse: no id travels). */
export function accountCountStatement(ctx: WarehouseContext): string {
  const events = resolvedEvents(ctx, () => (ctx.dialect.name === "postgres" ? "true" : "1"));
  return `SELECT count(DISTINCT account_id) AS n FROM (${events}) e WHERE account_id != ''`;
}

/**
 * Accounts whose features may have changed since the last pass: events that arrived since it
 * started (by the source's ingestion time), and events the windows slid past (`slices`, epoch ms
 * ranges (from, to]). Only their account ids come back.
 */
export function changedStatement(
  ctx: WarehouseContext,
  receivedSince: Date,
  slices: [number, number][],
): string {
  const since = receivedSince.getTime();
  const events = resolvedEvents(ctx, (ts, recv) =>
    [`${recv} > ${since}`, ...slices.map(([from, to]) => `(${ts} > ${from} AND ${ts} <= ${to})`)].join(
      " OR ",
    ),
  );
  // A user who joined another group since leaves their former accounts: those lose events.
  const d = ctx.dialect;
  const g = ctx.mapping.groups;
  const user = d.text(d.id(g.user));
  const recv = d.ms(d.id(g.receivedAt), typeOf(ctx, g.table, g.receivedAt));
  const groups = d.table(ctx.database, g.table);
  const moved = `SELECT ${d.text(d.id(g.account))} AS account_id FROM ${groups}
  WHERE ${d.inSubquery(user, `SELECT ${user} FROM ${groups} WHERE ${recv} > ${since} AND ${user} != ''`)}`;
  return `SELECT DISTINCT account_id FROM (
  SELECT account_id FROM (${events}) e
  UNION ALL
  ${moved}
) c WHERE account_id != '' ORDER BY account_id`;
}

/** The trait columns of a table: every column but the mapped ones and those the mapping says are not traits. */
export function traitColumns(ctx: WarehouseContext, table: string, mapped: readonly string[]): string[] {
  const columns = [...(ctx.columns.get(table)?.keys() ?? [])];
  const { notTraits, notTraitPrefixes } = ctx.mapping;
  // A column whose name is no plain identifier (`Company Size`, a Nested `props.plan`) is left out:
  // traits are named like config keys, and such a name could not be one.
  return columns
    .filter(
      (c) =>
        /^[A-Za-z_][A-Za-z0-9_$]*$/.test(c) &&
        !mapped.includes(c) &&
        !notTraits.includes(c) &&
        !notTraitPrefixes.some((p) => c.startsWith(p)),
    )
    .sort();
}

/**
 * Per key (an account of `groups`, a user of `identifies`): each trait column's newest non-null
 * value and its time, merged across calls as the builtin store merges traits (newest wins, per
 * trait). Columns v_<i> and t_<i> follow `traits`.
 */
export function traitsStatement(
  ctx: WarehouseContext,
  table: { table: string; key: string; timestamp: string },
  traits: readonly string[],
  keys: readonly string[],
  /** Select the keys by their byte-ordered range (first and last of `keys`) instead of listing them. */
  range = false,
): string {
  const d = ctx.dialect;
  const ts = d.ms(d.id(table.timestamp), typeOf(ctx, table.table, table.timestamp));
  const key = d.text(d.id(table.key));
  const sorted = range ? byteOrdered(keys) : [];
  const which = range
    ? `${d.byteOrder(key)} >= ${d.str(sorted[0] ?? "")} AND ${d.byteOrder(key)} <= ${d.str(sorted[sorted.length - 1] ?? "")}`
    : d.inList(key, keys);
  const columns = [`${d.text(d.id(table.key))} AS id`];
  traits.forEach((trait, i) => {
    const has = d.notNull(d.id(trait), typeOf(ctx, table.table, trait));
    columns.push(`${d.latestIf(d.id(trait), ts, has)} AS v_${i}`, `${d.maxIf(ts, has)} AS t_${i}`);
  });
  return `SELECT ${columns.join(", ")} FROM ${d.table(ctx.database, table.table)}
WHERE ${which}
GROUP BY ${key}`;
}
