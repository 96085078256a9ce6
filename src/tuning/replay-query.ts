import type { PqlConfig } from "../config/schema.ts";
import type { Firmographics } from "../signals/account-features.ts";
import { signalSpecs } from "../store/account-features-query.ts";
import type { Database } from "../store/database.ts";
import type { PersonaKeys } from "../store/persona-store.ts";

export const DAY_MS = 86_400_000;

/**
 * One account's history as daily rollups: everything a replay needs to rebuild the account's
 * features at any midnight (UTC) without reading a raw event again. Days are numbered so that
 * day D holds the messages with timestamps in ((D - 1) x 24 h, D x 24 h] since the epoch: a
 * window (t - w days, t] with t at a midnight is exactly the days (T - w, T], T = t / 24 h.
 */
export interface AccountHistory {
  accountId: string;
  name: string | null;
  domain: string | null;
  firmographics: Firmographics;
  /** The first message ever (epoch ms), a pruned one included; null when there is none. */
  firstAt: number | null;
  /** Days with any message, ascending; per day: product events, and the last message time (epoch ms). */
  days: Int32Array;
  productEvents: Int32Array;
  lastAt: Float64Array;
  /**
   * Users with a product event: their active days, ascending, and their persona key under each
   * config of the replay (null: none known); `personas` null when the user has no users row.
   */
  users: { personas: (string | null)[] | null; days: Int32Array }[];
  /**
   * Per signal key (namespaced by config, see `replaySpecs`): the days with matching events,
   * ascending, the events on each, and the first matching time ever (epoch ms).
   */
  signals: Map<string, { days: Int32Array; counts: Int32Array; firstAt: number }>;
}

/**
 * Signal specs of several configs in one set, each key prefixed with its config's index ("0:",
 * "1:"), so one scan of the events serves a baseline and a candidate.
 */
export function replaySpecs(configs: readonly PqlConfig[]) {
  const exact: ReturnType<typeof signalSpecs>["exact"] = [];
  const prefix: ReturnType<typeof signalSpecs>["prefix"] = [];
  configs.forEach((config, i) => {
    const specs = signalSpecs(config);
    for (const s of specs.exact) exact.push({ ...s, key: `${i}:${s.key}` });
    for (const s of specs.prefix) prefix.push({ ...s, key: `${i}:${s.key}` });
  });
  return { exact, prefix };
}

/**
 * The daily rollups of `accountIds`, aggregated in the database from messages up to `until`
 * (and the first times prune kept): one row per account, its rollups as JSON arrays. The raw
 * events are read once here, whatever the number of points replayed.
 */
export const REPLAY_SQL = `
WITH sig_exact AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb -> 'exact') AS s(key text, window_days int, type text, by text, name text)
),
sig_prefix AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb -> 'prefix') AS s(key text, window_days int, prefix text)
),
m AS (
  SELECT x.id, x.account_id, x.user_id, x.type, x.event, x.path, x.timestamp,
    x.type IN ('track', 'page', 'screen') AS product,
    ceil(extract(epoch FROM x.timestamp) / 86400)::int AS day
  FROM unnest($1::text[]) AS ids(account_id)
  CROSS JOIN LATERAL (
    SELECT id, account_id, user_id, type, event, path, timestamp FROM messages
    WHERE account_id = ids.account_id AND timestamp <= $2::timestamptz
    OFFSET 0
  ) x
),
-- UNION: a message matching one signal twice (a name and a prefix) counts once, as live.
matched AS (
  SELECT m.id, m.account_id, m.day, m.timestamp, s.key
  FROM m JOIN sig_exact s ON s.by = 'event' AND s.type = m.type AND s.name = m.event
  UNION
  SELECT m.id, m.account_id, m.day, m.timestamp, s.key
  FROM m JOIN sig_exact s ON s.by = 'path' AND m.type = 'page' AND s.name = m.path
  UNION
  SELECT m.id, m.account_id, m.day, m.timestamp, s.key
  FROM m JOIN sig_prefix s ON m.type = 'page' AND m.path LIKE s.prefix
),
pruned AS (
  SELECT account_id, type, event, path, first_at FROM pruned_message_times
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
sig_days AS (
  SELECT account_id, key, day, count(*)::int AS n, min(timestamp) AS first_at FROM matched GROUP BY 1, 2, 3
),
sigs AS (
  SELECT account_id, jsonb_object_agg(key, jsonb_build_array(days, counts, first_ms)) AS signals FROM (
    SELECT k.account_id, k.key,
      COALESCE(d.days, '{}') AS days, COALESCE(d.counts, '{}') AS counts,
      (extract(epoch FROM LEAST(d.first_at, pf.first_at)) * 1000)::float8 AS first_ms
    FROM (SELECT account_id, key FROM sig_days UNION SELECT account_id, key FROM pruned_firsts) k
    LEFT JOIN (
      SELECT account_id, key, array_agg(day ORDER BY day) AS days, array_agg(n ORDER BY day) AS counts,
        min(first_at) AS first_at
      FROM sig_days GROUP BY 1, 2
    ) d ON d.account_id = k.account_id AND d.key = k.key
    LEFT JOIN (SELECT account_id, key, min(first_at) AS first_at FROM pruned_firsts GROUP BY 1, 2) pf
      ON pf.account_id = k.account_id AND pf.key = k.key
  ) x GROUP BY account_id
),
days AS (
  SELECT account_id, array_agg(day ORDER BY day) AS days, array_agg(n ORDER BY day) AS product,
    array_agg(last_ms ORDER BY day) AS last_ms, min(first_at) AS first_at
  FROM (
    SELECT account_id, day, count(*) FILTER (WHERE product)::int AS n,
      (extract(epoch FROM max(timestamp)) * 1000)::float8 AS last_ms, min(timestamp) AS first_at
    FROM m GROUP BY 1, 2
  ) d GROUP BY account_id
),
persona_keys AS (
  SELECT * FROM jsonb_to_recordset($4::jsonb) AS k(config int, title text, persona text, key text)
),
-- Each active user's days, and per config its persona key (null: none); null for all when the user
-- has no users row (counted as active, with no persona either way, as the live query does).
users_days AS (
  SELECT x.account_id, jsonb_agg(jsonb_build_array(CASE WHEN u.known THEN pk.personas END, x.days)) AS users
  FROM (
    SELECT account_id, user_id, array_agg(day ORDER BY day) AS days
    FROM (SELECT DISTINCT account_id, user_id, day FROM m WHERE product AND user_id IS NOT NULL) ud
    GROUP BY 1, 2
  ) x
  LEFT JOIN LATERAL (SELECT true AS known, title, persona FROM users WHERE id = x.user_id OFFSET 0) u ON true
  CROSS JOIN LATERAL (
    SELECT jsonb_agg(k.key ORDER BY c.i) AS personas FROM generate_series(0, $5::int - 1) AS c(i)
    LEFT JOIN persona_keys k ON k.config = c.i AND k.title = COALESCE(u.title, '') AND k.persona = COALESCE(u.persona, '')
  ) pk
  GROUP BY x.account_id
),
pruned_first AS (
  SELECT account_id, min(first_at) AS first_at FROM pruned GROUP BY account_id
)
SELECT a.id, a.name, a.domain, a.employees, a.industry, a.region, a.plan, a.seats, a.tech_stack, a.traits,
  (extract(epoch FROM LEAST(d.first_at, pr.first_at)) * 1000)::float8 AS first_ms,
  d.days, d.product, d.last_ms, ud.users, sg.signals
FROM accounts a
LEFT JOIN days d ON d.account_id = a.id
LEFT JOIN users_days ud ON ud.account_id = a.id
LEFT JOIN sigs sg ON sg.account_id = a.id
LEFT JOIN pruned_first pr ON pr.account_id = a.id
WHERE a.id = ANY($1::text[])
ORDER BY a.id`;

interface ReplayRow {
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
  first_ms: number | null;
  days: number[] | null;
  product: number[] | null;
  last_ms: number[] | null;
  users: [(string | null)[] | null, number[]][] | null;
  signals: Record<string, [number[], number[], number | null]> | null;
}

/** The daily rollups of `accountIds` up to `until` (see `REPLAY_SQL`). */
export async function readAccountHistories(
  db: Database,
  configs: readonly PqlConfig[],
  until: Date,
  accountIds: readonly string[],
  personas: readonly PersonaKeys[],
): Promise<AccountHistory[]> {
  if (accountIds.length === 0) return [];
  const { rows } = await db.sql.query<ReplayRow>(REPLAY_SQL, [
    accountIds,
    until.toISOString(),
    JSON.stringify(replaySpecs(configs)),
    JSON.stringify(personas.flatMap((keys, config) => keys.map((k) => ({ ...k, config })))),
    configs.length,
  ]);
  return rows.map(toHistory);
}

function toHistory(r: ReplayRow): AccountHistory {
  const signals = new Map<string, { days: Int32Array; counts: Int32Array; firstAt: number }>();
  for (const [key, [days, counts, firstMs]] of Object.entries(r.signals ?? {})) {
    if (firstMs === null) continue;
    signals.set(key, { days: Int32Array.from(days), counts: Int32Array.from(counts), firstAt: firstMs });
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
    firstAt: r.first_ms,
    days: Int32Array.from(r.days ?? []),
    productEvents: Int32Array.from(r.product ?? []),
    lastAt: Float64Array.from(r.last_ms ?? []),
    users: (r.users ?? []).map(([personas, days]) => ({ personas, days: Int32Array.from(days) })),
    signals,
  };
}
