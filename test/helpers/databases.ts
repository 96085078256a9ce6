import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Database, openDatabase } from "../../src/store/database.ts";
import { migrate } from "../../src/store/migrate.ts";
import { createPostgresDatabase, PG_ADMIN_URL, probePostgres } from "./postgres.ts";

export { createPostgresDatabase };

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

/**
 * Runs `work` (e.g. the CLI in a child process) with `store` released, and returns the store to
 * use after it: the embedded database admits one process at a time, so it is closed and
 * reopened; a PostgreSQL store stays as it is.
 */
export async function withStoreReleased<T>(
  store: TestStore,
  work: () => Promise<T>,
): Promise<{ result: T; store: TestStore }> {
  if (store.env.DATABASE_URL) return { result: await work(), store };
  await store.close();
  const result = await work();
  const db = await openDatabase({ databaseUrl: undefined, dataDir: store.env.PQL_DATA_DIR as string });
  const close = once(() => db.close());
  return {
    result,
    store: {
      ...store,
      db,
      close,
      dispose: async () => {
        await close();
        await store.dispose();
      },
    },
  };
}
