import { assignAll } from "../../routing/assign-rep.ts";
import {
  expireUnassigned,
  readRotations,
  recordAssignments,
  repLoads,
  syncPeople,
  unassignedDecisions,
  writeRotations,
} from "../../store/routing-store.ts";
import type { JobContext } from "../runtime.ts";

/** Advisory lock key serialising assignments (short transactions; other jobs do not wait on it). */
export const ASSIGN_LOCK = 7_243_190_520;

export interface AssignResult {
  /** Decisions given a rep. */
  assigned: number;
  /** Decisions nobody was eligible for (posted to the pool unassigned, with the reason). */
  unassigned: number;
  /** Routings older than `slack.maxAgeHours` never assigned: expired, not handed to anyone. */
  expired: number;
}

/**
 * Gives every routing decision not yet assigned its rep (`assignAll`): the company's owner when
 * a configured rep, else the pool's weighted round robin. One transaction holds an advisory
 * lock, reads the stored rotations and loads, and writes the choices with the new rotations:
 * two processes, or a rerun, make the same choice once. Called by the HubSpot sync (after
 * matching companies, whose owners it reads) and by Slack posting, whichever comes first.
 */
export async function assignRoutings(
  rt: Pick<JobContext, "db" | "config">,
  now: Date,
): Promise<AssignResult> {
  const config = rt.config.config;
  const shadow = config.slack.shadow !== undefined;
  return rt.db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [ASSIGN_LOCK]);
    await syncPeople(tx, config);
    const expired = await expireUnassigned(
      tx,
      new Date(now.getTime() - config.slack.maxAgeHours * 3_600_000),
    );
    const pending = await unassignedDecisions(tx);
    if (pending.length === 0) return { assigned: 0, unassigned: 0, expired };
    const dayStart = new Date(now.toISOString().slice(0, 10));
    const { assignments, rotations } = assignAll(
      pending,
      { loads: await repLoads(tx, dayStart), rotations: await readRotations(tx), now },
      config,
    );
    await recordAssignments(
      tx,
      assignments.map((a) => ({ ...a, shadow })),
      now,
    );
    await writeRotations(tx, rotations, now);
    const assigned = assignments.filter((a) => a.assignment.repId !== null).length;
    return { assigned, unassigned: assignments.length - assigned, expired };
  });
}
