import type { PqlConfig } from "../config/schema.ts";
import type { AccountFeatures, SignalFeature } from "../signals/account-features.ts";
import type { Database } from "./database.ts";
import type { PersonaKeys } from "./persona-store.ts";

/**
 * How signals are matched in SQL, as rows to hash-join on: exact names (a track or screen
 * event, a page name, or a page path: page patterns starting with "/" are paths), and page path
 * prefixes (patterns ending in "*").
 */
export function signalSpecs(config: PqlConfig) {
  const exact: { key: string; window_days: number; type: string; by: "event" | "path"; name: string }[] = [];
  const prefix: { key: string; window_days: number; prefix: string }[] = [];
  for (const s of config.signals) {
    const base = { key: s.key, window_days: s.windowDays };
    for (const name of s.match.events ?? []) exact.push({ ...base, type: "track", by: "event", name });
    for (const name of s.match.screens ?? []) exact.push({ ...base, type: "screen", by: "event", name });
    for (const page of s.match.pages ?? []) {
      if (page.endsWith("*"))
        prefix.push({ ...base, prefix: `${page.slice(0, -1).replace(/[\\%_]/g, "\\$&")}%` });
      else exact.push({ ...base, type: "page", by: page.startsWith("/") ? "path" : "event", name: page });
    }
  }
  return { exact, prefix };
}

/**
 * The features of `accountIds` as of `now`, aggregated in the database: raw events never leave
 * it. Only messages with timestamps at or before `now` count, so a past date recomputes exactly.
 * Windows are (now - days, now]; "previous" windows the same length just before. Users' personas
 * come from $5, the persona of each (title, persona trait) pair (see `personaKeys`).
 */
export const FEATURES_SQL = `
WITH sig_exact AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb -> 'exact') AS s(key text, window_days int, type text, by text, name text)
),
sig_prefix AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb -> 'prefix') AS s(key text, window_days int, prefix text)
),
m AS (
  SELECT x.id, x.account_id, x.user_id, x.type, x.event, x.path, x.timestamp,
    x.type IN ('track', 'page', 'screen') AS product,
    x.timestamp > $2::timestamptz - make_interval(days => $4::int) AS recent,
    x.timestamp <= $2::timestamptz - make_interval(days => $4::int)
      AND x.timestamp > $2::timestamptz - make_interval(days => 2 * $4::int) AS previous
  FROM unnest($1::text[]) AS ids(account_id)
  CROSS JOIN LATERAL (
    -- One index range scan per account on (account_id, timestamp); OFFSET 0 keeps the planner
    -- from flattening this into a scan of the whole table when its estimates are off.
    SELECT id, account_id, user_id, type, event, path, timestamp FROM messages
    WHERE account_id = ids.account_id AND timestamp <= $2::timestamptz
    OFFSET 0
  ) x
),
matched AS (
  SELECT m.id, m.account_id, m.timestamp, s.key, s.window_days
  FROM m JOIN sig_exact s ON s.by = 'event' AND s.type = m.type AND s.name = m.event
  UNION
  SELECT m.id, m.account_id, m.timestamp, s.key, s.window_days
  FROM m JOIN sig_exact s ON s.by = 'path' AND m.type = 'page' AND s.name = m.path
  UNION
  SELECT m.id, m.account_id, m.timestamp, s.key, s.window_days
  FROM m JOIN sig_prefix s ON m.type = 'page' AND m.path LIKE s.prefix
),
-- What prune kept of deleted messages (first and last times per type, event, page path): it
-- only ever lies before every window, so it adds first times, never counts.
pruned AS (
  SELECT account_id, type, event, path, first_at, last_at FROM pruned_message_times
  WHERE account_id = ANY($1::text[]) AND first_at <= $2::timestamptz
),
pruned_firsts AS (
  SELECT p.account_id, s.key, p.first_at
  FROM pruned p JOIN sig_exact s ON s.by = 'event' AND s.type = p.type AND s.name = p.event
  UNION ALL
  SELECT p.account_id, s.key, p.first_at
  FROM pruned p JOIN sig_exact s ON s.by = 'path' AND p.type = 'page' AND s.name = p.path
  UNION ALL
  SELECT p.account_id, s.key, p.first_at
  FROM pruned p JOIN sig_prefix s ON p.type = 'page' AND p.path LIKE s.prefix
),
per_signal AS (
  SELECT account_id, key, sum(n)::int AS n, sum(prev)::int AS prev, min(first_at) AS first_at FROM (
    SELECT account_id, key,
      count(*) FILTER (WHERE timestamp > $2::timestamptz - make_interval(days => window_days)) AS n,
      count(*) FILTER (WHERE timestamp <= $2::timestamptz - make_interval(days => window_days)
        AND timestamp > $2::timestamptz - make_interval(days => 2 * window_days)) AS prev,
      min(timestamp) AS first_at
    FROM matched
    GROUP BY account_id, key
    UNION ALL
    SELECT account_id, key, 0, 0, first_at FROM pruned_firsts
  ) x
  GROUP BY account_id, key
),
pruned_span AS (
  SELECT account_id, min(first_at) AS first_seen, max(last_at) FILTER (WHERE last_at <= $2::timestamptz) AS last_seen
  FROM pruned GROUP BY account_id
),
signals AS (
  SELECT account_id, jsonb_object_agg(key, jsonb_build_array(n, prev, first_at)) AS signals
  FROM per_signal GROUP BY account_id
),
activity AS (
  SELECT account_id,
    count(DISTINCT user_id) FILTER (WHERE product AND recent)::int AS active_users,
    count(DISTINCT (timestamp AT TIME ZONE 'UTC')::date) FILTER (WHERE product AND recent)::int AS active_days,
    count(*) FILTER (WHERE product AND recent)::int AS events,
    count(*) FILTER (WHERE product AND previous)::int AS previous_events,
    min(timestamp) AS first_seen, max(timestamp) AS last_seen
  FROM m GROUP BY account_id
),
persona_keys AS (
  SELECT * FROM jsonb_to_recordset($5::jsonb) AS k(title text, persona text, key text)
),
personas AS (
  SELECT au.account_id,
    array_agg(DISTINCT k.key ORDER BY k.key) FILTER (WHERE k.key IS NOT NULL) AS personas,
    count(*) FILTER (WHERE k.key IS NULL)::int AS without_persona
  FROM (SELECT DISTINCT account_id, user_id FROM m WHERE product AND recent AND user_id IS NOT NULL) au
  -- One primary-key probe per active user: a chunk has thousands, the table may hold millions.
  CROSS JOIN LATERAL (SELECT title, persona FROM users WHERE id = au.user_id OFFSET 0) u
  LEFT JOIN persona_keys k ON k.title = COALESCE(u.title, '') AND k.persona = COALESCE(u.persona, '')
  GROUP BY au.account_id
)
SELECT a.id, a.name, a.domain, a.employees, a.industry, a.region, a.plan, a.seats, a.tech_stack, a.traits,
  LEAST(act.first_seen, ps.first_seen) AS first_seen, GREATEST(act.last_seen, ps.last_seen) AS last_seen,
  act.active_users, act.active_days, act.events, act.previous_events,
  p.personas, p.without_persona, sg.signals
FROM accounts a
LEFT JOIN activity act ON act.account_id = a.id
LEFT JOIN personas p ON p.account_id = a.id
LEFT JOIN signals sg ON sg.account_id = a.id
LEFT JOIN pruned_span ps ON ps.account_id = a.id
WHERE a.id = ANY($1::text[])
ORDER BY a.id`;

interface FeatureRow {
  id: string;
  name: string | null;
  domain: string | null;
  employees: number | null;
  industry: string | null;
  region: string | null;
  plan: string | null;
  seats: number | null;
  tech_stack: string[] | null;
  traits: Record<string, unknown> | null;
  first_seen: Date | string | null;
  last_seen: Date | string | null;
  active_users: number | null;
  active_days: number | null;
  events: number | null;
  previous_events: number | null;
  personas: string[] | null;
  without_persona: number | null;
  signals: Record<string, [number, number, string | null]> | null;
}

export async function readAccountFeatures(
  db: Database,
  config: PqlConfig,
  now: Date,
  accountIds: readonly string[],
  personas: PersonaKeys,
): Promise<AccountFeatures[]> {
  if (accountIds.length === 0) return [];
  const { rows } = await db.sql.query<FeatureRow>(FEATURES_SQL, [
    accountIds,
    now.toISOString(),
    JSON.stringify(signalSpecs(config)),
    config.scoring.activeWindowDays,
    JSON.stringify(personas),
  ]);
  return rows.map(toFeatures);
}

function toFeatures(r: FeatureRow): AccountFeatures {
  const signals: Record<string, SignalFeature> = {};
  for (const [key, [count, previousCount, firstAt]] of Object.entries(r.signals ?? {})) {
    signals[key] = { count, previousCount, firstAt: firstAt ? new Date(firstAt) : null };
  }
  return {
    accountId: r.id,
    name: r.name,
    domain: r.domain,
    firmographics: {
      employees: r.employees,
      industry: r.industry,
      region: r.region,
      plan: r.plan,
      seats: r.seats,
      techStack: r.tech_stack ?? [],
      traits: r.traits ?? {},
    },
    firstSeenAt: r.first_seen ? new Date(r.first_seen) : null,
    lastSeenAt: r.last_seen ? new Date(r.last_seen) : null,
    activeUsers: r.active_users ?? 0,
    personas: r.personas ?? [],
    usersWithoutPersona: r.without_persona ?? 0,
    activeDays: r.active_days ?? 0,
    events: r.events ?? 0,
    previousEvents: r.previous_events ?? 0,
    signals,
  };
}
