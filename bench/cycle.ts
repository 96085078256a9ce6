/**
 * The scheduled cycle at M scale against the fakes of HubSpot and Slack (the last part of
 * `npm run bench`).
 *
 * PostgreSQL (skipped, and said so, when no server answers): the M world (BENCH_CYCLE_ACCOUNTS
 * accounts, default 10k, over 45 days: ~1M events) is imported; the fake HubSpot (default budgets,
 * properties set up once) and the fake Slack (the tests' channels) stand in for the real ones.
 * The clock runs in real time from the world's end, moved 60 s further before each cycle, so
 * every pass scores, routes and posts as a live worker would.
 *  - Warm-up: the first cycle (a full pass; companies matched or created, tasks, Slack posts),
 *    reported on its own.
 *  - Then BENCH_CYCLE_RUNS times (default 3), alternating: 1% of the accounts receive new events
 *    and a cycle runs; 1% more change and the scoring pass runs alone, with the options the cycle
 *    gives it (route: true). Reported: medians of the whole cycle and of each stage; the cycle's
 *    own overhead (its time minus its stages' times: the single-flight lock, the cycle_runs
 *    records, the config check) against the scoring pass alone, goal under 10%; the share of the
 *    stages after scoring (HubSpot, Slack: work, with a fixed cost); cycle / pass alone.
 *  - RSS: BENCH_CYCLE_RSS_CYCLES cycles (default 50) back to back, each after a 1% change; the
 *    process's RSS after the first and after the last (after a GC when node runs with
 *    --expose-gc), goal: no growth beyond 10%.
 * Prints a table, then one JSON line. Figures, never pass/fail.
 */
import fs from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { type CycleResult, runCycle, type StageName } from "../src/app/jobs/cycle.ts";
import { importFile } from "../src/app/jobs/import-file.ts";
import { runScorePass } from "../src/app/jobs/score-pass.ts";
import { table } from "../src/cli/output.ts";
import type { Clock } from "../src/clock.ts";
import { loadSettings } from "../src/config/settings.ts";
import { createHubSpotHttp } from "../src/integrations/hubspot/hubspot-http.ts";
import { setupProperties } from "../src/integrations/hubspot/property-setup.ts";
import { parseSegmentMessage, type SegmentMessage } from "../src/signals/segment-message.ts";
import { openDatabase } from "../src/store/database.ts";
import { storeMessages } from "../src/store/message-store.ts";
import { migrate } from "../src/store/migrate.ts";
import { FakeHubSpot } from "../test/helpers/fake-hubspot.ts";
import { startFakeSlack } from "../test/helpers/fake-slack.ts";
import { PG_ADMIN_URL, probePostgres } from "../test/helpers/postgres.ts";
import { CHANNELS, SLACK_TOKEN, slackConfig, writeConfig } from "../test/helpers/slack-world.ts";
import { fresh, median, OUT, round, WORLD_END, world } from "./common.ts";

const ACCOUNTS = Number(process.env.BENCH_CYCLE_ACCOUNTS ?? 10_000);
const RUNS = Number(process.env.BENCH_CYCLE_RUNS ?? 3);
const RSS_CYCLES = Number(process.env.BENCH_CYCLE_RSS_CYCLES ?? 50);
const DAYS = 45; // about 100 events per account, as bench/score.ts's M
const CHANGED = Math.max(1, Math.round(ACCOUNTS / 100));
const EVENTS_PER_CHANGE = 3;
const STEP_MS = 60_000;
const HUBSPOT_TOKEN = "pat-bench-token";
const STAGES: StageName[] = ["score", "hubspot", "slack", "outcomes"];
const silent = pino({ level: "silent" });
const gc = (globalThis as { gc?: () => void }).gc;

const log = (line: string) => process.stderr.write(`cycle: ${line}\n`);

/** Real time from the world's end, plus whatever `advance` added. */
function benchClock(start: Date): Clock & { advance(ms: number): void } {
  const t0 = performance.now();
  let offset = start.getTime();
  return {
    now: () => Math.round(offset + performance.now() - t0),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** A small seeded generator, so every run changes the same accounts. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rssMb(): number {
  gc?.();
  return round(process.memoryUsage().rss / 1024 / 1024, 1);
}

async function main() {
  if (!(await probePostgres())) {
    log(`skipped, no PostgreSQL at ${PG_ADMIN_URL}`);
    console.log(JSON.stringify({ benchmark: "cycle", skipped: `no PostgreSQL at ${PG_ADMIN_URL}` }));
    return;
  }
  const { file, messages } = await world(ACCOUNTS, DAYS);
  const store = await fresh("postgres");
  const dir = fs.mkdtempSync(path.join(OUT, "cycle-"));
  const hubspot = new FakeHubSpot({ token: HUBSPOT_TOKEN });
  const hubspotUrl = await hubspot.start();
  const slack = await startFakeSlack({ channels: CHANNELS });
  const db = await openDatabase(store.settings);
  try {
    await migrate(db);
    const clock = benchClock(WORLD_END);
    log(`importing ${messages} messages (${ACCOUNTS} accounts) into postgres...`);
    const importStarted = performance.now();
    await importFile({ db, clock }, file);
    await db.sql.exec("VACUUM ANALYZE");
    await db.sql.exec("CHECKPOINT");
    const importSeconds = round((performance.now() - importStarted) / 1000, 1);

    await setupProperties(
      createHubSpotHttp({
        accessToken: HUBSPOT_TOKEN,
        baseUrl: hubspotUrl,
        limits: { perTenSeconds: 100, daily: 250_000, searchPerSecond: 4, maxRetries: 8 },
      }),
    );
    hubspot.resetBudget();

    const settings = loadSettings({
      DATABASE_URL: store.settings.databaseUrl,
      PQL_DATA_DIR: store.settings.dataDir,
      HUBSPOT_ACCESS_TOKEN: HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspotUrl,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_POST_INTERVAL_MS: "0",
      LOG_LEVEL: "silent",
    });
    const config = writeConfig(dir, slackConfig());
    const rt = { db, config, log: silent, clock, settings };

    const random = seeded(2026);
    let changeNo = 0;
    /** 1% of the accounts get a few new events, just after the last pass's as-of. */
    const change = async () => {
      clock.advance(STEP_MS);
      changeNo++;
      const at = clock.now() - STEP_MS / 2;
      const batch: SegmentMessage[] = [];
      const picked = new Set<number>();
      while (picked.size < CHANGED) picked.add(1 + Math.floor(random() * ACCOUNTS));
      for (const n of picked) {
        const id = `acct_${String(n).padStart(6, "0")}`;
        for (let e = 0; e < EVENTS_PER_CHANGE; e++) {
          const parsed = parseSegmentMessage(
            {
              type: "track",
              messageId: `bench-cycle-${changeNo}-${id}-${e}`,
              userId: `${id}_u1`,
              event: "Offer Letter Sent",
              context: { groupId: id },
              timestamp: new Date(at + e).toISOString(),
            },
            { receivedAt: new Date(clock.now()) },
          );
          if (parsed.ok) batch.push(parsed.message);
        }
      }
      await storeMessages(db, batch, clock);
    };
    const cycle = async (): Promise<CycleResult & { wallMs: number }> => {
      const started = performance.now();
      const result = await runCycle(rt);
      return { ...result, wallMs: performance.now() - started };
    };
    const stageMs = (r: CycleResult, s: StageName) => r.stages.find((x) => x.stage === s)?.durationMs ?? 0;
    const stageSummary = (r: CycleResult) =>
      Object.fromEntries(
        r.stages.map((s) => [
          s.stage,
          { status: s.status, ms: s.durationMs, counts: s.counts, ...(s.error ? { error: s.error } : {}) },
        ]),
      );

    // 1. Warm-up: the first cycle, a full pass, matching and creating companies, posting.
    log("first cycle (full pass, HubSpot matching, Slack posting)...");
    clock.advance(STEP_MS);
    const first = await cycle();

    // 2. Alternating: (1% change, cycle) and (1% change, the scoring pass alone).
    const cycles: (CycleResult & { wallMs: number })[] = [];
    const alone: { ms: number; scored: number; routed: number }[] = [];
    for (let r = 1; r <= RUNS; r++) {
      log(`run ${r}/${RUNS}: 1% changed, cycle; 1% changed, scoring pass alone...`);
      await change();
      cycles.push(await cycle());
      await change();
      const started = performance.now();
      const pass = await runScorePass(rt, { route: true });
      alone.push({ ms: performance.now() - started, scored: pass.scored, routed: pass.routed });
    }
    const cycleMs = median(cycles.map((c) => c.wallMs));
    const scoreStageMs = median(cycles.map((c) => stageMs(c, "score")));
    // The cycle's own overhead: what it adds around its stages (the single-flight lock, the
    // cycle_runs records, the config check), as a share of the scoring pass alone.
    const own = (c: CycleResult & { wallMs: number }) =>
      c.wallMs - STAGES.reduce((sum, s) => sum + stageMs(c, s), 0);
    const ownMs = median(cycles.map(own));
    // The stages after scoring (HubSpot, Slack, outcomes): their work, with its fixed cost at M scale.
    const afterScoring = cycles.map((c) => (c.wallMs - stageMs(c, "score")) / c.wallMs);
    const aloneMs = median(alone.map((a) => a.ms));

    // 3. RSS over back-to-back cycles, each after a 1% change.
    log(`${RSS_CYCLES} cycles back to back, each after a 1% change...`);
    const rssStarted = performance.now();
    let rssAfterFirst = 0;
    let rssAfterLast = 0;
    const rssCycleMs: number[] = [];
    const statuses: Record<string, number> = {};
    for (let i = 1; i <= RSS_CYCLES; i++) {
      await change();
      const c = await cycle();
      rssCycleMs.push(c.wallMs);
      statuses[c.status] = (statuses[c.status] ?? 0) + 1;
      if (i === 1) rssAfterFirst = rssMb();
      if (i === RSS_CYCLES) rssAfterLast = rssMb();
      if (i % 10 === 0) log(`  ${i}/${RSS_CYCLES} cycles, rss ${rssMb()} MB`);
    }
    const rssSeconds = round((performance.now() - rssStarted) / 1000, 1);
    const growthPct = round((100 * (rssAfterLast - rssAfterFirst)) / rssAfterFirst, 1);

    const result = {
      benchmark: "cycle",
      engine: "postgres",
      accounts: ACCOUNTS,
      events: messages,
      importSeconds,
      changedAccountsPerStep: CHANGED,
      eventsPerChangedAccount: EVENTS_PER_CHANGE,
      gcBeforeRss: gc !== undefined,
      firstCycle: {
        status: first.status,
        ms: round(first.wallMs, 0),
        stages: stageSummary(first),
      },
      incremental: {
        runs: RUNS,
        cycleMs: round(cycleMs, 0),
        stagesMs: Object.fromEntries(STAGES.map((s) => [s, median(cycles.map((c) => stageMs(c, s)))])),
        scoreStageMs,
        ownOverheadMs: round(ownMs, 1),
        overheadPct: round((100 * ownMs) / aloneMs, 1),
        goalOverheadPct: 10,
        afterScoringPct: round(100 * median(afterScoring), 1),
        passAloneMs: round(aloneMs, 0),
        cycleToPassAlone: round(cycleMs / aloneMs, 2),
        cycles: cycles.map((c) => ({ status: c.status, ms: round(c.wallMs, 0), stages: stageSummary(c) })),
        passesAlone: alone.map((a) => ({ ...a, ms: round(a.ms, 0) })),
      },
      rss: {
        cycles: RSS_CYCLES,
        changeBeforeEach: "1% of accounts",
        afterFirstMb: rssAfterFirst,
        afterLastMb: rssAfterLast,
        growthPct,
        goalGrowthPct: 10,
        medianCycleMs: round(median(rssCycleMs), 0),
        seconds: rssSeconds,
        statuses,
      },
    };

    const stageCell = (s: StageName) => {
      const f = first.stages.find((x) => x.stage === s);
      return f ? `${f.status} ${f.durationMs} ms` : "-";
    };
    console.log(
      table(
        ["measure", "value"],
        [
          ["world", `${ACCOUNTS} accounts, ${messages} events, PostgreSQL`],
          ["first cycle (full pass)", `${first.status}, ${round(first.wallMs / 1000, 2)} s`],
          ...STAGES.map((s) => [`  first: ${s}`, stageCell(s)]),
          [`cycle, ${CHANGED} accounts changed (median of ${RUNS})`, `${round(cycleMs, 0)} ms`],
          ...STAGES.map((s) => [`  ${s}`, `${result.incremental.stagesMs[s]} ms`]),
          ["scoring pass alone (median)", `${round(aloneMs, 0)} ms`],
          [
            "cycle's own overhead (cycle - its stages)",
            `${result.incremental.ownOverheadMs} ms, ${result.incremental.overheadPct}% of the pass (goal < 10%)`,
          ],
          ["stages after scoring, share of the cycle", `${result.incremental.afterScoringPct}%`],
          ["cycle / pass alone", `${result.incremental.cycleToPassAlone}x`],
          [
            `RSS after 1 / ${RSS_CYCLES} cycles${gc ? " (after GC)" : ""}`,
            `${rssAfterFirst} MB / ${rssAfterLast} MB (${growthPct >= 0 ? "+" : ""}${growthPct}%, goal <= 10%)`,
          ],
          [`${RSS_CYCLES} cycles`, `${rssSeconds} s, median ${result.rss.medianCycleMs} ms each`],
        ],
        { align: ["left", "right"] },
      ),
    );
    console.log(JSON.stringify(result));
  } finally {
    await db.close();
    await slack.close();
    await hubspot.stop();
    await store.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
