import type { PqlConfig } from "../config/schema.ts";

type Rep = PqlConfig["routing"]["reps"][number];

/** What a rep holds now: routed accounts not yet claimed, and accounts routed to them today. */
export interface RepLoad {
  open: number;
  alertsToday: number;
}

/**
 * The round-robin state of one pool: each rep's current weight (smooth weighted round robin).
 * Kept in the database between decisions, so a rerun or another process chooses the same rep.
 */
export type Rotation = Record<string, number>;

export interface AssignmentInput {
  /** The routing decision's pool. */
  pool: string;
  /** The owner of the account's HubSpot company, when it has one. */
  owner: { hubspotOwnerId: string | null; email: string | null } | null;
  loads: ReadonlyMap<string, RepLoad>;
  rotation: Rotation;
  now: Date;
  /** Reps passed over whatever their load (an escalation moves the account away from its rep). */
  exclude?: readonly string[];
}

export interface Assignment {
  /** The rep chosen, or null when nobody is eligible (the account is posted to the pool unassigned). */
  repId: string | null;
  rule: "existing-owner" | "round-robin" | "nobody-eligible";
  /** Each rep of the pool passed over, and why. */
  skipped: { repId: string; reason: string }[];
  /** The decision in plain words, skipped reps included. */
  reason: string;
  /** The pool's round-robin state after this decision (unchanged unless the round robin chose). */
  rotation: Rotation;
}

/**
 * Chooses the rep for one routing decision. Pure: the loads, the rotation and `now` come in.
 *  1. The company's existing owner, when that owner is a configured rep (by HubSpot owner id,
 *     else by email): accounts stay with whoever owns them in the CRM.
 *  2. Otherwise a smooth weighted round robin over the pool's reps, skipping reps out of office,
 *     at capacity (open accounts) or at their daily alert limit: each eligible rep's current
 *     weight grows by its weight, the largest wins (config order breaks ties) and pays back the
 *     eligible total, so shares follow the weights closely over any run of decisions.
 *  3. Nobody eligible: no rep, with every reason.
 */
export function assignRep(input: AssignmentInput, config: Pick<PqlConfig, "routing">): Assignment {
  const { reps } = config.routing;
  const { owner } = input;
  const ownerSkipped: Assignment["skipped"] = [];
  if (owner) {
    const email = owner.email?.toLowerCase() ?? null;
    const rep =
      reps.find((r) => owner.hubspotOwnerId !== null && r.hubspotOwnerId === owner.hubspotOwnerId) ??
      reps.find((r) => email !== null && r.email.toLowerCase() === email);
    // The CRM owner keeps the account, whatever its load, unless away: then the pool's round
    // robin covers (saying so), rather than leaving a hot account with nobody at the desk.
    const away = rep ? outOfOffice(rep, input.now) : null;
    if (rep && !away) {
      return {
        repId: rep.id,
        rule: "existing-owner",
        skipped: [],
        reason: `${rep.id}: owns the company in HubSpot`,
        rotation: input.rotation,
      };
    }
    if (rep && away) ownerSkipped.push({ repId: rep.id, reason: `owns the company but is ${away}` });
  }
  const members = reps.filter((r) => r.pools.includes(input.pool));
  const skipped: Assignment["skipped"] = [...ownerSkipped];
  const eligible: Rep[] = [];
  for (const rep of members) {
    if (ownerSkipped.some((s) => s.repId === rep.id)) continue;
    if (input.exclude?.includes(rep.id)) {
      skipped.push({ repId: rep.id, reason: "already had it" });
      continue;
    }
    const why = ineligible(rep, input.loads.get(rep.id) ?? { open: 0, alertsToday: 0 }, input.now);
    if (why) skipped.push({ repId: rep.id, reason: why });
    else eligible.push(rep);
  }
  const skippedText = skipped.map((s) => `${s.repId}: ${s.reason}`).join("; ");
  if (eligible.length === 0) {
    return {
      repId: null,
      rule: "nobody-eligible",
      skipped,
      reason:
        members.length === 0
          ? `no rep in pool ${input.pool}`
          : `nobody eligible in pool ${input.pool} (${skippedText})`,
      rotation: input.rotation,
    };
  }
  const rotation: Rotation = { ...input.rotation };
  const total = eligible.reduce((sum, r) => sum + r.weight, 0);
  let chosen = eligible[0] as Rep;
  for (const rep of eligible) {
    rotation[rep.id] = (rotation[rep.id] ?? 0) + rep.weight;
    if ((rotation[rep.id] as number) > (rotation[chosen.id] as number)) chosen = rep;
  }
  rotation[chosen.id] = (rotation[chosen.id] as number) - total;
  return {
    repId: chosen.id,
    rule: "round-robin",
    skipped,
    reason: `${chosen.id}: round robin in pool ${input.pool}${skippedText ? ` (skipped ${skippedText})` : ""}`,
    rotation,
  };
}

/** "out of office until <last day>" when the rep is away on `now`'s (UTC) day, else null. */
function outOfOffice(rep: Rep, now: Date): string | null {
  const today = now.toISOString().slice(0, 10);
  const away = rep.outOfOffice.find((a) => a.from <= today && today <= a.to);
  return away ? `out of office until ${away.to}` : null;
}

/** Why a rep gets no new account now, or null. */
function ineligible(rep: Rep, load: RepLoad, now: Date): string | null {
  const away = outOfOffice(rep, now);
  if (away) return away;
  if (load.open >= rep.capacity) return `at capacity ${load.open}/${rep.capacity}`;
  if (rep.maxAlertsPerDay !== undefined && load.alertsToday >= rep.maxAlertsPerDay)
    return `${load.alertsToday}/${rep.maxAlertsPerDay} alerts today`;
  return null;
}

/** A routing decision waiting for its rep (plain data). */
export interface PendingAssignment {
  id: bigint;
  pool: string;
  owner: AssignmentInput["owner"];
}

/**
 * Assigns decisions in order, each seeing the loads and rotations the previous ones left: the
 * same decisions over the same stored state give the same choices, whoever runs it. Pure.
 * Returns each assignment and the rotations that changed.
 */
export function assignAll(
  decisions: readonly PendingAssignment[],
  state: { loads: ReadonlyMap<string, RepLoad>; rotations: ReadonlyMap<string, Rotation>; now: Date },
  config: Pick<PqlConfig, "routing">,
): { assignments: { decisionId: bigint; assignment: Assignment }[]; rotations: Map<string, Rotation> } {
  const loads = new Map(state.loads);
  const rotations = new Map(state.rotations);
  const changed = new Map<string, Rotation>();
  const assignments = decisions.map((d) => {
    const assignment = assignRep(
      { pool: d.pool, owner: d.owner, loads, rotation: rotations.get(d.pool) ?? {}, now: state.now },
      config,
    );
    if (assignment.rule === "round-robin") {
      rotations.set(d.pool, assignment.rotation);
      changed.set(d.pool, assignment.rotation);
    }
    if (assignment.repId !== null) {
      const load = loads.get(assignment.repId) ?? { open: 0, alertsToday: 0 };
      loads.set(assignment.repId, { open: load.open + 1, alertsToday: load.alertsToday + 1 });
    }
    return { decisionId: d.id, assignment };
  });
  return { assignments, rotations: changed };
}

export interface Escalation {
  /** The rep the account moves to (reassign), or null when it stays (lead only, or nobody eligible). */
  repId: string | null;
  /** The person mentioned as the pool's lead, when the config says so. */
  leadId: string | null;
  /** What was done, in plain words. */
  reason: string;
  skipped: Assignment["skipped"];
  rotation: Rotation;
}

/**
 * The SLA escalation of an account still unclaimed after `routing.sla.claimWithinHours`: with
 * `reassign` (or `both`) the pool's round robin picks the next eligible rep other than those who
 * already had it; with `lead` (or `both`) the pool's lead is mentioned. Pure.
 */
export function escalate(
  input: {
    pool: string;
    currentRepId: string | null;
    previousRepIds: readonly string[];
    loads: ReadonlyMap<string, RepLoad>;
    rotation: Rotation;
    now: Date;
  },
  config: Pick<PqlConfig, "routing">,
): Escalation {
  const sla = config.routing.sla;
  const how = sla?.escalate ?? "both";
  const lead = config.routing.pools.find((p) => p.key === input.pool)?.lead ?? null;
  const parts: string[] = [];
  let repId: string | null = null;
  let skipped: Assignment["skipped"] = [];
  let rotation = input.rotation;
  if (how !== "lead") {
    const exclude = [
      ...new Set([...input.previousRepIds, ...(input.currentRepId ? [input.currentRepId] : [])]),
    ];
    const next = assignRep(
      { pool: input.pool, owner: null, loads: input.loads, rotation, now: input.now, exclude },
      config,
    );
    skipped = next.skipped;
    if (next.repId) {
      repId = next.repId;
      rotation = next.rotation;
      parts.push(`reassigned to ${next.repId}${input.currentRepId ? ` (was ${input.currentRepId})` : ""}`);
    } else parts.push(`nobody else eligible (${next.reason})`);
  }
  const leadId = how !== "reassign" ? lead : null;
  if (how !== "reassign") parts.push(lead ? `lead ${lead} mentioned` : "no pool lead configured");
  return { repId, leadId, reason: parts.join("; "), skipped, rotation };
}
