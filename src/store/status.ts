import type { Database } from "./database.ts";

export interface StoreStatus {
  engine: string;
  location: string;
  messages: number;
  accounts: number;
  users: number;
  firstEventAt: string | null;
  lastEventAt: string | null;
  messagesByType: Record<string, number>;
  /** track/page/screen/identify messages whose account is not known yet (no group call for their user). */
  messagesWithoutAccount: number;
  outcomes: number;
}

export async function readStatus(db: Database): Promise<StoreStatus> {
  const { rows } = await db.sql.query<{
    accounts: number;
    users: number;
    outcomes: number;
    first: Date | null;
    last: Date | null;
    unresolved: number;
  }>(`SELECT
      (SELECT count(*)::int FROM accounts) AS accounts,
      (SELECT count(*)::int FROM users) AS users,
      (SELECT count(*)::int FROM outcomes) AS outcomes,
      (SELECT min(timestamp) FROM messages) AS first,
      (SELECT max(timestamp) FROM messages) AS last,
      (SELECT count(*)::int FROM messages WHERE account_id IS NULL AND type <> 'alias') AS unresolved`);
  const { rows: byType } = await db.sql.query<{ type: string; n: number }>(
    "SELECT type, count(*)::int AS n FROM messages GROUP BY type ORDER BY type",
  );
  const row = rows[0] as (typeof rows)[number];
  const messagesByType = Object.fromEntries(byType.map((r) => [r.type, r.n]));
  return {
    engine: db.engine,
    location: db.location,
    messages: byType.reduce((sum, r) => sum + r.n, 0),
    accounts: row.accounts,
    users: row.users,
    firstEventAt: row.first ? new Date(row.first).toISOString() : null,
    lastEventAt: row.last ? new Date(row.last).toISOString() : null,
    messagesByType,
    messagesWithoutAccount: row.unresolved,
    outcomes: row.outcomes,
  };
}
