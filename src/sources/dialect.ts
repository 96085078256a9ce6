import { chIdentifier, chString } from "../integrations/clickhouse/literals.ts";

/**
 * The SQL each warehouse engine speaks, for the few constructs the features query needs. The
 * query itself is written once (warehouse-sql.ts); a dialect only renders its pieces, so a change
 * to a feature changes every engine.
 *
 * Every value is inlined as an escaped literal: ClickHouse 18.16, the oldest version we support,
 * has no query parameters. Times travel as epoch milliseconds (numbers), so comparisons and
 * results are the same on both engines whatever a column's timestamp type.
 */
export interface Dialect {
  readonly name: "postgres" | "clickhouse";
  /** A quoted identifier. */
  id(name: string): string;
  /** `database.table`, quoted. */
  table(database: string, table: string): string;
  /** A string literal, escaped. */
  str(value: string): string;
  /** `expr IN (...)`, false when the list is empty. */
  inList(expr: string, values: readonly string[]): string;
  /** A column's time as epoch milliseconds (a number), from its type in the warehouse. */
  ms(column: string, type: string): string;
  /** A nullable text column as text, '' for null. */
  text(column: string): string;
  /** A text column of the right side of `leftJoin`, '' where no row joined. */
  joined(column: string): string;
  /** The first of `exprs` (text, '' for none) that is not empty. */
  firstNonEmpty(exprs: string[]): string;
  count(cond: string): string;
  /** The smallest `expr` where `cond`, null when no row matches. */
  minIf(expr: string, cond: string): string;
  maxIf(expr: string, cond: string): string;
  /** Distinct values of `expr` where `cond`. */
  uniqIf(expr: string, cond: string): string;
  /** The distinct non-empty values of text `expr` where `cond`, as an array. */
  distinctIf(expr: string, cond: string): string;
  /** The value of `expr` in the row with the highest `order` among rows where `cond` (null when none). */
  latestIf(expr: string, order: string, cond: string): string;
  /** The column holds a value: not null and not '' (a column that cannot be null holds '' for none). */
  notNull(column: string, type: string): string;
  /**
   * Per `key`, the `value` of the row with the highest `order` (a user's latest group, an
   * anonymous id's latest alias), as a subquery with columns `keyAs` and `valueAs`.
   */
  latestPerKey(
    from: string,
    key: string,
    value: string,
    order: string,
    keyAs: string,
    valueAs: string,
  ): string;
  /** Every column of `left` and `right` (queries), joined on one column of both (`using`); the right side holds one row per key. */
  leftJoin(left: string, right: string, using: string): string;
  /** `expr IN (subquery)`; on ClickHouse GLOBAL, so a subquery over a Distributed table runs once. */
  inSubquery(expr: string, subquery: string): string;
  /** Text compared byte by byte (UTF-8), whatever the collation. */
  byteOrder(text: string): string;
  /** Integer division of epoch ms into UTC day numbers. */
  day(ms: string): string;
}

function assertIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name))
    throw new Error(`not a plain identifier: ${JSON.stringify(name)}`);
  return name;
}

export const postgresDialect: Dialect = {
  name: "postgres",
  id: (name) => `"${assertIdentifier(name)}"`,
  table: (database, table) => `"${assertIdentifier(database)}"."${assertIdentifier(table)}"`,
  // standard_conforming_strings (on since PostgreSQL 9.1): backslashes are plain characters; a
  // NUL cannot be stored in PostgreSQL text at all, so it cannot be asked for either.
  str: (value) => {
    if (value.includes("\u0000"))
      throw new Error("a text value with a NUL character cannot be sent to PostgreSQL");
    return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  },
  inList: (expr, values) =>
    values.length === 0 ? "false" : `${expr} IN (${values.map((v) => postgresDialect.str(v)).join(", ")})`,
  ms: (column, type) =>
    /^(bigint|integer|numeric|double precision)$/.test(type)
      ? `(${column})::float8`
      : `(extract(epoch FROM ${column}) * 1000)::float8`,
  text: (column) => `COALESCE((${column})::text, '')`,
  joined: (column) => `COALESCE(${column}, '')`,
  firstNonEmpty: (exprs) => `COALESCE(${exprs.map((e) => `NULLIF(${e}, '')`).join(", ")}, '')`,
  count: (cond) => `count(*) FILTER (WHERE ${cond})`,
  minIf: (expr, cond) => `min(${expr}) FILTER (WHERE ${cond})`,
  maxIf: (expr, cond) => `max(${expr}) FILTER (WHERE ${cond})`,
  uniqIf: (expr, cond) => `count(DISTINCT ${expr}) FILTER (WHERE ${cond})`,
  distinctIf: (expr, cond) =>
    `COALESCE(array_agg(DISTINCT ${expr}) FILTER (WHERE ${cond} AND ${expr} <> ''), '{}')`,
  latestIf: (expr, order, cond) =>
    `(array_agg(to_jsonb(${expr}) ORDER BY ${order} DESC) FILTER (WHERE ${cond}))[1]`,
  notNull: (column) => `${column} IS NOT NULL AND (${column})::text <> ''`,
  latestPerKey: (from, key, value, order, keyAs, valueAs) =>
    `SELECT DISTINCT ON (${key}) ${key} AS ${keyAs}, ${value} AS ${valueAs} FROM ${from} WHERE ${key} <> '' AND ${value} <> '' ORDER BY ${key}, ${order} DESC NULLS LAST`,
  leftJoin: (left, right, using) => `SELECT * FROM (${left}) l LEFT JOIN (${right}) r USING (${using})`,
  day: (ms) => `floor(${ms} / 86400000)`,
  byteOrder: (text) => `(${text}) COLLATE "C"`,
  inSubquery: (expr, subquery) => `${expr} IN (${subquery})`,
};

export const clickhouseDialect: Dialect = {
  name: "clickhouse",
  id: (name) => chIdentifier(assertIdentifier(name)),
  table: (database, table) =>
    `${chIdentifier(assertIdentifier(database))}.${chIdentifier(assertIdentifier(table))}`,
  str: chString,
  inList: (expr, values) =>
    values.length === 0 ? "0" : `${expr} IN (${values.map((v) => clickhouseDialect.str(v)).join(", ")})`,
  ms: (column, type) => {
    const base = type.replace(/^Nullable\((.*)\)$/, "$1");
    if (/^DateTime64/.test(base)) return `toFloat64(toUnixTimestamp64Milli(${column}))`;
    if (/^DateTime/.test(base)) return `toFloat64(toUInt32(${column})) * 1000`;
    if (/^(U?Int|Float)/.test(base)) return `toFloat64(${column})`;
    return `toFloat64(toUInt32(parseDateTimeBestEffort(${column}))) * 1000`;
  },
  text: (column) => `ifNull(toString(${column}), '')`,
  // ANY LEFT JOIN fills a row that did not join with the type's default: '' for the String keys built here.
  joined: (column) => column,
  firstNonEmpty: (exprs) =>
    exprs.reduceRight((rest, e) => (rest === "" ? e : `if(${e} != '', ${e}, ${rest})`), ""),
  count: (cond) => `countIf(${cond})`,
  minIf: (expr, cond) => `if(countIf(${cond}) > 0, minIf(${expr}, ${cond}), NULL)`,
  maxIf: (expr, cond) => `if(countIf(${cond}) > 0, maxIf(${expr}, ${cond}), NULL)`,
  uniqIf: (expr, cond) => `uniqExactIf(${expr}, ${cond})`,
  distinctIf: (expr, cond) => `groupUniqArrayIf(${expr}, ${cond} AND ${expr} != '')`,
  latestIf: (expr, order, cond) => `if(countIf(${cond}) > 0, argMaxIf(${expr}, ${order}, ${cond}), NULL)`,
  notNull: (column, type) => {
    const base = type.replace(/^LowCardinality\((.*)\)$/, "$1");
    const nullable = /^Nullable\(/.test(base);
    const text = /String/.test(base);
    if (nullable) return text ? `isNotNull(${column}) AND ${column} != ''` : `isNotNull(${column})`;
    return text ? `${column} != ''` : "1";
  },
  latestPerKey: (from, key, value, order, keyAs, valueAs) =>
    `SELECT ${key} AS ${keyAs}, argMax(${value}, ${order}) AS ${valueAs} FROM ${from} WHERE ${key} != '' AND ${value} != '' GROUP BY ${key}`,
  // GLOBAL: the right side is built once (the left is a subquery here, so the join itself runs
  // where the query was sent, on rows already filtered by each shard).
  leftJoin: (left, right, using) => `SELECT * FROM (${left}) GLOBAL ANY LEFT JOIN (${right}) USING ${using}`,
  day: (ms) => `intDiv(toUInt64(${ms}), 86400000)`,
  byteOrder: (text) => text,
  inSubquery: (expr, subquery) => `${expr} GLOBAL IN (${subquery})`,
};

export const DIALECTS = { postgres: postgresDialect, clickhouse: clickhouseDialect } as const;
