import type { CalibrationModel } from "../tuning/calibration.ts";
import { finishCycleRun, startCycleRun } from "./cycle-store.ts";
import type { Database } from "./database.ts";

/** A stored calibration: the score-to-probability map of one config version, and how it was judged. */
export interface StoredCalibration {
  configVersion: string;
  fittedAt: Date;
  horizonDays: number;
  model: CalibrationModel;
  period: { from: string; to: string; everyDays: number };
  observations: number;
  conversions: number;
  ece: number;
  brier: number;
}

/**
 * Records a calibration as a `calibrate` run in `cycle_runs` (its stats hold the model): the
 * history managers and `status` already read, no table of its own.
 */
export async function saveCalibration(db: Database, calibration: StoredCalibration): Promise<void> {
  const { fittedAt, ...stats } = calibration;
  const id = await startCycleRun(db, "calibrate", fittedAt);
  await finishCycleRun(db, id, { status: "ok", endedAt: fittedAt, stats });
}

/** The newest calibration of `configVersion`: a calibration is only true for the config it was fitted on. */
export async function latestCalibration(
  db: Database,
  configVersion: string,
): Promise<StoredCalibration | null> {
  const { rows } = await db.sql.query<{ started_at: Date; stats: Omit<StoredCalibration, "fittedAt"> }>(
    `SELECT started_at, stats FROM cycle_runs
    WHERE kind = 'calibrate' AND status = 'ok' AND stats ->> 'configVersion' = $1
    ORDER BY started_at DESC, id DESC LIMIT 1`,
    [configVersion],
  );
  const row = rows[0];
  return row ? { ...row.stats, fittedAt: new Date(row.started_at) } : null;
}
