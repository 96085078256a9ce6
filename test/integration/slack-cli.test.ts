import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { openDatabase } from "../../src/store/database.ts";
import { ROOT, runCli } from "../helpers/cli.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { type FakeSlack, startFakeSlack } from "../helpers/fake-slack.ts";
import {
  CHANNELS,
  routedWorld,
  SLACK_TOKEN,
  slackConfig,
  until,
  writeConfig,
} from "../helpers/slack-world.ts";

// Routed now (the hour): routings older than 72 h are not posted.
const END = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
const dir = tempDir();
let worldFile: string;

beforeAll(async () => {
  worldFile = (
    await generateWorld({ accounts: 150, days: 30, seed: 23, end: END, out: path.join(dir, "w.ndjson") })
  ).file;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `pql-router slack (CLI) on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      let routed: number;
      let fake: FakeSlack;
      let env: Record<string, string>;

      /** Reads the database between CLI runs (the embedded one admits one process at a time). */
      async function query<R>(sql: string): Promise<R[]> {
        const db = await openDatabase({
          databaseUrl: store.env.DATABASE_URL,
          dataDir: store.env.PQL_DATA_DIR ?? tempDir(),
        });
        try {
          return (await db.sql.query<R>(sql)).rows;
        } finally {
          await db.close();
        }
      }

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        const cdir = tempDir();
        const config = writeConfig(cdir, slackConfig());
        routed = (await routedWorld(store.db, config, worldFile, END)).decisions.length;
        expect(routed).toBeGreaterThanOrEqual(3);
        await store.close();
        env = {
          ...store.env,
          PQL_CONFIG: config.path,
          SLACK_BOT_TOKEN: SLACK_TOKEN,
          SLACK_POST_INTERVAL_MS: "0",
        };
      });
      afterAll(async () => {
        await store?.dispose();
      });
      beforeEach(async () => {
        fake = await startFakeSlack({ channels: CHANNELS });
        env.SLACK_API_URL = fake.url;
      });
      afterEach(async () => {
        await fake.close();
      });

      it("refuses to post without a bot token", async () => {
        const run = await runCli(["slack", "post"], { ...env, SLACK_BOT_TOKEN: "" });
        expect(run.code).toBe(2);
        expect(run.stderr).toContain("SLACK_BOT_TOKEN is not set");
        expect(fake.calls).toHaveLength(0);
      });

      it("SIGKILL between Slack's post and its record, then a rerun: the message is found, not posted twice", async () => {
        fake.script("chat.postMessage", { hangAfterStore: true });
        const child = spawn(process.execPath, [path.join(ROOT, "bin/pql-router.js"), "slack", "post"], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn", ...env },
          stdio: "ignore",
        });
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on("exit", (_c, signal) => resolve(signal)),
        );
        // Slack has stored the hung post; the process waits for its answer (and never records it).
        await until(
          () => fake.callsTo("chat.postMessage").some((c) => c.status === 0) && fake.messages().length >= 1,
          "the hung post",
          30_000,
        );
        await new Promise((r) => setTimeout(r, 300));
        child.kill("SIGKILL");
        expect(await exited).toBe("SIGKILL");
        const storedBefore = fake.messages().length;
        const run = await runCli(["slack", "post", "--json"], env);
        expect(run.code, run.stderr).toBe(0);
        const result = run.json as Record<string, number>;
        // The contract: these six numbers, on the last stdout line.
        for (const key of ["posted", "updated", "escalated", "pending", "rateLimited", "failed"])
          expect(typeof result[key], key).toBe("number");
        expect(result).toMatchObject({ recovered: 1, posted: routed - storedBefore, pending: 0, failed: 0 });
        const keys = fake.messages().map((m) => m.metadata?.event_payload.key);
        expect(keys).toHaveLength(routed);
        expect(new Set(keys).size).toBe(routed);
        expect(run.stdout + run.stderr).not.toContain(SLACK_TOKEN);

        // Nothing left: a third run posts nothing; status counts what was posted.
        const again = await runCli(["slack", "post", "--json"], env);
        expect(again.json).toMatchObject({
          posted: 0,
          updated: 0,
          escalated: 0,
          pending: 0,
          rateLimited: 0,
          failed: 0,
        });
        const status = await runCli(["status", "--json"], env);
        expect((status.json as { slack: Record<string, number> }).slack).toMatchObject({
          posted: routed,
          pending: 0,
          claimed: 0,
          snoozed: 0,
          notAFit: 0,
          escalated: 0,
        });
        const text = await runCli(["status"], env);
        expect(text.stdout).toMatch(new RegExp(`Slack\\s+${routed} posted, 0 pending`));
      });

      it("routing explain prints the rule, the rep and the reps skipped, as text and JSON", async () => {
        const [row] = await query<{ domain: string; rep_id: string; rule: string }>(
          `SELECT a.domain, d.rep_id, d.rule FROM routing_decisions d JOIN accounts a ON a.id = d.account_id
        WHERE d.rule IS NOT NULL ORDER BY d.id LIMIT 1`,
        );
        expect(row?.rule).toBe("round-robin");
        const json = await runCli(["routing", "explain", row?.domain as string, "--json"], env);
        expect(json.code).toBe(0);
        expect((json.json as { routings: { rule: string; repId: string }[] }).routings[0]).toMatchObject({
          rule: "round-robin",
          repId: row?.rep_id,
        });
        const text = await runCli(["routing", "explain", row?.domain as string], env);
        expect(text.stdout).toMatch(/rule\s+round-robin/);
        expect(text.stdout).toContain(`assigned to  ${row?.rep_id}`);
        const missing = await runCli(["routing", "explain", "no-such.example"], env);
        expect(missing.code).toBe(2);
      });

      it("report: the manager report as JSON, text and CSV, from what is stored", async () => {
        const json = await runCli(["report", "--since", "7d", "--json"], env);
        expect(json.code, json.stderr).toBe(0);
        const report = json.json as {
          claims: { routed: number; claimed: number };
          byRep: { assigned: number }[];
          unclaimed: unknown[];
        };
        expect(report.claims).toMatchObject({ routed, claimed: 0 });
        expect(report.byRep.reduce((sum, r) => sum + r.assigned, 0)).toBe(routed);
        expect(report.unclaimed).toHaveLength(routed);
        const text = await runCli(["report"], env);
        expect(text.stdout).toMatch(new RegExp(`routed\\s+${routed}`));
        expect(text.stdout).toContain("Conversion by tier");
        const out = path.join(tempDir(), "report.csv");
        const csv = await runCli(["report", "--format", "csv", "--out", out], env);
        expect(csv.code).toBe(0);
        expect(fs.readFileSync(out, "utf8").trimEnd().split("\n")).toHaveLength(routed + 1);
        const bad = await runCli(["report", "--since", "yesterday"], env);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain("--since");
      });

      it("slack manifest prints the app's scopes, interactivity URL and /pql command", async () => {
        const run = await runCli(["slack", "manifest", "--url", "https://pql.example.com", "--json"], env);
        expect(run.code).toBe(0);
        const manifest = run.json as {
          oauth_config: { scopes: { bot: string[] } };
          settings: { interactivity: { request_url: string } };
          features: { slash_commands: { command: string; url: string }[] };
        };
        expect(manifest.oauth_config.scopes.bot).toEqual(
          expect.arrayContaining(["chat:write", "channels:history", "channels:read", "commands"]),
        );
        expect(manifest.settings.interactivity.request_url).toBe("https://pql.example.com/slack/events");
        expect(manifest.features.slash_commands[0]).toMatchObject({
          command: "/pql",
          url: "https://pql.example.com/slack/events",
        });
        const bad = await runCli(["slack", "manifest", "--url", "not a url"], env);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain("--url");
      });
    },
  );
}
