import type { PqlConfig } from "../config/schema.ts";
import { signalSpecs } from "./account-features-query.ts";
import type { Database } from "./database.ts";

export interface SignalCoverage {
  /** Messages each signal matches, all time (raw and pruned); 0 for a signal no event feeds. */
  matched: Record<string, number>;
  /** The most frequent events (track, screen, page names) no signal matches: likely misspellings. */
  unmatched: { type: string; event: string; messages: number }[];
}

/**
 * What the config's signals match in the stored events, counted in the database: one pass over
 * the messages grouped by (type, event, page path), joined with the signals' match rules.
 */
export async function signalCoverage(db: Database, config: PqlConfig): Promise<SignalCoverage> {
  const { rows } = await db.sql.query<{ key: string | null; type: string; event: string; n: string }>(
    `WITH sig_exact AS (
      SELECT * FROM jsonb_to_recordset($1::jsonb -> 'exact') AS s(key text, type text, by text, name text)
    ),
    sig_prefix AS (SELECT * FROM jsonb_to_recordset($1::jsonb -> 'prefix') AS s(key text, prefix text)),
    seen AS (
      SELECT type, event, path, sum(n)::bigint AS n FROM (
        SELECT type, COALESCE(event, '') AS event, CASE WHEN type = 'page' THEN COALESCE(path, '') ELSE '' END AS path,
          count(*) AS n
        FROM messages WHERE type IN ('track', 'page', 'screen') GROUP BY 1, 2, 3
        UNION ALL
        SELECT type, event, path, messages FROM pruned_message_times WHERE type IN ('track', 'page', 'screen')
      ) x GROUP BY 1, 2, 3
    ),
    matches AS (
      SELECT s.key, x.type, x.event, x.path FROM seen x JOIN sig_exact s ON s.by = 'event' AND s.type = x.type AND s.name = x.event
      UNION
      SELECT s.key, x.type, x.event, x.path FROM seen x JOIN sig_exact s ON s.by = 'path' AND x.type = 'page' AND s.name = x.path
      UNION
      SELECT s.key, x.type, x.event, x.path FROM seen x JOIN sig_prefix s ON x.type = 'page' AND x.path LIKE s.prefix
    )
    SELECT m.key, x.type, x.event, sum(x.n)::text AS n
    FROM seen x LEFT JOIN matches m ON m.type = x.type AND m.event = x.event AND m.path = x.path
    GROUP BY m.key, x.type, x.event`,
    [JSON.stringify(signalSpecs(config))],
  );
  const matched: Record<string, number> = Object.fromEntries(config.signals.map((s) => [s.key, 0]));
  const unmatched = new Map<string, { type: string; event: string; messages: number }>();
  for (const r of rows) {
    if (r.key !== null) matched[r.key] = (matched[r.key] ?? 0) + Number(r.n);
    else if (r.event !== "") {
      const k = `${r.type}\u0000${r.event}`;
      const u = unmatched.get(k) ?? { type: r.type, event: r.event, messages: 0 };
      u.messages += Number(r.n);
      unmatched.set(k, u);
    }
  }
  // An event matched by one signal is not "unmatched" for another path it was also seen on.
  const matchedEvents = new Set(rows.filter((r) => r.key !== null).map((r) => `${r.type}\u0000${r.event}`));
  return {
    matched,
    unmatched: [...unmatched.entries()]
      .filter(([k]) => !matchedEvents.has(k))
      .map(([, u]) => u)
      .sort((a, b) => b.messages - a.messages || a.event.localeCompare(b.event))
      .slice(0, 10),
  };
}
