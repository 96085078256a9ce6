/**
 * Slack claims and posting pace against the local fake Slack (the Slack part of `npm run bench`).
 *
 *  Claims (PostgreSQL; skipped, and said so, when no server answers): a generated world is routed
 *  (BENCH_SLACK_ACCOUNTS accounts, default 600) and posted; the real `pql-router serve` runs in
 *  its own process on loopback, as in production; then 50 signed Claim clicks go at once, 5 reps
 *  on each of 10 accounts. Reported per
 *  burst: time to ack (from sending the request until the whole HTTP answer is in) p50, p99 and
 *  max against the goal p99 < 100 ms, the statuses, exactly one claim per account (the claims
 *  table), and the 40 ephemerals the losers get once the handlers settle. One warm-up click on
 *  another account first, excluded. The burst runs BENCH_SLACK_RUNS times (default 3) on fresh
 *  accounts, or on the same ones reset with SQL when the world routed too few; the median of
 *  p50 and p99 over the runs is reported beside every run. The load generator and the fake Slack
 *  share this process, not the server's.
 *  Posting pace (PostgreSQL when reachable, else embedded; BENCH_SLACK_PACE_ENGINE): BENCH_SLACK_ROUTINGS routings (default 500) inserted with
 *  SQL across 5 pools, each with its own channel, posted by one postToSlack run with the default
 *  interval (1 s per channel) to a fake allowing 1 post per second per channel. Reported per
 *  channel: posts, span from the first to the last post, posts per second achieved
 *  ((posts - 1) / span) against 1, 429s; and the run's wall time.
 * Prints tables, then one JSON line. Figures, never pass/fail.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { postToSlack } from "../src/app/jobs/slack-post.ts";
import type { JobContext } from "../src/app/runtime.ts";
import { table } from "../src/cli/output.ts";
import type { PqlConfig } from "../src/config/schema.ts";
import { createSlackApi } from "../src/integrations/slack/slack-api.ts";
import { openDatabase } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { ROOT } from "../test/helpers/cli.ts";
import {
  blockActionBody,
  type FakeSlack,
  type FakeSlackMessage,
  postSigned,
  startFakeSlack,
} from "../test/helpers/fake-slack.ts";
import { PG_ADMIN_URL, probePostgres } from "../test/helpers/postgres.ts";
import { jobContext, manualClock } from "../test/helpers/runtime.ts";
import {
  CHANNELS,
  MANAGER,
  routedWorld,
  SIGNING_SECRET,
  SLACK_TOKEN,
  SMB_REPS,
  slackConfig,
  until,
  writeConfig,
} from "../test/helpers/slack-world.ts";
import { type Engine, fresh, median, OUT, round, WORLD_END, world } from "./common.ts";

const ACCOUNTS = Number(process.env.BENCH_SLACK_ACCOUNTS ?? 600);
const RUNS = Number(process.env.BENCH_SLACK_RUNS ?? 3);
const ROUTINGS = Number(process.env.BENCH_SLACK_ROUTINGS ?? 500);
/**
 * PostgreSQL when reachable: the embedded engine runs its queries on this process's event loop,
 * which also runs the fake Slack, and a blocked loop shifts the fake's arrival times (a 999 ms
 * "gap" that real Slack, in its own process, would not see).
 */
const PACE_ENGINE: Engine =
  (process.env.BENCH_SLACK_PACE_ENGINE as Engine | undefined) ??
  ((await probePostgres()) ? "postgres" : "embedded");
const BURST_ACCOUNTS = 10;
const REPS_PER_ACCOUNT = 5;
const SEQUENTIAL = 20;
const GOAL_P99_MS = 100;
const PACE_CHANNELS = 5;
const silent = pino({ level: "silent" });

/** Linear interpolation between closest ranks (numpy's default): p99 of 50 lies between the two slowest. */
function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}

interface Alert {
  decisionId: string;
  message: FakeSlackMessage;
}

/** The alerts posted, by decision id (top-level messages carrying an alert key). */
function alerts(fake: FakeSlack): Alert[] {
  return fake.messages().flatMap((message) => {
    const key = String(message.metadata?.event_payload.key ?? "");
    const m = /^alert:(\d+):\d+$/.exec(key);
    return m && !message.thread_ts ? [{ decisionId: m[1] as string, message }] : [];
  });
}

/** A signed Claim click on `alert` by `userId`, as Slack sends it. */
function claim(url: string, userId: string, alert: Alert) {
  return postSigned(
    url,
    blockActionBody({
      userId,
      channelId: alert.message.channel,
      messageTs: alert.message.ts,
      actionId: "pql_claim",
      value: alert.decisionId,
      message: { text: alert.message.text, blocks: alert.message.blocks },
    }),
    { signingSecret: SIGNING_SECRET },
  );
}

interface BurstRun {
  run: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  minMs: number;
  burstMs: number;
  statuses: Record<string, number>;
  claimRows: number;
  oneWinnerPerAccount: boolean;
  ephemerals: number;
  messageUpdates: number;
  settleMs: number;
}

/** Starts `pql-router serve --port 0` and resolves with its Slack endpoint once it listens. */
function startServe(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin/pql-router.js"), "serve", "--port", "0"], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", PQL_INGEST_WRITE_KEY: "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      const m = /Slack claims on (http:\/\/localhost:\d+\/slack\/events)/.exec(err);
      if (m?.[1])
        resolve({
          url: m[1].replace("localhost", "127.0.0.1"),
          stop: async () => {
            child.kill("SIGTERM");
            await exited;
          },
        });
    });
    child.on("exit", (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
}

async function claims() {
  if (!(await probePostgres())) return { skipped: `no PostgreSQL at ${PG_ADMIN_URL}` };
  const sample = await world(ACCOUNTS, 30);
  const store = await fresh("postgres");
  const db = await openDatabase(store.settings);
  const dir = fs.mkdtempSync(path.join(OUT, "slack-"));
  const fake = await startFakeSlack({ channels: CHANNELS });
  let server: { url: string; stop: () => Promise<void> } | undefined;
  try {
    await migrate(db);
    const config = writeConfig(dir, slackConfig());
    process.stderr.write(`slack claims: routing ${ACCOUNTS} accounts on PostgreSQL...\n`);
    const { decisions } = await routedWorld(db, config, sample.file, WORLD_END);
    const clock = manualClock(new Date(WORLD_END.getTime() + 60_000));
    const ctx: JobContext = { db, config, log: silent, clock };
    const api = createSlackApi({ token: SLACK_TOKEN, apiUrl: fake.url, log: silent });
    const posting = await postToSlack(ctx, api, { postIntervalMs: 0 });
    // The real `pql-router serve`, in its own process as in production (the load generator and
    // the fake Slack stay in this one).
    server = await startServe({
      DATABASE_URL: store.settings.databaseUrl as string,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: fake.url,
      PQL_CONFIG: path.join(dir, "pql-router.config.yaml"),
    });
    const url = server.url;
    const posted = alerts(fake);
    const needed = 1 + BURST_ACCOUNTS;
    if (posted.length < needed) {
      return {
        skipped: `only ${posted.length} routings posted from ${ACCOUNTS} accounts (${needed} needed): raise BENCH_SLACK_ACCOUNTS`,
        routed: decisions.length,
      };
    }
    // Fresh accounts for every burst when the world routed enough, else the same ones reset.
    const freshAccounts = posted.length >= 1 + RUNS * BURST_ACCOUNTS;

    // Warm-up (excluded): one claim on an account no burst uses, and its message update.
    const warmup = posted[0] as Alert;
    // Ten at once, so the server's connection pool is open as in a long-running process.
    const warm = (
      await Promise.all(SMB_REPS.slice(0, 10).map((r) => claim(url, r.slackUserId, warmup)))
    )[0] as Awaited<ReturnType<typeof claim>>;
    await until(() => fake.callsTo("chat.update").length >= 1, "the warm-up's message update");

    // Baselines, to read the bursts by: 50 concurrent requests Bolt rejects (bad signature: 401,
    // no handler runs), then 20 clicks one at a time (a rep who lost the warm-up account: each
    // gets an ephemeral).
    const rejected = await Promise.all(
      Array.from({ length: BURST_ACCOUNTS * REPS_PER_ACCOUNT }, () =>
        postSigned(
          url,
          blockActionBody({
            userId: (SMB_REPS[1] as (typeof SMB_REPS)[number]).slackUserId,
            channelId: warmup.message.channel,
            messageTs: warmup.message.ts,
            actionId: "pql_claim",
            value: warmup.decisionId,
          }),
          { signingSecret: SIGNING_SECRET, badSignature: true },
        ),
      ),
    );
    const sequential: number[] = [];
    const seqBefore = fake.ephemerals.length;
    for (let i = 0; i < SEQUENTIAL; i++)
      sequential.push((await claim(url, (SMB_REPS[15] as (typeof SMB_REPS)[number]).slackUserId, warmup)).ms);
    await until(() => fake.ephemerals.length - seqBefore >= SEQUENTIAL, "the sequential clicks' ephemerals");
    const baselines = {
      rejectedBurst: {
        requests: rejected.length,
        statuses: [...new Set(rejected.map((a) => a.status))],
        p50Ms: round(
          quantile(
            rejected.map((a) => a.ms),
            0.5,
          ),
          1,
        ),
        p99Ms: round(
          quantile(
            rejected.map((a) => a.ms),
            0.99,
          ),
          1,
        ),
      },
      oneAtATime: {
        requests: SEQUENTIAL,
        p50Ms: round(quantile(sequential, 0.5), 1),
        p99Ms: round(quantile(sequential, 0.99), 1),
      },
    };

    const runs: BurstRun[] = [];
    for (let r = 0; r < RUNS; r++) {
      if (!freshAccounts && r > 0) {
        await db.sql.exec(`DELETE FROM routing_feedback; DELETE FROM claims;
          UPDATE routing_decisions SET status = 'open', slack_update_due = false;`);
      }
      const start = 1 + (freshAccounts ? r * BURST_ACCOUNTS : 0);
      const targets = posted.slice(start, start + BURST_ACCOUNTS);
      // Round robin over the accounts, so each account's 5 clicks are spread through the burst.
      const clicks: { alert: Alert; userId: string }[] = [];
      for (let j = 0; j < REPS_PER_ACCOUNT; j++) {
        targets.forEach((alert, i) => {
          const rep = SMB_REPS[(i * REPS_PER_ACCOUNT + j) % SMB_REPS.length] as (typeof SMB_REPS)[number];
          clicks.push({ alert, userId: rep.slackUserId });
        });
      }
      const ephemeralsBefore = fake.ephemerals.length;
      const updatesBefore = fake.callsTo("chat.update").length;
      const burstStarted = performance.now();
      const answers = await Promise.all(clicks.map((c) => claim(url, c.userId, c.alert)));
      const burstMs = performance.now() - burstStarted;
      const expectedEphemerals = BURST_ACCOUNTS * (REPS_PER_ACCOUNT - 1);
      await until(
        () =>
          fake.ephemerals.length - ephemeralsBefore >= expectedEphemerals &&
          fake.callsTo("chat.update").length - updatesBefore >= BURST_ACCOUNTS,
        "the ephemerals and message updates",
        30_000,
      ).catch(() => {});
      const settleMs = performance.now() - burstStarted;
      // Anything more than expected would come in now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const ids = targets.map((t) => t.decisionId);
      const { rows } = await db.sql.query<{ decision_id: string; slack_user_id: string }>(
        "SELECT decision_id::text, slack_user_id FROM claims WHERE decision_id = ANY($1::bigint[])",
        [ids],
      );
      // One claim per account, by one of the reps who clicked it.
      const oneWinnerPerAccount = targets.every((t) => {
        const won = rows.filter((row) => row.decision_id === t.decisionId);
        const clickers = clicks.filter((c) => c.alert === t).map((c) => c.userId);
        return won.length === 1 && clickers.includes(won[0]?.slack_user_id ?? "");
      });
      const ms = answers.map((a) => a.ms);
      const statuses: Record<string, number> = {};
      for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      runs.push({
        run: r + 1,
        requests: answers.length,
        p50Ms: round(quantile(ms, 0.5), 1),
        p99Ms: round(quantile(ms, 0.99), 1),
        maxMs: round(Math.max(...ms), 1),
        minMs: round(Math.min(...ms), 1),
        burstMs: round(burstMs, 1),
        statuses,
        claimRows: rows.length,
        oneWinnerPerAccount,
        ephemerals: fake.ephemerals.length - ephemeralsBefore,
        messageUpdates: fake.callsTo("chat.update").length - updatesBefore,
        settleMs: round(settleMs, 0),
      });
    }
    return {
      engine: "postgres",
      accounts: ACCOUNTS,
      routed: decisions.length,
      posted: posting.posted,
      accountsPerBurst: freshAccounts ? "fresh per run" : "the same 10, reset with SQL between runs",
      warmupMs: round(warm.ms, 1),
      baselines,
      goalP99Ms: GOAL_P99_MS,
      medianP50Ms: median(runs.map((r) => r.p50Ms)),
      medianP99Ms: median(runs.map((r) => r.p99Ms)),
      runs,
    };
  } finally {
    await server?.stop();
    await fake.close();
    await db.close();
    await store.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function pacing() {
  const pools = Array.from({ length: PACE_CHANNELS }, (_, i) => `p${i + 1}`);
  const channels = pools.map((p, i) => ({ id: `C0PACE00${i + 1}`, name: `pql-${p}` }));
  const store = await fresh(PACE_ENGINE);
  const db = await openDatabase(store.settings);
  const dir = fs.mkdtempSync(path.join(OUT, "slack-"));
  const fake = await startFakeSlack({ channels: [...CHANNELS, ...channels], postsPerSecondPerChannel: 1 });
  try {
    await migrate(db);
    const capacity = Math.max(200, ROUTINGS);
    const config = writeConfig(
      dir,
      slackConfig((c: PqlConfig) => {
        // Every pool takes all; the decisions below name their pool, and posting does not re-match.
        c.routing.pools = pools.map((key) => ({
          key,
          label: `Pool ${key}`,
          match: {},
          capacity,
          lead: MANAGER.id,
        }));
        c.routing.reps = SMB_REPS.map((r) => ({
          id: r.id,
          name: `Rep ${r.id}`,
          email: `${r.id}@example.com`,
          slackUserId: r.slackUserId,
          pools,
          capacity,
          weight: 1,
          outOfOffice: [],
        }));
        c.slack = {
          channels: {
            hot: "#pql-hot",
            pools: Object.fromEntries(pools.map((p, i) => [p, `#${channels[i]?.name}`])),
          },
          maxAgeHours: 72,
        };
      }),
    );
    const now = new Date();
    await db.sql.query(
      `INSERT INTO accounts (id, name, domain) SELECT 'pace_' || g, 'Pace ' || g, 'pace' || g || '.example'
      FROM generate_series(1, $1::int) g`,
      [ROUTINGS],
    );
    await db.sql.query(
      `INSERT INTO score_snapshots (account_id, as_of, score, tier, pqr, icp, components, reasons, features, config_version)
      SELECT 'pace_' || g, $2, 90, 'hot', 5000 + g, 60, '{}', '[]', '{"personas":[]}', $3
      FROM generate_series(1, $1::int) g`,
      [ROUTINGS, now.toISOString(), config.version],
    );
    await db.sql.query(
      `INSERT INTO routing_decisions (account_id, snapshot_id, pool, reason, decided_at)
      SELECT s.account_id, s.id, 'p' || (1 + substr(s.account_id, 6)::int % $2::int), 'became hot', $1
      FROM score_snapshots s ORDER BY s.id`,
      [now.toISOString(), PACE_CHANNELS],
    );
    process.stderr.write(
      `slack posting: ${ROUTINGS} routings across ${PACE_CHANNELS} channels at 1 post/s per channel...\n`,
    );
    const api = createSlackApi({ token: SLACK_TOKEN, apiUrl: fake.url, log: silent });
    const started = performance.now();
    const result = await postToSlack(jobContext(db, config), api, { postIntervalMs: 1000 });
    const seconds = (performance.now() - started) / 1000;
    const calls = fake.callsTo("chat.postMessage");
    const idOf = (channel: unknown) => {
      const text = String(channel).replace(/^#/, "");
      return channels.find((c) => c.id === text || c.name === text)?.id ?? text;
    };
    const perChannel = channels.map((ch) => {
      const mine = calls.filter((c) => idOf(c.body.channel) === ch.id);
      const ok = mine
        .filter((c) => c.status === 200)
        .map((c) => c.at)
        .sort((a, b) => a - b);
      const spanMs = ok.length > 1 ? (ok.at(-1) as number) - (ok[0] as number) : 0;
      const gaps = ok.slice(1).map((t, i) => t - (ok[i] as number));
      return {
        channel: `#${ch.name}`,
        posts: ok.length,
        spanSeconds: round(spanMs / 1000, 1),
        postsPerSecond: spanMs > 0 ? round(((ok.length - 1) * 1000) / spanMs, 3) : null,
        minGapMs: gaps.length ? Math.min(...gaps) : null,
        rateLimited: mine.filter((c) => c.status === 429).length,
        // How long after the channel's previous accepted post each 429'd attempt arrived.
        gapsBefore429: mine
          .filter((c) => c.status === 429)
          .map((c) => c.at - Math.max(...ok.filter((t) => t <= c.at)))
          .filter((g) => Number.isFinite(g)),
      };
    });
    const gaps429 = perChannel.flatMap((p) => p.gapsBefore429);
    return {
      engine: PACE_ENGINE,
      routings: ROUTINGS,
      channels: PACE_CHANNELS,
      limitPerSecondPerChannel: 1,
      postIntervalMs: 1000,
      seconds: round(seconds, 1),
      posted: result.posted,
      pending: result.pending,
      failed: result.failed,
      rateLimited: calls.filter((c) => c.status === 429).length,
      rateLimitedSeenByJob: result.rateLimited,
      otherCalls: fake.calls.length - calls.length,
      gapBefore429Ms: gaps429.length
        ? { min: Math.min(...gaps429), median: median(gaps429), max: Math.max(...gaps429) }
        : null,
      perChannel: perChannel.map(({ gapsBefore429, ...p }) => ({
        ...p,
        gapBefore429Ms: gapsBefore429.length
          ? `${Math.min(...gapsBefore429)}-${Math.max(...gapsBefore429)}`
          : null,
      })),
    };
  } finally {
    await fake.close();
    await db.close();
    await store.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const claimResult = await claims();
const pace = await pacing();

if ("runs" in claimResult && claimResult.runs) {
  const c = claimResult;
  console.log(
    `Claims on PostgreSQL: ${c.routed} routings from ${c.accounts} accounts, ${c.posted} posted; ` +
      `50 concurrent signed clicks (5 reps x 10 accounts) per run, ${c.accountsPerBurst}; warm-up ${c.warmupMs} ms (excluded)`,
  );
  console.log(
    table(
      [
        "run",
        "ack p50 ms",
        `ack p99 ms (goal < ${GOAL_P99_MS})`,
        "max ms",
        "burst ms",
        "HTTP statuses",
        "claims rows / accounts",
        "one winner each",
        "ephemerals (40)",
        "updates (10)",
        "settled ms",
      ],
      [
        ...c.runs.map((r) => [
          r.run,
          r.p50Ms,
          r.p99Ms,
          r.maxMs,
          r.burstMs,
          Object.entries(r.statuses)
            .map(([s, n]) => `${s} x${n}`)
            .join(", "),
          `${r.claimRows} / ${BURST_ACCOUNTS}`,
          r.oneWinnerPerAccount ? "yes" : "NO",
          r.ephemerals,
          r.messageUpdates,
          r.settleMs,
        ]),
        ["median", c.medianP50Ms, c.medianP99Ms, "", "", "", "", "", "", "", ""],
      ],
    ),
  );
  const b = c.baselines;
  console.log(
    `Baselines: ${b.rejectedBurst.requests} concurrent requests rejected by Bolt (bad signature, HTTP ` +
      `${b.rejectedBurst.statuses.join("/")}, no handler) p50 ${b.rejectedBurst.p50Ms} ms, p99 ${b.rejectedBurst.p99Ms} ms; ` +
      `${b.oneAtATime.requests} clicks one at a time p50 ${b.oneAtATime.p50Ms} ms, p99 ${b.oneAtATime.p99Ms} ms`,
  );
} else {
  console.log(`Claims: skipped (${claimResult.skipped})`);
}
console.log(
  `Posting pace (${pace.engine}): ${pace.routings} routings across ${pace.channels} channels, fake allows ` +
    `${pace.limitPerSecondPerChannel} post/s per channel, interval ${pace.postIntervalMs} ms: ` +
    `${pace.posted} posted, ${pace.pending} pending, ${pace.rateLimited} 429s, ${pace.seconds} s wall`,
);
console.log(
  table(
    ["channel", "posts", "span s", "posts/s (limit 1)", "min gap ms", "429s", "429 came ms after last post"],
    pace.perChannel.map((p) => [
      p.channel,
      p.posts,
      p.spanSeconds,
      p.postsPerSecond ?? "-",
      p.minGapMs ?? "-",
      p.rateLimited,
      p.gapBefore429Ms ?? "-",
    ]),
  ),
);
console.log(JSON.stringify({ benchmark: "slack", claims: claimResult, posting: pace }));
