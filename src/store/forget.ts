import type { Database, SqlClient } from "./database.ts";

/** What an erasure removed, table by table. */
export type Erased = Record<string, number>;

async function count(tx: SqlClient, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `WITH d AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM d`,
    params,
  );
  return rows[0]?.n ?? 0;
}

/**
 * Erases a person (GDPR): their messages (as user id, and as every anonymous id aliased to them),
 * their aliases and their user record, in one transaction. Their accounts' first and last times
 * (message_times) are rebuilt from what remains (the other messages and what prune kept, which
 * holds no person's id), and the accounts are marked changed, so the next scoring pass recomputes
 * everything derived without them. Nothing else is touched.
 */
export async function forgetUser(
  db: Database,
  userId: string,
  at: Date,
): Promise<{ erased: Erased; accounts: string[] }> {
  return db.transaction(async (tx) => {
    const { rows: idRows } = await tx.query<{ id: string }>(
      "SELECT $1::text AS id UNION SELECT previous_id FROM identity_links WHERE user_id = $1",
      [userId],
    );
    const ids = idRows.map((r) => r.id);
    const { rows: accountRows } = await tx.query<{ id: string }>(
      `SELECT DISTINCT account_id AS id FROM messages
      WHERE (user_id = ANY($1::text[]) OR anonymous_id = ANY($1::text[])) AND account_id IS NOT NULL
      UNION SELECT account_id FROM users WHERE id = ANY($1::text[]) AND account_id IS NOT NULL`,
      [ids],
    );
    const accounts = accountRows.map((r) => r.id).sort();
    const erased: Erased = {
      messages: await count(
        tx,
        "DELETE FROM messages WHERE user_id = ANY($1::text[]) OR anonymous_id = ANY($1::text[])",
        [ids],
      ),
      identity_links: await count(
        tx,
        "DELETE FROM identity_links WHERE user_id = $1 OR previous_id = ANY($2::text[])",
        [userId, ids],
      ),
      users: await count(tx, "DELETE FROM users WHERE id = ANY($1::text[])", [ids]),
    };
    await tx.query("SELECT message_times_rebuild($1::text[])", [accounts]);
    await tx.query("UPDATE accounts SET updated_at = $2 WHERE id = ANY($1::text[])", [
      accounts,
      at.toISOString(),
    ]);
    return { erased, accounts };
  });
}

/**
 * Erases a company (GDPR): its messages and their first and last times (raw and pruned), its
 * record and traits, its scores, routings (with their claims, feedback and Slack post records), its
 * HubSpot match and its outcome, in one transaction. Its users stay (people's data is erased with `forgetUser`), detached from it.
 * Copies in HubSpot and Slack are not ours to delete: the caller says so.
 */
export async function forgetAccount(db: Database, accountId: string): Promise<{ erased: Erased }> {
  return db.transaction(async (tx) => {
    const p = [accountId];
    const decisions = "SELECT id FROM routing_decisions WHERE account_id = $1";
    const erased: Erased = {
      routing_feedback: await count(
        tx,
        `DELETE FROM routing_feedback WHERE decision_id IN (${decisions})`,
        p,
      ),
      claims: await count(tx, `DELETE FROM claims WHERE decision_id IN (${decisions})`, p),
      slack_posts: await count(tx, `DELETE FROM slack_posts WHERE decision_id IN (${decisions})`, p),
      routing_decisions: await count(tx, "DELETE FROM routing_decisions WHERE account_id = $1", p),
      score_snapshots: await count(tx, "DELETE FROM score_snapshots WHERE account_id = $1", p),
      outcomes: await count(tx, "DELETE FROM outcomes WHERE account_id = $1", p),
      hubspot_companies: await count(tx, "DELETE FROM hubspot_companies WHERE account_id = $1", p),
      messages: await count(tx, "DELETE FROM messages WHERE account_id = $1", p),
      pruned_message_times: await count(tx, "DELETE FROM pruned_message_times WHERE account_id = $1", p),
      message_times: await count(tx, "DELETE FROM message_times WHERE account_id = $1", p),
    };
    erased.users_detached = await count(
      tx,
      "UPDATE users SET account_id = NULL, account_at = NULL WHERE account_id = $1",
      p,
    );
    erased.accounts = await count(tx, "DELETE FROM accounts WHERE id = $1", p);
    return { erased };
  });
}
