/**
 * Import throughput against the physical floor, on both engines (the first half of `npm run bench`).
 *
 * For each engine (PostgreSQL at 127.0.0.1:5432 when reachable, and the embedded default):
 *  - `pql-router import` of a generated world of ~BENCH_EVENTS messages (default 1M), run as the
 *    real CLI in a child process into a fresh database, BENCH_RUNS times (default 3): the median
 *    events per second, and peak RSS;
 *  - a raw COPY of the same rows into the same (fresh, migrated) messages table on the same
 *    engine in the same run, as many times: the physical floor, and our ratio to it;
 *  - memory flat in file size: the import of the first quarter and of the whole file with the JS
 *    heap capped at 160 MB: both finish, with about the same peak RSS.
 * On PostgreSQL every timed phase starts after a CHECKPOINT, so one phase's WAL does not slow the next.
 * Prints a table, then one JSON line. Figures, never pass/fail. BENCH_ENGINES=postgres (or
 * embedded) runs one engine only.
 */
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { pipeline } from "node:stream/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { table } from "../src/cli/output.ts";
import { parseSegmentMessage } from "../src/signals/segment-message.ts";
import { openDatabase } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { ROOT, runCli } from "../test/helpers/cli.ts";
import { probePostgres } from "../test/helpers/postgres.ts";
import { type Engine, fresh, median, round, world } from "./common.ts";

const TARGET = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const COPY_COLUMNS =
  "message_id, type, user_id, anonymous_id, account_id, event, path, timestamp, received_at, payload";

async function head(file: string, lines: number): Promise<string> {
  const out = `${file}.head-${lines}`;
  if (fs.existsSync(out)) return out;
  const w = fs.createWriteStream(out);
  let n = 0;
  for await (const line of readline.createInterface({ input: fs.createReadStream(file) })) {
    if (n++ >= lines) break;
    w.write(`${line}\n`);
  }
  w.end();
  await once(w, "finish");
  return out;
}

/** The same rows the import stores, as COPY CSV (prepared untimed). */
async function copyFile(file: string): Promise<string> {
  const out = `${file}.copy.csv`;
  if (fs.existsSync(out)) return out;
  const w = fs.createWriteStream(out);
  const receivedAt = new Date().toISOString();
  const csv = (v: string | null) => (v === null ? "" : `"${v.replaceAll('"', '""')}"`);
  for await (const line of readline.createInterface({ input: fs.createReadStream(file) })) {
    const parsed = parseSegmentMessage(JSON.parse(line), { receivedAt: new Date(receivedAt) });
    if (!parsed.ok) continue;
    const m = parsed.message;
    const row = [
      m.messageId,
      m.type,
      m.userId,
      m.anonymousId,
      m.accountId,
      m.event,
      m.path,
      m.timestamp.toISOString(),
      receivedAt,
      JSON.stringify(m.payload),
    ];
    if (!w.write(`${row.map(csv).join(",")}\n`)) await once(w, "drain");
  }
  w.end();
  await once(w, "finish");
  return out;
}

/** Runs the real CLI import; returns seconds (import only: the database is migrated first), peak RSS and its summary. */
async function cliImport(
  engine: Engine,
  file: string,
  nodeArgs: string[] = [],
): Promise<{ seconds: number; rssMb: number; accepted: number }> {
  const db = await fresh(engine);
  try {
    const opened = await openDatabase(db.settings);
    await migrate(opened);
    if (engine === "postgres") await opened.sql.exec("CHECKPOINT");
    await opened.close();
    const started = process.hrtime.bigint();
    const { stdout, stderr, code } = await runCli(["import", file, "--json"], db.env, [
      ...nodeArgs,
      "--import",
      path.join(ROOT, "bench/report-rss.js"),
    ]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`import failed on ${engine}: ${stderr}`);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
    const rss = Number(/BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
    return { seconds, rssMb: rss / 1024, accepted: summary.accepted };
  } finally {
    await db.drop();
  }
}

/** The floor: COPY of the same rows into the same migrated table, same engine. */
async function copyFloor(engine: Engine, csvFile: string): Promise<{ seconds: number; rows: number }> {
  const db = await fresh(engine);
  try {
    const opened = await openDatabase(db.settings);
    await migrate(opened);
    let seconds: number;
    if (engine === "postgres") {
      await opened.sql.exec("CHECKPOINT");
      await opened.close();
      const client = new pg.Client({ connectionString: db.settings.databaseUrl });
      await client.connect();
      const started = process.hrtime.bigint();
      await pipeline(
        fs.createReadStream(csvFile),
        client.query(copyFrom(`COPY messages (${COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv)`)),
      );
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await client.end();
    } else {
      // The embedded engine's COPY reads a blob (PGlite has no client-side stream).
      await opened.close();
      const blob = new Blob([fs.readFileSync(csvFile)]);
      const lite = await PGlite.create(path.join(db.settings.dataDir, "pgdata"));
      const started = process.hrtime.bigint();
      await lite.query(`COPY messages (${COPY_COLUMNS}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob });
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await lite.close();
    }
    const check = await openDatabase(db.settings);
    const { rows } = await check.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM messages");
    await check.close();
    return { seconds, rows: rows[0]?.n ?? 0 };
  } finally {
    await db.drop();
  }
}

const { file, messages } = await world(Math.max(10, Math.round(TARGET / 67)), 30);
const quarter = await head(file, Math.floor(messages / 4));
const csvFile = await copyFile(file);
const engines: Engine[] = ((await probePostgres()) ? ["postgres", "embedded"] : ["embedded"]).filter(
  (e): e is Engine => !process.env.BENCH_ENGINES || process.env.BENCH_ENGINES.split(",").includes(e),
);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CAPPED = ["--max-old-space-size=160"];
const results = [];
for (const engine of engines) {
  const imports = [];
  const copies = [];
  for (let run = 1; run <= RUNS; run++) {
    process.stderr.write(`${engine}: import of ${messages} messages (run ${run}/${RUNS})...\n`);
    imports.push(await cliImport(engine, file));
    process.stderr.write(`${engine}: COPY floor (run ${run}/${RUNS})...\n`);
    copies.push(await copyFloor(engine, csvFile));
  }
  process.stderr.write(`${engine}: imports with the heap capped at 160 MB...\n`);
  const cappedQuarter = await cliImport(engine, quarter, CAPPED);
  const cappedFull = await cliImport(engine, file, CAPPED);
  const importSeconds = median(imports.map((r) => r.seconds));
  const copySeconds = median(copies.map((r) => r.seconds));
  const events = imports[0]?.accepted ?? 0;
  results.push({
    engine,
    events,
    runs: RUNS,
    importSeconds: round(importSeconds),
    importEventsPerSecond: Math.round(events / importSeconds),
    copySeconds: round(copySeconds),
    copyRowsPerSecond: Math.round((copies[0]?.rows ?? 0) / copySeconds),
    ratioToCopy: round(copySeconds / importSeconds),
    peakRssMb: Math.round(median(imports.map((r) => r.rssMb))),
    cappedHeapPeakRssMbQuarterFile: Math.round(cappedQuarter.rssMb),
    cappedHeapPeakRssMbFullFile: Math.round(cappedFull.rssMb),
  });
}
console.log(
  table(
    [
      "engine",
      "events",
      "import s (median)",
      "import ev/s",
      "COPY s (median)",
      "COPY rows/s",
      "import/COPY",
      "peak RSS",
      "160 MB heap: RSS 1/4 file",
      "RSS full file",
    ],
    results.map((r) => [
      r.engine,
      r.events,
      r.importSeconds,
      r.importEventsPerSecond,
      r.copySeconds,
      r.copyRowsPerSecond,
      `${r.ratioToCopy}x`,
      `${r.peakRssMb} MB`,
      `${r.cappedHeapPeakRssMbQuarterFile} MB`,
      `${r.cappedHeapPeakRssMbFullFile} MB`,
    ]),
    { align: ["left", "right", "right", "right", "right", "right", "right", "right", "right", "right"] },
  ),
);
console.log(JSON.stringify({ benchmark: "import", messages, results }));
