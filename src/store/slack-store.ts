import type { Database, SqlClient } from "./database.ts";

/**
 * What a Slack message about one routing decision shows, read in one query (plain data; the
 * Block Kit is built by `integrations/slack/blocks.ts`).
 */
export interface DecisionRow {
  id: bigint;
  accountId: string;
  name: string | null;
  domain: string | null;
  pool: string;
  /** Why it was routed. */
  reason: string;
  status: "open" | "claimed" | "snoozed" | "not_a_fit" | "superseded";
  rule: string | null;
  repId: string | null;
  assignmentReason: string | null;
  skipped: { repId: string; reason: string }[];
  decidedAt: Date;
  assignedAt: Date | null;
  escalations: number;
  shadow: boolean;
  snoozedUntil: Date | null;
  slackChannel: string | null;
  slackTs: string | null;
  /** Bumped by every change its message must show (see `markUpdated`). */
  stateVersion: number;
  /** When its SLA clock started (first shown, or last escalated); null until shown. */
  slaFrom: Date | null;
  score: number;
  tier: string;
  pqr: number;
  icp: number | null;
  reasons: string[];
  personas: string[];
  /** The version of the config that made the score. */
  configVersion: string;
  companyId: string | null;
  /** The latest claim, snooze or not-a-fit on this decision. */
  action: {
    kind: "claim" | "snooze" | "not_a_fit";
    personId: string | null;
    slackUserId: string | null;
    reason: string | null;
    until: Date | null;
    at: Date;
  } | null;
}

const DECISION_SELECT = `SELECT d.id::text, d.account_id, a.name, a.domain, d.pool, d.reason, d.status, d.rule, d.rep_id,
    d.assignment_reason, d.skipped, d.decided_at, d.assigned_at, d.escalations, d.shadow, d.snoozed_until,
    d.slack_channel, d.slack_ts, d.state_version, d.sla_from, s.score, s.tier, s.pqr::float8 AS pqr, s.icp, s.reasons,
    COALESCE(s.features->'personas', '[]') AS personas, s.config_version, h.company_id,
    f.kind AS f_kind, f.person_id AS f_person, f.slack_user_id AS f_slack, f.reason AS f_reason,
    f.until AS f_until, f.at AS f_at
  FROM routing_decisions d
  JOIN accounts a ON a.id = d.account_id
  JOIN score_snapshots s ON s.id = d.snapshot_id
  LEFT JOIN hubspot_companies h ON h.account_id = d.account_id AND h.company_id IS NOT NULL
  LEFT JOIN LATERAL (SELECT kind, person_id, slack_user_id, reason, until, at FROM routing_feedback f
    WHERE f.decision_id = d.id AND f.kind IN ('claim', 'snooze', 'not_a_fit')
    ORDER BY f.at DESC, f.id DESC LIMIT 1) f ON true`;

interface RawDecision {
  id: string;
  account_id: string;
  name: string | null;
  domain: string | null;
  pool: string;
  reason: string;
  status: DecisionRow["status"];
  rule: string | null;
  rep_id: string | null;
  assignment_reason: string | null;
  skipped: DecisionRow["skipped"] | null;
  decided_at: Date;
  assigned_at: Date | null;
  escalations: number;
  shadow: boolean;
  snoozed_until: Date | null;
  slack_channel: string | null;
  slack_ts: string | null;
  state_version: number;
  sla_from: Date | null;
  score: number;
  tier: string;
  pqr: number;
  icp: number | null;
  reasons: string[] | null;
  personas: string[] | null;
  config_version: string;
  company_id: string | null;
  f_kind: "claim" | "snooze" | "not_a_fit" | null;
  f_person: string | null;
  f_slack: string | null;
  f_reason: string | null;
  f_until: Date | null;
  f_at: Date | null;
}

const date = (d: Date | null) => (d ? new Date(d) : null);

function toRow(r: RawDecision): DecisionRow {
  return {
    id: BigInt(r.id),
    accountId: r.account_id,
    name: r.name,
    domain: r.domain,
    pool: r.pool,
    reason: r.reason,
    status: r.status,
    rule: r.rule,
    repId: r.rep_id,
    assignmentReason: r.assignment_reason,
    skipped: r.skipped ?? [],
    decidedAt: new Date(r.decided_at),
    assignedAt: date(r.assigned_at),
    escalations: r.escalations,
    shadow: r.shadow,
    snoozedUntil: date(r.snoozed_until),
    slackChannel: r.slack_channel,
    slackTs: r.slack_ts,
    stateVersion: r.state_version,
    slaFrom: date(r.sla_from),
    score: Number(r.score),
    tier: r.tier,
    pqr: Number(r.pqr),
    icp: r.icp === null ? null : Number(r.icp),
    reasons: r.reasons ?? [],
    personas: r.personas ?? [],
    configVersion: r.config_version,
    companyId: r.company_id,
    action:
      r.f_kind && r.f_at
        ? {
            kind: r.f_kind,
            personId: r.f_person,
            slackUserId: r.f_slack,
            reason: r.f_reason,
            until: date(r.f_until),
            at: new Date(r.f_at),
          }
        : null,
  };
}

export async function decisionsById(
  db: Database | SqlClient,
  ids: readonly bigint[],
): Promise<DecisionRow[]> {
  if (ids.length === 0) return [];
  const sql = "sql" in db ? db.sql : db;
  const { rows } = await sql.query<RawDecision>(
    `${DECISION_SELECT} WHERE d.id = ANY($1::bigint[]) ORDER BY d.id`,
    [ids.map(String)],
  );
  return rows.map(toRow);
}

/** The routings of an account, newest first. */
export async function decisionsOfAccount(db: Database, accountId: string): Promise<DecisionRow[]> {
  const { rows } = await db.sql.query<RawDecision>(
    `${DECISION_SELECT} WHERE d.account_id = $1 ORDER BY d.decided_at DESC, d.id DESC`,
    [accountId],
  );
  return rows.map(toRow);
}

/**
 * Assigned, open decisions of these pools with no current message, oldest first: assigned (or
 * back from a snooze) since `since`.
 */
export async function decisionsToPost(
  db: Database,
  pools: readonly string[],
  since: Date,
): Promise<DecisionRow[]> {
  if (pools.length === 0) return [];
  const { rows } = await db.sql.query<RawDecision>(
    `${DECISION_SELECT} WHERE d.status = 'open' AND d.rule IS NOT NULL AND d.slack_ts IS NULL
      AND d.pool = ANY($1::text[]) AND d.assigned_at >= $2 ORDER BY d.id`,
    [pools, since.toISOString()],
  );
  return rows.map(toRow);
}

/** Open, assigned decisions of these pools, oldest first (a digest lists them). */
export async function openDecisions(
  db: Database,
  pools: readonly string[],
  since: Date,
): Promise<DecisionRow[]> {
  if (pools.length === 0) return [];
  const { rows } = await db.sql.query<RawDecision>(
    `${DECISION_SELECT} WHERE d.status = 'open' AND d.rule IS NOT NULL AND d.pool = ANY($1::text[])
      AND (d.slack_ts IS NOT NULL OR d.assigned_at >= $2) ORDER BY d.decided_at, d.id`,
    [pools, since.toISOString()],
  );
  return rows.map(toRow);
}

/** Shown, open decisions whose SLA clock started before `before`, with escalations left. */
export async function decisionsToEscalate(
  db: Database,
  before: Date,
  maxEscalations: number,
): Promise<DecisionRow[]> {
  const { rows } = await db.sql.query<RawDecision>(
    `${DECISION_SELECT} WHERE d.status = 'open' AND d.slack_ts IS NOT NULL AND d.sla_from < $1
      AND d.escalations < $2 ORDER BY d.id`,
    [before.toISOString(), maxEscalations],
  );
  return rows.map(toRow);
}

/** Decisions whose message must be replaced (a claim, snooze, not-a-fit or escalation it does not show yet). */
export async function decisionsToUpdate(db: Database): Promise<DecisionRow[]> {
  const { rows } = await db.sql.query<RawDecision>(
    `${DECISION_SELECT} WHERE d.slack_update_due AND d.slack_ts IS NOT NULL ORDER BY d.id`,
  );
  return rows.map(toRow);
}

/**
 * Marks messages as showing their decision's state, unless the decision changed again since the
 * version that was rendered (then the next Slack job replaces the message again).
 */
export async function markUpdated(
  db: Database,
  rendered: readonly { id: bigint; version: number }[],
): Promise<void> {
  if (rendered.length === 0) return;
  await db.sql.query(
    `UPDATE routing_decisions d SET slack_update_due = false
    FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, version int)
    WHERE d.id = r.id AND d.state_version = r.version`,
    [JSON.stringify(rendered.map((r) => ({ id: String(r.id), version: r.version })))],
  );
}

/**
 * Messages still to post: intents not posted, and open routings with no message and no intent
 * yet (assigned or back from a snooze since `since`, or not assigned yet but routed since then).
 * One count for `slack post` and `status`.
 */
export async function pendingSlackCount(db: Database, since: Date): Promise<number> {
  const { rows } = await db.sql.query<{ n: number }>(
    `SELECT (SELECT count(*)::int FROM slack_posts WHERE ts IS NULL AND posted_at IS NULL)
      + (SELECT count(*)::int FROM routing_decisions d WHERE d.status = 'open' AND d.slack_ts IS NULL
        AND COALESCE(d.assigned_at, d.decided_at) >= $1
        AND NOT EXISTS (SELECT 1 FROM slack_posts p WHERE p.decision_id = d.id AND p.kind = 'alert'
          AND p.ts IS NULL AND p.posted_at IS NULL)) AS n`,
    [since.toISOString()],
  );
  return rows[0]?.n ?? 0;
}

// ---------------------------------------------------------------------------------------------
// The post outbox

export interface SlackPostRow {
  id: bigint;
  key: string;
  kind: "alert" | "escalation" | "digest";
  decisionId: bigint | null;
  channel: string;
  channelId: string | null;
  threadTs: string | null;
  /** digest: the routings listed; escalation: its text and number. */
  payload: { decisionIds?: string[]; mention?: string[]; escalation?: number };
  intentAt: Date;
  ts: string | null;
  attempts: number;
  /** Why Slack refused its last attempt (null: never refused, or not tried yet). */
  error: string | null;
}

interface RawPost {
  id: string;
  key: string;
  kind: SlackPostRow["kind"];
  decision_id: string | null;
  channel: string;
  channel_id: string | null;
  thread_ts: string | null;
  payload: SlackPostRow["payload"] | null;
  intent_at: Date;
  ts: string | null;
  attempts: number;
  error: string | null;
}

const toPost = (r: RawPost): SlackPostRow => ({
  id: BigInt(r.id),
  key: r.key,
  kind: r.kind,
  decisionId: r.decision_id === null ? null : BigInt(r.decision_id),
  channel: r.channel,
  channelId: r.channel_id,
  threadTs: r.thread_ts,
  payload: r.payload ?? {},
  intentAt: new Date(r.intent_at),
  ts: r.ts,
  attempts: r.attempts,
  error: r.error,
});

/**
 * Records the intent to post (before posting): the key is unique, so a second intent for the
 * same message is the first one, returned as it stands.
 */
export async function recordIntent(
  db: Database | SqlClient,
  intent: {
    key: string;
    kind: SlackPostRow["kind"];
    decisionId: bigint | null;
    channel: string;
    threadTs?: string | null;
    payload?: SlackPostRow["payload"];
  },
  at: Date,
): Promise<void> {
  const sql = "sql" in db ? db.sql : db;
  await sql.query(
    `INSERT INTO slack_posts (key, kind, decision_id, channel, thread_ts, payload, intent_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING`,
    [
      intent.key,
      intent.kind,
      intent.decisionId === null ? null : String(intent.decisionId),
      intent.channel,
      intent.threadTs ?? null,
      JSON.stringify(intent.payload ?? {}),
      at.toISOString(),
    ],
  );
}

/** Intents not posted yet (no ts, not abandoned), oldest first. */
export async function unpostedIntents(db: Database): Promise<SlackPostRow[]> {
  const { rows } = await db.sql.query<RawPost>(
    "SELECT id::text, key, kind, decision_id::text, channel, channel_id, thread_ts, payload, intent_at, ts, attempts, error FROM slack_posts WHERE ts IS NULL AND posted_at IS NULL ORDER BY id",
  );
  return rows.map(toPost);
}

export async function postByMessage(
  db: Database,
  channelId: string,
  ts: string,
): Promise<SlackPostRow | null> {
  const { rows } = await db.sql.query<RawPost>(
    "SELECT id::text, key, kind, decision_id::text, channel, channel_id, thread_ts, payload, intent_at, ts, attempts, error FROM slack_posts WHERE channel_id = $1 AND ts = $2 LIMIT 1",
    [channelId, ts],
  );
  return rows[0] ? toPost(rows[0]) : null;
}

/**
 * How many alerts of a decision were settled (posted or abandoned): the next alert's number. An
 * alert intent still unposted keeps its number, so queueing it again is the same intent.
 */
export async function alertCount(db: Database, decisionId: bigint): Promise<number> {
  const { rows } = await db.sql.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM slack_posts WHERE decision_id = $1 AND kind = 'alert' AND (ts IS NOT NULL OR posted_at IS NOT NULL)",
    [String(decisionId)],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Counts an attempt, committed before the request goes out (an attempted intent is looked up
 * before a retry). It clears the last error: an intent with an error was refused on its last try,
 * so it is certainly not in Slack.
 */
export async function markAttempt(db: Database, id: bigint, channelId: string | null): Promise<void> {
  await db.sql.query(
    "UPDATE slack_posts SET attempts = attempts + 1, error = NULL, channel_id = COALESCE($2, channel_id) WHERE id = $1",
    [String(id), channelId],
  );
}

/** Records a posted message: on the outbox row and, for an alert, on its decision (one transaction). */
export async function recordPosted(
  db: Database,
  post: SlackPostRow,
  message: { channelId: string; ts: string },
  at: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      "UPDATE slack_posts SET ts = $2, channel_id = $3, posted_at = $4, error = NULL WHERE id = $1",
      [String(post.id), message.ts, message.channelId, at.toISOString()],
    );
    if (post.channel.startsWith("#")) {
      // The id behind a configured name: pacing and history reads go by id.
      await tx.query(
        `INSERT INTO slack_channels (name, id, fetched_at) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO UPDATE SET id = excluded.id, fetched_at = excluded.fetched_at`,
        [post.channel, message.channelId, at.toISOString()],
      );
    }
    if (post.kind === "alert" && post.decisionId !== null) {
      // Shown now: the SLA clock starts. A click that came in while the post was in flight
      // (e.g. via /pql) leaves the message to be replaced at once.
      await tx.query(
        `UPDATE routing_decisions SET slack_channel = $2, slack_ts = $3, slack_update_due = status <> 'open',
          sla_from = $4 WHERE id = $1`,
        [String(post.decisionId), message.channelId, message.ts, at.toISOString()],
      );
    }
    if (post.kind === "digest") {
      // Each listed decision's message is now this digest (a claim there updates it).
      await tx.query(
        `UPDATE routing_decisions SET slack_channel = $2, slack_ts = $3, sla_from = COALESCE(sla_from, $4)
        WHERE id = ANY($1::bigint[]) AND status = 'open'`,
        [post.payload.decisionIds ?? [], message.channelId, message.ts, at.toISOString()],
      );
    }
  });
}

/** An intent that will not be posted (e.g. a digest with nothing to list, or a decision no longer open). */
export async function abandonIntent(db: Database, id: bigint, why: string, at: Date): Promise<void> {
  await db.sql.query("UPDATE slack_posts SET posted_at = $2, error = $3 WHERE id = $1", [
    String(id),
    at.toISOString(),
    why,
  ]);
}

export async function recordPostError(db: Database, id: bigint, error: string): Promise<void> {
  await db.sql.query("UPDATE slack_posts SET error = $2 WHERE id = $1", [String(id), error.slice(0, 500)]);
}

export async function postedKeys(db: Database, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await db.sql.query<{ key: string }>(
    "SELECT key FROM slack_posts WHERE key = ANY($1::text[])",
    [keys],
  );
  return new Set(rows.map((r) => r.key));
}

export async function cachedChannelId(db: Database, name: string): Promise<string | null> {
  const { rows } = await db.sql.query<{ id: string }>("SELECT id FROM slack_channels WHERE name = $1", [
    name,
  ]);
  return rows[0]?.id ?? null;
}

export async function cacheChannelId(db: Database, name: string, id: string, at: Date): Promise<void> {
  await db.sql.query(
    `INSERT INTO slack_channels (name, id, fetched_at) VALUES ($1, $2, $3)
    ON CONFLICT (name) DO UPDATE SET id = excluded.id, fetched_at = excluded.fetched_at`,
    [name, id, at.toISOString()],
  );
}

/** Every channel id known by name. */
export async function channelIds(db: Database): Promise<Map<string, string>> {
  const { rows } = await db.sql.query<{ name: string; id: string }>("SELECT name, id FROM slack_channels");
  return new Map(rows.map((r) => [r.name, r.id]));
}
