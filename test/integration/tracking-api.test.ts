import { Analytics } from "@segment/analytics-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "../../src/app/runtime.ts";
import { readStatus } from "../../src/store/status.ts";
import { createTestStore, postgresAvailable, type TestStore } from "../helpers/databases.ts";
import { listeningRuntime } from "../helpers/runtime.ts";

const WRITE_KEY = "wk_test_5f2a9c";
const auth = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

describe("the Segment HTTP Tracking API, over real HTTP", () => {
  let store: TestStore;
  let rt: Runtime;
  let base: string;
  beforeAll(async () => {
    store = await createTestStore(postgresAvailable ? "postgres" : "embedded");
    ({ rt, base } = await listeningRuntime(store.db, { writeKey: WRITE_KEY }));
  });
  afterAll(async () => {
    await rt?.close();
    await store?.dispose();
  });
  const post = (path: string, body: unknown, key: string | null = WRITE_KEY) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(key === null ? {} : { Authorization: auth(key) }) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const count = async () => (await readStatus(store.db)).messages;

  it("answers GET /healthz", async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("refuses a missing or wrong write key with 401 and stores nothing", async () => {
    const message = { userId: "u1", event: "Report Run", messageId: "auth-1" };
    const missing = await post("/v1/track", message, null);
    expect(missing.status).toBe(401);
    const wrong = await post("/v1/track", message, "wk_wrong");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ success: false, error: "missing or wrong write key" });
    expect(await count()).toBe(0);
  });

  it("stores a single track call, and the same messageId only once", async () => {
    const message = { userId: "u1", event: "Report Run", messageId: "one-1", context: { groupId: "acct_h" } };
    const first = await post("/v1/track", message);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ success: true, accepted: 1, duplicates: 0, rejected: [] });
    const again = await post("/v1/track", message);
    expect(await again.json()).toEqual({ success: true, accepted: 0, duplicates: 1, rejected: [] });
    expect(await count()).toBe(1);
  });

  it("rejects a single invalid message with 400 and its reason", async () => {
    const res = await post("/v1/group", { userId: "u1", traits: {} });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ success: false, error: "group without groupId (groupId: missing)" });
  });

  it("refuses a message over 32 KB and a request over 500 KB with 400, storing nothing", async () => {
    const big = await post("/v1/track", {
      userId: "u1",
      event: "x",
      properties: { blob: "y".repeat(33 * 1024) },
    });
    expect(big.status).toBe(400);
    expect(((await big.json()) as { error: string }).error).toMatch(/over the 32 KB limit/);
    const batch = Array.from({ length: 20 }, (_, i) => ({
      type: "track",
      userId: "u1",
      event: "x",
      messageId: `huge-${i}`,
      properties: { blob: "y".repeat(30 * 1024) },
    }));
    const huge = await post("/v1/batch", { batch });
    expect(huge.status).toBe(400);
    expect(await huge.json()).toEqual({ success: false, error: "request body over the 500 KB limit" });
    expect(await count()).toBe(1);
  });

  it("stores the valid messages of a batch and says which were rejected and why", async () => {
    const res = await post("/v1/batch", {
      batch: [
        { type: "identify", userId: "u1", messageId: "b-1", traits: { title: "Recruiter" } },
        { type: "track", userId: "u1", messageId: "b-2" },
        { type: "group", userId: "u1", groupId: "acct_h", messageId: "b-3", traits: { name: "Hotel" } },
        { type: "teleport", userId: "u1", messageId: "b-4" },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      success: true,
      accepted: 2,
      duplicates: 0,
      rejected: [
        { index: 1, reason: "track without a string event (event: missing)" },
        {
          index: 3,
          reason: 'unknown type "teleport", expected one of track, identify, group, page, screen, alias',
        },
      ],
    });
    expect(await count()).toBe(3);
  });

  it("answers 400 to a body that is not JSON, 404 to an unknown endpoint, 405 to a known one not POSTed", async () => {
    expect((await post("/v1/track", "{nope")).status).toBe(400);
    expect((await post("/v1/purchase", {})).status).toBe(404);
    // Paths are taken as sent: no trailing slash, no percent-encoded letters.
    expect((await post("/v1/track/", { userId: "u", event: "e" })).status).toBe(404);
    expect((await post("/v1/tr%61ck", { userId: "u", event: "e" })).status).toBe(404);
    expect((await post("/healthz", {})).status).toBe(404);
    expect((await fetch(`${base}/v1/unknown`)).status).toBe(404);
    const get = await fetch(`${base}/v1/track`);
    expect(get.status).toBe(405);
    expect(await get.json()).toEqual({ success: false, error: "use POST" });
  });

  it("works unchanged with Segment's official Node client pointed at this host", async () => {
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: base, flushAt: 3, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on("error", (error) => errors.push(error));
    analytics.identify({ userId: "seg-1", traits: { email: "rita@corp.example", title: "VP People" } });
    analytics.group({
      userId: "seg-1",
      groupId: "acct_seg",
      traits: { name: "Segmented Inc", employees: 300 },
    });
    analytics.track({ userId: "seg-1", event: "Offer Letter Sent", context: { groupId: "acct_seg" } });
    analytics.page({ userId: "seg-1", name: "Pricing", properties: { path: "/pricing" } });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const { rows } = await store.db.sql.query<{ type: string; account_id: string; event: string | null }>(
      "SELECT type, account_id, event FROM messages WHERE user_id = 'seg-1' ORDER BY timestamp, type",
    );
    expect(rows.map((r) => [r.type, r.account_id])).toEqual(
      expect.arrayContaining([
        ["identify", "acct_seg"],
        ["group", "acct_seg"],
        ["track", "acct_seg"],
        ["page", "acct_seg"],
      ]),
    );
    expect(rows).toHaveLength(4);
    const account = await store.db.prisma.account.findUniqueOrThrow({ where: { id: "acct_seg" } });
    expect(account).toMatchObject({ name: "Segmented Inc", employees: 300 });
  });
});
