import type { PqlConfig } from "./schema.ts";

/** A window the score reads, with the setting that defines it. */
export interface ScoringWindow {
  days: number;
  name: string;
}

/** Every window the score reads: the activity window and each signal's. Pure. */
export function scoringWindows(config: PqlConfig): ScoringWindow[] {
  return [
    { days: config.scoring.activeWindowDays, name: "scoring.activeWindowDays" },
    ...config.signals.map((s) => ({ days: s.windowDays, name: `signal ${s.key}` })),
  ];
}

/** The shortest window the score reads. Pure. */
export function shortestWindow(config: PqlConfig): ScoringWindow {
  return scoringWindows(config).reduce((a, b) => (b.days < a.days ? b : a));
}

/**
 * How far back the score reads: the longest signal window, or twice the activity window
 * (activity is compared with the period just before it, the trend). Signals' own previous-period
 * counts are not scored, so they do not reach further. Pure.
 */
export function historyRead(config: PqlConfig): ScoringWindow {
  const [activity, ...signals] = scoringWindows(config) as [ScoringWindow, ...ScoringWindow[]];
  return signals.reduce((a, b) => (b.days > a.days ? b : a), {
    days: 2 * activity.days,
    name: `twice ${activity.name} (${activity.days} days), the activity trend`,
  });
}
