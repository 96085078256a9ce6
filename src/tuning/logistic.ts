import { cholesky, choleskyInverse, choleskySolve } from "./matrix.ts";

/** Options for {@link fitLogistic}. */
export interface LogisticOptions {
  /**
   * L2 penalty λ in ℓ(β) − λ/2 · Σ β_j², where ℓ is the summed (not averaged) log-likelihood and
   * the sum runs over the slopes on the scale being fitted (standardised when `standardize`).
   * The intercept is never penalised. Default 0 (plain maximum likelihood).
   */
  l2?: number;
  /** Default true. */
  fitIntercept?: boolean;
  /**
   * Fit on columns scaled to unit standard deviation (centred too when there is an intercept; without
   * one they are scaled by their root mean square). Coefficients are always reported on the original
   * scale. With l2 = 0 this changes nothing but numerical conditioning; with l2 > 0 it makes the
   * penalty treat every column alike. Default true.
   */
  standardize?: boolean;
  /** Newton iterations allowed. Default 100. */
  maxIter?: number;
  /** Converged when no coefficient (fitted scale) moves more than tolerance × (1 + largest). Default 1e-10. */
  tolerance?: number;
}

/** An interval { low, high }. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * A fitted logistic regression, plain JSON. Coefficients are on the original column scale.
 * Standard errors and intervals come from the inverse of the penalised Hessian (observed
 * information plus λ); under a penalty they are approximate (they ignore the shrinkage bias).
 * They are null for dropped constant columns, for the intercept when none is fitted, and for
 * everything when that Hessian is singular.
 */
export interface LogisticModel {
  intercept: number;
  coefficients: number[];
  interceptStandardError: number | null;
  standardErrors: (number | null)[];
  /** 95% Wald intervals: estimate ± 1.96 × standard error. */
  interceptInterval: Interval | null;
  intervals: (Interval | null)[];
  /** True for a column left out of the fit because it cannot vary (its coefficient is 0). */
  constantColumns: boolean[];
  iterations: number;
  /** False when maxIter ran out, typically perfect separation with l2 = 0. */
  converged: boolean;
  /** Unpenalised log-likelihood (summed over rows) at the solution. */
  logLikelihood: number;
  l2: number;
}

const Z95 = 1.959963984540054;

/**
 * L2-regularised logistic regression by Newton's method (IRLS) with step halving. `X` is rows ×
 * columns (a few dozen columns at most: each step solves a dense system), `y` holds 0/1 (values in
 * between are accepted as fractional outcomes).
 *
 * Constant columns are dropped from the fit and reported in `constantColumns` (with an intercept
 * a column is constant when all its values are equal; without one only an all-zero column is).
 * Perfectly separated data has no finite maximum-likelihood solution: with l2 > 0 the penalty keeps
 * the answer finite; with l2 = 0 the fit stops at maxIter with `converged: false`.
 */
export function fitLogistic(
  X: readonly (readonly number[])[],
  y: readonly number[],
  options: LogisticOptions = {},
): LogisticModel {
  const { l2 = 0, fitIntercept = true, standardize = true, maxIter = 100, tolerance = 1e-10 } = options;
  const n = X.length;
  if (n === 0) throw new RangeError("fitLogistic: no rows");
  if (y.length !== n) throw new RangeError(`fitLogistic: ${n} rows but ${y.length} outcomes`);
  if (!(l2 >= 0)) throw new RangeError(`fitLogistic: l2 must be >= 0, got ${l2}`);
  const columns = (X[0] as readonly number[]).length;
  for (let i = 0; i < n; i++) {
    const row = X[i] as readonly number[];
    if (row.length !== columns)
      throw new RangeError(`fitLogistic: row ${i} has ${row.length} columns, not ${columns}`);
    if (row.some((v) => !Number.isFinite(v)))
      throw new RangeError(`fitLogistic: row ${i} has a non-finite value`);
    const yi = y[i] as number;
    if (!(yi >= 0 && yi <= 1)) throw new RangeError(`fitLogistic: outcome ${i} is ${yi}, not in [0, 1]`);
  }

  // Column transforms: z = (x − centre) / scale; dropped columns take no part.
  const centre = new Array<number>(columns).fill(0);
  const scale = new Array<number>(columns).fill(1);
  const constantColumns: boolean[] = [];
  const active: number[] = [];
  for (let j = 0; j < columns; j++) {
    const values = X.map((row) => row[j] as number);
    const first = values[0] as number;
    const constant = fitIntercept ? values.every((v) => v === first) : values.every((v) => v === 0);
    constantColumns.push(constant);
    if (constant) continue;
    active.push(j);
    if (!standardize) continue;
    const mean = fitIntercept ? values.reduce((s, v) => s + v, 0) / n : 0;
    const spread = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    centre[j] = mean;
    scale[j] = spread > 0 ? spread : 1;
  }

  const offset = fitIntercept ? 1 : 0;
  const m = offset + active.length;
  const Z = X.map((row) => {
    const z = new Array<number>(m).fill(1);
    active.forEach((j, a) => {
      z[offset + a] = ((row[j] as number) - (centre[j] as number)) / (scale[j] as number);
    });
    return z;
  });
  const penalty = Array.from({ length: m }, (_, a) => (a < offset ? 0 : l2));

  const theta = new Array<number>(m).fill(0);
  if (fitIntercept) {
    const rate = Math.min(1 - 1e-6, Math.max(1e-6, y.reduce((s, v) => s + v, 0) / n));
    theta[0] = Math.log(rate / (1 - rate));
  }

  let objective = penalisedLogLikelihood(Z, y, theta, penalty);
  let iterations = 0;
  let converged = m === 0;
  while (!converged && iterations < maxIter) {
    iterations++;
    const { gradient, hessian } = derivatives(Z, y, theta, penalty);
    const step = choleskySolve(factorWithJitter(hessian), gradient);
    const size = Math.max(...step.map(Math.abs));
    const largest = Math.max(...theta.map(Math.abs));
    if (size <= tolerance * (1 + largest)) {
      for (let a = 0; a < m; a++) theta[a] = (theta[a] as number) + (step[a] as number);
      objective = penalisedLogLikelihood(Z, y, theta, penalty);
      converged = true;
      break;
    }
    // Step halving: Newton can overshoot far from the optimum; never accept a worse objective
    // (beyond round-off: near the optimum the gain is below what a sum of n logs can resolve).
    const slack = 1e-12 * (1 + Math.abs(objective));
    let t = 1;
    for (;;) {
      const candidate = theta.map((v, a) => v + t * (step[a] as number));
      const value = penalisedLogLikelihood(Z, y, candidate, penalty);
      if (value >= objective - slack || t < 1e-10) {
        for (let a = 0; a < m; a++) theta[a] = candidate[a] as number;
        objective = value;
        break;
      }
      t /= 2;
    }
  }

  // Back to the original scale: β_j = θ_j / scale_j, b = θ_0 − Σ θ_j · centre_j / scale_j. The
  // map is linear (β = T θ), so the covariance is T · H⁻¹ · Tᵀ.
  const T: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  if (fitIntercept) (T[0] as number[])[0] = 1;
  active.forEach((j, a) => {
    (T[offset + a] as number[])[offset + a] = 1 / (scale[j] as number);
    if (fitIntercept) (T[0] as number[])[offset + a] = -(centre[j] as number) / (scale[j] as number);
  });
  const estimate = T.map((row) => row.reduce((s, v, a) => s + v * (theta[a] as number), 0));
  const factor = cholesky(derivatives(Z, y, theta, penalty).hessian);
  const inverse = factor === null ? null : choleskyInverse(factor);
  const variance = (row: number): number | null => {
    if (inverse === null) return null;
    const t = T[row] as number[];
    let v = 0;
    for (let a = 0; a < m; a++)
      for (let b = 0; b < m; b++)
        v += (t[a] as number) * ((inverse[a] as number[])[b] as number) * (t[b] as number);
    return v;
  };
  const se = (row: number): number | null => {
    const v = variance(row);
    return v === null || !(v >= 0) ? null : Math.sqrt(v);
  };
  const interval = (value: number, error: number | null): Interval | null =>
    error === null ? null : { low: value - Z95 * error, high: value + Z95 * error };

  const coefficients = new Array<number>(columns).fill(0);
  const standardErrors = new Array<number | null>(columns).fill(null);
  active.forEach((j, a) => {
    coefficients[j] = estimate[offset + a] as number;
    standardErrors[j] = se(offset + a);
  });
  const intercept = fitIntercept ? (estimate[0] as number) : 0;
  const interceptStandardError = fitIntercept ? se(0) : null;
  return {
    intercept,
    coefficients,
    interceptStandardError,
    standardErrors,
    interceptInterval: interval(intercept, interceptStandardError),
    intervals: coefficients.map((c, j) => interval(c, standardErrors[j] as number | null)),
    constantColumns,
    iterations,
    converged,
    logLikelihood: penalisedLogLikelihood(Z, y, theta, new Array<number>(m).fill(0)),
    l2,
  };
}

/** Predicted probability for one row of the original columns. */
export function predictLogistic(
  model: Pick<LogisticModel, "intercept" | "coefficients">,
  row: readonly number[],
): number {
  let eta = model.intercept;
  for (let j = 0; j < model.coefficients.length; j++)
    eta += (model.coefficients[j] as number) * (row[j] as number);
  return sigmoid(eta);
}

/** 1 / (1 + e^−z), without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function linear(z: readonly number[], theta: readonly number[]): number {
  let eta = 0;
  for (let a = 0; a < theta.length; a++) eta += (z[a] as number) * (theta[a] as number);
  return eta;
}

function penalisedLogLikelihood(
  Z: readonly (readonly number[])[],
  y: readonly number[],
  theta: readonly number[],
  penalty: readonly number[],
): number {
  let value = 0;
  for (let i = 0; i < Z.length; i++) {
    const eta = linear(Z[i] as readonly number[], theta);
    value += (y[i] as number) * eta - softplus(eta);
  }
  for (let a = 0; a < theta.length; a++) value -= ((penalty[a] as number) / 2) * (theta[a] as number) ** 2;
  return value;
}

/** Gradient and negated Hessian (positive definite) of the penalised log-likelihood. */
function derivatives(
  Z: readonly (readonly number[])[],
  y: readonly number[],
  theta: readonly number[],
  penalty: readonly number[],
): { gradient: number[]; hessian: number[][] } {
  const m = theta.length;
  const gradient = theta.map((v, a) => -(penalty[a] as number) * v);
  const hessian: number[][] = Array.from({ length: m }, (_, a) => {
    const row = new Array<number>(m).fill(0);
    row[a] = penalty[a] as number;
    return row;
  });
  for (let i = 0; i < Z.length; i++) {
    const z = Z[i] as readonly number[];
    const p = sigmoid(linear(z, theta));
    const residual = (y[i] as number) - p;
    const weight = p * (1 - p);
    for (let a = 0; a < m; a++) {
      const za = z[a] as number;
      gradient[a] = (gradient[a] as number) + residual * za;
      const row = hessian[a] as number[];
      for (let b = 0; b <= a; b++) row[b] = (row[b] as number) + weight * za * (z[b] as number);
    }
  }
  for (let a = 0; a < m; a++)
    for (let b = a + 1; b < m; b++) (hessian[a] as number[])[b] = (hessian[b] as number[])[a] as number;
  return { gradient, hessian };
}

/** Cholesky factor of H, adding a growing ridge when H is singular (separation or collinear columns with l2 = 0). */
function factorWithJitter(hessian: number[][]): number[][] {
  const exact = cholesky(hessian);
  if (exact !== null) return exact;
  const diagonal = hessian.map((row, a) => row[a] as number);
  let jitter = 1e-10 * Math.max(1e-10, ...diagonal);
  for (;;) {
    const factor = cholesky(hessian.map((row, a) => row.map((v, b) => (a === b ? v + jitter : v))));
    if (factor !== null) return factor;
    jitter *= 10;
    if (!Number.isFinite(jitter)) throw new RangeError("fitLogistic: the Hessian is not finite");
  }
}
