import type { AddressInfo } from "node:net";
import { App } from "@slack/bolt";
import { type Logger, LogLevel, WebClient, type WebClientOptions } from "@slack/web-api";
import { afterEach, describe, expect, it } from "vitest";
import {
  blockActionBody,
  type FakeSlack,
  type FakeSlackOptions,
  postSigned,
  signSlackRequest,
  slashCommandBody,
  startFakeSlack,
} from "../helpers/fake-slack.ts";

const TOKEN = "xoxb-test";
const running: FakeSlack[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

const quietLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

async function fakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const fake = await startFakeSlack(options);
  running.push(fake);
  return fake;
}

/** `token: null` sends no token at all. */
function client(fake: FakeSlack, token: string | null = TOKEN, options: WebClientOptions = {}): WebClient {
  return new WebClient(token ?? undefined, {
    slackApiUrl: fake.url,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: quietLogger,
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error("expected the call to fail");
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const BLOCKS = [
  { type: "header", text: { type: "plain_text", text: "Hot PQL: Acme" } },
  { type: "section", block_id: "summary", text: { type: "mrkdwn", text: "*Score* 92" } },
  {
    type: "actions",
    block_id: "claim",
    elements: [
      {
        type: "button",
        action_id: "pql_claim",
        text: { type: "plain_text", text: "Claim" },
        value: "acct_1",
      },
    ],
  },
];
const METADATA = { event_type: "pql_routed", event_payload: { routing_key: "acct_1:2025-11-01" } };

describe("fake Slack Web API with the real WebClient", () => {
  it("posts to #name, reads history with and without metadata, and updates", async () => {
    const fake = await fakeSlack();
    const web = client(fake);
    const posted = await web.chat.postMessage({
      channel: "#pql-hot",
      text: "Hot PQL: Acme",
      blocks: BLOCKS,
      metadata: METADATA,
    });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe("C0HOT0001");
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message?.metadata).toEqual(METADATA);
    // WebClient sends a form with JSON-encoded blocks/metadata; the fake decodes them.
    expect(fake.callsTo("chat.postMessage")[0]?.body.blocks).toEqual(BLOCKS);
    expect(fake.callsTo("chat.postMessage")[0]?.status).toBe(200);

    const withMeta = await web.conversations.history({ channel: "C0HOT0001", include_all_metadata: true });
    expect(withMeta.messages).toHaveLength(1);
    expect(withMeta.messages?.[0]).toMatchObject({ type: "message", ts: posted.ts, text: "Hot PQL: Acme" });
    expect(withMeta.messages?.[0]?.blocks).toEqual(BLOCKS);
    expect(withMeta.messages?.[0]?.metadata).toEqual(METADATA);
    const without = await web.conversations.history({ channel: "C0HOT0001" });
    expect(without.messages?.[0]?.metadata).toBeUndefined();

    const ts = posted.ts ?? "";
    const claimed = [{ type: "section", text: { type: "mrkdwn", text: "Claimed by <@U1>" } }];
    const updated = await web.chat.update({ channel: "C0HOT0001", ts, text: "Claimed", blocks: claimed });
    expect(updated).toMatchObject({ ok: true, channel: "C0HOT0001", ts, text: "Claimed" });
    const after = await web.conversations.history({ channel: "C0HOT0001", include_all_metadata: true });
    expect(after.messages?.[0]).toMatchObject({ text: "Claimed", blocks: claimed, metadata: METADATA });
    expect(fake.messages("C0HOT0001")).toMatchObject([{ ts, text: "Claimed", updated: 1 }]);

    const missing = await failure(web.chat.update({ channel: "C0HOT0001", ts: "1.000001", text: "x" }));
    expect((missing.data as { error: string }).error).toBe("message_not_found");
    const unknown = await failure(web.conversations.history({ channel: "C0NOPE" }));
    expect((unknown.data as { error: string }).error).toBe("channel_not_found");
  });

  it("a scripted 429 surfaces as a rate-limited error with retryAfter, then the next call is normal", async () => {
    const fake = await fakeSlack();
    const web = client(fake);
    fake.script("chat.postMessage", { status: 429, retryAfter: 2 });
    const error = await failure(web.chat.postMessage({ channel: "C0HOT0001", text: "hi" }));
    expect(error.code).toBe("slack_webapi_rate_limited_error");
    expect(error.retryAfter).toBe(2);
    expect(fake.messages()).toHaveLength(0);
    await expect(web.chat.postMessage({ channel: "C0HOT0001", text: "hi" })).resolves.toMatchObject({
      ok: true,
    });
    expect(fake.callsTo("chat.postMessage").map((c) => c.status)).toEqual([429, 200]);
  });

  it("postsPerSecondPerChannel limits each channel separately", async () => {
    const fake = await fakeSlack({
      postsPerSecondPerChannel: 1,
      channels: [
        { id: "C0HOT0001", name: "pql-hot" },
        { id: "C0WARM001", name: "pql-warm" },
      ],
    });
    const web = client(fake);
    await web.chat.postMessage({ channel: "C0HOT0001", text: "one" });
    const error = await failure(web.chat.postMessage({ channel: "C0HOT0001", text: "two" }));
    expect(error.code).toBe("slack_webapi_rate_limited_error");
    expect(error.retryAfter).toBe(1);
    await expect(web.chat.postMessage({ channel: "pql-warm", text: "three" })).resolves.toMatchObject({
      ok: true,
      channel: "C0WARM001",
    });
    expect(fake.messages().map((m) => m.text)).toEqual(["one", "three"]);
  });

  it("rejects a wrong token (invalid_auth) and a missing one (not_authed)", async () => {
    const fake = await fakeSlack();
    const wrong = await failure(client(fake, "xoxb-wrong").auth.test());
    expect(wrong.code).toBe("slack_webapi_platform_error");
    expect((wrong.data as { error: string }).error).toBe("invalid_auth");
    const none = await failure(client(fake, null).auth.test());
    expect((none.data as { error: string }).error).toBe("not_authed");
    await expect(client(fake).auth.test()).resolves.toMatchObject({ ok: true, user_id: "UBOT0001" });
  });

  it("dropAfterStore stores the message and the client gets no answer", async () => {
    const fake = await fakeSlack();
    const web = client(fake, TOKEN, { timeout: 500 });
    fake.script("chat.postMessage", { dropAfterStore: true });
    const error = await failure(web.chat.postMessage({ channel: "C0HOT0001", text: "lost answer" }));
    expect(error.code).toBe("slack_webapi_request_error");
    expect(fake.messages()).toMatchObject([{ channel: "C0HOT0001", text: "lost answer" }]);
    expect(fake.callsTo("chat.postMessage")[0]?.status).toBe(0);
  });

  it("pages history newest first with exclusive oldest/latest, top-level messages only", async () => {
    const fake = await fakeSlack();
    const web = client(fake);
    const ts: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await web.chat.postMessage({ channel: "C0HOT0001", text: `m${i}` });
      ts.push(r.ts ?? "");
    }
    await web.chat.postMessage({ channel: "C0HOT0001", text: "reply", thread_ts: ts[0] });
    expect([...ts].sort()).toEqual(ts); // strictly increasing
    expect(new Set(ts).size).toBe(5);

    const first = await web.conversations.history({ channel: "C0HOT0001", limit: 2 });
    expect(first.messages?.map((m) => m.text)).toEqual(["m4", "m3"]);
    expect(first.has_more).toBe(true);
    const cursor = first.response_metadata?.next_cursor ?? "";
    expect(cursor).not.toBe("");
    const second = await web.conversations.history({ channel: "C0HOT0001", limit: 2, cursor });
    expect(second.messages?.map((m) => m.text)).toEqual(["m2", "m1"]);
    const third = await web.conversations.history({
      channel: "C0HOT0001",
      limit: 2,
      cursor: second.response_metadata?.next_cursor ?? "",
    });
    expect(third.messages?.map((m) => m.text)).toEqual(["m0"]);
    expect(third.messages?.[0]).toMatchObject({ reply_count: 1, thread_ts: ts[0] });
    expect(third.has_more).toBe(false);

    const bounded = await web.conversations.history({ channel: "C0HOT0001", oldest: ts[1], latest: ts[4] });
    expect(bounded.messages?.map((m) => m.text)).toEqual(["m3", "m2"]);
    const inclusive = await web.conversations.history({
      channel: "C0HOT0001",
      oldest: ts[1],
      latest: ts[4],
      inclusive: true,
    });
    expect(inclusive.messages?.map((m) => m.text)).toEqual(["m4", "m3", "m2", "m1"]);
    expect(fake.messages()).toHaveLength(6);
  });

  it("checks Block Kit limits", async () => {
    const fake = await fakeSlack();
    const web = client(fake);
    const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
    const tooMany = await failure(
      web.chat.postMessage({
        channel: "C0HOT0001",
        text: "x",
        blocks: Array.from({ length: 51 }, () => section("a")),
      }),
    );
    expect((tooMany.data as { error: string }).error).toBe("invalid_blocks");
    const tooLong = await failure(
      web.chat.postMessage({
        channel: "C0HOT0001",
        text: "x",
        blocks: Array.from({ length: 5 }, () => section("a".repeat(2900))),
      }),
    );
    expect((tooLong.data as { error: string }).error).toBe("msg_blocks_too_long");
    const longSection = await failure(
      web.chat.postMessage({ channel: "C0HOT0001", text: "x", blocks: [section("a".repeat(3001))] }),
    );
    expect((longSection.data as { errors: string[] }).errors[0]).toContain("/blocks/0/text/text");
    const noText = await failure(web.chat.postMessage({ channel: "C0HOT0001", text: "" }));
    expect((noText.data as { error: string }).error).toBe("no_text");
    expect(fake.messages()).toHaveLength(0);
  });

  it("answers conversations.list, postEphemeral, unknown methods and JSON bodies", async () => {
    const fake = await fakeSlack({
      channels: [
        { id: "C0HOT0001", name: "pql-hot" },
        { id: "C0WARM001", name: "pql-warm" },
        { id: "G0PRIV001", name: "pql-private", is_private: true },
      ],
    });
    const web = client(fake);
    const page = await web.conversations.list({ types: "public_channel,private_channel", limit: 2 });
    expect(page.channels?.map((c) => c.id)).toEqual(["C0HOT0001", "C0WARM001"]);
    expect(page.channels?.[0]).toMatchObject({ name: "pql-hot", is_channel: true, is_member: true });
    const rest = await web.conversations.list({
      types: "public_channel,private_channel",
      cursor: page.response_metadata?.next_cursor ?? "",
    });
    expect(rest.channels).toMatchObject([{ id: "G0PRIV001", is_private: true }]);
    expect(rest.response_metadata?.next_cursor).toBe("");
    const publicOnly = await web.conversations.list({});
    expect(publicOnly.channels).toHaveLength(2);

    const ephemeral = await web.chat.postEphemeral({ channel: "C0HOT0001", user: "U1", text: "only you" });
    expect(ephemeral.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(fake.ephemerals).toEqual([{ channel: "C0HOT0001", user: "U1", text: "only you" }]);

    const unknown = await failure(web.apiCall("chat.nope"));
    expect((unknown.data as { error: string }).error).toBe("unknown_method");

    const res = await fetch(`${fake.url}chat.postMessage`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: "pql-hot", blocks: BLOCKS, metadata: METADATA }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: "C0HOT0001" });
    expect(fake.messages()[0]).toMatchObject({ blocks: BLOCKS, metadata: METADATA, text: "" });
  });
});

describe("driving a Bolt HTTP endpoint", () => {
  it("signSlackRequest matches Slack's documented example", () => {
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    expect(signSlackRequest("8f742231b10e8888abcd99yyyzzz85a5", body, 1531420618)).toEqual({
      "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
      "x-slack-request-timestamp": "1531420618",
    });
  });

  it("Bolt accepts signed block actions and slash commands, and rejects bad or stale signatures", async () => {
    const fake = await fakeSlack();
    const signingSecret = "test-signing-secret";
    const app = new App({
      token: TOKEN,
      signingSecret,
      logger: quietLogger,
      clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 } },
    });
    const seen: { action?: unknown; retryNum?: number; command?: unknown } = {};
    app.action("pql_claim", async ({ ack, body, action, respond, context }) => {
      await ack();
      seen.action = { user: body.user.id, action };
      seen.retryNum = context.retryNum;
      await respond({ text: "claimed", replace_original: false });
    });
    app.command("/pql", async ({ ack, command }) => {
      seen.command = command;
      await ack("ok");
    });
    const server = (await app.start(0)) as { address(): AddressInfo | string | null };
    cleanups.push(() => app.stop().then(() => undefined));
    const { port } = server.address() as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}/slack/events`;

    const posted = await client(fake).chat.postMessage({ channel: "C0HOT0001", text: "Hot", blocks: BLOCKS });
    const body = blockActionBody({
      userId: "U1",
      channelId: "C0HOT0001",
      messageTs: posted.ts ?? "",
      actionId: "pql_claim",
      responseUrl: fake.responseUrl("r1"),
      message: { text: "Hot", blocks: BLOCKS },
    });
    const answer = await postSigned(endpoint, body, { signingSecret, retryNum: 1 });
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeGreaterThan(0);
    await waitFor(() => fake.responses.length === 1);
    expect(fake.responses[0]).toEqual({ id: "r1", body: { text: "claimed", replace_original: false } });
    expect(seen.action).toMatchObject({
      user: "U1",
      action: { type: "button", action_id: "pql_claim", block_id: "claim", value: "acct_1" },
    });
    expect(seen.retryNum).toBe(1);

    const command = await postSigned(
      endpoint,
      slashCommandBody({ userId: "U1", channelId: "C0HOT0001", text: "claim acct_1" }),
      { signingSecret },
    );
    expect(command).toMatchObject({ status: 200, body: "ok" });
    expect(seen.command).toMatchObject({ command: "/pql", text: "claim acct_1", user_id: "U1" });

    expect((await postSigned(endpoint, body, { signingSecret, badSignature: true })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 10 * 60;
    expect((await postSigned(endpoint, body, { signingSecret, timestampSeconds: stale })).status).toBe(401);
  });
});
