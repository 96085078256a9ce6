import { createHash } from "node:crypto";

/**
 * Validation and normalisation of Segment messages (the Segment spec: track, identify, group,
 * page, screen, alias). Pure: no I/O, the receive time is passed in.
 */

export const MESSAGE_TYPES = ["track", "identify", "group", "page", "screen", "alias"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Segment's own limit per message. */
export const MAX_MESSAGE_BYTES = 32 * 1024;

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
  options: { receivedAt: Date; byteLength?: number; type?: MessageType; text?: string },
): ParseResult {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return fail("not a JSON object");
  }
  const raw = value as Record<string, unknown>;
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
  return Number.isNaN(ms) ? null : new Date(ms);
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
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
