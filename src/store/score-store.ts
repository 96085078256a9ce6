import type { AccountFeatures } from "../signals/account-features.ts";
import type { AccountScore } from "../signals/score-account.ts";
import type { Database } from "./database.ts";

export interface LastPass {
  startedAt: Date;
  asOf: Date;
  configVersion: string;
}

/** The last successful scoring pass: when it started, as of when it scored, with which config. */
export async function lastScorePass(db: Database): Promise<LastPass | null> {
  const { rows } = await db.sql.query<{ started_at: Date; stats: { asOf?: string; configVersion?: string } }>(
    `SELECT started_at, stats FROM cycle_runs WHERE kind = 'score' AND status = 'ok' ORDER BY started_at DESC LIMIT 1`,
  );
  const row = rows[0];
  if (!row?.stats.asOf || !row.stats.configVersion) return null;
  return {
    startedAt: new Date(row.started_at),
    asOf: new Date(row.stats.asOf),
    configVersion: row.stats.configVersion,
  };
}

/**
 * The accounts that exist as of `now`: those with a message at or before it, and those known
 * without any message (e.g. from outcomes or a CRM). An account first seen after `now` is not.
 */
export async function accountIdsAsOf(db: Database, now: Date): Promise<string[]> {
  const { rows } = await db.sql.query<{ id: string }>(
    `SELECT a.id FROM accounts a
    WHERE EXISTS (SELECT 1 FROM messages m WHERE m.account_id = a.id AND m.timestamp <= $1)
      OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.account_id = a.id)
    ORDER BY a.id`,
    [now.toISOString()],
  );
  return rows.map((r) => r.id);
}

/**
 * Accounts whose score may differ from their last snapshot: new messages received since the
 * last pass started, changed traits, never scored, events between the last as-of and now, and
 * events that a window (of `windowDays`, or twice that for the previous window) has slid past.
 * Every branch is an index range scan, so a steady-state pass costs what changed, not the total.
 */
export async function changedAccountIds(
  db: Database,
  last: LastPass,
  now: Date,
  windowDays: number[],
): Promise<string[]> {
  const slides = [...new Set(windowDays.flatMap((d) => [d, 2 * d]))];
  const slideClauses = slides
    .map(
      (_, i) =>
        `(timestamp > $2::timestamptz - make_interval(days => $${i + 4}::int) AND timestamp <= $3::timestamptz - make_interval(days => $${i + 4}::int))`,
    )
    .join(" OR ");
  const { rows } = await db.sql.query<{ id: string }>(
    `SELECT account_id AS id FROM messages WHERE received_at > $1 AND account_id IS NOT NULL
    UNION SELECT id FROM accounts WHERE updated_at > $1
    UNION SELECT a.id FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM score_snapshots s WHERE s.account_id = a.id)
    UNION SELECT account_id FROM messages WHERE account_id IS NOT NULL
      AND ((timestamp > $2::timestamptz AND timestamp <= $3::timestamptz)${slideClauses ? ` OR ${slideClauses}` : ""})`,
    [last.startedAt.toISOString(), last.asOf.toISOString(), now.toISOString(), ...slides],
  );
  return rows.map((r) => r.id).sort();
}

/**
 * Each account's latest snapshot at or before $1: one index probe per account, so the cost
 * follows the number of accounts, never the length of the history.
 */
export const LATEST_SNAPSHOT = `CROSS JOIN LATERAL (
  SELECT s.account_id, s.score, s.tier, s.pqr, s.icp, s.reasons, s.as_of FROM score_snapshots s
  WHERE s.account_id = a.id AND s.as_of <= $1::timestamptz ORDER BY s.as_of DESC, s.id DESC LIMIT 1) l`;

/** The tier of each account's latest snapshot (before this pass writes its own). */
export async function latestTiers(db: Database, accountIds: readonly string[]): Promise<Map<string, string>> {
  if (accountIds.length === 0) return new Map();
  const { rows } = await db.sql.query<{ account_id: string; tier: string }>(
    `SELECT l.account_id, l.tier FROM unnest($2::text[]) AS a(id) ${LATEST_SNAPSHOT}`,
    ["infinity", accountIds],
  );
  return new Map(rows.map((r) => [r.account_id, r.tier]));
}

/** How many accounts are in each tier as of `asOf`. */
export async function tierCounts(db: Database, asOf: Date): Promise<Record<string, number>> {
  const { rows } = await db.sql.query<{ tier: string; n: number }>(
    `SELECT l.tier, count(*)::int AS n FROM accounts a ${LATEST_SNAPSHOT} GROUP BY l.tier`,
    [asOf.toISOString()],
  );
  return Object.fromEntries(rows.map((r) => [r.tier, r.n]));
}

export interface SnapshotInput {
  features: AccountFeatures;
  score: AccountScore;
}

/** Writes one snapshot per account (score, tier, PQR, ICP, components, reasons, features, config version). */
export async function writeSnapshots(
  db: Database,
  snapshots: readonly SnapshotInput[],
  context: { asOf: Date; configVersion: string; cycleRunId: bigint },
): Promise<void> {
  if (snapshots.length === 0) return;
  const rows = snapshots.map(({ features, score }) => ({
    account_id: score.accountId,
    score: score.score,
    tier: score.tier,
    pqr: score.pqr.pqr,
    icp: score.icp.score,
    components: score.components,
    reasons: score.reasons,
    features: { ...features, pqr: score.pqr, icp: score.icp, activation: score.activation },
  }));
  await db.sql.query(
    `INSERT INTO score_snapshots (account_id, as_of, score, tier, pqr, icp, components, reasons, features, config_version, cycle_run_id)
    SELECT r.account_id, $2::timestamptz, r.score, r.tier, r.pqr, r.icp, r.components, r.reasons, r.features, $3, $4::bigint
    FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, score float8, tier text, pqr numeric, icp float8,
      components jsonb, reasons jsonb, features jsonb)`,
    [JSON.stringify(rows), context.asOf.toISOString(), context.configVersion, context.cycleRunId.toString()],
  );
}

export interface RankedAccount {
  accountId: string;
  name: string | null;
  domain: string | null;
  tier: string;
  score: number;
  pqr: number;
  icp: number | null;
  reasons: string[];
  asOf: string;
}

/** Every account's latest snapshot as of `asOf`, best first (the first `limit` only, if given). */
export async function rankedAccounts(db: Database, asOf: Date, limit?: number): Promise<RankedAccount[]> {
  const { rows } = await db.sql.query<{
    account_id: string;
    name: string | null;
    domain: string | null;
    tier: string;
    score: number;
    pqr: string | number;
    icp: number | null;
    reasons: string[];
    as_of: Date;
  }>(
    `SELECT l.account_id, a.name, a.domain, l.tier, l.score, l.pqr, l.icp, l.reasons, l.as_of
    FROM accounts a ${LATEST_SNAPSHOT}
    ORDER BY l.score DESC, l.pqr DESC, l.account_id
    LIMIT $2`,
    [asOf.toISOString(), limit ?? null],
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    name: r.name,
    domain: r.domain,
    tier: r.tier,
    score: r.score,
    pqr: Number(r.pqr),
    icp: r.icp,
    reasons: r.reasons,
    asOf: new Date(r.as_of).toISOString(),
  }));
}
