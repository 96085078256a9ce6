import path from "node:path";
import { z } from "zod";
import { UsageError } from "../errors.ts";
import { redactSecrets } from "../redact.ts";

/**
 * Process settings from the environment (never from the config file, which is reviewed code and
 * must not hold secrets). Parsed once by `main` and passed down.
 */
const port = z.coerce
  .number({ error: "expected a port number" })
  .int({ error: "expected a whole port number" })
  .min(1, { error: "expected a port from 1 to 65535" })
  .max(65535, { error: "expected a port from 1 to 65535" });

const count = z.coerce
  .number({ error: "expected a positive whole number" })
  .int({ error: "expected a positive whole number" })
  .positive({ error: "expected a positive whole number" });

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value));

const settingsSchema = z.object({
  DATABASE_URL: optionalString.refine((value) => value === undefined || /^postgres(ql)?:\/\//.test(value), {
    error: "expected a postgresql:// URL (or leave it unset for the embedded database)",
  }),
  PQL_DATA_DIR: z.string().default("./.pql-router"),
  PQL_CONFIG: z.string().default("./pql-router.config.yaml"),
  PORT: port.default(3000),
  PQL_INGEST_WRITE_KEY: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  HUBSPOT_BASE_URL: z.url().default("https://api.hubapi.com"),
  HUBSPOT_ACCESS_TOKEN: optionalString,
  HUBSPOT_REQUESTS_PER_10S: count.default(100),
  HUBSPOT_DAILY_BUDGET: count.default(250_000),
  HUBSPOT_SEARCH_PER_SECOND: count.default(4),
  HUBSPOT_MAX_RETRIES: z.coerce
    .number({ error: "expected a whole number from 0 to 10" })
    .int({ error: "expected a whole number from 0 to 10" })
    .min(0, { error: "expected a whole number from 0 to 10" })
    .max(10, { error: "expected a whole number from 0 to 10" })
    .default(5),
  SLACK_API_URL: z.url().default("https://slack.com/api/"),
  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_POST_INTERVAL_MS: z.coerce
    .number({ error: "expected milliseconds from 0 to 60000" })
    .int({ error: "expected milliseconds from 0 to 60000" })
    .min(0, { error: "expected milliseconds from 0 to 60000" })
    .max(60_000, { error: "expected milliseconds from 0 to 60000" })
    .default(1000),
  PQL_SHUTDOWN_TIMEOUT: z.coerce
    .number({ error: "expected seconds from 0 to 3600" })
    .min(0, { error: "expected seconds from 0 to 3600" })
    .max(3600, { error: "expected seconds from 0 to 3600" })
    .default(30),
  PQL_SOURCE_URL: optionalString.refine((v) => v === undefined || /^(postgres(ql)?|https?):\/\//.test(v), {
    error: "expected a postgresql:// URL (source type postgres) or an http(s):// ClickHouse URL",
  }),
  PQL_PUBLIC_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    error: "expected the https:// URL where Slack reaches `serve`",
  }),
});

export type Settings = {
  databaseUrl: string | undefined;
  dataDir: string;
  configPath: string;
  port: number;
  ingestWriteKey: string | undefined;
  logLevel: z.infer<typeof settingsSchema>["LOG_LEVEL"];
  hubspotBaseUrl: string;
  hubspotAccessToken: string | undefined;
  /** HubSpot request budgets (per private app) and how often a failed call is retried. */
  hubspotLimits: { perTenSeconds: number; daily: number; searchPerSecond: number; maxRetries: number };
  slackApiUrl: string;
  slackBotToken: string | undefined;
  slackSigningSecret: string | undefined;
  /** Socket Mode instead of the HTTP endpoint (xapp- token). */
  slackAppToken: string | undefined;
  /** Least time between two posts to one Slack channel. */
  slackPostIntervalMs: number;
  /** Where Slack reaches `serve` (for the app manifest). */
  publicUrl: string | undefined;
  /** How long a stopping worker waits for the cycle in progress. */
  shutdownTimeoutMs: number;
  /** The warehouse that `source:` reads (PostgreSQL or ClickHouse); unused with the builtin source. */
  sourceUrl: string | undefined;
};

/** Names of settings whose values are secret: never logged, never echoed in an error. */
export const SECRET_SETTINGS = [
  "DATABASE_URL",
  "PQL_INGEST_WRITE_KEY",
  "HUBSPOT_ACCESS_TOKEN",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "PQL_SOURCE_URL",
] as const;

export function loadSettings(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Settings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const shown = (SECRET_SETTINGS as readonly string[]).includes(name)
        ? "(value hidden: it is a secret)"
        : redactSecrets(JSON.stringify(env[name]) ?? "missing");
      return `${name}: ${issue.message}, got ${shown}`;
    });
    throw new UsageError(`invalid environment:\n  ${problems.join("\n  ")}`, "see .env.example");
  }
  const s = parsed.data;
  return {
    databaseUrl: s.DATABASE_URL,
    dataDir: path.resolve(cwd, s.PQL_DATA_DIR),
    configPath: path.resolve(cwd, s.PQL_CONFIG),
    port: s.PORT,
    ingestWriteKey: s.PQL_INGEST_WRITE_KEY,
    logLevel: s.LOG_LEVEL,
    hubspotBaseUrl: s.HUBSPOT_BASE_URL,
    hubspotAccessToken: s.HUBSPOT_ACCESS_TOKEN,
    hubspotLimits: {
      perTenSeconds: s.HUBSPOT_REQUESTS_PER_10S,
      daily: s.HUBSPOT_DAILY_BUDGET,
      searchPerSecond: s.HUBSPOT_SEARCH_PER_SECOND,
      maxRetries: s.HUBSPOT_MAX_RETRIES,
    },
    slackApiUrl: s.SLACK_API_URL,
    slackBotToken: s.SLACK_BOT_TOKEN,
    slackSigningSecret: s.SLACK_SIGNING_SECRET,
    slackAppToken: s.SLACK_APP_TOKEN,
    slackPostIntervalMs: s.SLACK_POST_INTERVAL_MS,
    publicUrl: s.PQL_PUBLIC_URL,
    shutdownTimeoutMs: s.PQL_SHUTDOWN_TIMEOUT * 1000,
    sourceUrl: s.PQL_SOURCE_URL,
  };
}

/** A database URL with its password removed, safe for logs and messages (the one redactor's rule). */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}
