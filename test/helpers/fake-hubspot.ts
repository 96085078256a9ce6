/**
 * A local fake of the HubSpot CRM REST API (node:http, no dependencies) for integration tests and
 * benchmarks of the HubSpot sync. It checks request bodies against the shapes HubSpot documents and
 * answers 400/404/409/207 like HubSpot, enforces HubSpot's rate limits (ten-secondly, daily,
 * search-per-second), and can inject faults or scripted answers. It never writes to stdout.
 *
 * The pieces live in ./fake-hubspot/: schema (property definitions and value rules), state (the
 * records), objects / meta / associations (the endpoints), errors and shape (bodies).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { v4BatchCreate, v4BatchRead, v4List } from "./fake-hubspot/associations.ts";
import { errorBody, HubSpotError, type Reply } from "./fake-hubspot/errors.ts";
import {
  batchCreateProperties,
  createGroup,
  createProperty,
  getOwner,
  getProperty,
  listGroups,
  listOwners,
  listProperties,
  objectTypeOrThrow,
  updateProperty,
} from "./fake-hubspot/meta.ts";
import {
  batchCreate,
  batchRead,
  batchUpdate,
  batchUpsert,
  createOne,
  getOne,
  type ObjectContext,
  search,
  updateOne,
} from "./fake-hubspot/objects.ts";
import { CrmState } from "./fake-hubspot/state.ts";

export type { RecordError, Reply } from "./fake-hubspot/errors.ts";
export type {
  ObjectType,
  PropertyDefinition,
  PropertyGroup,
  PropertyOption,
  PropertyType,
} from "./fake-hubspot/schema.ts";
export type {
  CompanyRecord,
  CrmRecord,
  DealRecord,
  OwnerRecord,
  TaskAssociation,
  TaskRecord,
} from "./fake-hubspot/state.ts";

export interface FakeHubSpotOptions {
  /** Default "test-token"; every request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Rolling 10-second request budget (default 100). */
  perTenSeconds?: number;
  /** Requests allowed in total (default Infinity); the window never resets. */
  dailyBudget?: number;
  /** Rolling 1-second budget of POST .../search (default 5); searches do not use the 10-second budget. */
  searchPerSecond?: number;
  faults?: { rate429?: number; rate5xx?: number; seed?: number; after5xxApplied?: number };
  /** Delay before every response (default 0). */
  latencyMs?: number;
  /** Clock for rate windows and timestamps (default Date.now); tests can move time forward. */
  now?: () => number;
  /** Records created less than this long ago are not yet found by search (HubSpot indexes lazily). Default 0. */
  searchIndexLagMs?: number;
  /** Associations per object in one page of a v4 batch read (default 500); later pages via `after`. */
  associationPageSize?: number;
}

export type FaultKind = "rate429" | "5xx" | "5xx-applied" | "scripted";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON, the raw text if it was not JSON, undefined if empty. */
  body: unknown;
  status: number;
  /** ms epoch when received */
  at: number;
  authorized: boolean;
  /** Set when the answer was an injected fault or a scripted answer. */
  fault?: FaultKind;
}

export interface ScriptAnswer {
  status: number;
  body?: unknown;
  /** The answer's message repeats the request's Authorization header, as some proxies and gateways do. */
  echoAuthorization?: boolean;
  headers?: Record<string, string>;
  apply?: boolean;
  hold?: boolean;
}

interface Script {
  method: string;
  path: string | RegExp;
  answer: ScriptAnswer;
  hit: () => void;
  released: boolean;
  held?: ServerResponse;
}

interface Route {
  method: string;
  pattern: RegExp;
  handle: (params: string[], query: Record<string, string>, body: unknown) => Reply;
}

interface Outcome {
  reply: Reply;
  script?: Script;
}

const TEN_SECONDS = 10_000;
const JSON_TYPE = "application/json;charset=utf-8";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function rateLimitBody(policyName: string, message: string) {
  return { ...errorBody("RATE_LIMITS", message), errorType: "RATE_LIMIT", policyName };
}

const TEN_SECONDLY = () =>
  rateLimitBody("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.");

function internalError(status: number): Reply {
  return { status, body: errorBody("INTERNAL_ERROR", "internal error") };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

export class FakeHubSpot extends CrmState {
  readonly requests: RecordedRequest[] = [];
  private readonly token: string;
  private readonly perTenSeconds: number;
  private readonly dailyBudget: number;
  private readonly searchPerSecond: number;
  private readonly latencyMs: number;
  private readonly searchIndexLagMs: number;
  private readonly associationPageSize: number;
  private readonly faults: { rate429: number; rate5xx: number; after5xxApplied: number };
  private readonly random: () => number;
  private next5xx = 502;
  private tenSecondWindow: number[] = [];
  private searchWindow: number[] = [];
  private dailyUsed = 0;
  private scripts: Script[] = [];
  private readonly held = new Set<ServerResponse>();
  private readonly routes: Route[];
  private server: http.Server | undefined;

  constructor(options: FakeHubSpotOptions = {}) {
    super(options.now ?? Date.now);
    this.token = options.token ?? "test-token";
    this.perTenSeconds = options.perTenSeconds ?? 100;
    this.dailyBudget = options.dailyBudget ?? Number.POSITIVE_INFINITY;
    this.searchPerSecond = options.searchPerSecond ?? 5;
    this.latencyMs = options.latencyMs ?? 0;
    this.searchIndexLagMs = options.searchIndexLagMs ?? 0;
    this.associationPageSize = options.associationPageSize ?? 500;
    this.faults = {
      rate429: options.faults?.rate429 ?? 0,
      rate5xx: options.faults?.rate5xx ?? 0,
      after5xxApplied: options.faults?.after5xxApplied ?? 0,
    };
    this.random = mulberry32(options.faults?.seed ?? 1);
    this.routes = this.buildRoutes();
  }

  /** Listens on 127.0.0.1 on a free port; returns the base URL (no trailing slash). */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      this.onRequest(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { "content-type": JSON_TYPE });
        res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.held) res.destroy();
    this.held.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * The next request matching method + path gets `answer` instead of the normal one. `apply`
   * handles it normally first; `hold` also applies it, then sends the status, headers and half the
   * body and keeps the socket open until release() (which destroys it). `hit` resolves once the
   * answer was (partly) sent.
   */
  script(
    match: { method: string; path: string | RegExp },
    answer: ScriptAnswer,
  ): { hit: Promise<void>; release: () => void } {
    let resolveHit = () => {};
    const hit = new Promise<void>((resolve) => {
      resolveHit = resolve;
    });
    const script: Script = {
      method: match.method.toUpperCase(),
      path: match.path,
      answer,
      hit: resolveHit,
      released: false,
    };
    this.scripts.push(script);
    return {
      hit,
      release: () => {
        script.released = true;
        if (script.held) {
          this.held.delete(script.held);
          script.held.destroy();
        }
      },
    };
  }

  /** Requests matching the filter; `includeFaults: false` skips injected faults and scripted answers. */
  callCount(
    filter: { method?: string; path?: string | RegExp; status?: number; includeFaults?: boolean } = {},
  ): number {
    return this.requests.filter((r) => {
      if (filter.method !== undefined && r.method !== filter.method.toUpperCase()) return false;
      if (filter.status !== undefined && r.status !== filter.status) return false;
      if (filter.includeFaults === false && r.fault !== undefined) return false;
      if (filter.path === undefined) return true;
      if (typeof filter.path === "string") return r.path === filter.path;
      filter.path.lastIndex = 0;
      return filter.path.test(r.path);
    }).length;
  }

  /** Empties the rate-limit windows and the daily count. */
  resetBudget(): void {
    this.tenSecondWindow = [];
    this.searchWindow = [];
    this.dailyUsed = 0;
  }

  // -------------------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = this.clock();
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", "http://fake-hubspot.local");
    const query: Record<string, string> = {};
    for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(",");
    const parsed = raw === "" ? undefined : parseJson(raw);
    const record: RecordedRequest = {
      method: (req.method ?? "GET").toUpperCase(),
      path: url.pathname,
      query,
      body: parsed === undefined ? undefined : parsed.ok ? parsed.value : raw,
      status: 0,
      at,
      authorized: req.headers.authorization === `Bearer ${this.token}`,
    };
    this.requests.push(record);
    let outcome: Outcome;
    try {
      outcome = this.answer(record, raw, req.headers["content-type"], req.headers.authorization);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome = { reply: { status: 500, body: errorBody("INTERNAL_ERROR", `fake-hubspot bug: ${message}`) } };
    }
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    record.status = outcome.reply.status;
    this.write(res, outcome);
  }

  private answer(
    record: RecordedRequest,
    raw: string,
    contentType: string | undefined,
    authorization: string | undefined,
  ): Outcome {
    if (!record.authorized)
      return {
        reply: {
          status: 401,
          body: errorBody(
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
          ),
        },
      };
    const script = this.takeScript(record.method, record.path);
    if (script && !script.answer.apply && !script.answer.hold) {
      record.fault = "scripted";
      return { reply: this.scripted(script, undefined, authorization), script };
    }
    const isSearch = record.method === "POST" && record.path.endsWith("/search");
    const limited = this.overBudget(isSearch);
    if (limited) {
      if (script) this.scripts.unshift(script); // keep it for the next matching request
      return { reply: limited };
    }
    this.consume(isSearch);
    let lostAnswer: Reply | undefined;
    if (!script) {
      const fault = this.drawFault();
      if (fault === "rate429") {
        this.unconsume(isSearch);
        record.fault = fault;
        return { reply: { status: 429, body: TEN_SECONDLY() } };
      }
      if (fault === "5xx") {
        record.fault = fault;
        return { reply: internalError(this.take5xxStatus()) };
      }
      if (fault === "5xx-applied") lostAnswer = internalError(this.take5xxStatus());
    }
    const real = this.dispatch(record, raw, contentType);
    if (lostAnswer) {
      record.fault = "5xx-applied";
      return { reply: lostAnswer };
    }
    if (script) {
      record.fault = "scripted";
      return { reply: this.scripted(script, real), script };
    }
    return { reply: real };
  }

  private scripted(script: Script, real: Reply | undefined, authorization?: string): Reply {
    const { status, headers } = script.answer;
    const body = script.answer.echoAuthorization
      ? errorBody("VALIDATION_ERROR", `Invalid request. Headers received: Authorization: ${authorization}`)
      : script.answer.body;
    let fallback: unknown;
    if (status === 429) fallback = TEN_SECONDLY();
    else if (status >= 500) fallback = internalError(status).body;
    else if (status < 300) fallback = real?.body ?? {};
    else
      fallback = real && real.status === status ? real.body : errorBody("VALIDATION_ERROR", "scripted error");
    const reply: Reply = {
      status,
      body: script.answer.hold && body === undefined ? (real?.body ?? fallback) : (body ?? fallback),
    };
    if (headers) reply.headers = headers;
    return reply;
  }

  private takeScript(method: string, path: string): Script | undefined {
    const index = this.scripts.findIndex((s) => {
      if (s.method !== method) return false;
      if (typeof s.path === "string") return s.path === path;
      s.path.lastIndex = 0;
      return s.path.test(path);
    });
    if (index < 0) return undefined;
    const [script] = this.scripts.splice(index, 1);
    return script;
  }

  // -------------------------------------------------------------------------------------------
  // Budgets and faults

  private prune(): void {
    const now = this.clock();
    this.tenSecondWindow = this.tenSecondWindow.filter((t) => t > now - TEN_SECONDS);
    this.searchWindow = this.searchWindow.filter((t) => t > now - 1000);
  }

  private overBudget(isSearch: boolean): Reply | undefined {
    this.prune();
    if (this.dailyUsed >= this.dailyBudget)
      return { status: 429, body: rateLimitBody("DAILY", "You have reached your daily limit.") };
    if (isSearch && this.searchWindow.length >= this.searchPerSecond)
      return { status: 429, body: rateLimitBody("SECONDLY", "You have reached your secondly limit.") };
    if (!isSearch && this.tenSecondWindow.length >= this.perTenSeconds)
      return { status: 429, body: TEN_SECONDLY() };
    return undefined;
  }

  private consume(isSearch: boolean): void {
    (isSearch ? this.searchWindow : this.tenSecondWindow).push(this.clock());
    this.dailyUsed++;
  }

  private unconsume(isSearch: boolean): void {
    (isSearch ? this.searchWindow : this.tenSecondWindow).pop();
    this.dailyUsed--;
  }

  private drawFault(): FaultKind | undefined {
    const { rate429, rate5xx, after5xxApplied } = this.faults;
    if (rate429 <= 0 && rate5xx <= 0) return undefined;
    const r = this.random();
    if (r < rate429) return "rate429";
    if (r < rate429 + rate5xx)
      return after5xxApplied > 0 && this.random() < after5xxApplied ? "5xx-applied" : "5xx";
    return undefined;
  }

  private take5xxStatus(): number {
    const status = this.next5xx;
    this.next5xx = status === 502 ? 503 : 502;
    return status;
  }

  private rateHeaders(): Record<string, string> {
    this.prune();
    const headers: Record<string, string> = {
      "X-HubSpot-RateLimit-Max": String(this.perTenSeconds),
      "X-HubSpot-RateLimit-Remaining": String(Math.max(0, this.perTenSeconds - this.tenSecondWindow.length)),
      "X-HubSpot-RateLimit-Interval-Milliseconds": String(TEN_SECONDS),
    };
    if (Number.isFinite(this.dailyBudget)) {
      headers["X-HubSpot-RateLimit-Daily"] = String(this.dailyBudget);
      headers["X-HubSpot-RateLimit-Daily-Remaining"] = String(Math.max(0, this.dailyBudget - this.dailyUsed));
    }
    return headers;
  }

  // -------------------------------------------------------------------------------------------
  // Routing

  private dispatch(record: RecordedRequest, raw: string, contentType: string | undefined): Reply {
    const candidates = this.routes
      .map((route) => ({ route, match: route.pattern.exec(record.path) }))
      .filter((c) => c.match !== null);
    if (candidates.length === 0)
      return {
        status: 404,
        body: errorBody(
          "OBJECT_NOT_FOUND",
          `No endpoint ${record.method} ${record.path} in the fake HubSpot`,
        ),
      };
    const hit = candidates.find((c) => c.route.method === record.method);
    if (!hit?.match)
      return {
        status: 405,
        body: errorBody("METHOD_NOT_ALLOWED", `Method ${record.method} is not allowed on ${record.path}`),
      };
    let body: unknown;
    if (raw !== "") {
      if (!/^application\/json\b/i.test(contentType ?? ""))
        return {
          status: 415,
          body: errorBody("VALIDATION_ERROR", `Content type '${contentType ?? ""}' not supported`),
        };
      const parsed = parseJson(raw);
      if (!parsed.ok)
        return { status: 400, body: errorBody("VALIDATION_ERROR", `Invalid input JSON: ${parsed.error}`) };
      body = parsed.value;
    }
    try {
      return hit.route.handle(hit.match.slice(1).map(decodeURIComponent), record.query, body);
    } catch (error) {
      if (error instanceof HubSpotError) return { status: error.status, body: error.body };
      throw error;
    }
  }

  private objectContext(segment: string): ObjectContext {
    return {
      state: this,
      type: objectTypeOrThrow(segment),
      now: () => this.nowIso(),
      nowMs: () => this.clock(),
      searchIndexLagMs: this.searchIndexLagMs,
    };
  }

  private buildRoutes(): Route[] {
    const now = () => this.nowIso();
    const type = (segment: string | undefined) => objectTypeOrThrow(segment ?? "");
    const ctx = (segment: string | undefined) => this.objectContext(segment ?? "");
    const route = (method: string, pattern: RegExp, handle: Route["handle"]): Route => ({
      method,
      pattern,
      handle,
    });
    const props = /^\/crm\/v3\/properties\/([^/]+)$/;
    const groups = /^\/crm\/v3\/properties\/([^/]+)\/groups$/;
    const property = /^\/crm\/v3\/properties\/([^/]+)\/([^/]+)$/;
    const object = /^\/crm\/v3\/objects\/([^/]+)\/([^/]+)$/;
    const batches: Record<string, (c: ObjectContext, body: unknown) => Reply> = {
      create: batchCreate,
      read: batchRead,
      update: batchUpdate,
      upsert: batchUpsert,
    };
    return [
      route("GET", groups, ([t]) => listGroups(this, type(t))),
      route("POST", groups, ([t], _q, body) => createGroup(this, type(t), body)),
      route("POST", /^\/crm\/v3\/properties\/([^/]+)\/batch\/create$/, ([t], _q, body) =>
        batchCreateProperties(this, type(t), body, now),
      ),
      route("GET", props, ([t]) => listProperties(this, type(t))),
      route("POST", props, ([t], _q, body) => createProperty(this, type(t), body)),
      route("GET", property, ([t, name]) => getProperty(this, type(t), name ?? "")),
      route("PATCH", property, ([t, name], _q, body) => updateProperty(this, type(t), name ?? "", body)),
      route("POST", /^\/crm\/v3\/objects\/([^/]+)\/search$/, ([t], _q, body) => search(ctx(t), body)),
      route(
        "POST",
        /^\/crm\/v3\/objects\/([^/]+)\/batch\/(create|read|update|upsert)$/,
        ([t, action], _q, body) => {
          const handler = batches[action ?? ""];
          if (!handler) throw new Error(`no batch handler for ${action}`);
          return handler(ctx(t), body);
        },
      ),
      route("POST", /^\/crm\/v3\/objects\/([^/]+)$/, ([t], _q, body) => createOne(ctx(t), body)),
      route("GET", object, ([t, id], q) => getOne(ctx(t), id ?? "", q)),
      route("PATCH", object, ([t, id], q, body) => updateOne(ctx(t), id ?? "", q, body)),
      route("GET", /^\/crm\/v3\/owners\/?$/, (_p, q) => listOwners(this, q)),
      route("GET", /^\/crm\/v3\/owners\/([^/]+)$/, ([id]) => getOwner(this, id ?? "")),
      route("POST", /^\/crm\/v4\/associations\/([^/]+)\/([^/]+)\/batch\/create$/, ([from, to], _q, body) =>
        v4BatchCreate(this, from ?? "", to ?? "", body, now),
      ),
      route("POST", /^\/crm\/v4\/associations\/([^/]+)\/([^/]+)\/batch\/read$/, ([from, to], _q, body) =>
        v4BatchRead(this, from ?? "", to ?? "", body, now, this.associationPageSize),
      ),
      route("GET", /^\/crm\/v4\/objects\/([^/]+)\/([^/]+)\/associations\/([^/]+)$/, ([from, id, to], q) =>
        v4List(this, from ?? "", id ?? "", to ?? "", q),
      ),
    ];
  }

  // -------------------------------------------------------------------------------------------
  // Writing answers

  private write(res: ServerResponse, { reply, script }: Outcome): void {
    res.on("error", () => {});
    const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
    const bytes = Buffer.from(text, "utf8");
    res.writeHead(reply.status, {
      ...this.rateHeaders(),
      "Content-Type": JSON_TYPE,
      "Content-Length": String(bytes.length),
      ...reply.headers,
    });
    if (script?.answer.hold) {
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      script.held = res;
      this.held.add(res);
      if (script.released) res.destroy();
      script.hit();
      return;
    }
    res.end(bytes, () => script?.hit());
  }
}
