/**
 * Warehouse sources (issue 14, the last part of `npm run bench`): scoring from the events where
 * they live against scoring from pql-router's own store.
 *
 * L: a world of 100k accounts over 45 days (~10M events), in each of:
 *  - builtin: pql-router's own store on PostgreSQL (imported as `import` does; no `source:`);
 *  - clickhouse: ClickHouse, Segment's warehouse layout, one MergeTree table per call type in
 *    one database (`source: {type: clickhouse, preset: segment-warehouse}`);
 *  - distributed: the same as Distributed tables over the two shards of the test cluster.
 * A warehouse gets the world as Segment's destination would load it (received_at a minute after
 * each event), converted and inserted in pieces, then merged (OPTIMIZE FINAL); the builtin store
 * is vacuumed, analysed and checkpointed: nothing settles under a timed pass. Scores go to a fresh
 * pql-router PostgreSQL database per store (the builtin store's own).
 * On each, in a child process whose peak RSS is reported (bench/warehouse-pass.ts):
 *  - a full pass as of the world's end;
 *  - then an incremental pass an hour later, as an hourly cycle would run it: first 1% of the
 *    accounts (every 100th) get a new event half an hour after the end, received after the full
 *    pass started, in every store alike; the pass also re-scores the accounts whose windows slid
 *    past events in that hour.
 * Reported per pass: seconds, accounts scored, events in the source, the source's queries and the
 * bytes that travelled from it to pql-router (ClickHouse: the HTTP response bodies, exact; the
 * builtin store: an approximation, the JSON text of the rows its source queries return), bytes
 * per account scored, and peak RSS. The goal: a ClickHouse full pass within the builtin
 * PostgreSQL pass's time, moving data in proportion to accounts, not events.
 * BENCH_SCALE_FACTOR=0.02 shrinks the world for a quick look; BENCH_STORES=builtin,clickhouse,
 * distributed (or a part) picks the stores; BENCH_CHUNK_SIZE sets `source.chunkSize` (default: the
 * config's). Prints a table, then one JSON line. Figures, never pass/fail; a pass that fails is
 * reported with its error. Every database is dropped at the end.
 */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import YAML from "yaml";
import { importFile } from "../src/app/jobs/import-file.ts";
import { table } from "../src/cli/output.ts";
import { systemClock } from "../src/clock.ts";
import { loadConfig } from "../src/config/load-config.ts";
import { type Clickhouse, openClickhouse } from "../src/integrations/clickhouse/clickhouse-client.ts";
import { chIdentifier } from "../src/integrations/clickhouse/literals.ts";
import { parseSegmentMessage, type SegmentMessage } from "../src/signals/segment-message.ts";
import { openDatabase } from "../src/store/database.ts";
import { storeMessages } from "../src/store/message-store.ts";
import { migrate } from "../src/store/migrate.ts";
import { CLICKHOUSE_URL, createClickhouseDatabase, probeClickhouse } from "../test/helpers/clickhouse.ts";
import { PG_ADMIN_URL, probePostgres } from "../test/helpers/postgres.ts";
import {
  appendClickhouseWarehouse,
  type ClickhouseWarehouseColumns,
  clickhouseWarehouseColumns,
  createClickhouseWarehouse,
  toSegmentWarehouse,
} from "../test/helpers/warehouse-world.ts";
import { fresh, OUT, round, runChild, SHIPPED_CONFIG, WORLD_END, world } from "./common.ts";

const FACTOR = Number(process.env.BENCH_SCALE_FACTOR ?? 1);
const ACCOUNTS = Math.max(1, Math.round(100_000 * FACTOR));
const DAYS = 45; // about 100 events per account: 100k accounts make ~10M events
const STORES = (process.env.BENCH_STORES ?? "builtin,clickhouse,distributed").split(",") as Store[];
const CHUNK_SIZE = process.env.BENCH_CHUNK_SIZE ? Number(process.env.BENCH_CHUNK_SIZE) : undefined;
/** The incremental pass's as-of: an hour after the full pass's, as an hourly cycle. */
const INCREMENTAL_AT = new Date(WORLD_END.getTime() + 3_600_000);
/** Messages converted and inserted at a time (memory stays bounded in the world's size). */
const PIECE = 100_000;

type Store = "builtin" | "clickhouse" | "distributed";

const log = (line: string) => process.stderr.write(`warehouse: ${line}\n`);

interface PassRun {
  durationMs: number;
  mode: string;
  accounts: number;
  scored: number;
  phases: Record<string, number>;
  sourceQueries: number;
  sourceBytes: number;
  bytesMeasure: string;
  maxRssMb: number;
}

function pass(env: Record<string, string>, at: Date, full: boolean, configFile: string): Promise<PassRun> {
  return runChild<PassRun>(
    "bench/warehouse-pass.ts",
    [at.toISOString(), full ? "full" : "incremental", configFile],
    env,
  );
}

/** The world's messages, `size` at a time; only lines that `keep` accepts (before parsing) when given. */
async function* pieces(
  file: string,
  size: number,
  keep?: (line: string) => boolean,
): AsyncGenerator<Record<string, unknown>[]> {
  const lines = readline.createInterface({
    input: fs.createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let piece: Record<string, unknown>[] = [];
  for await (const line of lines) {
    if (line.trim() === "" || (keep && !keep(line))) continue;
    piece.push(JSON.parse(line));
    if (piece.length >= size) {
      yield piece;
      piece = [];
    }
  }
  if (piece.length > 0) yield piece;
}

/** New events for every 100th account (1%), half an hour after the world's end: the incremental pass's news. */
function newEvents(accounts: number): Record<string, unknown>[] {
  const at = new Date(WORLD_END.getTime() + 1_800_000).toISOString();
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < accounts; i += 100) {
    const id = `acct_${String(i + 1).padStart(6, "0")}`;
    messages.push({
      type: "track",
      messageId: `bench-incr-${id}`,
      userId: `${id}_u1`,
      event: "Offer Letter Sent",
      context: { groupId: id },
      timestamp: at,
    });
  }
  return messages;
}

/** A store holding the world, ready to score from: its pql-router database, config and source. */
interface Loaded {
  env: Record<string, string>;
  configFile: string;
  chunkSize: number | null;
  loadSeconds: number;
  events: () => Promise<number>;
  append: (messages: Record<string, unknown>[]) => Promise<void>;
  drop: () => Promise<void>;
}

async function loadBuiltin(file: string, messages: number): Promise<Loaded> {
  const db = await fresh("postgres");
  log(`builtin: importing ${messages} messages into PostgreSQL...`);
  const started = performance.now();
  const opened = await openDatabase(db.settings);
  try {
    await migrate(opened);
    await importFile({ db: opened, clock: systemClock }, file);
    await opened.sql.exec("VACUUM ANALYZE");
    await opened.sql.exec("CHECKPOINT");
  } finally {
    await opened.close();
  }
  const loadSeconds = round((performance.now() - started) / 1000, 1);
  const withDb = async <T>(work: (d: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>) => {
    const d = await openDatabase(db.settings);
    try {
      return await work(d);
    } finally {
      await d.close();
    }
  };
  return {
    env: db.env,
    configFile: SHIPPED_CONFIG,
    chunkSize: null,
    loadSeconds,
    events: () =>
      withDb(async (d) => {
        const { rows } = await d.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM messages");
        return rows[0]?.n ?? 0;
      }),
    append: (raw) =>
      withDb(async (d) => {
        const receivedAt = new Date();
        const parsed: SegmentMessage[] = [];
        for (const m of raw) {
          const p = parseSegmentMessage(m, { receivedAt });
          if (p.ok) parsed.push(p.message);
        }
        await storeMessages(d, parsed);
      }),
    drop: db.drop,
  };
}

async function loadClickhouse(file: string, messages: number, sharded: boolean): Promise<Loaded> {
  const name = sharded ? "distributed" : "clickhouse";
  const scores = await fresh("postgres");
  const wh = await createClickhouseDatabase("pqlr_bench_wh");
  const configFile = path.join(OUT, `config-${wh.database}.yaml`);
  // Loading and merging 10M rows take longer than a query's usual 50 s.
  const ch: Clickhouse = openClickhouse(wh.url, { timeoutMs: 1_800_000 });
  const drop = async () => {
    await ch.close();
    fs.rmSync(configFile, { force: true });
    await wh.drop();
    await scores.drop();
  };
  try {
    const started = performance.now();
    const opened = await openDatabase(scores.settings);
    await migrate(opened);
    await opened.close();
    // As Segment's destination loads them: received a minute after they happened (never after now).
    const loadedAt = Date.now();
    const receivedAt = (m: Record<string, unknown>) =>
      new Date(Math.min(Date.parse(String(m.timestamp)) + 60_000, loadedAt));
    // The columns first: traits arrive with identify and group calls only, so only those are read.
    log(`${name}: reading the columns of ${messages} messages...`);
    let columns: ClickhouseWarehouseColumns | undefined;
    for await (const piece of pieces(file, PIECE, (l) => /"type"\s*:\s*"(identify|group)"/.test(l)))
      columns = clickhouseWarehouseColumns(toSegmentWarehouse(piece, receivedAt), columns);
    columns ??= clickhouseWarehouseColumns(toSegmentWarehouse([], receivedAt));
    const merged = await createClickhouseWarehouse(ch, wh.database, columns, { sharded });
    let done = 0;
    for await (const piece of pieces(file, PIECE)) {
      await appendClickhouseWarehouse(ch, wh.database, columns, toSegmentWarehouse(piece, receivedAt), {
        batchRows: PIECE,
      });
      done += piece.length;
      log(`${name}: ${done} / ${messages} messages loaded`);
    }
    log(`${name}: merging parts (OPTIMIZE FINAL)...`);
    for (const t of merged) await ch.exec(`OPTIMIZE TABLE ${t} FINAL`);
    const loadSeconds = round((performance.now() - started) / 1000, 1);
    const base = structuredClone(loadConfig(SHIPPED_CONFIG).config) as Record<string, unknown>;
    base.source = {
      type: "clickhouse",
      preset: "segment-warehouse",
      database: wh.database,
      // Rows land here as they are received (received_at is their load time): no load delay to cover.
      loadDelayHours: 0,
      ...(CHUNK_SIZE ? { chunkSize: CHUNK_SIZE } : {}),
    };
    fs.writeFileSync(configFile, YAML.stringify(base));
    const source = loadConfig(configFile).config.source;
    const tables = Object.keys(columns).map((t) => `${chIdentifier(wh.database)}.${chIdentifier(t)}`);
    return {
      env: { ...scores.env, PQL_SOURCE_URL: wh.url },
      configFile,
      chunkSize: source && source.type !== "builtin" ? source.chunkSize : null,
      loadSeconds,
      events: async () => {
        let n = 0;
        for (const t of tables)
          n += Number((await ch.query<{ n: string }>(`SELECT count() AS n FROM ${t}`))[0]?.n);
        return n;
      },
      append: (raw) =>
        appendClickhouseWarehouse(
          ch,
          wh.database,
          columns,
          toSegmentWarehouse(raw, () => new Date()),
        ),
      drop,
    };
  } catch (error) {
    await drop();
    throw error;
  }
}

interface PassRow {
  pass: "full" | "incremental";
  /** What the pass did (an incremental pass falls back to full when it cannot be one). */
  mode: string | null;
  asOf: string;
  eventsInSource: number;
  seconds: number | null;
  accounts: number | null;
  scored: number | null;
  sourceQueries: number | null;
  sourceBytes: number | null;
  bytesPerAccountScored: number | null;
  peakRssMb: number | null;
  phasesMs: Record<string, number> | null;
  error: string | null;
}

async function timedPass(store: Loaded, at: Date, full: boolean): Promise<PassRow> {
  const row: PassRow = {
    pass: full ? "full" : "incremental",
    mode: null,
    asOf: at.toISOString(),
    eventsInSource: await store.events(),
    seconds: null,
    accounts: null,
    scored: null,
    sourceQueries: null,
    sourceBytes: null,
    bytesPerAccountScored: null,
    peakRssMb: null,
    phasesMs: null,
    error: null,
  };
  try {
    const run = await pass(store.env, at, full, store.configFile);
    Object.assign(row, {
      mode: run.mode,
      seconds: round(run.durationMs / 1000),
      accounts: run.accounts,
      scored: run.scored,
      sourceQueries: run.sourceQueries,
      sourceBytes: run.sourceBytes,
      bytesPerAccountScored: run.scored > 0 ? Math.round(run.sourceBytes / run.scored) : null,
      peakRssMb: run.maxRssMb,
      phasesMs: run.phases,
    });
  } catch (error) {
    row.error = (error as Error).message;
    log(`${row.pass} pass failed: ${row.error}`);
  }
  return row;
}

async function storeRun(store: Store) {
  const { file, messages } = await world(ACCOUNTS, DAYS);
  const loaded =
    store === "builtin"
      ? await loadBuiltin(file, messages)
      : await loadClickhouse(file, messages, store === "distributed");
  try {
    log(`${store}: full pass...`);
    const full = await timedPass(loaded, WORLD_END, true);
    const news = newEvents(ACCOUNTS);
    await loaded.append(news);
    log(`${store}: incremental pass after ${news.length} accounts got an event...`);
    const incremental = await timedPass(loaded, INCREMENTAL_AT, false);
    return {
      store,
      engine: store === "builtin" ? "postgresql" : "clickhouse",
      accounts: ACCOUNTS,
      historyDays: DAYS,
      worldMessages: messages,
      chunkSize: loaded.chunkSize,
      bytesMeasure:
        store === "builtin"
          ? "approximation: JSON text of the rows the builtin source's queries return"
          : "exact: ClickHouse HTTP response bodies (uncompressed JSONEachRow)",
      loadSeconds: loaded.loadSeconds,
      changedAccounts: news.length,
      passes: [full, incremental],
    };
  } finally {
    await loaded.drop();
  }
}

const results: Awaited<ReturnType<typeof storeRun>>[] = [];
if (!(await probePostgres())) log(`skipped: no PostgreSQL at ${PG_ADMIN_URL} (scores are stored there)`);
else {
  const clickhouse = await probeClickhouse();
  for (const store of STORES) {
    if (store !== "builtin" && !clickhouse) {
      log(
        `${store}: skipped, no ClickHouse at ${CLICKHOUSE_URL ?? "(none: scripts/clickhouse-server.sh start)"}`,
      );
      continue;
    }
    results.push(await storeRun(store));
  }
}

const mb = (bytes: number | null) => (bytes === null ? "-" : `${round(bytes / 1e6, 2)} MB`);
console.log(
  table(
    [
      "store",
      "pass",
      "events in source",
      "scored",
      "seconds",
      "source queries",
      "bytes from source",
      "bytes/account",
      "peak RSS",
    ],
    results.flatMap((r) =>
      r.passes.map((p) => [
        r.store,
        p.pass,
        p.eventsInSource,
        p.scored ?? "-",
        p.error ? `failed: ${p.error.slice(0, 80)}` : (p.seconds ?? "-"),
        p.sourceQueries ?? "-",
        `${mb(p.sourceBytes)}${r.store === "builtin" ? " (approx)" : ""}`,
        p.bytesPerAccountScored ?? "-",
        p.peakRssMb === null ? "-" : `${p.peakRssMb} MB`,
      ]),
    ),
    { align: ["left", "left", "right", "right", "right", "right", "right", "right", "right"] },
  ),
);
const fullSeconds = (store: Store) =>
  results.find((r) => r.store === store)?.passes.find((p) => p.pass === "full")?.seconds ?? null;
const builtinFull = fullSeconds("builtin");
const goal = Object.fromEntries(
  (["clickhouse", "distributed"] as const).map((s) => {
    const seconds = fullSeconds(s);
    return [s, builtinFull && seconds !== null ? round(seconds / builtinFull) : null];
  }),
);
if (builtinFull)
  console.log(
    `full pass against the builtin PostgreSQL store's (goal: at most 1x): clickhouse ${goal.clickhouse ?? "-"}x, distributed ${goal.distributed ?? "-"}x`,
  );
console.log(JSON.stringify({ benchmark: "warehouse", results, fullPassToBuiltin: goal }));
