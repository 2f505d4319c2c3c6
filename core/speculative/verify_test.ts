import assert from "node:assert/strict";
import { cellKey, subKey } from "../random.ts";
import { verifyDraft } from "./verify.ts";

const pOld = new Float64Array([0.4, 0.3, 0.2, 0.1, 0.0]);
const pNew = new Float64Array([0.1, 0.3, 0.1, 0.3, 0.2]);

/** Draw x ~ p_old by inverse CDF with the key's own uniform. */
function drawFrom(p: Float64Array, u: number): number {
  let acc = 0;
  for (let v = 0; v < p.length; v++) if ((acc += p[v]) > u) return v;
  return p.length - 1;
}

Deno.test("verifyDraft() accepts with probability min(1, p_new/p_old) and yields p_new (20,000 draws)", () => {
  const n = 20000;
  let accepted = 0;
  const out = new Array(5).fill(0), residual = new Array(5).fill(0);
  const perDraft = new Array(5).fill(0), acceptedPerDraft = new Array(5).fill(0);
  for (let i = 0; i < n; i++) {
    const key = cellKey(1, i, 2, 0);
    const x = drawFrom(pOld, (cellKey(2, i, 0, 0) >>> 8) / 16777216);
    const verdict = verifyDraft(x, pOld, pNew, subKey(key, 1));
    perDraft[x]++;
    if (verdict.accepted) {
      accepted++;
      acceptedPerDraft[x]++;
      assert.equal(verdict.token, x);
    } else residual[verdict.token]++;
    out[verdict.token]++;
  }
  // Acceptance: Σ min(p_old, p_new) = 0.1 + 0.3 + 0.1 + 0.1 = 0.6; per draft token min(1, ratio).
  const rate = accepted / n;
  assert.ok(Math.abs(rate - 0.6) < 0.015, `acceptance rate ${rate}`);
  for (const [x, ratio] of [[0, 0.25], [1, 1], [2, 0.5], [3, 1]]) {
    const r = acceptedPerDraft[x] / perDraft[x];
    assert.ok(Math.abs(r - ratio) < 0.03, `draft ${x}: accepted ${r}, expected ${ratio}`);
  }
  // Residual: max(0, p_new − p_old) = [0, 0, 0, 0.2, 0.2] normalised → tokens 3 and 4 only, 50/50.
  const rejected = n - accepted;
  assert.equal(residual[0] + residual[1] + residual[2], 0);
  const chiRes = (residual[3] - rejected / 2) ** 2 / (rejected / 2) * 2;
  assert.ok(chiRes < 10.8, `residual chi-square ${chiRes} (1 dof)`);
  // The result is distributed as p_new.
  const chi = [...pNew].reduce((s, p, v) => (p > 0 ? s + (out[v] - n * p) ** 2 / (n * p) : s), 0);
  assert.ok(chi < 18.5, `output chi-square ${chi} over 4 dof (p = 0.001 bound 18.5)`);
});

Deno.test("verifyDraft() always accepts when p_new = p_old and never keeps a zero-probability draft", () => {
  for (let i = 0; i < 1000; i++) {
    assert.equal(verifyDraft(i % 4, pOld, pOld, cellKey(0, i, 0, 0)).accepted, true);
  }
  const v = verifyDraft(4, new Float64Array([0.5, 0, 0, 0, 0.5]), pOld, 9);
  assert.equal(v.accepted, false);
  assert.ok(pNew[v.token] >= 0 && pOld[v.token] > 0);
  assert.throws(() => verifyDraft(5, pOld, pNew, 0), RangeError);
  assert.throws(() => verifyDraft(0, pOld, pNew.subarray(1), 0), TypeError);
});
