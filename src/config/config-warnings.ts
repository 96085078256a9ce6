import { type ComponentName, weigh } from "../signals/score-account.ts";
import type { PqlConfig } from "./schema.ts";
import { shortestWindow } from "./windows.ts";

const DAY_MS = 86_400_000;

/** A component with weight that nothing feeds: its points can never be reached (or never vary). */
export interface UnreachablePoints {
  component: ComponentName;
  /** Its share of the 100-point score. */
  points: number;
  why: string;
}

/** Components whose points no definition in the config can earn. Pure. */
export function unreachablePoints(config: PqlConfig): UnreachablePoints[] {
  const signalsOf = (kind: PqlConfig["signals"][number]["kind"]) =>
    config.signals.filter((s) => s.kind === kind && s.weight > 0).length;
  const icpCriteria = [
    config.icp.employees,
    config.icp.industry,
    config.icp.region,
    config.icp.techStack,
  ].filter((c) => c !== undefined && c.weight > 0).length;
  const fed: Partial<Record<ComponentName, string | null>> = {
    adoptionDepth: signalsOf("adoption") ? null : "no signal of kind adoption with weight",
    usageVolume: signalsOf("volume") ? null : "no signal of kind volume with weight",
    integrations: signalsOf("integration") ? null : "no signal of kind integration with weight",
    intent: signalsOf("intent") ? null : "no signal of kind intent with weight",
    activation: config.milestones.length ? null : "no milestones",
    personas: config.personas.length ? null : "no personas",
    icpFit: icpCriteria
      ? null
      : "no ICP criterion with weight: every account gets the same half of these points, unknown ICP",
  };
  return weigh(config).flatMap(({ name, weight }) => {
    const why = fed[name];
    if (!why || weight <= 0) return [];
    return [{ component: name, points: Math.round(1000 * weight) / 10, why }];
  });
}

/** Plain-words warnings about a valid config. Pure. */
export function configWarnings(config: PqlConfig): string[] {
  return unreachablePoints(config).map(
    (u) =>
      `${u.points} points of the score can never be reached: component ${u.component} has weight but ${u.why} ` +
      `(give it a feeder, or set scoring.components.${u.component} to 0)`,
  );
}

/**
 * Scoring at `now` on data whose newest event is older than the shortest window: every window
 * is empty and every account looks inactive. Says so, and which `--at` to use. Pure.
 */
export function staleDataWarning(newestEvent: Date | null, now: Date, config: PqlConfig): string | null {
  if (newestEvent === null) return null;
  const shortest = shortestWindow(config);
  const ageDays = (now.getTime() - newestEvent.getTime()) / DAY_MS;
  if (ageDays <= shortest.days) return null;
  const day = newestEvent.toISOString().slice(0, 10);
  return (
    `the newest event (${newestEvent.toISOString()}) is ${Math.floor(ageDays)} days before ${now.toISOString()}, ` +
    `older than the shortest window (${shortest.days} days, ${shortest.name}): windows are empty and accounts ` +
    `score as inactive. To score the data as of its own time, add --at ${day}`
  );
}
