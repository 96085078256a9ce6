import type { AccountFeatures } from "../signals/account-features.ts";
import type { AccountScore } from "../signals/score-account.ts";
import { copyField } from "./copy-field.ts";
import type { Database, SqlClient } from "./database.ts";

export interface LastPass {
  startedAt: Date;
  asOf: Date;
  configVersion: string;
  /** Accounts per tier after that pass. */
  tiers: Record<string, number> | null;
}

/**
 * The successful scoring pass with the latest as-of time (a pass for a past date does not count
 * as "last"): when it started, as of when it scored, with which config.
 */
export async function lastScorePass(db: Database): Promise<LastPass | null> {
  const { rows } = await db.sql.query<{
    started_at: Date;
    stats: { asOf?: string; configVersion?: string; tiers?: Record<string, number> };
  }>(
    `SELECT started_at, stats FROM cycle_runs WHERE kind = 'score' AND status = 'ok'
    ORDER BY (stats->>'asOf')::timestamptz DESC, started_at DESC LIMIT 1`,
  );
  const row = rows[0];
  if (!row?.stats.asOf || !row.stats.configVersion) return null;
  return {
    startedAt: new Date(row.started_at),
    asOf: new Date(row.stats.asOf),
    configVersion: row.stats.configVersion,
    tiers: row.stats.tiers ?? null,
  };
}

/**
 * Whether a scoring pass other than `exceptRunId` started after `since` and did not finish well
 * (failed, or still marked running after a crash): it may have written part of its snapshots, so
 * the last good pass's tier counts no longer describe `latest_scores`.
 */
export async function unfinishedPassSince(
  db: Database,
  since: Date,
  exceptRunId: bigint | number | string,
): Promise<boolean> {
  const { rows } = await db.sql.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM cycle_runs WHERE kind = 'score' AND status <> 'ok' AND started_at > $1
      AND id <> $2) AS found`,
    [since.toISOString(), String(exceptRunId)],
  );
  return rows[0]?.found === true;
}

/**
 * The accounts that exist as of `now`: those with a message at or before it, and those known
 * without any message (e.g. from outcomes or a CRM). An account first seen after `now` is not.
 */
export async function accountIdsAsOf(db: Database, now: Date, among?: readonly string[]): Promise<string[]> {
  const scope = among ? "a.id = ANY($2::text[])" : "true";
  const params: unknown[] = among ? [now.toISOString(), among] : [now.toISOString()];
  // The usual case, `now` after every message: every account exists, no per-account probe needed.
  const { rows: latest } = await db.sql.query<{ last: Date | null }>(
    "SELECT max(timestamp) AS last FROM messages",
  );
  const last = latest[0]?.last;
  if (last === null || last === undefined || new Date(last).getTime() <= now.getTime()) {
    const { rows } = await db.sql.query<{ id: string }>(
      among
        ? "SELECT id FROM accounts WHERE id = ANY($1::text[]) ORDER BY id"
        : "SELECT id FROM accounts ORDER BY id",
      among ? [among] : [],
    );
    return rows.map((r) => r.id);
  }
  const { rows } = await db.sql.query<{ id: string }>(
    `SELECT a.id FROM accounts a
    WHERE ${scope} AND (EXISTS (SELECT 1 FROM messages m WHERE m.account_id = a.id AND m.timestamp <= $1)
      OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.account_id = a.id))
    ORDER BY a.id`,
    params,
  );
  return rows.map((r) => r.id);
}

/** The newest event's time: in the messages, or kept by a prune. null when there is none. */
export async function newestEventAt(db: Database): Promise<Date | null> {
  const { rows } = await db.sql.query<{ at: Date | null }>(
    "SELECT GREATEST((SELECT max(timestamp) FROM messages), (SELECT max(last_at) FROM pruned_message_times)) AS at",
  );
  const at = rows[0]?.at;
  return at ? new Date(at) : null;
}

/** How many accounts there are. */
export async function accountCount(db: Database): Promise<number> {
  const { rows } = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM accounts");
  return rows[0]?.n ?? 0;
}

/**
 * Accounts whose score may differ from their last snapshot: new messages received since the
 * last pass started, new or changed accounts and users (`updated_at`: a user's new title may
 * change the account's personas), events between the last as-of and
 * now, and events that a window (of `windowDays`, or twice that for the previous window) has slid
 * past. Every branch is an index range scan, so a steady-state pass costs what changed, not the total.
 */
export async function changedAccountIds(
  db: Database,
  last: LastPass,
  now: Date,
  windowDays: number[],
): Promise<string[]> {
  // Each slice is its own index range scan on messages.timestamp.
  const slices = windowSlices(last, now, windowDays);
  const params: unknown[] = [last.startedAt.toISOString()];
  const branches = slices.map(([from, to]) => {
    params.push(new Date(from).toISOString(), new Date(to).toISOString());
    return `SELECT account_id FROM messages WHERE account_id IS NOT NULL
      AND timestamp > $${params.length - 1}::timestamptz AND timestamp <= $${params.length}::timestamptz`;
  });
  const { rows } = await db.sql.query<{ id: string }>(
    [
      "SELECT account_id AS id FROM messages WHERE received_at > $1 AND account_id IS NOT NULL",
      "SELECT id FROM accounts WHERE updated_at > $1",
      "SELECT account_id FROM users WHERE updated_at > $1 AND account_id IS NOT NULL",
      ...branches,
    ].join("\n    UNION "),
    params,
  );
  return rows.map((r) => r.id).sort();
}

/**
 * The time slices (from, to] in epoch ms whose events changed a window since the last pass: (last
 * as-of, now] itself, and for every window length (and twice it, the previous window) the slice it
 * slid past. None when `now` is not after the last as-of. Pure.
 */
export function windowSlices(
  last: Pick<LastPass, "asOf">,
  now: Date,
  windowDays: readonly number[],
): [number, number][] {
  const from = last.asOf.getTime();
  const to = now.getTime();
  if (to <= from) return [];
  const slices: [number, number][] = [[from, to]];
  for (const days of new Set(windowDays.flatMap((d) => [d, 2 * d])))
    slices.push([from - days * 86_400_000, to - days * 86_400_000]);
  return slices;
}

const LATEST_COLUMNS = "account_id, score, tier, pqr, icp, reasons, as_of, config_version";

/**
 * Each account's latest snapshot at or before $1, as `l`, joined to `a.id`. The current scores
 * (latest_scores, one row per account, kept by triggers) answer for every account scored at or
 * before $1, which is every account when $1 is now or 'infinity'; only accounts scored since $1
 * (a report or replay as of the past) look into their history, one index probe each.
 */
export const LATEST_SNAPSHOT = `JOIN (
  SELECT ${LATEST_COLUMNS} FROM latest_scores WHERE as_of <= $1::timestamptz
  UNION ALL
  SELECT p.* FROM latest_scores c CROSS JOIN LATERAL (
    SELECT ${LATEST_COLUMNS} FROM score_snapshots s
    WHERE s.account_id = c.account_id AND s.as_of <= $1::timestamptz ORDER BY s.as_of DESC, s.id DESC LIMIT 1) p
  WHERE c.as_of > $1::timestamptz) l ON l.account_id = a.id`;

/** The tier of each account's latest snapshot (before this pass writes its own). */
export async function latestTiers(db: Database, accountIds: readonly string[]): Promise<Map<string, string>> {
  if (accountIds.length === 0) return new Map();
  const { rows } = await db.sql.query<{ account_id: string; tier: string }>(
    "SELECT account_id, tier FROM latest_scores WHERE account_id = ANY($1::text[])",
    [accountIds],
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
  db: SqlClient,
  snapshots: readonly SnapshotInput[],
  context: { asOf: Date; configVersion: string; cycleRunId: bigint },
): Promise<void> {
  if (snapshots.length === 0) return;
  const asOf = context.asOf.toISOString();
  const run = context.cycleRunId.toString();
  let data = "";
  for (const { features, score } of snapshots) {
    const detail = { ...features, pqr: score.pqr, icp: score.icp, activation: score.activation };
    data += [
      copyField(score.accountId),
      asOf,
      score.score,
      score.tier,
      score.pqr.pqr,
      score.icp.score === null ? "\\N" : score.icp.score,
      copyField(JSON.stringify(score.components)),
      copyField(JSON.stringify(score.reasons)),
      copyField(JSON.stringify(detail)),
      copyField(context.configVersion),
      run,
    ].join("\t");
    data += "\n";
  }
  await db.copyText(
    "score_snapshots (account_id, as_of, score, tier, pqr, icp, components, reasons, features, config_version, cycle_run_id)",
    data,
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

/** An account by its id, or else by its domain (case-insensitive); undefined when none. */
export async function findAccountId(db: Database, key: string): Promise<string | undefined> {
  const { rows } = await db.sql.query<{ id: string }>(
    `SELECT id FROM accounts WHERE id = $1 OR lower(domain) = lower($1) OR lower(name) = lower($1)
    ORDER BY (id = $1) DESC, (lower(domain) = lower($1)) DESC, id LIMIT 1`,
    [key],
  );
  return rows[0]?.id;
}

/** An account's latest snapshots up to `asOf`, newest first. */
export async function scoreHistory(
  db: Database,
  accountId: string,
  asOf: Date,
  limit: number,
): Promise<{ asOf: Date; score: number; tier: string; configVersion: string }[]> {
  const { rows } = await db.sql.query<{ as_of: Date; score: number; tier: string; config_version: string }>(
    `SELECT as_of, score, tier, config_version FROM score_snapshots WHERE account_id = $1 AND as_of <= $2
    ORDER BY as_of DESC, id DESC LIMIT $3`,
    [accountId, asOf.toISOString(), limit],
  );
  return rows.map((r) => ({
    asOf: new Date(r.as_of),
    score: r.score,
    tier: r.tier,
    configVersion: r.config_version,
  }));
}
