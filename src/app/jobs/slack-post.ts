import { CronExpressionParser } from "cron-parser";
import { IntegrationError, SlackRateLimited } from "../../errors.ts";
import { alertMessage, digestMessage, type SlackMessage } from "../../integrations/slack/blocks.ts";
import {
  alertView,
  type ChannelPlan,
  channelPlans,
  digestItem,
  members,
  mentionOf,
} from "../../integrations/slack/routing-views.ts";
import type { SlackApi } from "../../integrations/slack/slack-api.ts";
import { escalate } from "../../routing/assign-rep.ts";
import { finishCycleRun, startCycleRun } from "../../store/cycle-store.ts";
import { withJobLock } from "../../store/job-lock.ts";
import { readRotations, repLoads, writeRotations } from "../../store/routing-store.ts";
import {
  abandonIntent,
  alertCount,
  cacheChannelId,
  cachedChannelId,
  channelIds,
  type DecisionRow,
  decisionsById,
  decisionsToEscalate,
  decisionsToPost,
  decisionsToUpdate,
  markAttempt,
  markUpdated,
  openDecisions,
  postByMessage,
  postedKeys,
  recordIntent,
  recordPostError,
  recordPosted,
  type SlackPostRow,
  unpostedIntents,
} from "../../store/slack-store.ts";
import type { JobContext } from "../runtime.ts";
import { assignRoutings } from "./assign-routings.ts";

export interface SlackPostResult {
  /** Messages posted this run (alerts, escalation replies, digests). */
  posted: number;
  /** Messages replaced to show a claim, snooze, not-a-fit, escalation or a newer routing. */
  updated: number;
  /** Routings escalated by the SLA this run. */
  escalated: number;
  /** Messages still to post after this run (Slack down or rate-limited, or left for the next run). */
  pending: number;
  /** 429 answers received (each waited out per Retry-After, or left pending when too long). */
  rateLimited: number;
  /** Messages Slack refused (e.g. channel_not_found): recorded, tried again next run. */
  failed: number;
  /** Posts found in the channel after an interrupted run (recorded, not posted again). */
  recovered: number;
  /** Snoozes that ended: their accounts are posted again. */
  resurfaced: number;
  /** Routings given a rep this run, and those nobody was eligible for. */
  assigned: number;
  unassigned: number;
  failures: { key: string; reason: string }[];
  /** Set when Slack could not be reached: the rest stays pending. */
  stoppedBy: string | null;
  durationMs: number;
}

export interface SlackPostOptions {
  /** Least time between two posts to one channel (Slack allows about 1 per second). */
  postIntervalMs?: number;
  /** A Retry-After longer than this leaves the channel's posts for the next run. */
  maxRetryAfterSeconds?: number;
  /** Routings older than this when first seen are not posted (e.g. made before Slack was connected). */
  maxAgeHours?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Posts everything due to Slack: new routings (one message each, or in digests), SLA
 * escalations, accounts whose snooze ended, and replacements of messages whose state changed.
 * Exactly once per message: each post is an intent recorded (and its attempt counted) before the
 * call, carrying its key in the message metadata; an attempted intent without a ts is looked for
 * in the channel's history before it is posted again. At most one post per second per channel,
 * channels in parallel, Retry-After honoured. Slack being down stops this job only: everything
 * stays pending in the database. The CLI (`slack post`) and the worker call it.
 */
export function postToSlack(
  rt: JobContext,
  slack: SlackApi,
  options: SlackPostOptions = {},
): Promise<SlackPostResult> {
  return withJobLock(rt.db, "Slack posting", () => postLocked(rt, slack, options));
}

async function postLocked(
  rt: JobContext,
  slack: SlackApi,
  options: SlackPostOptions,
): Promise<SlackPostResult> {
  const { db, clock } = rt;
  const config = rt.config.config;
  const started = clock.now();
  const now = new Date(started);
  const runId = await startCycleRun(db, "slack", now);
  const result: SlackPostResult = {
    posted: 0,
    updated: 0,
    escalated: 0,
    pending: 0,
    rateLimited: 0,
    failed: 0,
    recovered: 0,
    resurfaced: 0,
    assigned: 0,
    unassigned: 0,
    failures: [],
    stoppedBy: null,
    durationMs: 0,
  };
  const since = new Date(started - (options.maxAgeHours ?? 72) * 3_600_000);
  let failure: unknown;
  try {
    const assigned = await assignRoutings(rt, now);
    result.assigned = assigned.assigned;
    result.unassigned = assigned.unassigned;
    result.resurfaced = await resurfaceSnoozed(rt, now);
    result.escalated = await escalateOverdue(rt, now);
    const plans = channelPlans(config);
    await queueAlerts(rt, plans, since, now);
    await queueDigests(rt, plans, since, now);
    await postIntents(rt, slack, options, result);
    if (!result.stoppedBy) await updateMessages(rt, slack, result);
  } catch (error) {
    if (!(error instanceof IntegrationError) || error.code === "slack_auth") failure = error;
    else {
      result.stoppedBy = error.message;
      rt.log.warn({ err: error.message }, "Slack posting stopped early; pending messages stay queued");
    }
  }
  result.pending = await pendingCount(rt, since);
  result.durationMs = clock.now() - started;
  await finishCycleRun(db, runId, {
    status: failure ? "failed" : result.stoppedBy ? "partial" : "ok",
    endedAt: new Date(clock.now()),
    stats: { ...result, failures: result.failures.slice(0, 100) },
    errors: failure
      ? [{ message: (failure as Error).message }]
      : result.stoppedBy
        ? [{ message: result.stoppedBy }]
        : [],
  });
  if (failure) throw failure;
  return result;
}

/** Snoozes that ended: the account is open again, its SLA clock restarts, and it is posted anew. */
async function resurfaceSnoozed(rt: JobContext, now: Date): Promise<number> {
  return rt.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; account_id: string }>(
      `UPDATE routing_decisions SET status = 'open', snoozed_until = NULL, slack_channel = NULL, slack_ts = NULL,
        slack_update_due = false, assigned_at = $1
      WHERE status = 'snoozed' AND snoozed_until <= $1 RETURNING id::text, account_id`,
      [now.toISOString()],
    );
    if (rows.length > 0) {
      await tx.query(
        `INSERT INTO routing_feedback (decision_id, account_id, kind, at)
        SELECT r.id, r.account_id, 'resurface', $2 FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, account_id text)`,
        [JSON.stringify(rows), now.toISOString()],
      );
    }
    return rows.length;
  });
}

/** SLA: posted routings still unclaimed after `claimWithinHours` are escalated (recorded, replied to in thread). */
async function escalateOverdue(rt: JobContext, now: Date): Promise<number> {
  const config = rt.config.config;
  const sla = config.routing.sla;
  if (!sla) return 0;
  const due = await decisionsToEscalate(
    rt.db,
    new Date(now.getTime() - sla.claimWithinHours * 3_600_000),
    sla.maxEscalations,
  );
  if (due.length === 0) return 0;
  const all = members(config);
  const mention = config.slack.shadow === undefined;
  await rt.db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [7_243_190_520]);
    const loads = await repLoads(tx, new Date(now.toISOString().slice(0, 10)));
    const rotations = await readRotations(tx);
    const changed = new Map<string, Record<string, number>>();
    for (const d of due) {
      const { rows: before } = await tx.query<{ rep: string }>(
        "SELECT DISTINCT details->>'from' AS rep FROM routing_feedback WHERE decision_id = $1 AND kind = 'escalation' AND details->>'from' IS NOT NULL",
        [String(d.id)],
      );
      const plan = escalate(
        {
          pool: d.pool,
          currentRepId: d.repId,
          previousRepIds: before.map((r) => r.rep),
          loads,
          rotation: rotations.get(d.pool) ?? {},
          now,
        },
        config,
      );
      if (plan.repId) {
        rotations.set(d.pool, plan.rotation);
        changed.set(d.pool, plan.rotation);
        const load = loads.get(plan.repId) ?? { open: 0, alertsToday: 0 };
        loads.set(plan.repId, { open: load.open + 1, alertsToday: load.alertsToday + 1 });
        if (d.repId) {
          const old = loads.get(d.repId);
          if (old) loads.set(d.repId, { ...old, open: Math.max(0, old.open - 1) });
        }
      }
      const n = d.escalations + 1;
      await tx.query(
        `UPDATE routing_decisions SET escalations = $2, assigned_at = $3, slack_update_due = true,
          rep_id = COALESCE($4, rep_id) WHERE id = $1`,
        [String(d.id), n, now.toISOString(), plan.repId],
      );
      await tx.query(
        `INSERT INTO routing_feedback (decision_id, account_id, kind, reason, details, at)
        VALUES ($1, $2, 'escalation', $3, $4, $5)`,
        [
          String(d.id),
          d.accountId,
          plan.reason,
          JSON.stringify({ n, from: d.repId, to: plan.repId, lead: plan.leadId, skipped: plan.skipped }),
          now.toISOString(),
        ],
      );
      const who = [plan.repId, plan.leadId].flatMap((id) => {
        const m = id ? all.get(id) : undefined;
        return m ? [mentionOf(m, mention)] : [];
      });
      const hours =
        Math.round(((now.getTime() - (d.assignedAt ?? d.decidedAt).getTime()) / 3_600_000) * 10) / 10;
      const text = `Still unclaimed after ${hours} h (escalation ${n} of ${sla.maxEscalations}): ${plan.reason}.${who.length ? ` ${who.join(" ")} please take a look.` : ""}`;
      await recordIntent(
        tx,
        {
          key: `escalation:${d.id}:${n}`,
          kind: "escalation",
          decisionId: d.id,
          channel: d.slackChannel ?? "",
          threadTs: d.slackTs,
          payload: { mention: [text] },
        },
        now,
      );
    }
    await writeRotations(tx, changed, now);
  });
  return due.length;
}

/** An intent for each open, assigned routing of an instant channel that has no message yet. */
async function queueAlerts(rt: JobContext, plans: ChannelPlan[], since: Date, now: Date): Promise<void> {
  for (const plan of plans.filter((p) => p.mode === "instant")) {
    for (const d of await decisionsToPost(rt.db, plan.pools, since)) {
      const n = await alertCount(rt.db, d.id);
      await recordIntent(
        rt.db,
        { key: `alert:${d.id}:${n}`, kind: "alert", decisionId: d.id, channel: plan.channel },
        now,
      );
    }
  }
}

/** The latest digest time at or before `now` for each digest channel: one digest intent per time. */
async function queueDigests(rt: JobContext, plans: ChannelPlan[], since: Date, now: Date): Promise<void> {
  const config = rt.config.config;
  for (const plan of plans.filter((p) => p.mode === "digest" && p.digestCron)) {
    const fire = CronExpressionParser.parse(plan.digestCron as string, {
      currentDate: new Date(now.getTime() + 1),
      tz: config.schedule.timezone,
    })
      .prev()
      .toDate();
    const key = `digest:${plan.channel}:${plan.pools.join(",")}:${fire.toISOString()}`;
    if ((await postedKeys(rt.db, [key])).size > 0) continue;
    const open = await openDecisions(rt.db, plan.pools, since);
    await recordIntent(
      rt.db,
      {
        key,
        kind: "digest",
        decisionId: null,
        channel: plan.channel,
        payload: { decisionIds: open.map((d) => String(d.id)) },
      },
      now,
    );
  }
}

/** What an intent posts, from the current state (null: nothing to post any more). */
async function render(rt: JobContext, post: SlackPostRow): Promise<SlackMessage | null> {
  const config = rt.config.config;
  if (post.kind === "alert" && post.decisionId !== null) {
    const [row] = await decisionsById(rt.db, [post.decisionId]);
    if (!row || row.status !== "open") return null;
    return alertMessage(alertView(row, config));
  }
  if (post.kind === "escalation") {
    const text = post.payload.mention?.[0] ?? "Still unclaimed.";
    return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] };
  }
  const rows = (
    await decisionsById(
      rt.db,
      (post.payload.decisionIds ?? []).map((id) => BigInt(id)),
    )
  ).filter((d) => d.status === "open");
  if (rows.length === 0) return null;
  return digestOf(rt, rows);
}

function digestOf(rt: JobContext, rows: DecisionRow[]): SlackMessage {
  const config = rt.config.config;
  const pool = config.routing.pools.find((p) => p.key === rows[0]?.pool);
  const shadow = config.slack.shadow !== undefined;
  return digestMessage({
    poolLabel: pool?.label ?? "Hot accounts",
    items: [...rows]
      .sort((a, b) => a.decidedAt.getTime() - b.decidedAt.getTime())
      .map((d) => digestItem(d, config)),
    now: new Date(rt.clock.now()),
    mention: !shadow,
    shadow,
  });
}

async function channelIdOf(rt: JobContext, slack: SlackApi, post: SlackPostRow): Promise<string | null> {
  if (post.channelId) return post.channelId;
  if (/^[CG][A-Z0-9]+$/.test(post.channel)) return post.channel;
  const cached = await cachedChannelId(rt.db, post.channel);
  if (cached) return cached;
  const id = await slack.channelIdByName(post.channel);
  if (id) await cacheChannelId(rt.db, post.channel, id, new Date(rt.clock.now()));
  return id;
}

/** Posts every unposted intent: channels in parallel, each paced, in intent order. */
async function postIntents(
  rt: JobContext,
  slack: SlackApi,
  options: SlackPostOptions,
  result: SlackPostResult,
) {
  const intents = await unpostedIntents(rt.db);
  // One queue per Slack channel, whether an intent names it (#pql-hot) or gives its id.
  const ids = await channelIds(rt.db);
  const byChannel = new Map<string, SlackPostRow[]>();
  for (const post of intents) {
    const channel = post.channelId ?? ids.get(post.channel) ?? post.channel;
    byChannel.set(channel, [...(byChannel.get(channel) ?? []), post]);
  }
  const interval = options.postIntervalMs ?? 1000;
  const maxWait = options.maxRetryAfterSeconds ?? 60;
  let done = 0;
  let unavailable: IntegrationError | null = null;
  await Promise.all(
    [...byChannel.values()].map(async (posts) => {
      let last = Number.NEGATIVE_INFINITY;
      for (const post of posts) {
        if (unavailable) return;
        const now = new Date(rt.clock.now());
        // An earlier attempt may have reached Slack: look for the key before posting again.
        if (post.attempts > 0) {
          const channelId = await channelIdOf(rt, slack, post);
          if (channelId) {
            const seen = await slack.history(channelId, new Date(post.intentAt.getTime() - 60_000));
            const hit = seen.find((m) => m.key === post.key);
            if (hit) {
              await recordPosted(rt.db, post, { channelId, ts: hit.ts }, now);
              result.recovered++;
              options.onProgress?.(++done, intents.length);
              continue;
            }
          }
        }
        const message = await render(rt, post);
        if (!message) {
          await abandonIntent(rt.db, post.id, "nothing to post any more", now);
          options.onProgress?.(++done, intents.length);
          continue;
        }
        for (;;) {
          const wait = last + interval - rt.clock.now();
          if (wait > 0) await rt.clock.sleep(wait);
          last = rt.clock.now();
          await markAttempt(rt.db, post.id, null);
          try {
            const posted = await slack.postMessage({
              channel: post.kind === "escalation" ? (post.channelId ?? post.channel) : post.channel,
              text: message.text,
              blocks: message.blocks,
              key: post.key,
              ...(post.threadTs ? { threadTs: post.threadTs } : {}),
            });
            await recordPosted(rt.db, post, posted, new Date(rt.clock.now()));
            result.posted++;
            break;
          } catch (error) {
            if (error instanceof SlackRateLimited) {
              result.rateLimited++;
              if (error.retryAfterSeconds > maxWait) return;
              await rt.clock.sleep(error.retryAfterSeconds * 1000);
              continue;
            }
            if (error instanceof IntegrationError && error.code === "slack_rejected") {
              await recordPostError(rt.db, post.id, error.message);
              result.failed++;
              result.failures.push({ key: post.key, reason: error.message });
              break;
            }
            if (error instanceof IntegrationError && error.code === "slack_unavailable") {
              unavailable = error;
              return;
            }
            throw error;
          }
        }
        options.onProgress?.(++done, intents.length);
      }
    }),
  );
  if (unavailable) throw unavailable;
}

/** Replaces messages whose decision changed (claimed, snoozed, not a fit, escalated, superseded). */
async function updateMessages(rt: JobContext, slack: SlackApi, result: SlackPostResult): Promise<void> {
  const rows = await decisionsToUpdate(rt.db);
  const digests = new Set<string>();
  for (const row of rows) {
    if (!row.slackChannel || !row.slackTs) continue;
    const post = await postByMessage(rt.db, row.slackChannel, row.slackTs);
    if (post?.kind === "digest") {
      const id = `${row.slackChannel}:${row.slackTs}`;
      if (!digests.has(id)) {
        digests.add(id);
        await refreshDigest(rt, slack, post);
        result.updated++;
      }
    } else {
      await replaceMessage(rt, slack, row);
      result.updated++;
      continue;
    }
    await markUpdated(rt.db, [row.id]);
  }
}

/**
 * Replaces a routing's current message to show its state (the winner's claim, a snooze...): the
 * alert itself, or the digest listing it. Marks the update done.
 */
export async function replaceMessage(rt: JobContext, slack: SlackApi, row: DecisionRow): Promise<void> {
  if (!row.slackChannel || !row.slackTs) return;
  const post = await postByMessage(rt.db, row.slackChannel, row.slackTs);
  if (post?.kind === "digest") await refreshDigest(rt, slack, post);
  else {
    const message = alertMessage(alertView(row, rt.config.config));
    await slack.updateMessage({ channelId: row.slackChannel, ts: row.slackTs, ...message });
  }
  await markUpdated(rt.db, [row.id]);
}

/** Re-renders a digest message: accounts claimed or dismissed since leave it. */
export async function refreshDigest(rt: JobContext, slack: SlackApi, post: SlackPostRow): Promise<void> {
  if (!post.channelId || !post.ts) return;
  const rows = (
    await decisionsById(
      rt.db,
      (post.payload.decisionIds ?? []).map((id) => BigInt(id)),
    )
  ).filter((d) => d.status === "open");
  const message = digestOf(rt, rows);
  await slack.updateMessage({ channelId: post.channelId, ts: post.ts, ...message });
}

/** Messages still to post: unposted intents, and open routings with no message yet. */
async function pendingCount(rt: JobContext, since: Date): Promise<number> {
  const instantPools = channelPlans(rt.config.config)
    .filter((p) => p.mode === "instant")
    .flatMap((p) => p.pools);
  const { rows } = await rt.db.sql.query<{ n: number }>(
    `SELECT (SELECT count(*)::int FROM slack_posts WHERE ts IS NULL AND posted_at IS NULL)
      + (SELECT count(*)::int FROM routing_decisions d WHERE d.status = 'open' AND d.slack_ts IS NULL
        AND d.pool = ANY($1::text[]) AND d.decided_at >= $2
        AND NOT EXISTS (SELECT 1 FROM slack_posts p WHERE p.decision_id = d.id AND p.kind = 'alert'
          AND p.ts IS NULL AND p.posted_at IS NULL)) AS n`,
    [instantPools, since.toISOString()],
  );
  return rows[0]?.n ?? 0;
}
