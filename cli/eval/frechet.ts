/**
 * Fréchet distance between Gaussians fitted to feature sets (the FID formula), with the matrix
 * square root from ml-matrix's symmetric eigendecomposition.
 *
 * FD = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁ Σ₂)^½, and Tr (Σ₁ Σ₂)^½ = Σᵢ √λᵢ(A Σ₂ A) with
 * A = Σ₁^½ — a symmetric form that avoids the non-symmetric square root.
 *
 * @module
 */

import { EigenvalueDecomposition, Matrix } from "ml-matrix";

/** Mean and covariance of a feature set. */
export interface Gaussian {
  /** mean: [d]. */
  mean: Float64Array;
  /** cov: [d, d] row-major. */
  cov: Float64Array;
  /** Feature dimension d. */
  dim: number;
}

/**
 * Fit mean and (unbiased) covariance to `features`: [n, d] row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitGaussian } from "./frechet.ts";
 * const g = fitGaussian(new Float64Array([0, 0, 2, 2]), 2);
 * assert(g.mean[0] === 1 && g.cov[1] === 2);
 * ```
 */
export function fitGaussian(features: ArrayLike<number>, dim: number): Gaussian {
  const n = features.length / dim;
  if (!Number.isInteger(n) || n < 2) {
    throw new RangeError(
      `need at least 2 feature vectors of size ${dim}, got ${features.length} values`,
    );
  }
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const cov = new Float64Array(dim * dim);
  const centered = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) centered[j] = features[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const ca = centered[a];
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b] += ca * centered[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b] / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { mean, cov, dim };
}

function toMatrix(cov: Float64Array, dim: number): Matrix {
  return new Matrix(
    Array.from({ length: dim }, (_, i) => Array.from(cov.subarray(i * dim, (i + 1) * dim))),
  );
}

/** Symmetric PSD square root via eigendecomposition (negative eigenvalues from rounding → 0). */
function sqrtPsd(m: Matrix): Matrix {
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const v = eig.eigenvectorMatrix;
  const d = Matrix.diag(eig.realEigenvalues.map((x) => Math.sqrt(Math.max(x, 0))));
  return v.mmul(d).mmul(v.transpose());
}

/**
 * The Fréchet distance between two Gaussians.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frechetDistance } from "./frechet.ts";
 * const a = { mean: new Float64Array([0, 0]), cov: new Float64Array([1, 0, 0, 1]), dim: 2 };
 * const b = { mean: new Float64Array([3, 4]), cov: new Float64Array([1, 0, 0, 1]), dim: 2 };
 * assert(Math.abs(frechetDistance(a, b) - 25) < 1e-9);
 * ```
 */
export function frechetDistance(a: Gaussian, b: Gaussian): number {
  if (a.dim !== b.dim) throw new RangeError(`feature dimensions differ: ${a.dim} and ${b.dim}`);
  const d = a.dim;
  let meanTerm = 0, trace = 0;
  for (let i = 0; i < d; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    trace += a.cov[i * d + i] + b.cov[i * d + i];
  }
  const sa = sqrtPsd(toMatrix(a.cov, d));
  const m = sa.mmul(toMatrix(b.cov, d)).mmul(sa);
  const sym = m.add(m.transpose()).div(2);
  const eig = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
  const traceSqrt = eig.realEigenvalues.reduce((s, x) => s + Math.sqrt(Math.max(x, 0)), 0);
  return Math.max(0, meanTerm + trace - 2 * traceSqrt);
}
