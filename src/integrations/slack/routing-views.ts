import type { PqlConfig } from "../../config/schema.ts";
import type { StoredCalibration } from "../../store/calibration-store.ts";
import type { DecisionRow } from "../../store/slack-store.ts";
import { conversionText } from "../../tuning/probability.ts";
import type { AlertState, AlertView, DigestItem, NotAFitReason, Person } from "./blocks.ts";

/**
 * Pure mapping from stored routing decisions and the config to what Slack messages show, and
 * from pools to channels. No I/O: the jobs and the handlers share it.
 */

type Config = Pick<PqlConfig, "routing" | "slack" | "personas" | "pqr" | "hubspot">;

/** A rep or manager as the Slack side knows them. */
export interface Member {
  id: string;
  name: string;
  slackUserId: string | null;
  role: "rep" | "manager";
  pools: string[];
}

export function members(config: Pick<PqlConfig, "routing">): Map<string, Member> {
  const all: Member[] = [
    ...config.routing.reps.map((r) => ({
      id: r.id,
      name: r.name,
      slackUserId: r.slackUserId ?? null,
      role: "rep" as const,
      pools: r.pools,
    })),
    ...config.routing.managers.map((m) => ({
      id: m.id,
      name: m.name,
      slackUserId: m.slackUserId,
      role: "manager" as const,
      pools: [],
    })),
  ];
  return new Map(all.map((m) => [m.id, m]));
}

export function memberBySlackId(config: Pick<PqlConfig, "routing">, slackUserId: string): Member | null {
  for (const m of members(config).values()) if (m.slackUserId === slackUserId) return m;
  return null;
}

/**
 * Who may claim, snooze or dismiss an account of `pool`: its reps, every manager, and the rep it
 * is assigned to (a CRM owner keeps their account even when it was routed to another pool).
 */
export function mayAct(member: Member | null, pool: string, assignedRepId: string | null = null): boolean {
  return (
    member !== null &&
    (member.role === "manager" || member.pools.includes(pool) || member.id === assignedRepId)
  );
}

export interface ChannelPlan {
  /** The channel as configured (#name or id). */
  channel: string;
  mode: "instant" | "digest";
  digestCron: string | null;
  pools: string[];
}

/**
 * Where each pool's accounts go: `slack.channels.pools[pool]`, else `hot`. In shadow mode every
 * pool posts to the shadow channel (modes kept). Pools sharing a channel and mode share a plan.
 */
export function channelPlans(config: Pick<PqlConfig, "routing" | "slack">): ChannelPlan[] {
  const plans = new Map<string, ChannelPlan>();
  for (const pool of config.routing.pools) {
    const spec = config.slack.channels.pools[pool.key] ?? config.slack.channels.hot;
    const base =
      typeof spec === "string"
        ? { channel: spec, mode: "instant" as const, digestCron: null }
        : { channel: spec.channel, mode: spec.mode, digestCron: spec.digestCron ?? null };
    const channel = config.slack.shadow?.channel ?? base.channel;
    const id = `${channel}|${base.mode}|${base.digestCron ?? ""}`;
    const plan = plans.get(id) ?? { ...base, channel, pools: [] };
    plan.pools.push(pool.key);
    plans.set(id, plan);
  }
  return [...plans.values()];
}

export function hubspotCompanyUrl(
  config: Pick<PqlConfig, "hubspot">,
  companyId: string | null,
): string | null {
  if (!companyId || !config.hubspot.portalId) return null;
  return `https://app.hubspot.com/contacts/${config.hubspot.portalId}/company/${companyId}`;
}

function person(all: Map<string, Member>, personId: string | null, slackUserId: string | null): Person {
  const m = personId ? all.get(personId) : undefined;
  if (m) return { name: m.name, slackUserId: m.slackUserId };
  return { name: personId ?? slackUserId ?? "someone", slackUserId };
}

export function alertState(row: DecisionRow, all: Map<string, Member>): AlertState {
  const a = row.action;
  if (row.status === "claimed" && a?.kind === "claim")
    return { kind: "claimed", by: person(all, a.personId, a.slackUserId), at: a.at };
  if (row.status === "snoozed" && a?.kind === "snooze" && a.until)
    return { kind: "snoozed", by: person(all, a.personId, a.slackUserId), until: a.until, at: a.at };
  if (row.status === "not_a_fit" && a?.kind === "not_a_fit")
    return {
      kind: "not-a-fit",
      by: person(all, a.personId, a.slackUserId),
      reason: (a.reason ?? "other") as NotAFitReason,
      at: a.at,
    };
  if (row.status === "superseded") return { kind: "superseded" };
  return { kind: "open" };
}

/**
 * The calibrated conversion probability to show beside the routing's score: only when
 * `calibration` (the current config's) is of the config that made the score, else null.
 */
export function probabilityOf(
  row: Pick<DecisionRow, "score" | "configVersion">,
  calibration: StoredCalibration | null,
): string | null {
  return calibration !== null && calibration.configVersion === row.configVersion
    ? conversionText(calibration, row.score)
    : null;
}

export function alertView(
  row: DecisionRow,
  config: Config,
  calibration: StoredCalibration | null,
): AlertView {
  const all = members(config);
  const pool = config.routing.pools.find((p) => p.key === row.pool);
  const personaLabels = new Map(config.personas.map((p) => [p.key, p.label]));
  const assignee = row.repId ? person(all, row.repId, null) : null;
  const lead = pool?.lead ? person(all, pool.lead, null) : null;
  const shadow = row.shadow || config.slack.shadow !== undefined;
  return {
    decisionId: String(row.id),
    accountId: row.accountId,
    name: row.name,
    domain: row.domain,
    tier: row.tier,
    score: row.score,
    probability: probabilityOf(row, calibration),
    pqr: row.pqr,
    currency: config.pqr.currency,
    icp: row.icp,
    reasons: row.reasons,
    personas: row.personas.map((p) => personaLabels.get(p) ?? p),
    pool: { key: row.pool, label: pool?.label ?? row.pool },
    assignee,
    unassignedReason: row.repId ? null : (row.assignmentReason ?? "not assigned yet"),
    hubspotUrl: hubspotCompanyUrl(config, row.companyId),
    routedAt: row.decidedAt,
    mention: !shadow,
    shadow,
    escalations: row.escalations > 0 ? { count: row.escalations, lead } : null,
    state: alertState(row, all),
  };
}

export function digestItem(
  row: DecisionRow,
  config: Config,
  calibration: StoredCalibration | null,
): DigestItem {
  const all = members(config);
  return {
    decisionId: String(row.id),
    name: row.name,
    domain: row.domain,
    score: row.score,
    probability: probabilityOf(row, calibration),
    pqr: row.pqr,
    currency: config.pqr.currency,
    routedAt: row.decidedAt,
    assignee: row.repId ? person(all, row.repId, null) : null,
    topReason: row.reasons[0] ?? null,
  };
}

/** Mention text for a person: <@U…> when they have a Slack id and mentions are on, else the name. */
export function mentionOf(p: Person, mention: boolean): string {
  return mention && p.slackUserId ? `<@${p.slackUserId}>` : p.name.replace(/[&<>]/g, "");
}
