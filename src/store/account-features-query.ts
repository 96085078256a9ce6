import type { PqlConfig, SignalDefinition } from "../config/schema.ts";
import { historyRead } from "../config/windows.ts";
import type { AccountFeatures, SignalFeature } from "../signals/account-features.ts";
import type { Database } from "./database.ts";
import type { PersonaKeys } from "./persona-store.ts";

/**
 * How one signal matches messages: exact names (a track or screen event, a page name, or a page
 * path: page patterns starting with "/" are paths), and page path prefixes (patterns ending in
 * "*", as LIKE patterns with their own wildcards escaped). Every store's SQL is built from these.
 */
export function signalRules(signal: SignalDefinition) {
  const exact: { type: string; by: "event" | "path"; name: string }[] = [];
  const prefix: string[] = [];
  for (const name of signal.match.events ?? []) exact.push({ type: "track", by: "event", name });
  for (const name of signal.match.screens ?? []) exact.push({ type: "screen", by: "event", name });
  for (const page of signal.match.pages ?? []) {
    if (page.endsWith("*")) prefix.push(`${page.slice(0, -1).replace(/[\\%_]/g, "\\$&")}%`);
    else exact.push({ type: "page", by: page.startsWith("/") ? "path" : "event", name: page });
  }
  return { exact, prefix };
}

/** Every signal's rules as rows to hash-join on in SQL (see `signalRules`). */
export function signalSpecs(config: PqlConfig) {
  const exact: { key: string; window_days: number; type: string; by: "event" | "path"; name: string }[] = [];
  const prefix: { key: string; window_days: number; prefix: string }[] = [];
  for (const s of config.signals) {
    const base = { key: s.key, window_days: s.windowDays };
    const rules = signalRules(s);
    for (const rule of rules.exact) exact.push({ ...base, ...rule });
    for (const p of rules.prefix) prefix.push({ ...base, prefix: p });
  }
  return { exact, prefix };
}

/**
 * The features of `accountIds` as of `now`, aggregated in the database: raw events never leave
 * it. Only messages with timestamps at or before `now` count, so a past date recomputes exactly.
 * Windows are (now - days, now]; "previous" windows the same length just before.
 *
 * Raw messages are read only in the history scoring reads ($6 days back from now): the longest
 * signal window, or twice the activity window (the trend). First times (each signal's, first
 * seen) come from message_times, the first and last time of every account's messages per (type,
 * event, page path), raw and pruned alike: a first time ever is a first time as of `now` when it
 * is at or before `now`. So a pass costs what the windows hold, not the length of the history.
 * Last seen is that table's last time, or, when some of it lies after `now` (a past date), one
 * index probe for the latest message at or before `now` (and what prune kept).
 * Signals' previous-period counts are not scored: counted only when $7 asks (they read twice the
 * signal windows). Users' personas come from $5, the persona of each (title, persona trait) pair
 * (see `personaKeys`).
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
    -- One index range scan per account on (account_id, timestamp), over the history read only;
    -- OFFSET 0 keeps the planner from flattening this into a scan of the whole table when its
    -- estimates are off.
    SELECT id, account_id, user_id, type, event, path, timestamp FROM messages
    WHERE account_id = ids.account_id AND timestamp <= $2::timestamptz
      AND timestamp > $2::timestamptz - make_interval(days => $6::int)
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
counts AS (
  SELECT account_id, key,
    count(*) FILTER (WHERE timestamp > $2::timestamptz - make_interval(days => window_days))::int AS n,
    count(*) FILTER (WHERE $7::boolean AND timestamp <= $2::timestamptz - make_interval(days => window_days)
      AND timestamp > $2::timestamptz - make_interval(days => 2 * window_days))::int AS prev
  FROM matched
  GROUP BY account_id, key
),
-- First and last times per (type, event, page path) with a message at or before now. Event and
-- path are '' where messages have none (ingestion never stores an empty one).
times AS (
  SELECT account_id, type, event, path, first_at, last_at FROM message_times
  WHERE account_id = ANY($1::text[]) AND first_at <= $2::timestamptz
),
firsts AS (
  SELECT t.account_id, s.key, t.first_at
  FROM times t JOIN sig_exact s ON s.by = 'event' AND s.type = t.type AND s.name = t.event
  UNION ALL
  SELECT t.account_id, s.key, t.first_at
  FROM times t JOIN sig_exact s ON s.by = 'path' AND t.type = 'page' AND s.name = t.path
  UNION ALL
  SELECT t.account_id, s.key, t.first_at
  FROM times t JOIN sig_prefix s ON t.type = 'page' AND t.path <> '' AND t.path LIKE s.prefix
),
-- Every message counted has a first time at or before it, so each counted signal has a first
-- time (the full join only guards against a table edited by hand).
signals AS (
  SELECT COALESCE(f.account_id, c.account_id) AS account_id,
    jsonb_object_agg(COALESCE(f.key, c.key),
      jsonb_build_array(COALESCE(c.n, 0), CASE WHEN $7::boolean THEN COALESCE(c.prev, 0) END, f.first_at)) AS signals
  FROM (SELECT account_id, key, min(first_at) AS first_at FROM firsts GROUP BY account_id, key) f
  FULL JOIN counts c ON c.account_id = f.account_id AND c.key = f.key
  GROUP BY 1
),
span AS (
  SELECT account_id, min(first_at) AS first_seen, max(last_at) AS last_at, bool_or(last_at > $2::timestamptz) AS later
  FROM times GROUP BY account_id
),
activity AS (
  SELECT account_id,
    count(DISTINCT user_id) FILTER (WHERE product AND recent)::int AS active_users,
    count(DISTINCT (timestamp AT TIME ZONE 'UTC')::date) FILTER (WHERE product AND recent)::int AS active_days,
    count(*) FILTER (WHERE product AND recent)::int AS events,
    count(*) FILTER (WHERE product AND previous)::int AS previous_events
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
  sp.first_seen,
  CASE WHEN sp.later THEN GREATEST(
    (SELECT l.timestamp FROM messages l WHERE l.account_id = a.id AND l.timestamp <= $2::timestamptz
      ORDER BY l.timestamp DESC LIMIT 1),
    (SELECT max(p.last_at) FROM pruned_message_times p WHERE p.account_id = a.id AND p.last_at <= $2::timestamptz))
  ELSE sp.last_at END AS last_seen,
  act.active_users, act.active_days, act.events, act.previous_events,
  p.personas, p.without_persona, sg.signals
FROM accounts a
LEFT JOIN span sp ON sp.account_id = a.id
LEFT JOIN activity act ON act.account_id = a.id
LEFT JOIN personas p ON p.account_id = a.id
LEFT JOIN signals sg ON sg.account_id = a.id
WHERE a.id = ANY($1::text[])
ORDER BY a.id`;

export interface FeaturesOptions {
  /** Count each signal's previous period too (`previousCount`): not scored, and it reads twice the signal windows. */
  previousCounts?: boolean;
}

/** How many days back from `now` the features query reads raw messages. Pure. */
export function featuresReadDays(config: PqlConfig, options: FeaturesOptions = {}): number {
  const longestSignal = Math.max(0, ...config.signals.map((s) => s.windowDays));
  return Math.max(historyRead(config).days, options.previousCounts ? 2 * longestSignal : 0);
}

/** The parameters of FEATURES_SQL. */
export function featuresParams(
  config: PqlConfig,
  now: Date,
  accountIds: readonly string[],
  personas: PersonaKeys,
  options: FeaturesOptions = {},
): unknown[] {
  return [
    accountIds,
    now.toISOString(),
    JSON.stringify(signalSpecs(config)),
    config.scoring.activeWindowDays,
    JSON.stringify(personas),
    featuresReadDays(config, options),
    options.previousCounts === true,
  ];
}

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
  /** key -> [count, previous count (null unless asked for), first time]. */
  signals: Record<string, [number, number | null, string | null]> | null;
}

export async function readAccountFeatures(
  db: Database,
  config: PqlConfig,
  now: Date,
  accountIds: readonly string[],
  personas: PersonaKeys,
  options: FeaturesOptions = {},
): Promise<AccountFeatures[]> {
  if (accountIds.length === 0) return [];
  const { rows } = await db.sql.query<FeatureRow>(
    FEATURES_SQL,
    featuresParams(config, now, accountIds, personas, options),
  );
  return rows.map(toFeatures);
}

function toFeatures(r: FeatureRow): AccountFeatures {
  const signals: Record<string, SignalFeature> = {};
  for (const [key, [count, previousCount, firstAt]] of Object.entries(r.signals ?? {})) {
    signals[key] = {
      count,
      ...(previousCount === null ? {} : { previousCount }),
      firstAt: firstAt ? new Date(firstAt) : null,
    };
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
