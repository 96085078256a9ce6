import type { PqlConfig, SignalDefinition } from "../config/schema.ts";
import { counted } from "../text.ts";
import { type AccountFeatures, NO_SIGNAL } from "./account-features.ts";
import { type IcpMatch, icpMatch, UNKNOWN_MATCH } from "./icp-match.ts";
import { estimatePqr, type PqrEstimate } from "./pqr-estimate.ts";

export type Tier = "hot" | "warm" | "cold";
export type Dimension = "behavioural" | "account" | "intent";
export type ComponentName =
  | "adoptionDepth"
  | "activation"
  | "usageVolume"
  | "activeUsers"
  | "personas"
  | "integrations"
  | "icpFit"
  | "intent";

export interface Component {
  name: ComponentName;
  dimension: Dimension;
  /** Share of the score this component can give (all weights add up to 1). */
  weight: number;
  /** 0 to 1. */
  value: number;
  /** 100 x weight x value, rounded to 2 decimals: the contributions add up to the score. */
  contribution: number;
}

export interface AccountScore {
  accountId: string;
  /** 0-100. */
  score: number;
  tier: Tier;
  pqr: PqrEstimate;
  icp: IcpMatch;
  components: Component[];
  /** Plain words, strongest contribution first, then what is missing. */
  reasons: string[];
  /** Milestones reached (ever), those reached within their expectedDay of the first event, TTFV. */
  activation: { reached: string[]; onTime: string[]; total: number; ttfvHours: number | null };
}

/** The dimension each component belongs to. */
export const DIMENSION_OF: Record<ComponentName, Dimension> = {
  adoptionDepth: "behavioural",
  activation: "behavioural",
  usageVolume: "behavioural",
  activeUsers: "account",
  personas: "account",
  integrations: "account",
  icpFit: "account",
  intent: "intent",
};

const MAX_REASONS = 5;
const HOUR = 3_600_000;

/**
 * The account-level PQL score: behavioural, account and intent dimensions, each a weighted mix
 * of components valued 0-1, combined with the config's weights into 0-100, with a tier, a PQR
 * estimate and reasons. Pure: features, config and `now` in, score out.
 */
export function scoreAccount(features: AccountFeatures, config: PqlConfig, now: Date): AccountScore {
  const icp = icpMatch(features.firmographics, config.icp);
  const { score, tier, components, activation } = scoreNumbers(features, config, now, icp, weigh(config));
  return {
    accountId: features.accountId,
    score,
    tier,
    pqr: estimatePqr(features, config),
    icp,
    components,
    reasons: reasonsFor(features, config, components, icp, activation),
    activation: {
      reached: activation.reached,
      onTime: activation.onTime,
      total: config.milestones.length,
      ttfvHours: activation.ttfvHours,
    },
  };
}

/**
 * The numbers of a score without its words (no reasons, no PQR): the components, their sum and
 * the tier. `scoreAccount` is this plus the explanation; the backtest's replay calls it directly,
 * with the ICP match and the weights worked out once per account rather than at every point
 * (both depend on the firmographics and the config only).
 */
export function scoreNumbers(
  features: AccountFeatures,
  config: PqlConfig,
  now: Date,
  icp: IcpMatch,
  weights: readonly { name: ComponentName; weight: number }[],
): { score: number; tier: Tier; components: Component[]; activation: Activation } {
  const activation = activationOf(features, config, now);
  const values: Record<ComponentName, number> = {
    adoptionDepth: depth(features, config.signals, "adoption"),
    activation: activation.value,
    usageVolume: depth(features, config.signals, "volume"),
    activeUsers: Math.min(1, features.activeUsers / config.scoring.activeUsersSaturation),
    personas: Math.min(1, features.personas.length / config.scoring.multiPersona.strongAt),
    integrations: depth(features, config.signals, "integration"),
    icpFit: icp.score === null ? UNKNOWN_MATCH : icp.score / 100,
    intent: depth(features, config.signals, "intent"),
  };
  const components = weights.map(({ name, weight }) => {
    const value = round4(values[name]);
    return {
      name,
      dimension: DIMENSION_OF[name],
      weight: round4(weight),
      value,
      contribution: round2(100 * weight * value),
    };
  });
  const score = round2(components.reduce((sum, c) => sum + c.contribution, 0));
  const tier: Tier = score >= config.tiers.hot ? "hot" : score >= config.tiers.warm ? "warm" : "cold";
  return { score, tier, components, activation };
}

/** Effective weights: dimension weight share x component share inside its dimension (adding up to 1). */
export function weigh(config: PqlConfig): { name: ComponentName; weight: number }[] {
  const inner: Record<ComponentName, number> = { ...config.scoring.components, intent: 1 };
  const names = Object.keys(DIMENSION_OF) as ComponentName[];
  const dimensionTotal = (d: Dimension) =>
    names.filter((n) => DIMENSION_OF[n] === d).reduce((s, n) => s + inner[n], 0);
  const live = (["behavioural", "account", "intent"] as const).filter((d) => dimensionTotal(d) > 0);
  const outer = live.reduce((s, d) => s + config.scoring.weights[d], 0);
  return names.map((name) => {
    const d = DIMENSION_OF[name];
    const weight =
      outer === 0 || !live.includes(d)
        ? 0
        : (config.scoring.weights[d] / outer) * (inner[name] / dimensionTotal(d));
    return { name, weight };
  });
}

/** Intensity of a signal: count over its saturation, capped at 1 (depth, not raw volume). */
export function intensity(count: number, saturation: number): number {
  return Math.min(1, count / saturation);
}

/** sum(weight x intensity) / sum(weight) over the signals of one kind: Feature Adoption Depth. */
export function depth(
  features: AccountFeatures,
  signals: readonly SignalDefinition[],
  kind: SignalDefinition["kind"],
): number {
  const ofKind = signals.filter((s) => s.kind === kind);
  const total = ofKind.reduce((sum, s) => sum + s.weight, 0);
  if (total === 0) return 0;
  return (
    ofKind.reduce(
      (sum, s) => sum + s.weight * intensity((features.signals[s.key] ?? NO_SIGNAL).count, s.saturation),
      0,
    ) / total
  );
}

export interface Activation {
  value: number;
  reached: string[];
  onTime: string[];
  ttfvHours: number | null;
}

/** Milestones reached (ever, up to now) and time-to-first-value; value = 0.7 x share reached + 0.3 x TTFV speed. */
export function activationOf(features: AccountFeatures, config: PqlConfig, now: Date): Activation {
  const reachedAt = (m: PqlConfig["milestones"][number]) => {
    const times = m.signals
      .map((key) => (features.signals[key] ?? NO_SIGNAL).firstAt)
      .filter((t): t is Date => t !== null && t.getTime() <= now.getTime());
    return times.length === 0 ? null : new Date(Math.min(...times.map((t) => t.getTime())));
  };
  const reached = config.milestones.filter((m) => reachedAt(m) !== null);
  const core = config.milestones.find((m) => m.coreValue);
  const coreAt = core ? reachedAt(core) : null;
  const ttfvHours =
    coreAt && features.firstSeenAt
      ? Math.max(0, (coreAt.getTime() - features.firstSeenAt.getTime()) / HOUR)
      : null;
  const speed =
    ttfvHours === null
      ? 0
      : ttfvHours <= config.scoring.ttfvTargetHours
        ? 1
        : config.scoring.ttfvTargetHours / ttfvHours;
  const share = config.milestones.length === 0 ? 0 : reached.length / config.milestones.length;
  const first = features.firstSeenAt?.getTime();
  const onTime = reached.filter((m) => {
    const at = reachedAt(m);
    return first !== undefined && at !== null && at.getTime() - first <= m.expectedDay * 24 * HOUR;
  });
  return {
    value: 0.7 * share + 0.3 * speed,
    reached: reached.map((m) => m.key),
    onTime: onTime.map((m) => m.key),
    ttfvHours: ttfvHours === null ? null : round2(ttfvHours),
  };
}

function reasonsFor(
  features: AccountFeatures,
  config: PqlConfig,
  components: Component[],
  icp: IcpMatch,
  activation: Activation,
): string[] {
  const window = config.scoring.activeWindowDays;
  const personaLabel = (key: string) => config.personas.find((p) => p.key === key)?.label ?? key;
  const signalsOf = (kind: SignalDefinition["kind"]) =>
    config.signals
      .filter((s) => s.kind === kind && (features.signals[s.key] ?? NO_SIGNAL).count > 0)
      .sort(
        (a, b) => b.weight * intensity(count(b), b.saturation) - a.weight * intensity(count(a), a.saturation),
      )
      .slice(0, 3)
      .map((s) => signalReason(s, count(s)))
      .join("; ");
  const count = (s: SignalDefinition) => (features.signals[s.key] ?? NO_SIGNAL).count;
  const said: Record<ComponentName, () => string | null> = {
    personas: () => {
      const n = features.personas.length;
      if (n === 0) return null;
      return `${counted(n, "persona")} active in ${window} days (${features.personas.map(personaLabel).join(", ")})`;
    },
    adoptionDepth: () => signalsOf("adoption") || null,
    intent: () => signalsOf("intent") || null,
    usageVolume: () => signalsOf("volume") || null,
    integrations: () =>
      config.signals
        .filter((s) => s.kind === "integration" && count(s) > 0)
        .map((s) => signalReason(s, count(s)))
        .join("; ") || null,
    activeUsers: () =>
      features.activeUsers === 0 ? null : `${counted(features.activeUsers, "active user")} in ${window} days`,
    activation: () => {
      if (activation.reached.length === 0) return null;
      const ttfv =
        activation.ttfvHours === null
          ? ""
          : `; first value ${formatHours(activation.ttfvHours)} after the first event`;
      const total = config.milestones.length;
      if (activation.reached.length === total) return `reached all ${total} activation milestones${ttfv}`;
      const labels = config.milestones.filter((m) => activation.reached.includes(m.key)).map((m) => m.label);
      return `reached ${activation.reached.length} of ${total} activation milestones (${labels.join(", ")})${ttfv}`;
    },
    icpFit: () =>
      icp.score === null
        ? null
        : `ICP fit ${icp.score}/100${icp.facts.length > 0 ? ` (${icp.facts.join(", ")})` : ""}`,
  };
  const positive = [...components]
    .filter((c) => c.contribution > 0)
    .sort((a, b) => b.contribution - a.contribution)
    .map((c) => said[c.name]())
    .filter((r): r is string => r !== null)
    .slice(0, MAX_REASONS);
  const missing: string[] = [];
  if (icp.score === null) missing.push("no firmographics: ICP unknown");
  else if (icp.unknown.length > 0)
    missing.push(`${icp.unknown.join(", ")} unknown: counted as neutral in ICP`);
  if (features.events === 0) missing.push(`no product activity in the last ${window} days`);
  if (features.usersWithoutPersona > 0) {
    missing.push(`${counted(features.usersWithoutPersona, "active user")} with no known persona`);
  }
  const core = config.milestones.find((m) => m.coreValue);
  if (core && !activation.reached.includes(core.key) && features.events > 0)
    missing.push(`core value not reached yet (${core.label})`);
  return [...positive, ...missing];
}

/**
 * "sent {count} offer letter{s}" with 31 -> "sent 31 offer letters", with 1 -> "sent 1 offer
 * letter"; a label without {count} gets " (31x)" when the count is above 1.
 */
export function describeSignal(signal: SignalDefinition, count: number): string {
  const label = signal.label.replaceAll("{s}", count === 1 ? "" : "s");
  return label.includes("{count}")
    ? label.replaceAll("{count}", String(count))
    : count > 1
      ? `${label} (${count}x)`
      : label;
}

/** A signal as a reason: its window is said only with a count ("connected an HRIS" needs none). */
export function signalReason(signal: SignalDefinition, count: number): string {
  const shown = signal.label.includes("{count}") || count > 1;
  return `${describeSignal(signal, count)}${shown ? ` in ${signal.windowDays} days` : ""}`;
}

/**
 * Product activity in the active window against the window before it, in percent; not part of
 * the score. null when either window is empty or the account was first seen inside the previous
 * window (a partial window says nothing: "up 1300%" from three days of history).
 */
export function activityTrend(features: AccountFeatures, config: PqlConfig, now: Date): number | null {
  const window = config.scoring.activeWindowDays;
  if (features.previousEvents === 0 || features.events === 0 || !features.firstSeenAt) return null;
  if (features.firstSeenAt.getTime() > now.getTime() - 2 * window * 86_400_000) return null;
  return Math.round((100 * (features.events - features.previousEvents)) / features.previousEvents);
}

export function formatHours(hours: number): string {
  if (hours < 1) return `${Math.max(1, Math.round(hours * 60))} minutes`;
  if (hours < 48) return `${Math.round(hours * 10) / 10} hours`;
  return `${Math.round((hours / 24) * 10) / 10} days`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
