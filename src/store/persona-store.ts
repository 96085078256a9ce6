import type { PersonaMatcher } from "../signals/persona.ts";
import type { Database } from "./database.ts";

/** The config's persona key for each distinct (title, persona trait) pair; '' stands for a missing value. */
export type PersonaKeys = readonly { title: string; persona: string; key: string }[];

/**
 * Derives the persona of every distinct (title, persona trait) pair among users with the
 * config's matcher. The pairs are few whatever the number of users, so the matcher runs a
 * handful of times and nothing is written back: the features query joins users to this table.
 * Pairs that match no persona are left out (their users count as "without persona").
 */
export async function personaKeys(db: Database, personaOf: PersonaMatcher): Promise<PersonaKeys> {
  const { rows } = await db.sql.query<{ title: string; persona: string }>(
    "SELECT DISTINCT COALESCE(title, '') AS title, COALESCE(persona, '') AS persona FROM users",
  );
  const keys: { title: string; persona: string; key: string }[] = [];
  for (const pair of rows) {
    const key = personaOf({ title: pair.title || null, persona: pair.persona || null });
    if (key !== null) keys.push({ ...pair, key });
  }
  return keys;
}
