/**
 * Grouped K/V heads (LlamaGen's `n_kv_head` < `n_head`, config `kvHeads`): a model whose query
 * heads share K/V heads must give exactly the logits of the same model with each K/V head's
 * rows of wqkv repeated for every query head that reads it — which is what LlamaGen's
 * `repeat_interleave` over the cache computes. Checked for the float64 reference, the Python
 * worker and WebGPU, and WebGPU against the reference.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { classOf, sequencesFor } from "../core/condition.ts";
import type { LlamagenConfig, LlamagenWeights } from "./llamagen_config.ts";
import { referenceLogits } from "./llamagen_reference.ts";
import { openPythonBackend } from "./python/client.ts";
import { writeSafetensors } from "./safetensors.ts";
import { needs, PYTHON } from "../testing/runtimes.ts";
import { createWebgpuBackend } from "./webgpu/backend.ts";
import { randomLlamagenWeights, tinyConfig } from "./webgpu/random_weights.ts";
import { maxAbsDiff, scheduleSteps } from "./webgpu/test_helpers.ts";

/** 4 query heads over 2 K/V heads (dim 64, head_dim 16); a short grid keeps the reference fast. */
const GQA = tinyConfig({ kvHeads: 2, grid: [4, 4] });

/** The full-head model equal to a grouped one: K/V head j's rows repeated for its query heads. */
function expandKvHeads(
  config: LlamagenConfig,
  weights: LlamagenWeights,
  kvHeadOf = (h: number) => Math.floor(h / (config.heads / config.kvHeads!)),
): [LlamagenConfig, LlamagenWeights] {
  const { dim, heads } = config;
  const kvHeads = config.kvHeads!, d = dim / heads;
  const out: LlamagenWeights = new Map(weights);
  for (let l = 0; l < config.layers; l++) {
    const key = `layers.${l}.attention.wqkv.weight`;
    const w = weights.get(key)!.data; // [dim + 2·kvHeads·d, dim]
    const full = new Float32Array(3 * dim * dim); // [3·dim, dim]
    full.set(w.subarray(0, dim * dim)); // q rows unchanged
    for (const part of [0, 1]) { // k, then v
      const from = dim + part * kvHeads * d, to = dim + part * dim;
      for (let h = 0; h < heads; h++) {
        const j = kvHeadOf(h); // the K/V head query head h reads
        const rows = w.subarray((from + j * d) * dim, (from + (j + 1) * d) * dim);
        full.set(rows, (to + h * d) * dim);
      }
    }
    out.set(key, { shape: [3 * dim, dim], data: full });
  }
  return [{ ...config, kvHeads: heads }, out];
}

const conditions = sequencesFor([5], true);
const { steps } = scheduleSteps(GQA, 2, { window: 2, variant: "ideal" });
const weights = randomLlamagenWeights(GQA, 11);
const [fullConfig, fullWeights] = expandKvHeads(GQA, weights);
const classes = conditions.map((s) => classOf(s, GQA.numClasses));

async function writeModel(dir: string, config: LlamagenConfig, w: LlamagenWeights) {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config));
  await writeSafetensors(join(dir, "model.safetensors"), w);
}

Deno.test("referenceLogits() of grouped K/V heads equals the model with repeated K/V heads", () => {
  assert(steps.some((s) => s.some((q) => !q.wantLogits)), "ZipAR steps with corrections");
  const grouped = referenceLogits(GQA, weights, classes, steps);
  const full = referenceLogits(fullConfig, fullWeights, classes, steps);
  const worst = Math.max(...grouped.map((g, j) => maxAbsDiff(g, full[j])));
  assert(worst < 1e-9, `max abs diff ${worst}`);
  // The mapping matters: query head h reading K/V head h mod 2 instead gives other logits.
  const [c, w] = expandKvHeads(GQA, weights, (h) => h % GQA.kvHeads!);
  const other = referenceLogits(c, w, classes, steps);
  assert(Math.max(...grouped.map((g, j) => maxAbsDiff(g, other[j]))) > 1e-3);
});

Deno.test({
  name: "Python step() logits of grouped K/V heads equal those of repeated K/V heads",
  ...needs("grouped K/V heads on the Python backend", ["python"]),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "zipar_gqa_" });
    try {
      await writeModel(join(dir, "gqa"), GQA, weights);
      await writeModel(join(dir, "full"), fullConfig, fullWeights);
      const open = (model: string) =>
        openPythonBackend({ model, python: PYTHON!, onLog: () => {}, handleSigint: false });
      const [a, b] = [await open(join(dir, "gqa")), await open(join(dir, "full"))];
      try {
        const [sa, sb] = [await a.open(conditions), await b.open(conditions)];
        const want = referenceLogits(GQA, weights, classes, steps);
        let worst = 0, toReference = 0;
        for (const [j, queries] of steps.entries()) {
          const la = await sa.step(queries), lb = await sb.step(queries);
          worst = Math.max(worst, maxAbsDiff(la, lb));
          toReference = Math.max(toReference, maxAbsDiff(la, want[j]));
        }
        assert(worst < 1e-4, `grouped vs repeated: max abs diff ${worst}`);
        assert(toReference < 1e-3, `vs the float64 reference: max abs diff ${toReference}`);
        assert.equal(a.worker.config.kvHeads, 2);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "WebGPU step() logits of grouped K/V heads equal the float64 recompute",
  ...needs("grouped K/V heads on WebGPU", ["webgpu"]),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const backend = await createWebgpuBackend(GQA, weights);
    try {
      const session = await backend.open(conditions);
      const want = referenceLogits(GQA, weights, classes, steps);
      let worst = 0;
      for (const [j, queries] of steps.entries()) {
        worst = Math.max(worst, maxAbsDiff(await session.step(queries), want[j]));
      }
      await session.close();
      assert(worst < 1e-3, `max abs diff ${worst}`);
    } finally {
      await backend.close();
    }
  },
});
