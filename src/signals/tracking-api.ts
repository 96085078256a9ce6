import { createHash, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { Logger } from "pino";
import type { StoreResult } from "../store/message-store.ts";
import {
  MESSAGE_TYPES,
  type MessageType,
  parseSegmentMessage,
  type SegmentMessage,
} from "./segment-message.ts";

/** Segment's limit per request. */
export const MAX_REQUEST_BYTES = 500 * 1024;

/**
 * The server's own time limits (ms). A client gets `headersTimeout` to send its request line and
 * headers (a connection that sends nothing is closed then too) and `requestTimeout` for the whole
 * request, body included (a 500 KB batch in 30 s needs 17 KB/s); an idle keep-alive connection
 * is closed after `keepAliveTimeout`. Expired limits are found by a sweep every
 * `checkIntervalMs`. Node's defaults (60 s, 5 minutes, swept every 30 s) let slow or half-open
 * clients hold sockets for minutes.
 */
export interface ServerTimeouts {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  checkIntervalMs: number;
}

export const SERVER_TIMEOUTS: ServerTimeouts = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  checkIntervalMs: 1_000,
};

export interface TrackingApiOptions {
  writeKey: string;
  store: (messages: SegmentMessage[]) => Promise<StoreResult>;
  log: Logger;
  now?: () => Date;
  timeouts?: Partial<ServerTimeouts>;
}

/**
 * The Segment HTTP Tracking API: POST /v1/track|identify|group|page|screen|alias|batch with
 * HTTP Basic auth (write key as user name, empty password), so Segment's own client libraries
 * pointed at this host work unchanged. Plus GET /healthz.
 *
 * A batch with invalid messages stores the valid ones and answers 200 with the rejected
 * indexes and reasons; a request that is not JSON, too large or unauthenticated stores nothing.
 * No request, however malformed, can stop the process: anything unexpected answers 400 or 500.
 */
export function createTrackingApi(options: TrackingApiOptions): http.Server {
  const expected = digest(options.writeKey);
  const now = options.now ?? (() => new Date());
  const timeouts = { ...SERVER_TIMEOUTS, ...options.timeouts };
  const server = http.createServer(
    {
      headersTimeout: timeouts.headersTimeout,
      requestTimeout: timeouts.requestTimeout,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (error instanceof ClientGone) {
          options.log.debug({ path: req.url }, error.message);
          return;
        }
        options.log.error({ err: error }, "ingest failed");
        if (!res.headersSent)
          send(res, 500, { success: false, error: "could not store the messages; retry later" });
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = timeouts.keepAliveTimeout;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = requestPath(req.url);
    if (pathname === null) {
      res.setHeader("Connection", "close");
      return send(res, 400, { success: false, error: "malformed request target" });
    }
    if (req.method === "GET" && pathname === "/healthz") return send(res, 200, { ok: true });
    const route = /^\/v1\/(\w+)$/.exec(pathname)?.[1];
    const type =
      route === "batch" ? "batch" : (MESSAGE_TYPES as readonly string[]).includes(route ?? "") ? route : null;
    if (!type)
      return send(res, 404, { success: false, error: `no such endpoint: ${req.method} ${pathname}` });
    if (req.method !== "POST") return send(res, 405, { success: false, error: "use POST" });

    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === null) {
      res.setHeader("Connection", "close");
      return send(res, 400, { success: false, error: "request body over the 500 KB limit" });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return send(res, 400, { success: false, error: "request body is not valid JSON" });
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return send(res, 400, { success: false, error: "request body must be a JSON object" });
    }
    const payload = parsed as Record<string, unknown>;
    if (!authorised(req.headers.authorization, payload.writeKey, expected)) {
      res.setHeader("WWW-Authenticate", 'Basic realm="pql-router"');
      return send(res, 401, { success: false, error: "missing or wrong write key" });
    }

    const receivedAt = now();
    if (type !== "batch") {
      const { writeKey: _ignored, ...message } = payload;
      const result = parseSegmentMessage(message, { receivedAt, type: type as MessageType });
      if (!result.ok) return send(res, 400, { success: false, error: result.reason });
      const stored = await options.store([result.message]);
      const refused = stored.rejected[0];
      if (refused) return send(res, 400, { success: false, error: refused.reason });
      return send(res, 200, { success: true, ...stored });
    }

    if (!Array.isArray(payload.batch)) {
      return send(res, 400, { success: false, error: "batch: expected an array of messages" });
    }
    const shared = isObject(payload.context) ? payload.context : undefined;
    const valid: SegmentMessage[] = [];
    /** Index in the request of each valid message. */
    const positions: number[] = [];
    const rejected: { index: number; reason: string }[] = [];
    payload.batch.forEach((item: unknown, index) => {
      const message =
        shared && isObject(item)
          ? { ...item, context: { ...shared, ...(isObject(item.context) ? item.context : {}) } }
          : item;
      const result = parseSegmentMessage(message, { receivedAt });
      if (result.ok) {
        valid.push(result.message);
        positions.push(index);
      } else rejected.push({ index, reason: result.reason });
    });
    const stored = await options.store(valid);
    for (const refused of stored.rejected)
      rejected.push({ index: positions[refused.index] as number, reason: refused.reason });
    rejected.sort((a, b) => a.index - b.index);
    if (rejected.length > 0)
      options.log.warn(
        { rejected: rejected.length, accepted: stored.accepted },
        "batch had messages that were not stored",
      );
    return send(res, 200, {
      success: true,
      accepted: stored.accepted,
      duplicates: stored.duplicates,
      rejected,
    });
  }

  return server;
}

/**
 * The path of a request target: origin-form ("/v1/track?x=1" -> "/v1/track") or absolute-form
 * ("http://host/v1/track"), which HTTP/1.1 servers must accept. null for anything else ("//host"
 * forms, "*", a target that URL parsing refuses).
 */
function requestPath(target: string | undefined): string | null {
  if (target === undefined) return null;
  const origin = target.startsWith("/") && !target.startsWith("//");
  if (!origin && !/^https?:\/\//i.test(target)) return null;
  try {
    return origin ? new URL(target, "http://localhost").pathname : new URL(target).pathname;
  } catch {
    return null;
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads the body, or returns null (and stops reading) once it exceeds `limit` bytes. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on("error", () => reject(new ClientGone()));
    // A client that goes away (or is timed out) mid-body: nothing to answer, nothing stored.
    req.on("close", () => {
      if (!req.complete) reject(new ClientGone());
    });
  });
}

/** The client left before its request was complete. */
class ClientGone extends Error {
  constructor() {
    super("the client closed the connection before sending the whole request");
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
