// One backtest in its own process, so the benchmark can read this process's peak RSS.
// Usage: node --import tsx bench/backtest-run.ts <config file> [baseline config file]
// (database from the environment). Replays the default period (52 weekly points ending 90 days
// before the newest event) and prints one JSON line: time, points, accounts, scorings, judged
// observations, peak RSS and a digest of every replayed number (the same digest before and after
// an optimisation: the same results). V8's heap settings are the CLI's (bin/pql-router.js).
import { createHash } from "node:crypto";
import path from "node:path";
import v8 from "node:v8";
import { runBacktest } from "../src/app/jobs/backtest.ts";
import { loadConfig } from "../src/config/load-config.ts";
import { loadSettings } from "../src/config/settings.ts";
import { openDatabase } from "../src/store/database.ts";

// As bin/pql-router.js does on the embedded engine (the process also holds the database): the
// peak RSS measured is the CLI's.
if ((process.env.DATABASE_URL ?? "").trim() === "") v8.setFlagsFromString("--heap-growing-percent=10");

const [candidateFile, baselineFile] = process.argv.slice(2);
if (!candidateFile) throw new Error("usage: backtest-run.ts <config file> [baseline config file]");
const db = await openDatabase(loadSettings(process.env));
const configs = [
  ...(baselineFile
    ? [{ label: `baseline (${path.basename(baselineFile)})`, config: loadConfig(baselineFile).config }]
    : []),
  { label: path.basename(candidateFile), config: loadConfig(candidateFile).config },
];
const started = performance.now();
const { report, input, observations } = await runBacktest(db, { configs });
const durationMs = performance.now() - started;
await db.close();

const digest = createHash("sha256");
let scorings = 0;
for (const run of input.runs) {
  const s = run.scores;
  for (const a of [s.score, s.tier, s.pqr, s.components, s.signals, s.routedPool])
    digest.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  for (const x of s.score) if (!Number.isNaN(x)) scorings++;
}
digest.update(JSON.stringify(report.configs));
console.log(
  JSON.stringify({
    durationMs: Math.round(durationMs),
    points: report.period.points,
    from: report.period.from,
    to: report.period.to,
    accounts: input.accounts.length,
    configs: configs.length,
    scorings,
    judged: observations.length,
    digest: digest.digest("hex").slice(0, 16),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
