/**
 * The few errors pql-router raises on purpose. Each has a stable `code`, a message that names
 * the field and value at fault, and a `hint` a person can act on. Anything else is a bug.
 */
export class PqlError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** A setting (environment variable) or command-line argument is missing or malformed. */
export class UsageError extends PqlError {
  constructor(message: string, hint?: string) {
    super("usage", message, hint === undefined ? {} : { hint });
  }
}

/** The RevOps config file is missing, unparseable or invalid; `problems` lists every one. */
export class ConfigError extends PqlError {
  readonly problems: readonly string[];

  constructor(file: string, problems: readonly string[]) {
    super("config_invalid", `${file} has ${problems.length} problem(s):\n  ${problems.join("\n  ")}`, {
      hint: "fix the listed paths; `pql-router config check` prints this report",
    });
    this.problems = problems;
  }
}

/** The database cannot be opened, migrated or reached. */
export class StoreError extends PqlError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super("store", message, options);
  }
}

/** Renders an error for a person: message, then hint. Never includes secrets (callers redact). */
export function describeError(error: unknown): string {
  if (error instanceof PqlError)
    return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * A peer (HubSpot, Slack) refused or could not be reached after the retries allowed. Work that
 * was not done stays queued in the database for a later cycle. Never carries a token.
 */
export class IntegrationError extends PqlError {
  /** HTTP status of the last answer, if there was one. */
  readonly status: number | undefined;

  constructor(
    code:
      | "hubspot_unavailable"
      | "hubspot_daily_limit"
      | "hubspot_auth"
      | "hubspot_rejected"
      | "slack_unavailable"
      | "slack_rate_limited"
      | "slack_auth"
      | "slack_rejected",
    message: string,
    options: { hint?: string; cause?: unknown; status?: number } = {},
  ) {
    super(code, message, options);
    this.status = options.status;
  }
}

/** Slack answered 429: wait `retryAfterSeconds` before calling that method (channel) again. */
export class SlackRateLimited extends IntegrationError {
  readonly retryAfterSeconds: number;

  constructor(method: string, retryAfterSeconds: number) {
    super("slack_rate_limited", `Slack rate-limited ${method}; retry after ${retryAfterSeconds} s`, {
      status: 429,
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
