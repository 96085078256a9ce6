/**
 * Scoring throughput against the bare aggregation (the second half of `npm run bench`).
 *
 *  M: 10k accounts, ~1M events, the embedded default: a full pass.
 *  L: 100k accounts, ~10M events, PostgreSQL: a full pass; then an incremental pass after 1% of
 *     the accounts receive new events.
 * Beside each, in the same run and on the same data: the bare aggregation query alone (the
 * features of every account, materialised in the database: what a hand-written SQL model would
 * cost), and the ratio. Each pass runs in a child process whose peak RSS is reported.
 *  H: the cost of history. 10k accounts on PostgreSQL, the same windows (signals of at most 30
 *     days, activity 14 days: scoring reads 30 days), over 45 days of history (~1M events) and
 *     over 360 days (~7.1M events): a full pass over each and their ratio, beside the events the
 *     30 days hold (the longer world's accounts are older and busier: ~1.4M against ~0.9M). A pass
 *     should cost what its windows hold, not the length of the history.
 * M and H take the median of BENCH_RUNS runs (default 3); L runs once (minutes per pass). The
 * data is vacuumed, analysed and checkpointed after loading, before anything is timed.
 * BENCH_SCALES=M, L or H (or a list) runs those scales; BENCH_SCALE_FACTOR=0.05 shrinks all for a
 * quick look. Prints a table per part, then one JSON line. Figures, never pass/fail.
 */
import { importFile } from "../src/app/jobs/import-file.ts";
import { table } from "../src/cli/output.ts";
import { systemClock } from "../src/clock.ts";
import { type LoadedConfig, loadConfig } from "../src/config/load-config.ts";
import { personaMatcher } from "../src/signals/persona.ts";
import { parseSegmentMessage, type SegmentMessage } from "../src/signals/segment-message.ts";
import { FEATURES_SQL, featuresParams } from "../src/store/account-features-query.ts";
import { openDatabase } from "../src/store/database.ts";
import { storeMessages } from "../src/store/message-store.ts";
import { migrate } from "../src/store/migrate.ts";
import { personaKeys } from "../src/store/persona-store.ts";
import { probePostgres } from "../test/helpers/postgres.ts";
import {
  type Engine,
  fresh,
  median,
  round,
  runChild,
  SHIPPED_CONFIG,
  WORLD_END,
  windowedConfig,
  world,
} from "./common.ts";

const config = loadConfig(SHIPPED_CONFIG);
const FACTOR = Number(process.env.BENCH_SCALE_FACTOR ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SCALES = (process.env.BENCH_SCALES ?? "M,L,H").split(",");
const DAYS = 45; // about 100 events per account, so 10k accounts make ~1M events
/** H: the histories compared, in days, and the windows (as the issue measured them). */
const HISTORIES = [45, 360];
const WINDOWS = { signalDays: 30, activeDays: 14 };

interface PassRun {
  durationMs: number;
  scored: number;
  mode: string;
  maxRssMb: number;
  phases: Record<string, number>;
}

function pass(env: Record<string, string>, full: boolean, configFile = SHIPPED_CONFIG): Promise<PassRun> {
  return runChild<PassRun>(
    "bench/score-pass.ts",
    [WORLD_END.toISOString(), full ? "full" : "incremental", configFile],
    env,
  );
}

/** The floor: the same aggregation for every account in one statement, materialised in the database. */
async function bareAggregation(
  settings: { databaseUrl: string | undefined; dataDir: string },
  loaded: LoadedConfig = config,
): Promise<number> {
  const db = await openDatabase(settings);
  try {
    const { rows } = await db.sql.query<{ id: string }>("SELECT id FROM accounts");
    const personas = await personaKeys(db, personaMatcher(loaded.config.personas));
    const started = process.hrtime.bigint();
    await db.sql.query(
      `CREATE TEMP TABLE bare_features AS ${FEATURES_SQL}`,
      featuresParams(
        loaded.config,
        WORLD_END,
        rows.map((r) => r.id),
        personas,
      ),
    );
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await db.sql.exec("DROP TABLE bare_features");
    return ms;
  } finally {
    await db.close();
  }
}

/** A fresh database on `engine` holding `file`, settled: vacuumed, analysed (and checkpointed). */
async function loaded(name: string, engine: Engine, file: string, messages: number) {
  const db = await fresh(engine);
  process.stderr.write(`${name}: importing ${messages} messages into ${engine}...\n`);
  const opened = await openDatabase(db.settings);
  await migrate(opened);
  await importFile({ db: opened, clock: systemClock }, file);
  // Settle the bulk load before timing anything: fresh statistics, no autovacuum or checkpoint
  // of 10M new rows running under the timed passes.
  await opened.sql.exec("VACUUM ANALYZE");
  if (engine === "postgres") await opened.sql.exec("CHECKPOINT");
  await opened.close();
  return db;
}

/** New events for every 100th account (1%), an hour before the end: what an incremental pass sees. */
function newEvents(accounts: number): SegmentMessage[] {
  const messages: SegmentMessage[] = [];
  for (let i = 0; i < accounts; i += 100) {
    const id = `acct_${String(i + 1).padStart(6, "0")}`;
    const parsed = parseSegmentMessage(
      {
        type: "track",
        messageId: `bench-incr-${id}`,
        userId: `${id}_u1`,
        event: "Offer Letter Sent",
        context: { groupId: id },
        timestamp: new Date(WORLD_END.getTime() - 3_600_000).toISOString(),
      },
      { receivedAt: new Date() },
    );
    if (parsed.ok) messages.push(parsed.message);
  }
  return messages;
}

async function scale(name: string, engine: Engine, accounts: number, incremental: boolean, runs: number) {
  const { file, messages } = await world(accounts, DAYS);
  const db = await loaded(name, engine, file, messages);
  try {
    const fulls: PassRun[] = [];
    const floors: number[] = [];
    for (let run = 1; run <= runs; run++) {
      process.stderr.write(`${name}: full pass and bare aggregation (run ${run}/${runs})...\n`);
      fulls.push(await pass(db.env, true));
      floors.push(await bareAggregation(db.settings));
    }
    const full = median(fulls.map((r) => r.durationMs));
    const floor = median(floors);
    const row = {
      scale: name,
      engine,
      accounts,
      events: messages,
      fullPassSeconds: round(full / 1000),
      bareAggregationSeconds: round(floor / 1000),
      fullToBare: round(full / floor),
      peakRssMb: Math.max(...fulls.map((r) => r.maxRssMb)),
      fullPassPhasesMs: fulls[0]?.phases,
      incremental: null as null | {
        changedAccounts: number;
        scored: number;
        seconds: number;
        shareOfFull: number;
        phasesMs: Record<string, number>;
      },
    };
    if (incremental) {
      const changes = newEvents(accounts);
      const writer = await openDatabase(db.settings);
      await storeMessages(writer, changes);
      await writer.close();
      process.stderr.write(`${name}: incremental pass after ${changes.length} accounts changed...\n`);
      const inc = await pass(db.env, false);
      row.incremental = {
        changedAccounts: changes.length,
        scored: inc.scored,
        seconds: round(inc.durationMs / 1000),
        shareOfFull: round(inc.durationMs / full, 4),
        phasesMs: inc.phases,
      };
      row.peakRssMb = Math.max(row.peakRssMb, inc.maxRssMb);
    }
    return row;
  } finally {
    await db.drop();
  }
}

/**
 * H: full passes with the same windows over a short and a long history, on PostgreSQL. Each
 * history gets its own database (dropped after), BENCH_RUNS full passes (the median) and the bare
 * aggregation beside them.
 */
async function histories(accounts: number, runs: number) {
  const configFile = windowedConfig(WINDOWS.signalDays, WINDOWS.activeDays);
  const windowed = loadConfig(configFile);
  const rows = [];
  for (const days of HISTORIES) {
    const { file, messages } = await world(accounts, days);
    const db = await loaded(`H ${days}d`, "postgres", file, messages);
    try {
      // What the windows hold: the messages of the history read (a longer world can hold more).
      const readDays = Math.max(WINDOWS.signalDays, 2 * WINDOWS.activeDays);
      const counter = await openDatabase(db.settings);
      const { rows: inWindow } = await counter.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM messages WHERE timestamp > $1 AND timestamp <= $2",
        [new Date(WORLD_END.getTime() - readDays * 86_400_000).toISOString(), WORLD_END.toISOString()],
      );
      await counter.close();
      const fulls: PassRun[] = [];
      const floors: number[] = [];
      for (let run = 1; run <= runs; run++) {
        process.stderr.write(`H ${days}d: full pass and bare aggregation (run ${run}/${runs})...\n`);
        fulls.push(await pass(db.env, true, configFile));
        floors.push(await bareAggregation(db.settings, windowed));
      }
      const byDuration = [...fulls].sort((a, b) => a.durationMs - b.durationMs);
      const mid = byDuration[Math.floor(byDuration.length / 2)] as PassRun;
      rows.push({
        historyDays: days,
        accounts,
        events: messages,
        eventsRead: inWindow[0]?.n ?? 0,
        fullPassSeconds: round(mid.durationMs / 1000),
        fullPassRunsSeconds: fulls.map((r) => round(r.durationMs / 1000)),
        featuresSeconds: round((mid.phases.features ?? 0) / 1000),
        bareAggregationSeconds: round(median(floors) / 1000),
        peakRssMb: Math.max(...fulls.map((r) => r.maxRssMb)),
        fullPassPhasesMs: mid.phases,
      });
    } finally {
      await db.drop();
    }
  }
  const [short, long] = rows;
  return {
    windows: { ...WINDOWS, historyReadDays: Math.max(WINDOWS.signalDays, 2 * WINDOWS.activeDays) },
    rows,
    longToShort: short && long ? round(long.fullPassSeconds / short.fullPassSeconds) : null,
  };
}

const results = [];
if (SCALES.includes("M"))
  results.push(await scale("M", "embedded", Math.round(10_000 * FACTOR), false, RUNS));
const postgres = await probePostgres();
if (SCALES.includes("L")) {
  if (postgres) results.push(await scale("L", "postgres", Math.round(100_000 * FACTOR), true, 1));
  else process.stderr.write("L: skipped, no PostgreSQL at 127.0.0.1:5432\n");
}
let history: Awaited<ReturnType<typeof histories>> | null = null;
if (SCALES.includes("H")) {
  if (postgres) history = await histories(Math.round(10_000 * FACTOR), RUNS);
  else process.stderr.write("H: skipped, no PostgreSQL at 127.0.0.1:5432\n");
}
console.log(
  table(
    [
      "scale",
      "engine",
      "accounts",
      "events",
      "full pass s",
      "bare aggregation s",
      "full/bare",
      "incremental (1% changed)",
      "peak RSS",
    ],
    results.map((r) => [
      r.scale,
      r.engine,
      r.accounts,
      r.events,
      r.fullPassSeconds,
      r.bareAggregationSeconds,
      `${r.fullToBare}x`,
      r.incremental
        ? `${r.incremental.seconds} s, ${r.incremental.scored} scored, ${round(100 * r.incremental.shareOfFull, 1)}% of full`
        : "-",
      `${r.peakRssMb} MB`,
    ]),
    { align: ["left", "left", "right", "right", "right", "right", "right", "left", "right"] },
  ),
);
if (history) {
  const h = history;
  console.log(
    `\nH: the same windows (signals <= ${h.windows.signalDays} days, activity ${h.windows.activeDays} days: ${h.windows.historyReadDays} days read) over more history, PostgreSQL, full pass (median of ${RUNS})`,
  );
  console.log(
    table(
      [
        "history",
        "accounts",
        "events",
        `events in the last ${h.windows.historyReadDays} days`,
        "full pass s",
        "features phase s",
        "bare aggregation s",
        "peak RSS",
      ],
      h.rows.map((r) => [
        `${r.historyDays} days`,
        r.accounts,
        r.events,
        r.eventsRead,
        r.fullPassSeconds,
        r.featuresSeconds,
        r.bareAggregationSeconds,
        `${r.peakRssMb} MB`,
      ]),
      { align: ["left", "right", "right", "right", "right", "right", "right", "right"] },
    ),
  );
  console.log(`full pass, ${HISTORIES.at(-1)} days against ${HISTORIES[0]} days: ${h.longToShort}x`);
}
console.log(JSON.stringify({ benchmark: "score", results, history }));
