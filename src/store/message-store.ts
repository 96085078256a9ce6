import type { SegmentMessage } from "../signals/segment-message.ts";
import { accountFields, TECH_STACK_TRAITS, userFields } from "../signals/traits.ts";
import { copyField } from "./copy-text.ts";
import type { Database, SqlClient } from "./database.ts";

export interface StoreResult {
  /** Messages stored for the first time. */
  accepted: number;
  /** Messages already stored (same messageId), including repeats inside the batch. */
  duplicates: number;
}

/**
 * Stores one batch of valid messages in one transaction, set-based: every row of a kind goes
 * in one statement. New messages are found by one index lookup and COPYed straight into the
 * table (the fastest way in); if a concurrent writer stores one of them first, the unique index
 * refuses the COPY and the batch is retried, now seeing it as a duplicate.
 * Side effects are idempotent, so a batch that was stored before (a re-import) changes nothing:
 *  - accounts and users are upserted, traits merged newest-wins by message timestamp;
 *  - a user's latest `group` call sets its account; an `alias` links an anonymousId to a user;
 *  - track/page/screen calls without context.groupId get the account of their user (or of the
 *    user their anonymousId is aliased to), now or when that user's first group call arrives.
 */
export function storeMessages(db: Database, messages: readonly SegmentMessage[]): Promise<StoreResult> {
  if (messages.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
  // Prepared now, written in turn: the next batch is folded while the database writes this one,
  // and writes through one Database never contend with each other.
  const batch = foldBatch(messages);
  const previous = writeQueues.get(db) ?? Promise.resolve();
  const write = previous.then(
    () => writeBatch(db, batch),
    () => writeBatch(db, batch),
  );
  writeQueues.set(db, write);
  return write.then((accepted) => ({ accepted, duplicates: messages.length - accepted }));
}

const writeQueues = new WeakMap<Database, Promise<unknown>>();
const UNIQUE_VIOLATION = "23505";

async function writeBatch(db: Database, batch: Batch, attempt = 1): Promise<number> {
  try {
    return await db.transaction(async (tx) => {
      if (batch.accounts.length > 0) await upsertAccounts(tx, batch.accounts);
      if (batch.users.length > 0) await upsertUsers(tx, batch.users);
      if (batch.links.length > 0) await upsertLinks(tx, batch.links);
      const inserted = await insertMessages(tx, batch.messages);
      await resolveAccounts(tx, batch);
      return inserted;
    });
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION && attempt < 5)
      return writeBatch(db, batch, attempt + 1);
    throw error;
  }
}

interface AccountRow {
  id: string;
  traits: Record<string, unknown> | null;
  traits_at: string | null;
  [field: string]: unknown;
}

interface UserRow {
  id: string;
  traits: Record<string, unknown> | null;
  traits_at: string | null;
  account_id: string | null;
  account_at: string | null;
  [field: string]: unknown;
}

interface Batch {
  /** The batch's messages, each messageId once (the first occurrence). */
  messages: SegmentMessage[];
  accounts: AccountRow[];
  users: UserRow[];
  links: { previous_id: string; user_id: string; created_at: string }[];
  /** Users whose account this batch set. */
  grouped: string[];
  /** anonymousIds this batch aliased. */
  aliased: string[];
}

/** Folds a batch into one row per account, user and alias (Postgres cannot upsert a row twice in one statement). */
function foldBatch(messages: readonly SegmentMessage[]): Batch {
  const sorted = [...messages].sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
  const accounts = new Map<string, AccountRow>();
  const users = new Map<string, UserRow>();
  const links = new Map<string, { previous_id: string; user_id: string; created_at: string }>();
  for (const m of sorted) {
    const at = m.timestamp.toISOString();
    if (m.accountId) {
      const account = accounts.get(m.accountId) ?? {
        id: m.accountId,
        traits: null,
        traits_at: null,
      };
      if (m.type === "group") {
        const traits = objectOrEmpty(m.payload.traits);
        account.traits = { ...account.traits, ...traits };
        account.traits_at = at;
      }
      accounts.set(m.accountId, account);
    }
    if (m.userId) {
      const user = users.get(m.userId) ?? {
        id: m.userId,
        traits: null,
        traits_at: null,
        account_id: null,
        account_at: null,
      };
      if (m.type === "identify") {
        user.traits = { ...user.traits, ...objectOrEmpty(m.payload.traits) };
        user.traits_at = at;
      } else if (m.type === "group" && m.accountId) {
        user.account_id = m.accountId;
        user.account_at = at;
      }
      users.set(m.userId, user);
    }
    if (m.type === "alias" && m.userId) {
      const previousId = String(m.payload.previousId);
      links.set(previousId, { previous_id: previousId, user_id: m.userId, created_at: at });
    }
  }
  for (const account of accounts.values()) {
    if (account.traits) Object.assign(account, accountFields(account.traits));
  }
  for (const user of users.values()) {
    if (user.traits) Object.assign(user, userFields(user.traits));
  }
  // Rows in key order: concurrent batches then lock shared rows in the same order (no deadlock).
  const byId = <T extends { id: string }>(rows: Iterable<T>) =>
    [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const seen = new Set<string>();
  return {
    messages: messages.filter((m) => !seen.has(m.messageId) && seen.add(m.messageId)),
    accounts: byId(accounts.values()),
    users: byId(users.values()),
    links: [...links.values()].sort((a, b) => (a.previous_id < b.previous_id ? -1 : 1)),
    grouped: [...users.values()].filter((u) => u.account_id).map((u) => u.id),
    aliased: [...links.keys()],
  };
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * SET clauses of an upsert that merges newest-wins by the timestamp column `stamp`: a newer
 * message overwrites what it sends, an older one only fills gaps. `incoming` maps a column to
 * the expression of its incoming value when that is not simply `excluded.<column>`.
 */
function newestWins(
  table: string,
  stamp: string,
  columns: string[],
  incoming: Record<string, string> = {},
): string {
  const newer = `(excluded.${stamp} IS NOT NULL AND (${table}.${stamp} IS NULL OR excluded.${stamp} >= ${table}.${stamp}))`;
  const mergedTraits = `CASE WHEN ${newer} THEN ${table}.traits || excluded.traits ELSE excluded.traits || ${table}.traits END`;
  return columns
    .map((c) => {
      const value = incoming[c] ?? `excluded.${c}`;
      return `${c} = CASE WHEN ${newer} THEN COALESCE(${value}, ${table}.${c}) ELSE COALESCE(${table}.${c}, ${value}) END`;
    })
    .concat(
      `traits = ${mergedTraits}`,
      `${stamp} = GREATEST(${table}.${stamp}, excluded.${stamp})`,
      `updated_at = CASE WHEN (${mergedTraits}) IS DISTINCT FROM ${table}.traits THEN now() ELSE ${table}.updated_at END`,
    )
    .join(",\n      ");
}

const ACCOUNT_COLUMNS = [
  "name",
  "domain",
  "employees",
  "industry",
  "region",
  "plan",
  "seats",
  "mrr",
  "tech_stack",
];

async function upsertAccounts(tx: SqlClient, rows: AccountRow[]): Promise<void> {
  // tech_stack is never NULL in the table, so "not sent" is read from the incoming traits.
  const techStackSent = "CASE WHEN excluded.traits ?| $2::text[] THEN excluded.tech_stack END";
  await tx.query(
    `INSERT INTO accounts AS a (id, ${ACCOUNT_COLUMNS.join(", ")}, traits, traits_at)
    SELECT r.id, r.name, r.domain, r.employees, r.industry, r.region, r.plan, r.seats, r.mrr,
      COALESCE(r.tech_stack, ARRAY[]::text[]), COALESCE(r.traits, '{}'), r.traits_at
    FROM jsonb_to_recordset($1::jsonb) AS r(id text, name text, domain text, employees int, industry text,
      region text, plan text, seats int, mrr numeric, tech_stack text[], traits jsonb, traits_at timestamptz)
    ON CONFLICT (id) DO UPDATE SET
      ${newestWins("a", "traits_at", ACCOUNT_COLUMNS, { tech_stack: techStackSent })}
    WHERE excluded.traits_at IS NOT NULL`,
    [JSON.stringify(rows), TECH_STACK_TRAITS],
  );
}

const USER_COLUMNS = ["email", "title", "persona"];

async function upsertUsers(tx: SqlClient, rows: UserRow[]): Promise<void> {
  await tx.query(
    `INSERT INTO users AS u (id, email, title, persona, account_id, account_at, traits, traits_at)
    SELECT r.id, r.email, r.title, r.persona, r.account_id, r.account_at, COALESCE(r.traits, '{}'), r.traits_at
    FROM jsonb_to_recordset($1::jsonb) AS r(id text, email text, title text, persona text, account_id text,
      account_at timestamptz, traits jsonb, traits_at timestamptz)
    ON CONFLICT (id) DO UPDATE SET
      ${newestWins("u", "traits_at", USER_COLUMNS)},
      account_id = CASE WHEN excluded.account_at IS NOT NULL AND (u.account_at IS NULL OR excluded.account_at >= u.account_at)
        THEN excluded.account_id ELSE u.account_id END,
      account_at = GREATEST(u.account_at, excluded.account_at)
    WHERE excluded.traits_at IS NOT NULL OR excluded.account_at IS NOT NULL`,
    [JSON.stringify(rows)],
  );
}

async function upsertLinks(tx: SqlClient, rows: Batch["links"]): Promise<void> {
  await tx.query(
    `INSERT INTO identity_links AS l (previous_id, user_id, created_at)
    SELECT r.previous_id, r.user_id, r.created_at
    FROM jsonb_to_recordset($1::jsonb) AS r(previous_id text, user_id text, created_at timestamptz)
    ON CONFLICT (previous_id) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at
    WHERE excluded.created_at >= l.created_at`,
    [JSON.stringify(rows)],
  );
}

/**
 * Inserts the messages not stored yet and returns how many. Those without an account take their
 * user's (or, for an anonymous one, their aliased user's) account, read after this batch's users
 * were upserted.
 */
async function insertMessages(tx: SqlClient, messages: SegmentMessage[]): Promise<number> {
  const { rows: known } = await tx.query<{ message_id: string }>(
    "SELECT message_id FROM messages WHERE message_id = ANY($1::text[])",
    [messages.map((m) => m.messageId)],
  );
  const stored = new Set(known.map((r) => r.message_id));
  const fresh = stored.size === 0 ? messages : messages.filter((m) => !stored.has(m.messageId));
  if (fresh.length === 0) return 0;
  const accounts = await accountsOfUsers(tx, fresh);
  await tx.copyText(
    "messages (message_id, type, user_id, anonymous_id, account_id, event, path, timestamp, received_at, payload)",
    copyData(fresh, accounts, new Date().toISOString()),
  );
  return fresh.length;
}

/** userId or anonymousId -> account, for the messages that came without one. */
async function accountsOfUsers(tx: SqlClient, messages: SegmentMessage[]): Promise<Map<string, string>> {
  const userIds = new Set<string>();
  const anonymousIds = new Set<string>();
  for (const m of messages) {
    if (m.accountId || m.type === "alias") continue;
    if (m.userId) userIds.add(m.userId);
    else if (m.anonymousId) anonymousIds.add(m.anonymousId);
  }
  if (userIds.size === 0 && anonymousIds.size === 0) return new Map();
  const { rows } = await tx.query<{ key: string; account_id: string }>(
    `SELECT u.id AS key, u.account_id FROM users u WHERE u.id = ANY($1::text[]) AND u.account_id IS NOT NULL
    UNION ALL
    SELECT l.previous_id, u.account_id FROM identity_links l JOIN users u ON u.id = l.user_id
    WHERE l.previous_id = ANY($2::text[]) AND u.account_id IS NOT NULL`,
    [[...userIds], [...anonymousIds]],
  );
  return new Map(rows.map((r) => [r.key, r.account_id]));
}

function copyData(
  messages: readonly SegmentMessage[],
  accounts: Map<string, string>,
  receivedAt: string,
): string {
  let data = "";
  for (const m of messages) {
    const accountId =
      m.accountId ?? (m.type === "alias" ? null : (accounts.get(m.userId ?? m.anonymousId ?? "") ?? null));
    // Payloads already held as text are passed through, not re-serialised.
    const payload = copyField(m.payloadJson ?? JSON.stringify(m.payload));
    data += `${copyField(m.messageId)}\t${m.type}\t${copyField(m.userId)}\t${copyField(m.anonymousId)}\t${copyField(accountId)}\t${copyField(m.event)}\t${copyField(m.path)}\t${m.timestamp.toISOString()}\t${receivedAt}\t${payload}\n`;
  }
  return data;
}

/**
 * Gives earlier messages their account once it is known: those of users whose first group call
 * is in this batch, and those of anonymousIds this batch aliased to a user.
 */
async function resolveAccounts(tx: SqlClient, batch: Batch): Promise<void> {
  if (batch.grouped.length > 0) {
    await tx.query(
      `UPDATE messages m SET account_id = u.account_id
      FROM users u
      WHERE u.id = ANY($1::text[]) AND m.user_id = u.id AND m.account_id IS NULL AND m.type <> 'alias'`,
      [batch.grouped],
    );
  }
  if (batch.aliased.length > 0) {
    await tx.query(
      `UPDATE messages m SET account_id = u.account_id
      FROM identity_links l JOIN users u ON u.id = l.user_id
      WHERE l.previous_id = ANY($1::text[]) AND m.anonymous_id = l.previous_id AND m.user_id IS NULL
        AND m.account_id IS NULL AND u.account_id IS NOT NULL`,
      [batch.aliased],
    );
  }
}

/**
 * Gives messages still without an account their user's (or aliased user's) account. Only an
 * anonymous message racing the alias of its anonymousId in another process can be left so; the
 * scoring pass runs this over the messages received since the last pass (all, on the first pass).
 */
export async function attributeMessages(db: Database, receivedSince: Date | null): Promise<number> {
  const { rowCount } = await db.sql.query(
    `UPDATE messages m SET account_id = u.account_id
    FROM users u
    WHERE m.account_id IS NULL AND m.type <> 'alias' AND u.account_id IS NOT NULL
      AND ($1::timestamptz IS NULL OR m.received_at > $1::timestamptz)
      AND u.id = COALESCE(m.user_id, (SELECT l.user_id FROM identity_links l WHERE l.previous_id = m.anonymous_id))`,
    [receivedSince?.toISOString() ?? null],
  );
  return rowCount;
}
