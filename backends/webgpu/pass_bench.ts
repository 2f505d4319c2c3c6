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
 * gpt-b). `--janus DIR [--dtypes float32,float16]` times a Janus directory instead, on the
 * backend's own matmul choice, its weight storage dtypes side by side (after the prompt's
 * prefill; the passes are one conditional sequence's image rows).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Query, QUERY_TOKEN_CONDITION, type Session } from "../../core/step.ts";
import type { LlamagenConfig } from "../llamagen_config.ts";
import { createWebgpuBackend } from "./backend.ts";
import { openJanusWebgpuBackend } from "./janus_backend.ts";
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
    janus: { type: "string" },
    dtypes: { type: "string", default: "float32,float16" },
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
  printTable(policies, rows, times);
  for (const s of sessions.values()) await s.close();
  for (const b of backends) await b.close();
}

/** The table of `times` (column:rows → ms), one column per name, ratios to the first row. */
function printTable(columns: string[], rows: number[], times: Map<string, number[]>): void {
  const header = ["rows", ...columns.map((p) => `${p} ms [min–max] (÷ 1 row)`)];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map((h, i) => (i === 0 ? "---:" : "-".repeat(h.length))).join(" | ")} |`);
  for (const k of rows) {
    const cellsText = columns.map((p) => {
      const xs = times.get(`${p}:${k}`)!;
      const base = median(times.get(`${p}:${rows[0]}`)!);
      return `${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${
        Math.max(...xs).toFixed(1)
      }] (×${(median(xs) / base).toFixed(2)})`;
    });
    console.log(`| ${k} | ${cellsText.join(" | ")} |`);
  }
}

/** A Janus directory's passes for each storage dtype, interleaved. */
async function benchJanus(dir: string, dtypes: string[]): Promise<void> {
  const sessions = new Map<string, Session>();
  const backends = [];
  let info = null;
  for (const dtype of dtypes) {
    const backend = await openJanusWebgpuBackend(dir, { dtype });
    info = backend.info;
    const session = await backend.open([{
      condition: { prompt: "a red fox" },
      unconditional: false,
    }]);
    await session.step([{ seq: 0, slot: 0, token: QUERY_TOKEN_CONDITION, wantLogits: true }]);
    backends.push(backend);
    sessions.set(dtype, session);
  }
  const rows = rowCounts.filter((r) => r <= info!.height * info!.width);
  console.log(`\n## Janus ${dir}: ${info!.height}×${info!.width}, codebook ${info!.vocab}`);
  const times = new Map<string, number[]>();
  for (let r = 0; r <= reps; r++) {
    for (const dtype of dtypes) {
      for (const k of rows) {
        const queries = Array.from({ length: k }, (_, i) => ({
          seq: 0,
          slot: 1 + i,
          token: (7 * i + 3) % info!.vocab,
          wantLogits: true,
        }));
        const t = performance.now();
        await sessions.get(dtype)!.step(queries);
        if (r > 0) {
          times.set(`${dtype}:${k}`, [
            ...(times.get(`${dtype}:${k}`) ?? []),
            performance.now() - t,
          ]);
        }
      }
    }
  }
  printTable(dtypes, rows, times);
  for (const s of sessions.values()) await s.close();
  for (const b of backends) await b.close();
}

const gpu = await openGpu();
const what = values.janus !== undefined
  ? `weights ${list(values.dtypes!).join(", ")}`
  : `policies ${policies.join(", ")}`;
console.log(
  `adapter: ${gpu.description}${gpu.isFallback ? " (software)" : ""}; ` +
    `${what}; ${reps} interleaved reps; medians [min–max]`,
);
if (values.janus !== undefined) await benchJanus(values.janus, list(values.dtypes!));
else {
  for (const name of list(values.models!)) {
    if (!MODELS[name]) {
      throw new Error(`Unknown model ${name}: use ${Object.keys(MODELS).join(", ")}`);
    }
    await benchModel(name, MODELS[name]());
  }
}
