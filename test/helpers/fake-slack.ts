/**
 * A local fake of the Slack Web API (node:http, no dependencies) for integration tests and
 * benchmarks of the Slack claim flow, served under `/api/<method>`: point a WebClient (or Bolt's
 * `clientOptions`) at it with `slackApiUrl: fake.url`. It reads bodies the way Slack does
 * (form-encoded with JSON-encoded `blocks`/`metadata`/`attachments`, or JSON), answers with Slack's
 * documented shapes and error codes, checks the Block Kit limits, can rate-limit
 * `chat.postMessage` per channel and can play scripted answers (429, 5xx, errors, a lost answer).
 * It also serves response URLs (`/response/<id>`) and records what was posted there.
 *
 * The second half has helpers that drive a Bolt HTTP endpoint as Slack would: signed interaction
 * and slash-command bodies. Nothing here writes to stdout.
 */
import { createHmac, randomBytes, randomInt } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeSlackChannel {
  id: string;
  name: string;
  is_private?: boolean;
}

export interface FakeSlackOptions {
  /** Default "xoxb-test". Another token gets 200 {ok:false,error:"invalid_auth"}, none "not_authed". */
  token?: string;
  /** Default [{ id: "C0HOT0001", name: "pql-hot" }]. */
  channels?: FakeSlackChannel[];
  /**
   * When set, a chat.postMessage to a channel that already had this many posts in the last second
   * (sliding window) gets HTTP 429, `Retry-After: 1`, {ok:false,error:"ratelimited"}.
   */
  postsPerSecondPerChannel?: number;
}

export interface FakeSlackMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  metadata?: FakeSlackMetadata;
  thread_ts?: string;
  user?: string;
  /** Times chat.update changed it. */
  updated: number;
}

export interface FakeSlackCall {
  method: string;
  /** Query and body parameters; `blocks`, `metadata` and `attachments` JSON-decoded when they were strings. */
  body: Record<string, unknown>;
  /** ms epoch when received */
  at: number;
  /** HTTP status answered; 0 when the socket was destroyed without an answer (`dropAfterStore`). */
  status: number;
}

export interface FakeSlackEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
}

export interface FakeSlackResponse {
  id: string;
  body: Record<string, unknown>;
}

/**
 * A scripted answer for one call of a method:
 * - `{ status: 429, retryAfter: 2 }`: HTTP 429, `Retry-After: 2`, {ok:false,error:"ratelimited"}
 *   (`retryAfter` alone implies 429; default Retry-After 1);
 * - `{ status: 500 }` (any status >= 300): that status, {ok:false,error:"fatal_error"} or `error`;
 * - `{ error: "channel_not_found" }`: HTTP 200 {ok:false,error};
 * - `{ body: {...} }`: HTTP `status` (default 200) with exactly that body;
 * - `{ dropAfterStore: true }`: the call is handled normally (chat.postMessage stores its message),
 *   then the socket is destroyed without an answer: a lost answer;
 * - `{ hangAfterStore: true }`: handled normally, then never answered (the socket stays open
 *   until the client goes): the caller can be killed between Slack's post and its own record.
 * A scripted answer never changes state, except `dropAfterStore` and `hangAfterStore`.
 */
export interface ScriptedAnswer {
  status?: number;
  retryAfter?: number;
  error?: string;
  body?: Record<string, unknown>;
  dropAfterStore?: boolean;
  hangAfterStore?: boolean;
}

export interface FakeSlack {
  /** e.g. http://127.0.0.1:PORT/api/ */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** Every Web API request (under /api/), in order; response-URL posts are in `responses`. */
  calls: FakeSlackCall[];
  callsTo(method: string): FakeSlackCall[];
  /** Top-level and thread messages, in post order (live objects). */
  messages(channelId?: string): FakeSlackMessage[];
  ephemerals: FakeSlackEphemeral[];
  /** Bodies POSTed to response URLs. */
  responses: FakeSlackResponse[];
  /** `${origin}/response/${id}`: POSTs there are recorded in `responses` and answered 200 "ok". */
  responseUrl(id: string): string;
  /** Scripted answers for the next calls of a method, consumed in order (after the token check). */
  script(method: string, ...answers: ScriptedAnswer[]): void;
  close(): Promise<void>;
}

export const FAKE_SLACK_TEAM_ID = "T0TEST0001";
export const FAKE_SLACK_TEAM_DOMAIN = "pql-test";
export const FAKE_SLACK_BOT_USER_ID = "UBOT0001";
export const FAKE_SLACK_BOT_ID = "B0BOT0001";
export const FAKE_SLACK_APP_ID = "A0APP0001";

const JSON_TYPE = "application/json; charset=utf-8";
const MAX_BLOCKS = 50;
const MAX_BLOCKS_JSON = 13_000;
const DECODED_KEYS = ["blocks", "metadata", "attachments"] as const;

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  drop?: boolean;
  hang?: boolean;
}

type Params = Record<string, unknown>;

function ok(body: Record<string, unknown>): Reply {
  return { status: 200, body: { ok: true, ...body } };
}

function fail(error: string, extra: Record<string, unknown> = {}): Reply {
  return { status: 200, body: { ok: false, error, ...extra } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Slack's boolean-ish arguments: true, "true", "1", 1. */
function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === "true" || value === "1";
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

function str(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function formatTs(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String(micros % 1_000_000).padStart(6, "0")}`;
}

/** "1700000000.000123" (or "1700000000", "0") -> microseconds; undefined when malformed. */
function tsMicros(value: unknown): number | undefined {
  const text = str(value);
  if (text === undefined) return undefined;
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!match) return undefined;
  const fraction = (match[2] ?? "").slice(0, 6).padEnd(6, "0");
  return Number(match[1]) * 1_000_000 + Number(fraction);
}

function encodeCursor(value: string): string {
  return Buffer.from(value, "utf8").toString("base64");
}

function decodeCursor(cursor: string, prefix: string): string | undefined {
  const text = Buffer.from(cursor, "base64").toString("utf8");
  return text.startsWith(prefix) ? text.slice(prefix.length) : undefined;
}

function clampLimit(value: unknown, fallback: number, max: number): number {
  const n = Number(str(value) ?? "");
  if (!present(value) || !Number.isFinite(n) || n < 1) return fallback;
  return Math.min(Math.floor(n), max);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** Query string + body (form-encoded or JSON), with blocks/metadata/attachments JSON-decoded. */
function parseParams(
  search: URLSearchParams,
  raw: string,
  contentType: string | undefined,
): { params: Params; json: boolean; invalidJson: boolean } {
  const params: Params = {};
  for (const [key, value] of search) params[key] = value;
  const json = /^application\/json\b/i.test(contentType ?? "");
  let invalidJson = false;
  if (json) {
    if (raw.trim() !== "") {
      try {
        const value: unknown = JSON.parse(raw);
        if (isRecord(value)) Object.assign(params, value);
        else invalidJson = true;
      } catch {
        invalidJson = true;
      }
    }
  } else {
    for (const [key, value] of new URLSearchParams(raw)) params[key] = value;
  }
  for (const key of DECODED_KEYS) {
    const value = params[key];
    if (typeof value !== "string" || value.trim() === "") continue;
    try {
      params[key] = JSON.parse(value);
    } catch {
      // left as the raw string; the method answers invalid_*_format
    }
  }
  return { params, json, invalidJson };
}

// ---------------------------------------------------------------------------------------------
// Block Kit checks (the documented limits; Slack answers invalid_blocks with the same messages)

function pointer(path: string): string {
  return `[json-pointer:${path}]`;
}

function checkTextObject(
  problems: string[],
  value: unknown,
  path: string,
  max: number,
  plainOnly: boolean,
): void {
  if (!isRecord(value)) {
    problems.push(`[ERROR] must provide an object ${pointer(path)}`);
    return;
  }
  const type = value.type;
  if (type !== "plain_text" && (plainOnly || type !== "mrkdwn")) {
    problems.push(
      `[ERROR] must be ${plainOnly ? "plain_text" : "one of plain_text, mrkdwn"} ${pointer(`${path}/type`)}`,
    );
  }
  const text = value.text;
  if (typeof text !== "string") {
    problems.push(`[ERROR] must provide a string ${pointer(`${path}/text`)}`);
    return;
  }
  if (text.length < 1) problems.push(`[ERROR] must be more than 0 characters ${pointer(`${path}/text`)}`);
  if (text.length > max)
    problems.push(`[ERROR] must be less than ${max + 1} characters ${pointer(`${path}/text`)}`);
}

function checkMaxString(problems: string[], value: unknown, path: string, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "string") problems.push(`[ERROR] must provide a string ${pointer(path)}`);
  else if (value.length > max)
    problems.push(`[ERROR] must be less than ${max + 1} characters ${pointer(path)}`);
}

function checkElement(problems: string[], element: unknown, path: string): void {
  if (!isRecord(element) || typeof element.type !== "string") {
    problems.push(`[ERROR] missing required field: type ${pointer(path)}`);
    return;
  }
  checkMaxString(problems, element.action_id, `${path}/action_id`, 255);
  if (element.type === "button") {
    checkTextObject(problems, element.text, `${path}/text`, 75, true);
    checkMaxString(problems, element.value, `${path}/value`, 2000);
    checkMaxString(problems, element.url, `${path}/url`, 3000);
  } else if (element.type === "static_select") {
    const options = element.options;
    if (Array.isArray(options)) {
      if (options.length > 100)
        problems.push(`[ERROR] no more than 100 items allowed ${pointer(`${path}/options`)}`);
      options.forEach((option, i) => {
        const at = `${path}/options/${i}`;
        if (!isRecord(option)) {
          problems.push(`[ERROR] must provide an object ${pointer(at)}`);
          return;
        }
        checkTextObject(problems, option.text, `${at}/text`, 75, false);
        checkMaxString(problems, option.value, `${at}/value`, 150);
      });
    }
  }
}

function blockProblems(blocks: unknown[]): string[] {
  const problems: string[] = [];
  if (blocks.length > MAX_BLOCKS)
    problems.push(`[ERROR] no more than ${MAX_BLOCKS} items allowed ${pointer("/blocks")}`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const path = `/blocks/${i}`;
    if (!isRecord(block) || typeof block.type !== "string") {
      problems.push(`[ERROR] missing required field: type ${pointer(path)}`);
      return;
    }
    if (block.block_id !== undefined) {
      checkMaxString(problems, block.block_id, `${path}/block_id`, 255);
      if (typeof block.block_id === "string") {
        if (blockIds.has(block.block_id))
          problems.push(`[ERROR] duplicate block_id ${block.block_id} ${pointer(`${path}/block_id`)}`);
        blockIds.add(block.block_id);
      }
    }
    switch (block.type) {
      case "section": {
        if (block.text === undefined && block.fields === undefined)
          problems.push(`[ERROR] must provide either text or fields ${pointer(path)}`);
        if (block.text !== undefined) checkTextObject(problems, block.text, `${path}/text`, 3000, false);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields))
            problems.push(`[ERROR] must provide an array ${pointer(`${path}/fields`)}`);
          else {
            if (block.fields.length > 10)
              problems.push(`[ERROR] no more than 10 items allowed ${pointer(`${path}/fields`)}`);
            block.fields.forEach((field, f) => {
              checkTextObject(problems, field, `${path}/fields/${f}`, 2000, false);
            });
          }
        }
        if (block.accessory !== undefined) checkElement(problems, block.accessory, `${path}/accessory`);
        break;
      }
      case "header":
        checkTextObject(problems, block.text, `${path}/text`, 150, true);
        break;
      case "actions": {
        const elements = block.elements;
        if (!Array.isArray(elements) || elements.length === 0) {
          problems.push(`[ERROR] must provide a non-empty array ${pointer(`${path}/elements`)}`);
          break;
        }
        if (elements.length > 25)
          problems.push(`[ERROR] no more than 25 items allowed ${pointer(`${path}/elements`)}`);
        elements.forEach((element, e) => {
          checkElement(problems, element, `${path}/elements/${e}`);
        });
        break;
      }
      case "context": {
        const elements = block.elements;
        if (!Array.isArray(elements) || elements.length === 0)
          problems.push(`[ERROR] must provide a non-empty array ${pointer(`${path}/elements`)}`);
        else if (elements.length > 10)
          problems.push(`[ERROR] no more than 10 items allowed ${pointer(`${path}/elements`)}`);
        break;
      }
      default:
        break;
    }
  });
  return problems;
}

interface Content {
  text?: string;
  blocks?: unknown[];
  metadata?: FakeSlackMetadata;
  hasAttachments: boolean;
}

/** Checks text/blocks/metadata of a post or update; an error Reply, or the content given. */
function readContent(params: Params): Reply | Content {
  const content: Content = { hasAttachments: false };
  if (present(params.text)) content.text = str(params.text) ?? JSON.stringify(params.text);
  else if (params.text === "") content.text = "";
  if (present(params.blocks)) {
    const blocks = params.blocks;
    if (!Array.isArray(blocks)) return fail("invalid_blocks_format");
    const problems = blockProblems(blocks);
    if (problems.length > 0)
      return fail("invalid_blocks", { errors: problems, response_metadata: { messages: problems } });
    if (JSON.stringify(blocks).length > MAX_BLOCKS_JSON) return fail("msg_blocks_too_long");
    content.blocks = blocks;
  }
  if (present(params.metadata)) {
    const metadata = params.metadata;
    if (
      !isRecord(metadata) ||
      typeof metadata.event_type !== "string" ||
      metadata.event_type === "" ||
      !isRecord(metadata.event_payload)
    )
      return fail("invalid_metadata_format");
    content.metadata = { event_type: metadata.event_type, event_payload: metadata.event_payload };
  }
  if (present(params.attachments)) {
    if (!Array.isArray(params.attachments)) return fail("invalid_attachments");
    content.hasAttachments = params.attachments.length > 0;
  }
  return content;
}

function isReply(value: Reply | Content): value is Reply {
  return "status" in value;
}

function hasContent(content: Content): boolean {
  return (content.text ?? "") !== "" || (content.blocks?.length ?? 0) > 0 || content.hasAttachments;
}

// ---------------------------------------------------------------------------------------------

class FakeSlackServer implements FakeSlack {
  url = "";
  origin = "";
  readonly calls: FakeSlackCall[] = [];
  readonly ephemerals: FakeSlackEphemeral[] = [];
  readonly responses: FakeSlackResponse[] = [];
  private readonly token: string;
  private readonly channels: FakeSlackChannel[];
  private readonly postsPerSecond: number | undefined;
  private readonly stored: FakeSlackMessage[] = [];
  private readonly editedTs = new WeakMap<FakeSlackMessage, string>();
  private readonly postWindows = new Map<string, number[]>();
  private readonly scripts = new Map<string, ScriptedAnswer[]>();
  private readonly created = Math.floor(Date.now() / 1000);
  private lastMicros = 0;
  private server: http.Server | undefined;

  constructor(options: FakeSlackOptions) {
    this.token = options.token ?? "xoxb-test";
    this.channels = (options.channels ?? [{ id: "C0HOT0001", name: "pql-hot" }]).map((c) => ({ ...c }));
    this.postsPerSecond = options.postsPerSecondPerChannel;
  }

  async listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        res.writeHead(500, { "Content-Type": JSON_TYPE });
        res.end(JSON.stringify({ ok: false, error: "fatal_error", detail: `fake-slack bug: ${message}` }));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    this.url = `${this.origin}/api/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  callsTo(method: string): FakeSlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  messages(channelId?: string): FakeSlackMessage[] {
    return channelId === undefined ? [...this.stored] : this.stored.filter((m) => m.channel === channelId);
  }

  responseUrl(id: string): string {
    return `${this.origin}/response/${encodeURIComponent(id)}`;
  }

  script(method: string, ...answers: ScriptedAnswer[]): void {
    const queue = this.scripts.get(method) ?? [];
    queue.push(...answers);
    this.scripts.set(method, queue);
  }

  // -------------------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on("error", () => {});
    const at = Date.now();
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", "http://fake-slack.local");
    if (url.pathname.startsWith("/response/")) {
      this.onResponseUrl(decodeURIComponent(url.pathname.slice("/response/".length)), raw, req, res);
      return;
    }
    const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (!match?.[1]) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
      return;
    }
    const method = match[1];
    const { params, json, invalidJson } = parseParams(url.searchParams, raw, req.headers["content-type"]);
    const call: FakeSlackCall = { method, body: params, at, status: 0 };
    this.calls.push(call);
    const reply = invalidJson
      ? fail("invalid_json")
      : this.answer(method, params, req.headers.authorization, json);
    if (reply.drop) {
      req.socket.destroy();
      return;
    }
    if (reply.hang) return;
    call.status = reply.status;
    const bytes = Buffer.from(JSON.stringify(reply.body), "utf8");
    res.writeHead(reply.status, {
      "Content-Type": JSON_TYPE,
      "Content-Length": String(bytes.length),
      ...reply.headers,
    });
    res.end(bytes);
  }

  private onResponseUrl(id: string, raw: string, req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "POST") {
      res.writeHead(405, { "Content-Type": "text/plain" });
      res.end("method not allowed");
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      const value: unknown = JSON.parse(raw);
      if (isRecord(value)) body = value;
    } catch {
      const form = new URLSearchParams(raw);
      const payload = form.get("payload");
      if (payload !== null) {
        try {
          const value: unknown = JSON.parse(payload);
          if (isRecord(value)) body = value;
        } catch {
          body = { payload };
        }
      } else {
        for (const [key, value] of form) body[key] = value;
      }
    }
    this.responses.push({ id, body });
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": "2" });
    res.end("ok");
  }

  private answer(method: string, params: Params, authorization: string | undefined, json: boolean): Reply {
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? "")?.[1]?.trim();
    // Slack takes the token from a form field too, but not from a JSON body.
    const token = bearer ?? (json ? undefined : str(params.token));
    if (!token) return fail("not_authed");
    if (token !== this.token) return fail("invalid_auth");
    const scripted = this.scripts.get(method)?.shift();
    if (scripted && !scripted.dropAfterStore && !scripted.hangAfterStore) {
      const reply = this.scripted(scripted);
      if (reply) return reply;
    }
    const reply = this.dispatch(method, params);
    if (scripted?.hangAfterStore) return { ...reply, hang: true };
    return scripted?.dropAfterStore ? { ...reply, drop: true } : reply;
  }

  private scripted(answer: ScriptedAnswer): Reply | undefined {
    const status = answer.status ?? (answer.retryAfter !== undefined ? 429 : 200);
    if (answer.body) return { status, body: answer.body };
    if (status === 429)
      return {
        status,
        body: { ok: false, error: answer.error ?? "ratelimited" },
        headers: { "Retry-After": String(answer.retryAfter ?? 1) },
      };
    if (status >= 300) return { status, body: { ok: false, error: answer.error ?? "fatal_error" } };
    if (answer.error !== undefined) return { status, body: { ok: false, error: answer.error } };
    return undefined; // a bare {status: 200}: answered normally
  }

  private dispatch(method: string, params: Params): Reply {
    switch (method) {
      case "api.test":
        return ok({ args: params });
      case "auth.test":
        return ok({
          url: `https://${FAKE_SLACK_TEAM_DOMAIN}.slack.com/`,
          team: "PQL Test",
          user: "pql-router",
          team_id: FAKE_SLACK_TEAM_ID,
          user_id: FAKE_SLACK_BOT_USER_ID,
          bot_id: FAKE_SLACK_BOT_ID,
          is_enterprise_install: false,
        });
      case "chat.postMessage":
        return this.postMessage(params);
      case "chat.update":
        return this.update(params);
      case "chat.postEphemeral":
        return this.postEphemeral(params);
      case "conversations.history":
        return this.history(params);
      case "conversations.list":
        return this.list(params);
      case "conversations.replies":
        return this.replies(params);
      default:
        return fail("unknown_method", { req_method: method });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Methods

  private channelById(value: unknown): FakeSlackChannel | undefined {
    const id = str(value);
    return id ? this.channels.find((c) => c.id === id) : undefined;
  }

  /** By id, "#name" or "name". */
  private channelByIdOrName(value: unknown): FakeSlackChannel | undefined {
    const text = str(value);
    if (!text) return undefined;
    const byId = this.channels.find((c) => c.id === text);
    if (byId) return byId;
    const name = text.startsWith("#") ? text.slice(1) : text;
    return this.channels.find((c) => c.name === name);
  }

  private nextTs(): string {
    let micros = Date.now() * 1000;
    if (micros <= this.lastMicros) micros = this.lastMicros + 1;
    this.lastMicros = micros;
    return formatTs(micros);
  }

  /** true when the channel is over its posts-per-second budget; otherwise counts this post. */
  private overPostBudget(channelId: string): boolean {
    if (this.postsPerSecond === undefined) return false;
    const now = Date.now();
    const window = (this.postWindows.get(channelId) ?? []).filter((t) => t > now - 1000);
    if (window.length >= this.postsPerSecond) {
      this.postWindows.set(channelId, window);
      return true;
    }
    window.push(now);
    this.postWindows.set(channelId, window);
    return false;
  }

  private messageJson(message: FakeSlackMessage, withMetadata: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {
      type: "message",
      user: message.user ?? FAKE_SLACK_BOT_USER_ID,
      bot_id: FAKE_SLACK_BOT_ID,
      app_id: FAKE_SLACK_APP_ID,
      text: message.text,
      ts: message.ts,
      team: FAKE_SLACK_TEAM_ID,
      blocks: message.blocks,
    };
    if (message.thread_ts !== undefined) out.thread_ts = message.thread_ts;
    const edited = this.editedTs.get(message);
    if (edited !== undefined) out.edited = { user: FAKE_SLACK_BOT_USER_ID, ts: edited };
    if (withMetadata && message.metadata) out.metadata = message.metadata;
    return out;
  }

  private postMessage(params: Params): Reply {
    const channel = this.channelByIdOrName(params.channel);
    if (!channel) return fail("channel_not_found");
    if (this.overPostBudget(channel.id))
      return { status: 429, body: { ok: false, error: "ratelimited" }, headers: { "Retry-After": "1" } };
    const content = readContent(params);
    if (isReply(content)) return content;
    if (!hasContent(content)) return fail("no_text");
    let threadTs: string | undefined;
    if (present(params.thread_ts)) {
      threadTs = str(params.thread_ts);
      if (threadTs === undefined || tsMicros(threadTs) === undefined) return fail("invalid_thread_ts");
      // A reply to a reply goes to the thread's parent, as in Slack.
      const parent = this.stored.find((m) => m.channel === channel.id && m.ts === threadTs);
      if (parent?.thread_ts !== undefined) threadTs = parent.thread_ts;
    }
    const message: FakeSlackMessage = {
      channel: channel.id,
      ts: this.nextTs(),
      text: content.text ?? "",
      blocks: content.blocks ?? [],
      user: FAKE_SLACK_BOT_USER_ID,
      updated: 0,
    };
    if (content.metadata) message.metadata = content.metadata;
    if (threadTs !== undefined) message.thread_ts = threadTs;
    this.stored.push(message);
    return ok({ channel: channel.id, ts: message.ts, message: this.messageJson(message, true) });
  }

  private update(params: Params): Reply {
    const channel = this.channelById(params.channel);
    if (!channel) return fail("channel_not_found");
    const ts = str(params.ts);
    const message = ts ? this.stored.find((m) => m.channel === channel.id && m.ts === ts) : undefined;
    if (!message) return fail("message_not_found");
    const content = readContent(params);
    if (isReply(content)) return content;
    if (!hasContent(content) && !content.metadata) return fail("no_text");
    if (content.text !== undefined) message.text = content.text;
    if (content.blocks !== undefined) message.blocks = content.blocks;
    if (content.metadata) message.metadata = content.metadata;
    message.updated++;
    this.editedTs.set(message, this.nextTs());
    return ok({
      channel: channel.id,
      ts: message.ts,
      text: message.text,
      message: this.messageJson(message, true),
    });
  }

  private postEphemeral(params: Params): Reply {
    const channel = this.channelByIdOrName(params.channel);
    if (!channel) return fail("channel_not_found");
    const user = str(params.user);
    if (!user) return fail("user_not_in_channel");
    const content = readContent(params);
    if (isReply(content)) return content;
    if (!hasContent(content)) return fail("no_text");
    const ephemeral: FakeSlackEphemeral = { channel: channel.id, user, text: content.text ?? "" };
    if (content.blocks) ephemeral.blocks = content.blocks;
    this.ephemerals.push(ephemeral);
    return ok({ message_ts: this.nextTs() });
  }

  private history(params: Params): Reply {
    const channel = this.channelById(params.channel);
    if (!channel) return fail("channel_not_found");
    const inclusive = truthy(params.inclusive);
    const oldest = present(params.oldest) ? tsMicros(params.oldest) : undefined;
    if (present(params.oldest) && oldest === undefined) return fail("invalid_ts_oldest");
    const latest = present(params.latest) ? tsMicros(params.latest) : undefined;
    if (present(params.latest) && latest === undefined) return fail("invalid_ts_latest");
    const limit = clampLimit(params.limit, 100, 999);
    let before: number | undefined;
    if (present(params.cursor)) {
      before = tsMicros(decodeCursor(str(params.cursor) ?? "", "next_ts:"));
      if (before === undefined) return fail("invalid_cursor");
    }
    const withMetadata = truthy(params.include_all_metadata);
    const inChannel = this.stored.filter((m) => m.channel === channel.id);
    const candidates = inChannel
      .filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts)
      .filter((m) => {
        const t = tsMicros(m.ts) ?? 0;
        if (oldest !== undefined && (inclusive ? t < oldest : t <= oldest)) return false;
        if (latest !== undefined && (inclusive ? t > latest : t >= latest)) return false;
        return before === undefined || t < before;
      })
      .reverse();
    const page = candidates.slice(0, limit);
    const hasMore = candidates.length > page.length;
    const last = page.at(-1);
    const messages = page.map((m) => {
      const out = this.messageJson(m, withMetadata);
      const replies = inChannel.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts);
      const lastReply = replies.at(-1);
      if (lastReply) {
        out.thread_ts = m.ts;
        out.reply_count = replies.length;
        out.reply_users_count = 1;
        out.latest_reply = lastReply.ts;
        out.reply_users = [FAKE_SLACK_BOT_USER_ID];
      }
      return out;
    });
    return ok({
      messages,
      has_more: hasMore,
      pin_count: 0,
      channel_actions_ts: null,
      channel_actions_count: 0,
      response_metadata: { next_cursor: hasMore && last ? encodeCursor(`next_ts:${last.ts}`) : "" },
    });
  }

  /** A thread: its parent first, then the replies oldest first (`oldest` bounds the replies; no paging). */
  private replies(params: Params): Reply {
    const channel = this.channelById(params.channel);
    if (!channel) return fail("channel_not_found");
    const parentTs = str(params.ts);
    const parent = this.stored.find((m) => m.channel === channel.id && m.ts === parentTs);
    if (!parent) return fail("thread_not_found");
    const oldest = present(params.oldest) ? tsMicros(params.oldest) : undefined;
    if (present(params.oldest) && oldest === undefined) return fail("invalid_ts_oldest");
    const withMetadata = truthy(params.include_all_metadata);
    const replies = this.stored.filter(
      (m) =>
        m.channel === channel.id &&
        m.thread_ts === parent.ts &&
        m.ts !== parent.ts &&
        (oldest === undefined || (tsMicros(m.ts) ?? 0) > oldest),
    );
    return ok({
      messages: [parent, ...replies].map((m) => ({
        ...this.messageJson(m, withMetadata),
        thread_ts: parent.ts,
      })),
      has_more: false,
      response_metadata: { next_cursor: "" },
    });
  }

  private list(params: Params): Reply {
    const types = new Set(
      (str(params.types) || "public_channel")
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t !== ""),
    );
    const limit = clampLimit(params.limit, 100, 1000);
    const matching = this.channels.filter((c) =>
      c.is_private ? types.has("private_channel") : types.has("public_channel"),
    );
    let start = 0;
    if (present(params.cursor)) {
      const id = decodeCursor(str(params.cursor) ?? "", "channel:");
      start = id === undefined ? -1 : matching.findIndex((c) => c.id === id);
      if (start < 0) return fail("invalid_cursor");
    }
    const page = matching.slice(start, start + limit);
    const next = matching[start + limit];
    return ok({
      channels: page.map((c) => ({
        id: c.id,
        name: c.name,
        is_channel: true,
        is_group: false,
        is_im: false,
        is_mpim: false,
        is_private: c.is_private === true,
        created: this.created,
        is_archived: false,
        is_general: false,
        name_normalized: c.name,
        is_shared: false,
        is_org_shared: false,
        is_member: true,
        topic: { value: "", creator: "", last_set: 0 },
        purpose: { value: "", creator: "", last_set: 0 },
        num_members: 1,
      })),
      response_metadata: { next_cursor: next ? encodeCursor(`channel:${next.id}`) : "" },
    });
  }
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const fake = new FakeSlackServer(options);
  await fake.listen();
  return fake;
}

// ---------------------------------------------------------------------------------------------
// Driving a Bolt HTTP endpoint as Slack would

/** Slack's v0 request signature: HMAC-SHA256(secret, `v0:${timestamp}:${body}`). */
export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestampSeconds: number,
): { "x-slack-signature": string; "x-slack-request-timestamp": string } {
  const digest = createHmac("sha256", signingSecret).update(`v0:${timestampSeconds}:${body}`).digest("hex");
  return { "x-slack-signature": `v0=${digest}`, "x-slack-request-timestamp": String(timestampSeconds) };
}

/** Never reached: connection refused at once, so a forgotten responseUrl does not go to the internet. */
const UNSET_RESPONSE_URL = "http://127.0.0.1:1/response/unset";

function nowActionTs(): string {
  return formatTs(Date.now() * 1000);
}

/** Shaped like Slack's: "<digits>.<digits>.<32 hex>". */
function defaultTriggerId(): string {
  return `${Date.now()}.${randomInt(1e9, 1e10)}.${randomBytes(16).toString("hex")}`;
}

function findElement(
  blocks: unknown[] | undefined,
  actionId: string,
): { blockId?: string; element: Record<string, unknown> } | undefined {
  for (const block of blocks ?? []) {
    if (!isRecord(block)) continue;
    const elements = Array.isArray(block.elements) ? [...block.elements] : [];
    if (block.accessory !== undefined) elements.push(block.accessory);
    for (const element of elements) {
      if (isRecord(element) && element.action_id === actionId) {
        const found: { blockId?: string; element: Record<string, unknown> } = { element };
        if (typeof block.block_id === "string") found.blockId = block.block_id;
        return found;
      }
    }
  }
  return undefined;
}

export interface BlockActionInput {
  userId: string;
  userName?: string;
  channelId: string;
  messageTs: string;
  actionId: string;
  /** A button's value. */
  value?: string;
  /** A static_select's chosen value (makes the action a static_select). */
  selectedValue?: string;
  responseUrl?: string;
  triggerId?: string;
  teamId?: string;
  /** Default "pql-hot". */
  channelName?: string;
  /** Default: the element's block_id in `message.blocks`, else "actions". */
  blockId?: string;
  /** The clicked message as Slack includes it (text, blocks); the element's text/block_id are read from it. */
  message?: { text?: string; blocks?: unknown[] };
}

/** Form-encoded `payload=<json>` of a `block_actions` interaction, as Slack sends it. */
export function blockActionBody(input: BlockActionInput): string {
  const teamId = input.teamId ?? FAKE_SLACK_TEAM_ID;
  const userName = input.userName ?? "pql.rep";
  const found = findElement(input.message?.blocks, input.actionId);
  const blockId = input.blockId ?? found?.blockId ?? "actions";
  const actionTs = nowActionTs();
  let action: Record<string, unknown>;
  if (input.selectedValue !== undefined) {
    const options = Array.isArray(found?.element.options) ? found.element.options : [];
    const option = options.find(
      (o): o is Record<string, unknown> => isRecord(o) && o.value === input.selectedValue,
    );
    action = {
      type: "static_select",
      action_id: input.actionId,
      block_id: blockId,
      selected_option: {
        text: option?.text ?? { type: "plain_text", text: input.selectedValue, emoji: true },
        value: input.selectedValue,
      },
      action_ts: actionTs,
    };
    if (found?.element.placeholder !== undefined) action.placeholder = found.element.placeholder;
  } else {
    action = {
      type: "button",
      action_id: input.actionId,
      block_id: blockId,
      text: found?.element.text ?? { type: "plain_text", text: input.actionId, emoji: true },
      action_ts: actionTs,
    };
    const value = input.value ?? str(found?.element.value);
    if (value !== undefined) action.value = value;
  }
  const message: Record<string, unknown> = {
    type: "message",
    user: FAKE_SLACK_BOT_USER_ID,
    bot_id: FAKE_SLACK_BOT_ID,
    app_id: FAKE_SLACK_APP_ID,
    ts: input.messageTs,
    team: teamId,
    text: input.message?.text ?? "",
    blocks: input.message?.blocks ?? [],
  };
  const payload = {
    type: "block_actions",
    user: { id: input.userId, username: userName, name: userName, team_id: teamId },
    api_app_id: FAKE_SLACK_APP_ID,
    token: "fake-verification-token",
    container: {
      type: "message",
      message_ts: input.messageTs,
      channel_id: input.channelId,
      is_ephemeral: false,
    },
    trigger_id: input.triggerId ?? defaultTriggerId(),
    team: { id: teamId, domain: FAKE_SLACK_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelName ?? "pql-hot" },
    message,
    state: { values: {} },
    response_url: input.responseUrl ?? UNSET_RESPONSE_URL,
    actions: [action],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface SlashCommandInput {
  userId: string;
  channelId: string;
  /** Default "/pql". */
  command?: string;
  text: string;
  responseUrl?: string;
  teamId?: string;
  /** Default "pql.rep". */
  userName?: string;
  /** Default "pql-hot". */
  channelName?: string;
}

/** Form-encoded slash-command body, with Slack's fields in Slack's order. */
export function slashCommandBody(input: SlashCommandInput): string {
  const teamId = input.teamId ?? FAKE_SLACK_TEAM_ID;
  return new URLSearchParams({
    token: "fake-verification-token",
    team_id: teamId,
    team_domain: FAKE_SLACK_TEAM_DOMAIN,
    channel_id: input.channelId,
    channel_name: input.channelName ?? "pql-hot",
    user_id: input.userId,
    user_name: input.userName ?? "pql.rep",
    command: input.command ?? "/pql",
    text: input.text,
    api_app_id: FAKE_SLACK_APP_ID,
    is_enterprise_install: "false",
    response_url: input.responseUrl ?? UNSET_RESPONSE_URL,
    trigger_id: defaultTriggerId(),
  }).toString();
}

/**
 * POSTs `body` as `application/x-www-form-urlencoded` (exactly: Bolt compares the header as a
 * string) with Slack's signature headers; `retryNum` adds X-Slack-Retry-Num and
 * X-Slack-Retry-Reason "http_timeout"; `badSignature` sends a signature that does not match.
 * `ms` is the time from sending until the whole answer arrived.
 */
export function postSigned(
  url: string,
  body: string,
  options: { signingSecret: string; timestampSeconds?: number; retryNum?: number; badSignature?: boolean },
): Promise<{ status: number; body: string; ms: number }> {
  const timestamp = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  const signed = signSlackRequest(options.signingSecret, body, timestamp);
  let signature = signed["x-slack-signature"];
  if (options.badSignature) signature = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    "content-length": String(Buffer.byteLength(body)),
    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    "x-slack-signature": signature,
    "x-slack-request-timestamp": signed["x-slack-request-timestamp"],
  };
  if (options.retryNum !== undefined) {
    headers["x-slack-retry-num"] = String(options.retryNum);
    headers["x-slack-retry-reason"] = "http_timeout";
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          ms: performance.now() - started,
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}
