import type { PqlConfig } from "../config/schema.ts";
import type { AccountFeatures, SignalFeature } from "../signals/account-features.ts";
import type { Database } from "./database.ts";

/** How signals are matched in SQL: exact names per message type, and path prefixes for pages. */
export function signalSpecs(config: PqlConfig) {
  const likePrefix = (pattern: string) => `${pattern.slice(0, -1).replace(/[\\%_]/g, "\\$&")}%`;
  return config.signals.map((s) => ({
    key: s.key,
    window_days: s.windowDays,
    track_names: s.match.events ?? [],
    page_names: (s.match.pages ?? []).filter((p) => !p.endsWith("*")),
    page_prefixes: (s.match.pages ?? []).filter((p) => p.endsWith("*")).map(likePrefix),
    screen_names: s.match.screens ?? [],
  }));
}

/**
 * The features of `accountIds` as of `now`, aggregated in the database: raw events never leave
 * it. Only messages with timestamps at or before `now` count, so a past date recomputes exactly.
 * Windows are (now - days, now]; "previous" windows the same length just before.
 */
export const FEATURES_SQL = `
WITH sig AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb) AS s(key text, window_days int, track_names text[],
    page_names text[], page_prefixes text[], screen_names text[])
),
m AS (
  SELECT account_id, user_id, type, event, path, timestamp,
    type IN ('track', 'page', 'screen') AS product,
    timestamp > $2::timestamptz - make_interval(days => $4::int) AS recent,
    timestamp <= $2::timestamptz - make_interval(days => $4::int)
      AND timestamp > $2::timestamptz - make_interval(days => 2 * $4::int) AS previous
  FROM messages
  WHERE account_id = ANY($1::text[]) AND timestamp <= $2::timestamptz
),
per_signal AS (
  SELECT m.account_id, s.key,
    count(*) FILTER (WHERE m.timestamp > $2::timestamptz - make_interval(days => s.window_days))::int AS n,
    count(*) FILTER (WHERE m.timestamp <= $2::timestamptz - make_interval(days => s.window_days)
      AND m.timestamp > $2::timestamptz - make_interval(days => 2 * s.window_days))::int AS prev,
    min(m.timestamp) AS first_at
  FROM m JOIN sig s ON
    (m.type = 'track' AND m.event = ANY(s.track_names))
    OR (m.type = 'page' AND (m.path = ANY(s.page_names) OR m.event = ANY(s.page_names) OR m.path LIKE ANY(s.page_prefixes)))
    OR (m.type = 'screen' AND m.event = ANY(s.screen_names))
  GROUP BY m.account_id, s.key
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
personas AS (
  SELECT au.account_id,
    array_agg(DISTINCT u.persona_key ORDER BY u.persona_key) FILTER (WHERE u.persona_key IS NOT NULL) AS personas,
    count(*) FILTER (WHERE u.persona_key IS NULL)::int AS without_persona
  FROM (SELECT DISTINCT account_id, user_id FROM m WHERE product AND recent AND user_id IS NOT NULL) au
  JOIN users u ON u.id = au.user_id
  GROUP BY au.account_id
)
SELECT a.id, a.name, a.domain, a.employees, a.industry, a.region, a.plan, a.seats, a.tech_stack,
  act.first_seen, act.last_seen, act.active_users, act.active_days, act.events, act.previous_events,
  p.personas, p.without_persona, sg.signals
FROM accounts a
LEFT JOIN activity act ON act.account_id = a.id
LEFT JOIN personas p ON p.account_id = a.id
LEFT JOIN signals sg ON sg.account_id = a.id
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
): Promise<AccountFeatures[]> {
  if (accountIds.length === 0) return [];
  const { rows } = await db.sql.query<FeatureRow>(FEATURES_SQL, [
    accountIds,
    now.toISOString(),
    JSON.stringify(signalSpecs(config)),
    config.scoring.activeWindowDays,
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
