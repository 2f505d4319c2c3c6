/**
 * core/cfg's per-cell CFG scales (cfgScales) of Lumina-mGPT 2.0's rule, checked against hand
 * computations of its CFG processor's update g ← max(4, g·(1 − n / ((H/2)·(W/2)))).
 */
import assert from "node:assert/strict";
import { cfgScales, checkCfgRule, guidedLogits } from "./cfg.ts";
import { createLayout } from "./layout.ts";

const RULE = { kind: "decay", floor: 4, start: 2, latentStride: 2 } as const;
const L768 = createLayout({ height: 96, width: 96, eol: true }); // area 48·48 = 2304

Deno.test("cfgScales() is 4 at every cell when g = 4, the release's default", () => {
  const scales = cfgScales(RULE, 4, L768);
  assert.equal(scales.length, 96 * 96);
  assert.ok(scales.every((g) => g === 4));
});

Deno.test("cfgScales() clamps g < 4 up to 4 at the first cell and keeps it there", () => {
  for (const g of [2, 0, 3.99, 1.5]) {
    assert.ok(cfgScales(RULE, g, L768).every((s) => s === 4), `g = ${g}`);
  }
});

Deno.test("cfgScales() is 1 everywhere when g = 1: no CFG, as the release returns the scores", () => {
  assert.ok(cfgScales(RULE, 1, L768).every((g) => g === 1));
});

Deno.test("cfgScales() decays g = 7 towards 4 cumulatively from n = 2 at cell (0, 0)", () => {
  const scales = cfgScales(RULE, 7, L768);
  // By hand: g0 = 7·(1 − 2/2304), g1 = g0·(1 − 3/2304), g2 = g1·(1 − 4/2304).
  const g0 = 7 * (1 - 2 / 2304), g1 = g0 * (1 - 3 / 2304), g2 = g1 * (1 - 4 / 2304);
  assert.deepEqual([...scales.subarray(0, 3)], [g0, g1, g2]);
  assert.ok(Math.abs(g0 - 6.993923611111111) < 1e-12 && Math.abs(g2 - 6.972690521444313) < 1e-12);
  // It reaches 4 where 7·Π(1 − n/2304), n = 2..k, first drops to 4 or below: k = 51 (by hand:
  // Σ ln(1 − n/2304) over n = 2..51 = −0.5794 < ln(4/7) = −0.5596, over n = 2..50: −0.5570).
  let product = 7;
  for (let n = 2; n <= 50; n++) product *= 1 - n / 2304;
  assert.ok(product > 4 && product * (1 - 51 / 2304) < 4);
  const first4 = scales.findIndex((g) => g === 4);
  assert.equal(first4, 51 - 2); // cell (0, 49) is n = 51
  assert.ok(scales.subarray(0, first4).every((g, i) => g > 4 && (i === 0 || g < scales[i - 1])));
  assert.ok(scales.subarray(first4).every((g) => g === 4));
});

Deno.test("cfgScales() counts each row's EOL slot as a generated position", () => {
  // 8×4 with EOL: area (8/2)·(4/2) = 8; row 0 is n = 2..5, its EOL n = 6, (1, 0) n = 7.
  const withEol = cfgScales(RULE, 2000, createLayout({ height: 8, width: 4, eol: true }));
  const row0 = [1500, 937.5, 468.75, 175.78125]; // 2000·6/8, ·5/8, ·4/8, ·3/8: exact in binary
  assert.deepEqual([...withEol.subarray(0, 4)], row0);
  assert.deepEqual([...withEol.subarray(4, 6)], [175.78125 * 2 / 8 * 1 / 8, 4]); // n = 8: ·0
  // Without EOL slots (1, 0) is n = 6 and (1, 1) n = 7.
  const noEol = cfgScales(RULE, 2000, createLayout({ height: 8, width: 4 }));
  assert.deepEqual([...noEol.subarray(0, 4)], row0);
  assert.deepEqual([...noEol.subarray(4, 7)], [175.78125 * 2 / 8, 175.78125 * 2 / 8 / 8, 4]);
  assert.ok(withEol.subarray(6).every((g) => g === 4) && noEol.subarray(7).every((g) => g === 4));
});

Deno.test("checkCfgRule() refuses an unknown kind, a floor below 1 and a grid off its stride", () => {
  const grid = { height: 4, width: 8 };
  const unknown = { ...RULE, kind: "cosine" } as unknown as typeof RULE;
  assert.throws(() => checkCfgRule(unknown, grid), {
    name: "TypeError",
    message: 'Unknown CFG rule "cosine": this zipar knows "decay"',
  });
  assert.throws(() => checkCfgRule({ ...RULE, floor: 0.5 }, grid), /floor must be .* ≥ 1/);
  assert.throws(() => checkCfgRule({ ...RULE, floor: NaN }, grid), RangeError);
  assert.throws(() => checkCfgRule({ ...RULE, start: -1 }, grid), /start must be an integer/);
  assert.throws(() => checkCfgRule({ ...RULE, latentStride: 0 }, grid), /latentStride/);
  assert.throws(() => cfgScales(RULE, 7, createLayout({ height: 5, width: 8 })), /stride 2/);
  assert.throws(() => cfgScales(RULE, -1, createLayout(grid)), /CFG scale/);
});

Deno.test("guidedLogits() mixes with the cell's own scale, keeping the rows' CFG pairing", () => {
  const logits = new Float32Array([3, 0, 1, 0]); // [c0, u0] with vocab 2
  assert.deepEqual([...guidedLogits(logits, 0, 2, 7, true, 4)], [9, 0]); // 1 + 4·(3 − 1)
  assert.deepEqual([...guidedLogits(logits, 0, 2, 7, true, 1)], [3, 0]); // g 1: c, still paired
  assert.deepEqual([...guidedLogits(logits, 0, 2, 7, false, 4)], [3, 0]); // unguided: c
});
