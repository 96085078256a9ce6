import { StoreError } from "../errors.ts";
import type { Database } from "./database.ts";

/** Keys of pql-router's exclusive jobs (pg advisory lock space). */
const JOBS = {
  "scoring pass": 7_243_190_512,
  "HubSpot sync": 7_243_190_513,
  "Slack posting": 7_243_190_514,
  "scheduled cycle": 7_243_190_515,
  prune: 7_243_190_516,
} as const;

/**
 * Runs `work` as the only `job` of its kind on this database: two scoring passes (or two HubSpot
 * syncs) at once would route an account twice or create its task twice. On PostgreSQL a
 * transaction-scoped advisory lock is held on one connection for the duration (a second run
 * fails at once, naming the job); the embedded database admits one process at all (its data
 * directory lock), and within a process callers run one at a time.
 */
export async function withJobLock<T>(
  db: Database,
  job: keyof typeof JOBS,
  work: () => Promise<T>,
): Promise<T> {
  const outcome = await tryJobLock(db, job, work);
  if (!outcome.ran) {
    throw new StoreError(`another ${job} is running on ${db.location}`, {
      hint: "wait for it to finish; the scheduled worker and CLI commands take turns",
    });
  }
  return outcome.value;
}

/**
 * Runs `work` if no other `job` of its kind runs on this database (any process, any replica),
 * else returns at once with `ran: false`: how worker replicas take turns at the scheduled cycle.
 */
export async function tryJobLock<T>(
  db: Database,
  job: keyof typeof JOBS,
  work: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  if (db.engine !== "postgres") return { ran: true, value: await inProcess(db, job, work) };
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS locked", [
      JOBS[job],
    ]);
    if (!rows[0]?.locked) return { ran: false as const };
    // The lock's transaction sits idle while the job works on other connections: a server-wide
    // idle_in_transaction_session_timeout must not end it (and the lock) halfway.
    await tx.query("SET LOCAL idle_in_transaction_session_timeout = 0");
    return { ran: true as const, value: await work() };
  });
}

const running = new WeakMap<Database, Map<string, Promise<unknown>>>();

async function inProcess<T>(db: Database, job: string, work: () => Promise<T>): Promise<T> {
  const jobs = running.get(db) ?? new Map<string, Promise<unknown>>();
  running.set(db, jobs);
  const before = jobs.get(job) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(work);
  jobs.set(job, mine);
  try {
    return await mine;
  } finally {
    if (jobs.get(job) === mine) jobs.delete(job);
  }
}
