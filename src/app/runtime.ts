import type { Logger } from "pino";
import { type Clock, systemClock } from "../clock.ts";
import { type LoadedConfig, loadConfig } from "../config/load-config.ts";
import type { Settings } from "../config/settings.ts";
import { ConfigError } from "../errors.ts";
import { createHttpHost, type HttpHost, type ServerTimeouts, sendJson } from "../http/http-host.ts";
import { mountTrackingApi } from "../integrations/segment/tracking-api.ts";
import { type Database, openDatabase } from "../store/database.ts";
import { storeMessages } from "../store/message-store.ts";
import { migrate } from "../store/migrate.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { mountSlackApp, type SlackAppHandle } from "./slack-app.ts";

/**
 * Everything a job needs, built once per process and shared by every entry point (the CLI, the
 * worker, the Slack handlers): the settings, a logger, the clock, the database (opened once),
 * the RevOps config and the one HTTP server. Jobs take the parts they use and return plain data.
 */
export interface Runtime {
  readonly settings: Settings;
  readonly log: Logger;
  readonly clock: Clock;
  readonly db: Database;
  /** The RevOps config, read and validated on first use: a job that needs none never reads it. */
  readonly config: LoadedConfig;
  /** The process's one HTTP server: health and metrics always; ingest once `listen` finds a write key. */
  readonly http: HttpHost;
  /** The process's Prometheus metrics, served at GET /metrics. */
  readonly metrics: Metrics;
  /**
   * Mounts what the settings enable (the Tracking API with PQL_INGEST_WRITE_KEY; Slack
   * interactivity with SLACK_SIGNING_SECRET, or Socket Mode with SLACK_APP_TOKEN), then listens.
   */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Reads the config file again: a valid file whose version changed replaces the config in force
   * (`changed`); an invalid one is refused (`error`, the full report) and the last good config stays.
   */
  reloadConfig(): { changed: boolean; error: ConfigError | null };
  /** Closes the HTTP server and the database; safe to call twice. */
  close(): Promise<void>;
}

/** What most jobs take: the runtime's database, config, log and clock (tests pass these alone). */
export type JobContext = Pick<Runtime, "db" | "config" | "log" | "clock"> & {
  /** Where `source:` reads (PQL_SOURCE_URL); the builtin source needs none. */
  readonly settings?: Pick<Settings, "sourceUrl">;
};

export interface RuntimeOptions {
  settings: Settings;
  log: Logger;
  clock?: Clock;
  /** Apply pending migrations on open (default true; `db migrate` opens without). */
  migrate?: boolean;
  /** Read and validate the config before opening the database, so a bad file is reported first. */
  config?: boolean;
  /** An open, migrated database to use instead of opening one; the caller keeps it (close leaves it open). */
  db?: Database;
  httpTimeouts?: Partial<ServerTimeouts>;
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { settings, log } = options;
  const clock = options.clock ?? systemClock;
  let config: LoadedConfig | undefined = options.config ? loadConfig(settings.configPath) : undefined;
  const db = options.db ?? (await openDatabase(settings));
  try {
    if (!options.db && options.migrate !== false) await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  const http = createHttpHost({ log, ...(options.httpTimeouts ? { timeouts: options.httpTimeouts } : {}) });
  http.route("GET", "/healthz", (_req, res) => sendJson(res, 200, { ok: true }));
  const metrics = createMetrics(db);
  http.route("GET", "/metrics", async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { "Content-Type": metrics.registry.contentType });
    res.end(body);
  });
  let closing: Promise<void> | undefined;
  let mounted = false;
  let slackApp: SlackAppHandle | undefined;
  const runtime: Runtime = {
    settings,
    log,
    clock,
    db,
    metrics,
    get config() {
      config ??= loadConfig(settings.configPath);
      return config;
    },
    reloadConfig() {
      try {
        const next = loadConfig(settings.configPath);
        const changed = config !== undefined && next.version !== config.version;
        config = next;
        return { changed, error: null };
      } catch (error) {
        if (error instanceof ConfigError) return { changed: false, error };
        throw error;
      }
    },
    http,
    async listen(port, host) {
      const writeKey = settings.ingestWriteKey;
      if (writeKey && !mounted) {
        mounted = true;
        mountTrackingApi(http, {
          writeKey,
          store: async (messages) => {
            const stored = await storeMessages(db, messages, clock);
            metrics.ingested({ ...stored, rejected: stored.rejected.length });
            return stored;
          },
          log,
          now: () => new Date(clock.now()),
        });
      }
      if ((settings.slackSigningSecret || settings.slackAppToken) && !slackApp) {
        slackApp = await mountSlackApp(runtime);
      }
      return http.listen(port, host);
    },
    close() {
      closing ??= (async () => {
        await slackApp?.stop();
        await http.close();
        if (!options.db) await db.close();
      })();
      return closing;
    },
  };
  return runtime;
}
