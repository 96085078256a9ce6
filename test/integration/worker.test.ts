import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { openDatabase } from "../../src/store/database.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { FakeHubSpot } from "../helpers/fake-hubspot.ts";
import { startFakeSlack } from "../helpers/fake-slack.ts";
import { jobContext } from "../helpers/runtime.ts";
import { CHANNELS, SLACK_TOKEN, slackConfig, until, writeConfig } from "../helpers/slack-world.ts";

// Routed now (the hour), so routings are young enough for tasks and posts.
const END = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
const TOKEN = "pat-na1-worker-test-token";
const dir = tempDir();
let worldFile: string;

beforeAll(async () => {
  worldFile = (
    await generateWorld({ accounts: 150, days: 30, seed: 23, end: END, out: path.join(dir, "w.ndjson") })
  ).file;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface CycleRow {
  id: string;
  kind: string;
  status: string;
  parent_id: string | null;
  started_at: Date;
  ended_at: Date | null;
  stats: { holder?: string; stages?: { stage: string; status: string }[] };
}

/** Starts a real worker process; resolves once its HTTP server listens. */
function startWorker(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null>; log: () => string }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin/pql-router.js"), "worker", "--port", "0"], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      const m = /HTTP on http:\/\/localhost:(\d+)/.exec(err);
      if (m) resolve({ child, port: Number(m[1]), exited, log: () => err });
    });
    child.on("exit", (code) => reject(new Error(`worker exited (${code}): ${err}`)));
  });
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `the scheduled cycle on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      let env: Record<string, string>;
      let configDir: string;
      /**
       * Several real processes on one database at once: PostgreSQL only (the embedded database
       * admits one process by design), so these are not defined for it at all.
       */
      const postgresOnly = (name: string, test: () => Promise<void>, timeout: number) => {
        if (engine.name === "postgres") it(name, test, timeout);
      };

      async function query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
        const db = await openDatabase({
          databaseUrl: store.env.DATABASE_URL,
          dataDir: store.env.PQL_DATA_DIR ?? tempDir(),
        });
        try {
          return (await db.sql.query<R>(sql, params)).rows;
        } finally {
          await db.close();
        }
      }

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        configDir = tempDir();
        const config = writeConfig(configDir, slackConfig());
        await importFile(jobContext(store.db, config), worldFile);
        await store.close();
        env = {
          ...store.env,
          PQL_CONFIG: config.path,
          SLACK_POST_INTERVAL_MS: "0",
          HUBSPOT_MAX_RETRIES: "0",
        };
      });
      afterAll(async () => {
        await store?.dispose();
      });

      it("run-once: a stage that fails is recorded and the next still runs; the next cycle catches up", async () => {
        const slack = await startFakeSlack({ channels: CHANNELS });
        const hub = new FakeHubSpot({ token: TOKEN });
        try {
          const base = {
            ...env,
            SLACK_BOT_TOKEN: SLACK_TOKEN,
            SLACK_API_URL: slack.url,
            HUBSPOT_ACCESS_TOKEN: TOKEN,
          };
          // HubSpot unreachable: the HubSpot stage fails, scoring and Slack still run.
          const down = await runCli(["run-once", "--json"], {
            ...base,
            HUBSPOT_BASE_URL: "http://127.0.0.1:1",
          });
          expect(down.code, down.stderr).toBe(1);
          const first = down.json as {
            status: string;
            cycleId: string;
            stages: { stage: string; status: string; counts: Record<string, number> }[];
          };
          expect(first.status).toBe("failed");
          expect(first.stages.map((s) => [s.stage, s.status])).toEqual([
            ["score", "ok"],
            // Unreachable: stopped early, everything queued (a partial stage fails the cycle).
            ["hubspot", "partial"],
            ["slack", "ok"],
            // Nothing matched in HubSpot yet: nothing to read back, no call made.
            ["outcomes", "ok"],
          ]);
          const routed = first.stages[0]?.counts.routed ?? 0;
          expect(routed).toBeGreaterThan(0);
          expect(first.stages[2]?.counts.posted).toBe(routed);
          expect(down.stdout + down.stderr).not.toContain(TOKEN);
          // HubSpot back: the next cycle writes what was queued; Slack has nothing new to post.
          const hubUrl = await hub.start();
          await runCli(["hubspot", "setup"], { ...base, HUBSPOT_BASE_URL: hubUrl });
          const up = await runCli(["run-once", "--json"], { ...base, HUBSPOT_BASE_URL: hubUrl });
          expect(up.code, up.stderr).toBe(0);
          const second = up.json as typeof first;
          // Outcomes were read this cadence already (schedule.outcomesCron): skipped until the next.
          expect(second.stages.map((s) => s.status)).toEqual(["ok", "ok", "ok", "skipped"]);
          expect(second.stages[1]?.counts.tasksCreated).toBe(routed);
          expect(second.stages[2]?.counts.posted).toBe(0);
          expect(hub.tasks.size).toBe(routed);
          expect(slack.callsTo("chat.postMessage")).toHaveLength(routed);
          // Each cycle is recorded with its jobs as children.
          const rows = await query<CycleRow>(
            "SELECT id::text, kind, status, parent_id::text, started_at, ended_at, stats FROM cycle_runs ORDER BY id",
          );
          const cycles = rows.filter((r) => r.kind === "cycle");
          expect(cycles.map((c) => c.status)).toEqual(["failed", "ok"]);
          const children = rows.filter((r) => r.parent_id === cycles[1]?.id).map((r) => r.kind);
          expect(children).toEqual(["score", "hubspot", "slack"]);
          expect(rows.filter((r) => r.parent_id === cycles[0]?.id).map((r) => r.kind)).toEqual([
            "score",
            "hubspot",
            "slack",
            "outcomes",
          ]);
          // A text run says the same for people.
          const text = await runCli(["run-once"], { ...base, HUBSPOT_BASE_URL: hubUrl });
          expect(text.stdout).toMatch(/cycle \d+: ok/);
          expect(text.stdout).toMatch(/outcomes\s+│ skipped/);
        } finally {
          await slack.close();
          await hub.stop();
        }
      });

      it("a whole cycle at trace level, with every secret set and stages failing, logs no secret", async () => {
        const secrets = {
          HUBSPOT_ACCESS_TOKEN: "pat-na1-trace-secret-0001",
          SLACK_BOT_TOKEN: "xoxb-trace-secret-0002",
          SLACK_SIGNING_SECRET: "trace-signing-secret-0003",
          SLACK_APP_TOKEN: "xapp-trace-secret-0004",
          PQL_INGEST_WRITE_KEY: "trace-write-key-0005",
        };
        const password = "trace-db-password-0006";
        const databaseUrl = store.env.DATABASE_URL?.replace("postgres@", `postgres:${password}@`);
        // Work for both vendors whatever earlier tests did: routings to post, companies to match.
        await query("UPDATE routing_decisions SET slack_ts = NULL, slack_channel = NULL, status = 'open'");
        await query("DELETE FROM slack_posts");
        await query("DELETE FROM hubspot_companies");
        // HubSpot repeats the Authorization header in its error; Slack refuses the token.
        const hub = new FakeHubSpot({ token: secrets.HUBSPOT_ACCESS_TOKEN });
        const slack = await startFakeSlack({ channels: CHANNELS });
        try {
          const hubUrl = await hub.start();
          hub.script(
            { method: "POST", path: "/crm/v3/objects/companies/search" },
            { status: 400, echoAuthorization: true },
          );
          const run = await runCli(["run-once", "--json"], {
            ...env,
            ...secrets,
            ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
            HUBSPOT_BASE_URL: hubUrl,
            SLACK_API_URL: slack.url,
            LOG_LEVEL: "trace",
          });
          expect(run.code, JSON.stringify(run.json)).toBe(1);
          const stages = (run.json as { stages: { stage: string; status: string }[] }).stages;
          expect(stages.find((s) => s.stage === "hubspot")?.status).toBe("failed");
          expect(stages.find((s) => s.stage === "slack")?.status).toBe("failed");
          expect(run.stderr.split("\n").length).toBeGreaterThan(10); // trace lines were written
          const output = run.stdout + run.stderr;
          for (const value of [...Object.values(secrets), password]) expect(output).not.toContain(value);
        } finally {
          await slack.close();
          await hub.stop();
        }
      });

      it("kill -9 mid-cycle, then a new cycle: the interrupted one is marked, nothing is posted twice", async () => {
        const slack = await startFakeSlack({ channels: CHANNELS });
        try {
          const base = { ...env, SLACK_BOT_TOKEN: SLACK_TOKEN, SLACK_API_URL: slack.url };
          for (const stage of ["score", "slack"]) {
            const child = spawn(process.execPath, [path.join(ROOT, "bin/pql-router.js"), "run-once"], {
              cwd: ROOT,
              env: {
                ...process.env,
                DATABASE_URL: "",
                LOG_LEVEL: "info",
                ...base,
                PQL_TEST_STAGE_DELAY: `${stage}:20000`,
              },
              stdio: ["ignore", "ignore", "pipe"],
            });
            const exited = new Promise<NodeJS.Signals | null>((resolve) =>
              child.on("exit", (_c, signal) => resolve(signal)),
            );
            // Killed while it waits at the start of the stage (the cycle says so in its log).
            let log = "";
            child.stderr?.on("data", (chunk: Buffer) => {
              log += chunk.toString();
            });
            await until(
              () => log.includes(`"stage":"${stage}","msg":"stage started"`),
              `the ${stage} stage`,
              30_000,
            );
            child.kill("SIGKILL");
            expect(await exited).toBe("SIGKILL");
            const run = await runCli(["run-once", "--json"], base);
            expect(run.code, run.stderr).toBe(0);
            expect((run.json as { interrupted: number }).interrupted).toBe(1);
          }
          const cycles = await query<CycleRow>(
            "SELECT id::text, kind, status, parent_id::text, started_at, ended_at, stats FROM cycle_runs WHERE kind = 'cycle' ORDER BY id",
          );
          expect(cycles.filter((c) => c.status === "interrupted")).toHaveLength(2);
          expect(await query("SELECT 1 FROM cycle_runs WHERE status = 'running'")).toHaveLength(0);
          const keys = slack.messages().map((m) => m.metadata?.event_payload.key);
          expect(new Set(keys).size).toBe(keys.length);
        } finally {
          await slack.close();
        }
      }, 60_000);

      it("kill -9 mid-HubSpot sync inside a cycle, then a new cycle: no task is created twice", async () => {
        // Work for HubSpot whatever earlier tests did: every routing's task still to create.
        await query(
          "UPDATE routing_decisions SET hubspot_task_id = NULL, hubspot_task_sent_at = NULL, hubspot_task_error = NULL, hubspot_task_company_id = NULL",
        );
        await query("DELETE FROM hubspot_companies");
        const hub = new FakeHubSpot({ token: TOKEN });
        try {
          const base = { ...env, HUBSPOT_ACCESS_TOKEN: TOKEN, HUBSPOT_BASE_URL: await hub.start() };
          expect((await runCli(["hubspot", "setup"], base)).code).toBe(0);
          // HubSpot creates the tasks and starts answering; the answer never completes.
          const held = hub.script(
            { method: "POST", path: "/crm/v3/objects/tasks/batch/create" },
            { status: 201, hold: true },
          );
          const child = spawn(process.execPath, [path.join(ROOT, "bin/pql-router.js"), "run-once"], {
            cwd: ROOT,
            env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn", ...base },
            stdio: "ignore",
          });
          const exited = new Promise<NodeJS.Signals | null>((resolve) =>
            child.on("exit", (_c, signal) => resolve(signal)),
          );
          await held.hit;
          child.kill("SIGKILL");
          expect(await exited).toBe("SIGKILL");
          held.release();
          const created = hub.tasks.size;
          expect(created).toBeGreaterThan(0);
          const run = await runCli(["run-once", "--json"], base);
          expect(run.code, run.stderr).toBe(0);
          const result = run.json as {
            interrupted: number;
            stages: { stage: string; counts: Record<string, number> }[];
          };
          expect(result.interrupted).toBe(1);
          // Found by routing key, recorded, not created again.
          expect(hub.tasks.size).toBe(created);
          const routed = (
            await query<{ n: number }>(
              "SELECT count(*)::int AS n FROM routing_decisions WHERE status <> 'expired'",
            )
          )[0]?.n;
          const recorded = (
            await query<{ n: number }>(
              "SELECT count(*)::int AS n FROM routing_decisions WHERE hubspot_task_id IS NOT NULL",
            )
          )[0]?.n;
          expect(recorded).toBe(hub.tasks.size);
          expect(hub.tasks.size).toBeLessThanOrEqual(routed ?? 0);
        } finally {
          await hub.stop();
        }
      }, 60_000);

      postgresOnly(
        "three worker replicas on a fast schedule: never two cycles at once, every process serves and stops cleanly",
        async () => {
          const fast = writeConfig(
            configDir,
            slackConfig((c) => {
              c.schedule = { ...c.schedule, cron: "* * * * * *" };
            }),
            "fast.yaml",
          );
          const workers = await Promise.all(
            [0, 1, 2].map(() => startWorker({ ...env, PQL_CONFIG: fast.path })),
          );
          const started = Date.now();
          try {
            await new Promise((r) => setTimeout(r, 6000));
            for (const w of workers) {
              const health = await fetch(`http://127.0.0.1:${w.port}/healthz`);
              expect(health.status).toBe(200);
              const ready = await fetch(`http://127.0.0.1:${w.port}/readyz`);
              expect(ready.status).toBe(200);
            }
          } finally {
            for (const w of workers) w.child.kill("SIGTERM");
          }
          const codes = await Promise.all(workers.map((w) => w.exited));
          expect(codes).toEqual([0, 0, 0]);
          const cycles = await query<CycleRow>(
            "SELECT id::text, kind, status, parent_id::text, started_at, ended_at, stats FROM cycle_runs WHERE kind = 'cycle' AND started_at >= $1 ORDER BY started_at",
            [new Date(started - 1000).toISOString()],
          );
          // About one a second (the schedule), never overlapping, each finished.
          expect(cycles.length).toBeGreaterThanOrEqual(4);
          for (const c of cycles) expect(c.status, JSON.stringify(c)).toBe("ok");
          for (let i = 1; i < cycles.length; i++)
            expect(new Date(cycles[i]?.started_at as Date).getTime()).toBeGreaterThanOrEqual(
              new Date(cycles[i - 1]?.ended_at as Date).getTime(),
            );
          // No tick lost: consecutive cycles are at most about two schedule intervals apart.
          for (let i = 1; i < cycles.length; i++)
            expect(
              new Date(cycles[i]?.started_at as Date).getTime() -
                new Date(cycles[i - 1]?.started_at as Date).getTime(),
            ).toBeLessThan(2500);
          const holders = new Set(cycles.map((c) => c.stats.holder));
          expect(holders.size).toBeGreaterThanOrEqual(1);
        },
        60_000,
      );

      // The embedded database admits one process: the checks read it while the worker runs.
      postgresOnly(
        "reloads a changed config at the next cycle; an invalid one is refused and shown in /readyz",
        async () => {
          const file = path.join(configDir, "reload.yaml");
          const good = slackConfig((c) => {
            c.schedule = { ...c.schedule, cron: "* * * * * *" };
          });
          fs.writeFileSync(file, YAML.stringify(good));
          const w = await startWorker({ ...env, PQL_CONFIG: file });
          try {
            await until(
              async () => (await fetch(`http://127.0.0.1:${w.port}/readyz`)).status === 200,
              "ready",
              15_000,
            );
            fs.writeFileSync(file, "product: {}\nsignals: []\n");
            await until(
              async () => (await fetch(`http://127.0.0.1:${w.port}/readyz`)).status === 503,
              "not ready",
              15_000,
            );
            const body = (await (await fetch(`http://127.0.0.1:${w.port}/readyz`)).json()) as {
              problems: string[];
            };
            expect(body.problems.join(" ")).toMatch(/config: [\s\S]*signals: expected at least one signal/);
            // Cycles go on with the last good config.
            const before =
              (
                await query<{ n: number }>(
                  "SELECT count(*)::int AS n FROM cycle_runs WHERE kind = 'cycle' AND status = 'ok'",
                )
              )[0]?.n ?? 0;
            await new Promise((r) => setTimeout(r, 2500));
            const after =
              (
                await query<{ n: number }>(
                  "SELECT count(*)::int AS n FROM cycle_runs WHERE kind = 'cycle' AND status = 'ok'",
                )
              )[0]?.n ?? 0;
            expect(after).toBeGreaterThan(before);
            fs.writeFileSync(file, YAML.stringify(good));
            await until(
              async () => (await fetch(`http://127.0.0.1:${w.port}/readyz`)).status === 200,
              "ready again",
              15_000,
            );
            expect(w.log()).toContain("config file refused");
          } finally {
            w.child.kill("SIGTERM");
            expect(await w.exited).toBe(0);
          }
        },
        60_000,
      );
    },
  );
}
