import type { Database } from "./database.ts";

export interface PruneCounts {
  /** Messages deleted that belonged to an account (their times kept in pruned_message_times). */
  messages: number;
  /** Messages deleted that no account was ever resolved for (anonymous, never identified). */
  unattributed: number;
  /** New rows of pruned_message_times (account and type, event, page path seen for the first time). */
  summaries: number;
}

/** What deleting the messages older than `cutoff` would remove, without removing it. */
export async function countPrunable(db: Database, cutoff: Date): Promise<PruneCounts> {
  const { rows } = await db.sql.query<PruneCounts>(
    `WITH old AS (
      SELECT account_id, type, COALESCE(event, '') AS event,
        CASE WHEN type = 'page' THEN COALESCE(path, '') ELSE '' END AS path
      FROM messages WHERE timestamp < $1::timestamptz
    )
    SELECT (SELECT count(*) FROM old WHERE account_id IS NOT NULL)::int AS messages,
      (SELECT count(*) FROM old WHERE account_id IS NULL)::int AS unattributed,
      (SELECT count(*) FROM (SELECT DISTINCT account_id, type, event, path FROM old o
        WHERE account_id IS NOT NULL AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = o.account_id)) k
        WHERE NOT EXISTS (SELECT 1 FROM pruned_message_times x WHERE x.account_id = k.account_id
          AND x.type = k.type AND x.event = k.event AND x.path = k.path))::int AS summaries`,
    [cutoff.toISOString()],
  );
  return rows[0] ?? { messages: 0, unattributed: 0, summaries: 0 };
}

/**
 * Deletes the messages with a timestamp before `cutoff`, `batchSize` at a time. Each batch is one
 * statement: the rows it deletes are folded into pruned_message_times (first and last time and
 * count per account and type, event, page path) in the same statement, so no reader ever sees
 * neither, and a crash loses no batch half-done. message_times (the first and last times scoring
 * reads) is left as it is: it already holds these messages' times, and the summaries are what
 * `forget --user` rebuilds it from beside the remaining messages.
 */
export async function pruneMessages(
  db: Database,
  cutoff: Date,
  options: { batchSize?: number; onBatch?: (done: PruneCounts) => void } = {},
): Promise<PruneCounts> {
  const batchSize = options.batchSize ?? 50_000;
  const summaryRows = async () =>
    (await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM pruned_message_times")).rows[0]?.n ??
    0;
  const before = await summaryRows();
  const done: PruneCounts = { messages: 0, unattributed: 0, summaries: 0 };
  for (;;) {
    const { rows } = await db.sql.query<{ messages: number; unattributed: number }>(
      `WITH gone AS (
        DELETE FROM messages WHERE id IN (
          SELECT id FROM messages WHERE timestamp < $1::timestamptz ORDER BY timestamp, id LIMIT $2)
        RETURNING account_id, type, event, path, timestamp
      ),
      kept AS (
        INSERT INTO pruned_message_times AS p (account_id, type, event, path, first_at, last_at, messages)
        SELECT account_id, type, COALESCE(event, ''), CASE WHEN type = 'page' THEN COALESCE(path, '') ELSE '' END,
          min(timestamp), max(timestamp), count(*)::int
        FROM gone g WHERE account_id IS NOT NULL AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = g.account_id)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (account_id, type, event, path) DO UPDATE SET
          first_at = LEAST(p.first_at, excluded.first_at), last_at = GREATEST(p.last_at, excluded.last_at),
          messages = p.messages + excluded.messages
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM gone WHERE account_id IS NOT NULL)::int AS messages,
        (SELECT count(*) FROM gone WHERE account_id IS NULL)::int AS unattributed,
        (SELECT count(*) FROM kept)::int AS widened`,
      [cutoff.toISOString(), batchSize],
    );
    const batch = rows[0] ?? { messages: 0, unattributed: 0 };
    done.messages += batch.messages;
    done.unattributed += batch.unattributed;
    done.summaries = (await summaryRows()) - before;
    if (batch.messages + batch.unattributed === 0) return done;
    options.onBatch?.({ ...done });
  }
}

/** The cutoff of the latest prune (messages before it are summaries only), or null. */
export async function prunedBefore(db: Database): Promise<Date | null> {
  const { rows } = await db.sql.query<{ cutoff: string | null }>(
    "SELECT max((stats ->> 'cutoff')::timestamptz) AS cutoff FROM cycle_runs WHERE kind = 'prune' AND status = 'ok'",
  );
  const cutoff = rows[0]?.cutoff;
  return cutoff ? new Date(cutoff) : null;
}
