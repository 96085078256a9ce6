import type { PersonaMatcher } from "../signals/persona.ts";
import type { Database } from "./database.ts";

const PAGE = 20_000;

/**
 * Derives users' persona keys with the config's matcher, for users never derived with this
 * config version (new users, changed titles, a new config). Pages through users by id; returns
 * the accounts whose users' personas changed, so they are re-scored.
 */
export async function refreshPersonas(
  db: Database,
  personaOf: PersonaMatcher,
  version: string,
): Promise<Set<string>> {
  const changedAccounts = new Set<string>();
  let after = "";
  for (;;) {
    const { rows } = await db.sql.query<{ id: string; title: string | null; persona: string | null }>(
      `SELECT id, title, persona FROM users WHERE persona_version IS DISTINCT FROM $1 AND id > $2 ORDER BY id LIMIT ${PAGE}`,
      [version, after],
    );
    if (rows.length === 0) return changedAccounts;
    after = (rows[rows.length - 1] as (typeof rows)[number]).id;
    const derived = rows.map((r) => ({ id: r.id, persona_key: personaOf(r) }));
    const { rows: changed } = await db.sql.query<{ account_id: string | null }>(
      `WITH d AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(id text, persona_key text)),
      old AS (SELECT u.id, u.persona_key FROM users u JOIN d ON d.id = u.id)
      UPDATE users u SET persona_key = d.persona_key, persona_version = $2
      FROM d JOIN old ON old.id = d.id
      WHERE u.id = d.id
      RETURNING u.account_id, (old.persona_key IS DISTINCT FROM d.persona_key) AS changed`,
      [JSON.stringify(derived), version],
    );
    for (const row of changed as { account_id: string | null; changed: boolean }[]) {
      if (row.changed && row.account_id) changedAccounts.add(row.account_id);
    }
    if (rows.length < PAGE) return changedAccounts;
  }
}
