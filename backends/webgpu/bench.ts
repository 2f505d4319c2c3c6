/**
 * WebGPU backend benchmark, side by side in one run (random weights, nothing asserted):
 * 1. time per pass vs tokens per pass (interactive `step`, one image with CFG = 2 sequences);
 * 2. the same first passes of a ZipAR plan, interactive (one readback per pass) vs planned
 *    (one readback at the end) — medians over repetitions.
 *
 * Run: `deno run -A backends/webgpu/bench.ts [--models tiny,gpt-b] [--reps 3] [--steps 12]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createLayout } from "../../core/layout.ts";
import { compilePlan, encodePlan } from "../../core/plan.ts";
import { resolveSampling } from "../../core/sampling.ts";
import { createSchedule } from "../../core/schedule.ts";
import { type EncodedPlan, type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import type { LlamagenConfig } from "../llamagen_config.ts";
import { createWebgpuBackend } from "./backend.ts";
import { openGpu } from "./device.ts";
import { gptBConfig, randomLlamagenWeights, tinyConfig } from "./random_weights.ts";
import { sequencesFor } from "../../core/condition.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: "tiny,gpt-b" },
    reps: { type: "string", default: "3" },
    steps: { type: "string", default: "12" },
  },
});
const reps = Number(values.reps), planSteps = Number(values.steps);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => x.toFixed(1).padStart(8);

/** The first `steps` steps of a ZipAR plan (window 4, ideal) of the model's grid. */
function truncatedPlan(config: LlamagenConfig, steps: number): EncodedPlan {
  const layout = createLayout({
    height: config.grid[0],
    width: config.grid[1],
    prefix: config.prefix,
  });
  const full = encodePlan(compilePlan(layout, createSchedule(layout, { window: 4 })));
  const n = Math.min(steps, full.stepStart.length - 1);
  const end = full.stepStart[n];
  return {
    height: full.height,
    width: full.width,
    stepStart: full.stepStart.slice(0, n + 1),
    slot: full.slot.slice(0, end),
    input: full.input.slice(0, end),
    predicts: full.predicts.slice(0, end),
  };
}

async function benchModel(name: string, config: LlamagenConfig): Promise<void> {
  const t0 = performance.now();
  const weights = randomLlamagenWeights(config, 1);
  const backend = await createWebgpuBackend(config, weights);
  weights.clear();
  console.log(
    `\n== ${name}: ${config.layers} layers, dim ${config.dim}, vocab ${config.vocab}, ` +
      `grid ${config.grid.join("×")} (load ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const conditions = sequencesFor([1], true);
  const width = config.grid[1];
  // 1. Time per pass vs tokens per pass: k tokens (rows) per pass, 2 sequences each.
  console.log("tokens/pass  queries   median ms/pass   ms/token");
  const session = await backend.open(conditions);
  const prefill = conditions.map((_, seq) => ({
    seq,
    slot: 0,
    token: QUERY_TOKEN_CONDITION,
    wantLogits: true,
  }));
  await session.step(prefill);
  for (const k of [1, 2, 4, 8].filter((k) => k <= config.grid[0])) {
    const times: number[] = [];
    for (let r = 0; r < reps + 1; r++) {
      const queries: Query[] = [];
      for (let row = 0; row < k; row++) {
        for (let seq = 0; seq < 2; seq++) {
          queries.push({
            seq,
            slot: config.prefix + row * width + r,
            token: (row + r) % config.vocab,
            wantLogits: true,
          });
        }
      }
      const t = performance.now();
      await session.step(queries);
      if (r > 0) times.push(performance.now() - t); // first run compiles pipelines
    }
    const m = median(times);
    console.log(
      `${String(k).padStart(11)}  ${String(2 * k).padStart(7)}  ${ms(m)}         ${ms(m / k)}`,
    );
  }
  await session.close();
  // 2. Interactive vs planned over the same plan prefix.
  const plan = truncatedPlan(config, planSteps);
  const steps = plan.stepStart.length - 1;
  const images = [{ condition: 1, seed: 7, index: 0 }];
  const run = {
    plan,
    images,
    cfgScale: 2,
    sampling: resolveSampling({ temperature: 1 }),
    progressEvery: 0,
  };
  const planned: number[] = [], interactive: number[] = [];
  for (let r = 0; r < reps + 1; r++) {
    const s = await backend.open(conditions);
    let t = performance.now();
    const grid = await s.runPlan!(run);
    if (r > 0) planned.push(performance.now() - t);
    await s.close();
    const s2 = await backend.open(conditions);
    t = performance.now();
    for (let j = 0; j < steps; j++) {
      const queries: Query[] = [];
      for (let q = plan.stepStart[j]; q < plan.stepStart[j + 1]; q++) {
        for (let seq = 0; seq < 2; seq++) {
          const input = plan.input[q];
          queries.push({
            seq,
            slot: plan.slot[q],
            token: input < 0 ? QUERY_TOKEN_CONDITION : grid[input],
            wantLogits: plan.predicts[q] >= 0,
          });
        }
      }
      await s2.step(queries); // (host sampling not included: ~0.1 ms per row)
    }
    if (r > 0) interactive.push(performance.now() - t);
    await s2.close();
  }
  const tokens = [...plan.predicts].filter((p) => p >= 0).length;
  console.log(
    `first ${steps} ZipAR(s=4) passes, ${tokens} tokens, CFG 2: ` +
      `interactive ${ms(median(interactive))} ms (${
        (median(interactive) / steps).toFixed(1)
      } ms/pass), ` +
      `planned ${ms(median(planned))} ms (${(median(planned) / steps).toFixed(1)} ms/pass)`,
  );
  await backend.close();
}

const gpu = await openGpu();
console.log(
  `adapter: ${gpu.description}${
    gpu.isFallback ? " (software fallback)" : ""
  }; reps ${reps} (medians)`,
);
const models: Record<string, () => LlamagenConfig> = {
  tiny: () => tinyConfig(),
  "gpt-b": () => gptBConfig(),
};
for (const name of values.models!.split(",")) {
  if (!models[name]) {
    throw new Error(`Unknown model ${name}: use ${Object.keys(models).join(", ")}`);
  }
  await benchModel(name, models[name]());
}
