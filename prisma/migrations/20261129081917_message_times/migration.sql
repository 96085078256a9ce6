-- CreateTable
CREATE TABLE "message_times" (
    "account_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "first_at" TIMESTAMPTZ(3) NOT NULL,
    "last_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "message_times_pkey" PRIMARY KEY ("account_id","type","event","path")
);


-- Kept by triggers on messages (not in schema.prisma: Prisma does not model them), so every
-- writer (the store's COPY, the attribution updates, tests and benches inserting fixtures) keeps
-- it true. Statement-level, with transition tables: one set-based upsert per COPY or UPDATE.
-- Rows are upserted in key order, so concurrent writers lock shared rows in the same order, and
-- only rows whose times widen are rewritten. Deleting messages leaves it alone: `prune` keeps the
-- times of what it deletes, `forget` rebuilds the accounts it erased from (message_times_rebuild).

-- The accounts' rows rebuilt from what is stored: the remaining messages and what prune kept.
-- Two statements, so the insert reads messages committed after the delete (READ COMMITTED).
CREATE FUNCTION "message_times_rebuild"(accounts TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM message_times WHERE account_id = ANY(accounts);
  INSERT INTO message_times (account_id, type, event, path, first_at, last_at)
  SELECT account_id, type, event, path, min(first_at), max(last_at) FROM (
    SELECT m.account_id, m.type, COALESCE(m.event, '') AS event,
      CASE WHEN m.type = 'page' THEN COALESCE(m.path, '') ELSE '' END AS path,
      min(m.timestamp) AS first_at, max(m.timestamp) AS last_at
    FROM messages m WHERE m.account_id = ANY(accounts) GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT p.account_id, p.type, p.event, p.path, p.first_at, p.last_at
    FROM pruned_message_times p WHERE p.account_id = ANY(accounts)
  ) x
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
END $$;

CREATE FUNCTION "message_times_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO message_times AS t (account_id, type, event, path, first_at, last_at)
  SELECT n.account_id, n.type, COALESCE(n.event, ''), CASE WHEN n.type = 'page' THEN COALESCE(n.path, '') ELSE '' END,
    min(n.timestamp), max(n.timestamp)
  FROM inserted n WHERE n.account_id IS NOT NULL
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (account_id, type, event, path) DO UPDATE
    SET first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at)
    WHERE excluded.first_at < t.first_at OR excluded.last_at > t.last_at;
  RETURN NULL;
END $$;

-- An update that gives messages their account (attribution) widens that account's rows. One that
-- moves or re-times messages already attributed (pql-router never does) also rebuilds the
-- accounts they left.
CREATE FUNCTION "message_times_after_update"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  left_accounts TEXT[];
BEGIN
  SELECT array_agg(DISTINCT o.account_id) INTO left_accounts
  FROM old_rows o JOIN new_rows n ON n.id = o.id
  WHERE o.account_id IS NOT NULL
    AND (n.account_id, n.type, n.event, n.path, n.timestamp) IS DISTINCT FROM (o.account_id, o.type, o.event, o.path, o.timestamp);
  IF left_accounts IS NOT NULL THEN
    PERFORM message_times_rebuild(left_accounts);
  END IF;
  INSERT INTO message_times AS t (account_id, type, event, path, first_at, last_at)
  SELECT n.account_id, n.type, COALESCE(n.event, ''), CASE WHEN n.type = 'page' THEN COALESCE(n.path, '') ELSE '' END,
    min(n.timestamp), max(n.timestamp)
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  WHERE n.account_id IS NOT NULL
    AND (n.account_id, n.type, n.event, n.path, n.timestamp) IS DISTINCT FROM (o.account_id, o.type, o.event, o.path, o.timestamp)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (account_id, type, event, path) DO UPDATE
    SET first_at = LEAST(t.first_at, excluded.first_at), last_at = GREATEST(t.last_at, excluded.last_at)
    WHERE excluded.first_at < t.first_at OR excluded.last_at > t.last_at;
  RETURN NULL;
END $$;

CREATE TRIGGER "messages_times_insert" AFTER INSERT ON "messages"
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "message_times_after_insert"();
CREATE TRIGGER "messages_times_update" AFTER UPDATE ON "messages"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "message_times_after_update"();

-- The history so far: the stored messages and what earlier prunes kept.
INSERT INTO message_times (account_id, type, event, path, first_at, last_at)
SELECT account_id, type, event, path, min(first_at), max(last_at) FROM (
  SELECT m.account_id, m.type, COALESCE(m.event, '') AS event,
    CASE WHEN m.type = 'page' THEN COALESCE(m.path, '') ELSE '' END AS path,
    min(m.timestamp) AS first_at, max(m.timestamp) AS last_at
  FROM messages m WHERE m.account_id IS NOT NULL GROUP BY 1, 2, 3, 4
  UNION ALL
  SELECT p.account_id, p.type, p.event, p.path, p.first_at, p.last_at FROM pruned_message_times p
) x
GROUP BY 1, 2, 3, 4;
