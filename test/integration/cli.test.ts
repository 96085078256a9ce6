import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/databases.ts";

const dirs: string[] = [];
const scratch = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

describe("pql-router config check", () => {
  it("passes the shipped example with exit 0 and its version", async () => {
    const run = await runCli(["config", "check", "--json"]);
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({
      ok: true,
      version: expect.stringMatching(/^[0-9a-f]{12}$/),
      problems: [],
    });
  });

  it("lists every problem of a bad file and exits 1", async () => {
    const file = path.join(scratch(), "bad.yaml");
    const example = fs.readFileSync(path.join(ROOT, "pql-router.config.yaml"), "utf8");
    fs.writeFileSync(
      file,
      example.replace("      capacity: 60", "      capacity: -3").replace("  hot: 70", "  hot: 7"),
    );
    const run = await runCli(["config", "check", file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${file}: 2 problem(s)`);
    expect(run.stdout).toContain("routing.pools[1].capacity: expected a positive integer, got -3 (line");
    expect(run.stdout).toContain('tiers: expected hot > warm, got {"hot":7,"warm":40}');
    const json = await runCli(["config", "check", file, "--json"]);
    expect(json.code).toBe(1);
    expect((json.json as { problems: string[] }).problems).toHaveLength(2);
  });
});

describe("pql-router generate", () => {
  it("writes the same world for the same seed, byte for byte, and another for another seed", async () => {
    const dir = scratch();
    const args = (seed: number, out: string) => [
      "generate",
      "--accounts",
      "60",
      "--days",
      "20",
      "--seed",
      String(seed),
      "--out",
      out,
      "--json",
    ];
    const [a, b, c] = await Promise.all([
      runCli(args(5, path.join(dir, "a.ndjson"))),
      runCli(args(5, path.join(dir, "b.ndjson"))),
      runCli(args(6, path.join(dir, "c.ndjson"))),
    ]);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    expect(sha(path.join(dir, "a.ndjson"))).toBe(sha(path.join(dir, "b.ndjson")));
    expect(sha(path.join(dir, "a.ndjson.outcomes.csv"))).toBe(sha(path.join(dir, "b.ndjson.outcomes.csv")));
    expect(sha(path.join(dir, "a.ndjson"))).not.toBe(sha(path.join(dir, "c.ndjson")));
    const summary = a.json as { messages: number; accounts: number; converted: number };
    const lines = fs.readFileSync(path.join(dir, "a.ndjson"), "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(summary.messages);
    const outcomes = fs.readFileSync(path.join(dir, "a.ndjson.outcomes.csv"), "utf8").trimEnd().split("\n");
    expect(outcomes[0]).toBe("account_id,converted,converted_at,amount");
    expect(outcomes).toHaveLength(61);
    expect(outcomes.filter((l) => l.includes(",true,"))).toHaveLength(summary.converted);
    for (const row of outcomes.slice(1))
      expect(row).toMatch(/^acct_\d{6},(true,\d{4}-\d\d-\d\dT[\d:.]+Z,\d+|false,,)$/);
  });

  it("names a bad argument and its value", async () => {
    const run = await runCli(["generate", "--accounts", "ten", "--out", "/tmp/x.ndjson"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--accounts: expected a whole number >= 1, got "ten"');
  });
});

describe("npm start (the demo)", () => {
  it("on an empty embedded database: generates, imports, and shows what is there; a second run imports nothing", async () => {
    const env = { PQL_DATA_DIR: scratch() };
    const first = await runCli(["demo", "--accounts", "80"], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /config .*pql-router\.config\.yaml: valid, version [0-9a-f]{12} \(Hireloop\)/,
    );
    expect(first.stdout).toMatch(/generated a sample world of 80 accounts/);
    expect(first.stdout).toMatch(/accepted, 0 duplicates, 0 rejected/);
    expect(first.stdout).toMatch(/Scored 80 of 80 accounts \(full pass\): \d+ hot, \d+ warm, \d+ cold\./);
    // Without a token the demo shows the HubSpot requests a sync would send, and sends nothing.
    expect(first.stdout).toMatch(
      /HubSpot \(no HUBSPOT_ACCESS_TOKEN: nothing sent\): a sync would make \d+ requests/,
    );
    expect(first.stdout).toContain('"associationTypeId": 192');
    // Then a whole cycle, the sample reps' clicks, and the manager report.
    expect(first.stdout).toMatch(/cycle \d+: ok/);
    expect(first.stdout).toMatch(/Simulated Slack clicks by the sample reps: \d+ claimed/);
    expect(first.stdout).toContain("Manager report: routings since");
    const second = await runCli(["demo", "--json"], env);
    expect(second.code).toBe(0);
    const json = second.json as {
      imported: unknown;
      status: {
        accounts: number;
        messagesWithoutAccount: number;
        routed: number;
        hubspot: { tasksPending: number };
      };
      score: { mode: string; accounts: number; routed: number };
      hot: { tier: string; reasons: string[] }[];
    };
    expect(json.imported).toBeNull();
    expect(json.status.accounts).toBe(80);
    expect(json.status.messagesWithoutAccount).toBe(0);
    expect(json.score).toMatchObject({ mode: "incremental", accounts: 80, routed: 0 });
    // Accounts hot on the first run were routed once each; the second run routed no one again.
    const firstHot = Number(/Scored 80 of 80 accounts \(full pass\): (\d+) hot/.exec(first.stdout)?.[1]);
    expect(json.status.routed).toBe(firstHot);
    expect(json.status.hubspot.tasksPending).toBe(json.status.routed);
    for (const account of json.hot) {
      expect(account.tier).toBe("hot");
      expect(account.reasons.length).toBeGreaterThan(0);
    }
  });
});

describe("pql-router serve", () => {
  it("refuses to start with nothing to serve", async () => {
    const run = await runCli(["serve"], { PQL_DATA_DIR: scratch(), PQL_INGEST_WRITE_KEY: "" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("nothing to serve: set PQL_INGEST_WRITE_KEY");
  });

  it("refuses Slack claims without a bot token", async () => {
    const run = await runCli(["serve"], {
      PQL_DATA_DIR: scratch(),
      PQL_INGEST_WRITE_KEY: "",
      SLACK_SIGNING_SECRET: "a-signing-secret",
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("SLACK_BOT_TOKEN is not set");
    expect(run.stderr).not.toContain("a-signing-secret");
  });

  it("serves the Tracking API as a process, and stops cleanly on SIGTERM", async () => {
    const dataDir = scratch();
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "bin/pql-router.js"), "serve", "--port", "0", "--json"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: "",
          PQL_DATA_DIR: dataDir,
          PQL_INGEST_WRITE_KEY: "wk_secret_42",
          LOG_LEVEL: "info",
        },
      },
    );
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.on("exit", () => reject(new Error(`serve exited: ${stderr}`)));
      child.stderr.on("data", (d) => {
        stderr += d;
        const match = /http:\/\/localhost:(\d+)\/v1/.exec(stderr);
        if (match) resolve(Number(match[1]));
      });
    });
    const res = await fetch(`http://127.0.0.1:${port}/v1/identify`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from("wk_secret_42:").toString("base64")}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ userId: "u1", traits: { title: "CFO" } }),
    });
    expect(res.status).toBe(200);
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    child.kill("SIGTERM");
    expect(await closed).toBe(0);
    expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "")).toEqual({ stopped: "SIGTERM", port });
    expect(stderr).not.toContain("wk_secret_42");
    const status = await runCli(["status", "--json"], { PQL_DATA_DIR: dataDir });
    expect(status.json).toMatchObject({ messages: 1, users: 1 });
  });
});
