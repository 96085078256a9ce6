import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StoreError } from "../errors.ts";
import type { Database } from "./database.ts";

/** prisma/migrations of this package, wherever it is run from. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

const LOCK_KEY = 7_243_190_511; // pg_advisory_xact_lock key shared by every pql-router migrator

/**
 * Applies prisma/migrations/<name>/migration.sql in name order, each in its own transaction,
 * recording name and checksum. Concurrent migrators (several workers starting at once on one
 * PostgreSQL) serialise on an advisory lock and re-check inside it, so each migration runs once.
 * A migration whose file changed after it was applied, or a database that knows migrations this
 * code does not, is refused rather than guessed at.
 */
export async function migrate(
  db: Database,
  migrations: Migration[] = readMigrations(),
): Promise<MigrateResult> {
  // Under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL.
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS "_pql_migrations" (
      "name" TEXT PRIMARY KEY,
      "checksum" TEXT NOT NULL,
      "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
    )`);
  });
  const known = new Set(migrations.map((m) => m.name));
  const { rows: recorded } = await db.sql.query<{ name: string }>(`SELECT name FROM "_pql_migrations"`);
  const unknown = recorded.map((r) => r.name).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new StoreError(`the database has migrations this version does not know: ${unknown.join(", ")}`, {
      hint: "run a pql-router version at least as new as the one that migrated this database",
    });
  }
  const result: MigrateResult = { applied: [], alreadyApplied: 0 };
  for (const migration of migrations) {
    const applied = await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
      const { rows } = await tx.query<{ checksum: string }>(
        `SELECT checksum FROM "_pql_migrations" WHERE name = $1`,
        [migration.name],
      );
      const existing = rows[0];
      if (existing) {
        if (existing.checksum !== migration.checksum) {
          throw new StoreError(`migration ${migration.name} was changed after it was applied`, {
            hint: "never edit an applied migration; add a new one with `npm run migration:new`",
          });
        }
        return false;
      }
      await tx.exec(migration.sql);
      await tx.query(`INSERT INTO "_pql_migrations" (name, checksum) VALUES ($1, $2)`, [
        migration.name,
        migration.checksum,
      ]);
      return true;
    });
    if (applied) result.applied.push(migration.name);
    else result.alreadyApplied++;
  }
  return result;
}
