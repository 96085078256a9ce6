import type { PqlConfig } from "../config/schema.ts";
import { evaluate } from "../signals/evaluate.ts";
import type { ReportData, ReportRouting } from "../store/report-store.ts";

/** The PLG literature's floor: a hot tier converting below this means the PQL definition is too broad. */
export const HOT_CONVERSION_FLOOR = 0.15;
/** Hot-tier outcomes needed before its conversion is judged. */
const MIN_HOT_OUTCOMES = 20;
const RECALIBRATE_AFTER_DAYS = 30;

export interface ManagerReport {
  since: string;
  asOf: string;
  /** Accounts by tier now, and the window's routings, claims and conversions: the funnel. */
  funnel: { accounts: Record<string, number>; routed: number; claimed: number; converted: number };
  claims: {
    routed: number;
    claimed: number;
    /** claimed / routed, 0-1 (null with nothing routed). */
    claimRate: number | null;
    medianMinutesToClaim: number | null;
    p90MinutesToClaim: number | null;
    /** Minutes to claim of every claim in the window (the distribution). */
    minutesToClaim: number[];
  };
  byPool: { pool: string; label: string; routed: number; claimed: number; claimRate: number | null }[];
  byRep: {
    repId: string;
    name: string;
    assigned: number;
    claimed: number;
    claimRate: number | null;
    medianMinutesToClaim: number | null;
    converted: number;
    revenue: number;
  }[];
  feedback: {
    escalations: number;
    snoozes: { reason: string; n: number }[];
    notAFit: { reason: string; n: number }[];
  };
  /** Conversion by tier against the base rate (PQL-to-paid), from every known outcome. */
  conversion: {
    accounts: number;
    baseRate: number;
    tiers: { tier: string; accounts: number; converted: number; rate: number }[];
  };
  /** Open routings nobody claimed, oldest first. */
  unclaimed: {
    accountId: string;
    name: string | null;
    domain: string | null;
    pool: string;
    repId: string | null;
    routedAt: string;
    hoursOpen: number;
  }[];
  warnings: string[];
}

const minutes = (r: ReportRouting) =>
  r.claimedAt ? Math.max(0, Math.round((r.claimedAt.getTime() - r.decidedAt.getTime()) / 60_000)) : null;

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return Math.round((a + (b - a) * (pos - lo)) * 10) / 10;
}

const rate = (n: number, of: number) => (of === 0 ? null : Math.round((n / of) * 10_000) / 10_000);

/**
 * The manager report over `data` (routings since `since`), in numbers and plain-words warnings.
 * Pure: the data, the config and `now` in.
 */
export function buildReport(
  data: ReportData,
  config: Pick<PqlConfig, "routing">,
  window: { since: Date; now: Date },
): ManagerReport {
  const { routings } = data;
  const claimed = routings.filter((r) => r.claimedAt !== null);
  const times = claimed.map((r) => minutes(r) as number).sort((a, b) => a - b);
  const people = new Map(
    [...config.routing.reps, ...config.routing.managers].map((p) => [p.id, p.name] as const),
  );
  const repIds = [
    ...new Set([
      ...routings.flatMap((r) => (r.repId ? [r.repId] : [])),
      ...claimed.map((r) => r.claimedBy as string),
    ]),
  ].sort();
  const byRep = repIds.map((repId) => {
    const assigned = routings.filter((r) => r.repId === repId);
    const mine = claimed.filter((r) => r.claimedBy === repId);
    const won = mine.filter((r) => r.converted === true);
    const t = mine.map((r) => minutes(r) as number).sort((a, b) => a - b);
    return {
      repId,
      name: people.get(repId) ?? repId,
      assigned: assigned.length,
      claimed: mine.length,
      claimRate: rate(assigned.filter((r) => r.claimedBy === repId).length, assigned.length),
      medianMinutesToClaim: quantile(t, 0.5),
      converted: won.length,
      revenue: Math.round(won.reduce((sum, r) => sum + (r.amount ?? 0), 0) * 100) / 100,
    };
  });
  const byPool = config.routing.pools
    .map((p) => {
      const inPool = routings.filter((r) => r.pool === p.key);
      const n = inPool.filter((r) => r.claimedAt !== null).length;
      return {
        pool: p.key,
        label: p.label,
        routed: inPool.length,
        claimed: n,
        claimRate: rate(n, inPool.length),
      };
    })
    .filter((p) => p.routed > 0);
  const count = (kind: string) =>
    data.feedback.filter((f) => f.kind === kind).map((f) => ({ reason: f.reason ?? "unknown", n: f.n }));
  const conversion = evaluate(data.outcomes);
  const unclaimed = routings
    .filter((r) => r.status === "open" || r.status === "snoozed")
    .map((r) => ({
      accountId: r.accountId,
      name: r.name,
      domain: r.domain,
      pool: r.pool,
      repId: r.repId,
      routedAt: r.decidedAt.toISOString(),
      hoursOpen: Math.round(((window.now.getTime() - r.decidedAt.getTime()) / 3_600_000) * 10) / 10,
    }));

  const warnings: string[] = [];
  const hot = conversion.tiers.find((t) => t.tier === "hot");
  if (hot && hot.accounts >= MIN_HOT_OUTCOMES && hot.rate < HOT_CONVERSION_FLOOR)
    warnings.push(
      `Hot accounts convert at ${pct(hot.rate)} (${hot.converted} of ${hot.accounts}), below the ${pct(HOT_CONVERSION_FLOOR)}-20% a good PQL definition reaches: the definition is too broad. Raise tiers.hot or the weights of buying signals (\`pql-router evaluate\` shows the tiers).`,
    );
  const capacity = config.routing.reps.reduce((sum, r) => sum + r.capacity, 0);
  const open = unclaimed.length;
  if (capacity > 0 && open > capacity)
    warnings.push(
      `${open} routed accounts wait unclaimed, above the team's capacity of ${capacity}: hot volume is more than reps can work. Raise tiers.hot, add reps, or raise capacities.`,
    );
  const days = (window.since.getTime() - window.now.getTime()) / -86_400_000;
  const perDay = days > 0 ? routings.length / days : 0;
  const dailyAlerts = config.routing.reps.reduce(
    (sum, r) => sum + (r.maxAlertsPerDay ?? Number.POSITIVE_INFINITY),
    0,
  );
  if (Number.isFinite(dailyAlerts) && perDay > dailyAlerts)
    warnings.push(
      `${perDay.toFixed(1)} accounts routed a day, above the ${dailyAlerts} alerts a day reps accept (maxAlertsPerDay).`,
    );
  if (data.calibratedAt === null)
    warnings.push(
      "The score was never calibrated for the current config: HubSpot and Slack show no conversion probability until you run `pql-router calibrate` against recent outcomes.",
    );
  else if (window.now.getTime() - data.calibratedAt.getTime() > RECALIBRATE_AFTER_DAYS * 86_400_000)
    warnings.push(
      `The score was last calibrated on ${data.calibratedAt.toISOString().slice(0, 10)} (over ${RECALIBRATE_AFTER_DAYS} days): run \`pql-router calibrate\` against recent outcomes.`,
    );

  return {
    since: window.since.toISOString(),
    asOf: window.now.toISOString(),
    funnel: {
      accounts: data.tiers,
      routed: routings.length,
      claimed: claimed.length,
      converted: routings.filter((r) => r.converted === true).length,
    },
    claims: {
      routed: routings.length,
      claimed: claimed.length,
      claimRate: rate(claimed.length, routings.length),
      medianMinutesToClaim: quantile(times, 0.5),
      p90MinutesToClaim: quantile(times, 0.9),
      minutesToClaim: times,
    },
    byPool,
    byRep,
    feedback: {
      escalations: count("escalation").reduce((sum, f) => sum + f.n, 0),
      snoozes: count("snooze"),
      notAFit: count("not_a_fit"),
    },
    conversion: { accounts: conversion.accounts, baseRate: conversion.baseRate, tiers: conversion.tiers },
    unclaimed,
    warnings,
  };
}

export function pct(x: number | null): string {
  return x === null ? "-" : `${Math.round(x * 1000) / 10}%`;
}

/** The routed accounts as CSV (one row each), for a spreadsheet. */
export function reportCsv(data: ReportData, config: Pick<PqlConfig, "routing">): string {
  const people = new Map(
    [...config.routing.reps, ...config.routing.managers].map((p) => [p.id, p.name] as const),
  );
  const cell = (v: string | number | null) => {
    const s = v === null ? "" : String(v);
    // Quoted, and a leading = + - @ neutralised, so a spreadsheet never runs an account name.
    const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
    return /[",\n\r]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const header = [
    "account_id",
    "name",
    "domain",
    "pool",
    "assigned_to",
    "routed_at",
    "status",
    "claimed_by",
    "claimed_at",
    "minutes_to_claim",
    "escalations",
    "converted",
    "amount",
  ];
  const lines = data.routings.map((r) =>
    [
      r.accountId,
      r.name,
      r.domain,
      r.pool,
      r.repId ? (people.get(r.repId) ?? r.repId) : null,
      r.decidedAt.toISOString(),
      r.status,
      r.claimedBy ? (people.get(r.claimedBy) ?? r.claimedBy) : null,
      r.claimedAt?.toISOString() ?? null,
      minutes(r),
      r.escalations,
      r.converted === null ? null : String(r.converted),
      r.amount,
    ]
      .map(cell)
      .join(","),
  );
  return `${[header.join(","), ...lines].join("\n")}\n`;
}
