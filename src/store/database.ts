import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { redactUrl } from "../config/settings.ts";
import { StoreError } from "../errors.ts";
import { acquireDataDirLock } from "./data-dir-lock.ts";
import { PrismaClient } from "./generated/client.ts";
import { copyPgliteTemplate } from "./pglite-template.ts";

/** What raw SQL needs: parameterised queries and multi-statement scripts. */
export interface SqlClient {
  query<R = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>;
  /** Runs a script of several statements (no parameters). */
  exec(script: string): Promise<void>;
  /** Loads rows in COPY text format (tab-separated, \N for null): the fastest way in. */
  copyText(target: string, data: string): Promise<void>;
}

export type Engine = "embedded" | "postgres";

/**
 * One open database. `prisma` is the typed client for ordinary reads and writes; `sql` runs the
 * set-based statements (bulk ingestion, aggregation) over the same connection(s).
 */
export interface Database {
  readonly engine: Engine;
  /** Where the data lives, with no credentials: a directory or a redacted URL. */
  readonly location: string;
  readonly sql: SqlClient;
  readonly prisma: PrismaClient;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgresql:// URL; unset means the embedded database in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openEmbedded(options.dataDir);
}

async function openPostgres(url: string): Promise<Database> {
  const location = redactUrl(url);
  // JIT compilation costs more than it saves on our chunked aggregations (hundreds of ms each);
  // sorts and hashes of a chunk fit in 64 MB instead of spilling to disk.
  const pool = new pg.Pool({ connectionString: url, max: 6, options: "-c jit=off -c work_mem=64MB" });
  pool.on("error", () => {
    // An idle client lost its connection; the next query reconnects or fails with a clear error.
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (cause) {
    await pool.end();
    throw new StoreError(`cannot connect to PostgreSQL at ${location}: ${(cause as Error).message}`, {
      cause,
      hint: "check DATABASE_URL, or unset it to use the embedded database",
    });
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const copyText = async (client: pg.PoolClient, target: string, data: string) => {
    await pipeline(Readable.from([data]), client.query(copyFrom(`COPY ${target} FROM STDIN`)));
  };
  const wrap = (q: pg.Pool | pg.PoolClient): SqlClient => ({
    async query<R>(text: string, params?: unknown[]) {
      const result = await q.query(text, params);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
    async exec(script: string) {
      await q.query(script);
    },
    async copyText(target: string, data: string) {
      if (q instanceof pg.Pool) {
        const client = await q.connect();
        try {
          await copyText(client, target, data);
        } finally {
          client.release();
        }
      } else {
        await copyText(q, target, data);
      }
    },
  });
  return {
    engine: "postgres",
    location,
    sql: wrap(pool),
    prisma,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn(wrap(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * PostgreSQL settings of the embedded engine. Its shared buffers live in the process's
 * WebAssembly memory, which never shrinks: 16 MB instead of 128 MB keeps a laptop's process about
 * 120 MB smaller, at no cost we could measure (the data files are still cached by the OS).
 */
const EMBEDDED_SETTINGS = ["-c", "shared_buffers=16MB"];

async function openEmbedded(dataDir: string): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true });
  const dbDir = path.join(dataDir, "pgdata");
  const releaseLock = acquireDataDirLock(dataDir);
  let db: PGlite;
  try {
    // A new database starts as a copy of the installed template, not by initdb (see pglite-template.ts).
    if (!fs.existsSync(path.join(dbDir, "PG_VERSION"))) copyPgliteTemplate(dbDir);
    db = await PGlite.create(dbDir, { startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS] });
  } catch (cause) {
    releaseLock();
    throw new StoreError(`cannot open the embedded database in ${dbDir}: ${(cause as Error).message}`, {
      cause,
      hint: "the directory may be damaged; move it aside to start afresh, or set PQL_DATA_DIR",
    });
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  type Queryable = Pick<PGlite, "query" | "exec">;
  const wrap = (q: Queryable): SqlClient => ({
    async query<R>(text: string, params?: unknown[]) {
      const result = await q.query<R>(text, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(script: string) {
      await q.exec(script);
    },
    async copyText(target: string, data: string) {
      // The embedded engine reads COPY data from a blob rather than a client stream.
      await q.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob([data]) });
    },
  });
  return {
    engine: "embedded",
    location: dbDir,
    sql: wrap(db),
    prisma,
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async close() {
      await prisma.$disconnect();
      await db.close();
      releaseLock();
    },
  };
}
