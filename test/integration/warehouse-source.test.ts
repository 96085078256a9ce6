import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { configVersion } from "../../src/config/load-config.ts";
import type { PqlConfig } from "../../src/config/schema.ts";
import { openClickhouse } from "../../src/integrations/clickhouse/clickhouse-client.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import type { AccountFeatures } from "../../src/signals/account-features.ts";
import { personaMatcher } from "../../src/signals/persona.ts";
import { builtinSource, openSource, type SignalSource } from "../../src/sources/signal-source.ts";
import { SourceError } from "../../src/sources/warehouse-source.ts";
import { runCli } from "../helpers/cli.ts";
import {
  clickhouseAvailable,
  createClickhouseDatabase,
  SKIP_CLICKHOUSE_REASON,
} from "../helpers/clickhouse.ts";
import {
  createPostgresDatabase,
  createTestStore,
  postgresAvailable,
  SKIP_PG_REASON,
  type TestStore,
  tempDir,
} from "../helpers/databases.ts";
import { jobContext } from "../helpers/runtime.ts";
import { SCORING_CONFIG } from "../helpers/scoring.ts";
import { writeConfig } from "../helpers/slack-world.ts";
import {
  appendClickhouseWarehouse,
  clickhouseWarehouseColumns,
  loadClickhouseWarehouse,
  loadPostgresWarehouse,
  presetSource,
  toSegmentWarehouse,
  wrongSource,
  wrongSourceProblems,
} from "../helpers/warehouse-world.ts";

const DAY = 86_400_000;
const END = new Date("2026-11-01T00:00:00.000Z");
/** A past date: some events come after it, so nothing later may count. */
const AT = new Date(END.getTime() - 9 * DAY - 3_600_000);

const configFor = (database: string, type: "postgres" | "clickhouse"): PqlConfig => ({
  ...SCORING_CONFIG,
  source: presetSource(type, database),
});

/** The world loaded into a warehouse: its URL and the `database` of `source:`. */
interface LoadedWarehouse {
  url: string;
  database: string;
  /** Adds rows to the loaded tables (as a warehouse load would). */
  append: (tables: Tables) => Promise<void>;
  drop: () => Promise<void>;
}

type Tables = ReturnType<typeof toSegmentWarehouse>;

/** Every warehouse the world is loaded into, beside the builtin store. */
const WAREHOUSES: {
  type: "postgres" | "clickhouse";
  label: string;
  skip: boolean;
  load: (tables: Tables) => Promise<LoadedWarehouse>;
}[] = [
  {
    type: "postgres",
    label: "Segment's warehouse layout in a separate PostgreSQL database",
    skip: !postgresAvailable,
    load: async (tables) => {
      const db = await createPostgresDatabase("pqlr_wh");
      await loadPostgresWarehouse(db.url, "analytics", tables);
      return {
        url: db.url,
        database: "analytics",
        append: (more) => loadPostgresWarehouse(db.url, "analytics", more),
        drop: db.drop,
      };
    },
  },
  {
    type: "clickhouse",
    label: "ClickHouse, a Distributed table over two shards (one database each)",
    skip: !clickhouseAvailable || !postgresAvailable,
    load: async (tables) => {
      const db = await createClickhouseDatabase("pqlr_wh");
      const ch = openClickhouse(db.url);
      try {
        await loadClickhouseWarehouse(ch, db.database, tables, { sharded: true });
      } finally {
        await ch.close();
      }
      const columns = clickhouseWarehouseColumns(tables);
      return {
        url: db.url,
        database: db.database,
        append: async (more) => {
          const client = openClickhouse(db.url);
          try {
            await appendClickhouseWarehouse(client, db.database, columns, more);
          } finally {
            await client.close();
          }
        },
        drop: db.drop,
      };
    },
  },
];

function readLines(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

async function allFeatures(source: SignalSource, config: PqlConfig, at: Date): Promise<AccountFeatures[]> {
  const ids = await source.accountIds(at);
  const read = await source.featureReader(config, personaMatcher(config.personas), { previousCounts: true });
  const out: AccountFeatures[] = [];
  for (let i = 0; i < ids.length; i += source.chunkSize)
    out.push(...(await read(at, ids.slice(i, i + source.chunkSize))));
  return out;
}

describe.each(WAREHOUSES)(
  "warehouse source: one world in the builtin store and in $label",
  ({ type, skip, load }) => {
    let builtin: TestStore;
    let scoredFromWarehouse: TestStore;
    let warehouse: LoadedWarehouse;
    let messages: Record<string, unknown>[];
    const warehouseConfig = (database: string) => configFor(database, type);

    beforeAll(async () => {
      if (skip) return;
      const dir = tempDir("pqlr-warehouse-");
      const world = await generateWorld({
        accounts: 40,
        days: 120,
        seed: 14,
        end: END,
        out: path.join(dir, "world.ndjson"),
      });
      messages = readLines(world.file);
      builtin = await createTestStore("postgres");
      await importFile(
        { db: builtin.db, clock: { now: () => END.getTime(), sleep: async () => {} } },
        world.file,
      );
      const receivedAt = (m: Record<string, unknown>) =>
        new Date(new Date(String(m.timestamp)).getTime() + 60_000);
      warehouse = await load(toSegmentWarehouse(messages, receivedAt));
      scoredFromWarehouse = await createTestStore("postgres");
    }, 300_000);

    afterAll(async () => {
      await builtin?.dispose();
      await scoredFromWarehouse?.dispose();
      await warehouse?.drop();
    });

    it.skipIf(skip)("gives every account the same features at a past date as the builtin store", async () => {
      const config = warehouseConfig(warehouse.database);
      const fromBuiltin = await allFeatures(builtinSource(builtin.db), SCORING_CONFIG, AT);
      const source = await openSource(config, scoredFromWarehouse.db, warehouse.url);
      try {
        const fromWarehouse = await allFeatures(source, config, AT);
        expect(fromBuiltin.length).toBeGreaterThan(30);
        expect(fromWarehouse.map((f) => f.accountId)).toEqual(fromBuiltin.map((f) => f.accountId));
        // Some accounts must have something in every part the comparison covers.
        expect(fromBuiltin.some((f) => f.personas.length > 1)).toBe(true);
        expect(fromBuiltin.some((f) => f.firmographics.techStack.length > 0)).toBe(true);
        expect(fromBuiltin.some((f) => Object.keys(f.signals).length > 3)).toBe(true);
        expect(fromWarehouse).toEqual(fromBuiltin);
      } finally {
        await source.close();
      }
    });

    it.skipIf(skip)(
      "scores every account the same, in a full pass and after an incremental one",
      async () => {
        const config = warehouseConfig(warehouse.database);
        const loaded = { config, version: configVersion(config), path: "<test>" };
        const builtinLoaded = {
          config: SCORING_CONFIG,
          version: configVersion(SCORING_CONFIG),
          path: "<test>",
        };
        const scores = async (store: TestStore) =>
          (
            await store.db.sql.query<{ account_id: string; score: number; tier: string }>(
              "SELECT account_id, score, tier FROM latest_scores ORDER BY account_id",
            )
          ).rows;
        const fromBuiltin = await runScorePass(
          { ...jobContext(builtin.db, builtinLoaded, END) },
          { now: AT },
        );
        const fromWarehouse = await runScorePass(
          { ...jobContext(scoredFromWarehouse.db, loaded, END), settings: { sourceUrl: warehouse.url } },
          { now: AT },
        );
        expect(fromWarehouse.mode).toBe("full");
        expect(fromWarehouse.scored).toBe(fromBuiltin.scored);
        expect(fromWarehouse.tiers).toEqual(fromBuiltin.tiers);
        expect(await scores(scoredFromWarehouse)).toEqual(await scores(builtin));
        // The mirrored accounts carry what HubSpot and Slack read.
        const { rows } = await scoredFromWarehouse.db.sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM accounts WHERE name IS NOT NULL",
        );
        expect(rows[0]?.n).toBe(fromBuiltin.scored);

        // A week on: the incremental pass picks the accounts whose windows moved or that got events.
        const later = new Date(AT.getTime() + 7 * DAY);
        const b2 = await runScorePass({ ...jobContext(builtin.db, builtinLoaded, END) }, { now: later });
        const w2 = await runScorePass(
          { ...jobContext(scoredFromWarehouse.db, loaded, END), settings: { sourceUrl: warehouse.url } },
          { now: later },
        );
        expect(w2.mode).toBe("incremental");
        expect(w2.scored).toBeGreaterThan(0);
        expect(w2.tiers).toEqual(b2.tiers);
        expect(await scores(scoredFromWarehouse)).toEqual(await scores(builtin));
      },
    );

    it.skipIf(skip)(
      "the CLI's score and explain read the warehouse (PQL_SOURCE_URL), scores land in pql-router's database",
      async () => {
        const dir = tempDir("pqlr-wh-score-");
        const file = writeConfig(dir, warehouseConfig(warehouse.database), "pql-router.config.yaml");
        const store = await createTestStore("postgres");
        try {
          const env = {
            ...store.env,
            PQL_CONFIG: file.path,
            PQL_SOURCE_URL: warehouse.url,
            PQL_DATA_DIR: dir,
          };
          const scored = await runCli(["score", "--at", AT.toISOString(), "--json"], env);
          expect(scored.code, scored.stderr).toBe(0);
          const out = scored.json as {
            summary: { scored: number; mode: string };
            warnings: string[];
            accounts: { accountId: string; score: number }[];
          };
          const { rows } = await builtin.db.sql.query<{ n: number }>(
            "SELECT count(DISTINCT account_id)::int AS n FROM messages WHERE timestamp <= $1",
            [AT.toISOString()],
          );
          expect(out.summary.scored).toBe(rows[0]?.n);
          expect(out.summary.mode).toBe("full");
          // The newest event is read from the warehouse: 9 days after --at is no stale data.
          expect(out.warnings).toEqual([]);
          const top = out.accounts[0] as { accountId: string; score: number };
          const explained = await runCli(["explain", top.accountId, "--at", AT.toISOString(), "--json"], env);
          expect(explained.code, explained.stderr).toBe(0);
          expect((explained.json as { score: number }).score).toBe(top.score);
          // The secret never shows.
          expect(scored.stderr + scored.stdout).not.toContain(warehouse.url);
          const status = await runCli(["status", "--json"], env);
          expect((status.json as { source: unknown }).source).toEqual({ type, database: warehouse.database });
          const statusText = await runCli(["status"], env);
          expect(statusText.stdout).toContain(`${type} warehouse`);
        } finally {
          await store.dispose();
        }
      },
    );

    it.skipIf(skip)(
      "config check --source lists every mapped table's rows and time range, and every missing one (exit 1)",
      async () => {
        const dir = tempDir("pqlr-wh-cli-");
        const good = writeConfig(dir, warehouseConfig(warehouse.database), "good.yaml");
        const ok = await runCli(["config", "check", good.path, "--source", "--json"], {
          PQL_SOURCE_URL: warehouse.url,
        });
        expect(ok.code, ok.stderr).toBe(0);
        const report = ok.json as {
          ok: boolean;
          source: { problems: string[]; tables: { table: string; rows: number; from: string; to: string }[] };
        };
        expect(report.ok).toBe(true);
        const tracks = messages.filter((m) => m.type === "track");
        const times = tracks.map((m) => new Date(String(m.timestamp)).getTime());
        expect(report.source.tables.find((t) => t.table === "tracks")).toEqual({
          table: "tracks",
          rows: tracks.length,
          from: new Date(Math.min(...times)).toISOString(),
          to: new Date(Math.max(...times)).toISOString(),
        });
        expect(report.source.tables.map((t) => t.table)).toEqual([
          "tracks",
          "pages",
          "groups",
          "identifies",
          "aliases",
        ]);
        const text = await runCli(["config", "check", good.path, "--source"], {
          PQL_SOURCE_URL: warehouse.url,
        });
        expect(text.stdout).toContain("every mapped table and column is there");

        const wrong = warehouseConfig(warehouse.database);
        wrong.source = wrongSource(type, warehouse.database);
        const bad = writeConfig(dir, wrong, "bad.yaml");
        const failed = await runCli(["config", "check", bad.path, "--source", "--json"], {
          PQL_SOURCE_URL: warehouse.url,
        });
        expect(failed.code).toBe(1);
        expect((failed.json as { problems: string[] }).problems).toEqual(
          wrongSourceProblems(warehouse.database),
        );
        const unset = await runCli(["config", "check", good.path, "--source"], {});
        expect(unset.code).toBe(1);
        expect(unset.stdout).toContain("PQL_SOURCE_URL is not set");
      },
    );

    it.skipIf(skip)(
      "names a missing table or column, and an unreachable source, before anything is written",
      async () => {
        const store = await createTestStore("embedded");
        const pass = (config: PqlConfig, sourceUrl: string) =>
          runScorePass(
            {
              ...jobContext(store.db, { config, version: configVersion(config), path: "<test>" }, END),
              settings: { sourceUrl },
            },
            { now: AT },
          ).catch((e) => e);
        try {
          const missing = await pass(
            { ...SCORING_CONFIG, source: wrongSource(type, warehouse.database) },
            warehouse.url,
          );
          expect(missing).toBeInstanceOf(SourceError);
          for (const problem of wrongSourceProblems(warehouse.database))
            expect(missing.message).toContain(problem);
          const down =
            type === "postgres"
              ? "postgresql://reader:s3cret-pw@127.0.0.1:1/nowhere"
              : "http://reader:s3cret-pw@127.0.0.1:1/x";
          const unreachable = await pass(warehouseConfig(warehouse.database), down);
          expect(unreachable).toBeInstanceOf(SourceError);
          expect(unreachable.category).toBe("unreachable");
          expect(unreachable.message).not.toContain("s3cret-pw");
          const { rows } = await store.db.sql.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM score_snapshots",
          );
          expect(rows[0]?.n).toBe(0);
        } finally {
          await store.dispose();
        }
      },
    );

    // Last: it adds rows to the warehouse.
    it.skipIf(skip)(
      "an incremental pass finds the accounts of new rows by received_at, and the account a user left",
      async () => {
        const config = warehouseConfig(warehouse.database);
        const source = await openSource(config, scoredFromWarehouse.db, warehouse.url);
        try {
          // A user of one account joins another: both accounts change (their events move).
          const group = messages.find((m) => m.type === "group" && m.userId) as Record<string, unknown>;
          const from = String(group.groupId);
          const to = String(messages.find((m) => m.type === "group" && m.groupId !== from)?.groupId);
          const joined = new Date(END.getTime() + 3_600_000);
          const last = {
            startedAt: new Date(END.getTime() + 60_000),
            asOf: END,
            configVersion: "x",
            tiers: null,
          };
          expect(await source.changedAccountIds(last, END, [])).toEqual([]);
          await warehouse.append(
            toSegmentWarehouse(
              [
                {
                  type: "group",
                  messageId: "moved-1",
                  userId: group.userId,
                  groupId: to,
                  timestamp: joined.toISOString(),
                },
              ],
              () => joined,
            ),
          );
          expect(await source.changedAccountIds(last, END, [])).toEqual([from, to].sort());
        } finally {
          await source.close();
        }
      },
    );
  },
);

if (!postgresAvailable) describe.skip(SKIP_PG_REASON, () => {});
if (!clickhouseAvailable) describe.skip(SKIP_CLICKHOUSE_REASON, () => {});
