import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { loadConfig } from "../src/config/load-config.ts";
import { generateWorld } from "../src/sample/generate-world.ts";
import { ROOT } from "../test/helpers/cli.ts";
import { createPostgresDatabase } from "../test/helpers/postgres.ts";

/** Generated worlds and scratch databases live here (git-ignored); worlds are reused across runs. */
export const OUT = path.join(ROOT, "bench", "out");
fs.mkdirSync(OUT, { recursive: true });

export const WORLD_END = new Date("2026-11-01T00:00:00Z");

export type Engine = "postgres" | "embedded";

/** A fresh database on `engine`: its env for the CLI, its settings, and cleanup. */
export async function fresh(engine: Engine): Promise<{
  env: Record<string, string>;
  settings: { databaseUrl: string | undefined; dataDir: string };
  drop: () => Promise<void>;
}> {
  const dataDir = fs.mkdtempSync(path.join(OUT, "db-"));
  if (engine === "postgres") {
    const { url, drop } = await createPostgresDatabase("pqlr_bench");
    return {
      env: { DATABASE_URL: url, PQL_DATA_DIR: dataDir },
      settings: { databaseUrl: url, dataDir },
      drop: async () => {
        await drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  return {
    env: { DATABASE_URL: "", PQL_DATA_DIR: dataDir },
    settings: { databaseUrl: undefined, dataDir },
    drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** A sample world of `accounts` over `days`, generated once and cached. */
export async function world(
  accounts: number,
  days: number,
  seed = 2026,
): Promise<{ file: string; messages: number; outcomesFile: string }> {
  const file = path.join(OUT, `world-${accounts}-${days}d-${seed}.ndjson`);
  const meta = `${file}.json`;
  if (fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, "utf8"));
  process.stderr.write(`generating ${accounts} accounts over ${days} days...\n`);
  const summary = await generateWorld({ accounts, days, seed, end: WORLD_END, out: file });
  const result = { file, messages: summary.messages, outcomesFile: summary.outcomesFile };
  fs.writeFileSync(meta, JSON.stringify(result));
  return result;
}

/** The example config (pql-router.config.yaml), as shipped. */
export const SHIPPED_CONFIG = path.join(ROOT, "pql-router.config.yaml");

/**
 * The example config with signal windows of at most `signalDays` and an activity window of
 * `activeDays` (written once under bench/out): the history scoring reads is then
 * max(signalDays, 2 x activeDays). Returns its path.
 */
export function windowedConfig(signalDays: number, activeDays: number): string {
  const file = path.join(OUT, `config-signals-${signalDays}d-activity-${activeDays}d.yaml`);
  const config = structuredClone(loadConfig(SHIPPED_CONFIG).config);
  config.scoring.activeWindowDays = activeDays;
  for (const s of config.signals) s.windowDays = Math.min(s.windowDays, signalDays);
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Runs a bench script (`node --import tsx <script> ...args`) in a child process, so its peak RSS
 * is its own, and resolves with the JSON of its last stdout line. Its stderr passes through; a
 * failure rejects with the exit code and the last lines it printed there.
 */
export function runChild<T>(script: string, args: string[], env: Record<string, string>): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d) => {
      out += d;
    });
    proc.stderr.on("data", (d) => {
      err += d;
      process.stderr.write(d);
    });
    proc.on("close", (code) => {
      const tail = err.trim().split("\n").slice(-3).join(" | ").slice(0, 600);
      if (code !== 0) reject(new Error(`${script} failed (exit ${code})${tail ? `: ${tail}` : ""}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}"));
    });
  });
}
