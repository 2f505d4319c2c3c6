/**
 * Per-pass time vs rows per pass on the WebGPU backend, for each matmul policy side by side in
 * one run (random weights, nothing asserted): `blocked` is the kernel choice before tiling (a
 * pass of k rows re-reads every weight ⌈k/4⌉ times), `tiled` forces the workgroup-tiled kernel
 * (each weight read once per pass of ≤ 64 rows), `auto` is what the backend runs on this
 * adapter (matmul.ts). Repetitions are interleaved (rep → policy → rows) so load on a shared
 * machine spreads over all cells; each cell prints the median and [min–max] of the timed passes
 * (the first round compiles pipelines and is not timed) and the median over the 1-row pass.
 *
 * A pass is one interactive `step` of one sequence: `rows` queries at consecutive slots, every
 * one wanting logits (as in ZipAR, where rows = tokens per pass × CFG × images), with the logits
 * readback included.
 *
 * Run: `deno run -A backends/webgpu/pass_bench.ts [--models tiny,mid] [--rows 1,2,4,8,16,32,64]
 * [--policies blocked,auto,tiled] [--reps 5]` (models: tiny, mid = 6 layers dim 384 vocab 16384,
 * gpt-b).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Query, QUERY_TOKEN_CONDITION, type Session } from "../../core/step.ts";
import type { LlamagenConfig } from "../llamagen_config.ts";
import { createWebgpuBackend } from "./backend.ts";
import { openGpu } from "./device.ts";
import type { MatmulPolicy } from "./matmul.ts";
import { gptBConfig, randomLlamagenWeights, tinyConfig } from "./random_weights.ts";
import { sequencesFor } from "../../core/condition.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: "tiny,mid" },
    rows: { type: "string", default: "1,2,4,8,16,32,64" },
    policies: { type: "string", default: "blocked,auto,tiled" },
    reps: { type: "string", default: "5" },
  },
});

const MODELS: Record<string, () => LlamagenConfig> = {
  tiny: () => tinyConfig({ grid: [16, 16] }),
  mid: () =>
    tinyConfig({
      preset: "mid",
      dim: 384,
      layers: 6,
      heads: 6,
      hidden: 1024,
      vocab: 16384,
      numClasses: 1000,
      grid: [16, 16],
    }),
  "gpt-b": gptBConfig,
};

const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const rowCounts = list(values.rows!).map(Number);
const policies = list(values.policies!) as MatmulPolicy[];
const reps = Number(values.reps);
for (const p of policies) {
  if (!["blocked", "auto", "tiled"].includes(p)) throw new Error(`Unknown policy ${p}`);
}
if (!rowCounts.every((r) => Number.isInteger(r) && r >= 1)) throw new Error("--rows: integers ≥ 1");
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error("--reps: an integer ≥ 1");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One pass of `rows` queries at slots 1..rows of sequence 0. */
function pass(config: LlamagenConfig, rows: number): Query[] {
  return Array.from({ length: rows }, (_, i) => ({
    seq: 0,
    slot: config.prefix + i,
    token: (7 * i + 3) % config.vocab,
    wantLogits: true,
  }));
}

async function benchModel(name: string, config: LlamagenConfig): Promise<void> {
  const cells = config.grid[0] * config.grid[1];
  const rows = rowCounts.filter((r) => r <= cells);
  const t0 = performance.now();
  const weights = randomLlamagenWeights(config, 1);
  const sessions = new Map<MatmulPolicy, Session>();
  const backends = [];
  for (const policy of policies) {
    const backend = await createWebgpuBackend(config, weights, { matmul: policy });
    const session = await backend.open(sequencesFor([1], false));
    await session.step([{ seq: 0, slot: 0, token: QUERY_TOKEN_CONDITION, wantLogits: true }]);
    backends.push(backend);
    sessions.set(policy, session);
  }
  weights.clear();
  console.log(
    `\n## ${name}: ${config.layers} layers, dim ${config.dim}, hidden ${config.hidden}, ` +
      `vocab ${config.vocab} (setup ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const times = new Map<string, number[]>();
  for (let r = 0; r <= reps; r++) {
    for (const policy of policies) {
      for (const k of rows) {
        const queries = pass(config, k);
        const t = performance.now();
        await sessions.get(policy)!.step(queries);
        const dt = performance.now() - t;
        if (r === 0) continue; // first round compiles pipelines
        const key = `${policy}:${k}`;
        times.set(key, [...(times.get(key) ?? []), dt]);
      }
    }
  }
  const header = ["rows", ...policies.map((p) => `${p} ms [min–max] (÷ 1 row)`)];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map((h, i) => (i === 0 ? "---:" : "-".repeat(h.length))).join(" | ")} |`);
  for (const k of rows) {
    const cellsText = policies.map((p) => {
      const xs = times.get(`${p}:${k}`)!;
      const base = median(times.get(`${p}:${rows[0]}`)!);
      return `${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${
        Math.max(...xs).toFixed(1)
      }] (×${(median(xs) / base).toFixed(2)})`;
    });
    console.log(`| ${k} | ${cellsText.join(" | ")} |`);
  }
  for (const s of sessions.values()) await s.close();
  for (const b of backends) await b.close();
}

const gpu = await openGpu();
console.log(
  `adapter: ${gpu.description}${gpu.isFallback ? " (software)" : ""}; ` +
    `policies ${policies.join(", ")}; ${reps} interleaved reps; medians [min–max]`,
);
for (const name of list(values.models!)) {
  if (!MODELS[name]) {
    throw new Error(`Unknown model ${name}: use ${Object.keys(MODELS).join(", ")}`);
  }
  await benchModel(name, MODELS[name]());
}
