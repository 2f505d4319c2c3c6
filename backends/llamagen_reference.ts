/**
 * A float64 CPU reference of the LlamaGen GPT forward, for tests: no cache, every hidden state
 * recomputed from the token history.
 *
 * Given the steps run so far, it recomputes every write of every step layer by layer, each
 * write attending to exactly what was visible when it was written: per slot q ≤ its own slot,
 * the newest write of q made in the same step or earlier (so proxy writes, corrections and
 * "all queries of a step write first" are all honoured). That is the definition the KV-cache
 * backends must reproduce.
 *
 * @module
 */

import { type Query, QUERY_TOKEN_CONDITION } from "../core/step.ts";
import type { LlamagenConfig, LlamagenWeights } from "./llamagen_config.ts";

interface Write {
  seq: number;
  slot: number;
  token: number;
  step: number;
  wantLogits: boolean;
  /** Indices of the writes visible to this one (itself included). */
  visible: number[];
}

/** y = W·x for W: [rows, cols] row-major float32, x: [cols]. */
function matvec(w: Float32Array, rows: number, cols: number, x: Float64Array): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) s += w[base + c] * x[c];
    y[r] = s;
  }
  return y;
}

/** x / sqrt(mean(x²) + eps) * weight. */
function rmsnorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * weight[i]);
}

/**
 * 2D RoPE angles of a slot: [D/2] angles, or null for prefix slots (cos = sin = 0).
 * Image token (r, c): [r·f_0 .. r·f_{D/4−1}, c·f_0 .. c·f_{D/4−1}], f_i = base^(−2i/(D/2)).
 */
export function ropeAngles(config: LlamagenConfig, slot: number): Float64Array | null {
  if (slot < config.prefix) return null;
  const d = config.dim / config.heads;
  const quarter = d / 4;
  const rel = slot - config.prefix;
  const row = Math.floor(rel / config.grid[1]), col = rel % config.grid[1];
  const angles = new Float64Array(d / 2);
  for (let i = 0; i < quarter; i++) {
    const f = 1 / config.ropeBase ** ((2 * i) / (d / 2));
    angles[i] = row * f;
    angles[quarter + i] = col * f;
  }
  return angles;
}

/** Rotate adjacent pairs of every head of `x` ([heads·D]) in place. */
function applyRope(x: Float64Array, angles: Float64Array | null, heads: number): void {
  const d = x.length / heads;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < d / 2; j++) {
      const i0 = h * d + 2 * j;
      const cos = angles ? Math.cos(angles[j]) : 0, sin = angles ? Math.sin(angles[j]) : 0;
      const x0 = x[i0], x1 = x[i0 + 1];
      x[i0] = x0 * cos - x1 * sin;
      x[i0 + 1] = x1 * cos + x0 * sin;
    }
  }
}

/**
 * Logits of every query with `wantLogits` in `steps`, recomputed from scratch in float64.
 * `conditions[seq]` is the class id of each sequence. Returns one [numWant, vocab] array per step.
 *
 * @example
 * ```ts ignore
 * const [logits] = referenceLogits(config, weights, [3], [[{ seq: 0, slot: 0, token: -1, wantLogits: true }]]);
 * ```
 */
export function referenceLogits(
  config: LlamagenConfig,
  weights: LlamagenWeights,
  conditions: readonly number[],
  steps: readonly (readonly Query[])[],
): Float64Array[] {
  const { dim, heads, hidden, vocab, normEps: eps } = config;
  const d = dim / heads;
  const kvHeads = config.kvHeads ?? heads, kvDim = kvHeads * d;
  const rep = heads / kvHeads; // query head h reads K/V head ⌊h / rep⌋ (repeat_interleave)
  const w = (name: string) => weights.get(name)!.data;
  // Writes in step order, with what each one sees.
  const writes: Write[] = [];
  const current = new Map<number, Map<number, number>>(); // seq → slot → write index
  steps.forEach((queries, step) => {
    const first = writes.length;
    for (const q of queries) {
      writes.push({ ...q, step, visible: [] });
      if (!current.has(q.seq)) current.set(q.seq, new Map());
      current.get(q.seq)!.set(q.slot, writes.length - 1);
    }
    for (let i = first; i < writes.length; i++) {
      const own = writes[i];
      for (const [slot, index] of current.get(own.seq)!) {
        if (slot <= own.slot) own.visible.push(index);
      }
    }
  });
  // Embeddings.
  let x = writes.map(({ seq, token }) => {
    const table = token === QUERY_TOKEN_CONDITION
      ? w("cls_embedding.embedding_table.weight")
      : w("tok_embeddings.weight");
    const row = token === QUERY_TOKEN_CONDITION ? conditions[seq] : token;
    if (!(row >= 0 && row < (token === QUERY_TOKEN_CONDITION ? config.numClasses + 1 : vocab))) {
      throw new RangeError(`Token ${row} out of range`);
    }
    return Float64Array.from(table.subarray(row * dim, (row + 1) * dim));
  });
  const angles = writes.map((wr) => ropeAngles(config, wr.slot));
  const scale = 1 / Math.sqrt(d);
  for (let l = 0; l < config.layers; l++) {
    const p = `layers.${l}.`;
    const qs: Float64Array[] = [], ks: Float64Array[] = [], vs: Float64Array[] = [];
    x.forEach((xi, i) => {
      const qkv = matvec(
        w(p + "attention.wqkv.weight"),
        dim + 2 * kvDim,
        dim,
        rmsnorm(xi, w(p + "attention_norm.weight"), eps),
      );
      const q = qkv.slice(0, dim), k = qkv.slice(dim, dim + kvDim);
      applyRope(q, angles[i], heads);
      applyRope(k, angles[i], kvHeads);
      qs.push(q);
      ks.push(k);
      vs.push(qkv.slice(dim + kvDim));
    });
    x = x.map((xi, i) => {
      const out = new Float64Array(dim);
      const visible = writes[i].visible;
      for (let h = 0; h < heads; h++) {
        const kv = Math.floor(h / rep) * d; // this head's K/V head
        const scores = visible.map((j) => {
          let s = 0;
          for (let e = 0; e < d; e++) s += qs[i][h * d + e] * ks[j][kv + e];
          return s * scale;
        });
        const max = Math.max(...scores);
        const ex = scores.map((s) => Math.exp(s - max));
        const total = ex.reduce((a, b) => a + b, 0);
        visible.forEach((j, n) => {
          for (let e = 0; e < d; e++) out[h * d + e] += (ex[n] / total) * vs[j][kv + e];
        });
      }
      const h1 = matvec(w(p + "attention.wo.weight"), dim, dim, out).map((v, e) => v + xi[e]);
      const n = rmsnorm(h1, w(p + "ffn_norm.weight"), eps);
      const a = matvec(w(p + "feed_forward.w1.weight"), hidden, dim, n);
      const b = matvec(w(p + "feed_forward.w3.weight"), hidden, dim, n);
      const gated = a.map((v, e) => (v / (1 + Math.exp(-v))) * b[e]);
      return matvec(w(p + "feed_forward.w2.weight"), dim, hidden, gated).map((v, e) => v + h1[e]);
    });
  }
  const perStep: Float64Array[] = steps.map((queries) =>
    new Float64Array(queries.filter((q) => q.wantLogits).length * vocab)
  );
  const filled = steps.map(() => 0);
  writes.forEach((wr, i) => {
    if (!wr.wantLogits) return;
    const n = rmsnorm(x[i], w("norm.weight"), eps);
    perStep[wr.step].set(matvec(w("output.weight"), vocab, dim, n), filled[wr.step]++ * vocab);
  });
  return perStep;
}
