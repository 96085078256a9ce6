import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { migrate } from "../../src/store/migrate.ts";

/** The PostgreSQL server the tests use (trust auth on this machine and CI's). */
export const PG_ADMIN_URL = process.env.PQL_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

async function probePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Whether PostgreSQL-backed tests run. On a laptop without a server they are skipped (and say
 * why); under CI a missing server is a failure, never a skip.
 */
export const postgresAvailable = await probePostgres();
if (!postgresAvailable && process.env.CI) {
  throw new Error(
    `CI is set but PostgreSQL is not reachable at ${PG_ADMIN_URL}: PostgreSQL-backed tests must run`,
  );
}
export const SKIP_PG_REASON = `no PostgreSQL at ${PG_ADMIN_URL}: skipped`;

/** A fresh, empty PostgreSQL database for one test file; dropped by the returned function. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `pqlr_test_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function tempDir(prefix = "pqlr-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export type EngineName = "embedded" | "postgres";

/** Engines to run a suite on: the embedded one always, PostgreSQL when reachable. */
export const ENGINES: { name: EngineName; skip: boolean }[] = [
  { name: "embedded", skip: false },
  { name: "postgres", skip: !postgresAvailable },
];

export interface TestStore {
  db: Database;
  /** Environment that makes the CLI use this same database. */
  env: Record<string, string>;
  /** Closes this process's connection (idempotent): the embedded database admits one process at a time. */
  close: () => Promise<void>;
  /** Closes the database (and drops it, for PostgreSQL). */
  dispose: () => Promise<void>;
}

/** A migrated, empty database on `engine`. */
export async function createTestStore(engine: EngineName): Promise<TestStore> {
  if (engine === "postgres") {
    const { url, drop } = await createPostgresDatabase();
    const db = await openDatabase({ databaseUrl: url, dataDir: tempDir() });
    await migrate(db);
    const close = once(() => db.close());
    return {
      db,
      env: { DATABASE_URL: url },
      close,
      dispose: async () => {
        await close();
        await drop();
      },
    };
  }
  const dataDir = tempDir();
  const db = await openDatabase({ databaseUrl: undefined, dataDir });
  await migrate(db);
  const close = once(() => db.close());
  return {
    db,
    env: { PQL_DATA_DIR: dataDir },
    close,
    dispose: async () => {
      await close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}
