import type { ConfigEdit } from "../config/edit-config.ts";
import type { PqlConfig, SignalDefinition } from "../config/schema.ts";
import { type ComponentName, DIMENSION_OF, weigh } from "../signals/score-account.ts";
import type { BacktestInput, Observation } from "./backtest.ts";
import { accountFold } from "./calibration-report.ts";
import { crossValidateLogistic } from "./cross-validate.ts";
import type { Interval } from "./logistic.ts";
import { COMPONENTS } from "./replay.ts";
import { auc, liftAt } from "./stats.ts";

/** Components fed by signals of one kind: their value is the weighted intensity of those signals. */
const KIND_OF: Partial<Record<ComponentName, SignalDefinition["kind"]>> = {
  adoptionDepth: "adoption",
  usageVolume: "volume",
  integrations: "integration",
  intent: "intent",
};

/** Rows a fit uses at most: points of one account are much alike, so more adds time, not information. */
export const MAX_ROWS = 40_000;

export interface FittedColumn {
  /** A component (activation, icpFit...) or a signal (by key) of a signal-fed component. */
  name: string;
  component: ComponentName;
  signal: string | null;
  /** Log-odds of converting per unit (0 to 1) of the input, with its 95% interval (approximate under the penalty). */
  coefficient: number;
  interval: Interval | null;
  /** Share of the score (0-1): hand-set in the config, and implied by the fit (negative coefficients count 0). */
  handSet: number;
  fitted: number;
  fittedInterval: { low: number; high: number } | null;
}

export interface WeightFit {
  rows: number;
  converted: number;
  l2: number;
  folds: number;
  columns: FittedColumn[];
  /** On held-back accounts (out of fold): the fitted model against the hand-set score. */
  heldOut: {
    fitted: { auc: number | null; liftTop10: number | null };
    handSet: { auc: number | null; liftTop10: number | null };
  };
  /** The config values a candidate would take (dimension weights, component shares, signal weights). */
  edits: ConfigEdit[];
}

/**
 * Fits the score's own structure to outcomes: L2-regularised logistic regression of "converted
 * within the horizon" on the inputs the score adds up (each signal's intensity for signal-fed
 * components, the other components' values), with the penalty chosen by 5-fold cross-validation
 * over accounts (all points of an account in one fold). The positive coefficients become weights:
 * a component's share follows its coefficient (a signal-fed one, the sum of its signals'), a
 * signal's weight inside its kind follows its own. Pure; a report, never applied.
 */
export function fitWeights(
  run: BacktestInput["runs"][number],
  obs: readonly Observation[],
  seed = 1,
): WeightFit | null {
  const { config, scores } = run;
  const stride = Math.max(1, Math.ceil(obs.length / MAX_ROWS));
  const rows = obs.filter((_, i) => i % stride === 0);
  const y = rows.map((o) => o.label);
  const converted = y.reduce((s: number, v) => s + v, 0);
  if (rows.length < 20 || converted < 5 || converted === rows.length) return null;
  const columns: {
    name: string;
    component: ComponentName;
    signal: SignalDefinition | null;
    read: (at: number) => number;
  }[] = [];
  for (const component of COMPONENTS) {
    const kind = KIND_OF[component];
    if (kind === undefined) {
      const c = COMPONENTS.indexOf(component);
      columns.push({
        name: component,
        component,
        signal: null,
        read: (at) => scores.components[at * COMPONENTS.length + c] as number,
      });
      continue;
    }
    config.signals.forEach((signal, k) => {
      if (signal.kind !== kind) return;
      columns.push({
        name: `${component}: ${signal.key}`,
        component,
        signal,
        read: (at) => scores.signals[at * scores.signalCount + k] as number,
      });
    });
  }
  const X = rows.map((o) => columns.map((c) => c.read(o.at)));
  const cv = crossValidateLogistic(X, y, {
    seed,
    foldOf: rows.map((o) => accountFold(o.account, 5)),
    l2Grid: [0.1, 1, 10, 100, 1000],
  });
  const model = cv.model;
  const positive = model.coefficients.map((b) => Math.max(0, b));
  const total = positive.reduce((s, b) => s + b, 0);
  // Hand-set shares: the component's effective weight, split among its signals by their weights.
  const effective = new Map(weigh(config).map((w) => [w.name, w.weight]));
  const kindTotal = (kind: SignalDefinition["kind"]) =>
    config.signals.filter((s) => s.kind === kind).reduce((sum, s) => sum + s.weight, 0);
  const fittedColumns = columns.map((c, j): FittedColumn => {
    const handSet = c.signal
      ? ((effective.get(c.component) ?? 0) * c.signal.weight) / (kindTotal(c.signal.kind) || 1)
      : (effective.get(c.component) ?? 0);
    const interval = model.intervals[j] ?? null;
    return {
      name: c.name,
      component: c.component,
      signal: c.signal?.key ?? null,
      coefficient: model.coefficients[j] as number,
      interval,
      handSet,
      fitted: total > 0 ? (positive[j] as number) / total : 0,
      fittedInterval:
        interval && total > 0
          ? { low: Math.max(0, interval.low) / total, high: Math.max(0, interval.high) / total }
          : null,
    };
  });
  const handScores = rows.map((o) => scores.score[o.at] as number);
  return {
    rows: rows.length,
    converted,
    l2: cv.l2,
    folds: 5,
    columns: fittedColumns,
    heldOut: {
      fitted: { auc: cv.outOfFoldAuc, liftTop10: liftAt(cv.outOfFold, y, 0.1) },
      handSet: { auc: auc(handScores, y), liftTop10: liftAt(handScores, y, 0.1) },
    },
    edits: total > 0 ? weightEdits(config, fittedColumns) : [],
  };
}

/** `fitted` shares rescaled to the sum of the `original` values they replace (a config's own scale), 2 decimals. */
function rescale(original: readonly number[], fitted: readonly number[]): number[] {
  const o = original.reduce((s, x) => s + x, 0);
  const f = fitted.reduce((s, x) => s + x, 0);
  return fitted.map((x) => (f > 0 ? round2((x / f) * (o > 0 ? o : 1)) : 0));
}

/**
 * The config values implied by fitted shares, on the config's own scales: dimension weights,
 * component shares inside each dimension, signal weights inside each kind. A group the fit gives
 * nothing keeps its values (it gives no points: its dimension or component weight is 0).
 */
function weightEdits(config: PqlConfig, columns: readonly FittedColumn[]): ConfigEdit[] {
  const share = new Map<ComponentName, number>();
  for (const c of columns) share.set(c.component, (share.get(c.component) ?? 0) + c.fitted);
  const edits: ConfigEdit[] = [];
  const dimensions = ["behavioural", "account", "intent"] as const;
  const dimensionShare = (d: (typeof dimensions)[number]) =>
    COMPONENTS.filter((c) => DIMENSION_OF[c] === d).reduce((s, c) => s + (share.get(c) ?? 0), 0);
  const dims = rescale(
    dimensions.map((d) => config.scoring.weights[d]),
    dimensions.map(dimensionShare),
  );
  dimensions.forEach((d, i) => {
    edits.push({ path: ["scoring", "weights", d], value: dims[i] as number });
  });
  for (const d of ["behavioural", "account"] as const) {
    const inside = COMPONENTS.filter((c) => DIMENSION_OF[c] === d && c !== "intent") as Exclude<
      ComponentName,
      "intent"
    >[];
    if (dimensionShare(d) <= 0) continue;
    const values = rescale(
      inside.map((c) => config.scoring.components[c]),
      inside.map((c) => share.get(c) ?? 0),
    );
    inside.forEach((c, i) => {
      edits.push({ path: ["scoring", "components", c], value: values[i] as number });
    });
  }
  const byComponent = new Map<ComponentName, FittedColumn[]>();
  for (const c of columns)
    if (c.signal) byComponent.set(c.component, [...(byComponent.get(c.component) ?? []), c]);
  for (const [, signals] of byComponent) {
    if (signals.every((s) => s.fitted <= 0)) continue;
    const indices = signals.map((s) => config.signals.findIndex((x) => x.key === s.signal));
    const values = rescale(
      indices.map((i) => config.signals[i]?.weight ?? 0),
      signals.map((s) => s.fitted),
    );
    indices.forEach((index, i) => {
      edits.push({ path: ["signals", index, "weight"], value: values[i] as number });
    });
  }
  return edits;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
