import { latestCalibration } from "./calibration-store.ts";
import type { Database } from "./database.ts";

/** One routing in the report's window, with its claim and what became of the account. */
export interface ReportRouting {
  id: string;
  accountId: string;
  name: string | null;
  domain: string | null;
  pool: string;
  repId: string | null;
  status: string;
  decidedAt: Date;
  claimedBy: string | null;
  claimedAt: Date | null;
  escalations: number;
  converted: boolean | null;
  amount: number | null;
}

export interface ReportData {
  routings: ReportRouting[];
  /** Snoozes, not-a-fits and escalations in the window: kind, reason and count. */
  feedback: { kind: string; reason: string | null; n: number }[];
  /** Accounts by tier, as of the latest scoring pass. */
  tiers: Record<string, number>;
  /** Latest score and outcome of every account with a known outcome (conversion by tier). */
  outcomes: { score: number; tier: string; converted: boolean }[];
  /** When the config in force was last calibrated (its version's newest calibration); null: never. */
  calibratedAt: Date | null;
}

/** What the manager report reads, for routings decided since `since` (shadow and expired left out). */
export async function readReportData(db: Database, since: Date, configVersion: string): Promise<ReportData> {
  const { rows } = await db.sql.query<{
    id: string;
    account_id: string;
    name: string | null;
    domain: string | null;
    pool: string;
    rep_id: string | null;
    status: string;
    decided_at: Date;
    claimed_by: string | null;
    claimed_at: Date | null;
    escalations: number;
    converted: boolean | null;
    amount: string | null;
  }>(
    `SELECT d.id::text, d.account_id, a.name, a.domain, d.pool, d.rep_id, d.status, d.decided_at,
      c.rep_id AS claimed_by, c.claimed_at, d.escalations, o.converted, o.amount
    FROM routing_decisions d
    JOIN accounts a ON a.id = d.account_id
    LEFT JOIN claims c ON c.decision_id = d.id
    LEFT JOIN outcomes o ON o.account_id = d.account_id
    WHERE d.decided_at >= $1 AND NOT d.shadow AND d.status <> 'expired'
    ORDER BY d.decided_at, d.id`,
    [since.toISOString()],
  );
  const { rows: feedback } = await db.sql.query<{ kind: string; reason: string | null; n: number }>(
    `SELECT f.kind, f.reason, count(*)::int AS n FROM routing_feedback f
    JOIN routing_decisions d ON d.id = f.decision_id
    WHERE f.at >= $1 AND NOT d.shadow AND f.kind IN ('snooze', 'not_a_fit', 'escalation')
    GROUP BY f.kind, f.reason ORDER BY f.kind, n DESC, f.reason`,
    [since.toISOString()],
  );
  const { rows: pass } = await db.sql.query<{ stats: { tiers?: Record<string, number> } }>(
    "SELECT stats FROM cycle_runs WHERE kind = 'score' AND status = 'ok' ORDER BY started_at DESC LIMIT 1",
  );
  const { rows: outcomes } = await db.sql.query<{ score: number; tier: string; converted: boolean }>(
    "SELECT l.score, l.tier, o.converted FROM outcomes o JOIN latest_scores l ON l.account_id = o.account_id",
  );
  const calibration = await latestCalibration(db, configVersion);
  return {
    routings: rows.map((r) => ({
      id: r.id,
      accountId: r.account_id,
      name: r.name,
      domain: r.domain,
      pool: r.pool,
      repId: r.rep_id,
      status: r.status,
      decidedAt: new Date(r.decided_at),
      claimedBy: r.claimed_by,
      claimedAt: r.claimed_at ? new Date(r.claimed_at) : null,
      escalations: r.escalations,
      converted: r.converted,
      amount: r.amount === null ? null : Number(r.amount),
    })),
    feedback,
    tiers: pass[0]?.stats.tiers ?? {},
    outcomes: outcomes.map((o) => ({ score: Number(o.score), tier: o.tier, converted: o.converted })),
    calibratedAt: calibration?.fittedAt ?? null,
  };
}
