import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { openDatabase } from "../../src/store/database.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { createTestStore, type TestStore, tempDir } from "../helpers/databases.ts";
import { FakeHubSpot } from "../helpers/fake-hubspot.ts";
import { jobContext } from "../helpers/runtime.ts";

const TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555";
// Routed now (the hour), as the demo does: routings older than hubspot.tasks.maxAgeHours get no task.
const END = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
const config = loadConfig(path.join(ROOT, "pql-router.config.yaml"));
const dir = tempDir();
let store: TestStore;
let routed: number;

beforeAll(async () => {
  const world = await generateWorld({
    accounts: 60,
    days: 30,
    seed: 23,
    end: END,
    out: path.join(dir, "w.ndjson"),
  });
  store = await createTestStore("embedded");
  await importFile(jobContext(store.db, config), world.file);
  routed = (await runScorePass(jobContext(store.db, config), { now: END, route: true })).routed;
  // The CLI runs in child processes: the embedded database admits one process at a time.
  await store.close();
});
afterAll(async () => {
  await store?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Reads from the embedded database between CLI runs. */
async function query<R>(sql: string): Promise<R[]> {
  const db = await openDatabase({ databaseUrl: undefined, dataDir: store.env.PQL_DATA_DIR as string });
  try {
    return (await db.sql.query<R>(sql)).rows;
  } finally {
    await db.close();
  }
}

describe("pql-router hubspot (CLI)", () => {
  it("previews the exact requests without a token, and refuses to sync without one", async () => {
    const preview = await runCli(["hubspot", "preview", "--json"], store.env);
    expect(preview.code).toBe(0);
    const { requests } = preview.json as { requests: { path: string; body: { inputs?: unknown[] } }[] };
    const tasks = requests
      .filter((r) => r.path === "/crm/v3/objects/tasks/batch/create")
      .flatMap((r) => r.body.inputs);
    expect(tasks).toHaveLength(routed);
    expect(tasks[0]).toMatchObject({
      properties: { hs_task_priority: "HIGH", pql_routing_key: expect.stringMatching(/^pqlr:acct_/) },
      associations: [{ types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 192 }] }],
    });
    const sync = await runCli(["hubspot", "sync"], store.env);
    expect(sync.code).toBe(2);
    expect(sync.stderr).toContain("HUBSPOT_ACCESS_TOKEN is not set");
  });

  it("sets up once, syncs, and reports the figures scripts need; the token never shows", async () => {
    const fake = new FakeHubSpot({ token: TOKEN, faults: { rate5xx: 0.2, seed: 3 } });
    const env = {
      ...store.env,
      HUBSPOT_BASE_URL: await fake.start(),
      HUBSPOT_ACCESS_TOKEN: TOKEN,
      LOG_LEVEL: "debug",
    };
    try {
      const first = await runCli(["hubspot", "setup", "--json"], env);
      expect(first.code).toBe(0);
      const second = await runCli(["hubspot", "setup", "--json"], env);
      expect(second.json).toMatchObject({ created: [], conflicts: [] });
      const sync = await runCli(["hubspot", "sync", "--json"], env);
      expect(sync.code).toBe(0);
      expect(sync.json).toMatchObject({
        companiesWritten: routed,
        tasksCreated: routed,
        calls: expect.any(Number),
        retries: expect.any(Number),
        failed: 0,
      });
      expect(fake.tasks.size).toBe(routed);
      const people = await runCli(["hubspot", "sync"], env);
      expect(people.stdout).toMatch(/companies unchanged\s+\d+ \(no call\)/);
      for (const run of [first, second, sync, people]) expect(run.stdout + run.stderr).not.toContain(TOKEN);
      // A wrong token (setup always reads): the error names the setting, never the value.
      const refused = await runCli(["hubspot", "setup"], {
        ...env,
        HUBSPOT_ACCESS_TOKEN: "pat-wrong-token-value",
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("check HUBSPOT_ACCESS_TOKEN");
      expect(refused.stderr + refused.stdout).not.toContain("pat-wrong-token-value");
    } finally {
      await fake.stop();
      await query("UPDATE routing_decisions SET hubspot_task_id = NULL, hubspot_task_sent_at = NULL");
      await query("DELETE FROM hubspot_companies");
    }
  });

  it("never shows the token when HubSpot (or a proxy) repeats it in an error, nor a password in the base URL", async () => {
    const fake = new FakeHubSpot({ token: TOKEN });
    const env = { ...store.env, HUBSPOT_BASE_URL: await fake.start(), HUBSPOT_ACCESS_TOKEN: TOKEN };
    try {
      expect((await runCli(["hubspot", "setup"], env)).code).toBe(0);
      fake.script(
        { method: "POST", path: "/crm/v3/objects/companies/search" },
        { status: 400, echoAuthorization: true },
      );
      const run = await runCli(["hubspot", "sync", "--json"], { ...env, LOG_LEVEL: "debug" });
      expect(run.code).toBe(1);
      // The message itself gets through, with the token cut out.
      expect(run.stderr).toContain("HubSpot answered 400 to a company search by domain: Invalid request.");
      expect(run.stderr).toContain("Authorization: Bearer ***");
      expect((run.json as { error: { message: string } }).error.message).toContain("Bearer ***");
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
      const cycles = await query<{ errors: unknown }>(
        "SELECT errors FROM cycle_runs WHERE kind = 'hubspot' ORDER BY id DESC LIMIT 1",
      );
      const stored = JSON.stringify(cycles[0]?.errors);
      expect(stored).toContain("Bearer ***");
      expect(stored).not.toContain(TOKEN);

      // A password holding a quote and an "@": redacted whole, up to the authority's last "@".
      const password = "proxy'pa@ss-4f9a1c";
      const unreachable = await runCli(["hubspot", "setup", "--json"], {
        ...env,
        HUBSPOT_BASE_URL: `http://relay:${password}@127.0.0.1:9/`,
        HUBSPOT_MAX_RETRIES: "0",
      });
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toContain("http://relay:***@127.0.0.1:9/");
      expect(unreachable.stdout + unreachable.stderr).not.toMatch(/pa%40ss|pa@ss|4f9a1c/);
    } finally {
      await fake.stop();
      await query("DELETE FROM hubspot_companies");
    }
  });

  it("never creates a task twice, even when killed between HubSpot's answer and our write", async () => {
    const fake = new FakeHubSpot({ token: TOKEN });
    const env = { ...store.env, HUBSPOT_BASE_URL: await fake.start(), HUBSPOT_ACCESS_TOKEN: TOKEN };
    try {
      expect((await runCli(["hubspot", "setup"], env)).code).toBe(0);
      // HubSpot creates the tasks and starts answering; the answer never completes.
      const held = fake.script(
        { method: "POST", path: "/crm/v3/objects/tasks/batch/create" },
        { status: 201, hold: true },
      );
      const child = spawn(process.execPath, [path.join(ROOT, "bin/pql-router.js"), "hubspot", "sync"], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn", ...env },
        stdio: "ignore",
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on("exit", (_code, signal) => resolve(signal)),
      );
      await held.hit;
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");
      held.release();
      expect(fake.tasks.size).toBe(routed);
      const unconfirmed = await query<{ n: number }>(
        "SELECT count(*)::int AS n FROM routing_decisions WHERE hubspot_task_sent_at IS NOT NULL AND hubspot_task_id IS NULL",
      );
      expect(unconfirmed[0]?.n).toBe(routed);

      const creates = () =>
        fake.requests.filter((r) => r.path === "/crm/v3/objects/tasks/batch/create").length;
      const before = creates();
      const rerun = await runCli(["hubspot", "sync", "--json"], env);
      expect(rerun.json).toMatchObject({ tasksCreated: 0, tasksRecovered: routed, failed: 0 });
      expect(creates()).toBe(before);
      // Found among their companies' tasks: associations, then the tasks themselves, read by id.
      expect(fake.requests.some((r) => r.path === "/crm/v4/associations/companies/tasks/batch/read")).toBe(
        true,
      );
      const reads = fake.requests.filter((r) => r.path === "/crm/v3/objects/tasks/batch/read");
      expect(reads.length).toBeGreaterThan(0);
      for (const read of reads) expect(read.body).not.toHaveProperty("idProperty");
      expect(fake.tasks.size).toBe(routed);
      const recorded = await query<{ task: string }>(
        "SELECT hubspot_task_id AS task FROM routing_decisions WHERE hubspot_task_id IS NOT NULL",
      );
      expect(recorded.map((r) => r.task).sort()).toEqual([...fake.tasks.keys()].sort());
    } finally {
      await fake.stop();
    }
  });
});
