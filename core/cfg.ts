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
 * @module
 */

import { mixCfg } from "./sampling.ts";
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
 * ```
 */
export function guidedLogits(
  logits: Float32Array,
  k: number,
  vocab: number,
  cfgScale: number,
  guided = true,
): Float32Array {
  if (cfgScale === 1) return logits.subarray(k * vocab, (k + 1) * vocab);
  const cond = logits.subarray(2 * k * vocab, (2 * k + 1) * vocab);
  if (!guided) return cond;
  const uncond = logits.subarray((2 * k + 1) * vocab, (2 * k + 2) * vocab);
  return mixCfg(cond, uncond, cfgScale);
}
