import { describe, expect, it } from "vitest";
import { parseSegmentMessage, parseTimestamp } from "../../../src/signals/segment-message.ts";

const receivedAt = new Date("2026-11-01T12:00:00Z");
const parse = (value: unknown) => parseSegmentMessage(value, { receivedAt });
const reason = (value: unknown) => {
  const result = parse(value);
  return result.ok ? "accepted" : result.reason;
};

describe("parseSegmentMessage", () => {
  it("normalises a track call with its account from context.groupId", () => {
    const result = parse({
      type: "track",
      event: "Offer Letter Sent",
      userId: "u1",
      messageId: "m1",
      timestamp: "2026-10-30T09:15:00.250Z",
      properties: { role: "Engineer" },
      context: { groupId: "acct_1" },
    });
    expect(result).toEqual({
      ok: true,
      message: {
        messageId: "m1",
        type: "track",
        userId: "u1",
        anonymousId: null,
        accountId: "acct_1",
        event: "Offer Letter Sent",
        path: null,
        timestamp: new Date("2026-10-30T09:15:00.250Z"),
        payload: expect.objectContaining({ messageId: "m1", event: "Offer Letter Sent" }),
      },
    });
  });

  it("takes the account of a group call from groupId and a page's name or path as its event", () => {
    const group = parse({ type: "group", userId: "u1", groupId: 42, traits: { name: "Acme" } });
    expect(group.ok && group.message.accountId).toBe("42");
    const page = parse({ type: "page", anonymousId: "a1", properties: { path: "/pricing" } });
    expect(page.ok && page.message.event).toBe("/pricing");
    const named = parse({
      type: "page",
      anonymousId: "a1",
      name: "Pricing",
      properties: { path: "/pricing" },
    });
    expect(named.ok && named.message.event).toBe("Pricing");
    expect(named.ok && named.message.path).toBe("/pricing");
    const fromContext = parse({ type: "page", userId: "u1", context: { page: { path: "/docs/api/v2" } } });
    expect(fromContext.ok && [fromContext.message.event, fromContext.message.path]).toEqual([
      "/docs/api/v2",
      "/docs/api/v2",
    ]);
  });

  it("rejects each malformed kind with a reason naming the field", () => {
    expect(reason("hello")).toBe("not a JSON object");
    expect(reason([1, 2])).toBe("not a JSON object");
    expect(reason({ userId: "u1", event: "x" })).toBe("missing type");
    expect(reason({ type: "purchase", userId: "u1" })).toBe(
      'unknown type "purchase", expected one of track, identify, group, page, screen, alias',
    );
    expect(reason({ type: "track", event: "x" })).toBe("no userId or anonymousId");
    expect(reason({ type: "track", userId: "u1" })).toBe("track without a string event (event: missing)");
    expect(reason({ type: "track", userId: "u1", event: 7 })).toBe("track without a string event (event: 7)");
    expect(reason({ type: "group", userId: "u1" })).toBe("group without groupId (groupId: missing)");
    expect(reason({ type: "alias", userId: "u1" })).toBe("alias without previousId (previousId: missing)");
    expect(reason({ type: "identify", userId: { id: 1 } })).toBe('userId must be a string, got {"id":1}');
    expect(reason({ type: "identify", userId: "u1", timestamp: "yesterday" })).toBe(
      'unparseable timestamp "yesterday"',
    );
    expect(reason({ type: "identify", userId: "u1", timestamp: "2026-02-30T00:00:00Z" })).toBe(
      'unparseable timestamp "2026-02-30T00:00:00Z"',
    );
    const big = { type: "track", userId: "u1", event: "x", properties: { blob: "x".repeat(33_000) } };
    expect(reason(big)).toMatch(/^message is 330\d\d bytes, over the 32 KB limit$/);
  });

  it("applies the receive time when there is no timestamp, and derives a stable messageId when there is none", () => {
    const a = parse({ type: "identify", userId: "u1", traits: { title: "CFO" } });
    const b = parse({ type: "identify", userId: "u1", traits: { title: "CFO" } });
    const c = parse({ type: "identify", userId: "u1", traits: { title: "CEO" } });
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (a.ok && b.ok && c.ok) {
      expect(a.message.timestamp).toEqual(receivedAt);
      expect(a.message.messageId).toMatch(/^pqlr-[0-9a-f]{32}$/);
      expect(b.message.messageId).toBe(a.message.messageId);
      expect(c.message.messageId).not.toBe(a.message.messageId);
      expect(a.message.payload.messageId).toBe(a.message.messageId);
    }
  });

  it("imposes the endpoint's type on single-message HTTP calls", () => {
    const result = parseSegmentMessage({ userId: "u1", event: "x" }, { receivedAt, type: "track" });
    expect(result.ok && result.message.type).toBe("track");
  });
});

describe("parseTimestamp", () => {
  it.each([
    ["2026-10-30T09:15:00Z", "2026-10-30T09:15:00.000Z"],
    ["2026-10-30T09:15:00.5+02:00", "2026-10-30T07:15:00.500Z"],
    ["2026-10-30T09:15:00", "2026-10-30T09:15:00.000Z"],
    ["2026-10-30", "2026-10-30T00:00:00.000Z"],
  ])("reads %s as %s (no zone means UTC)", (input, expected) => {
    expect(parseTimestamp(input)?.toISOString()).toBe(expected);
  });

  it.each(["", "10/30/2026", "2026-13-01T00:00:00Z", "Fri Oct 30 2026", 1730000000])(
    "refuses %s",
    (input) => {
      expect(parseTimestamp(input)).toBeNull();
    },
  );
});
