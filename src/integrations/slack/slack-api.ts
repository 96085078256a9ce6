import { ErrorCode, LogLevel, type Logger as SlackLogger, WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import { IntegrationError, SlackRateLimited } from "../../errors.ts";
import { redactSecrets } from "../../redact.ts";
import type { Block } from "./blocks.ts";

/** The metadata event type our messages carry (with our key in the payload): how a lost post is found. */
export const POST_EVENT_TYPE = "pql_router_post";

export interface PostedMessage {
  channelId: string;
  ts: string;
}

export interface HistoryMessage {
  ts: string;
  key: string | null;
}

/**
 * The Slack Web API calls pql-router makes, behind an interface we own (jobs and handlers use
 * this; tests may fake it or point the real one at a local fake). Errors come out as
 * `IntegrationError` by category: `slack_rate_limited` (`SlackRateLimited`, with Retry-After),
 * `slack_unavailable` (network, timeout, 5xx), `slack_auth` (token invalid or revoked),
 * `slack_rejected` (anything else Slack refused, e.g. channel_not_found).
 */
export interface SlackApi {
  postMessage(message: {
    channel: string;
    text: string;
    blocks: Block[];
    key: string;
    threadTs?: string;
  }): Promise<PostedMessage>;
  updateMessage(message: {
    channelId: string;
    ts: string;
    text: string;
    blocks: Block[];
    key?: string;
  }): Promise<void>;
  postEphemeral(message: { channelId: string; user: string; text: string; blocks?: Block[] }): Promise<void>;
  /** Our messages (with their keys) in a channel since `oldest`, newest first (top-level only). */
  history(channelId: string, oldest: Date): Promise<HistoryMessage[]>;
  /** The replies in a thread since `oldest` (with their keys): history does not list them. */
  replies(channelId: string, threadTs: string, oldest: Date): Promise<HistoryMessage[]>;
  /** A channel's id from its name (#name or name), via conversations.list; null if not found. */
  channelIdByName(name: string): Promise<string | null>;
}

const AUTH_ERRORS = new Set([
  "invalid_auth",
  "not_authed",
  "token_revoked",
  "token_expired",
  "account_inactive",
  "missing_scope",
  "no_permission",
  "ekm_access_denied",
]);

/** A Slack API on `@slack/web-api`'s WebClient, without its retries: the jobs pace and retry themselves. */
export function createSlackApi(options: {
  token: string;
  apiUrl: string;
  log: Logger;
  timeoutMs?: number;
  /** Told of every call and how it ended (metrics). */
  onCall?: (method: string, outcome: "ok" | "rate_limited" | "error") => void;
}): SlackApi {
  const client = new WebClient(options.token, {
    slackApiUrl: options.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 30_000,
    logger: slackLogger(options.log),
    logLevel: LogLevel.WARN,
  });
  /** Every page of a history-like read, as our messages' ts and keys. */
  const keyed = async (
    method: string,
    page: (cursor: string | undefined) => Promise<{
      messages?: unknown[];
      has_more?: boolean;
      response_metadata?: { next_cursor?: string };
    }>,
  ): Promise<HistoryMessage[]> => {
    const found: HistoryMessage[] = [];
    let cursor: string | undefined;
    do {
      const answer = await call(method, () => page(cursor));
      for (const m of answer.messages ?? []) {
        const ts = (m as { ts?: string }).ts;
        if (ts) found.push({ ts, key: keyOf(m) });
      }
      cursor = answer.has_more ? answer.response_metadata?.next_cursor || undefined : undefined;
    } while (cursor);
    return found;
  };
  const call = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
    try {
      const answer = await fn();
      options.onCall?.(method, "ok");
      return answer;
    } catch (error) {
      const classified = classify(method, error);
      options.onCall?.(method, classified instanceof SlackRateLimited ? "rate_limited" : "error");
      throw classified;
    }
  };
  return {
    async postMessage(m) {
      const answer = await call("chat.postMessage", () =>
        client.chat.postMessage({
          channel: m.channel,
          text: m.text,
          blocks: m.blocks as never,
          metadata: { event_type: POST_EVENT_TYPE, event_payload: { key: m.key } },
          ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      if (!answer.channel || !answer.ts)
        throw new IntegrationError("slack_rejected", "chat.postMessage gave no ts");
      return { channelId: answer.channel, ts: answer.ts };
    },
    async updateMessage(m) {
      await call("chat.update", () =>
        client.chat.update({
          channel: m.channelId,
          ts: m.ts,
          text: m.text,
          blocks: m.blocks as never,
          ...(m.key ? { metadata: { event_type: POST_EVENT_TYPE, event_payload: { key: m.key } } } : {}),
        }),
      );
    },
    async postEphemeral(m) {
      await call("chat.postEphemeral", () =>
        client.chat.postEphemeral({
          channel: m.channelId,
          user: m.user,
          text: m.text,
          ...(m.blocks ? { blocks: m.blocks as never } : {}),
        }),
      );
    },
    history: (channelId, oldest) =>
      keyed("conversations.history", (cursor) =>
        client.conversations.history({ channel: channelId, ...keyedPage(oldest, cursor) }),
      ),
    replies: (channelId, threadTs, oldest) =>
      keyed("conversations.replies", (cursor) =>
        client.conversations.replies({ channel: channelId, ts: threadTs, ...keyedPage(oldest, cursor) }),
      ),
    async channelIdByName(name) {
      const wanted = name.replace(/^#/, "");
      let cursor: string | undefined;
      do {
        const page = await call("conversations.list", () =>
          client.conversations.list({
            types: "public_channel,private_channel",
            exclude_archived: true,
            limit: 1000,
            ...(cursor ? { cursor } : {}),
          }),
        );
        const hit = page.channels?.find((c) => c.name === wanted);
        if (hit?.id) return hit.id;
        cursor = page.response_metadata?.next_cursor || undefined;
      } while (cursor);
      return null;
    },
  };
}

/** The paging and metadata arguments of a history-like read since `oldest`. */
function keyedPage(oldest: Date, cursor: string | undefined) {
  return {
    oldest: (oldest.getTime() / 1000).toFixed(6),
    include_all_metadata: true,
    limit: 200,
    ...(cursor ? { cursor } : {}),
  };
}

/** The key our metadata carries, or null for another message. */
function keyOf(message: unknown): string | null {
  const metadata = (message as { metadata?: { event_type?: string; event_payload?: { key?: unknown } } })
    .metadata;
  return metadata?.event_type === POST_EVENT_TYPE && typeof metadata.event_payload?.key === "string"
    ? metadata.event_payload.key
    : null;
}

/** A WebClient error as an IntegrationError of its category (by error code and Slack's error string). */
export function classify(method: string, error: unknown): IntegrationError {
  const e = error as { code?: string; retryAfter?: number; statusCode?: number; data?: { error?: string } };
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return new SlackRateLimited(method, Math.max(1, Number(e.retryAfter) || 1));
    case ErrorCode.HTTPError:
      return new IntegrationError(
        (e.statusCode ?? 500) >= 500 ? "slack_unavailable" : "slack_rejected",
        `Slack answered ${method} with HTTP ${e.statusCode}`,
        { status: e.statusCode ?? 0 },
      );
    case ErrorCode.RequestError:
      return new IntegrationError("slack_unavailable", `Slack could not be reached for ${method}`, {
        hint: "check SLACK_API_URL and the network; pending messages are posted next time",
      });
    case ErrorCode.PlatformError: {
      const code = e.data?.error ?? "unknown_error";
      if (AUTH_ERRORS.has(code))
        return new IntegrationError("slack_auth", `Slack refused the bot token for ${method} (${code})`, {
          hint: "check SLACK_BOT_TOKEN and the app's scopes (`pql-router slack manifest`)",
        });
      if (code === "ratelimited") return new SlackRateLimited(method, 1);
      if (code === "internal_error" || code === "fatal_error" || code === "service_unavailable")
        return new IntegrationError("slack_unavailable", `Slack failed ${method} (${code})`);
      return new IntegrationError("slack_rejected", `Slack refused ${method}: ${code}`);
    }
    default:
      return new IntegrationError(
        "slack_unavailable",
        `Slack call ${method} failed: ${redactSecrets(String((error as Error)?.message ?? error))}`,
      );
  }
}

/** WebClient's logger, onto ours (at debug; its warnings at warn), never on stdout. */
export function slackLogger(log: Logger): SlackLogger {
  const child = log.child({ component: "slack-web-api" });
  let level = LogLevel.WARN;
  const line =
    (fn: "debug" | "info" | "warn" | "error") =>
    (...msg: unknown[]) =>
      child[fn](redactSecrets(msg.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")));
  return {
    debug: line("debug"),
    info: line("debug"),
    warn: line("warn"),
    error: line("error"),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
