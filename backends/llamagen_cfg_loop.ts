/**
 * LlamaGen's own sampling loop with its `cfg_interval`, written as its generate.py has it, over
 * any backend's `step`: the oracle of the cfg_interval tests (mock and Python backends).
 *
 * Official loop (LlamaGen autoregressive/models/generate.py): `prefill` decodes token 0 with CFG
 * mixed whenever `cfg_scale > 1`; then `decode_n_tokens` runs `i = 0 .. H·W − 2` with
 * `cfg_flag = True`, setting `cfg_flag = False` once `cfg_interval > -1 and i > cfg_interval`,
 * and token i + 1 takes `uncond + (cond − uncond)·g` while `cfg_flag`, else `cond`. The
 * unconditional half is still run on every step (its cache stays in step). Draws use zipar's
 * per-cell keys, so the grid can be compared with the engine's token for token.
 *
 * @module
 */

import { sequencesFor } from "../core/condition.ts";
import { cellKey } from "../core/random.ts";
import { mixCfg, resolveSampling, sample, type SamplingOptions } from "../core/sampling.ts";
import { type Backend, type PlanImage, type Query, QUERY_TOKEN_CONDITION } from "../core/step.ts";

/**
 * Grids [images, H, W] of LlamaGen's raster loop with `cfgScale` > 1 and `cfgInterval` on a
 * backend without end-of-line slots.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MockBackend } from "./mock/mock.ts";
 * import { llamagenCfgLoop } from "./llamagen_cfg_loop.ts";
 * const backend = new MockBackend({ height: 2, width: 3 });
 * const images = [{ condition: 1, seed: 4, index: 0 }];
 * const grid = await llamagenCfgLoop(backend, images, 3, 0);
 * assert.equal(grid.length, 6);
 * ```
 */
export async function llamagenCfgLoop(
  backend: Backend,
  images: readonly PlanImage[],
  cfgScale: number,
  cfgInterval: number,
  sampling: SamplingOptions = {},
): Promise<Int32Array> {
  const { height, width, prefix, vocab, eolToken } = backend.info;
  if (!(cfgScale > 1) || eolToken !== null) {
    throw new RangeError("llamagenCfgLoop() needs cfgScale > 1 and a model without EOL slots");
  }
  const s = resolveSampling(sampling);
  const b = images.length, cells = height * width;
  const session = await backend.open(sequencesFor(images.map((im) => im.condition), true));
  const grid = new Int32Array(b * cells);
  try {
    // Sequences 0..B−1 conditional, B..2B−1 unconditional: both halves write the same tokens.
    const both = (slot: number, token: (seq: number) => number, wantLogits: boolean): Query[] =>
      Array.from({ length: 2 * b }, (_, seq) => ({ seq, slot, token: token(seq), wantLogits }));
    const decode = (logits: Float32Array, cell: number, guided: boolean) => {
      for (let i = 0; i < b; i++) {
        const cond = logits.subarray(i * vocab, (i + 1) * vocab);
        const uncond = logits.subarray((b + i) * vocab, (b + i + 1) * vocab);
        const row = guided ? mixCfg(cond, uncond, cfgScale) : cond;
        const key = cellKey(
          images[i].seed,
          images[i].index,
          Math.floor(cell / width),
          cell % width,
        );
        grid[i * cells + cell] = sample(row, key, s);
      }
    };
    // prefill: the class token(s); the last predicts token 0, always guided
    const prefill: Query[] = [];
    for (let p = 0; p < prefix; p++) {
      prefill.push(...both(p, () => QUERY_TOKEN_CONDITION, p === prefix - 1));
    }
    decode(await session.step(prefill), 0, true);
    // decode_n_tokens
    let cfgFlag = true;
    for (let i = 0; i < cells - 1; i++) {
      if (cfgInterval > -1 && i > cfgInterval) cfgFlag = false;
      const input = (seq: number) => grid[(seq % b) * cells + i];
      decode(await session.step(both(prefix + i, input, true)), i + 1, cfgFlag);
    }
  } finally {
    await session.close();
  }
  return grid;
}
