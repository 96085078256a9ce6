import { createHash, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import type { Logger } from "pino";
import { ALL_METHODS, ClientGone, type HttpHost, readBody, sendJson } from "../../http/http-host.ts";
import {
  MAX_MESSAGE_BYTES,
  MESSAGE_TYPES,
  type MessageType,
  parseSegmentMessage,
  type SegmentMessage,
  unstorableValue,
} from "../../signals/segment-message.ts";
import type { StoreResult } from "../../store/message-store.ts";

/** Segment's limit per request. */
export const MAX_REQUEST_BYTES = 500 * 1024;
/**
 * Largest batch once its shared `context` is repeated in every message (what is stored): ten
 * times the request limit. Without it, a 500 KB request could store 15,000 copies of a 32 KB context.
 */
export const MAX_EXPANDED_BATCH_BYTES = 5 * 1024 * 1024;

export interface TrackingApiOptions {
  writeKey: string;
  store: (messages: SegmentMessage[]) => Promise<StoreResult>;
  log: Logger;
  now: () => Date;
}

/**
 * The Segment HTTP Tracking API, as routes of the process's HTTP host: POST
 * /v1/track|identify|group|page|screen|alias|batch with HTTP Basic auth (write key as user name,
 * empty password), so Segment's own client libraries pointed at this host work unchanged.
 *
 * A batch with invalid messages stores the valid ones and answers 200 with the rejected
 * indexes and reasons; a request that is not JSON, too large or unauthenticated stores nothing.
 */
export function mountTrackingApi(host: HttpHost, options: TrackingApiOptions): void {
  const expected = digest(options.writeKey);
  const { now } = options;

  host.route(ALL_METHODS, "/v1/:type", async (req, res) => {
    try {
      await ingest(req, res);
    } catch (error) {
      if (error instanceof ClientGone) throw error;
      options.log.error({ err: error }, "ingest failed");
      if (!res.headersSent)
        return sendJson(res, 500, { success: false, error: "could not store the messages; retry later" });
      res.destroy();
    }
  });

  async function ingest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // The path as sent: "/v1/tr%61ck" is no endpoint, whatever it decodes to.
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = /^\/v1\/(\w+)$/.exec(path)?.[1] ?? "";
    const type =
      route === "batch" ? "batch" : (MESSAGE_TYPES as readonly string[]).includes(route) ? route : null;
    if (!type)
      return sendJson(res, 404, { success: false, error: `no such endpoint: ${req.method} ${path}` });
    if (req.method !== "POST") return sendJson(res, 405, { success: false, error: "use POST" });

    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === null) {
      res.setHeader("Connection", "close");
      return sendJson(res, 400, { success: false, error: "request body over the 500 KB limit" });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return sendJson(res, 400, { success: false, error: "request body is not valid JSON" });
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return sendJson(res, 400, { success: false, error: "request body must be a JSON object" });
    }
    const payload = parsed as Record<string, unknown>;
    if (!authorised(req.headers.authorization, payload.writeKey, expected)) {
      res.setHeader("WWW-Authenticate", 'Basic realm="pql-router"');
      return sendJson(res, 401, { success: false, error: "missing or wrong write key" });
    }

    const receivedAt = now();
    if (type !== "batch") {
      const { writeKey: _ignored, ...message } = payload;
      const result = parseSegmentMessage(message, { receivedAt, type: type as MessageType });
      if (!result.ok) return sendJson(res, 400, { success: false, error: result.reason });
      const stored = await options.store([result.message]);
      const refused = stored.rejected[0];
      if (refused) return sendJson(res, 400, { success: false, error: refused.reason });
      return sendJson(res, 200, { success: true, ...stored });
    }

    if (!Array.isArray(payload.batch)) {
      return sendJson(res, 400, { success: false, error: "batch: expected an array of messages" });
    }
    // A batch-level context applies to every message: checked once here, so that repeating it
    // over thousands of messages never multiplies the checks (or the reasons) by them.
    const shared = isObject(payload.context) ? payload.context : undefined;
    let sharedBytes = 0;
    if (shared) {
      const problem = unstorableValue({ context: shared });
      if (problem) return sendJson(res, 400, { success: false, error: `batch ${problem}` });
      sharedBytes = Buffer.byteLength(JSON.stringify(shared));
      if (sharedBytes > MAX_MESSAGE_BYTES)
        return sendJson(res, 400, {
          success: false,
          error: `context: ${sharedBytes} bytes, over the 32 KB limit of a message it is part of`,
        });
    }
    const valid: SegmentMessage[] = [];
    /** Index in the request of each valid message. */
    const positions: number[] = [];
    const rejected: { index: number; reason: string }[] = [];
    let expanded = 0;
    const checked: { index: number; item: Record<string, unknown>; bytes: number }[] = [];
    for (const [index, item] of (payload.batch as unknown[]).entries()) {
      if (!isObject(item)) {
        rejected.push({ index, reason: "not a JSON object" });
        continue;
      }
      const problem = unstorableValue(item);
      if (problem) {
        rejected.push({ index, reason: problem });
        continue;
      }
      // An upper bound of the message's size with the shared context (exact when it adds no keys twice).
      const bytes = Buffer.byteLength(JSON.stringify(item)) + sharedBytes;
      expanded += bytes;
      checked.push({ index, item, bytes });
    }
    if (expanded > MAX_EXPANDED_BATCH_BYTES) {
      return sendJson(res, 400, {
        success: false,
        error: `batch: its messages with the shared context make ${expanded} bytes, over the ${MAX_EXPANDED_BATCH_BYTES / 1024 / 1024} MB limit; send smaller batches`,
      });
    }
    for (const { index, item, bytes } of checked) {
      const context = isObject(item.context) ? { ...shared, ...item.context } : shared;
      const message = shared ? { ...item, context } : item;
      const byteLength = shared && bytes > MAX_MESSAGE_BYTES ? undefined : bytes;
      const result = parseSegmentMessage(message, {
        receivedAt,
        valuesChecked: true,
        ...(byteLength === undefined ? {} : { byteLength }),
      });
      if (result.ok) {
        valid.push(result.message);
        positions.push(index);
      } else rejected.push({ index, reason: result.reason });
    }
    const stored = await options.store(valid);
    for (const refused of stored.rejected)
      rejected.push({ index: positions[refused.index] as number, reason: refused.reason });
    rejected.sort((a, b) => a.index - b.index);
    if (rejected.length > 0)
      options.log.warn(
        { rejected: rejected.length, accepted: stored.accepted },
        "batch had messages that were not stored",
      );
    return sendJson(res, 200, {
      success: true,
      accepted: stored.accepted,
      duplicates: stored.duplicates,
      rejected,
    });
  }
}

function authorised(header: string | undefined, bodyKey: unknown, expected: Buffer): boolean {
  let key: string | undefined;
  if (header?.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    key = decoded.includes(":") ? decoded.slice(0, decoded.indexOf(":")) : decoded;
  } else if (typeof bodyKey === "string") {
    key = bodyKey;
  }
  return key !== undefined && timingSafeEqual(digest(key), expected);
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
