import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin", "pql-router.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (for --json runs). */
  json: unknown;
}

/**
 * Runs the real CLI in a child process, as a user would. DATABASE_URL is cleared unless given;
 * `nodeArgs` go to node itself (e.g. a heap cap).
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const { DATABASE_URL: _ignored, ...base } = process.env;
    const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
      cwd: ROOT,
      env: { ...base, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const last = stdout.trimEnd().split("\n").at(-1) ?? "";
      let json: unknown;
      try {
        json = JSON.parse(last);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}
