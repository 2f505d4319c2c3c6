/**
 * What a planned step costs, counted on the CPU (worker/step_profile.py, the numbers of
 * `zipar bench --profile`): every family's decoder layer launches at most 15 top-level torch
 * ops (Lumina-mGPT's Chameleon 17: its q/k LayerNorm), nothing in the planned loop reads back
 * from the device in any sampling setting (Lumina-mGPT 2.0's per-cell CFG scales included), and
 * a loaded model keeps one set of step graphs for all its generations. The counts are of ops and calls, never of time.
 *
 * Each test opens its own workers (graph mode differs).
 */

import assert from "node:assert/strict";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import type { PlanImage } from "../../core/step.ts";
import type { PythonBackend, StepProfile } from "./client.ts";
import { openTiny, PYTHON, PYTHON_TESTS, removeTinyModels, runPython } from "./test_helpers.ts";
import { openJanus, removeTinyJanus, tinyJanus } from "./janus_test_helpers.ts";
import { openEmu3, removeTinyEmu3, tinyEmu3 } from "./emu3_test_helpers.ts";
import { openLumina, removeTinyLumina, tinyLumina } from "./lumina_test_helpers.ts";
import { removeTinyLumina2, tinyLumina2 } from "./lumina2_test_helpers.ts";

type Sampling = { temperature: number; topK: number; topP: number };

const SETTINGS: [string, number, Sampling][] = [
  ["greedy, no CFG", 1, { temperature: 0, topK: 0, topP: 1 }],
  ["T 1, CFG 4", 4, { temperature: 1, topK: 0, topP: 1 }],
  ["T 0.9, CFG 4, top-k 20, top-p 0.8", 4, { temperature: 0.9, topK: 20, topP: 0.8 }],
];

/** Grids of one planned generation, and what the worker saw of it. */
async function planned(
  backend: PythonBackend,
  images: PlanImage[],
  schedule: ScheduleOptions,
  cfgScale: number,
  sampling: Sampling,
  profile: boolean,
) {
  const s = createSchedule(layoutOf(backend.info), schedule);
  const seen = await backend.observePlans(
    () => generate(backend, { images, schedule: s, cfgScale, sampling, mode: "planned" }),
    profile,
  );
  assert.equal(seen.result.stats.mode, "planned");
  return { grids: [...seen.result.grids], profiles: seen.profiles, captures: seen.graphCaptures };
}

/**
 * Profile a ZipAR generation of every setting: the same grids as unprofiled (the profile runs
 * the device-only sampler a GPU runs), no host reads, and the per-layer op budget.
 */
async function checkFamily(
  name: string,
  backend: PythonBackend,
  images: PlanImage[],
  perLayerBudget: number,
): Promise<StepProfile> {
  let last: StepProfile | null = null;
  for (const [setting, cfg, sampling] of SETTINGS) {
    const what = `${name}, ${setting}`;
    const plain = await planned(backend, images, { window: 2 }, cfg, sampling, false);
    const seen = await planned(backend, images, { window: 2 }, cfg, sampling, true);
    assert.deepEqual(seen.grids, plain.grids, `${what}: profiled grids differ`);
    assert.equal(plain.profiles.length, 0);
    assert.equal(seen.profiles.length, 1, `${what}: one profile per planned run`);
    const p = seen.profiles[0];
    assert.ok(p.steps > 1, `${what}: ${p.steps} steps profiled`);
    assert.equal(p.syncsPerStep, 0, `${what}: host reads ${JSON.stringify(p.syncs)}`);
    assert.ok(p.opsPerLayerPerStep !== null, `${what}: no decoder layer marked`);
    assert.ok(
      p.opsPerLayerPerStep! <= perLayerBudget,
      `${what}: ${p.opsPerLayerPerStep} ops per layer per step (budget ${perLayerBudget})`,
    );
    assert.ok(p.opsPerStep > p.opsPerLayerPerStep!, `${what}: a step is more than one layer`);
    assert.equal(seen.captures, 0, "no graphs captured off CUDA in auto mode");
    last = p;
  }
  return last!;
}

Deno.test({
  name: "LlamaGen planned steps: ≤ 15 ops per layer (MHA and grouped K/V), no host reads",
  ...PYTHON_TESTS,
  async fn() {
    const images = [{ condition: 3, seed: 5, index: 0 }, { condition: 7, seed: 5, index: 1 }];
    for (const file of ["st", "gqa"]) {
      const backend = await openTiny({ file });
      try {
        const p = await checkFamily(`llamagen ${file}`, backend, images, 15);
        // MHA in float32: 11 a raster step (RMSNorm 2, fused QKV and gate/up 2, RoPE 1, one
        // cache write, SDPA, addmm 2, SiLU and the gate product 2), and one copy of the
        // attention output when a sequence has several queries; grouped heads fold the query.
        assert.ok(p.opsPerLayerPerStep! >= 11, `${file}: ${p.opsPerLayerPerStep}: too few`);
      } finally {
        await backend.close();
      }
    }
  },
});

Deno.test({
  name: "Janus, Emu3, Lumina and Lumina 2.0 planned steps: the fused decoder layer, no host reads",
  ...PYTHON_TESTS,
  async fn() {
    const prompt = (p: string, index: number) => ({ condition: { prompt: p }, seed: 2, index });
    const images = [prompt("a red fox", 0), prompt("two boats on a lake at dusk", 1)];
    const cases: [string, () => Promise<PythonBackend>, number][] = [
      ["janus", async () => openJanus(await tinyJanus()), 15],
      ["emu3", async () => openEmu3(await tinyEmu3()), 15],
      ["lumina", async () => openLumina(await tinyLumina()), 17],
      // with CFG its plans carry per-cell scales (ModelInfo.cfgRule), gathered on the device
      ["lumina2", async () => openLumina(await tinyLumina2()), 17],
    ];
    try {
      for (const [name, open, budget] of cases) {
        const backend = await open();
        try {
          await checkFamily(name, backend, images, budget);
        } finally {
          await backend.close();
        }
      }
    } finally {
      await removeTinyJanus();
      await removeTinyEmu3();
      await removeTinyLumina();
      await removeTinyLumina2();
    }
  },
});

Deno.test({
  name: "a loaded model captures its step graphs once: 10 generations, 1 set",
  ...PYTHON_TESTS,
  async fn() {
    const backend = await openTiny({ cudaGraphs: "static" });
    const images = [{ condition: 3, seed: 0, index: 0 }];
    const sampling = { temperature: 1, topK: 0, topP: 1 };
    try {
      for (const [schedule, cfg] of [[{ kind: "raster" }, 4], [{ window: 2 }, 1]] as const) {
        let first = -1, later = 0;
        const grids = new Set<string>();
        for (let g = 0; g < 10; g++) {
          const round = images.map((im) => ({ ...im, seed: g }));
          const run = await planned(backend, round, schedule, cfg, sampling, false);
          grids.add(run.grids.join(","));
          if (g === 0) first = run.captures;
          else later += run.captures;
        }
        assert.ok(first > 0, `${JSON.stringify(schedule)}: nothing set up on the first run`);
        assert.equal(later, 0, `${JSON.stringify(schedule)}: later runs set up ${later} more`);
        assert.ok(grids.size > 5, "the seeds gave the same images: not ten generations");
      }
    } finally {
      await backend.close();
    }
  },
});

Deno.test({
  name: "host reads are counted, a closed session frees its cache, a failed capture is said once",
  ...PYTHON_TESTS,
  async fn() {
    const out = JSON.parse(await runPython(PYTHON!, "step_costs_check", []));
    // Every kind of host read the counter knows, once each inside the loop; none outside.
    assert.deepEqual(out.syncs, {
      item: 1,
      tolist: 1,
      numpy: 1,
      cpu: 1,
      __bool__: 1,
      "__getitem__[bool]": 1,
      nonzero: 1,
      tensor: 1,
      to: 1,
    });
    assert.equal(out.outsideLoop, 0);
    assert.equal(out.eagerCacheFreed, true, "an eager session's cache outlived its close()");
    assert.equal(out.staticCacheReused, true, "a static-mode model did not reuse its cache");
    assert.equal(out.keptAtMost, 2);
    assert.equal(out.layerOpsByDifference, out.layerOpsMarked);
    const failure = out.captureFailure;
    assert.equal(failure.lines, 1, "a failed capture is said once, and not retried");
    assert.match(failure.said, /^CUDA graphs off: capture failed \(.+\); running eagerly$/);
    assert.equal(failure.sameGrids, true);
    assert.equal(failure.captured, 0);
    await removeTinyModels();
  },
});
