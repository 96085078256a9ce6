import type { ParseArgsConfig } from "node:util";
import type { pino } from "pino";
import type { Runtime } from "../app/runtime.ts";
import type { Clock } from "../clock.ts";
import type { Settings } from "../config/settings.ts";
import { UsageError } from "../errors.ts";
import { parseTimestamp } from "../signals/segment-message.ts";
import type { CommandOutput } from "./output.ts";

/** What a command is and what it is given: the CLI's one shared vocabulary (main and every command import it). */
export interface CliContext {
  settings: Settings;
  log: pino.Logger;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** The process's clock: the runtime's, and what `--at` defaults to. */
  clock: Clock;
  /**
   * The process's runtime (database opened and migrated, config read on first use), created on
   * the first call and closed by `main` once the command is done. `migrate: false` for `db migrate`;
   * `config: true` reads the config first, so a bad file is reported before the database is touched.
   */
  runtime(options?: { migrate?: boolean; config?: boolean }): Promise<Runtime>;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig["options"];
  run(ctx: CliContext, positionals: string[], values: Values): Promise<CommandOutput>;
}

/** Reads a whole-number option, naming it and its value when it is not one. */
export function intOption(values: Values, name: string, fallback?: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined || raw === true || raw === false) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name}: expected a whole number >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Reads `--at`: an ISO-8601 date, or now (by `clock`) when absent. */
export function atOption(value: unknown, clock: Clock): Date {
  if (value === undefined) return new Date(clock.now());
  const at = typeof value === "string" ? parseTimestamp(value) : null;
  if (!at)
    throw new UsageError(
      `--at: expected an ISO-8601 date such as 2026-11-01 or 2026-11-01T12:00:00Z, got ${JSON.stringify(value)}`,
    );
  return at;
}
