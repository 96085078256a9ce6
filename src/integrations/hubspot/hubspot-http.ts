import { Client } from "@hubspot/api-client";
import type { Logger } from "pino";
import { type Clock, systemClock } from "../../clock.ts";
import { IntegrationError } from "../../errors.ts";
import { redactSecrets } from "../../redact.ts";
import { RollingWindow } from "./rolling-window.ts";

export interface HubSpotRequest {
  method: "GET" | "POST" | "PATCH";
  /** Path from the API root, e.g. /crm/v3/objects/companies/batch/update */
  path: string;
  body?: unknown;
  qs?: Record<string, string>;
  /**
   * false for creates: a 5xx or network failure may come after HubSpot did the work, so it is not
   * resent here; the caller gets status 0 (no answer) or the 5xx and treats the records as
   * unconfirmed, to be looked up before they are sent again.
   */
  retry?: boolean;
}

export interface HubSpotResponse<T = unknown> {
  status: number;
  body: T;
}

export interface HubSpotLimits {
  /** Requests per rolling 10 seconds (the private app's burst limit). */
  perTenSeconds: number;
  /** Requests per UTC day. */
  daily: number;
  /** CRM search requests per second (search has its own, lower limit). */
  searchPerSecond: number;
  /** Retries of a 5xx or network failure before giving up for this cycle. */
  maxRetries: number;
}

export interface HubSpotCallStats {
  /** Requests sent, retries included. */
  calls: number;
  /** Requests sent again after a 429, 5xx or network error. */
  retries: number;
  /** 429 answers received. */
  rateLimited: number;
}

/**
 * The one way pql-router talks to HubSpot: every request takes a slot of the shared budget,
 * 429s back off (and a daily 429 stops for the day), 5xx and network errors are retried with
 * jittered exponential backoff up to a bound, and any other answer (2xx, 207, 4xx) goes back to
 * the caller, who records per-record results. 401/403 become an error naming the setting.
 * The token goes only into the Authorization header: never into a log line or an error, and any
 * answer that repeats it (or a password in the base URL) is scrubbed before anyone reads it.
 */
export interface HubSpotHttp {
  send<T = unknown>(request: HubSpotRequest): Promise<HubSpotResponse<T>>;
  readonly stats: HubSpotCallStats;
}

export interface HubSpotHttpOptions {
  accessToken: string;
  baseUrl: string;
  limits: HubSpotLimits;
  /** Calls already made today by earlier runs (from the database). */
  usedToday?: number;
  clock?: Clock;
  random?: () => number;
  log?: Logger;
  /** A request without an answer after this long counts as a network failure (default 30 s). */
  timeoutMs?: number;
}

const SEARCH_PATH = /\/search$/;
/** A 429 is not our mistake and carries no risk: it is retried this many times at most. */
const MAX_RATE_LIMIT_RETRIES = 20;

export function createHubSpotHttp(options: HubSpotHttpOptions): HubSpotHttp {
  const { accessToken, limits, log } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  // The SDK sends the request (auth header, base path, JSON); budgets and retries are ours, so
  // its own limiter and retry decorator stay off.
  const client = new Client({
    accessToken,
    basePath: options.baseUrl.replace(/\/+$/, ""),
    numberOfApiCallRetries: 0,
  });
  const burst = new RollingWindow(limits.perTenSeconds, 10_000, clock);
  const search = new RollingWindow(limits.searchPerSecond, 1_000, clock);
  const stats: HubSpotCallStats = { calls: 0, retries: 0, rateLimited: 0 };
  let usedToday = options.usedToday ?? 0;
  // Every answer is scrubbed as it arrives: HubSpot, or a proxy before it, may repeat the request's
  // Authorization header in a message that then reaches output, logs and the database.
  const scrub = (text: string) => redactSecrets(text, [accessToken]);
  const backoff = (attempt: number, baseMs: number, capMs: number) =>
    Math.min(capMs, baseMs * 2 ** attempt) * (0.5 + random() / 2);

  async function send<T>(request: HubSpotRequest): Promise<HubSpotResponse<T>> {
    const what = `${request.method} ${request.path}`;
    let failures = 0;
    let limited = 0;
    for (;;) {
      if (usedToday >= limits.daily) {
        throw new IntegrationError(
          "hubspot_daily_limit",
          `HubSpot daily budget of ${limits.daily} requests is used up; pending writes stay queued`,
          { hint: "raise HUBSPOT_DAILY_BUDGET if your HubSpot plan allows more, or wait for tomorrow (UTC)" },
        );
      }
      const answered = [await burst.acquire()];
      if (SEARCH_PATH.test(request.path)) answered.push(await search.acquire());
      stats.calls++;
      usedToday++;
      let status: number;
      let body: unknown;
      let retryAfterMs: number | undefined;
      try {
        // The whole answer, body included, must arrive in time: a stalled body would hang the sync.
        const { response, text } = await withTimeout(
          (async () => {
            const response = await client.apiRequest({
              method: request.method,
              path: request.path,
              ...(request.body === undefined ? {} : { body: request.body }),
              ...(request.qs === undefined ? {} : { qs: request.qs }),
            });
            return { response, text: await response.text() };
          })(),
          options.timeoutMs ?? 30_000,
        );
        status = response.status;
        for (const stamp of answered) stamp();
        // Data we read back keeps URL-like values as they are; only the token is cut from it.
        body = parseJson(status < 300 ? text.split(accessToken).join("***") : scrub(text));
        const retryAfter = Number(response.headers.get("retry-after"));
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
      } catch (error) {
        for (const stamp of answered) stamp();
        // Network failure: connection refused or reset, DNS, a cut answer, a timeout.
        if (request.retry === false) {
          log?.warn({ request: what }, "HubSpot did not answer a create; its records stay unconfirmed");
          return { status: 0, body: { message: scrub((error as Error).message) } as T };
        }
        if (failures >= limits.maxRetries) {
          throw new IntegrationError(
            "hubspot_unavailable",
            `HubSpot unreachable for ${what} after ${failures + 1} attempts: ${scrub((error as Error).message)}`,
            { hint: "pending writes stay queued and go out in a later cycle; check HUBSPOT_BASE_URL" },
          );
        }
        const wait = backoff(failures++, 500, 30_000);
        stats.retries++;
        log?.warn({ request: what, waitMs: Math.round(wait) }, "HubSpot unreachable, retrying");
        await clock.sleep(wait);
        continue;
      }
      if (status === 429) {
        stats.rateLimited++;
        const policy = errorField(body, "policyName");
        if (policy === "DAILY") {
          throw new IntegrationError(
            "hubspot_daily_limit",
            "HubSpot answered 429 DAILY: the app's daily request limit is reached; pending writes stay queued",
            {
              status,
              hint: "the queue drains after midnight UTC (HubSpot's day, in the portal's time zone)",
            },
          );
        }
        if (limited >= MAX_RATE_LIMIT_RETRIES) {
          throw new IntegrationError("hubspot_unavailable", `HubSpot kept answering 429 to ${what}`, {
            status,
          });
        }
        const wait = retryAfterMs ?? backoff(limited, 1_000, 10_000);
        limited++;
        stats.retries++;
        // Everyone waits: the window is shared, another call now would only earn another 429.
        (policy === "SECONDLY" ? search : burst).pauseUntil(clock.now() + wait);
        log?.warn({ request: what, policy, waitMs: Math.round(wait) }, "HubSpot rate limit, backing off");
        continue;
      }
      if (status >= 500 && request.retry === false) return { status, body: body as T };
      if (status >= 500) {
        if (failures >= limits.maxRetries) {
          throw new IntegrationError(
            "hubspot_unavailable",
            `HubSpot answered ${status} to ${what} ${failures + 1} times: ${scrub(errorMessage(body))}`,
            { status, hint: "pending writes stay queued and go out in a later cycle" },
          );
        }
        const wait = backoff(failures++, 500, 30_000);
        stats.retries++;
        log?.warn({ request: what, status, waitMs: Math.round(wait) }, "HubSpot server error, retrying");
        await clock.sleep(wait);
        continue;
      }
      if (status === 401 || status === 403) {
        throw new IntegrationError(
          "hubspot_auth",
          `HubSpot refused the access token (${status}) for ${what}: ${scrub(errorMessage(body))}`,
          {
            status,
            hint: "check HUBSPOT_ACCESS_TOKEN and that the private app has the CRM scopes listed in the README",
          },
        );
      }
      return { status, body: body as T };
    }
  }

  return {
    send,
    stats,
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}

function errorField(body: unknown, field: string): string | undefined {
  if (body && typeof body === "object" && field in body) {
    const value = (body as Record<string, unknown>)[field];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/** HubSpot's own explanation of an error answer. */
export function errorMessage(body: unknown): string {
  return errorField(body, "message") ?? "no message";
}

/** The error for an answer a caller cannot use: what was asked, HubSpot's status and message, and a hint. */
export function rejectedAnswer(what: string, status: number, body: unknown, hint?: string): IntegrationError {
  return new IntegrationError(
    "hubspot_rejected",
    `HubSpot answered ${status} to ${what}: ${errorMessage(body)}`,
    {
      status,
      ...(hint === undefined ? {} : { hint }),
    },
  );
}
