/**
 * The little dense linear algebra the tuning code needs: symmetric positive-definite solves and
 * inverses for a handful (≤ ~20) of columns. Matrices are arrays of rows.
 */

/**
 * Lower-triangular Cholesky factor L of a symmetric matrix (A = L·Lᵀ), or null when A is not
 * (numerically) positive definite. Only the lower triangle of `a` is read.
 */
export function cholesky(a: readonly (readonly number[])[]): number[][] | null {
  const n = a.length;
  const l: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const li = l[i] as number[];
    for (let j = 0; j <= i; j++) {
      const lj = l[j] as number[];
      let sum = (a[i] as readonly number[])[j] as number;
      for (let k = 0; k < j; k++) sum -= (li[k] as number) * (lj[k] as number);
      if (i === j) {
        if (!(sum > 0) || !Number.isFinite(sum)) return null;
        li[i] = Math.sqrt(sum);
      } else {
        li[j] = sum / (lj[j] as number);
      }
    }
  }
  return l;
}

/** Solves L·Lᵀ·x = b given the Cholesky factor L. */
export function choleskySolve(l: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = l.length;
  const z = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const li = l[i] as readonly number[];
    let sum = b[i] as number;
    for (let k = 0; k < i; k++) sum -= (li[k] as number) * (z[k] as number);
    z[i] = sum / (li[i] as number);
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i] as number;
    for (let k = i + 1; k < n; k++) sum -= ((l[k] as readonly number[])[i] as number) * (x[k] as number);
    x[i] = sum / ((l[i] as readonly number[])[i] as number);
  }
  return x;
}

/** Inverse of A = L·Lᵀ from its Cholesky factor (column by column). */
export function choleskyInverse(l: readonly (readonly number[])[]): number[][] {
  const n = l.length;
  const inverse: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const e = new Array<number>(n).fill(0);
    e[j] = 1;
    const column = choleskySolve(l, e);
    for (let i = 0; i < n; i++) (inverse[i] as number[])[j] = column[i] as number;
  }
  return inverse;
}
