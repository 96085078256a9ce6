import { type Logger, pino } from "pino";
import { createRuntime, type JobContext, type Runtime } from "../../src/app/runtime.ts";
import { type Clock, systemClock } from "../../src/clock.ts";
import { configVersion, type LoadedConfig } from "../../src/config/load-config.ts";
import type { PqlConfig } from "../../src/config/schema.ts";
import { loadSettings } from "../../src/config/settings.ts";
import type { ServerTimeouts } from "../../src/http/http-host.ts";
import type { Database } from "../../src/store/database.ts";

/** A clock a test moves by hand (`set`, `advance`); sleeping still waits real time. */
export function manualClock(at: Date): Clock & { set(at: Date): void; advance(ms: number): void } {
  let t = at.getTime();
  return {
    now: () => t,
    sleep: systemClock.sleep,
    set: (d) => {
      t = d.getTime();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A clock stopped at `at` (sleeping still waits). */
export function fixedClock(at: Date): Clock {
  return { now: () => at.getTime(), sleep: systemClock.sleep };
}

/** What a job takes, for a test: the database, a config (loaded or built), a silent log, and a clock stopped at `at` when given. */
export function jobContext(db: Database, config: LoadedConfig | PqlConfig, at?: Date): JobContext {
  const loaded: LoadedConfig =
    "version" in config ? config : { config, version: configVersion(config), path: "<test config>" };
  return { db, config: loaded, log: pino({ level: "silent" }), clock: at ? fixedClock(at) : systemClock };
}

/**
 * A runtime over a test database whose HTTP server listens on a free loopback port: the same
 * routes `serve` and the worker expose (health, and ingest with `writeKey`). Close it before the store.
 */
export async function listeningRuntime(
  db: Database,
  options: {
    writeKey?: string;
    log?: Logger;
    timeouts?: Partial<ServerTimeouts>;
    /** More settings, e.g. SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL, PQL_CONFIG. */
    env?: Record<string, string>;
    clock?: Clock;
  },
): Promise<{ rt: Runtime; base: string; port: number }> {
  const settings = loadSettings({
    ...(options.writeKey ? { PQL_INGEST_WRITE_KEY: options.writeKey } : {}),
    LOG_LEVEL: "silent",
    ...options.env,
  });
  const rt = await createRuntime({
    settings,
    log: options.log ?? pino({ level: "silent" }),
    db,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.timeouts ? { httpTimeouts: options.timeouts } : {}),
  });
  const port = await rt.listen(0, "127.0.0.1");
  return { rt, base: `http://127.0.0.1:${port}`, port };
}
