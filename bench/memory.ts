/**
 * Embedded-engine memory, as a new user meets it (part of `npm run bench`): the peak RSS and
 * the time of `npm start` (the demo: sample data into a new database, a scoring pass, the HubSpot
 * preview) and of `pql-router import` of a ~100k-message file into a new database, each the real
 * CLI in a child process, BENCH_RUNS times (default 3), medians. Beside them, the figures measured
 * before the memory work (issue 10). Prints a table, then one JSON line. Figures, never pass/fail.
 */
import fs from "node:fs";
import path from "node:path";
import { table } from "../src/cli/output.ts";
import { ROOT, runCli } from "../test/helpers/cli.ts";
import { median, OUT, round, world } from "./common.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Measured before (issue 10): the demo with 400 accounts, and a 92k-message import. */
const BEFORE = { demo: { peakRssMb: 1_000 }, import: { peakRssMb: 930 } };
const GOAL_MB = 400;

async function run(args: string[]): Promise<{ seconds: number; peakRssMb: number }> {
  const dataDir = fs.mkdtempSync(path.join(OUT, "mem-"));
  try {
    const started = process.hrtime.bigint();
    const { code, stderr } = await runCli(args, { DATABASE_URL: "", PQL_DATA_DIR: dataDir }, [
      "--import",
      path.join(ROOT, "bench/report-rss.js"),
    ]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`${args.join(" ")} failed: ${stderr}`);
    const kb = Number(/BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
    return { seconds, peakRssMb: Math.round(kb / 1024) };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measure(name: string, args: string[]) {
  const runs: { seconds: number; peakRssMb: number }[] = [];
  for (let i = 1; i <= RUNS; i++) {
    process.stderr.write(`memory: ${name} (run ${i}/${RUNS})...\n`);
    runs.push(await run(args));
  }
  return {
    seconds: round(median(runs.map((r) => r.seconds))),
    peakRssMb: median(runs.map((r) => r.peakRssMb)),
    maxPeakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
  };
}

const sample = await world(1_400, 30, 10);
const demo = await measure("npm start (demo, 400 accounts)", ["demo"]);
const imported = await measure(`import of ${sample.messages} messages`, ["import", sample.file]);
const rows = [
  { what: "npm start (demo, 400 accounts)", before: BEFORE.demo.peakRssMb, ...demo },
  {
    what: `import, ${sample.messages.toLocaleString("en-US")} messages, new database`,
    before: BEFORE.import.peakRssMb,
    ...imported,
  },
];
console.log(
  table(
    ["embedded engine", "peak RSS (median)", "peak RSS (max)", "before", "goal", "seconds (median)"],
    rows.map((r) => [
      r.what,
      `${r.peakRssMb} MB`,
      `${r.maxPeakRssMb} MB`,
      `${r.before} MB`,
      `< ${GOAL_MB} MB`,
      r.seconds,
    ]),
    { align: ["left", "right", "right", "right", "right", "right"] },
  ),
);
console.log(JSON.stringify({ benchmark: "memory", runs: RUNS, goalMb: GOAL_MB, results: rows }));
