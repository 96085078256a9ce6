import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { importFile } from "../../src/app/jobs/import-file.ts";
import { runScorePass } from "../../src/app/jobs/score-pass.ts";
import { configVersion, type LoadedConfig, loadConfig } from "../../src/config/load-config.ts";
import type { PqlConfig } from "../../src/config/schema.ts";
import type { Database } from "../../src/store/database.ts";
import { ROOT } from "./cli.ts";
import { jobContext } from "./runtime.ts";

export const SLACK_TOKEN = "xoxb-test";
export const SIGNING_SECRET = "test-signing-secret-0123456789abcdef";
/** The 20 extra reps of the smb pool (ids r01..r20, Slack ids U0REP0001..). */
export const SMB_REPS = Array.from({ length: 20 }, (_, i) => {
  const n = String(i + 1).padStart(2, "0");
  return { id: `r${n}`, slackUserId: `U0REP00${n}` };
});
export const MANAGER = { id: "maya", name: "Maya Chen", slackUserId: "U0MANAGER1" };
export const OUTSIDER = "U0OUTSIDE1";
export const CHANNELS = [
  { id: "C0HOT0001", name: "pql-hot" },
  { id: "C0ENT0001", name: "pql-enterprise" },
  { id: "C0DIG0001", name: "pql-digest" },
  { id: "C0SHA0001", name: "pql-shadow" },
];

/**
 * The tests' Slack config: the full example config, with a manager, an SLA (4 h, both, twice),
 * pool leads, the enterprise pool in its own channel, and twenty reps in the smb pool (so twenty
 * people may race for one claim). `patch` adjusts it further.
 */
export function slackConfig(patch: (c: PqlConfig) => void = () => {}): PqlConfig {
  const c = structuredClone(loadConfig(path.join(ROOT, "test", "fixtures", "full.config.yaml")).config);
  c.routing.managers = [{ ...MANAGER, email: "maya@example.com" }];
  c.routing.sla = { claimWithinHours: 4, escalate: "both", maxEscalations: 2 };
  for (const pool of c.routing.pools) pool.lead = MANAGER.id;
  for (const r of SMB_REPS) {
    c.routing.reps.push({
      id: r.id,
      name: `Rep ${r.id}`,
      email: `${r.id}@example.com`,
      slackUserId: r.slackUserId,
      pools: ["smb", "mid-market", "enterprise"],
      capacity: 50,
      weight: 1,
      outOfOffice: [],
    });
  }
  c.slack = { channels: { hot: "#pql-hot", pools: { enterprise: "#pql-enterprise" } }, maxAgeHours: 72 };
  patch(c);
  return c;
}

/** Writes `config` where the CLI and `serve` read it (PQL_CONFIG), and returns it loaded. */
export function writeConfig(dir: string, config: PqlConfig, name = "pql-router.config.yaml"): LoadedConfig {
  const file = path.join(dir, name);
  fs.writeFileSync(file, YAML.stringify(config));
  const loaded = loadConfig(file);
  return { ...loaded, version: loaded.version ?? configVersion(config) };
}

/** Imports the world and runs a routing scoring pass at `end`: returns the routing decision ids. */
export async function routedWorld(db: Database, config: LoadedConfig, worldFile: string, end: Date) {
  await importFile(jobContext(db, config), worldFile);
  const pass = await runScorePass(jobContext(db, config), { now: end, route: true });
  const { rows } = await db.sql.query<{ id: string; pool: string }>(
    "SELECT id::text, pool FROM routing_decisions ORDER BY id",
  );
  return { pass, decisions: rows };
}

/** Polls `check` until it returns true (handlers work after their ack). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
