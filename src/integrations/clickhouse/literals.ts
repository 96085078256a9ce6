/**
 * Values written into ClickHouse SQL as literals. ClickHouse 18.16 (the oldest version we support)
 * rejects query parameters (`Unknown setting param_x`), so every value pql-router puts in a query
 * goes through one of these functions. Each returns SQL text that means exactly that value on
 * 18.16 and on current versions, or throws when no such text exists. Pure: no I/O.
 *
 * Timestamps: 18.16 has no DateTime64 (nor now64/toDateTime64) and DateTime counts whole seconds,
 * so event timestamps are stored as `Int64` milliseconds since the Unix epoch (UTC) and compared
 * with `chEpochMs(date)`. See docs/decisions.md, "ClickHouse (issue 14)".
 */

/** Lone UTF-16 surrogates: not Unicode text, so they cannot be sent as UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const TO_ESCAPE = /[\\'`\u0000-\u001f\u007f]/g;

/**
 * Escapes the inside of a quoted literal (`quote` = ') or identifier (`quote` = `): the backslash,
 * the quote and every control character. Non-ASCII text is kept as it is (the query travels as
 * UTF-8): 18.16 does not read `\u` escapes. NUL is written `\x00`, never as a raw byte.
 */
function escapeQuoted(text: string, quote: "'" | "`"): string {
  return text.replace(TO_ESCAPE, (ch) => {
    if (ch === "\\" || ch === quote) return `\\${ch}`;
    if (ch === "'" || ch === "`") return ch; // the other quote needs nothing
    return SHORT_ESCAPES[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** Escapes for control characters that both 18.16 and current versions read. */
const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function assertText(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${what} must be a string, got ${typeof value}`);
  if (LONE_SURROGATE.test(value)) {
    throw new RangeError(`${what} holds a lone UTF-16 surrogate, which is not Unicode text`);
  }
}

/** A String literal: `'it\'s'`. Any Unicode text, NUL, newlines and tabs included, round-trips. */
export function chString(value: string): string {
  assertText(value, "a ClickHouse string");
  return `'${escapeQuoted(value, "'")}'`;
}

/**
 * An Array(String) literal: `['a', 'b']`. The empty list is `emptyArrayString()`: 18.16 types a
 * bare `[]` as Array(Nothing), which `has([], s)` and `IN` reject.
 */
export function chStringArray(values: readonly string[]): string {
  if (values.length === 0) return "emptyArrayString()";
  return `[${values.map(chString).join(", ")}]`;
}

/** The smallest positive normal double: 18.16's parser rejects smaller (subnormal) literals. */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * A number literal. The number must be finite, below 2^53 in magnitude (beyond, 2 ** 60 prints as
 * 1152921504606847000, which ClickHouse reads as that other, exact UInt64: pass 64-bit integers
 * as strings and cast them) and not subnormal (nonzero below 2.2e-308: 18.16 calls it a syntax
 * error). Negative numbers are parenthesised, so that `x -${n}` never reads as `x --5`, which is
 * `x` and a comment.
 */
export function chNumber(value: number): string {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(`a ClickHouse number must be finite, got ${String(value)}`);
  }
  const magnitude = Math.abs(value);
  if (magnitude > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${value} is beyond 2^53: pass a 64-bit integer as a string and cast it`);
  }
  if (value !== 0 && magnitude < MIN_NORMAL) {
    throw new RangeError(`${value} is too close to zero for a ClickHouse 18.16 literal`);
  }
  // String() writes the shortest text that reads back as the same double (1e-7, 0.1); -0 is 0.
  const text = String(value);
  return value < 0 ? `(${text})` : text;
}

/**
 * Milliseconds since the Unix epoch, as an integer literal: the form event timestamps are stored
 * in (`Int64`) and compared with. Works on every version.
 */
export function chEpochMs(date: Date): string {
  return chNumber(validTime(date));
}

/**
 * DateTime's range on every supported version: whole seconds from 1970-01-01 00:00:00 to
 * 2105-12-31 23:59:59 UTC. Current versions go on to 2106-02-07, but 18.16 turns later text into
 * 1970 or into zero.
 */
const DATETIME_MAX_MS = Date.UTC(2106, 0, 1) - 1000;

/**
 * A DateTime literal in UTC, whole seconds: `toDateTime('2024-02-03 04:05:06', 'UTC')`. For
 * columns a warehouse stores as DateTime. Throws for a date with milliseconds (DateTime would drop
 * them silently; use `chEpochMs`) and outside DateTime's range (it would wrap around).
 */
export function chDateTime(date: Date): string {
  const ms = validTime(date);
  if (ms % 1000 !== 0) {
    throw new RangeError(`${date.toISOString()} has milliseconds, which DateTime cannot hold`);
  }
  if (ms < 0 || ms > DATETIME_MAX_MS) {
    throw new RangeError(`${date.toISOString()} is outside DateTime's range (1970 to 2105)`);
  }
  return `toDateTime('${utcText(date, false)}', 'UTC')`;
}

/**
 * A DateTime64(3) literal in UTC: `toDateTime64('2024-02-03 04:05:06.789', 3, 'UTC')`. Only for
 * warehouses on ClickHouse 20.1 or newer: 18.16 has no DateTime64 and rejects it.
 */
export function chDateTime64(date: Date): string {
  const ms = validTime(date);
  if (ms < 0 || ms >= Date.UTC(2300, 0, 1)) {
    throw new RangeError(`${date.toISOString()} is outside the range pql-router writes (1970 to 2299)`);
  }
  return `toDateTime64('${utcText(date, true)}', 3, 'UTC')`;
}

function validTime(date: Date): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError("a ClickHouse timestamp needs a valid Date");
  return ms;
}

/** `YYYY-MM-DD hh:mm:ss` (and `.mmm`) in UTC, from a date within 1970..9999. */
function utcText(date: Date, withMs: boolean): string {
  const iso = date.toISOString(); // 2024-02-03T04:05:06.789Z
  return `${iso.slice(0, 10)} ${iso.slice(11, withMs ? 23 : 19)}`;
}

/** Longest name ClickHouse keeps as a file name on disk (tables and databases are directories). */
const MAX_IDENTIFIER_LENGTH = 255;

/**
 * A quoted identifier (database, table or column): `` `events` ``. Any text except an empty one,
 * one longer than 255 characters, or one with control characters (NUL, newlines: no real table
 * or column has them, and they point at a mistake). A qualified name is two calls:
 * `${chIdentifier(db)}.${chIdentifier(table)}`.
 */
export function chIdentifier(name: string): string {
  assertText(name, "a ClickHouse identifier");
  if (name.length === 0 || name.length > MAX_IDENTIFIER_LENGTH) {
    throw new RangeError(`a ClickHouse identifier must be 1 to ${MAX_IDENTIFIER_LENGTH} characters long`);
  }
  if (CONTROL.test(name)) {
    throw new RangeError(`a ClickHouse identifier cannot hold control characters: ${JSON.stringify(name)}`);
  }
  return `\`${escapeQuoted(name, "`")}\``;
}
