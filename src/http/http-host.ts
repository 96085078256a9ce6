import http from "node:http";
import FindMyWay, { type HTTPMethod } from "find-my-way";
import type { Logger } from "pino";

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

export type RouteHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  params: Record<string, string | undefined>,
) => Promise<void> | void;

/**
 * The one HTTP server of a process: ingest, health, and later Slack and metrics are routes on it.
 * No request, however malformed, can stop the process: a target that is not a path answers 400,
 * a path and method no route takes 404, and a handler that throws 500.
 */
export interface HttpHost {
  route(method: HTTPMethod | HTTPMethod[], path: string, handler: RouteHandler): void;
  /** Starts listening; resolves with the port bound (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  /** Stops taking connections and closes open ones. */
  close(): Promise<void>;
  readonly server: http.Server;
}

/** A client left before its request was complete: nothing to answer. Handlers throw it. */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the connection before sending the whole request");
  }
}

export function createHttpHost(options: { log: Logger; timeouts?: Partial<ServerTimeouts> }): HttpHost {
  const { log } = options;
  const timeouts = { ...SERVER_TIMEOUTS, ...options.timeouts };
  const router = FindMyWay({ ignoreTrailingSlash: false });
  const server = http.createServer(
    {
      headersTimeout: timeouts.headersTimeout,
      requestTimeout: timeouts.requestTimeout,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    (req, res) => {
      dispatch(req, res).catch((error: unknown) => {
        if (error instanceof ClientGone) {
          log.debug({ path: req.url }, error.message);
          return;
        }
        log.error({ err: error, method: req.method }, "request failed");
        if (!res.headersSent) sendJson(res, 500, { success: false, error: "internal error; retry later" });
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = timeouts.keepAliveTimeout;

  async function dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = requestPath(req.url);
    if (path === null) {
      res.setHeader("Connection", "close");
      return sendJson(res, 400, { success: false, error: "malformed request target" });
    }
    const found = router.find((req.method ?? "GET") as HTTPMethod, path);
    if (found) return found.handler(req, res, found.params, found.store, found.searchParams);
    return sendJson(res, 404, { success: false, error: `no such endpoint: ${req.method} ${path}` });
  }

  return {
    server,
    route(method, path, handler) {
      router.on(method, path, (req, res, params) => handler(req, res, params));
    },
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const address = server.address();
      return typeof address === "object" && address ? address.port : port;
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Methods a route can answer; a route that wants to name the right one (405) takes them all. */
export const ALL_METHODS: HTTPMethod[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

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

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Reads a request body, or returns null (and stops reading) once it exceeds `limit` bytes.
 * Throws ClientGone when the client leaves (or is timed out) before the body is complete.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
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
    req.on("close", () => {
      if (!req.complete) reject(new ClientGone());
    });
  });
}
