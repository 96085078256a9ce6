import type { Database } from "./database.ts";
import { prunedBefore } from "./prune.ts";
import { pendingSlackCount } from "./slack-store.ts";

/**
 * Slack's pending count looks back this far for routings not shown yet (the default
 * `slack.maxAgeHours`; status reads no config, so it works with a broken one).
 */
const PENDING_WINDOW_HOURS = 72;

export interface StoreStatus {
  engine: string;
  location: string;
  messages: number;
  accounts: number;
  users: number;
  firstEventAt: string | null;
  lastEventAt: string | null;
  /** Raw messages before this were deleted by `prune` (their first and last times kept); null: never pruned. */
  prunedBefore: string | null;
  /** The newest `calibrate` run: when, and for which config version (the probability shows only while it is the live one). */
  lastCalibration: { at: string; configVersion: string; horizonDays: number } | null;
  messagesByType: Record<string, number>;
  /** track/page/screen/identify messages whose account is not known yet (no group call for their user). */
  messagesWithoutAccount: number;
  outcomes: number;
  /** Routing decisions recorded (accounts that became hot). */
  routed: number;
  hubspot: {
    companiesMatched: number;
    tasksCreated: number;
    /** Routed accounts whose task is not in HubSpot yet (waiting, unconfirmed or unsent). */
    tasksPending: number;
    tasksFailed: number;
    lastSyncAt: string | null;
    lastSyncStatus: string | null;
  };
  slack: {
    /** Messages posted (alerts, escalation replies, digests). */
    posted: number;
    /** Messages not posted yet, and open routings of the last 72 h with no message yet (as `slack post` counts them). */
    pending: number;
    claimed: number;
    snoozed: number;
    notAFit: number;
    /** SLA escalations made. */
    escalated: number;
    lastPostAt: string | null;
    lastPostStatus: string | null;
  };
}

export async function readStatus(db: Database): Promise<StoreStatus> {
  const { rows } = await db.sql.query<{
    accounts: number;
    users: number;
    outcomes: number;
    first: Date | null;
    last: Date | null;
    unresolved: number;
  }>(`SELECT
      (SELECT count(*)::int FROM accounts) AS accounts,
      (SELECT count(*)::int FROM users) AS users,
      (SELECT count(*)::int FROM outcomes) AS outcomes,
      (SELECT min(timestamp) FROM messages) AS first,
      (SELECT max(timestamp) FROM messages) AS last,
      (SELECT count(*)::int FROM messages WHERE account_id IS NULL AND type <> 'alias') AS unresolved`);
  const { rows: byType } = await db.sql.query<{ type: string; n: number }>(
    "SELECT type, count(*)::int AS n FROM messages GROUP BY type ORDER BY type",
  );
  const row = rows[0] as (typeof rows)[number];
  const { rows: crm } = await db.sql.query<{
    routed: number;
    matched: number;
    created: number;
    pending: number;
    failed: number;
    sync_at: Date | null;
    sync_status: string | null;
  }>(`SELECT
      (SELECT count(*)::int FROM routing_decisions) AS routed,
      (SELECT count(*)::int FROM hubspot_companies WHERE company_id IS NOT NULL) AS matched,
      (SELECT count(*)::int FROM routing_decisions WHERE hubspot_task_id IS NOT NULL) AS created,
      (SELECT count(*)::int FROM routing_decisions WHERE hubspot_task_id IS NULL AND hubspot_task_error IS NULL) AS pending,
      (SELECT count(*)::int FROM routing_decisions WHERE hubspot_task_error IS NOT NULL) AS failed,
      s.started_at AS sync_at, s.status AS sync_status
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT started_at, status FROM cycle_runs WHERE kind = 'hubspot'
      ORDER BY started_at DESC LIMIT 1) s ON true`);
  const c = crm[0] as (typeof crm)[number];
  const { rows: slackRows } = await db.sql.query<{
    posted: number;
    claimed: number;
    snoozed: number;
    not_a_fit: number;
    escalated: number;
    run_at: Date | null;
    run_status: string | null;
  }>(`SELECT
      (SELECT count(*)::int FROM slack_posts WHERE ts IS NOT NULL) AS posted,
      (SELECT count(*)::int FROM routing_decisions WHERE status = 'claimed') AS claimed,
      (SELECT count(*)::int FROM routing_decisions WHERE status = 'snoozed') AS snoozed,
      (SELECT count(*)::int FROM routing_decisions WHERE status = 'not_a_fit') AS not_a_fit,
      (SELECT count(*)::int FROM routing_feedback WHERE kind = 'escalation') AS escalated,
      r.started_at AS run_at, r.status AS run_status
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT started_at, status FROM cycle_runs WHERE kind = 'slack'
      ORDER BY started_at DESC LIMIT 1) r ON true`);
  const sl = slackRows[0] as (typeof slackRows)[number];
  const pending = await pendingSlackCount(db, new Date(Date.now() - PENDING_WINDOW_HOURS * 3_600_000));
  const messagesByType = Object.fromEntries(byType.map((r) => [r.type, r.n]));
  return {
    engine: db.engine,
    location: db.location,
    messages: byType.reduce((sum, r) => sum + r.n, 0),
    accounts: row.accounts,
    users: row.users,
    firstEventAt: row.first ? new Date(row.first).toISOString() : null,
    lastEventAt: row.last ? new Date(row.last).toISOString() : null,
    prunedBefore: (await prunedBefore(db))?.toISOString() ?? null,
    lastCalibration: await lastCalibration(db),
    messagesByType,
    messagesWithoutAccount: row.unresolved,
    outcomes: row.outcomes,
    routed: c.routed,
    hubspot: {
      companiesMatched: c.matched,
      tasksCreated: c.created,
      tasksPending: c.pending,
      tasksFailed: c.failed,
      lastSyncAt: c.sync_at ? new Date(c.sync_at).toISOString() : null,
      lastSyncStatus: c.sync_status,
    },
    slack: {
      posted: sl.posted,
      pending,
      claimed: sl.claimed,
      snoozed: sl.snoozed,
      notAFit: sl.not_a_fit,
      escalated: sl.escalated,
      lastPostAt: sl.run_at ? new Date(sl.run_at).toISOString() : null,
      lastPostStatus: sl.run_status,
    },
  };
}

async function lastCalibration(db: Database): Promise<StoreStatus["lastCalibration"]> {
  const { rows } = await db.sql.query<{ at: Date; version: string; horizon: number }>(
    `SELECT started_at AS at, stats ->> 'configVersion' AS version, (stats ->> 'horizonDays')::int AS horizon
    FROM cycle_runs WHERE kind = 'calibrate' AND status = 'ok' ORDER BY started_at DESC, id DESC LIMIT 1`,
  );
  const r = rows[0];
  return r ? { at: new Date(r.at).toISOString(), configVersion: r.version, horizonDays: r.horizon } : null;
}
