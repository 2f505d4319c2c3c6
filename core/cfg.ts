/**
 * Classifier-free guidance over the step contract, written once: each image's writes become
 * queries of its conditional sequence i and, with CFG, of its unconditional sequence B + i; the
 * logits that come back are mixed into one row per predicting write (core/sampling's `mixCfg`).
 *
 * Query order is image by image, write by write, the unconditional query right after its
 * conditional twin. So the logits rows of a step are, per predicting write in that order,
 * `[cond]` without CFG and `[cond, uncond]` with it — which is what {@linkcode guidedLogits}
 * reads back. core/interactive, backends/host_plan and the backend tests all build their
 * queries here.
 *
 * The scale g is one number, except for a model that reports a {@linkcode CfgRule}
 * (`ModelInfo.cfgRule`: Lumina-mGPT 2.0): then {@linkcode cfgScales} gives each grid cell its
 * own g, written here once for every caller; the Python worker's planner only receives the
 * numbers.
 *
 * @module
 */

import { checkInt, checkNumber } from "./check.ts";
import type { Layout } from "./layout.ts";
import { checkCfgScale, mixCfg } from "./sampling.ts";
import type { Query } from "./step.ts";

/** One slot write of one image, before it is assigned to sequences: a Query without `seq`. */
export type ImageWrite = Omit<Query, "seq">;

/**
 * The backend queries of one step: `perImage[i]` are image i's writes (B = perImage.length);
 * each goes to sequence i and, when `cfg`, right after it to sequence B + i with the same slot,
 * token and logits request. `toWrite` turns an item of `perImage` into its write (default: the
 * item is the write), so callers need not build an intermediate list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cfgQueries } from "./cfg.ts";
 * const write = (slot: number) => ({ slot, token: 7, wantLogits: true });
 * const queries = cfgQueries([[write(3)], [write(5)]], true);
 * assert.deepEqual(queries.map((q) => [q.seq, q.slot]), [[0, 3], [2, 3], [1, 5], [3, 5]]);
 * assert.equal(cfgQueries([[write(3)], [write(5)]], false).length, 2);
 * // Items of another shape, mapped per image:
 * const slots = cfgQueries([[3, 4]], true, (slot) => write(slot)).map((q) => q.slot);
 * assert.deepEqual(slots, [3, 3, 4, 4]);
 * ```
 */
export function cfgQueries<T = ImageWrite>(
  perImage: readonly (readonly T[])[],
  cfg: boolean,
  toWrite: (item: T, image: number) => ImageWrite = (item) => item as ImageWrite,
): Query[] {
  const batch = perImage.length;
  const queries: Query[] = [];
  for (let image = 0; image < batch; image++) {
    for (const item of perImage[image]) {
      const { slot, token, wantLogits } = toWrite(item, image);
      queries.push({ seq: image, slot, token, wantLogits });
      if (cfg) queries.push({ seq: batch + image, slot, token, wantLogits });
    }
  }
  return queries;
}

/**
 * Whether the token at raster index `cell` (r·W + c) is guided under LlamaGen's `cfg_interval`
 * (its sample_c2i.py `--cfg-interval`): −1 guides every token; N ≥ 0 guides the first N + 2
 * tokens in raster order — the prefill's token and the N + 1 decode steps i ≤ N of its loop
 * (`if cfg_interval > -1 and i > cfg_interval: cfg_flag = False`) — and takes the conditional
 * logits alone after that. Under ZipAR the rule keeps the cell's raster index, whatever step
 * decodes it, so raster and ZipAR guide the same cells.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cfgGuides } from "./cfg.ts";
 * assert.equal(cfgGuides(575, -1), true); // the default: every token
 * assert.deepEqual([0, 1, 2].map((cell) => cfgGuides(cell, 0)), [true, true, false]);
 * const width = 16; // cell (1, 3) of a 16-wide grid is raster index 19: guided from N = 18
 * assert.deepEqual([cfgGuides(1 * width + 3, 18), cfgGuides(1 * width + 3, 17)], [true, false]);
 * ```
 */
export function cfgGuides(cell: number, cfgInterval: number): boolean {
  return cfgInterval < 0 || cell <= cfgInterval + 1;
}

/**
 * The guided logits of the `k`-th predicting write of a step built by {@linkcode cfgQueries}:
 * its conditional row, or `u + g·(c − u)` of its conditional and unconditional rows when
 * `cfgScale !== 1` and `guided` (see {@linkcode cfgGuides}); an unguided write with CFG takes
 * its conditional row as is. `logits: [rows, vocab]` as `Session.step` returned them.
 * `cfgScale` says whether the rows come in CFG pairs; `scale` is the g of this write's mix,
 * `cfgScale` unless the cell has its own ({@linkcode cfgScales}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { guidedLogits } from "./cfg.ts";
 * // Two predicting writes with CFG, vocab 2: rows [c0, u0, c1, u1].
 * const logits = new Float32Array([3, 0, 1, 0, 5, 5, 4, 6]);
 * assert.deepEqual([...guidedLogits(logits, 1, 2, 2)], [6, 4]); // 4 + 2·(5 − 4), 6 + 2·(5 − 6)
 * assert.deepEqual([...guidedLogits(logits, 1, 2, 2, false)], [5, 5]); // past cfg_interval: c1
 * assert.deepEqual([...guidedLogits(logits, 1, 2, 1)], [1, 0]); // no CFG: one row per write
 * assert.deepEqual([...guidedLogits(logits, 1, 2, 2, true, 3)], [7, 3]); // the cell's own g = 3
 * ```
 */
export function guidedLogits(
  logits: Float32Array,
  k: number,
  vocab: number,
  cfgScale: number,
  guided = true,
  scale: number = cfgScale,
): Float32Array {
  if (cfgScale === 1) return logits.subarray(k * vocab, (k + 1) * vocab);
  const cond = logits.subarray(2 * k * vocab, (2 * k + 1) * vocab);
  if (!guided) return cond;
  const uncond = logits.subarray((2 * k + 1) * vocab, (2 * k + 2) * vocab);
  return mixCfg(cond, uncond, scale);
}

/**
 * Lumina-mGPT 2.0's CFG scale (its inference_solver.py CFG processor): at every position the
 * model generates after the image-start token, before mixing, `g ← max(floor, g·(1 − n / area))`
 * cumulatively, n being the tokens generated since the image-start token (the `start` header
 * tokens before cell (0, 0), then every image token and every end-of-line token, each forced
 * EOL included) and `area = (H / latentStride)·(W / latentStride)`. At g = floor the scale stays
 * g; below it, g is clamped up to `floor` at the first position; above it, g decays towards
 * `floor`. g = 1 is no CFG at all.
 */
export interface CfgDecayRule {
  /** The rule's name. */
  kind: "decay";
  /** The least scale after any update (the release: 4); a number ≥ 1. */
  floor: number;
  /**
   * n at cell (0, 0): the tokens generated after the image-start token before the first image
   * token (the release: 2, its height and width tokens).
   */
  start: number;
  /**
   * Grid cells per side of the area's unit (the release: 2, its CFG processor's latent sides
   * being the 32-px patch counts · 2 = H / 2 and W / 2 of an H×W grid of 8-px tokens).
   */
  latentStride: number;
}

/**
 * A model's rule for a CFG scale of its own at every cell (`ModelInfo.cfgRule`), where it does
 * not mix with one constant g; {@linkcode cfgScales} applies it.
 */
export type CfgRule = CfgDecayRule;

/**
 * Check a reported {@linkcode CfgRule} against the grid it is applied to; throws a one-line
 * TypeError for a kind this engine does not know, a RangeError for a bad number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCfgRule } from "./cfg.ts";
 * const rule = { kind: "decay", floor: 4, start: 2, latentStride: 2 } as const;
 * checkCfgRule(rule, { height: 96, width: 96 }); // ok
 * assert.throws(() => checkCfgRule(rule, { height: 5, width: 8 }), /grid 5x8 .* latent stride 2/);
 * assert.throws(() => checkCfgRule({ ...rule, floor: 0.5 }, { height: 4, width: 4 }), RangeError);
 * ```
 */
export function checkCfgRule(
  rule: CfgRule,
  grid: Pick<Layout, "height" | "width">,
): void {
  if (rule?.kind !== "decay") {
    throw new TypeError(`Unknown CFG rule ${JSON.stringify(rule?.kind)}: this zipar knows "decay"`);
  }
  checkNumber("CFG rule floor", rule.floor, { min: 1 });
  checkInt("CFG rule start", rule.start, 0, 1 << 20);
  checkInt("CFG rule latentStride", rule.latentStride, 1, 1 << 20);
  const { height, width } = grid;
  if (height % rule.latentStride !== 0 || width % rule.latentStride !== 0) {
    throw new RangeError(
      `CFG rule: grid ${height}x${width} is not a multiple of its latent stride ${rule.latentStride}`,
    );
  }
}

/**
 * The CFG scale of every grid cell under `rule` for a generation asked at `cfgScale`: scales:
 * [H·W], cell r·W + c (the index of `EncodedPlan.predicts`), each the g that mixes the logits
 * which sample that cell. Positions are counted over the layout's slots, so the EOL slot that
 * ends each row (where the layout has one) updates g too, though it is never sampled and has no
 * entry: cell (r, c) is n = start + r·rowStride + c. Computed in float64 as the release does
 * (its g is a Python float); the mix rounds it to float32 like any scale (core/sampling's
 * `mixCfg`). `cfgScale` 1 gives 1 everywhere: no CFG.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cfgScales } from "./cfg.ts";
 * import { createLayout } from "./layout.ts";
 * const rule = { kind: "decay", floor: 4, start: 2, latentStride: 2 } as const;
 * const layout = createLayout({ height: 8, width: 4, eol: true }); // area (8/2)·(4/2) = 8
 * const scales = cfgScales(rule, 2000, layout);
 * // n = 2..5 are row 0: 2000·6/8 = 1500, ·5/8, ·4/8, ·3/8; n = 6 is its EOL (·2/8, no cell)
 * assert.deepEqual([...scales.subarray(0, 4)], [1500, 937.5, 468.75, 175.78125]);
 * assert.equal(scales[4], 175.78125 * (2 / 8) * (1 / 8)); // (1, 0) is n = 7: its EOL, then ·1/8
 * assert.equal(scales[5], 4); // n = 8: 1 − 8/8 = 0, clamped up to the floor
 * assert.ok(cfgScales(rule, 2, layout).every((g) => g === 4)); // clamped at the first cell
 * assert.ok(cfgScales(rule, 1, layout).every((g) => g === 1)); // no CFG
 * ```
 */
export function cfgScales(
  rule: CfgRule,
  cfgScale: number,
  layout: Pick<Layout, "height" | "width" | "rowStride">,
): Float64Array {
  checkCfgRule(rule, layout);
  checkCfgScale(cfgScale);
  const { height, width, rowStride } = layout;
  const scales = new Float64Array(height * width); // scales: [H·W]
  if (cfgScale === 1) return scales.fill(1);
  const area = (height / rule.latentStride) * (width / rule.latentStride);
  let g = cfgScale;
  for (let t = 0; t < height * rowStride; t++) {
    g = Math.max(rule.floor, g * (1 - (rule.start + t) / area)); // slot t after the header
    const col = t % rowStride;
    if (col < width) scales[(t - col) / rowStride * width + col] = g;
  }
  return scales;
}
