import type { Database } from "./database.ts";

/** An account that should have a HubSpot company but has none yet. */
export interface UnmatchedAccount {
  accountId: string;
  name: string | null;
  domain: string | null;
  tier: string;
  /** When its domain was last searched without a match (null: never searched). */
  searchedAt: Date | null;
  /** Its domain's company belongs to another account (one account per company): never created. */
  shared: boolean;
}

/** Adopts company ids stored on accounts (accounts.hubspot_company_id, e.g. from an import) as matches. */
export async function adoptStoredCompanyIds(db: Database): Promise<void> {
  // A company already matched to another account is not adopted twice (one account per company).
  await db.sql.query(
    `INSERT INTO hubspot_companies (account_id, company_id, matched_by)
    SELECT DISTINCT ON (a.hubspot_company_id) a.id, a.hubspot_company_id, 'stored' FROM accounts a
    WHERE a.hubspot_company_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM hubspot_companies x WHERE x.company_id = a.hubspot_company_id)
    ORDER BY a.hubspot_company_id, a.id
    ON CONFLICT (account_id) DO UPDATE SET company_id = excluded.company_id, matched_by = 'stored'
    WHERE hubspot_companies.company_id IS NULL`,
  );
}

/** Which of `companyIds` are already matched, and to which account. */
export async function companyOwners(
  db: Database,
  companyIds: readonly string[],
): Promise<Map<string, string>> {
  if (companyIds.length === 0) return new Map();
  const { rows } = await db.sql.query<{ company_id: string; account_id: string }>(
    "SELECT company_id, account_id FROM hubspot_companies WHERE company_id = ANY($1::text[])",
    [companyIds],
  );
  return new Map(rows.map((r) => [r.company_id, r.account_id]));
}

/** Forgets a company HubSpot no longer has (deleted or merged): the account is matched again. */
export async function forgetCompanies(db: Database, accountIds: readonly string[]): Promise<void> {
  if (accountIds.length === 0) return;
  await db.sql.query(
    `UPDATE hubspot_companies SET company_id = NULL, matched_by = NULL, searched_at = NULL, written = '{}',
      rejected = NULL WHERE account_id = ANY($1::text[])`,
    [accountIds],
  );
  await db.sql.query("UPDATE accounts SET hubspot_company_id = NULL WHERE id = ANY($1::text[])", [
    accountIds,
  ]);
}

/**
 * Accounts the sync should find a company for: latest tier in `tiers` and no company yet. With
 * `due`, only those whose domain may be searched now (never searched, or last searched before
 * `searchBefore`) or whose tier creates companies: an account searched an hour ago without a
 * match is not read again every cycle. Reads only.
 */
export async function unmatchedAccounts(
  db: Database,
  tiers: readonly string[],
  due?: { searchBefore: Date; createTiers: readonly string[] },
): Promise<UnmatchedAccount[]> {
  const { rows } = await db.sql.query<{
    account_id: string;
    name: string | null;
    domain: string | null;
    tier: string;
    searched_at: Date | null;
    shared: boolean;
  }>(
    `SELECT a.id AS account_id, a.name, a.domain, l.tier, h.searched_at, COALESCE(h.matched_by = 'shared', false) AS shared
    FROM latest_scores l JOIN accounts a ON a.id = l.account_id
    LEFT JOIN hubspot_companies h ON h.account_id = a.id
    WHERE l.tier = ANY($1::text[]) AND h.company_id IS NULL AND a.hubspot_company_id IS NULL
      AND ($2::timestamptz IS NULL OR h.searched_at IS NULL OR h.searched_at < $2::timestamptz
        OR l.tier = ANY($3::text[]))
    ORDER BY a.id`,
    [tiers, due?.searchBefore.toISOString() ?? null, due?.createTiers ?? []],
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    name: r.name,
    domain: r.domain,
    tier: r.tier,
    searchedAt: r.searched_at ? new Date(r.searched_at) : null,
    shared: r.shared,
  }));
}

/** How many accounts in `tiers` have no HubSpot company. */
export async function unmatchedCount(db: Database, tiers: readonly string[]): Promise<number> {
  const { rows } = await db.sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM latest_scores l
    WHERE l.tier = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM hubspot_companies h WHERE h.account_id = l.account_id AND h.company_id IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = l.account_id AND a.hubspot_company_id IS NOT NULL)`,
    [tiers],
  );
  return rows[0]?.n ?? 0;
}

export interface CompanyMatch {
  accountId: string;
  /** null: searched, nothing found (or, with matchedBy "shared", found but another account's). */
  companyId: string | null;
  matchedBy: "domain" | "created" | "shared";
  /** Properties written with the creation (for created companies). */
  written?: Record<string, string>;
  /** The company's HubSpot owner, when the match read it. */
  ownerId?: string | null;
}

export async function recordMatches(db: Database, matches: readonly CompanyMatch[], at: Date): Promise<void> {
  if (matches.length === 0) return;
  await db.sql.query(
    `INSERT INTO hubspot_companies AS h (account_id, company_id, matched_by, searched_at, written, written_at, owner_id)
    SELECT m.account_id, m.company_id,
      CASE WHEN m.company_id IS NULL AND m.matched_by <> 'shared' THEN NULL ELSE m.matched_by END, $2,
      COALESCE(m.written, '{}'), CASE WHEN m.written IS NULL THEN NULL ELSE $2::timestamptz END, m.owner_id
    FROM jsonb_to_recordset($1::jsonb) AS m(account_id text, company_id text, matched_by text, written jsonb, owner_id text)
    ON CONFLICT (account_id) DO UPDATE SET
      company_id = COALESCE(excluded.company_id, h.company_id),
      matched_by = CASE WHEN excluded.company_id IS NULL AND h.company_id IS NULL THEN excluded.matched_by
        ELSE COALESCE(excluded.matched_by, h.matched_by) END,
      searched_at = excluded.searched_at,
      written = h.written || excluded.written,
      written_at = COALESCE(excluded.written_at, h.written_at),
      owner_id = CASE WHEN excluded.company_id IS NULL THEN h.owner_id ELSE excluded.owner_id END`,
    [
      JSON.stringify(
        matches.map((m) => ({
          account_id: m.accountId,
          company_id: m.companyId,
          matched_by: m.matchedBy,
          written: m.written ?? null,
          owner_id: m.ownerId ?? null,
        })),
      ),
      at.toISOString(),
    ],
  );
}

/**
 * What the score sync needs per matched account: its latest score, routing and claim, and what
 * was written. An account without a snapshot has nothing to write and is left out.
 */
export interface CompanyState {
  accountId: string;
  companyId: string;
  score: number | null;
  tier: string | null;
  pqr: number | null;
  icp: number | null;
  reasons: string[];
  scoredAt: Date | null;
  configVersion: string | null;
  routedAt: Date | null;
  routedTo: string | null;
  claimedBy: string | null;
  claimedAt: Date | null;
  /** The claimer's HubSpot owner id, when known: the company's owner follows the claim. */
  claimerOwnerId: string | null;
  /** An owner HubSpot refused for this company (not sent again). */
  ownerRejected: string | null;
  written: Record<string, string>;
  rejected: Record<string, string> | null;
}

export async function matchedCompanies(db: Database): Promise<CompanyState[]> {
  const { rows } = await db.sql.query<{
    account_id: string;
    company_id: string;
    score: number | null;
    tier: string | null;
    pqr: string | null;
    icp: number | null;
    reasons: string[] | null;
    as_of: Date | null;
    config_version: string | null;
    decided_at: Date | null;
    pool: string | null;
    rep_name: string | null;
    claimer: string | null;
    claimed_at: Date | null;
    claimer_owner: string | null;
    owner_rejected: string | null;
    written: Record<string, string>;
    rejected: Record<string, string> | null;
  }>(
    `SELECT h.account_id, h.company_id, l.score, l.tier, l.pqr, l.icp, l.reasons, l.as_of, l.config_version,
      d.decided_at, d.pool, r.name AS rep_name, cr.name AS claimer, c.claimed_at, h.written, h.rejected, h.owner_rejected,
      COALESCE(cr.hubspot_owner_id, (SELECT o.owner_id FROM hubspot_owners o WHERE o.email = lower(cr.email))) AS claimer_owner
    FROM hubspot_companies h
    JOIN latest_scores l ON l.account_id = h.account_id
    LEFT JOIN LATERAL (
      SELECT rd.id, rd.decided_at, rd.pool, rd.rep_id FROM routing_decisions rd
      WHERE rd.account_id = h.account_id AND NOT rd.shadow AND rd.status <> 'expired'
      ORDER BY rd.decided_at DESC, rd.id DESC LIMIT 1) d ON true
    LEFT JOIN sales_reps r ON r.id = d.rep_id
    LEFT JOIN claims c ON c.decision_id = d.id
    LEFT JOIN sales_reps cr ON cr.id = c.rep_id
    WHERE h.company_id IS NOT NULL
    ORDER BY h.account_id`,
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    companyId: r.company_id,
    score: r.score,
    tier: r.tier,
    pqr: r.pqr === null ? null : Number(r.pqr),
    icp: r.icp,
    reasons: r.reasons ?? [],
    scoredAt: r.as_of ? new Date(r.as_of) : null,
    configVersion: r.config_version,
    routedAt: r.decided_at ? new Date(r.decided_at) : null,
    routedTo: r.rep_name ?? r.pool,
    claimedBy: r.claimer,
    claimedAt: r.claimed_at ? new Date(r.claimed_at) : null,
    claimerOwnerId: r.claimer_owner,
    ownerRejected: r.owner_rejected,
    written: r.written ?? {},
    rejected: r.rejected,
  }));
}

/** Records properties HubSpot accepted: they are not sent again until they change. */
export async function recordWritten(
  db: Database,
  writes: readonly { accountId: string; properties: Record<string, string> }[],
  at: Date,
): Promise<void> {
  if (writes.length === 0) return;
  await db.sql.query(
    `UPDATE hubspot_companies h SET written = h.written || w.properties, written_at = $2,
      rejected = NULL, error = NULL, error_at = NULL
    FROM jsonb_to_recordset($1::jsonb) AS w(account_id text, properties jsonb)
    WHERE h.account_id = w.account_id`,
    [
      JSON.stringify(writes.map((w) => ({ account_id: w.accountId, properties: w.properties }))),
      at.toISOString(),
    ],
  );
}

/** Records values HubSpot rejected (4xx) and why: they are not sent again until they change. */
export async function recordRejected(
  db: Database,
  rejections: readonly { accountId: string; properties: Record<string, string>; reason: string }[],
  at: Date,
): Promise<void> {
  if (rejections.length === 0) return;
  await db.sql.query(
    `UPDATE hubspot_companies h SET rejected = w.properties, error = w.reason, error_at = $2
    FROM jsonb_to_recordset($1::jsonb) AS w(account_id text, properties jsonb, reason text)
    WHERE h.account_id = w.account_id`,
    [
      JSON.stringify(
        rejections.map((w) => ({ account_id: w.accountId, properties: w.properties, reason: w.reason })),
      ),
      at.toISOString(),
    ],
  );
}

/** A routing decision whose HubSpot task is not confirmed yet. */
export interface PendingTask {
  decisionId: bigint;
  accountId: string;
  name: string | null;
  domain: string | null;
  companyId: string | null;
  pool: string;
  repId: string | null;
  decidedAt: Date;
  score: number;
  tier: string;
  pqr: number;
  icp: number | null;
  reasons: string[];
  /** The version of the config that made the score. */
  configVersion: string;
  /** When a create was last sent without a confirmed answer. */
  sentAt: Date | null;
  /** The company that create was associated with. */
  sentCompanyId: string | null;
  /** Who claimed the routing in Slack (the task's owner then), if anyone. */
  claimerId: string | null;
}

export async function pendingTasks(db: Database): Promise<PendingTask[]> {
  const { rows } = await db.sql.query<{
    id: string;
    account_id: string;
    name: string | null;
    domain: string | null;
    company_id: string | null;
    pool: string;
    rep_id: string | null;
    decided_at: Date;
    score: number;
    tier: string;
    pqr: string;
    icp: number | null;
    reasons: string[];
    config_version: string;
    hubspot_task_sent_at: Date | null;
    hubspot_task_company_id: string | null;
    claimer: string | null;
  }>(
    `SELECT d.id::text, d.account_id, a.name, a.domain, h.company_id, d.pool, d.rep_id, d.decided_at,
      s.score, s.tier, s.pqr, s.icp, s.reasons, s.config_version, d.hubspot_task_sent_at, d.hubspot_task_company_id,
      c.rep_id AS claimer
    FROM routing_decisions d
    JOIN accounts a ON a.id = d.account_id
    JOIN score_snapshots s ON s.id = d.snapshot_id
    LEFT JOIN hubspot_companies h ON h.account_id = d.account_id
    LEFT JOIN claims c ON c.decision_id = d.id
    WHERE d.hubspot_task_id IS NULL AND d.hubspot_task_error IS NULL AND NOT d.shadow
    ORDER BY d.id`,
  );
  return rows.map((r) => ({
    decisionId: BigInt(r.id),
    accountId: r.account_id,
    name: r.name,
    domain: r.domain,
    companyId: r.company_id,
    pool: r.pool,
    repId: r.rep_id,
    decidedAt: new Date(r.decided_at),
    score: r.score,
    tier: r.tier,
    pqr: Number(r.pqr),
    icp: r.icp,
    reasons: r.reasons,
    configVersion: r.config_version,
    sentAt: r.hubspot_task_sent_at ? new Date(r.hubspot_task_sent_at) : null,
    sentCompanyId: r.hubspot_task_company_id,
    claimerId: r.claimer,
  }));
}

/** Marks task creates as sent, committed before the request goes out. */
export async function markTasksSent(
  db: Database,
  sent: readonly { decisionId: bigint; companyId: string }[],
  at: Date,
): Promise<void> {
  if (sent.length === 0) return;
  await db.sql.query(
    `UPDATE routing_decisions d SET hubspot_task_sent_at = $2, hubspot_task_company_id = s.company_id
    FROM jsonb_to_recordset($1::jsonb) AS s(id bigint, company_id text)
    WHERE d.id = s.id`,
    [
      JSON.stringify(sent.map((t) => ({ id: String(t.decisionId), company_id: t.companyId }))),
      at.toISOString(),
    ],
  );
}

export async function recordTasks(
  db: Database,
  tasks: readonly { decisionId: bigint; taskId?: string; error?: string; ownerId?: string | null }[],
): Promise<void> {
  if (tasks.length === 0) return;
  await db.sql.query(
    `UPDATE routing_decisions d SET hubspot_task_id = COALESCE(t.task_id, d.hubspot_task_id),
      hubspot_task_error = t.error, hubspot_task_owner_id = COALESCE(t.owner_id, d.hubspot_task_owner_id)
    FROM jsonb_to_recordset($1::jsonb) AS t(id bigint, task_id text, error text, owner_id text)
    WHERE d.id = t.id`,
    [
      JSON.stringify(
        tasks.map((t) => ({
          id: String(t.decisionId),
          task_id: t.taskId ?? null,
          error: t.error ?? null,
          owner_id: t.ownerId ?? null,
        })),
      ),
    ],
  );
}

/** HubSpot owner ids by lower-cased email, as cached from the owners API. */
export async function cachedOwners(
  db: Database,
): Promise<{ owners: Map<string, string>; fetchedAt: Date | null }> {
  const { rows } = await db.sql.query<{ email: string; owner_id: string; fetched_at: Date }>(
    "SELECT email, owner_id, fetched_at FROM hubspot_owners",
  );
  const fetchedAt = rows.reduce<Date | null>((latest, r) => {
    const at = new Date(r.fetched_at);
    return latest === null || at > latest ? at : latest;
  }, null);
  return { owners: new Map(rows.map((r) => [r.email, r.owner_id])), fetchedAt };
}

export async function cacheOwners(
  db: Database,
  owners: ReadonlyMap<string, string>,
  at: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("DELETE FROM hubspot_owners");
    if (owners.size === 0) return;
    await tx.query(
      `INSERT INTO hubspot_owners (email, owner_id, fetched_at)
      SELECT o.email, o.owner_id, $2 FROM jsonb_to_recordset($1::jsonb) AS o(email text, owner_id text)`,
      [JSON.stringify([...owners].map(([email, owner_id]) => ({ email, owner_id }))), at.toISOString()],
    );
  });
}

/** Calls made on `day` (UTC) by every process, against the daily budget. */
export async function usageOn(db: Database, day: string): Promise<number> {
  const { rows } = await db.sql.query<{ calls: number }>("SELECT calls FROM hubspot_usage WHERE day = $1", [
    day,
  ]);
  return rows[0]?.calls ?? 0;
}

/** Adds `calls` to the day's count (UTC). */
export async function addUsage(db: Database, day: string, calls: number): Promise<void> {
  if (calls === 0) return;
  await db.sql.query(
    `INSERT INTO hubspot_usage (day, calls) VALUES ($1, $2)
    ON CONFLICT (day) DO UPDATE SET calls = hubspot_usage.calls + excluded.calls`,
    [day, calls],
  );
}

/** Clears recorded rejections (companies' and tasks'), so the next sync sends them again. */
export async function clearRejections(db: Database): Promise<void> {
  await db.sql.query(
    "UPDATE hubspot_companies SET rejected = NULL, error = NULL, error_at = NULL WHERE error IS NOT NULL",
  );
  await db.sql.query(
    "UPDATE routing_decisions SET hubspot_task_error = NULL WHERE hubspot_task_error IS NOT NULL AND hubspot_task_id IS NULL",
  );
}

/** A claimed routing whose HubSpot task's owner is not the claimer yet. */
export interface TaskOwnerChange {
  decisionId: bigint;
  accountId: string;
  /** An owner HubSpot refused for this task (not sent again). */
  rejectedOwnerId: string | null;
  taskId: string;
  claimerId: string;
  claimerEmail: string;
  claimerOwnerId: string | null;
  writtenOwnerId: string | null;
}

/** Claimed routings with a task (not shadow): the claimer and the owner last written on the task. */
export async function claimedTasks(db: Database): Promise<TaskOwnerChange[]> {
  const { rows } = await db.sql.query<{
    id: string;
    account_id: string;
    task_id: string;
    claimer: string;
    email: string;
    owner_id: string | null;
    written: string | null;
    rejected: string | null;
  }>(
    `SELECT d.id::text, d.account_id, d.hubspot_task_id AS task_id, c.rep_id AS claimer, p.email,
      p.hubspot_owner_id AS owner_id, d.hubspot_task_owner_id AS written, d.hubspot_task_owner_rejected AS rejected
    FROM routing_decisions d
    JOIN claims c ON c.decision_id = d.id
    JOIN sales_reps p ON p.id = c.rep_id
    WHERE d.hubspot_task_id IS NOT NULL AND NOT d.shadow
    ORDER BY d.id`,
  );
  return rows.map((r) => ({
    decisionId: BigInt(r.id),
    accountId: r.account_id,
    rejectedOwnerId: r.rejected,
    taskId: r.task_id,
    claimerId: r.claimer,
    claimerEmail: r.email,
    claimerOwnerId: r.owner_id,
    writtenOwnerId: r.written,
  }));
}

/** Emails of claimers without a configured owner id (their owner is looked up by email). */
export async function claimerEmails(db: Database): Promise<string[]> {
  const { rows } = await db.sql.query<{ email: string }>(
    `SELECT DISTINCT p.email FROM claims c JOIN sales_reps p ON p.id = c.rep_id
    JOIN routing_decisions d ON d.id = c.decision_id
    WHERE p.hubspot_owner_id IS NULL AND NOT d.shadow`,
  );
  return rows.map((r) => r.email);
}

/** Records task owners HubSpot refused: not sent again until the claimer's owner changes. */
export async function recordTaskOwnerRejected(
  db: Database,
  rejected: readonly { decisionId: bigint; ownerId: string }[],
): Promise<void> {
  if (rejected.length === 0) return;
  await db.sql.query(
    `UPDATE routing_decisions d SET hubspot_task_owner_rejected = r.owner_id
    FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, owner_id text) WHERE d.id = r.id`,
    [JSON.stringify(rejected.map((r) => ({ id: String(r.decisionId), owner_id: r.ownerId })))],
  );
}

/** Records company owners HubSpot refused, and why. */
export async function recordOwnerRejected(
  db: Database,
  rejected: readonly { accountId: string; ownerId: string; reason: string }[],
  at: Date,
): Promise<void> {
  if (rejected.length === 0) return;
  await db.sql.query(
    `UPDATE hubspot_companies h SET owner_rejected = r.owner_id, error = r.reason, error_at = $2
    FROM jsonb_to_recordset($1::jsonb) AS r(account_id text, owner_id text, reason text)
    WHERE h.account_id = r.account_id`,
    [
      JSON.stringify(
        rejected.map((r) => ({ account_id: r.accountId, owner_id: r.ownerId, reason: r.reason })),
      ),
      at.toISOString(),
    ],
  );
}

/** Matched companies of accounts with a routing waiting for its rep: their owner is read again first. */
export async function companiesToReadOwners(
  db: Database,
): Promise<{ accountId: string; companyId: string }[]> {
  const { rows } = await db.sql.query<{ account_id: string; company_id: string }>(
    `SELECT DISTINCT h.account_id, h.company_id FROM hubspot_companies h
    JOIN routing_decisions d ON d.account_id = h.account_id AND d.rule IS NULL AND d.status = 'open'
    WHERE h.company_id IS NOT NULL ORDER BY h.account_id`,
  );
  return rows.map((r) => ({ accountId: r.account_id, companyId: r.company_id }));
}

export async function recordCompanyOwners(
  db: Database,
  owners: readonly { accountId: string; ownerId: string | null }[],
): Promise<void> {
  if (owners.length === 0) return;
  await db.sql.query(
    `UPDATE hubspot_companies h SET owner_id = o.owner_id
    FROM jsonb_to_recordset($1::jsonb) AS o(account_id text, owner_id text) WHERE h.account_id = o.account_id`,
    [JSON.stringify(owners.map((o) => ({ account_id: o.accountId, owner_id: o.ownerId })))],
  );
}
