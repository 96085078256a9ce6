import { createHash } from "node:crypto";

/**
 * Validation and normalisation of Segment messages (the Segment spec: track, identify, group,
 * page, screen, alias). Pure: no I/O, the receive time is passed in.
 */

export const MESSAGE_TYPES = ["track", "identify", "group", "page", "screen", "alias"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Segment's own limit per message. */
export const MAX_MESSAGE_BYTES = 32 * 1024;

/**
 * Longest id stored (userId, anonymousId, messageId, groupId, previousId, context.groupId), in
 * UTF-8 bytes. Ids are indexed, and an index entry must stay well under PostgreSQL's ~2,700 bytes.
 */
export const MAX_ID_BYTES = 1024;

/** Deepest nesting of objects and arrays in a message; the message itself is level 1. */
export const MAX_DEPTH = 32;

export interface SegmentMessage {
  messageId: string;
  type: MessageType;
  userId: string | null;
  anonymousId: string | null;
  /** The account: `groupId` of a group call, else `context.groupId`; null until resolved from the user. */
  accountId: string | null;
  /** track: the event; page/screen: the name (or the path, for pages without one). */
  event: string | null;
  /** page/screen: properties.path (else context.page.path); null for other types. */
  path: string | null;
  timestamp: Date;
  /** The message as received (with its messageId, derived when it had none). */
  payload: Record<string, unknown>;
  /** `payload` as JSON text when the caller had it and nothing was added: spares a re-serialisation. */
  payloadJson?: string;
}

export type ParseResult = { ok: true; message: SegmentMessage } | { ok: false; reason: string };

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Checks one message. `byteLength` is its encoded size when the caller knows it (a file line,
 * an HTTP batch item); `type` is imposed by the endpoint for /v1/track and friends.
 */
export function parseSegmentMessage(
  value: unknown,
  options: {
    receivedAt: Date;
    byteLength?: number;
    type?: MessageType;
    text?: string;
    /** The caller ran `unstorableValue` over every part of the message already. */
    valuesChecked?: boolean;
  },
): ParseResult {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return fail("not a JSON object");
  }
  const raw = value as Record<string, unknown>;
  // Before anything walks the message: its depth bounds every recursion that follows.
  const unstorable = options.valuesChecked ? null : unstorableValue(raw, options.text);
  if (unstorable) return fail(unstorable);
  const size = options.byteLength ?? Buffer.byteLength(JSON.stringify(raw));
  if (size > MAX_MESSAGE_BYTES) return fail(`message is ${size} bytes, over the 32 KB limit`);

  const type = options.type ?? raw.type;
  if (type === undefined || type === null || type === "") return fail("missing type");
  if (typeof type !== "string" || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
    return fail(`unknown type ${JSON.stringify(type)}, expected one of ${MESSAGE_TYPES.join(", ")}`);
  }
  const messageType = type as MessageType;

  const userId = identifier(raw.userId);
  const anonymousId = identifier(raw.anonymousId);
  if (userId === undefined) return fail(`userId must be a string, got ${describe(raw.userId)}`);
  if (anonymousId === undefined)
    return fail(`anonymousId must be a string, got ${describe(raw.anonymousId)}`);
  const tooLong = longId(raw);
  if (tooLong) return fail(tooLong);
  if (userId === null && anonymousId === null) return fail("no userId or anonymousId");

  let event: string | null = null;
  let path: string | null = null;
  let accountId: string | null = null;
  const context = isObject(raw.context) ? raw.context : undefined;
  const properties = isObject(raw.properties) ? raw.properties : undefined;
  switch (messageType) {
    case "track":
      if (typeof raw.event !== "string" || raw.event.trim() === "") {
        return fail(`track without a string event (event: ${describe(raw.event)})`);
      }
      event = raw.event;
      break;
    case "group": {
      const groupId = identifier(raw.groupId);
      if (!groupId) return fail(`group without groupId (groupId: ${describe(raw.groupId)})`);
      accountId = groupId;
      break;
    }
    case "alias": {
      const previousId = identifier(raw.previousId);
      if (!previousId) return fail(`alias without previousId (previousId: ${describe(raw.previousId)})`);
      if (!userId) return fail("alias without userId");
      break;
    }
    case "page":
    case "screen": {
      const page = isObject(context?.page) ? context.page : undefined;
      path = stringOrNull(properties?.path) ?? stringOrNull(page?.path);
      event = typeof raw.name === "string" && raw.name !== "" ? raw.name : path;
      break;
    }
    case "identify":
      break;
  }
  if (accountId === null && context) accountId = identifier(context.groupId) ?? null;

  const stamp = raw.timestamp ?? raw.originalTimestamp;
  let timestamp: Date;
  if (stamp === undefined || stamp === null) {
    timestamp = options.receivedAt;
  } else {
    const parsed = parseTimestamp(stamp);
    if (!parsed) return fail(`unparseable timestamp ${describe(stamp)}`);
    timestamp = parsed;
  }

  let messageId = identifier(raw.messageId);
  if (messageId === undefined) return fail(`messageId must be a string, got ${describe(raw.messageId)}`);
  // The message itself is the payload unless something must be added to it.
  const complete = raw.type === messageType && messageId !== null;
  const payload: Record<string, unknown> = complete ? raw : { ...raw, type: messageType };
  if (messageId === null) {
    // No messageId: derive one from the content so that sending the same message twice stores it once.
    messageId = `pqlr-${createHash("sha256").update(JSON.stringify(payload)).digest("hex").slice(0, 32)}`;
    payload.messageId = messageId;
  }
  const message: SegmentMessage = {
    messageId,
    type: messageType,
    userId,
    anonymousId,
    accountId,
    event,
    path,
    timestamp,
    payload,
  };
  if (options.text !== undefined && raw.type === messageType && raw.messageId === messageId)
    message.payloadJson = options.text;
  return { ok: true, message };
}

/** ISO-8601 (date, or date and time; no zone means UTC). */
export function parseTimestamp(value: unknown): Date | null {
  if (typeof value !== "string" || !ISO_8601.test(value)) return null;
  // Date.parse rolls 2026-02-30 over to March: refuse days the month does not have.
  const [year, month, day] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate())
    return null;
  const hasZone = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(value) && value.length > 10;
  const ms = Date.parse(hasZone ? value : `${value.length === 10 ? `${value}T00:00:00` : value}Z`);
  if (Number.isNaN(ms)) return null;
  // Years 1 to 9999 in UTC: PostgreSQL refuses year 0, and ISO strings stay comparable as text.
  const utcYear = new Date(ms).getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? new Date(ms) : null;
}

const ID_FIELDS = ["messageId", "userId", "anonymousId", "groupId", "previousId"] as const;

/** The first id over MAX_ID_BYTES, described; null when every id fits. */
function longId(raw: Record<string, unknown>): string | null {
  const context = isObject(raw.context) ? raw.context : {};
  const ids: [string, unknown][] = ID_FIELDS.map((field) => [field, raw[field]]);
  ids.push(["context.groupId", context.groupId]);
  for (const [field, value] of ids) {
    if (typeof value !== "string" || value.length * 3 <= MAX_ID_BYTES) continue;
    const bytes = Buffer.byteLength(value);
    if (bytes > MAX_ID_BYTES)
      return `${field} is ${bytes} bytes, over the ${MAX_ID_BYTES}-byte limit for ids`;
  }
  return null;
}

// A NUL character, or half of a UTF-16 surrogate pair without its other half.
const UNSTORABLE_CHAR = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// In JSON text, how such characters (and any surrogate) can be written: nothing else yields them.
const UNSTORABLE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * Why the database cannot store this message as sent, or null. PostgreSQL refuses a NUL character
 * and a lone surrogate (in text and in jsonb), and nesting past MAX_DEPTH is refused here before
 * any recursion meets it. Rejecting is the choice, not cleaning: the payload is kept as sent, and
 * such values come from a sender's bug that it should hear about. `text` (the message's JSON, when
 * the caller has it) lets a message without such escapes or much nesting skip the walk.
 */
export function unstorableValue(message: Record<string, unknown>, text?: string): string | null {
  if (text !== undefined && !UNSTORABLE_ESCAPE.test(text) && bracketCount(text) <= MAX_DEPTH) return null;
  // Paths are rebuilt from parent links only for a value found wrong: walking costs O(1) a node.
  type Node = { value: unknown; key: string | number | null; parent: Node | null; depth: number };
  const pathOf = (node: Node): string => {
    const parts: string[] = [];
    for (let n: Node | null = node; n !== null && n.key !== null; n = n.parent) {
      if (typeof n.key === "number") parts.push(`[${n.key}]`);
      else {
        const key = n.key.length > 40 ? `${n.key.slice(0, 37)}...` : n.key;
        parts.push(n.parent?.key === null ? key : `.${key}`);
      }
    }
    return parts.reverse().join("") || "(message)";
  };
  const stack: Node[] = [{ value: message, key: null, parent: null, depth: 1 }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const { value, depth } = node;
    if (typeof value === "string") {
      const problem = unstorableString(value);
      if (problem) return `${pathOf(node)}: ${problem}`;
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth > MAX_DEPTH) return `${pathOf(node)}: nested over ${MAX_DEPTH} levels deep, the limit`;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], key: i, parent: node, depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const problem = unstorableString(key);
      if (problem) return `${pathOf(node)}: a key ${problem}`;
      stack.push({ value: (value as Record<string, unknown>)[key], key, parent: node, depth: depth + 1 });
    }
  }
  return null;
}

function unstorableString(value: string): string | null {
  const match = UNSTORABLE_CHAR.exec(value);
  if (!match) return null;
  return match[0] === "\0"
    ? "contains a NUL character (\\u0000), which cannot be stored"
    : `contains a lone surrogate (\\u${match[0].charCodeAt(0).toString(16)}), which is not valid Unicode`;
}

/** Opening brackets in JSON text: an upper bound of its nesting depth. */
function bracketCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 123 || c === 91) count++;
  }
  return count;
}

function fail(reason: string): ParseResult {
  // A reason names a path the sender chose: bounded, so a rejection never costs more than the message.
  return { ok: false, reason: reason.length > 300 ? `${reason.slice(0, 297)}...` : reason };
}

/** A Segment id: a non-empty string (numbers are accepted and stringified); null when absent; undefined when malformed. */
function identifier(value: unknown): string | null | undefined {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
