/**
 * Time of the device sampler alone (sample.wgsl: CFG mix + keyed draw), per dispatch of `jobs`
 * tokens over a `vocab` vocabulary, for each sampling setting, against greedy (one argmax read,
 * the floor) on the same logits. `--against FILE` adds another sample.wgsl (e.g. an older one:
 * `git show REV:backends/webgpu/sample.wgsl > /tmp/old.wgsl`) to every row, interleaved with the
 * current kernel so load on a shared machine spreads over both. Nothing is asserted: the tokens
 * are sampler_test.ts's business.
 *
 * Run: `deno run -A backends/webgpu/sample_bench.ts [--jobs 16] [--vocab 16384] [--cfg 1]
 * [--reps 5] [--dispatches 10] [--against FILE]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { resolveSampling, type SamplingOptions } from "../../core/sampling.ts";
import commonSrc from "./common.wgsl" with { type: "text" };
import { openGpu } from "./device.ts";
import { KernelCache } from "./kernel_cache.ts";
import { KERNELS, Kernels } from "./kernels.ts";
import { mulberry32 } from "./random_weights.ts";
import type { SampleKernels } from "./sampler.ts";
import { type HarnessJob, SamplerHarness } from "./sampler_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "16" },
    vocab: { type: "string", default: "16384" },
    cfg: { type: "string", default: "1" },
    reps: { type: "string", default: "5" },
    dispatches: { type: "string", default: "10" },
    against: { type: "string" },
  },
});
const [jobCount, vocab, reps, dispatches] = [
  values.jobs,
  values.vocab,
  values.reps,
  values.dispatches,
]
  .map(Number);
const cfgScale = Number(values.cfg);
for (const [name, v] of Object.entries({ jobCount, vocab, reps, dispatches })) {
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`--${name}: an integer ≥ 1`);
}

const SETTINGS: [string, SamplingOptions][] = [
  ["greedy", { temperature: 0 }],
  ["all tokens", { temperature: 1 }],
  ["top-k 2000", { temperature: 1, topK: 2000 }],
  ["top-k 256", { temperature: 1, topK: 256 }],
  ["top-p 0.9", { temperature: 1, topP: 0.9 }],
  ["top-k 256 + top-p 0.9", { temperature: 1, topK: 256, topP: 0.9 }],
];

const gpu = await openGpu();
const kernels: [string, SampleKernels][] = [["current", new Kernels(gpu.device)]];
if (values.against) {
  const src = await Deno.readTextFile(values.against);
  const table = { sample: [src, KERNELS.sample[1]] } as const;
  kernels.push([values.against, new KernelCache(gpu.device, table, { preamble: commonSrc })]);
}

// logits: [2·jobs, vocab], LlamaGen-like spread (σ ≈ 3); rows jobs.. are the CFG halves.
const rand = mulberry32(1);
const logits = new Float32Array(2 * jobCount * vocab);
for (let i = 0; i < logits.length; i++) logits[i] = 6 * (rand() + rand() + rand() - 1.5);
const width = 32;
const jobs: HarnessJob[] = Array.from(
  { length: jobCount },
  (_, j) => ({ cond: j, uncond: j + jobCount, image: 0, cell: j }),
);

const harnesses = new Map<string, SamplerHarness>();
for (const [label, options] of SETTINGS) {
  for (const [name, k] of kernels) {
    harnesses.set(
      `${label}|${name}`,
      new SamplerHarness({
        gpu,
        kernels: k,
        logits,
        vocab,
        grid: [Math.ceil(jobCount / width), width],
        images: [{ seed: 1, index: 0 }],
        jobs,
        cfgScale,
        sampling: resolveSampling(options),
      }),
    );
  }
}

const times = new Map<string, number[]>();
for (let r = 0; r <= reps; r++) {
  for (const [key, h] of harnesses) {
    const t = performance.now();
    await h.run(dispatches);
    const dt = (performance.now() - t) / dispatches;
    if (r > 0) times.set(key, [...(times.get(key) ?? []), dt]); // round 0 compiles
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cell = (key: string) => {
  const xs = times.get(key)!;
  const floor = median(times.get(key.replace(/^[^|]*/, "greedy"))!);
  return `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${
    Math.max(...xs).toFixed(2)
  }] (×${(median(xs) / floor).toFixed(1)})`;
};
console.log(
  `adapter: ${gpu.description}${gpu.isFallback ? " (software)" : ""}; ${jobCount} jobs × ` +
    `vocab ${vocab}, CFG ${cfgScale}; ms per dispatch, median [min–max] of ${reps} interleaved ` +
    `reps of ${dispatches} dispatches (× greedy of the same kernel)`,
);
const header = ["setting", ...kernels.map(([name]) => name)];
console.log(`| ${header.join(" | ")} |`);
console.log(`| ${header.map(() => "---").join(" | ")} |`);
for (const [label] of SETTINGS) {
  console.log(`| ${label} | ${kernels.map(([name]) => cell(`${label}|${name}`)).join(" | ")} |`);
}
for (const h of harnesses.values()) h.destroy();
