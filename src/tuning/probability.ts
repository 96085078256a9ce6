import type { StoredCalibration } from "../store/calibration-store.ts";
import { predictCalibrated } from "./calibration.ts";

/**
 * The calibrated probability of converting within the horizon for `score`, as a whole percent
 * kept within 1-99 (a calibration never knows anything for certain). Pure.
 */
export function conversionPercent(calibration: Pick<StoredCalibration, "model">, score: number): number {
  const p = predictCalibrated(calibration.model, score);
  return Math.min(99, Math.max(1, Math.round(100 * p)));
}

/** "~34% likely to convert in 90 days (calibrated 2026-11-29)". Pure. */
export function conversionText(
  calibration: Pick<StoredCalibration, "model" | "horizonDays" | "fittedAt">,
  score: number,
): string {
  return `~${conversionPercent(calibration, score)}% likely to convert in ${calibration.horizonDays} days (calibrated ${calibration.fittedAt.toISOString().slice(0, 10)})`;
}
