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
 *
 * Per account (a LATERAL subquery): one index range scan on (account_id, timestamp), grouped at
 * once into (day, user, type, event, path) with counts and first and last times; the days, the
 * users' days and the signals' days are all computed from those few hundred groups, in hash
 * tables and sorts that stay small (one big aggregation over a chunk's rows costs several times
 * more). Signals are numbered in $3 (`ki`, see `specsParam`): integers to group and sort on.
 */
export const REPLAY_SQL = `
WITH sig_exact AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb -> 'exact') AS s(ki int, type text, by text, name text)
),
sig_prefix AS (
  SELECT * FROM jsonb_to_recordset($3::jsonb -> 'prefix') AS s(ki int, prefix text)
),
persona_keys AS (
  SELECT * FROM jsonb_to_recordset($4::jsonb) AS k(config int, title text, persona text, key text)
)
SELECT a.id, a.name, a.domain, a.employees, a.industry, a.region, a.plan, a.seats, a.tech_stack, a.traits,
  x.first_ms, x.days, x.users, x.signals
FROM accounts a
CROSS JOIN LATERAL (
  WITH g AS (
    -- Day D holds (D - 1, D] x 24 h: a midnight belongs to the day it ends (exact: timestamps are
    -- whole microseconds).
    SELECT ((timestamp - interval '1 microsecond') AT TIME ZONE 'UTC')::date - DATE '1970-01-01' + 1 AS day,
      user_id, type, event, path,
      count(*)::int AS n, min(timestamp) AS first_at, max(timestamp) AS last_at
    FROM messages
    WHERE account_id = a.id AND timestamp <= $2::timestamptz
    GROUP BY 1, 2, 3, 4, 5
  ),
  pruned AS (
    SELECT type, event, path, first_at FROM pruned_message_times
    WHERE account_id = a.id AND first_at <= $2::timestamptz
  ),
  -- A message matching one signal twice (a name and a prefix) counts once, as live: UNION
  -- drops the second match of a group (its day, user, type, event and path) to the same signal.
  sig_days AS (
    SELECT ki, day, sum(n)::int AS n, min(first_at) AS first_at FROM (
      SELECT g.day, g.user_id, g.type, g.event, g.path, g.n, g.first_at, s.ki
      FROM g JOIN sig_exact s ON s.by = 'event' AND s.type = g.type AND s.name = g.event
      UNION
      SELECT g.day, g.user_id, g.type, g.event, g.path, g.n, g.first_at, s.ki
      FROM g JOIN sig_exact s ON s.by = 'path' AND g.type = 'page' AND s.name = g.path
      UNION
      SELECT g.day, g.user_id, g.type, g.event, g.path, g.n, g.first_at, s.ki
      FROM g JOIN sig_prefix s ON g.type = 'page' AND g.path LIKE s.prefix
    ) matched GROUP BY 1, 2
  ),
  pruned_firsts AS (
    SELECT s.ki, p.first_at
    FROM pruned p JOIN sig_exact s ON s.by = 'event' AND s.type = p.type AND s.name = p.event
    UNION ALL
    SELECT s.ki, p.first_at
    FROM pruned p JOIN sig_exact s ON s.by = 'path' AND p.type = 'page' AND s.name = p.path
    UNION ALL
    SELECT s.ki, p.first_at
    FROM pruned p JOIN sig_prefix s ON p.type = 'page' AND p.path LIKE s.prefix
  )
  SELECT
    (extract(epoch FROM LEAST((SELECT min(first_at) FROM g), (SELECT min(first_at) FROM pruned))) * 1000)::float8
      AS first_ms,
    -- [days, product events per day, last time per day (epoch ms)]
    (SELECT json_build_array(array_agg(day ORDER BY day), array_agg(n ORDER BY day), array_agg(last_ms ORDER BY day))
      FROM (
        SELECT day, COALESCE(sum(n) FILTER (WHERE type IN ('track', 'page', 'screen')), 0)::int AS n,
          (extract(epoch FROM max(last_at)) * 1000)::float8 AS last_ms
        FROM g GROUP BY day
      ) d
      HAVING count(*) > 0) AS days,
    -- Each active user's days, and per config its persona key (null: none); null for all when the
    -- user has no users row (counted as active, with no persona either way, as the live query does).
    (SELECT json_agg(json_build_array(CASE WHEN u.known THEN pk.personas END, ud.days))
      FROM (
        SELECT user_id, array_agg(DISTINCT day) AS days FROM g
        WHERE type IN ('track', 'page', 'screen') AND user_id IS NOT NULL
        GROUP BY user_id
      ) ud
      LEFT JOIN LATERAL (SELECT true AS known, title, persona FROM users WHERE id = ud.user_id OFFSET 0) u ON true
      CROSS JOIN LATERAL (
        SELECT jsonb_agg(k.key ORDER BY c.i) AS personas FROM generate_series(0, $5::int - 1) AS c(i)
        LEFT JOIN persona_keys k
          ON k.config = c.i AND k.title = COALESCE(u.title, '') AND k.persona = COALESCE(u.persona, '')
      ) pk) AS users,
    -- [signal number, days, matching events per day, first matching time ever (epoch ms)]
    (SELECT json_agg(json_build_array(ki, days, counts, (extract(epoch FROM first_at) * 1000)::float8))
      FROM (
        SELECT ki, COALESCE(array_agg(day ORDER BY day) FILTER (WHERE day IS NOT NULL), '{}') AS days,
          COALESCE(array_agg(n ORDER BY day) FILTER (WHERE day IS NOT NULL), '{}') AS counts,
          min(first_at) AS first_at
        FROM (
          SELECT ki, day, n, first_at FROM sig_days
          UNION ALL
          SELECT ki, NULL, NULL, first_at FROM pruned_firsts
        ) r
        GROUP BY ki
      ) d) AS signals
) x
WHERE a.id = ANY($1::text[])
ORDER BY a.id`;

/** $3 of REPLAY_SQL: `replaySpecs` with each signal key numbered (`ki`, an index into `keys`). */
function specsParam(configs: readonly PqlConfig[]): { keys: string[]; json: string } {
  const specs = replaySpecs(configs);
  const keys = [...new Set([...specs.exact, ...specs.prefix].map((s) => s.key))];
  const index = new Map(keys.map((k, i) => [k, i]));
  const numbered = <T extends { key: string }>(list: T[]) =>
    list.map(({ key, ...rest }) => ({ ...rest, ki: index.get(key) as number }));
  return { keys, json: JSON.stringify({ exact: numbered(specs.exact), prefix: numbered(specs.prefix) }) };
}

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
  /** [days, product events per day, last time per day]. */
  days: [number[], number[], number[]] | null;
  users: [(string | null)[] | null, number[]][] | null;
  /** [signal number (see specsParam), days, counts, first time]. */
  signals: [number, number[], number[], number | null][] | null;
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
  const specs = specsParam(configs);
  const { rows } = await db.sql.query<ReplayRow>(REPLAY_SQL, [
    accountIds,
    until.toISOString(),
    specs.json,
    JSON.stringify(personas.flatMap((keys, config) => keys.map((k) => ({ ...k, config })))),
    configs.length,
  ]);
  return rows.map((r) => toHistory(r, specs.keys));
}

function toHistory(r: ReplayRow, keys: readonly string[]): AccountHistory {
  const signals = new Map<string, { days: Int32Array; counts: Int32Array; firstAt: number }>();
  for (const [ki, days, counts, firstMs] of r.signals ?? []) {
    if (firstMs === null) continue;
    signals.set(keys[ki] as string, {
      days: Int32Array.from(days),
      counts: Int32Array.from(counts),
      firstAt: firstMs,
    });
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
    days: Int32Array.from(r.days?.[0] ?? []),
    productEvents: Int32Array.from(r.days?.[1] ?? []),
    lastAt: Float64Array.from(r.days?.[2] ?? []),
    users: (r.users ?? []).map(([personas, days]) => ({ personas, days: Int32Array.from(days) })),
    signals,
  };
}
