import type { Database } from "./database.ts";

/**
 * The one place that records `cycle_runs`: every job (scoring pass, HubSpot sync, and the stages
 * of the scheduled cycle to come) opens a run when it starts and closes it with its status, its
 * figures and its errors, so managers and `status` read one history.
 */
export type CycleKind = "score" | "hubspot" | "slack";
/** `partial`: the job stopped early (a peer down, a budget used up) and left the rest queued. */
export type CycleStatus = "ok" | "partial" | "failed";

export async function startCycleRun(db: Database, kind: CycleKind, startedAt: Date): Promise<bigint> {
  const run = await db.prisma.cycleRun.create({ data: { kind, startedAt }, select: { id: true } });
  return run.id;
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
