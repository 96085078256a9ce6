import type { Database } from "./database.ts";

export interface AccountActivity {
  accountId: string;
  name: string | null;
  domain: string | null;
  employees: number | null;
  plan: string | null;
  activeUsers: number;
  events: number;
  lastEventAt: string;
}

/** The most active accounts in (since, until]: product events (track, page, screen) counted in the database. */
export async function mostActiveAccounts(
  db: Database,
  since: Date,
  until: Date,
  limit: number,
): Promise<AccountActivity[]> {
  const { rows } = await db.sql.query<{
    id: string;
    name: string | null;
    domain: string | null;
    employees: number | null;
    plan: string | null;
    active_users: number;
    events: number;
    last_event: Date;
  }>(
    `SELECT a.id, a.name, a.domain, a.employees, a.plan, count(DISTINCT m.user_id)::int AS active_users,
      count(*)::int AS events, max(m.timestamp) AS last_event
    FROM messages m JOIN accounts a ON a.id = m.account_id
    WHERE m.timestamp > $1 AND m.timestamp <= $2 AND m.type IN ('track', 'page', 'screen')
    GROUP BY a.id, a.name, a.domain, a.employees, a.plan
    ORDER BY events DESC, a.id
    LIMIT $3`,
    [since.toISOString(), until.toISOString(), limit],
  );
  return rows.map((r) => ({
    accountId: r.id,
    name: r.name,
    domain: r.domain,
    employees: r.employees,
    plan: r.plan,
    activeUsers: r.active_users,
    events: r.events,
    lastEventAt: new Date(r.last_event).toISOString(),
  }));
}
