import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  createClient,
  ClickHouseError as VendorError,
  type Logger as VendorLogger,
} from "@clickhouse/client";
import type { Logger } from "pino";
import { PqlError } from "../../errors.ts";
import { redactSecrets } from "../../redact.ts";

/**
 * What went wrong, as far as pql-router cares: a table, column or database that the config names
 * but the warehouse lacks (fix the config or the grant), a server that did not answer (try again
 * later), or anything else (read the message).
 */
export type ClickhouseErrorCategory =
  | "missing-table"
  | "missing-column"
  | "missing-database"
  | "unreachable"
  | "other";

/** A ClickHouse request failed. The message never holds the URL's user name or password. */
export class ClickhouseError extends PqlError {
  readonly category: ClickhouseErrorCategory;
  /** ClickHouse's error code (60 = UNKNOWN_TABLE, ...) when the server answered with one. */
  readonly serverCode: number | undefined;

  constructor(category: ClickhouseErrorCategory, message: string, serverCode?: number) {
    super(`clickhouse_${category.replaceAll("-", "_")}`, message, { hint: HINTS[category] });
    this.category = category;
    this.serverCode = serverCode;
  }
}

const HINTS: Record<ClickhouseErrorCategory, string> = {
  "missing-table": "check the table name in the config and that the ClickHouse user may read it",
  "missing-column": "check the column names in the config against the table (DESCRIBE TABLE)",
  "missing-database": "check the database in the ClickHouse URL or the config",
  unreachable: "check the ClickHouse URL and that the server is up; the next cycle will try again",
  other: "see the message; ClickHouse's error code is in serverCode",
};

/** The few things pql-router does with ClickHouse. Every failure is a `ClickhouseError`. */
export interface Clickhouse {
  /** Runs a SELECT and returns its rows (JSONEachRow: 64-bit integers come back as strings). */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Runs a statement without rows (CREATE, DROP, INSERT ... SELECT, ...). */
  exec(sql: string): Promise<void>;
  /**
   * Inserts rows (JSONEachRow) into `table`: a name or `database.name`, each part plain
   * (`events`) or quoted with `chIdentifier`. Distributed tables are written synchronously, so
   * a query right after sees the rows.
   */
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  /** Closes the idle connections. */
  close(): Promise<void>;
}

export interface ClickhouseOptions {
  /** Where the client's own warnings go (redacted); without it they are dropped. */
  log?: Logger;
  /**
   * A request (its answer read in full) that takes longer fails as `unreachable`. Default 50 s:
   * the client warns about timeouts over 60 s without progress headers, which are settings
   * (see openClickhouse), and ours has a 5 s backup in the client.
   */
  timeoutMs?: number;
  /**
   * Called after each `query` with the size of its answer in bytes: the JSONEachRow body as it
   * came over HTTP (responses are never compressed, see openClickhouse). For measuring what a
   * reader moves; without it rows are read as before.
   */
  onResponseBytes?: (bytes: number) => void;
}

/**
 * Opens a ClickHouse client on `url` (`http[s]://[user:password@]host:port[/database]`), set up
 * for ClickHouse 18.16 as well as current versions:
 * - no query parameters (18.16 rejects `param_x`): values are inlined with `./literals.ts`;
 * - no settings on reads (a `readonly=1` user, the usual warehouse grant, may change none), so
 *   no HTTP compression either (`enable_http_compression` is a setting); no session ids;
 * - errors are classified by ClickHouse's error code, which 18.16 sends without the error's name.
 * The user name and password go to the client apart from the URL and never into an error or log.
 */
export function openClickhouse(url: string, options: ClickhouseOptions = {}): Clickhouse {
  const target = splitCredentials(url);
  const redact = redactor(target.username, target.password);
  const timeoutMs = options.timeoutMs ?? 50_000;
  let client: ClickHouseClient;
  try {
    client = createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      application: "pql-router",
      // Ours fires first (see `call`); the client's own only backs it up.
      request_timeout: timeoutMs + 5_000,
      compression: { request: false, response: false },
      log: { LoggerClass: vendorLoggerClass(options.log, redact), level: ClickHouseLogLevel.WARN },
    });
  } catch (error) {
    throw new ClickhouseError("other", `cannot set up the ClickHouse client: ${redact(messageOf(error))}`);
  }

  /** Runs one request with our timeout, turning any failure into a ClickhouseError. */
  const call = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await work(signal);
    } catch (error) {
      throw classify(error, signal.aborted, timeoutMs, redact);
    }
  };

  return {
    query: <T>(sql: string) =>
      call(async (signal) => {
        const result = await client.query({ query: sql, format: "JSONEachRow", abort_signal: signal });
        const counted = options.onResponseBytes;
        if (!counted) return result.json<T>();
        // What json() does (it reads the same stream), counting each line and its newline.
        const rows: T[] = [];
        let bytes = 0;
        for await (const lines of result.stream<T>()) {
          for (const line of lines) {
            bytes += Buffer.byteLength(line.text) + 1;
            rows.push(line.json<T>());
          }
        }
        counted(bytes);
        return rows;
      }),
    exec: (sql) =>
      call(async (signal) => {
        await client.command({ query: sql, abort_signal: signal });
      }),
    insert: async (table, rows) => {
      assertTableRef(table);
      return call(async (signal) => {
        await client.insert({
          table,
          values: rows as Record<string, unknown>[],
          format: "JSONEachRow",
          abort_signal: signal,
          // Known to 18.16 and current versions (where it is an alias of
          // distributed_foreground_insert); a plain table ignores it.
          clickhouse_settings: { insert_distributed_sync: 1 },
        });
      });
    },
    close: () => client.close(),
  };
}

interface Target {
  /** The URL without user name and password. */
  url: string;
  username: string | undefined;
  password: string | undefined;
}

/** Takes the credentials out of the URL, so that no error or log of the client can show them. */
function splitCredentials(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not even the scheme is repeated: a malformed URL may still hold a password.
    throw new ClickhouseError("other", "the ClickHouse URL is not a valid URL");
  }
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.username = "";
  parsed.password = "";
  return { url: parsed.toString(), username, password };
}

/**
 * Hides the password and user name wherever they appear as a whole word (servers name the user
 * in errors, e.g. "Unknown user ..."), plus any URL password. The built-in user `default` is not
 * a secret and is a word of ClickHouse's own messages ("default database"), so it stays.
 */
function redactor(username: string | undefined, password: string | undefined): (text: string) => string {
  const secrets = [password, username === "default" ? undefined : username].filter(
    (s): s is string => s !== undefined && s !== "",
  );
  const patterns = secrets.map(
    (s) => new RegExp(`(?<![\\w-])${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-])`, "g"),
  );
  // redactSecrets hides a password of 6 or more characters anywhere, and any URL's password.
  return (text) =>
    patterns.reduce((out, pattern) => out.replace(pattern, "***"), redactSecrets(text, [password]));
}

/** ClickHouse error codes that mean something pql-router's config names does not exist. */
const CATEGORY_BY_SERVER_CODE: Record<number, ClickhouseErrorCategory> = {
  16: "missing-column", // NO_SUCH_COLUMN_IN_TABLE
  47: "missing-column", // UNKNOWN_IDENTIFIER
  60: "missing-table", // UNKNOWN_TABLE
  81: "missing-database", // UNKNOWN_DATABASE
};

/** Node's codes for a server that could not be reached or dropped the connection. */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
]);

function classify(
  error: unknown,
  timedOut: boolean,
  timeoutMs: number,
  redact: (text: string) => string,
): ClickhouseError {
  if (error instanceof ClickhouseError) return error;
  const message = redact(messageOf(error));
  if (timedOut) {
    return new ClickhouseError("unreachable", `ClickHouse did not answer within ${timeoutMs / 1000} s`);
  }
  const serverCode = serverCodeOf(error);
  if (serverCode !== undefined) {
    const category = CATEGORY_BY_SERVER_CODE[serverCode] ?? "other";
    return new ClickhouseError(category, `ClickHouse error ${serverCode}: ${message}`, serverCode);
  }
  const nodeCode = (error as { code?: unknown } | null)?.code;
  if (typeof nodeCode === "string" && UNREACHABLE_CODES.has(nodeCode)) {
    return new ClickhouseError("unreachable", `ClickHouse is unreachable: ${message}`);
  }
  return new ClickhouseError("other", `ClickHouse request failed: ${message}`);
}

/**
 * The server's error code. Current servers end their error with its name, e.g. "(UNKNOWN_TABLE)",
 * and the client then gives a ClickHouseError with the code. 18.16 answers
 * "Code: 60, e.displayText() = DB::Exception: ..." without the name (nor an
 * X-ClickHouse-Exception-Code header), which the client passes on as a plain Error: the number
 * leading that answer is the same code.
 */
function serverCodeOf(error: unknown): number | undefined {
  if (error instanceof VendorError) {
    const code = Number(error.code);
    return Number.isInteger(code) ? code : undefined;
  }
  if (error instanceof Error) {
    const leading = /^Code: (\d+)[,.]/.exec(error.message);
    if (leading?.[1]) return Number(leading[1]);
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim();
}

// A table reference: one or two parts, each a plain name or a backquoted one (as chIdentifier
// writes it), so that the INSERT the client builds around it cannot be anything else.
const TABLE_PART = "(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\\\]|\\\\.)+`)";
const TABLE_REF = new RegExp(`^${TABLE_PART}(?:\\.${TABLE_PART})?$`);

function assertTableRef(table: string): void {
  if (!TABLE_REF.test(table)) {
    throw new ClickhouseError(
      "other",
      `not a table name: ${JSON.stringify(table)} (quote parts with chIdentifier)`,
    );
  }
}

/**
 * The client's own log lines, redacted, into our log: its warnings as warnings, its errors as
 * debug lines (each failed request also reaches the caller as a ClickhouseError, who decides).
 * Only the message and the error's message: the arguments may hold the query and its values.
 */
function vendorLoggerClass(
  log: Logger | undefined,
  redact: (text: string) => string,
): new () => VendorLogger {
  const child = log?.child({ component: "clickhouse-client" });
  const line = (level: "debug" | "warn") => (params: { message: string; err?: Error }) => {
    if (!child) return;
    const detail = params.err ? `: ${messageOf(params.err)}` : "";
    child[level](redact(`${params.message}${detail}`));
  };
  return class implements VendorLogger {
    trace = line("debug");
    debug = line("debug");
    info = line("debug");
    warn = line("warn");
    error = line("debug");
  };
}
