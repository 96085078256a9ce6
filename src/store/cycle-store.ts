import { AsyncLocalStorage } from "node:async_hooks";
import type { Database } from "./database.ts";

/** The scheduled cycle the current async work belongs to: its jobs record it as their parent, and log lines carry it. */
const cycleScope = new AsyncLocalStorage<{ cycleId: bigint }>();

/** Runs `work` as part of cycle `cycleId`. */
export function withinCycle<T>(cycleId: bigint, work: () => Promise<T>): Promise<T> {
  return cycleScope.run({ cycleId }, work);
}

/** The cycle the current work belongs to, if any. */
export function currentCycle(): bigint | undefined {
  return cycleScope.getStore()?.cycleId;
}

/**
 * The one place that records `cycle_runs`: every job (scoring pass, HubSpot sync, and the stages
 * of the scheduled cycle to come) opens a run when it starts and closes it with its status, its
 * figures and its errors, so managers and `status` read one history.
 */
export type CycleKind = "cycle" | "score" | "hubspot" | "slack" | "outcomes" | "prune" | "calibrate";
/**
 * `partial`: the job stopped early (a peer down, a budget used up) and left the rest queued;
 * `interrupted`: the process died during it (found by the next cycle).
 */
export type CycleStatus = "ok" | "partial" | "failed" | "interrupted";

export async function startCycleRun(
  db: Database,
  kind: CycleKind,
  startedAt: Date,
  stats?: object,
): Promise<bigint> {
  const parentId = kind === "cycle" ? undefined : currentCycle();
  const run = await db.prisma.cycleRun.create({
    data: { kind, startedAt, ...(parentId === undefined ? {} : { parentId }), ...(stats ? { stats } : {}) },
    select: { id: true },
  });
  return run.id;
}

/**
 * Marks cycles (and their jobs) left "running" by a process that died as interrupted. Only the
 * holder of the cycle lock calls it: no other cycle can be running then.
 */
export async function markInterrupted(db: Database, at: Date): Promise<number> {
  const { rows } = await db.sql.query<{ n: number }>(
    `WITH m AS (UPDATE cycle_runs SET status = 'interrupted', ended_at = $1
      WHERE status = 'running' AND (kind = 'cycle' OR parent_id IS NOT NULL) RETURNING kind)
    SELECT count(*) FILTER (WHERE kind = 'cycle')::int AS n FROM m`,
    [at.toISOString()],
  );
  return rows[0]?.n ?? 0;
}

/** When the last cycle that completed every stage started, if any. */
export async function lastSuccessfulCycle(db: Database): Promise<Date | null> {
  const { rows } = await db.sql.query<{ at: Date | null }>(
    "SELECT max(started_at) AS at FROM cycle_runs WHERE kind = 'cycle' AND status = 'ok'",
  );
  return rows[0]?.at ? new Date(rows[0].at) : null;
}

export async function finishCycleRun(
  db: Database,
  id: bigint,
  outcome: { status: CycleStatus; endedAt: Date; stats?: object; errors?: { message: string }[] },
): Promise<void> {
  await db.prisma.cycleRun.update({
    where: { id },
    data: {
      status: outcome.status,
      endedAt: outcome.endedAt,
      ...(outcome.stats === undefined ? {} : { stats: outcome.stats }),
      errors: outcome.errors ?? [],
    },
  });
}
