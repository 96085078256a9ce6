import type { PqlConfig } from "../config/schema.ts";
import type { Assignment, RepLoad, Rotation } from "../routing/assign-rep.ts";
import type { RoutingDecisionInput } from "../routing/route-newly-hot.ts";
import type { Database, SqlClient } from "./database.ts";

/**
 * Records routing decisions against the snapshots this pass (cycle run) just wrote, in the same
 * transaction as those snapshots: an account that became hot is routed exactly once, even if
 * the process dies mid-pass. An older routing of the same account still open or snoozed is
 * superseded (it no longer holds its rep's capacity; its Slack message is replaced).
 */
export async function recordRoutingDecisions(
  tx: SqlClient,
  decisions: readonly RoutingDecisionInput[],
  context: { decidedAt: Date; cycleRunId: bigint },
): Promise<void> {
  if (decisions.length === 0) return;
  const accountIds = decisions.map((d) => d.accountId);
  await tx.query(
    `UPDATE routing_decisions SET status = 'superseded', slack_update_due = slack_ts IS NOT NULL,
      state_version = state_version + 1
    WHERE account_id = ANY($1::text[]) AND status IN ('open', 'snoozed')`,
    [accountIds],
  );
  await tx.query(
    `INSERT INTO routing_decisions (account_id, snapshot_id, pool, reason, decided_at, cycle_run_id)
    SELECT s.account_id, s.id, d.pool, d.reason, $2, $3
    FROM jsonb_to_recordset($1::jsonb) AS d(account_id text, pool text, reason text)
    JOIN score_snapshots s ON s.account_id = d.account_id AND s.cycle_run_id = $3`,
    [
      JSON.stringify(decisions.map((d) => ({ account_id: d.accountId, pool: d.pool, reason: d.reason }))),
      context.decidedAt.toISOString(),
      context.cycleRunId.toString(),
    ],
  );
}

/** When each of `accountIds` was last routed, and last marked not a fit, if ever. */
export async function routingHistory(
  db: Database,
  accountIds: readonly string[],
): Promise<Map<string, { lastRoutedAt?: Date; notAFitAt?: Date }>> {
  if (accountIds.length === 0) return new Map();
  const { rows } = await db.sql.query<{ account_id: string; routed: Date | null; not_a_fit: Date | null }>(
    `SELECT a.id AS account_id,
      (SELECT max(decided_at) FROM routing_decisions d WHERE d.account_id = a.id) AS routed,
      (SELECT max(at) FROM routing_feedback f WHERE f.account_id = a.id AND f.kind = 'not_a_fit') AS not_a_fit
    FROM unnest($1::text[]) AS a(id)`,
    [accountIds],
  );
  return new Map(
    rows.map((r) => [
      r.account_id,
      {
        ...(r.routed ? { lastRoutedAt: new Date(r.routed) } : {}),
        ...(r.not_a_fit ? { notAFitAt: new Date(r.not_a_fit) } : {}),
      },
    ]),
  );
}

/**
 * Mirrors the config's reps and managers into `sales_reps` (decisions and claims reference
 * them; people who left the config stay, inactive, so history keeps their names).
 */
export async function syncPeople(tx: SqlClient, config: Pick<PqlConfig, "routing">): Promise<void> {
  const people = [
    ...config.routing.reps.map((r) => ({
      id: r.id,
      name: r.name,
      email: r.email.toLowerCase(),
      slack_user_id: r.slackUserId ?? null,
      hubspot_owner_id: r.hubspotOwnerId ?? null,
      pools: r.pools,
      capacity: r.capacity,
      role: "rep",
    })),
    ...config.routing.managers.map((m) => ({
      id: m.id,
      name: m.name,
      email: m.email.toLowerCase(),
      slack_user_id: m.slackUserId,
      hubspot_owner_id: m.hubspotOwnerId ?? null,
      pools: [],
      capacity: 0,
      role: "manager",
    })),
  ];
  await tx.query(
    `INSERT INTO sales_reps AS s (id, name, email, slack_user_id, hubspot_owner_id, pools, capacity, role, active, updated_at)
    SELECT p.id, p.name, p.email, p.slack_user_id, p.hubspot_owner_id,
      ARRAY(SELECT jsonb_array_elements_text(p.pools)), p.capacity, p.role, true, now()
    FROM jsonb_to_recordset($1::jsonb) AS p(id text, name text, email text, slack_user_id text,
      hubspot_owner_id text, pools jsonb, capacity int, role text)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email,
      slack_user_id = excluded.slack_user_id, hubspot_owner_id = excluded.hubspot_owner_id,
      pools = excluded.pools, capacity = excluded.capacity, role = excluded.role, active = true,
      updated_at = excluded.updated_at
    WHERE (s.name, s.email, s.slack_user_id, s.hubspot_owner_id, s.pools, s.capacity, s.role, s.active)
      IS DISTINCT FROM (excluded.name, excluded.email, excluded.slack_user_id, excluded.hubspot_owner_id,
        excluded.pools, excluded.capacity, excluded.role, true)`,
    [JSON.stringify(people)],
  );
  await tx.query("UPDATE sales_reps SET active = false WHERE active AND NOT (id = ANY($1::text[]))", [
    people.map((p) => p.id),
  ]);
}

/** A routing decision waiting for its rep. */
export interface UnassignedDecision {
  id: bigint;
  accountId: string;
  pool: string;
  decidedAt: Date;
  /** The owner of the account's HubSpot company, as last read. */
  owner: { hubspotOwnerId: string | null; email: string | null } | null;
}

/**
 * Routings never assigned and older than `before` (e.g. made before Slack and HubSpot were
 * connected, or while they were down for days) expire: nobody is handed a stale account, and
 * they hold no rep's capacity. Returns how many expired.
 */
export async function expireUnassigned(tx: SqlClient, before: Date): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `WITH e AS (UPDATE routing_decisions SET status = 'expired'
      WHERE rule IS NULL AND status = 'open' AND decided_at < $1 RETURNING 1)
    SELECT count(*)::int AS n FROM e`,
    [before.toISOString()],
  );
  return rows[0]?.n ?? 0;
}

/** Decisions not assigned yet, oldest first. */
export async function unassignedDecisions(tx: SqlClient): Promise<UnassignedDecision[]> {
  const { rows } = await tx.query<{
    id: string;
    account_id: string;
    pool: string;
    decided_at: Date;
    owner_id: string | null;
    owner_email: string | null;
  }>(
    `SELECT d.id::text, d.account_id, d.pool, d.decided_at, h.owner_id,
      (SELECT o.email FROM hubspot_owners o WHERE o.owner_id = h.owner_id LIMIT 1) AS owner_email
    FROM routing_decisions d
    LEFT JOIN hubspot_companies h ON h.account_id = d.account_id AND h.company_id IS NOT NULL
    WHERE d.rule IS NULL AND d.status = 'open'
    ORDER BY d.id`,
  );
  return rows.map((r) => ({
    id: BigInt(r.id),
    accountId: r.account_id,
    pool: r.pool,
    decidedAt: new Date(r.decided_at),
    owner: r.owner_id ? { hubspotOwnerId: r.owner_id, email: r.owner_email } : null,
  }));
}

/** Each rep's load: open (assigned, unclaimed) accounts, and accounts assigned since `dayStart`. */
export async function repLoads(tx: SqlClient, dayStart: Date): Promise<Map<string, RepLoad>> {
  const { rows } = await tx.query<{ rep_id: string; open: number; today: number }>(
    `SELECT rep_id, count(*) FILTER (WHERE status IN ('open', 'snoozed'))::int AS open,
      count(*) FILTER (WHERE assigned_at >= $1)::int AS today
    FROM routing_decisions WHERE rep_id IS NOT NULL GROUP BY rep_id`,
    [dayStart.toISOString()],
  );
  return new Map(rows.map((r) => [r.rep_id, { open: r.open, alertsToday: r.today }]));
}

/** The round-robin state of every pool. */
export async function readRotations(tx: SqlClient): Promise<Map<string, Rotation>> {
  const { rows } = await tx.query<{ pool: string; rotation: Rotation }>(
    "SELECT pool, rotation FROM routing_rotations",
  );
  return new Map(rows.map((r) => [r.pool, r.rotation ?? {}]));
}

export async function writeRotations(tx: SqlClient, rotations: ReadonlyMap<string, Rotation>, at: Date) {
  if (rotations.size === 0) return;
  await tx.query(
    `INSERT INTO routing_rotations (pool, rotation, updated_at)
    SELECT r.pool, r.rotation, $2 FROM jsonb_to_recordset($1::jsonb) AS r(pool text, rotation jsonb)
    ON CONFLICT (pool) DO UPDATE SET rotation = excluded.rotation, updated_at = excluded.updated_at`,
    [JSON.stringify([...rotations].map(([pool, rotation]) => ({ pool, rotation }))), at.toISOString()],
  );
}

/** Stores assignments (the rule, the rep, every rep skipped and why). */
export async function recordAssignments(
  tx: SqlClient,
  assignments: readonly { decisionId: bigint; assignment: Assignment; shadow: boolean }[],
  at: Date,
): Promise<void> {
  if (assignments.length === 0) return;
  await tx.query(
    `UPDATE routing_decisions d SET rep_id = a.rep_id, rule = a.rule, skipped = a.skipped,
      assignment_reason = a.reason, assigned_at = $2, shadow = a.shadow
    FROM jsonb_to_recordset($1::jsonb) AS a(id bigint, rep_id text, rule text, skipped jsonb, reason text, shadow boolean)
    WHERE d.id = a.id`,
    [
      JSON.stringify(
        assignments.map(({ decisionId, assignment, shadow }) => ({
          id: String(decisionId),
          rep_id: assignment.repId,
          rule: assignment.rule,
          skipped: assignment.skipped,
          reason: assignment.reason,
          shadow,
        })),
      ),
      at.toISOString(),
    ],
  );
}
