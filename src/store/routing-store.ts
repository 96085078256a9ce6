import type { RoutingDecisionInput } from "../routing/route-newly-hot.ts";
import type { Database, SqlClient } from "./database.ts";

/**
 * Records routing decisions against the snapshots this pass (cycle run) just wrote, in the same
 * transaction as those snapshots: an account that became hot is routed exactly once, even if
 * the process dies mid-pass.
 */
export async function recordRoutingDecisions(
  tx: SqlClient,
  decisions: readonly RoutingDecisionInput[],
  context: { decidedAt: Date; cycleRunId: bigint },
): Promise<void> {
  if (decisions.length === 0) return;
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

/** When each of `accountIds` was last routed, if ever. */
export async function lastRoutedAt(db: Database, accountIds: readonly string[]): Promise<Map<string, Date>> {
  if (accountIds.length === 0) return new Map();
  const { rows } = await db.sql.query<{ account_id: string; at: Date }>(
    `SELECT account_id, max(decided_at) AS at FROM routing_decisions
    WHERE account_id = ANY($1::text[]) GROUP BY account_id`,
    [accountIds],
  );
  return new Map(rows.map((r) => [r.account_id, new Date(r.at)]));
}
