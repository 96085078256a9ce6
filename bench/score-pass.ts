// One scoring pass in its own process, so the benchmark can read this process's peak RSS.
// Usage: node --import tsx bench/score-pass.ts <as-of ISO date> [full] [config file]
// (database from the environment; the example config unless a file is given)
import { pino } from "pino";
import { runScorePass } from "../src/app/jobs/score-pass.ts";
import { systemClock } from "../src/clock.ts";
import { loadConfig } from "../src/config/load-config.ts";
import { loadSettings } from "../src/config/settings.ts";
import { openDatabase } from "../src/store/database.ts";
import { SHIPPED_CONFIG } from "./common.ts";

const settings = loadSettings(process.env);
const db = await openDatabase(settings);
const config = loadConfig(process.argv[4] ?? SHIPPED_CONFIG);
const result = await runScorePass(
  { db, config, clock: systemClock, log: pino({ level: "silent" }) },
  { now: new Date(process.argv[2] ?? ""), full: process.argv[3] === "full" },
);
await db.close();
console.log(
  JSON.stringify({
    durationMs: result.durationMs,
    scored: result.scored,
    mode: result.mode,
    tiers: result.tiers,
    phases: result.phases,
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
