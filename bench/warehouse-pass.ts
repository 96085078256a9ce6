// One scoring pass reading the config's source, in its own process (for its peak RSS), with
// what travelled from the source to pql-router.
// Usage: node --import tsx bench/warehouse-pass.ts <as-of ISO date> <full|incremental> <config file>
// (pql-router's database from DATABASE_URL, the warehouse from PQL_SOURCE_URL)
//
// Bytes: a ClickHouse source counts the JSONEachRow bodies of its answers, as received (exact).
// The builtin store reads the same database it writes, so nothing is sent by a separate source;
// what stands in is an approximation: the rows its source queries return (accounts, changed
// accounts, persona table, features), as JSON text, one line each. They are counted on a second
// read of the same accounts after the timed pass, so the counting costs the pass nothing.
import { pino } from "pino";
import { runScorePass } from "../src/app/jobs/score-pass.ts";
import { systemClock } from "../src/clock.ts";
import { loadConfig } from "../src/config/load-config.ts";
import { loadSettings } from "../src/config/settings.ts";
import { scoringWindows } from "../src/config/windows.ts";
import { personaMatcher } from "../src/signals/persona.ts";
import { builtinSource } from "../src/sources/signal-source.ts";
import { sourceBytesRead } from "../src/sources/warehouse-source.ts";
import { type Database, openDatabase, type SqlClient } from "../src/store/database.ts";
import { type LastPass, lastScorePass } from "../src/store/score-store.ts";

const now = new Date(process.argv[2] ?? "");
const full = process.argv[3] === "full";
const config = loadConfig(process.argv[4] ?? "");
const settings = loadSettings(process.env);
const db = await openDatabase(settings);
const last = await lastScorePass(db);
const result = await runScorePass(
  { db, config, clock: systemClock, log: pino({ level: "silent" }), settings },
  { now, full },
);
const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const builtin = !config.config.source || config.config.source.type === "builtin";
const reads = builtin ? await builtinReads(db, result.mode, last) : sourceBytesRead();
await db.close();
console.log(
  JSON.stringify({
    durationMs: result.durationMs,
    mode: result.mode,
    accounts: result.accounts,
    scored: result.scored,
    tiers: result.tiers,
    phases: result.phases,
    sourceQueries: reads.queries,
    sourceBytes: reads.bytes,
    bytesMeasure: builtin ? "approx: JSON text of the rows the builtin source read" : "HTTP response bodies",
    maxRssMb,
  }),
);

/** The builtin source's reads of the pass again, through a client that sizes every row as JSON. */
async function builtinReads(
  database: Database,
  mode: "full" | "incremental",
  before: LastPass | null,
): Promise<{ queries: number; bytes: number }> {
  const reads = { queries: 0, bytes: 0 };
  const sql: SqlClient = {
    ...database.sql,
    query: async <R>(text: string, params?: unknown[]) => {
      const answer = await database.sql.query<R>(text, params);
      reads.queries++;
      for (const row of answer.rows) reads.bytes += Buffer.byteLength(JSON.stringify(row)) + 1;
      return answer;
    },
  };
  const source = builtinSource({ ...database, sql });
  let ids: string[];
  if (mode === "incremental" && before) {
    const windows = [...new Set(scoringWindows(config.config).map((w) => w.days))];
    ids = await source.accountIds(now, await source.changedAccountIds(before, now, windows));
    await source.accountCount();
  } else ids = await source.accountIds(now);
  const read = await source.featureReader(config.config, personaMatcher(config.config.personas));
  for (let i = 0; i < ids.length; i += source.chunkSize) await read(now, ids.slice(i, i + source.chunkSize));
  return reads;
}
