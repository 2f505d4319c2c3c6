import assert from "node:assert/strict";
import { cellKey, fmix32, gumbel, randomBits, subKey, uniform } from "./random.ts";

Deno.test("fmix32() matches MurmurHash3's finaliser on known values", () => {
  // Reference values computed with plain uint32 arithmetic (also checked by the Python worker).
  assert.equal(fmix32(0), 0);
  assert.equal(fmix32(1), 0x514e28b7);
  assert.equal(fmix32(0xffffffff), 0x81f16f39);
});

Deno.test("cellKey() separates seed, image, row and column", () => {
  const keys = new Set<number>();
  for (let seed = 0; seed < 4; seed++) {
    for (let image = 0; image < 4; image++) {
      for (let row = 0; row < 8; row++) {
        for (let col = 0; col < 8; col++) keys.add(cellKey(seed, image, row, col));
      }
    }
  }
  assert.equal(keys.size, 4 * 4 * 8 * 8);
  assert.notEqual(subKey(cellKey(1, 2, 3, 4), 1), cellKey(1, 2, 3, 4));
});

Deno.test("uniform() is in (0, 1), exact in float32, and evenly spread", () => {
  const bins = new Array(16).fill(0);
  const n = 64000;
  for (let i = 0; i < n; i++) {
    const u = uniform(cellKey(9, 0, i >> 8, i & 255), i % 17);
    assert.ok(u > 0 && u < 1);
    assert.equal(Math.fround(u), u);
    bins[Math.floor(u * 16)]++;
  }
  const expected = n / 16;
  const chi2 = bins.reduce((s, b) => s + (b - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 37.7, `chi-square ${chi2} over 15 degrees of freedom (p = 0.001 bound 37.7)`);
});

Deno.test("gumbel() has the standard Gumbel mean (Euler–Mascheroni constant)", () => {
  let sum = 0;
  const n = 50000;
  for (let v = 0; v < n; v++) sum += gumbel(cellKey(3, 1, 4, 1), v);
  assert.ok(Math.abs(sum / n - 0.5772) < 0.02, `mean ${sum / n}`);
  assert.equal(randomBits(7, 3), randomBits(7, 3));
});
