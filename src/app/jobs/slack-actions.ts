import { type Member, mayAct, memberBySlackId } from "../../integrations/slack/routing-views.ts";
import { type DecisionRow, decisionsById } from "../../store/slack-store.ts";
import type { JobContext } from "../runtime.ts";

/** Who clicked, as Slack says. */
export interface Actor {
  slackUserId: string;
}

export type ActionOutcome =
  /** This click changed the routing (the message is to be replaced for everyone). */
  | { kind: "done"; decisionId: bigint; member: Member }
  /** Already done before (a retry, a double click, or someone else first): nothing changed. */
  | { kind: "already"; row: DecisionRow; member: Member }
  /** Only the pool's reps, its assignee and managers may act: nothing changed. */
  | { kind: "not-allowed"; pool: string }
  | { kind: "not-found" };

type Change =
  | { kind: "claim" }
  | { kind: "snooze"; until: Date; option: string }
  | { kind: "not_a_fit"; reason: string };

/**
 * Claims a routing: one conditional update (open or snoozed -> claimed) and, in the same
 * transaction, the claim and its feedback record. Of any number of concurrent clicks exactly
 * one changes the row; the others (and retries) see who won.
 */
export function claimRouting(rt: JobContext, decisionId: bigint, actor: Actor): Promise<ActionOutcome> {
  return act(rt, decisionId, actor, { kind: "claim" });
}

/** Snoozes an open routing until `until` (the Slack job brings it back then). */
export function snoozeRouting(
  rt: JobContext,
  decisionId: bigint,
  actor: Actor,
  snooze: { until: Date; option: string },
): Promise<ActionOutcome> {
  return act(rt, decisionId, actor, { kind: "snooze", ...snooze });
}

/** Marks a routing not a fit (the account is not routed again for `cooldowns.notAFitDays`). */
export function dismissRouting(
  rt: JobContext,
  decisionId: bigint,
  actor: Actor,
  reason: string,
): Promise<ActionOutcome> {
  return act(rt, decisionId, actor, { kind: "not_a_fit", reason });
}

const TRANSITIONS = {
  claim: { to: "claimed", from: ["open", "snoozed"] },
  snooze: { to: "snoozed", from: ["open"] },
  not_a_fit: { to: "not_a_fit", from: ["open", "snoozed"] },
} as const;

async function act(rt: JobContext, decisionId: bigint, actor: Actor, change: Change): Promise<ActionOutcome> {
  const config = rt.config.config;
  // A light read for the permission check; the full row only when it is needed for an answer.
  const { rows: heads } = await rt.db.sql.query<{
    pool: string;
    rep_id: string | null;
    account_id: string;
    decided_at: Date;
  }>("SELECT pool, rep_id, account_id, decided_at FROM routing_decisions WHERE id = $1", [
    String(decisionId),
  ]);
  const row = heads[0];
  if (!row) return { kind: "not-found" };
  const member = memberBySlackId(config, actor.slackUserId);
  if (!member || !mayAct(member, row.pool, row.rep_id)) return { kind: "not-allowed", pool: row.pool };
  const at = new Date(rt.clock.now());
  const { to, from } = TRANSITIONS[change.kind];
  const changed = await rt.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string }>(
      `UPDATE routing_decisions SET status = $2, slack_update_due = slack_ts IS NOT NULL,
        snoozed_until = $4, state_version = state_version + 1
      WHERE id = $1 AND status = ANY($3::text[]) RETURNING id::text`,
      [String(decisionId), to, [...from], change.kind === "snooze" ? change.until.toISOString() : null],
    );
    if (rows.length === 0) return false;
    if (change.kind === "claim") {
      await tx.query(
        `INSERT INTO claims (decision_id, rep_id, slack_user_id, claimed_at) VALUES ($1, $2, $3, $4)`,
        [String(decisionId), member.id, actor.slackUserId, at.toISOString()],
      );
    }
    await tx.query(
      `INSERT INTO routing_feedback (decision_id, account_id, kind, person_id, slack_user_id, reason, until, details, at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        String(decisionId),
        row.account_id,
        change.kind,
        member.id,
        actor.slackUserId,
        change.kind === "not_a_fit" ? change.reason : change.kind === "snooze" ? change.option : null,
        change.kind === "snooze" ? change.until.toISOString() : null,
        JSON.stringify({
          role: member.role,
          pool: row.pool,
          routedAt: new Date(row.decided_at).toISOString(),
        }),
        at.toISOString(),
      ],
    );
    return true;
  });
  if (changed) return { kind: "done", decisionId, member };
  const [after] = await decisionsById(rt.db, [decisionId]);
  return after ? { kind: "already", row: after, member } : { kind: "not-found" };
}
