import { findAccountId } from "../../store/score-store.ts";
import { decisionsOfAccount } from "../../store/slack-store.ts";
import type { JobContext } from "../runtime.ts";

export interface RoutingExplanation {
  accountId: string;
  name: string | null;
  domain: string | null;
  routings: {
    id: string;
    decidedAt: string;
    pool: string;
    /** Why it was routed (became hot, the pool that matched). */
    reason: string;
    status: string;
    /** How the rep was chosen: existing-owner, round-robin or nobody-eligible (null: not assigned yet). */
    rule: string | null;
    repId: string | null;
    assignment: string | null;
    /** Each rep passed over, and why. */
    skipped: { repId: string; reason: string }[];
    assignedAt: string | null;
    escalations: number;
    shadow: boolean;
    slack: { channel: string | null; ts: string | null };
    /** Claims, snoozes, not-a-fit, escalations and ended snoozes, oldest first. */
    events: {
      kind: string;
      at: string;
      personId: string | null;
      reason: string | null;
      until: string | null;
    }[];
  }[];
}

/** Every routing of an account (by id, domain or name), newest first, with its audit trail. */
export async function explainRouting(
  rt: Pick<JobContext, "db">,
  key: string,
): Promise<RoutingExplanation | null> {
  const accountId = await findAccountId(rt.db, key);
  if (!accountId) return null;
  const rows = await decisionsOfAccount(rt.db, accountId);
  const { rows: account } = await rt.db.sql.query<{ name: string | null; domain: string | null }>(
    "SELECT name, domain FROM accounts WHERE id = $1",
    [accountId],
  );
  const { rows: events } = await rt.db.sql.query<{
    decision_id: string;
    kind: string;
    at: Date;
    person_id: string | null;
    reason: string | null;
    until: Date | null;
  }>(
    `SELECT decision_id::text, kind, at, person_id, reason, until FROM routing_feedback
    WHERE account_id = $1 ORDER BY at, id`,
    [accountId],
  );
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    accountId,
    name: account[0]?.name ?? null,
    domain: account[0]?.domain ?? null,
    routings: rows.map((d) => ({
      id: String(d.id),
      decidedAt: d.decidedAt.toISOString(),
      pool: d.pool,
      reason: d.reason,
      status: d.status,
      rule: d.rule,
      repId: d.repId,
      assignment: d.assignmentReason,
      skipped: d.skipped,
      assignedAt: iso(d.assignedAt),
      escalations: d.escalations,
      shadow: d.shadow,
      slack: { channel: d.slackChannel, ts: d.slackTs },
      events: events
        .filter((e) => e.decision_id === String(d.id))
        .map((e) => ({
          kind: e.kind,
          at: new Date(e.at).toISOString(),
          personId: e.person_id,
          reason: e.reason,
          until: iso(e.until),
        })),
    })),
  };
}
