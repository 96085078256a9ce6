import { type CalibrationModel, calibrate, predictCalibrated } from "./calibration.ts";
import { bandOf, bands, brier, expectedCalibrationError, wilson } from "./stats.ts";

export interface ScoreBand {
  /** Scores in [min, max] (the band's observed range). */
  min: number;
  max: number;
  observations: number;
  converted: number;
  rate: number;
  interval: { low: number; high: number };
  /** Mean calibrated probability in the band (out of fold). */
  predicted: number;
}

export interface Calibration {
  method: CalibrationModel["method"];
  /** Fitted on every observation: what is stored and shown beside scores. */
  model: CalibrationModel;
  /** Conversion per score decile, with 95% Wilson intervals and the calibrated probability. */
  deciles: ScoreBand[];
  /**
   * Expected calibration error and Brier score of the calibrated probability, out of fold (each
   * account's probabilities come from a model fitted without that account), so they are honest.
   */
  ece: number;
  brier: number;
  /** Brier of always predicting the base rate, for comparison. */
  brierBaseRate: number;
  folds: number;
}

/** Conversions (within the horizon) the calibration needs before it is worth judging. */
export const MIN_CONVERSIONS = 50;

/** Account -> fold, deterministic: a hash of the account index, so an account's points stay together. */
export function accountFold(account: number, folds: number): number {
  let h = (account + 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) % folds;
}

/**
 * Maps scores to the probability of converting within the horizon (isotonic by default), and
 * judges it: deciles with Wilson intervals, out-of-fold ECE and Brier (folds by account). Pure.
 * null when there is nothing to calibrate (no observation, or a single class).
 */
export function calibrationOf(
  scores: readonly number[],
  labels: readonly number[],
  accounts: readonly number[],
  method: CalibrationModel["method"] = "isotonic",
  folds = 5,
): Calibration | null {
  const n = scores.length;
  const positives = labels.reduce((s, y) => s + y, 0);
  if (n === 0 || positives === 0 || positives === n) return null;
  const model = calibrate(scores, labels, method);
  const oof = new Array<number>(n);
  for (let f = 0; f < folds; f++) {
    const train = [];
    for (let i = 0; i < n; i++) if (accountFold(accounts[i] as number, folds) !== f) train.push(i);
    const trainLabels = train.map((i) => labels[i] as number);
    const ones = trainLabels.reduce((s, y) => s + y, 0);
    const fold =
      ones === 0 || ones === train.length
        ? null
        : calibrate(
            train.map((i) => scores[i] as number),
            trainLabels,
            method,
          );
    const constant = train.length === 0 ? positives / n : ones / train.length;
    for (let i = 0; i < n; i++)
      if (accountFold(accounts[i] as number, folds) === f)
        oof[i] = fold ? predictCalibrated(fold, scores[i] as number) : constant;
  }
  const edges = bands(scores, 10);
  const groups = Array.from({ length: edges.length + 1 }, () => ({
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    n: 0,
    hits: 0,
    p: 0,
  }));
  for (let i = 0; i < n; i++) {
    const g = groups[bandOf(edges, scores[i] as number)] as (typeof groups)[number];
    const s = scores[i] as number;
    g.min = Math.min(g.min, s);
    g.max = Math.max(g.max, s);
    g.n++;
    g.hits += labels[i] as number;
    g.p += oof[i] as number;
  }
  const baseRate = positives / n;
  return {
    method,
    model,
    deciles: groups
      .filter((g) => g.n > 0)
      .map((g) => ({
        min: g.min,
        max: g.max,
        observations: g.n,
        converted: g.hits,
        rate: g.hits / g.n,
        interval: wilson(g.hits, g.n),
        predicted: g.p / g.n,
      })),
    ece: expectedCalibrationError(oof, labels),
    brier: brier(oof, labels),
    brierBaseRate: brier(
      labels.map(() => baseRate),
      labels,
    ),
    folds,
  };
}
