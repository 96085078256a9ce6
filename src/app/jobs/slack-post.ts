import { latestCronTime } from "../../cron-times.ts";
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
import { latestCalibration, type StoredCalibration } from "../../store/calibration-store.ts";
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
  pendingSlackCount,
  postByMessage,
  postedKeys,
  recordIntent,
  recordPostError,
  recordPosted,
  type SlackPostRow,
  unpostedIntents,
} from "../../store/slack-store.ts";
import type { JobContext } from "../runtime.ts";
import { ASSIGN_LOCK, assignRoutings } from "./assign-routings.ts";

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
  /** Routings given a rep this run, those nobody was eligible for, and stale ones expired. */
  assigned: number;
  unassigned: number;
  expired: number;
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
  /** Routings assigned longer ago than this and never shown are not posted (default `slack.maxAgeHours`). */
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
    expired: 0,
    failures: [],
    stoppedBy: null,
    durationMs: 0,
  };
  const since = new Date(started - (options.maxAgeHours ?? config.slack.maxAgeHours) * 3_600_000);
  let failure: unknown;
  try {
    const assigned = await assignRoutings(rt, now);
    result.assigned = assigned.assigned;
    result.unassigned = assigned.unassigned;
    result.expired = assigned.expired;
    result.resurfaced = await resurfaceSnoozed(rt, now);
    result.escalated = await escalateOverdue(rt, now);
    const plans = channelPlans(config);
    await requeueMoved(rt, plans, now);
    await queueAlerts(rt, plans, since, now);
    await queueDigests(rt, plans, since, now);
    // Read once per run: the probability shown beside each score (none when the config has no calibration).
    const calibration = await latestCalibration(db, rt.config.version);
    await postIntents(rt, slack, options, result, calibration);
    if (!result.stoppedBy) await updateMessages(rt, slack, options, result, calibration);
  } catch (error) {
    if (!(error instanceof IntegrationError) || error.code === "slack_auth") failure = error;
    else stop(rt, result, error);
  }
  result.pending = await pendingSlackCount(db, since);
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

function stop(rt: JobContext, result: SlackPostResult, error: IntegrationError): void {
  result.stoppedBy ??= error.message;
  rt.log.warn({ err: error.message }, "Slack posting stopped early; pending messages stay queued");
}

/** Snoozes that ended: the account is open again and posted anew (its SLA clock starts when it is shown). */
async function resurfaceSnoozed(rt: JobContext, now: Date): Promise<number> {
  return rt.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; account_id: string }>(
      `UPDATE routing_decisions SET status = 'open', snoozed_until = NULL, slack_channel = NULL, slack_ts = NULL,
        slack_update_due = false, assigned_at = $1, sla_from = NULL, state_version = state_version + 1
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

/**
 * SLA: shown routings still unclaimed `claimWithinHours` after their clock started are escalated:
 * the new rep and the escalation recorded, a thread reply queued, the message marked for
 * replacement. Each escalation is one conditional update (still open, same escalation count), so
 * a claim that lands meanwhile wins and nothing is escalated.
 */
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
  return rt.db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [ASSIGN_LOCK]);
    const loads = await repLoads(tx, new Date(now.toISOString().slice(0, 10)));
    const rotations = await readRotations(tx);
    const changed = new Map<string, Record<string, number>>();
    let escalated = 0;
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
      const n = d.escalations + 1;
      const { rows: moved } = await tx.query<{ id: string }>(
        `UPDATE routing_decisions SET escalations = $2, assigned_at = $3, sla_from = $3, slack_update_due = true,
          state_version = state_version + 1, rep_id = COALESCE($4, rep_id)
        WHERE id = $1 AND status = 'open' AND escalations = $5 RETURNING id::text`,
        [String(d.id), n, now.toISOString(), plan.repId, d.escalations],
      );
      if (moved.length === 0) continue; // claimed, snoozed or escalated meanwhile
      escalated++;
      if (plan.repId) {
        rotations.set(d.pool, plan.rotation);
        changed.set(d.pool, plan.rotation);
        const load = loads.get(plan.repId) ?? { open: 0, alertsToday: 0 };
        loads.set(plan.repId, { open: load.open + 1, alertsToday: load.alertsToday + 1 });
        const old = d.repId ? loads.get(d.repId) : undefined;
        if (d.repId && old) loads.set(d.repId, { ...old, open: Math.max(0, old.open - 1) });
      }
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
        Math.round(((now.getTime() - (d.slaFrom ?? d.decidedAt).getTime()) / 3_600_000) * 10) / 10;
      const text = `Still unclaimed after ${hours} h (escalation ${n} of ${sla.maxEscalations}): ${plan.reason}.${who.length ? ` ${who.join(" ")} please take a look.` : ""}`;
      await recordIntent(
        tx,
        {
          key: `escalation:${d.id}:${n}`,
          kind: "escalation",
          decisionId: d.id,
          channel: d.slackChannel ?? "",
          threadTs: d.slackTs,
          payload: { mention: [text], escalation: n },
        },
        now,
      );
    }
    await writeRotations(tx, changed, now);
    return escalated;
  });
}

/**
 * Alert and digest intents whose channel is no longer where their pool posts (the config
 * changed, e.g. a misspelt channel fixed, or shadow mode switched) are abandoned when they are
 * certainly not in Slack (never tried, or refused last time); the routing is queued again to
 * the channel it belongs to now.
 */
async function requeueMoved(rt: JobContext, plans: ChannelPlan[], now: Date): Promise<void> {
  const channelOf = new Map(plans.flatMap((p) => p.pools.map((pool) => [pool, p.channel] as const)));
  for (const post of await unpostedIntents(rt.db)) {
    if (post.kind !== "alert" || post.decisionId === null) continue;
    if (post.attempts > 0 && post.error === null) continue; // may be in Slack: recovered where it went
    const [row] = await decisionsById(rt.db, [post.decisionId]);
    const channel = row ? channelOf.get(row.pool) : undefined;
    if (channel !== undefined && channel !== post.channel)
      await abandonIntent(rt.db, post.id, `channel changed to ${channel}`, now);
  }
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
    const fire = latestCronTime(plan.digestCron as string, config.schedule.timezone, now);
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
async function render(
  rt: JobContext,
  post: SlackPostRow,
  calibration: StoredCalibration | null,
): Promise<SlackMessage | null> {
  const config = rt.config.config;
  if (post.kind === "alert" && post.decisionId !== null) {
    const [row] = await decisionsById(rt.db, [post.decisionId]);
    if (row?.status !== "open") return null;
    return alertMessage(alertView(row, config, calibration));
  }
  if (post.kind === "escalation" && post.decisionId !== null) {
    // Only while the routing is still open at that escalation: a claim since makes it moot.
    const [row] = await decisionsById(rt.db, [post.decisionId]);
    if (row?.status !== "open" || row.escalations !== post.payload.escalation) return null;
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
  return digestOf(rt, rows, calibration);
}

function digestOf(rt: JobContext, rows: DecisionRow[], calibration: StoredCalibration | null): SlackMessage {
  const config = rt.config.config;
  const pool = config.routing.pools.find((p) => p.key === rows[0]?.pool);
  const shadow = config.slack.shadow !== undefined;
  return digestMessage({
    poolLabel: pool?.label ?? "Hot accounts",
    items: [...rows]
      .sort((a, b) => a.decidedAt.getTime() - b.decidedAt.getTime())
      .map((d) => digestItem(d, config, calibration)),
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

/**
 * Runs `call`, waiting out each 429's Retry-After (counted) while it is at most `maxWait`
 * seconds; a longer one is thrown (the caller leaves the work for the next run).
 */
async function withRetryAfter<T>(
  rt: JobContext,
  result: SlackPostResult,
  maxWait: number,
  call: () => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof SlackRateLimited)) throw error;
      result.rateLimited++;
      if (error.retryAfterSeconds > maxWait) throw error;
      await rt.clock.sleep(error.retryAfterSeconds * 1000);
    }
  }
}

/**
 * Posts every unposted intent: channels in parallel, each paced, in intent order. Every channel
 * runs to its end or to the first stop (Slack down, or a Retry-After too long for this run):
 * nothing is still posting when this returns.
 */
async function postIntents(
  rt: JobContext,
  slack: SlackApi,
  options: SlackPostOptions,
  result: SlackPostResult,
  calibration: StoredCalibration | null,
): Promise<void> {
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
  let stopAll: unknown = null;
  const progress = () => options.onProgress?.(++done, intents.length);
  const channel = async (posts: SlackPostRow[]) => {
    let last = Number.NEGATIVE_INFINITY;
    for (const post of posts) {
      if (stopAll) return;
      const now = new Date(rt.clock.now());
      // An earlier attempt may have reached Slack: look for its key before posting again
      // (thread replies are not in the channel's history: read the thread).
      if (post.attempts > 0 && post.error === null) {
        const channelId = await channelIdOf(rt, slack, post);
        if (channelId) {
          const from = new Date(post.intentAt.getTime() - 60_000);
          const seen = await withRetryAfter(rt, result, maxWait, () =>
            post.threadTs ? slack.replies(channelId, post.threadTs, from) : slack.history(channelId, from),
          );
          const hit = seen.find((m) => m.key === post.key);
          if (hit) {
            await recordPosted(rt.db, post, { channelId, ts: hit.ts }, now);
            result.recovered++;
            progress();
            continue;
          }
        }
      }
      const message = await render(rt, post, calibration);
      if (!message) {
        await abandonIntent(rt.db, post.id, "nothing to post any more", now);
        progress();
        continue;
      }
      await markAttempt(rt.db, post.id, null);
      try {
        const posted = await withRetryAfter(rt, result, maxWait, async () => {
          // Paced from the previous post's answer: Slack counts posts by arrival, which lies
          // between our send and its answer, so this keeps every gap at or above the interval
          // whatever the latency (at the cost of one round trip per post).
          const wait = last + interval - rt.clock.now();
          if (wait > 0) await rt.clock.sleep(wait);
          try {
            return await slack.postMessage({
              channel: post.kind === "escalation" ? (post.channelId ?? post.channel) : post.channel,
              text: message.text,
              blocks: message.blocks,
              key: post.key,
              ...(post.threadTs ? { threadTs: post.threadTs } : {}),
            });
          } finally {
            last = rt.clock.now();
          }
        });
        await recordPosted(rt.db, post, posted, new Date(rt.clock.now()));
        result.posted++;
      } catch (error) {
        if (!(error instanceof IntegrationError) || error.code !== "slack_rejected") throw error;
        // Refused (e.g. channel_not_found): certainly not posted; tried again next run.
        await recordPostError(rt.db, post.id, error.message);
        result.failed++;
        result.failures.push({ key: post.key, reason: error.message });
      }
      progress();
    }
  };
  await Promise.all(
    [...byChannel.values()].map((posts) =>
      channel(posts).catch((error: unknown) => {
        // A Retry-After too long for this run leaves this channel's posts pending; anything else stops all.
        if (!(error instanceof SlackRateLimited)) stopAll ??= error;
      }),
    ),
  );
  if (stopAll) throw stopAll;
}

/**
 * Replaces messages whose decision changed (claimed, snoozed, not a fit, escalated, superseded).
 * A message Slack no longer has (deleted) is given up; a 429 is waited out; Slack down stops.
 */
async function updateMessages(
  rt: JobContext,
  slack: SlackApi,
  options: SlackPostOptions,
  result: SlackPostResult,
  calibration: StoredCalibration | null,
): Promise<void> {
  const maxWait = options.maxRetryAfterSeconds ?? 60;
  const refreshed = new Set<string>();
  for (const due of await decisionsToUpdate(rt.db)) {
    try {
      const done = await withRetryAfter(rt, result, maxWait, () =>
        replaceMessage(rt, slack, due.id, calibration, refreshed),
      );
      if (done) result.updated++;
    } catch (error) {
      if (!(error instanceof IntegrationError) || error.code !== "slack_rejected") throw error;
      // e.g. message_not_found: nothing left to replace.
      await markUpdated(rt.db, [{ id: due.id, version: due.stateVersion }]);
      result.failed++;
      result.failures.push({ key: `update:${due.id}`, reason: error.message });
    }
  }
}

/**
 * Replaces a routing's current message to show its state as it is now (the winner's claim, a
 * snooze...): the alert itself, or the digest listing it. The update is marked done only for the
 * version rendered: a change meanwhile leaves it due. `calibration` is the current config's (see
 * `latestCalibration`). `refreshed` skips a digest already re-rendered in this run. Returns
 * whether a message was replaced.
 */
export async function replaceMessage(
  rt: JobContext,
  slack: SlackApi,
  decisionId: bigint,
  calibration: StoredCalibration | null,
  refreshed: Set<string> = new Set(),
): Promise<boolean> {
  const [row] = await decisionsById(rt.db, [decisionId]);
  if (!row?.slackChannel || !row.slackTs) return false;
  const post = await postByMessage(rt.db, row.slackChannel, row.slackTs);
  let replaced = false;
  if (post?.kind === "digest") {
    const id = `${row.slackChannel}:${row.slackTs}`;
    if (!refreshed.has(id)) {
      refreshed.add(id);
      await refreshDigest(rt, slack, post, calibration);
      replaced = true;
    }
  } else {
    const message = alertMessage(alertView(row, rt.config.config, calibration));
    await slack.updateMessage({ channelId: row.slackChannel, ts: row.slackTs, ...message });
    replaced = true;
  }
  await markUpdated(rt.db, [{ id: row.id, version: row.stateVersion }]);
  return replaced;
}

/** Re-renders a digest message: accounts claimed or dismissed since leave it. */
export async function refreshDigest(
  rt: JobContext,
  slack: SlackApi,
  post: SlackPostRow,
  calibration: StoredCalibration | null,
): Promise<void> {
  if (!post.channelId || !post.ts) return;
  const rows = (
    await decisionsById(
      rt.db,
      (post.payload.decisionIds ?? []).map((id) => BigInt(id)),
    )
  ).filter((d) => d.status === "open");
  const message = digestOf(rt, rows, calibration);
  await slack.updateMessage({ channelId: post.channelId, ts: post.ts, ...message });
}
