import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/database.ts";
import { migrate, readMigrations } from "../../src/store/migrate.ts";
import { ROOT } from "../helpers/cli.ts";
import { createPostgresDatabase, postgresAvailable, SKIP_PG_REASON, tempDir } from "../helpers/databases.ts";

/** Every table column, index and constraint of the current schema, as comparable lines. */
async function catalog(db: Database): Promise<string[]> {
  const { rows } = await db.sql.query<{ item: string }>(`
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
        || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '') AS item
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0
        AND NOT a.attisdropped AND c.relname <> '_pql_migrations'
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename <> '_pql_migrations'
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text <> '"_pql_migrations"'
        AND conrelid::regclass::text <> '_pql_migrations'
    ORDER BY 1`);
  return rows.map((r) => r.item);
}

async function embedded(): Promise<{ db: Database; dispose: () => Promise<void> }> {
  const dir = tempDir();
  const db = await openDatabase({ databaseUrl: undefined, dataDir: dir });
  return {
    db,
    dispose: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("the migration history", () => {
  it("builds exactly the database schema.prisma describes (no drift)", async () => {
    const diff = spawnSync(
      process.execPath,
      [
        "scripts/prisma.js",
        "migrate",
        "diff",
        "--from-empty",
        "--to-schema-datamodel",
        "prisma/schema.prisma",
        "--script",
      ],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, DATABASE_URL: "" } },
    );
    expect(diff.status, diff.stderr).toBe(0);
    const migrated = await embedded();
    const fromSchema = await embedded();
    try {
      await migrate(migrated.db);
      await fromSchema.db.sql.exec(diff.stdout);
      const expected = await catalog(fromSchema.db);
      expect(expected.length).toBeGreaterThan(80);
      expect(await catalog(migrated.db)).toEqual(expected);
    } finally {
      await migrated.dispose();
      await fromSchema.dispose();
    }
    // `npm run migration:new` diffs from the latest migration's schema snapshot: it must be current.
    const latest = readMigrations().at(-1)?.name ?? "";
    expect(fs.readFileSync(path.join(ROOT, "prisma/migrations", latest, "schema.prisma"), "utf8")).toBe(
      fs.readFileSync(path.join(ROOT, "prisma/schema.prisma"), "utf8"),
    );
  });
});

describe("the migrator", () => {
  it("applies each migration once, and refuses an edited or unknown migration", async () => {
    const { db, dispose } = await embedded();
    try {
      const migrations = readMigrations();
      expect(await migrate(db, migrations)).toEqual({
        applied: migrations.map((m) => m.name),
        alreadyApplied: 0,
      });
      expect(await migrate(db, migrations)).toEqual({ applied: [], alreadyApplied: migrations.length });
      const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m));
      await expect(migrate(db, edited)).rejects.toThrow(
        `migration ${migrations[0]?.name} was changed after it was applied`,
      );
      await expect(migrate(db, migrations.slice(1))).rejects.toThrow(
        `the database has migrations this version does not know: ${migrations[0]?.name}`,
      );
    } finally {
      await dispose();
    }
  });

  it("builds message_times from the stored messages and what prune kept, then keeps it by triggers", async () => {
    const { db, dispose } = await embedded();
    try {
      const migrations = readMigrations();
      const at = migrations.findIndex((m) => /^\d+_message_times$/.test(m.name));
      expect(at).toBeGreaterThan(0);
      await migrate(db, migrations.slice(0, at));
      await db.sql.exec(`
        INSERT INTO accounts (id) VALUES ('a1'), ('a2');
        INSERT INTO messages (message_id, type, user_id, anonymous_id, account_id, event, path, timestamp, received_at, payload) VALUES
          ('m1', 'track', 'u1', NULL, 'a1', 'Report Run', NULL, '2026-10-01T00:00:00Z', now(), '{}'),
          ('m2', 'track', 'u1', NULL, 'a1', 'Report Run', NULL, '2026-10-05T00:00:00Z', now(), '{}'),
          ('m3', 'page', 'u1', NULL, 'a1', 'Pricing', '/pricing', '2026-10-03T00:00:00Z', now(), '{}'),
          ('m4', 'identify', 'u1', NULL, 'a1', NULL, NULL, '2026-09-30T00:00:00Z', now(), '{}'),
          ('m5', 'page', NULL, 'anon', NULL, 'Home', '/', '2026-09-01T00:00:00Z', now(), '{}'),
          ('m6', 'screen', 'u2', NULL, 'a2', 'Inbox', '/inbox', '2026-10-02T00:00:00Z', now(), '{}');
        INSERT INTO pruned_message_times (account_id, type, event, path, first_at, last_at, messages) VALUES
          ('a1', 'track', 'Report Run', '', '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 4),
          ('a2', 'track', 'HRIS Connected', '', '2026-05-01T00:00:00Z', '2026-05-01T00:00:00Z', 1);`);
      await migrate(db, migrations);
      const times = async () =>
        (
          await db.sql.query<{ row: string }>(
            `SELECT concat_ws(' ', account_id, type, event, path, to_char(first_at AT TIME ZONE 'UTC', 'MM-DD'),
              to_char(last_at AT TIME ZONE 'UTC', 'MM-DD')) AS row FROM message_times ORDER BY 1`,
          )
        ).rows.map((r) => r.row);
      // The unattributed page has no account; a screen's path is not part of its key.
      expect(await times()).toEqual([
        "a1 identify   09-30 09-30",
        "a1 page Pricing /pricing 10-03 10-03",
        "a1 track Report Run  06-01 10-05",
        "a2 screen Inbox  10-02 10-02",
        "a2 track HRIS Connected  05-01 05-01",
      ]);
      // From now on the triggers keep it: an insert widens, an attribution adds.
      await db.sql.exec(`
        INSERT INTO messages (message_id, type, user_id, account_id, event, timestamp, received_at, payload)
          VALUES ('m7', 'track', 'u1', 'a1', 'Report Run', '2026-10-09T00:00:00Z', now(), '{}');
        UPDATE messages SET account_id = 'a2' WHERE message_id = 'm5';`);
      expect(await times()).toEqual([
        "a1 identify   09-30 09-30",
        "a1 page Pricing /pricing 10-03 10-03",
        "a1 track Report Run  06-01 10-09",
        "a2 page Home / 09-01 09-01",
        "a2 screen Inbox  10-02 10-02",
        "a2 track HRIS Connected  05-01 05-01",
      ]);
      // Moving a message away from an account (pql-router never does) rebuilds what it left.
      await db.sql.exec("UPDATE messages SET account_id = 'a2' WHERE message_id = 'm3'");
      expect(await times()).toEqual([
        "a1 identify   09-30 09-30",
        "a1 track Report Run  06-01 10-09",
        "a2 page Home / 09-01 09-01",
        "a2 page Pricing /pricing 10-03 10-03",
        "a2 screen Inbox  10-02 10-02",
        "a2 track HRIS Connected  05-01 05-01",
      ]);
    } finally {
      await dispose();
    }
  });

  it("rolls a failing migration back whole", async () => {
    const { db, dispose } = await embedded();
    try {
      const broken = [
        {
          name: "20990101000000_broken",
          sql: "CREATE TABLE t1 (id int); CREATE TABLE t1 (id int);",
          checksum: "x",
        },
      ];
      await expect(migrate(db, broken)).rejects.toThrow(/already exists/);
      const { rows } = await db.sql.query(
        "SELECT to_regclass('t1') AS t, (SELECT count(*)::int FROM _pql_migrations) AS n",
      );
      expect(rows[0]).toEqual({ t: null, n: 0 });
    } finally {
      await dispose();
    }
  });

  describe.skipIf(!postgresAvailable)(
    `on PostgreSQL${postgresAvailable ? "" : ` (${SKIP_PG_REASON})`}`,
    () => {
      const cleanups: (() => Promise<void>)[] = [];
      afterAll(async () => {
        for (const c of cleanups) await c();
      });
      it("lets several processes start at once: each migration runs exactly once", async () => {
        const { url, drop } = await createPostgresDatabase();
        const dbs = await Promise.all(
          [1, 2, 3].map(() => openDatabase({ databaseUrl: url, dataDir: tempDir() })),
        );
        cleanups.push(async () => {
          for (const db of dbs) await db.close();
          await drop();
        });
        const results = await Promise.all(dbs.map((db) => migrate(db)));
        // Each migration applied by exactly one of them (which one takes which is a race).
        const applied = results.flatMap((r) => r.applied);
        expect(applied.sort()).toEqual(readMigrations().map((m) => m.name));
        const { rows } = await (dbs[0] as Database).sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM _pql_migrations",
        );
        expect(rows[0]?.n).toBe(readMigrations().length);
      });
    },
  );
});
