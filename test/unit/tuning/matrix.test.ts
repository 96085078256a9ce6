import { describe, expect, it } from "vitest";
import { cholesky, choleskyInverse, choleskySolve } from "../../../src/tuning/matrix.ts";

describe("cholesky", () => {
  // A = L·Lᵀ with L = [[2, 0, 0], [1, 3, 0], [-1, 2, 1]]
  const A = [
    [4, 2, -2],
    [2, 10, 5],
    [-2, 5, 6],
  ];

  it("factors, solves and inverts a known matrix", () => {
    expect(cholesky(A)).toEqual([
      [2, 0, 0],
      [1, 3, 0],
      [-1, 2, 1],
    ]);
    const L = cholesky(A) as number[][];
    // A · [1, -1, 2] = [4 − 2 − 4, 2 − 10 + 10, −2 − 5 + 12] = [−2, 2, 5]
    const x = choleskySolve(L, [-2, 2, 5]);
    [1, -1, 2].forEach((v, i) => {
      expect(x[i]).toBeCloseTo(v, 12);
    });
    const inverse = choleskyInverse(L);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const product = A[i]?.reduce((s, v, k) => s + v * ((inverse[k] as number[])[j] as number), 0);
        expect(product).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
  });

  it("returns null for a matrix that is not positive definite", () => {
    expect(
      cholesky([
        [1, 2],
        [2, 1],
      ]),
    ).toBeNull();
    expect(
      cholesky([
        [1, 1],
        [1, 1],
      ]),
    ).toBeNull();
  });
});
