import { type Clock, systemClock } from "../clock.ts";
import type { SegmentMessage } from "../signals/segment-message.ts";
import { accountFields, type TraitTimes, userFields } from "../signals/traits.ts";
import { copyField } from "./copy-field.ts";
import type { Database, SqlClient } from "./database.ts";

export interface StoreResult {
  /** Messages stored for the first time. */
  accepted: number;
  /** Messages already stored (same messageId), including repeats inside the batch. */
  duplicates: number;
  /** Messages the database refused, by their index in the batch; the rest of the batch is stored. */
  rejected: { index: number; reason: string }[];
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
 *    user their anonymousId is aliased to), now or when that user's first group call arrives;
 *  - each account's first and last times per (type, event, page path) (message_times) widen with
 *    the messages it gets, by triggers on the COPY and on those attribution updates.
 */
export function storeMessages(
  db: Database,
  messages: readonly SegmentMessage[],
  clock: Clock = systemClock,
): Promise<StoreResult> {
  if (messages.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0, rejected: [] });
  // Prepared now, written in turn: the next batch is folded while the database writes this one,
  // and writes through one Database never contend with each other.
  const batch = foldBatch(messages);
  const previous = writeQueues.get(db) ?? Promise.resolve();
  const write = previous.then(
    () => writeIsolating(db, clock, messages, batch),
    () => writeIsolating(db, clock, messages, batch),
  );
  writeQueues.set(db, write);
  return write.then(({ accepted, rejected }) => ({
    accepted,
    duplicates: messages.length - accepted - rejected.length,
    rejected,
  }));
}

const writeQueues = new WeakMap<Database, Promise<unknown>>();
const UNIQUE_VIOLATION = "23505";
/**
 * A deadlock between two writers. Rows of accounts, users and aliases are locked in key order, and
 * so are message_times' rows by each of its triggers, but one batch takes the latter twice (its
 * COPY, then its attribution updates), so two batches writing the same accounts at once can
 * deadlock: PostgreSQL cancels one, which is retried whole.
 */
const DEADLOCK = "40P01";
/** SQLSTATE classes of a value the database refuses: data exception, program limit exceeded. */
const REFUSED_VALUE_CLASSES = ["22", "54"];

/** Refused messages a batch isolates one by one; past them, a failing part is refused whole. */
const MAX_ISOLATED = 16;

/**
 * Writes a batch; when the database refuses a value in it (a class of error the message
 * checks should have caught, but one refused value must never cost its neighbours), the batch is
 * halved until the refused messages stand alone. They are returned by index; the rest is stored.
 * The halving is bounded: after MAX_ISOLATED refusals, a part that still fails is refused whole
 * (each message with a reason saying so), so a batch of bad values cannot hold the writer for
 * thousands of transactions.
 */
async function writeIsolating(
  db: Database,
  clock: Clock,
  messages: readonly SegmentMessage[],
  batch: Batch = foldBatch(messages),
  offset = 0,
  budget = { isolated: 0 },
): Promise<{ accepted: number; rejected: StoreResult["rejected"] }> {
  try {
    return { accepted: await writeBatch(db, clock, batch), rejected: [] };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== "string" || !REFUSED_VALUE_CLASSES.includes(code.slice(0, 2))) throw error;
    const refused = `the database refused the message (SQLSTATE ${code}): ${(error as Error).message}`;
    if (messages.length === 1) {
      budget.isolated++;
      return { accepted: 0, rejected: [{ index: offset, reason: refused }] };
    }
    if (budget.isolated >= MAX_ISOLATED) {
      const reason = `not stored: this part of the batch holds a value the database refuses (SQLSTATE ${code}), and the batch had too many to isolate; send these messages again in smaller batches`;
      return { accepted: 0, rejected: messages.map((_, i) => ({ index: offset + i, reason })) };
    }
    const half = Math.ceil(messages.length / 2);
    const first = await writeIsolating(db, clock, messages.slice(0, half), undefined, offset, budget);
    const second = await writeIsolating(db, clock, messages.slice(half), undefined, offset + half, budget);
    return { accepted: first.accepted + second.accepted, rejected: [...first.rejected, ...second.rejected] };
  }
}

async function writeBatch(db: Database, clock: Clock, batch: Batch, attempt = 1): Promise<number> {
  try {
    return await db.transaction(async (tx) => {
      // One time for the whole batch, by the runtime's clock: received_at and updated_at compare with
      // the times scoring passes record, which come from the same clock.
      const at = new Date(clock.now());
      if (batch.accounts.length > 0) await upsertAccounts(tx, batch.accounts, at);
      if (batch.users.length > 0) await upsertUsers(tx, batch.users, at);
      if (batch.links.length > 0) await upsertLinks(tx, batch.links);
      const inserted = await insertMessages(tx, batch.messages, at);
      await resolveAccounts(tx, batch);
      return inserted;
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if ((code === UNIQUE_VIOLATION || code === DEADLOCK) && attempt < 5)
      return writeBatch(db, clock, batch, attempt + 1);
    throw error;
  }
}

interface AccountRow {
  id: string;
  traits: Record<string, unknown> | null;
  /** trait -> ISO time of the message that set it (ISO strings compare in time order). */
  trait_times: Record<string, string> | null;
  traits_at: string | null;
}

interface UserRow {
  id: string;
  traits: Record<string, unknown> | null;
  trait_times: Record<string, string> | null;
  traits_at: string | null;
  account_id: string | null;
  account_at: string | null;
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
        trait_times: null,
        traits_at: null,
      };
      if (m.type === "group") mergeTraits(account, objectOrEmpty(m.payload.traits), at);
      accounts.set(m.accountId, account);
    }
    if (m.userId) {
      const user = users.get(m.userId) ?? {
        id: m.userId,
        traits: null,
        trait_times: null,
        traits_at: null,
        account_id: null,
        account_at: null,
      };
      if (m.type === "identify") {
        mergeTraits(user, objectOrEmpty(m.payload.traits), at);
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

/** Folds one message's traits into a row (messages come oldest first): each trait takes its newest value. */
function mergeTraits(row: AccountRow | UserRow, traits: Record<string, unknown>, at: string): void {
  row.traits = { ...row.traits, ...traits };
  // No prototype: a trait named "__proto__" is a key like any other.
  const times = row.trait_times ?? (Object.create(null) as Record<string, string>);
  for (const key of Object.keys(traits)) times[key] = at;
  row.trait_times = times;
  row.traits_at = at;
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * SET clauses of an upsert that merges traits per trait, newest wins by the time of the message
 * that sent each one (`trait_times`), whatever order messages arrive in: a trait an older message
 * sends fills a gap or replaces an older value, never a newer one. The merge runs in the
 * statement, under the row's lock, so concurrent writers cannot lose each other's traits.
 */
function mergeTraitsSql(table: string): string {
  // ISO-8601 UTC strings of one format compare in time order; a trait without a time loses.
  const timeOf = (row: string) => `COALESCE(${row}.trait_times->>k, '')`;
  const keysOf = (column: string) =>
    `SELECT jsonb_object_keys(${table}.${column}) UNION SELECT jsonb_object_keys(excluded.${column})`;
  const mergedTraits = `(SELECT COALESCE(jsonb_object_agg(k,
      CASE WHEN excluded.traits ? k AND (NOT ${table}.traits ? k OR ${timeOf("excluded")} >= ${timeOf(table)})
        THEN excluded.traits->k ELSE ${table}.traits->k END), '{}'::jsonb)
    FROM (${keysOf("traits")}) AS t(k))`;
  const mergedTimes = `(SELECT COALESCE(jsonb_object_agg(k, GREATEST(${table}.trait_times->>k, excluded.trait_times->>k)), '{}'::jsonb)
    FROM (${keysOf("trait_times")}) AS t(k))`;
  return [
    `traits = ${mergedTraits}`,
    `trait_times = ${mergedTimes}`,
    `traits_at = GREATEST(${table}.traits_at, excluded.traits_at)`,
    // Traits that add nothing new leave the row as it was; anything else may have changed it (a
    // rescore too many at worst), and a second merge per row would cost more than it saves.
    `updated_at = CASE WHEN ${table}.traits @> excluded.traits THEN ${table}.updated_at ELSE excluded.updated_at END`,
  ].join(",\n      ");
}

interface MergedRow {
  id: string;
  traits: Record<string, unknown>;
  trait_times: TraitTimes;
}

/**
 * Upserts a kind of row: a new row is inserted with its typed columns read from the batch's
 * traits; a row that existed has its traits merged in SQL, and its typed columns are then derived
 * again from the merged traits the statement returns (`(xmax = 0)` tells inserted rows apart).
 */
async function upsertWithFields<R extends AccountRow | UserRow>(
  tx: SqlClient,
  table: "accounts" | "users",
  rows: R[],
  at: Date,
  options: {
    columns: Record<string, string>;
    fields: (traits: Record<string, unknown>, times?: TraitTimes) => object;
    /** Extra incoming columns and their SQL types (users: account_id, account_at). */
    extra?: Record<string, string>;
    /** Extra SET clauses and the WHERE of the update. */
    set?: string;
    where: string;
    defaults?: Record<string, string>;
  },
): Promise<void> {
  const alias = table === "accounts" ? "a" : "u";
  const incoming: Record<string, string> = {
    ...options.extra,
    ...options.columns,
    traits: "jsonb",
    trait_times: "jsonb",
    traits_at: "timestamptz",
  };
  const names = Object.keys(incoming);
  const value = (c: string) =>
    c === "traits" || c === "trait_times"
      ? `COALESCE(r.${c}, '{}')`
      : options.defaults?.[c]
        ? `COALESCE(r.${c}, ${options.defaults[c]})`
        : `r.${c}`;
  const { rows: merged } = await tx.query<MergedRow & { inserted: boolean }>(
    `INSERT INTO ${table} AS ${alias} (id, ${names.join(", ")}, updated_at)
    SELECT r.id, ${names.map(value).join(", ")}, $2::timestamptz
    FROM jsonb_to_recordset($1::jsonb) AS r(id text, ${names.map((c) => `${c} ${incoming[c]}`).join(", ")})
    ON CONFLICT (id) DO UPDATE SET
      ${mergeTraitsSql(alias)}${options.set ? `,\n      ${options.set}` : ""}
    WHERE ${options.where}
    RETURNING ${alias}.id, (${alias}.xmax = 0) AS inserted, ${alias}.traits, ${alias}.trait_times`,
    [
      JSON.stringify(
        rows.map((r) => (r.traits ? { ...r, ...options.fields(r.traits, r.trait_times ?? undefined) } : r)),
      ),
      at.toISOString(),
    ],
  );
  const sent = new Set(rows.filter((r) => r.traits !== null).map((r) => r.id));
  await writeFields(
    tx,
    table,
    merged
      .filter((m) => !m.inserted && sent.has(m.id))
      .map((m) => ({ id: m.id, ...options.fields(m.traits, m.trait_times) })),
    options.columns,
  );
}

function upsertAccounts(tx: SqlClient, rows: AccountRow[], at: Date): Promise<void> {
  return upsertWithFields(tx, "accounts", rows, at, {
    columns: ACCOUNT_COLUMNS,
    fields: accountFields,
    where: "excluded.traits_at IS NOT NULL",
    defaults: { tech_stack: "ARRAY[]::text[]" },
  });
}

function upsertUsers(tx: SqlClient, rows: UserRow[], at: Date): Promise<void> {
  return upsertWithFields(tx, "users", rows, at, {
    columns: USER_COLUMNS,
    fields: userFields,
    extra: { account_id: "text", account_at: "timestamptz" },
    set: `account_id = CASE WHEN excluded.account_at IS NOT NULL AND (u.account_at IS NULL OR excluded.account_at >= u.account_at)
        THEN excluded.account_id ELSE u.account_id END,
      account_at = GREATEST(u.account_at, excluded.account_at)`,
    where: "excluded.traits_at IS NOT NULL OR excluded.account_at IS NOT NULL",
  });
}

/** Column -> SQL type of the typed fields read from traits. */
const ACCOUNT_COLUMNS: Record<string, string> = {
  name: "text",
  domain: "text",
  employees: "int",
  industry: "text",
  region: "text",
  plan: "text",
  seats: "int",
  mrr: "numeric",
  tech_stack: "text[]",
};
const USER_COLUMNS: Record<string, string> = { email: "text", title: "text", persona: "text" };

/**
 * Sets each row's typed columns from its merged traits (read back from the upsert), in one
 * statement. A field whose traits hold no valid value keeps the column as it was: a malformed
 * value is ignored, never a reason to lose a good one.
 */
async function writeFields(
  tx: SqlClient,
  table: "accounts" | "users",
  rows: ({ id: string } & Record<string, unknown>)[],
  columns: Record<string, string>,
): Promise<void> {
  const withFields = rows.filter((r) => Object.keys(r).length > 1);
  if (withFields.length === 0) return;
  const names = Object.keys(columns);
  await tx.query(
    `UPDATE ${table} AS t SET ${names.map((c) => `${c} = COALESCE(r.${c}, t.${c})`).join(", ")}
    FROM jsonb_to_recordset($1::jsonb) AS r(id text, ${names.map((c) => `${c} ${columns[c]}`).join(", ")})
    WHERE t.id = r.id AND (${names.map((c) => `t.${c} IS DISTINCT FROM COALESCE(r.${c}, t.${c})`).join(" OR ")})`,
    [JSON.stringify(withFields)],
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
async function insertMessages(tx: SqlClient, messages: SegmentMessage[], receivedAt: Date): Promise<number> {
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
    copyData(fresh, accounts, receivedAt.toISOString()),
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
 * is in this batch (and of the anonymousIds aliased to them), and those of anonymousIds this batch
 * aliased to a user.
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
  // Anonymous messages of users whose account this batch set (aliased in an earlier batch, when the
  // user had none to give), and of anonymousIds this batch aliased.
  await attributeAnonymous(tx, "u.id", batch.grouped);
  await attributeAnonymous(tx, "l.previous_id", batch.aliased);
}

/** Anonymous messages of the aliases whose `key` (the user's id, or the alias itself) is in `ids`. */
async function attributeAnonymous(
  tx: SqlClient,
  key: "u.id" | "l.previous_id",
  ids: string[],
): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE messages m SET account_id = u.account_id
    FROM identity_links l JOIN users u ON u.id = l.user_id
    WHERE ${key} = ANY($1::text[]) AND m.anonymous_id = l.previous_id AND m.user_id IS NULL
      AND m.account_id IS NULL AND u.account_id IS NOT NULL`,
    [ids],
  );
}

/**
 * Gives messages still without an account their user's (or aliased user's) account. Only an
 * anonymous message racing the alias of its anonymousId in another process can be left so; the
 * scoring pass runs this over the messages received since the last pass (all, on the first pass).
 * It may meet a batch attributing the same messages at that moment: a deadlock cancels one of
 * them, and this statement, on its own, is simply run again.
 */
export async function attributeMessages(db: Database, receivedSince: Date | null): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { rowCount } = await db.sql.query(
        `UPDATE messages m SET account_id = u.account_id
        FROM users u
        WHERE m.account_id IS NULL AND m.type <> 'alias' AND u.account_id IS NOT NULL
          AND ($1::timestamptz IS NULL OR m.received_at > $1::timestamptz)
          AND u.id = COALESCE(m.user_id, (SELECT l.user_id FROM identity_links l WHERE l.previous_id = m.anonymous_id))`,
        [receivedSince?.toISOString() ?? null],
      );
      return rowCount;
    } catch (error) {
      if ((error as { code?: string }).code !== DEADLOCK || attempt >= 5) throw error;
    }
  }
}
