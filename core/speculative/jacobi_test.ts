import assert from "node:assert/strict";
import { Drafts, drawDraft, initialDraft, verifyCell } from "./jacobi.ts";
import { cellKey } from "../random.ts";
import { probabilities, resolveSampling, sample } from "../sampling.ts";

const sampling = resolveSampling();
const p = new Float32Array([1.2, 0.1, -0.5, 2.0, 0.4]); // the new prediction
const q = new Float32Array([2.1, 0.3, 0.9, -1.0, 0.0]); // what the draft was drawn from
const pP = probabilities(p, sampling), pQ = probabilities(q, sampling);

/** Pearson's chi-square of `counts` against `n` draws from `expected`. */
function chiSquare(counts: number[], expected: Float64Array, n: number): number {
  return counts.reduce((s, c, v) => s + (c - n * expected[v]) ** 2 / (n * expected[v]), 0);
}

const N = 20000;
const cellOf = (i: number) => ({ row: 3, col: 2, ctx: { sampling, seed: i, index: 0 } });

Deno.test("verifyCell() turns a draft drawn from q into a draw from p, accepting with Σ min(p, q) (20,000 cells)", () => {
  const counts = new Array(5).fill(0);
  let accepted = 0;
  for (let i = 0; i < N; i++) {
    const cell = cellOf(i);
    const x = drawDraft(new Drafts(1), 0, q, cell, true); // keyed by the cell, as raster's draw
    const verdict = verifyCell(x, q, p, cell, "probabilistic");
    if (verdict.accepted) {
      accepted++;
      assert.equal(verdict.token, x);
    }
    counts[verdict.token]++;
  }
  const overlap = pP.reduce((s, pv, v) => s + Math.min(pv, pQ[v]), 0);
  assert.ok(Math.abs(accepted / N - overlap) < 0.015, `acceptance ${accepted / N} vs ${overlap}`);
  const chi = chiSquare(counts, pP, N);
  assert.ok(chi < 18.5, `chi-square ${chi} over 4 dof (p = 0.001 bound 18.5)`);
});

Deno.test("verifyCell() with a chosen draft (a point mass) accepts with p(x) and still yields p", () => {
  const counts = new Array(5).fill(0);
  let accepted = 0;
  for (let i = 0; i < N; i++) {
    const verdict = verifyCell(2, null, p, cellOf(i), "probabilistic");
    if (verdict.accepted) accepted++;
    else assert.notEqual(verdict.token, 2);
    counts[verdict.token]++;
  }
  assert.ok(Math.abs(accepted / N - pP[2]) < 0.01, `acceptance ${accepted / N} vs ${pP[2]}`);
  const chi = chiSquare(counts, pP, N);
  assert.ok(chi < 18.5, `chi-square ${chi} over 4 dof`);
});

Deno.test("verifyCell() with exact acceptance returns raster's own draw, accepting only that token", () => {
  for (let i = 0; i < 2000; i++) {
    const cell = cellOf(i);
    const raster = sample(p, cellKey(i, 0, 3, 2), sampling);
    for (const x of [0, 1, 2, 3, 4]) {
      assert.deepEqual(verifyCell(x, q, p, cell, "exact"), {
        accepted: x === raster,
        token: raster,
      });
    }
  }
});

Deno.test("verifyCell() is greedy at temperature 0 under both rules", () => {
  const greedy = {
    row: 0,
    col: 0,
    ctx: { sampling: resolveSampling({ temperature: 0 }), seed: 1, index: 0 },
  };
  for (const acceptance of ["probabilistic", "exact"] as const) {
    for (const x of [0, 1, 2, 3, 4]) {
      for (const source of [q, null]) {
        const verdict = verifyCell(x, source && x === 0 ? q : null, p, greedy, acceptance);
        assert.deepEqual(verdict, { accepted: x === 3, token: 3 });
      }
    }
  }
});

Deno.test("drawDraft() reuses the cell's key when coupled and takes a fresh one per redraw otherwise", () => {
  const cell = cellOf(7);
  const coupled = new Drafts(1), fresh = new Drafts(1);
  const flat = new Float32Array(64); // uniform: every redraw with a new key is a new token
  const a = new Set<number>(), b = new Set<number>();
  for (let k = 0; k < 20; k++) {
    a.add(drawDraft(coupled, 0, flat, cell, true));
    b.add(drawDraft(fresh, 0, flat, cell, false));
  }
  assert.equal(a.size, 1);
  assert.ok(b.size > 10, `${b.size} distinct redraws`);
  assert.equal(fresh.redraws[0], 20);
  assert.equal(coupled.source[0], flat);
});

Deno.test("initialDraft() chooses uniform random tokens, or the token above", () => {
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 8000; i++) counts[initialDraft("random", 8, cellOf(i), 5)]++;
  const chi = chiSquare(counts, new Float64Array(8).fill(1 / 8), 8000);
  assert.ok(chi < 24.3, `chi-square ${chi} over 7 dof`);
  assert.equal(initialDraft("above", 8, cellOf(0), 5), 5);
  assert.equal(initialDraft("above", 8, cellOf(0), -1), initialDraft("random", 8, cellOf(0), 5));
});
