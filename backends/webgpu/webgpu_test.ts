import assert from "node:assert/strict";
import { join } from "node:path";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { cellKey } from "../../core/random.ts";
import { mixCfg, resolveSampling, sample, type SamplingOptions } from "../../core/sampling.ts";
import { createSchedule } from "../../core/schedule.ts";
import { compilePlan, encodePlan } from "../../core/plan.ts";
import { type Backend, type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import { referenceLogits } from "../llamagen_reference.ts";
import { createWebgpuBackend, openWebgpuBackend } from "./backend.ts";
import { randomLlamagenWeights, tinyConfig, writeRandomModel } from "./random_weights.ts";
import { needs } from "../../testing/runtimes.ts";
import { maxAbsDiff, scheduleSteps } from "./test_helpers.ts";
import { classOf, type Sequence, sequencesFor } from "../../core/condition.ts";

const config = tinyConfig();
const weights = randomLlamagenWeights(config, 7);
const gpuTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ...needs("WebGPU backend tests", ["webgpu"]),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await fn();
    },
  });

/** Run steps interactively and compare each step's logits with the float64 reference. */
async function checkAgainstReference(
  steps: Query[][],
  conditions: Sequence[],
  options: { maxBindingBytes?: number } = {},
): Promise<number> {
  const backend = await createWebgpuBackend(config, weights, options);
  const session = await backend.open(conditions);
  const got: Float32Array[] = [];
  for (const queries of steps) got.push(await session.step(queries));
  await session.close();
  await backend.close();
  const want = referenceLogits(
    config,
    weights,
    conditions.map((s) => classOf(s, config.numClasses)),
    steps,
  );
  let worst = 0;
  steps.forEach((_, j) => (worst = Math.max(worst, maxAbsDiff(got[j], want[j]))));
  return worst;
}

gpuTest("step() logits equal the float64 recompute for raster steps", async () => {
  const { steps } = scheduleSteps(config, 2, { kind: "raster" });
  const worst = await checkAgainstReference(steps.slice(0, 20), sequencesFor([3], true));
  assert(worst < 1e-3, `max abs diff ${worst}`);
});

gpuTest(
  "step() logits equal the float64 recompute for ZipAR steps with proxies and corrections",
  async () => {
    const { steps } = scheduleSteps(config, 2, { window: 2, variant: "ideal" });
    assert(steps.some((s) => s.some((q) => !q.wantLogits)), "expected correction queries");
    const worst = await checkAgainstReference(steps, sequencesFor([4], true));
    assert(worst < 1e-3, `max abs diff ${worst}`);
  },
);

gpuTest(
  "step() splits weights larger than one binding and still matches the recompute",
  async () => {
    const { steps } = scheduleSteps(config, 1, { window: 3, variant: "paper" });
    // 16 KiB bindings: output head and embeddings (64 KiB) become 4 chunks, w1/w3 too.
    const worst = await checkAgainstReference(steps.slice(0, 12), sequencesFor([9], false), {
      maxBindingBytes: 16384,
    });
    assert(worst < 1e-3, `max abs diff ${worst}`);
  },
);

gpuTest("step() rejects bad queries with one-line errors", async () => {
  const backend = await createWebgpuBackend(config, weights);
  const session = await backend.open(sequencesFor([1], false));
  await assert.rejects(
    session.step([{ seq: 1, slot: 0, token: QUERY_TOKEN_CONDITION, wantLogits: true }]),
    /sequence 1/,
  );
  await assert.rejects(
    session.step([{ seq: 0, slot: 0, token: 5, wantLogits: true }]),
    /condition token/,
  );
  await assert.rejects(
    session.step([{ seq: 0, slot: 3, token: 999, wantLogits: true }]),
    /token 999/,
  );
  await session.close();
  await backend.close();
});

/**
 * runPlan() tokens against core/sampling on the same logits: replay the plan interactively,
 * feeding the device's tokens, and sample every row in TypeScript.
 */
async function planVsHostSampling(
  sampling: SamplingOptions,
  cfgScale: number,
): Promise<{ tokens: number; mismatches: number }> {
  const backend = await createWebgpuBackend(config, weights);
  const layout = layoutOf(backend.info);
  const plan = encodePlan(compilePlan(layout, createSchedule(layout, { window: 3 })));
  const images = [0, 1, 2].map((i) => ({ condition: 2 * i + 1, seed: 1234 + i, index: i }));
  const b = images.length;
  const seqs = cfgScale === 1 ? b : 2 * b;
  const conditions = sequencesFor(images.map((im) => im.condition), seqs > b);
  const resolved = resolveSampling(sampling);
  const planned = await backend.open(conditions);
  const grid = await planned.runPlan!({
    plan,
    images,
    cfgScale,
    sampling: resolved,
    progressEvery: 0,
  });
  await planned.close();
  const session = await backend.open(conditions);
  const cells = plan.height * plan.width;
  let tokens = 0, mismatches = 0;
  for (let j = 0; j + 1 < plan.stepStart.length; j++) {
    const queries: Query[] = [];
    const predicts: number[] = [];
    for (let t = plan.stepStart[j]; t < plan.stepStart[j + 1]; t++) {
      for (let s = 0; s < seqs; s++) {
        const input = plan.input[t];
        const token = input < 0 ? QUERY_TOKEN_CONDITION : grid[(s % b) * cells + input];
        queries.push({ seq: s, slot: plan.slot[t], token, wantLogits: plan.predicts[t] >= 0 });
      }
      if (plan.predicts[t] >= 0) predicts.push(plan.predicts[t]);
    }
    const logits = await session.step(queries);
    predicts.forEach((cell, k) => {
      for (let i = 0; i < b; i++) {
        const row = (s: number) =>
          logits.subarray((k * seqs + s) * config.vocab, (k * seqs + s + 1) * config.vocab);
        const mixed = seqs > b ? mixCfg(row(i), row(b + i), cfgScale) : row(i);
        const key = cellKey(
          images[i].seed,
          images[i].index,
          Math.floor(cell / plan.width),
          cell % plan.width,
        );
        tokens++;
        if (sample(mixed, key, resolved) !== grid[i * cells + cell]) mismatches++;
      }
    });
  }
  await session.close();
  await backend.close();
  return { tokens, mismatches };
}

gpuTest("runPlan() samples the tokens core/sampling draws from the same logits", async () => {
  let tokens = 0, mismatches = 0;
  const settings: [SamplingOptions, number][] = [
    [{ temperature: 1 }, 2],
    [{ temperature: 0 }, 3],
    [{ temperature: 0.8, topK: 20 }, 2],
    [{ temperature: 1.2, topP: 0.8 }, 1],
    [{ temperature: 1, topK: 50, topP: 0.9 }, 4],
  ];
  for (const [sampling, cfg] of settings) {
    const r = await planVsHostSampling(sampling, cfg);
    tokens += r.tokens;
    mismatches += r.mismatches;
  }
  assert(tokens >= 900, `only ${tokens} tokens`);
  console.log(`runPlan() vs core/sampling: ${mismatches} of ${tokens} tokens differ`);
  assert(
    mismatches < tokens * 0.001,
    `${mismatches} of ${tokens} tokens differ (near-ties allowed < 0.1%)`,
  );
});

gpuTest("generate() gives the same ZipAR grids in planned and interactive mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar-webgpu-" });
  try {
    await writeRandomModel(dir, config, 11);
    const backend = await openWebgpuBackend({ model: dir });
    const schedule = createSchedule(layoutOf(backend.info), { window: 2, variant: "paper" });
    const images = [{ condition: 5, seed: 42, index: 0 }, { condition: 6, seed: 42, index: 1 }];
    const options = {
      images,
      schedule,
      cfgScale: 2,
      sampling: { temperature: 1, topK: 40 },
      progressEvery: 5,
    };
    const planned = await generate(backend, { ...options, mode: "planned" });
    const interactive = await generate(backend, { ...options, mode: "interactive" });
    assert.equal(planned.stats.mode, "planned");
    assert.equal(interactive.stats.mode, "interactive");
    assert.equal(planned.stats.passes, 2 * 8 + 6 * 2);
    assert.deepEqual(planned.grids, interactive.grids);
    assert(new Set(planned.grids).size > 20, "grids should vary");
    await backend.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "runPlan() refuses per-cell CFG scales in one line; generate() runs them interactive",
  async () => {
    const backend = await createWebgpuBackend(config, weights);
    try {
      const layout = layoutOf(backend.info);
      const schedule = createSchedule(layout, { window: 2 });
      const plan = encodePlan(compilePlan(layout, schedule));
      const images = [{ condition: 3, seed: 1, index: 0 }];
      const session = await backend.open(sequencesFor([3], true));
      const cells = layout.height * layout.width;
      await assert.rejects(
        session.runPlan!({
          plan,
          images,
          cfgScale: 7,
          cfgScales: new Float64Array(cells).fill(4),
          sampling: resolveSampling({ temperature: 0 }),
          progressEvery: 0,
        }),
        /^TypeError: WebGPU plans mix one CFG scale at every cell, not a scale per cell/,
      );
      await session.close();
      // The same model said to have a CFG rule: the engine keeps its scales off the plan runner.
      const cfgRule = { kind: "decay", floor: 4, start: 2, latentStride: 2 } as const;
      const ruled: Backend = {
        name: "webgpu",
        info: { ...backend.info, cfgRule },
        open: (sequences) => backend.open(sequences),
        close: () => Promise.resolve(),
      };
      const options = { images, schedule, cfgScale: 7, sampling: { temperature: 0 } };
      assert.equal((await generate(ruled, options)).stats.mode, "interactive");
      await assert.rejects(
        generate(ruled, { ...options, mode: "planned" }),
        /cannot run plans with a CFG scale per cell \(llamagen's cfgRule\): use interactive mode/,
      );
    } finally {
      await backend.close();
    }
  },
);

gpuTest("openWebgpuBackend() reports bad model directories in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar-webgpu-" });
  try {
    await writeRandomModel(dir, config, 1);
    const path = join(dir, "model.safetensors");
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 100));
    const err = await openWebgpuBackend({ model: dir }).then(() => null, (e: Error) => e);
    assert(
      err && /past the data section/.test(err.message) && !err.message.includes("\n"),
      String(err),
    );
    await assert.rejects(
      openWebgpuBackend({ model: join(dir, "missing") }),
      /Cannot read .*config\.json/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
