import assert from "node:assert/strict";
import { fitGaussian, frechetDistance } from "./frechet.ts";

function diag(values: number[]): Float64Array {
  const d = values.length, m = new Float64Array(d * d);
  values.forEach((v, i) => (m[i * d + i] = v));
  return m;
}

Deno.test("frechetDistance() matches the closed form for diagonal covariances", () => {
  // For diagonal Σ: FD = ‖μ₁−μ₂‖² + Σ (√σ₁ − √σ₂)².
  const a = { mean: new Float64Array([0, 1, 2]), cov: diag([1, 4, 9]), dim: 3 };
  const b = { mean: new Float64Array([1, 1, 0]), cov: diag([4, 4, 1]), dim: 3 };
  const expected = 1 + 0 + 4 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2;
  assert.ok(Math.abs(frechetDistance(a, b) - expected) < 1e-9);
  assert.ok(frechetDistance(a, a) < 1e-9);
});

Deno.test("frechetDistance() is symmetric and ~0 for two samples of one distribution", () => {
  const n = 4000, d = 4;
  const draw = (salt: number) => {
    const x = new Float64Array(n * d);
    let s = salt;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let i = 0; i < n; i++) {
      const z = Array.from(
        { length: d },
        () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand()),
      );
      x[i * d] = z[0];
      x[i * d + 1] = 0.5 * z[0] + z[1];
      x[i * d + 2] = 2 * z[2];
      x[i * d + 3] = z[3] - z[1];
    }
    return fitGaussian(x, d);
  };
  const a = draw(1), b = draw(2);
  assert.ok(Math.abs(frechetDistance(a, b) - frechetDistance(b, a)) < 1e-9);
  assert.ok(frechetDistance(a, b) < 0.05, `${frechetDistance(a, b)}`);
  const shifted = { ...b, mean: b.mean.map((v) => v + 1) };
  assert.ok(Math.abs(frechetDistance(a, shifted) - 4) < 0.2);
  assert.throws(() => fitGaussian(new Float64Array(3), 4), RangeError);
});
