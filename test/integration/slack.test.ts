import fs from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { explainRouting } from "../../src/app/jobs/explain-routing.ts";
import { syncHubSpot } from "../../src/app/jobs/hubspot-sync.ts";
import { claimRouting, snoozeRouting } from "../../src/app/jobs/slack-actions.ts";
import { postToSlack, type SlackPostOptions } from "../../src/app/jobs/slack-post.ts";
import type { JobContext, Runtime } from "../../src/app/runtime.ts";
import type { LoadedConfig } from "../../src/config/load-config.ts";
import { createHubSpotHttp } from "../../src/integrations/hubspot/hubspot-http.ts";
import { setupProperties } from "../../src/integrations/hubspot/property-setup.ts";
import { createSlackApi } from "../../src/integrations/slack/slack-api.ts";
import { generateWorld } from "../../src/sample/generate-world.ts";
import { saveCalibration } from "../../src/store/calibration-store.ts";
import { decisionsById, markUpdated } from "../../src/store/slack-store.ts";
import { readStatus } from "../../src/store/status.ts";
import { createTestStore, ENGINES, SKIP_PG_REASON, type TestStore, tempDir } from "../helpers/databases.ts";
import { FakeHubSpot } from "../helpers/fake-hubspot.ts";
import {
  blockActionBody,
  type FakeSlack,
  type FakeSlackMessage,
  postSigned,
  slashCommandBody,
  startFakeSlack,
} from "../helpers/fake-slack.ts";
import { listeningRuntime, manualClock } from "../helpers/runtime.ts";
import {
  CHANNELS,
  MANAGER,
  OUTSIDER,
  routedWorld,
  SIGNING_SECRET,
  SLACK_TOKEN,
  SMB_REPS,
  slackConfig,
  until,
  writeConfig,
} from "../helpers/slack-world.ts";

const END = new Date("2026-11-01T00:00:00Z");
const dir = tempDir();
let worldFile: string;

beforeAll(async () => {
  worldFile = (
    await generateWorld({ accounts: 120, days: 30, seed: 11, end: END, out: path.join(dir, "w.ndjson") })
  ).file;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const silent = pino({ level: "silent" });

interface Alert {
  decisionId: string;
  message: FakeSlackMessage;
}

for (const engine of ENGINES) {
  describe.skipIf(engine.skip)(
    `Slack claims on ${engine.name}${engine.skip ? ` (${SKIP_PG_REASON})` : ""}`,
    () => {
      let store: TestStore;
      let config: LoadedConfig;
      let configFile: string;
      let fake: FakeSlack;
      let clock: ReturnType<typeof manualClock>;
      let server: { rt: Runtime; base: string } | undefined;
      let decisions: { id: string; pool: string }[];

      const ctx = (c: LoadedConfig = config): JobContext => ({ db: store.db, config: c, log: silent, clock });
      const api = () => createSlackApi({ token: SLACK_TOKEN, apiUrl: fake.url, log: silent });
      const post = (c: LoadedConfig = config, options: SlackPostOptions = {}) =>
        postToSlack(ctx(c), api(), { postIntervalMs: 0, ...options });
      const serve = async () => {
        server = await listeningRuntime(store.db, {
          env: {
            SLACK_SIGNING_SECRET: SIGNING_SECRET,
            SLACK_BOT_TOKEN: SLACK_TOKEN,
            SLACK_API_URL: fake.url,
            PQL_CONFIG: configFile,
          },
          clock,
        });
        return `${server.base}/slack/events`;
      };
      /** The alerts posted, by decision id (top-level messages carrying an alert key). */
      const alerts = (): Alert[] =>
        fake.messages().flatMap((message) => {
          const key = String(message.metadata?.event_payload.key ?? "");
          const m = /^alert:(\d+):\d+$/.exec(key);
          return m && !message.thread_ts ? [{ decisionId: m[1] as string, message }] : [];
        });
      const decision = async (id: string) => {
        const { rows } = await store.db.sql.query<{
          status: string;
          rep_id: string | null;
          escalations: number;
        }>("SELECT status, rep_id, escalations FROM routing_decisions WHERE id = $1", [id]);
        return rows[0];
      };
      const click = (
        url: string,
        userId: string,
        alert: Alert,
        actionId: string,
        choice: { value?: string; selectedValue?: string },
        extra: { retryNum?: number } = {},
      ) =>
        postSigned(
          url,
          blockActionBody({
            userId,
            channelId: alert.message.channel,
            messageTs: alert.message.ts,
            actionId,
            message: { text: alert.message.text, blocks: alert.message.blocks },
            ...choice,
          }),
          { signingSecret: SIGNING_SECRET, ...extra },
        );
      const claim = (url: string, userId: string, alert: Alert, extra: { retryNum?: number } = {}) =>
        click(url, userId, alert, "pql_claim", { value: alert.decisionId }, extra);
      const assigneeOf = async (id: string) => (await decision(id))?.rep_id ?? null;
      const slackIdOf = (repId: string | null) =>
        config.config.routing.reps.find((r) => r.id === repId)?.slackUserId;

      beforeAll(async () => {
        store = await createTestStore(engine.name);
        const cdir = tempDir();
        configFile = path.join(cdir, "pql-router.config.yaml");
        config = writeConfig(cdir, slackConfig());
        ({ decisions } = await routedWorld(store.db, config, worldFile, END));
        expect(decisions.length).toBeGreaterThanOrEqual(4);
      });
      afterAll(async () => {
        await store?.dispose();
      });
      beforeEach(async () => {
        fake = await startFakeSlack({ channels: CHANNELS });
        clock = manualClock(new Date(END.getTime() + 60_000));
        await store.db.sql.exec(`DELETE FROM slack_posts; DELETE FROM routing_feedback; DELETE FROM claims;
        DELETE FROM routing_rotations; DELETE FROM slack_channels;
        UPDATE routing_decisions SET status = 'open', rule = NULL, rep_id = NULL, skipped = '[]', assignment_reason = NULL,
          assigned_at = NULL, escalations = 0, shadow = false, snoozed_until = NULL, slack_channel = NULL, slack_ts = NULL,
          slack_update_due = false, hubspot_task_id = NULL, hubspot_task_sent_at = NULL, hubspot_task_error = NULL,
          hubspot_task_owner_id = NULL, hubspot_task_owner_rejected = NULL, sla_from = NULL, state_version = 0;
        DELETE FROM hubspot_companies; DELETE FROM hubspot_owners;`);
      });
      afterEach(async () => {
        await server?.rt.close();
        server = undefined;
        await fake.close();
      });

      it("posts one Block Kit alert per routing to its pool's channel, assigned and mentioned, exactly once", async () => {
        const result = await post();
        expect(result).toMatchObject({
          posted: decisions.length,
          assigned: decisions.length,
          pending: 0,
          failed: 0,
        });
        const posts = fake.callsTo("chat.postMessage");
        expect(posts).toHaveLength(decisions.length);
        for (const d of decisions) {
          const call = posts.find(
            (c) =>
              (c.body.metadata as { event_payload: { key: string } }).event_payload.key === `alert:${d.id}:0`,
          );
          expect(call, `alert for decision ${d.id}`).toBeDefined();
          const body = call?.body as { channel: string; blocks: unknown[]; metadata: { event_type: string } };
          expect(body.channel).toBe(d.pool === "enterprise" ? "#pql-enterprise" : "#pql-hot");
          expect(body.metadata.event_type).toBe("pql_router_post");
          const blocks = JSON.stringify(body.blocks);
          expect(blocks.length).toBeLessThan(12_000);
          expect(blocks).toContain(`"action_id":"pql_claim"`);
          expect(blocks).toContain(`"value":"${d.id}"`);
          expect(blocks).toContain(`<@${slackIdOf(await assigneeOf(d.id))}>`);
          expect(blocks).toContain("pql_snooze");
          expect(blocks).toContain("pql_not_a_fit");
          // Not calibrated: no probability.
          expect(blocks).not.toContain("likely to convert");
        }
        // The assignment is audited: rule and reason stored, the rotation saved per pool.
        const explained = await explainRouting(
          store,
          (
            await store.db.sql.query<{ account_id: string }>(
              "SELECT account_id FROM routing_decisions WHERE id = $1",
              [decisions[0]?.id],
            )
          ).rows[0]?.account_id as string,
        );
        expect(explained?.routings[0]).toMatchObject({
          rule: "round-robin",
          slack: { channel: expect.stringMatching(/^C0/) },
        });
        expect((await store.db.sql.query("SELECT * FROM routing_rotations")).rows.length).toBeGreaterThan(0);
        // A rerun posts nothing.
        expect(await post()).toMatchObject({ posted: 0, pending: 0, assigned: 0 });
        expect(fake.callsTo("chat.postMessage")).toHaveLength(decisions.length);
        expect((await readStatus(store.db)).slack).toMatchObject({
          posted: decisions.length,
          pending: 0,
          claimed: 0,
        });
      });

      it("shows the calibrated probability beside the score once the config is calibrated, also after a claim", async () => {
        // 10% at a score of 40 rising to 34% at 70 and above: every routed (hot, 70+) account is ~34%.
        await saveCalibration(store.db, {
          configVersion: config.version,
          fittedAt: new Date("2026-10-30T08:00:00Z"),
          horizonDays: 90,
          model: { method: "isotonic", xs: [40, 70], ps: [0.1, 0.34] },
          period: { from: "2026-01-01", to: "2026-07-31", everyDays: 7 },
          observations: 500,
          conversions: 60,
          ece: 0.02,
          brier: 0.09,
        });
        try {
          expect((await post()).posted).toBe(decisions.length);
          const posts = fake.callsTo("chat.postMessage");
          expect(posts).toHaveLength(decisions.length);
          for (const call of posts)
            expect(JSON.stringify(call.body.blocks)).toMatch(
              /Score \d+ \(hot\) · ~34% likely to convert in 90 days \(calibrated 2026-10-30\) · PQR/,
            );
          // The message replaced after a claim keeps it.
          const url = await serve();
          const alert = alerts()[0] as Alert;
          expect((await claim(url, SMB_REPS[0]?.slackUserId as string, alert)).status).toBe(200);
          await until(() => fake.callsTo("chat.update").length === 1, "the message update");
          const shown = JSON.stringify(fake.callsTo("chat.update")[0]?.body.blocks);
          expect(shown).toContain("Claimed by");
          expect(shown).toContain("~34% likely to convert in 90 days (calibrated 2026-10-30)");
        } finally {
          await store.db.sql.exec("DELETE FROM cycle_runs WHERE kind = 'calibrate'");
        }
      });

      it("a claim is acked, recorded once, and replaces the message for everyone", async () => {
        await post();
        const url = await serve();
        const alert = alerts()[0] as Alert;
        const rep = SMB_REPS[0] as (typeof SMB_REPS)[number];
        const answer = await claim(url, rep.slackUserId, alert);
        expect(answer.status).toBe(200);
        await until(() => fake.callsTo("chat.update").length === 1, "the message update");
        const update = fake.callsTo("chat.update")[0]?.body as {
          ts: string;
          channel: string;
          blocks: unknown[];
        };
        expect(update).toMatchObject({ ts: alert.message.ts, channel: alert.message.channel });
        const shown = JSON.stringify(update.blocks);
        expect(shown).toContain(`Claimed by <@${rep.slackUserId}>`);
        expect(shown).toMatch(/1 min after routing/);
        expect(shown).not.toContain("pql_claim");
        expect(await decision(alert.decisionId)).toMatchObject({ status: "claimed" });
        const { rows } = await store.db.sql.query<{ rep_id: string }>(
          "SELECT rep_id FROM claims WHERE decision_id = $1",
          [alert.decisionId],
        );
        expect(rows).toEqual([{ rep_id: rep.id }]);
        expect(fake.ephemerals).toHaveLength(0);
      });

      it("20 reps claiming at once: exactly one winner, one message update, 19 ephemerals naming the winner", async () => {
        await post();
        const url = await serve();
        const alert = alerts()[1] as Alert;
        const answers = await Promise.all(SMB_REPS.map((r) => claim(url, r.slackUserId, alert)));
        expect(answers.map((a) => a.status)).toEqual(SMB_REPS.map(() => 200));
        await until(
          () => fake.ephemerals.length === 19 && fake.callsTo("chat.update").length >= 1,
          "19 ephemerals",
        );
        const { rows } = await store.db.sql.query<{ rep_id: string; slack_user_id: string }>(
          "SELECT rep_id, slack_user_id FROM claims WHERE decision_id = $1",
          [alert.decisionId],
        );
        expect(rows).toHaveLength(1);
        const winner = rows[0]?.slack_user_id as string;
        expect(fake.callsTo("chat.update")).toHaveLength(1);
        expect(new Set(fake.ephemerals.map((e) => e.user))).toEqual(
          new Set(SMB_REPS.map((r) => r.slackUserId).filter((u) => u !== winner)),
        );
        for (const e of fake.ephemerals) expect(e.text).toContain(`Already claimed by <@${winner}>`);
        const feedback = await store.db.sql.query(
          "SELECT 1 FROM routing_feedback WHERE decision_id = $1 AND kind = 'claim'",
          [alert.decisionId],
        );
        expect(feedback.rows).toHaveLength(1);
      });

      it("refuses people who are neither reps of the pool nor managers; a manager may claim", async () => {
        await post();
        const url = await serve();
        const alert = alerts()[0] as Alert;
        expect((await claim(url, OUTSIDER, alert)).status).toBe(200);
        await until(() => fake.ephemerals.length === 1, "the refusal");
        expect(fake.ephemerals[0]).toMatchObject({ user: OUTSIDER });
        expect(fake.ephemerals[0]?.text).toMatch(/Only reps of the .* pool and managers/);
        expect(await decision(alert.decisionId)).toMatchObject({ status: "open" });
        expect(fake.callsTo("chat.update")).toHaveLength(0);
        expect((await claim(url, MANAGER.slackUserId, alert)).status).toBe(200);
        await until(() => fake.callsTo("chat.update").length === 1, "the manager's claim");
        expect(await decision(alert.decisionId)).toMatchObject({ status: "claimed" });
      });

      it("answers 401 to a bad signature or a stale timestamp, and changes nothing", async () => {
        await post();
        const url = await serve();
        const alert = alerts()[0] as Alert;
        const body = blockActionBody({
          userId: SMB_REPS[0]?.slackUserId as string,
          channelId: alert.message.channel,
          messageTs: alert.message.ts,
          actionId: "pql_claim",
          value: alert.decisionId,
        });
        expect(
          (await postSigned(url, body, { signingSecret: SIGNING_SECRET, badSignature: true })).status,
        ).toBe(401);
        expect((await postSigned(url, body, { signingSecret: "another-secret" })).status).toBe(401);
        const stale = Math.floor(Date.now() / 1000) - 6 * 60;
        expect(
          (await postSigned(url, body, { signingSecret: SIGNING_SECRET, timestampSeconds: stale })).status,
        ).toBe(401);
        await new Promise((r) => setTimeout(r, 100));
        expect(await decision(alert.decisionId)).toMatchObject({ status: "open" });
        expect(fake.callsTo("chat.update")).toHaveLength(0);
        expect(fake.ephemerals).toHaveLength(0);
      });

      it("processes a retried delivery (X-Slack-Retry-Num) and a double click once", async () => {
        await post();
        const url = await serve();
        const alert = alerts()[0] as Alert;
        const rep = SMB_REPS[2] as (typeof SMB_REPS)[number];
        expect((await claim(url, rep.slackUserId, alert)).status).toBe(200);
        await until(() => fake.callsTo("chat.update").length === 1, "the first update");
        expect((await claim(url, rep.slackUserId, alert, { retryNum: 1 })).status).toBe(200);
        expect((await claim(url, rep.slackUserId, alert)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 200));
        expect(fake.callsTo("chat.update")).toHaveLength(1);
        expect(fake.ephemerals).toHaveLength(0);
        const claims = await store.db.sql.query("SELECT 1 FROM claims WHERE decision_id = $1", [
          alert.decisionId,
        ]);
        expect(claims.rows).toHaveLength(1);
      });

      it("snoozes an account until its date, then posts it again", async () => {
        await post();
        const url = await serve();
        const alert = alerts()[0] as Alert;
        const rep = SMB_REPS[3] as (typeof SMB_REPS)[number];
        expect(
          (
            await click(url, rep.slackUserId, alert, "pql_snooze", {
              selectedValue: `${alert.decisionId}:1d`,
            })
          ).status,
        ).toBe(200);
        await until(() => fake.callsTo("chat.update").length === 1, "the snoozed message");
        expect(JSON.stringify(fake.callsTo("chat.update")[0]?.body.blocks)).toContain(
          `Snoozed by <@${rep.slackUserId}>`,
        );
        expect(await decision(alert.decisionId)).toMatchObject({ status: "snoozed" });
        // Not yet: a day has not passed.
        clock.advance(23 * 3_600_000);
        const early = await post(config, { maxAgeHours: 24 * 30 });
        expect(early.resurfaced).toBe(0);
        clock.advance(2 * 3_600_000);
        const before = alerts().filter((a) => a.decisionId === alert.decisionId).length;
        const later = await post(config, { maxAgeHours: 24 * 30 });
        expect(later.resurfaced).toBe(1);
        expect(await decision(alert.decisionId)).toMatchObject({ status: "open" });
        const again = alerts().filter((a) => a.decisionId === alert.decisionId);
        expect(again).toHaveLength(before + 1);
        expect(again.at(-1)?.message.metadata?.event_payload.key).toBe(`alert:${alert.decisionId}:1`);
      });

      it("marks an account not a fit with its reason and updates the message", async () => {
        await post();
        const url = await serve();
        const alert = alerts()[0] as Alert;
        const rep = SMB_REPS[4] as (typeof SMB_REPS)[number];
        await click(url, rep.slackUserId, alert, "pql_not_a_fit", {
          selectedValue: `${alert.decisionId}:competitor`,
        });
        await until(() => fake.callsTo("chat.update").length === 1, "the not-a-fit message");
        expect(JSON.stringify(fake.callsTo("chat.update")[0]?.body.blocks)).toContain(
          "Not a fit (Competitor)",
        );
        expect(await decision(alert.decisionId)).toMatchObject({ status: "not_a_fit" });
        const { rows } = await store.db.sql.query<{ reason: string; person_id: string }>(
          "SELECT reason, person_id FROM routing_feedback WHERE decision_id = $1 AND kind = 'not_a_fit'",
          [alert.decisionId],
        );
        expect(rows).toEqual([{ reason: "competitor", person_id: rep.id }]);
      });

      it("escalates accounts unclaimed past the SLA: next rep by round robin, the lead mentioned in a thread reply", async () => {
        await post();
        const open = alerts();
        const before = new Map(
          await Promise.all(open.map(async (a) => [a.decisionId, await assigneeOf(a.decisionId)] as const)),
        );
        clock.advance(3 * 3_600_000);
        expect((await post()).escalated).toBe(0);
        clock.advance(2 * 3_600_000);
        const result = await post(config, { maxAgeHours: 24 * 30 });
        expect(result.escalated).toBe(open.length);
        const replies = fake.messages().filter((m) => m.thread_ts);
        expect(replies).toHaveLength(open.length);
        for (const a of open) {
          const now = await decision(a.decisionId);
          expect(now?.escalations).toBe(1);
          expect(now?.rep_id).not.toBe(before.get(a.decisionId));
          const reply = replies.find((m) => m.thread_ts === a.message.ts);
          expect(reply?.text).toContain(`<@${slackIdOf(now?.rep_id ?? null)}>`);
          expect(reply?.text).toContain(`<@${MANAGER.slackUserId}>`);
        }
        expect(result.updated).toBe(open.length);
        // The SLA clock restarted: nothing more to escalate right away.
        expect((await post(config, { maxAgeHours: 24 * 30 })).escalated).toBe(0);
        const accountId = (
          await store.db.sql.query<{ account_id: string }>(
            "SELECT account_id FROM routing_decisions WHERE id = $1",
            [open[0]?.decisionId],
          )
        ).rows[0]?.account_id as string;
        const explained = await explainRouting(store, accountId);
        expect(explained?.routings[0]?.events.map((e) => e.kind)).toEqual(["escalation"]);
      });

      it("retries a post rate-limited by Slack after its Retry-After", async () => {
        fake.script("chat.postMessage", { retryAfter: 1 });
        const result = await post();
        expect(result).toMatchObject({ rateLimited: 1, posted: decisions.length, pending: 0 });
        const first = fake.callsTo("chat.postMessage")[0];
        expect(first?.status).toBe(429);
        // The retry went to the same channel no sooner than Retry-After said.
        const retry = fake
          .callsTo("chat.postMessage")
          .filter((c) => c.body.channel === first?.body.channel)[1];
        expect(retry?.status).toBe(200);
        expect((retry?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
      });

      it("leaves everything pending when Slack is down, and posts it next time", async () => {
        // Unreachable: nothing listens there.
        const unreachable = createSlackApi({
          token: SLACK_TOKEN,
          apiUrl: "http://127.0.0.1:1/api/",
          log: silent,
        });
        const down = await postToSlack(ctx(), unreachable, { postIntervalMs: 0 });
        expect(down).toMatchObject({ posted: 0, pending: decisions.length });
        expect(down.stoppedBy).toMatch(/could not be reached/);
        // A 503 stops a run the same way.
        fake.script("chat.postMessage", { status: 503 });
        const failing = await post();
        expect(failing.stoppedBy).toMatch(/HTTP 503/);
        expect(failing.pending).toBe(decisions.length - failing.posted);
        const up = await post();
        expect(up).toMatchObject({ posted: decisions.length - failing.posted, pending: 0 });
        expect(alerts()).toHaveLength(decisions.length);
      });

      it("finds a post whose answer was lost instead of posting it twice", async () => {
        fake.script("chat.postMessage", { dropAfterStore: true });
        const first = await post();
        expect(first.stoppedBy).not.toBeNull();
        // Slack stored one more message than the run could record (channels post in parallel).
        expect(fake.messages()).toHaveLength(first.posted + 1);
        const second = await post();
        expect(second).toMatchObject({
          recovered: 1,
          posted: decisions.length - first.posted - 1,
          pending: 0,
        });
        expect(alerts()).toHaveLength(decisions.length);
        expect(new Set(alerts().map((a) => a.decisionId)).size).toBe(decisions.length);
        // The channel is configured by name: its id is looked up once, then its history read once.
        expect(fake.callsTo("conversations.list")).toHaveLength(1);
        expect(fake.callsTo("conversations.history")).toHaveLength(1);
      });

      it("answers /pql with an ephemeral summary of the account", async () => {
        await post();
        const url = await serve();
        const { rows } = await store.db.sql.query<{ domain: string; name: string }>(
          "SELECT a.domain, a.name FROM routing_decisions d JOIN accounts a ON a.id = d.account_id ORDER BY d.id LIMIT 1",
        );
        const answer = await postSigned(
          url,
          slashCommandBody({
            userId: SMB_REPS[0]?.slackUserId as string,
            channelId: "C0HOT0001",
            text: rows[0]?.domain as string,
            responseUrl: fake.responseUrl("pql-1"),
          }),
          { signingSecret: SIGNING_SECRET },
        );
        // Acked at once (nothing shown), answered privately through the response URL.
        expect(answer.status).toBe(200);
        expect(answer.body).toBe("");
        await until(() => fake.responses.length === 1, "the /pql answer");
        const body = fake.responses[0]?.body as { response_type: string; blocks: unknown[] };
        expect(fake.responses[0]?.id).toBe("pql-1");
        expect(body.response_type).toBe("ephemeral");
        expect(JSON.stringify(body.blocks)).toContain(rows[0]?.name as string);
        expect(JSON.stringify(body.blocks)).toMatch(/Score \d/);
        await postSigned(
          url,
          slashCommandBody({
            userId: OUTSIDER,
            channelId: "C0HOT0001",
            text: "no-such.example",
            responseUrl: fake.responseUrl("pql-2"),
          }),
          { signingSecret: SIGNING_SECRET },
        );
        await until(() => fake.responses.length === 2, "the second /pql answer");
        expect(String(fake.responses[1]?.body.text)).toContain("No account matches");
      });

      it("a claim while HubSpot answers 503 is acked and kept; the next sync makes the claimer the owner", async () => {
        const hub = new FakeHubSpot({ token: "pat-test" });
        const http = createHubSpotHttp({
          accessToken: "pat-test",
          baseUrl: await hub.start(),
          limits: { perTenSeconds: 100, daily: 250_000, searchPerSecond: 5, maxRetries: 0 },
        });
        try {
          // Every rep is a HubSpot owner (found by email): tasks are created with the assignee's.
          const owners = new Map(config.config.routing.reps.map((r) => [r.id, hub.addOwner(r.email)]));
          await setupProperties(http);
          const first = await syncHubSpot(ctx(), http);
          expect(first.tasksCreated).toBeGreaterThan(0);
          await post();
          const url = await serve();
          const { rows } = await store.db.sql.query<{ id: string; task: string; account_id: string }>(
            "SELECT id::text, hubspot_task_id AS task, account_id FROM routing_decisions WHERE hubspot_task_id IS NOT NULL ORDER BY id LIMIT 1",
          );
          const target = alerts().find((a) => a.decisionId === rows[0]?.id) as Alert;
          const assignee = await assigneeOf(target.decisionId);
          expect(hub.tasks.get(rows[0]?.task as string)?.properties.hubspot_owner_id).toBe(
            owners.get(assignee ?? ""),
          );
          hub.script({ method: "POST", path: /batch\/update/ }, { status: 503 });
          // Someone other than the assignee claims it.
          const rep = SMB_REPS.find((r) => r.id !== assignee) as (typeof SMB_REPS)[number];
          const owner = owners.get(rep.id);
          const acked = await claim(url, rep.slackUserId, target);
          expect(acked.status).toBe(200);
          expect(acked.ms).toBeLessThan(3000);
          await until(async () => (await decision(target.decisionId))?.status === "claimed", "the claim");
          const down = await syncHubSpot(ctx(), http);
          expect(down.stoppedBy).not.toBeNull();
          const up = await syncHubSpot(ctx(), http);
          expect(up.stoppedBy).toBeNull();
          expect(up.tasksReassigned).toBe(1);
          expect(hub.tasks.get(rows[0]?.task as string)?.properties.hubspot_owner_id).toBe(owner);
          const company = [...hub.companies.values()].find(
            (c) => c.properties.pql_account_id === rows[0]?.account_id,
          );
          expect(company?.properties).toMatchObject({
            hubspot_owner_id: owner,
            pql_claimed_by: `Rep ${rep.id}`,
          });
          expect(company?.properties.pql_claimed_at).toBeTruthy();
          expect(company?.properties.pql_time_to_claim_hours).toBe("0");
        } finally {
          await hub.stop();
        }
      });

      it("finds an escalation reply whose answer was lost in the thread, instead of replying twice", async () => {
        await post();
        clock.advance(5 * 3_600_000);
        fake.script("chat.postMessage", { dropAfterStore: true });
        const first = await post();
        expect(first.escalated).toBe(decisions.length);
        const second = await post();
        expect(second.recovered).toBe(1);
        const replies = fake.messages().filter((m) => m.thread_ts);
        expect(replies).toHaveLength(decisions.length);
        expect(new Set(replies.map((m) => m.metadata?.event_payload.key)).size).toBe(decisions.length);
        expect(fake.callsTo("conversations.replies").length).toBeGreaterThanOrEqual(1);
      });

      it("drops an escalation reply still queued when the account is claimed before it goes out", async () => {
        await post();
        const url = await serve();
        clock.advance(5 * 3_600_000);
        // Slack down: the escalations are recorded, their replies stay queued.
        const unreachable = createSlackApi({
          token: SLACK_TOKEN,
          apiUrl: "http://127.0.0.1:1/api/",
          log: silent,
        });
        expect((await postToSlack(ctx(), unreachable, { postIntervalMs: 0 })).escalated).toBe(
          decisions.length,
        );
        const alert = alerts()[0] as Alert;
        expect((await claim(url, MANAGER.slackUserId, alert)).status).toBe(200);
        await until(async () => (await decision(alert.decisionId))?.status === "claimed", "the claim");
        await post();
        const replies = fake.messages().filter((m) => m.thread_ts);
        expect(replies).toHaveLength(decisions.length - 1);
        expect(replies.some((m) => m.thread_ts === alert.message.ts)).toBe(false);
      });

      it("a message update clears its flag only for the state it showed", async () => {
        await post();
        const alert = alerts()[0] as Alert;
        const id = BigInt(alert.decisionId);
        const [before] = await decisionsById(store.db, [id]);
        // A change lands after the job read the row and before it marked the update done.
        await claimRouting(ctx(), id, { slackUserId: MANAGER.slackUserId });
        await markUpdated(store.db, [{ id, version: before?.stateVersion ?? 0 }]);
        const [after] = await decisionsById(store.db, [id]);
        expect(after?.status).toBe("claimed");
        const { rows } = await store.db.sql.query<{ due: boolean }>(
          "SELECT slack_update_due AS due FROM routing_decisions WHERE id = $1",
          [alert.decisionId],
        );
        expect(rows[0]?.due).toBe(true);
        // The next job shows the claim.
        expect((await post()).updated).toBe(1);
        expect(JSON.stringify(fake.callsTo("chat.update").at(-1)?.body.blocks)).toContain("Claimed by");
      });

      it("a snooze of a week brings the account back after a week", async () => {
        await post();
        const alert = alerts()[0] as Alert;
        const outcome = await snoozeRouting(
          ctx(),
          BigInt(alert.decisionId),
          { slackUserId: MANAGER.slackUserId },
          { until: new Date(clock.now() + 7 * 86_400_000), option: "7d" },
        );
        expect(outcome.kind).toBe("done");
        clock.advance(7 * 86_400_000 + 60_000);
        const result = await post();
        expect(result.resurfaced).toBe(1);
        const again = alerts().filter((a) => a.decisionId === alert.decisionId);
        expect(again.map((a) => a.message.metadata?.event_payload.key)).toEqual([
          `alert:${alert.decisionId}:0`,
          `alert:${alert.decisionId}:1`,
        ]);
      });

      it("routings never assigned within slack.maxAgeHours expire: nobody gets them, they hold no capacity", async () => {
        clock.set(new Date(END.getTime() + 73 * 3_600_000));
        const result = await post();
        expect(result).toMatchObject({ expired: decisions.length, assigned: 0, posted: 0, pending: 0 });
        const { rows } = await store.db.sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM routing_decisions WHERE status = 'expired' AND rep_id IS NULL",
        );
        expect(rows[0]?.n).toBe(decisions.length);
        expect((await readStatus(store.db)).slack.pending).toBe(0);
      });

      it("starts the SLA clock when the message is shown, not when Slack was down", async () => {
        const unreachable = createSlackApi({
          token: SLACK_TOKEN,
          apiUrl: "http://127.0.0.1:1/api/",
          log: silent,
        });
        await postToSlack(ctx(), unreachable, { postIntervalMs: 0 });
        clock.advance(5 * 3_600_000);
        const shown = await post();
        expect(shown).toMatchObject({ posted: decisions.length, escalated: 0 });
        clock.advance(3 * 3_600_000);
        expect((await post()).escalated).toBe(0);
        clock.advance(2 * 3_600_000);
        expect((await post()).escalated).toBe(decisions.length);
      });

      it("a channel Slack refuses is retried, and a fixed config posts to the new channel", async () => {
        const typo = writeConfig(
          tempDir(),
          slackConfig((c) => {
            c.slack.channels = { hot: "#pql-typo", pools: {} };
          }),
        );
        const refused = await post(typo);
        expect(refused).toMatchObject({ posted: 0, failed: decisions.length, pending: decisions.length });
        expect(refused.failures[0]?.reason).toContain("channel_not_found");
        const fixed = writeConfig(
          tempDir(),
          slackConfig((c) => {
            c.slack.channels = { hot: "#pql-hot", pools: {} };
          }),
        );
        const result = await post(fixed);
        expect(result).toMatchObject({ posted: decisions.length, failed: 0, pending: 0 });
        expect(new Set(fake.messages().map((m) => m.channel))).toEqual(new Set(["C0HOT0001"]));
      });

      it("a message Slack no longer has is given up; the other updates go on", async () => {
        await post();
        for (const a of alerts().slice(0, 2))
          await claimRouting(ctx(), BigInt(a.decisionId), { slackUserId: MANAGER.slackUserId });
        fake.script("chat.update", { error: "message_not_found" });
        const result = await post();
        expect(result).toMatchObject({ updated: 1, failed: 1, stoppedBy: null });
        expect((await post()).updated).toBe(0);
      });

      it("digest mode: one message listing unclaimed accounts oldest first, each with a Claim button", async () => {
        const digest = writeConfig(
          tempDir(),
          slackConfig((c) => {
            c.slack.channels.hot = { channel: "#pql-digest", mode: "digest", digestCron: "0 9 * * *" };
            c.slack.channels.pools = {};
          }),
        );
        clock.set(new Date("2026-11-01T09:30:00Z"));
        const result = await post(digest);
        expect(result.posted).toBe(1);
        const [message] = fake.messages();
        expect(message?.channel).toBe("C0DIG0001");
        expect(message?.blocks.length).toBeLessThanOrEqual(50);
        const shown = JSON.stringify(message?.blocks);
        for (const d of decisions) expect(shown).toContain(`"value":"${d.id}"`);
        expect((await post(digest)).posted).toBe(0); // once per digest time
        // The next day's digest lists them again (still unclaimed; past the SLA they are also escalated).
        clock.set(new Date("2026-11-02T09:00:00Z"));
        await post(digest, { maxAgeHours: 24 * 30 });
        const digests = fake
          .messages()
          .filter((m) => String(m.metadata?.event_payload.key).startsWith("digest:"));
        expect(digests.map((m) => m.metadata?.event_payload.key)).toEqual([
          "digest:#pql-digest:enterprise,mid-market,smb:2026-11-01T09:00:00.000Z",
          "digest:#pql-digest:enterprise,mid-market,smb:2026-11-02T09:00:00.000Z",
        ]);
      });

      it("shadow mode: everything goes to the shadow channel, nobody is mentioned, HubSpot gets nothing", async () => {
        const shadow = writeConfig(
          tempDir(),
          slackConfig((c) => {
            c.slack.shadow = { channel: "#pql-shadow" };
          }),
        );
        const result = await post(shadow);
        expect(result.posted).toBe(decisions.length);
        expect(new Set(fake.messages().map((m) => m.channel))).toEqual(new Set(["C0SHA0001"]));
        for (const c of fake.callsTo("chat.postMessage")) {
          expect(JSON.stringify(c.body)).not.toContain("<@");
          expect(JSON.stringify(c.body.blocks)).toContain("Shadow mode");
        }
        const hub = new FakeHubSpot({ token: "pat-test" });
        const http = createHubSpotHttp({
          accessToken: "pat-test",
          baseUrl: await hub.start(),
          limits: { perTenSeconds: 100, daily: 250_000, searchPerSecond: 5, maxRetries: 0 },
        });
        try {
          // RevOps claims one in the shadow channel; nothing reaches HubSpot.
          const shadowed = alerts()[0] as Alert;
          await claimRouting(ctx(shadow), BigInt(shadowed.decisionId), { slackUserId: MANAGER.slackUserId });
          const sync = await syncHubSpot(ctx(shadow), http);
          expect(sync.skipped).toMatch(/shadow mode/);
          expect(hub.requests).toHaveLength(0);
          // Shadow mode off: shadow routings still make no task, and their claims no owner or "claimed by".
          await setupProperties(http);
          hub.addOwner("maya@example.com");
          const live = await syncHubSpot(ctx(), http);
          expect(live.stoppedBy).toBeNull();
          expect(live.tasksCreated).toBe(0);
          expect(hub.tasks.size).toBe(0);
          const { rows } = await store.db.sql.query<{ account_id: string }>(
            "SELECT account_id FROM routing_decisions WHERE id = $1",
            [shadowed.decisionId],
          );
          const company = [...hub.companies.values()].find(
            (c) => c.properties.pql_account_id === rows[0]?.account_id,
          );
          expect(company).toBeDefined();
          expect(company?.properties.pql_claimed_by ?? "").toBe("");
          expect(company?.properties.hubspot_owner_id ?? null).toBeNull();
        } finally {
          await hub.stop();
        }
      });

      it("an owner HubSpot refuses does not block the scores, and is not sent again", async () => {
        const bad = writeConfig(
          tempDir(),
          slackConfig((c) => {
            for (const r of c.routing.reps) r.hubspotOwnerId = "999999";
          }),
        );
        const hub = new FakeHubSpot({ token: "pat-test" });
        const http = createHubSpotHttp({
          accessToken: "pat-test",
          baseUrl: await hub.start(),
          limits: { perTenSeconds: 100, daily: 250_000, searchPerSecond: 5, maxRetries: 0 },
        });
        try {
          await setupProperties(http);
          await post(bad);
          const alert = alerts()[0] as Alert;
          await claimRouting(ctx(bad), BigInt(alert.decisionId), {
            slackUserId: SMB_REPS[0]?.slackUserId as string,
          });
          const first = await syncHubSpot(ctx(bad), http);
          expect(first.companyOwnersWritten).toBe(0);
          const { rows } = await store.db.sql.query<{ account_id: string }>(
            "SELECT account_id FROM routing_decisions WHERE id = $1",
            [alert.decisionId],
          );
          expect(
            first.failures.some((f) => f.accountId === rows[0]?.account_id && f.what === "company"),
          ).toBe(true);
          const company = [...hub.companies.values()].find(
            (c) => c.properties.pql_account_id === rows[0]?.account_id,
          );
          expect(company?.properties.pql_claimed_by).toBe(`Rep ${SMB_REPS[0]?.id}`);
          const updates = hub.callCount({ method: "POST", path: /companies\/batch\/update/ });
          const again = await syncHubSpot(ctx(bad), http);
          expect(again.failures).toEqual([]);
          expect(hub.callCount({ method: "POST", path: /companies\/batch\/update/ })).toBe(updates);
        } finally {
          await hub.stop();
        }
      });
    },
  );
}
