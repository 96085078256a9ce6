/**
 * Backtest cost (the last part of `npm run bench`): a year of history replayed at weekly points
 * against one full scoring pass on the same data.
 *
 * A world of 10k accounts over 365 days (~7M events) with its outcomes is loaded into a fresh
 * PostgreSQL database, then into a fresh embedded one (vacuumed, analysed, checkpointed before
 * anything is timed). On each, every run in a child process whose peak RSS is reported:
 *  - one full scoring pass as of the world's end (bench/score-pass.ts; first in each run);
 *  - the backtest of the shipped config over 52 weekly points (the default period: the last
 *    point 90 days before the newest event), from daily per-account rollups read once
 *    (bench/backtest-run.ts);
 *  - the same with --baseline: two configs (the shipped one, and a candidate with other windows
 *    and thresholds) replayed side by side from one read.
 * PostgreSQL takes the median of BENCH_RUNS runs of each (default 3); the embedded engine of
 * BENCH_EMBEDDED_RUNS (default 1: minutes per run). Reported: seconds, backtest / full pass,
 * peak RSS, points, accounts, events, scorings replayed and judged, and a digest of the replayed
 * numbers (equal digests: identical results). BENCH_ENGINES=postgres or embedded runs one engine;
 * BENCH_BASELINE=0 skips the two-config run; BENCH_SCALE_FACTOR=0.05 shrinks the world for a
 * quick look. Prints a table, then one JSON line. Figures, never pass/fail.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { importFile } from "../src/app/jobs/import-file.ts";
import { table } from "../src/cli/output.ts";
import { systemClock } from "../src/clock.ts";
import { loadConfig } from "../src/config/load-config.ts";
import { readOutcomesCsv } from "../src/signals/outcomes-csv.ts";
import { openDatabase } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { storeOutcomes } from "../src/store/outcome-store.ts";
import { PG_ADMIN_URL, probePostgres } from "../test/helpers/postgres.ts";
import {
  type Engine,
  fresh,
  median,
  OUT,
  round,
  runChild,
  SHIPPED_CONFIG,
  WORLD_END,
  world,
} from "./common.ts";

const FACTOR = Number(process.env.BENCH_SCALE_FACTOR ?? 1);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EMBEDDED_RUNS = Number(process.env.BENCH_EMBEDDED_RUNS ?? 1);
const ENGINES = (process.env.BENCH_ENGINES ?? "postgres,embedded").split(",") as Engine[];
const BASELINE = process.env.BENCH_BASELINE !== "0";
const ACCOUNTS = Math.max(1, Math.round(10_000 * FACTOR));
const DAYS = 365;

const log = (line: string) => process.stderr.write(`backtest: ${line}\n`);

interface ChildRun {
  durationMs: number;
  maxRssMb: number;
}
interface PassRun extends ChildRun {
  scored: number;
  phases: Record<string, number>;
}
interface BacktestRun extends ChildRun {
  points: number;
  from: string;
  to: string;
  accounts: number;
  configs: number;
  scorings: number;
  judged: number;
  digest: string;
}

const fullPass = (env: Record<string, string>) =>
  runChild<PassRun>("bench/score-pass.ts", [WORLD_END.toISOString(), "full", SHIPPED_CONFIG], env);
const backtest = (env: Record<string, string>, baseline: boolean) =>
  runChild<BacktestRun>(
    "bench/backtest-run.ts",
    baseline ? [candidateConfig(), SHIPPED_CONFIG] : [SHIPPED_CONFIG],
    env,
  );

/**
 * The candidate of the two-config run (written once under bench/out): the shipped config with
 * an activity window a week longer, signal windows a third shorter and the hot threshold 5
 * points lower, so both the rollups (signal keys per config) and the scores differ.
 */
function candidateConfig(): string {
  const file = path.join(OUT, "config-backtest-candidate.yaml");
  const config = structuredClone(loadConfig(SHIPPED_CONFIG).config);
  config.scoring.activeWindowDays += 7;
  for (const s of config.signals) s.windowDays = Math.max(1, Math.round((s.windowDays * 2) / 3));
  config.tiers.hot = Math.max(config.tiers.warm + 1, config.tiers.hot - 5);
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

/** A fresh database on `engine` holding the world and its outcomes, settled before anything is timed. */
async function loaded(engine: Engine, file: string, outcomesFile: string, messages: number) {
  const db = await fresh(engine);
  log(`importing ${messages} messages and the outcomes into ${engine}...`);
  const started = performance.now();
  const opened = await openDatabase(db.settings);
  try {
    await migrate(opened);
    await importFile({ db: opened, clock: systemClock }, file);
    const outcomes = await readOutcomesCsv(outcomesFile);
    await storeOutcomes(opened, outcomes.rows, `file:${path.basename(outcomesFile)}`);
    await opened.sql.exec("VACUUM ANALYZE");
    if (engine === "postgres") await opened.sql.exec("CHECKPOINT");
  } finally {
    await opened.close();
  }
  return { db, importSeconds: round((performance.now() - started) / 1000, 1) };
}

/** The run of median duration (its other figures go with it); peak RSS is the highest of all. */
function mid<T extends ChildRun>(runs: T[]): T & { runsSeconds: number[]; peakRssMb: number } {
  const m = median(runs.map((r) => r.durationMs));
  const run = runs.find((r) => r.durationMs === m) as T;
  return {
    ...run,
    runsSeconds: runs.map((r) => round(r.durationMs / 1000)),
    peakRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
  };
}

async function engineRun(engine: Engine, runs: number) {
  const { file, outcomesFile, messages } = await world(ACCOUNTS, DAYS);
  const { db, importSeconds } = await loaded(engine, file, outcomesFile, messages);
  try {
    const passes: PassRun[] = [];
    const backtests: BacktestRun[] = [];
    const baselines: BacktestRun[] = [];
    // Interleaved, so drift on a shared machine falls on all three alike. The full pass goes
    // first: its sweep attributes the messages that arrived before their user's group call, as
    // the worker's passes do before anyone runs a backtest, so every backtest sees the same data.
    for (let run = 1; run <= runs; run++) {
      log(`${engine}: full scoring pass (run ${run}/${runs})...`);
      passes.push(await fullPass(db.env));
      log(`${engine}: backtest (run ${run}/${runs})...`);
      backtests.push(await backtest(db.env, false));
      if (BASELINE) {
        log(`${engine}: backtest with a baseline (run ${run}/${runs})...`);
        baselines.push(await backtest(db.env, true));
      }
    }
    const pass = mid(passes);
    const bt = mid(backtests);
    const two = baselines.length > 0 ? mid(baselines) : null;
    return {
      engine,
      accounts: ACCOUNTS,
      historyDays: DAYS,
      events: messages,
      importSeconds,
      runs,
      fullPass: {
        seconds: round(pass.durationMs / 1000),
        runsSeconds: pass.runsSeconds,
        scored: pass.scored,
        peakRssMb: pass.peakRssMb,
        phasesMs: pass.phases,
      },
      backtest: {
        seconds: round(bt.durationMs / 1000),
        runsSeconds: bt.runsSeconds,
        toFullPass: round(bt.durationMs / pass.durationMs),
        // What replaying a full pass at every point (and the warm-up point) would cost: an
        // estimate from the full pass measured here, not a measurement.
        naiveEstimateSeconds: round(((bt.points + 1) * pass.durationMs) / 1000),
        points: bt.points,
        from: bt.from.slice(0, 10),
        to: bt.to.slice(0, 10),
        scorings: bt.scorings,
        judged: bt.judged,
        peakRssMb: bt.peakRssMb,
        digest: bt.digest,
        digestsAgree: backtests.every((r) => r.digest === bt.digest),
      },
      withBaseline: two && {
        seconds: round(two.durationMs / 1000),
        runsSeconds: two.runsSeconds,
        toFullPass: round(two.durationMs / pass.durationMs),
        toOneConfig: round(two.durationMs / bt.durationMs),
        scorings: two.scorings,
        judged: two.judged,
        peakRssMb: two.peakRssMb,
        digest: two.digest,
        digestsAgree: baselines.every((r) => r.digest === two.digest),
      },
    };
  } finally {
    await db.drop();
  }
}

const results: Awaited<ReturnType<typeof engineRun>>[] = [];
for (const engine of ENGINES) {
  if (engine === "postgres" && !(await probePostgres())) {
    log(`postgres: skipped, no PostgreSQL at ${PG_ADMIN_URL}`);
    continue;
  }
  results.push(await engineRun(engine, engine === "postgres" ? RUNS : EMBEDDED_RUNS));
}
console.log(
  table(
    [
      "engine",
      "accounts",
      "events",
      "points",
      "full pass s",
      "backtest s",
      "backtest/full",
      "with baseline s",
      "scorings (judged)",
      "peak RSS pass / backtest / baseline",
    ],
    results.map((r) => [
      r.engine,
      r.accounts,
      r.events,
      r.backtest.points,
      r.fullPass.seconds,
      r.backtest.seconds,
      `${r.backtest.toFullPass}x`,
      r.withBaseline ? `${r.withBaseline.seconds} (${r.withBaseline.toFullPass}x)` : "-",
      `${r.backtest.scorings} (${r.backtest.judged})`,
      `${r.fullPass.peakRssMb} / ${r.backtest.peakRssMb} / ${r.withBaseline?.peakRssMb ?? "-"} MB`,
    ]),
    { align: ["left", "right", "right", "right", "right", "right", "right", "right", "right", "right"] },
  ),
);
console.log(JSON.stringify({ benchmark: "backtest", results }));
