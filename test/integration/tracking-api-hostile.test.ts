import { once } from "node:events";
import net from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "../../src/app/runtime.ts";
import { createHttpHost, SERVER_TIMEOUTS } from "../../src/http/http-host.ts";
import { MAX_DEPTH, MAX_ID_BYTES } from "../../src/signals/segment-message.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore } from "../helpers/databases.ts";
import { listeningRuntime } from "../helpers/runtime.ts";

const WRITE_KEY = "wk_hostile_7c1d";
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;

/** Sends raw bytes on a fresh connection; resolves with what the server sent and when it closed (ms after connecting). */
function raw(
  port: number,
  bytes: string,
  waitMs = 5_000,
): Promise<{ text: string; closed: boolean; afterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false, afterMs: Date.now() - started });
    }, waitMs);
    socket.on("connect", () => {
      if (bytes) socket.write(bytes);
    });
    socket.on("data", (d) => {
      text += d;
    });
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closed: true, afterMs: Date.now() - started });
    });
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

/** JSON text of an object nested `levels` deep: {"a":{"a":...}} (too deep for JSON.stringify). */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

const track = (messageId: string, extra: Record<string, unknown> = {}) => ({
  type: "track",
  userId: "u-ok",
  event: "Report Run",
  messageId,
  context: { groupId: "acct_ok" },
  ...extra,
});

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `the Tracking API under hostile input, on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      let rt: Runtime;
      let port: number;
      /** What the server logged: hostile input is the client's problem, never an internal error. */
      const logged: { level: number; msg: string }[] = [];
      beforeAll(async () => {
        store = await createTestStore(engine.name);
        ({ rt, port } = await listeningRuntime(store.db, {
          writeKey: WRITE_KEY,
          log: pino({ level: "debug" }, { write: (line: string) => logged.push(JSON.parse(line)) }),
          // Short limits so that the test sees them act; the defaults are checked below.
          timeouts: { headersTimeout: 400, requestTimeout: 800, keepAliveTimeout: 300, checkIntervalMs: 50 },
        }));
      });
      afterAll(async () => {
        await rt?.close();
        await store?.dispose();
      });
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: AUTH },
          body: typeof body === "string" ? body : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const count = async () =>
        (await store.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM messages")).rows[0]?.n;
      const stored = async (ids: string[]) => {
        const { rows } = await store.db.sql.query<{ message_id: string }>(
          "SELECT message_id FROM messages WHERE message_id = ANY($1::text[]) ORDER BY message_id",
          [ids],
        );
        return rows.map((r) => r.message_id);
      };
      const healthy = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;

      it("answers 400 to request targets URL parsing refuses, and keeps serving", async () => {
        for (const target of ["//%", "//[", "//x:y", "///%", "//@", "*", "//%/v1/track"]) {
          const { text } = await raw(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
          expect(statusOf(text), target).toBe(400);
        }
        const post = await raw(
          port,
          `POST //% HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
        );
        expect(statusOf(post.text)).toBe(400);
        expect(post.text).toContain('"error":"malformed request target"');
        expect(await healthy()).toBe(200);
      });

      it("closes silent, half-sent and idle connections at its own time limits", async () => {
        const before = await count();
        const [silent, halfHeaders, halfBody, idle] = await Promise.all([
          raw(port, ""),
          raw(port, "POST /v1/track HTTP/1.1\r\nHost: x\r\n"),
          raw(
            port,
            `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 100\r\n\r\n{`,
          ),
          raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        ]);
        // Each was closed by the server (not by the 5 s wait of the test), with 408 when a request had begun.
        expect([silent.closed, halfHeaders.closed, halfBody.closed, idle.closed]).toEqual([
          true,
          true,
          true,
          true,
        ]);
        expect(statusOf(halfHeaders.text)).toBe(408);
        expect(statusOf(halfBody.text)).toBe(408);
        expect(statusOf(idle.text)).toBe(200);
        // Within a few sweeps of the limits set here (0.3-0.8 s), far before Node's own (5 s and more).
        for (const probe of [silent, halfHeaders, halfBody, idle]) expect(probe.afterMs).toBeLessThan(3_000);
        expect(await count()).toBe(before);
        expect(await healthy()).toBe(200);
      });

      it("sets its own timeouts by default, not Node's", () => {
        const { server: fresh } = createHttpHost({ log: pino({ level: "silent" }) });
        expect({
          headersTimeout: fresh.headersTimeout,
          requestTimeout: fresh.requestTimeout,
          keepAliveTimeout: fresh.keepAliveTimeout,
        }).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 });
        expect(SERVER_TIMEOUTS.headersTimeout).toBeLessThanOrEqual(SERVER_TIMEOUTS.requestTimeout);
      });

      it("stores the valid neighbours of a NUL byte or a lone surrogate and names the refused indexes", async () => {
        const batch = {
          batch: [
            track("nul-ok-0"),
            track("nul-bad-1", { properties: { note: "a\u0000b" } }),
            track("nul-ok-2"),
            track("nul-bad-3", { properties: { title: "\ud800" } }),
            track("nul-bad-4", { properties: { "key\u0000": 1 } }),
            track("nul-bad-5", { event: "Report\u0000Run" }),
            track("nul-ok-6", { properties: { emoji: "\ud83d\ude00" } }),
          ],
        };
        const first = await post("/v1/batch", batch);
        expect(first).toEqual({
          status: 200,
          body: {
            success: true,
            accepted: 3,
            duplicates: 0,
            rejected: [
              {
                index: 1,
                reason: "properties.note: contains a NUL character (\\u0000), which cannot be stored",
              },
              {
                index: 3,
                reason: "properties.title: contains a lone surrogate (\\ud800), which is not valid Unicode",
              },
              {
                index: 4,
                reason: "properties: a key contains a NUL character (\\u0000), which cannot be stored",
              },
              { index: 5, reason: "event: contains a NUL character (\\u0000), which cannot be stored" },
            ],
          },
        });
        // A retry is not poisoned either: the valid ones are duplicates, the bad ones still refused.
        const again = await post("/v1/batch", batch);
        expect(again.status).toBe(200);
        expect(again.body).toMatchObject({ accepted: 0, duplicates: 3 });
        expect((again.body.rejected as unknown[]).length).toBe(4);
        expect(await stored(batch.batch.map((m) => m.messageId))).toEqual([
          "nul-ok-0",
          "nul-ok-2",
          "nul-ok-6",
        ]);
        const single = await post("/v1/track", track("nul-single", { properties: { note: "\u0000" } }));
        expect(single).toEqual({
          status: 400,
          body: {
            success: false,
            error: "properties.note: contains a NUL character (\\u0000), which cannot be stored",
          },
        });
      });

      it("refuses nesting past the limit per message, and keeps the neighbours", async () => {
        // A message is level 1 and its properties object level 2: properties may hold MAX_DEPTH - 1
        // nested objects, and the refused one is the next.
        const withProperties = (id: string, properties: string) =>
          JSON.stringify(track(id, { properties: 0 })).replace(
            '"properties":0',
            `"properties":${properties}`,
          );
        const deep = withProperties("deep-bad", nested(5_000));
        expect(Buffer.byteLength(deep)).toBeLessThan(32 * 1024);
        const atLimit = withProperties("deep-ok", nested(MAX_DEPTH - 1));
        const res = await post(
          "/v1/batch",
          `{"batch":[${JSON.stringify(track("deep-n-0"))},${deep},${atLimit}]}`,
        );
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ accepted: 2, duplicates: 0 });
        expect(res.body.rejected).toEqual([
          {
            index: 1,
            reason: `properties${".a".repeat(MAX_DEPTH - 1)}: nested over ${MAX_DEPTH} levels deep, the limit`,
          },
        ]);
        expect(await stored(["deep-bad", "deep-n-0", "deep-ok"])).toEqual(["deep-n-0", "deep-ok"]);
        const single = await post("/v1/track", deep);
        expect(single.status).toBe(400);
        expect(single.body.error).toMatch(/nested over 32 levels deep, the limit$/);
        // A message whose properties are brackets nested far past any stack is refused by depth, not a crash.
        const brackets = withProperties("deep-wall", `${"[".repeat(200_000)}${"]".repeat(200_000)}`);
        const wall = await post("/v1/batch", `{"batch":[${brackets}]}`);
        expect(wall.status).toBe(200);
        expect(wall.body.rejected).toEqual([
          {
            index: 0,
            reason: `properties${"[0]".repeat(MAX_DEPTH - 1)}: nested over ${MAX_DEPTH} levels deep, the limit`,
          },
        ]);
        expect(await healthy()).toBe(200);
      });

      it("checks a batch's shared context once, and bounds what repeating it may cost", async () => {
        const poisoned = await post("/v1/batch", { context: { note: "a\u0000" }, batch: [track("ctx-1")] });
        expect(poisoned).toEqual({
          status: 400,
          body: {
            success: false,
            error: "batch context.note: contains a NUL character (\\u0000), which cannot be stored",
          },
        });
        // 40,000 keys in the context, 20,000 empty messages (a 460 KB request): refused at once.
        const keys = Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, 1]));
        const wide = await post("/v1/batch", {
          context: keys,
          batch: Array.from({ length: 20_000 }, () => ({})),
        });
        expect(wide.status).toBe(400);
        expect(wide.body.error).toMatch(
          /^context: \d+ bytes, over the 32 KB limit of a message it is part of$/,
        );
        // A 30 KB context over 200 messages would store 6 MB: refused whole.
        const padded = { padding: "p".repeat(30 * 1024) };
        const many = Array.from({ length: 200 }, (_, i) => track(`ctx-many-${i}`));
        const repeated = await post("/v1/batch", { context: padded, batch: many });
        expect(repeated.status).toBe(400);
        expect(repeated.body.error).toMatch(
          /^batch: its messages with the shared context make \d+ bytes, over the 5 MB limit/,
        );
        expect(await stored(["ctx-1", "ctx-many-0"])).toEqual([]);
        // A reasonable shared context applies to every message, under each message's own context.
        const ok = await post("/v1/batch", {
          context: { groupId: "acct_shared", locale: "en" },
          batch: [track("ctx-ok-1", { context: {} }), { ...track("ctx-ok-2"), context: { locale: "fr" } }],
        });
        expect(ok.body).toMatchObject({ accepted: 2, rejected: [] });
        const { rows } = await store.db.sql.query<{ account_id: string; locale: string }>(
          "SELECT account_id, payload->'context'->>'locale' AS locale FROM messages WHERE message_id LIKE 'ctx-ok-%' ORDER BY message_id",
        );
        expect(rows).toEqual([
          { account_id: "acct_shared", locale: "en" },
          { account_id: "acct_shared", locale: "fr" },
        ]);
      });

      it("refuses ids over the documented length per message", async () => {
        const long = "i".repeat(3_000);
        const fits = "f".repeat(MAX_ID_BYTES);
        const res = await post("/v1/batch", {
          batch: [
            track("long-ok-0"),
            track("long-bad-1", { userId: long }),
            track("long-bad-2", { anonymousId: long }),
            track(long),
            { type: "group", userId: "u-ok", groupId: long, messageId: "long-bad-4" },
            track("long-bad-5", { context: { groupId: long } }),
            { type: "alias", userId: "u-ok", previousId: long, messageId: "long-bad-6" },
            track(fits, { userId: fits }),
            track("long-bad-8", { userId: "é".repeat(MAX_ID_BYTES / 2 + 1) }),
          ],
        });
        expect(res.status).toBe(200);
        const over = (field: string, bytes = 3_000) =>
          `${field} is ${bytes} bytes, over the ${MAX_ID_BYTES}-byte limit for ids`;
        expect(res.body).toEqual({
          success: true,
          accepted: 2,
          duplicates: 0,
          rejected: [
            { index: 1, reason: over("userId") },
            { index: 2, reason: over("anonymousId") },
            { index: 3, reason: over("messageId") },
            { index: 4, reason: over("groupId") },
            { index: 5, reason: over("context.groupId") },
            { index: 6, reason: over("previousId") },
            { index: 8, reason: over("userId", MAX_ID_BYTES + 2) },
          ],
        });
        expect(await stored(["long-ok-0", fits])).toEqual([fits, "long-ok-0"]);
      });

      it("ignores an indexed trait too long to be real, and stores the message", async () => {
        const res = await post("/v1/batch", {
          batch: [
            {
              type: "group",
              userId: "u-long",
              groupId: "acct_long",
              messageId: "trait-long-1",
              traits: { name: "Long Ltd", domain: `${`${"d".repeat(60)}.${"e".repeat(60)}.`.repeat(30)}com` },
            },
            {
              type: "identify",
              userId: "u-long",
              messageId: "trait-long-2",
              traits: { email: `${"m".repeat(3_000)}@example.com`, title: "CTO" },
            },
          ],
        });
        expect(res.body).toMatchObject({ accepted: 2, rejected: [] });
        const account = await store.db.prisma.account.findUniqueOrThrow({ where: { id: "acct_long" } });
        expect(account).toMatchObject({ name: "Long Ltd", domain: null });
        const user = await store.db.prisma.user.findUniqueOrThrow({ where: { id: "u-long" } });
        expect(user).toMatchObject({ email: null, title: "CTO" });
      });

      it("forgets a client that leaves mid-body: nothing stored, nothing logged as an error", async () => {
        const socket = net.connect(port, "127.0.0.1");
        await once(socket, "connect");
        socket.write(
          `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 500\r\n\r\n{"us`,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        socket.destroy();
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(logged.filter((l) => l.msg.startsWith("the client closed the connection"))).not.toEqual([]);
      });

      it("still answers /healthz after all of it, having logged no internal error", async () => {
        expect(await healthy()).toBe(200);
        expect(logged.filter((l) => l.level >= 50)).toEqual([]);
      });
    },
  );
}
