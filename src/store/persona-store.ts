import type { PersonaMatcher } from "../signals/persona.ts";
import type { Database } from "./database.ts";

/**
 * Derives users' persona keys with the config's matcher, for users never derived with this
 * config version (new users, changed titles, a new config). Set-based: the matcher runs once per
 * distinct (title, persona trait) pair, which are few whatever the number of users, and one
 * statement applies them. Returns the accounts whose users' personas changed, to be re-scored.
 */
export async function refreshPersonas(
  db: Database,
  personaOf: PersonaMatcher,
  version: string,
): Promise<Set<string>> {
  const { rows: pairs } = await db.sql.query<{ title: string | null; persona: string | null }>(
    "SELECT DISTINCT title, persona FROM users WHERE persona_version IS DISTINCT FROM $1",
    [version],
  );
  if (pairs.length === 0) return new Set();
  // Empty and missing values derive alike, so pairs are keyed with '' for null (a hashable join).
  const derived = JSON.stringify(
    pairs.map((p) => ({ title: p.title ?? "", persona: p.persona ?? "", key: personaOf(p) })),
  );
  const pairsTable = "jsonb_to_recordset($1::jsonb) AS d(title text, persona text, key text)";
  const stale = `u.persona_version IS DISTINCT FROM $2
    AND COALESCE(u.title, '') = d.title AND COALESCE(u.persona, '') = d.persona`;
  return db.transaction(async (tx) => {
    const { rows: changed } = await tx.query<{ account_id: string }>(
      `SELECT DISTINCT u.account_id FROM users u JOIN ${pairsTable} ON ${stale}
      WHERE u.persona_key IS DISTINCT FROM d.key AND u.account_id IS NOT NULL`,
      [derived, version],
    );
    // Users whose pair appeared after the first read keep their old version: the next pass derives them.
    await tx.query(
      `UPDATE users u SET persona_key = d.key, persona_version = $2 FROM ${pairsTable} WHERE ${stale}`,
      [derived, version],
    );
    return new Set(changed.map((r) => r.account_id));
  });
}
