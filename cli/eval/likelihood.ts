/**
 * Teacher-forced likelihood of token grids under a model in raster order: one forward pass
 * writes every slot and returns the logits predicting every token. Reported by `zipar eval`
 * beside accuracy and Fréchet distance only: on its own it favours bland images.
 *
 * @module
 */

import {
  type Backend,
  layoutOf,
  type Query,
  QUERY_TOKEN_CONDITION,
  slotOf,
} from "../../core/mod.ts";
import { sequencesFor } from "../../core/condition.ts";

/**
 * Mean bits per token of `grids` ([B, H, W]) conditioned on `classes` (one per grid), without
 * guidance, computed `chunk` images per pass.
 */
export async function bitsPerToken(
  backend: Backend,
  grids: Int32Array,
  classes: number[],
  chunk = 8,
): Promise<number> {
  const info = backend.info;
  if (info.eolToken !== null) {
    throw new Error("bits per token is only implemented for grids without EOL");
  }
  const layout = layoutOf(info);
  const cells = info.height * info.width, vocab = info.vocab;
  if (grids.length !== classes.length * cells) {
    throw new RangeError(`${grids.length} tokens do not fit ${classes.length} grids of ${cells}`);
  }
  let bits = 0;
  for (let start = 0; start < classes.length; start += chunk) {
    const n = Math.min(chunk, classes.length - start);
    const session = await backend.open(sequencesFor(classes.slice(start, start + n), false));
    try {
      const queries: Query[] = [];
      for (let i = 0; i < n; i++) {
        for (let p = 0; p < info.prefix; p++) {
          queries.push({
            seq: i,
            slot: p,
            token: QUERY_TOKEN_CONDITION,
            wantLogits: p === info.prefix - 1,
          });
        }
        for (let k = 0; k < cells - 1; k++) {
          const slot = slotOf(layout, Math.floor(k / info.width), k % info.width);
          queries.push({ seq: i, slot, token: grids[(start + i) * cells + k], wantLogits: true });
        }
      }
      const logits = await session.step(queries); // logits: [n · cells, vocab]
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < cells; k++) {
          const row = logits.subarray((i * cells + k) * vocab, (i * cells + k + 1) * vocab);
          let max = -Infinity;
          for (let v = 0; v < vocab; v++) if (row[v] > max) max = row[v];
          let sum = 0;
          for (let v = 0; v < vocab; v++) sum += Math.exp(row[v] - max);
          const token = grids[(start + i) * cells + k];
          bits += (Math.log(sum) + max - row[token]) / Math.LN2;
        }
      }
    } finally {
      await session.close();
    }
  }
  return bits / grids.length;
}
