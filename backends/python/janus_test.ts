/**
 * The Janus family on the Python backend, on tiny random Janus directories made from
 * transformers' own config classes: zipar's greedy raster equals transformers' own image loop
 * (the peer), CFG off and on, for two prompts of different lengths; a batch mixing them gives
 * each image its own grid; ZipAR at s = W is raster and s < W takes the plan's step counts;
 * step logits equal a no-cache recompute; the model's VQ decoder makes 16 px per token.
 */

import assert from "node:assert/strict";
import { assertRunsMatch, runSteps, type StepRun } from "../../testing/step_runs.ts";
import { createLayout } from "../../core/layout.ts";
import { compilePlan } from "../../core/plan.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { cfgQueries } from "../../core/cfg.ts";
import type { PromptCondition, Sequence } from "../../core/condition.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import {
  openJanus,
  peerGrids,
  referenceLogits,
  removeTinyJanus,
  tinyJanus,
} from "./janus_test_helpers.ts";
import { PYTHON, PYTHON_TESTS, runPython } from "./test_helpers.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";
import { greedyRun } from "../../testing/greedy_run.ts";

// Two prompts of different lengths (36 and 61 tokens with the chat template).
const PROMPTS = ["a red fox", "a small blue bird on a wooden fence at dawn"];
const CONDITIONS: PromptCondition[] = PROMPTS.map((prompt) => ({ prompt }));
const GREEDY_ALL = { temperature: 0, topK: 0, topP: 1 };

/** Run `fn` on the file's worker for `dir`: the tests here share one (testing/shared_worker.ts). */
async function withJanus(
  dir: string,
  fn: (backend: OracleBackend) => Promise<void>,
): Promise<void> {
  await fn(await sharedWorker(`janus ${dir}`, () => openJanus(dir)));
}

/** Images conditioned on prompts `which` (indices into PROMPTS), seed 0. */
function imagesOf(which: number[]) {
  return which.map((p, index) => ({ condition: CONDITIONS[p], seed: 0, index }));
}

/** Greedy images of the prompts `which` (indices into PROMPTS), testing/greedy_run.ts. */
function run(
  backend: OracleBackend,
  which: number[],
  schedule: ScheduleOptions,
  cfgScale: number,
  mode: "interactive" | "planned" = "interactive",
) {
  return greedyRun(backend, which.map((p) => CONDITIONS[p]), schedule, cfgScale, mode);
}

Deno.test({
  name: "Janus ModelInfo: a square grid, codebook vocab, one prefix slot, no EOL, text",
  ...PYTHON_TESTS,
  async fn() {
    await withJanus(await tinyJanus(), (backend) => {
      const { name: _, defaults, ...info } = backend.info;
      assert.deepEqual(defaults, { cfg: 5 }); // transformers' default guidance scale
      assert.deepEqual(info, {
        family: "janus",
        vocab: 256,
        height: 4,
        width: 4,
        prefix: 1,
        eolToken: null,
        numClasses: 0,
        conditioning: "text",
      });
      return Promise.resolve();
    });
  },
});

Deno.test({
  name: "Janus raster greedy equals transformers' own image loop, CFG off and on, two prompts",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyJanus();
    for (const cfg of [1, 5]) {
      const peer = await peerGrids(dir, PROMPTS, cfg);
      assert.notEqual(peer.inputIds[0].length, peer.inputIds[1].length);
      assert.notDeepEqual(peer.grids[0], peer.grids[1], "prompts give the same grid");
      for (const grid of peer.grids) assert.ok(new Set(grid).size > 8, `uniform grid ${grid}`);
      await withJanus(dir, async (backend) => {
        for (const mode of ["interactive", "planned"] as const) {
          for (const i of [0, 1]) {
            const { grids, stats } = await run(backend, [i], { kind: "raster" }, cfg, mode);
            assert.equal(stats.mode, mode);
            assert.deepEqual([...grids], peer.grids[i], `cfg ${cfg} ${mode} prompt ${i}`);
          }
        }
        const oracle = await backend.rasterInWorker(imagesOf([0, 1]), cfg, GREEDY_ALL);
        assert.deepEqual([...oracle], peer.grids.flat(), `cfg ${cfg}: the worker's raster loop`);
      });
    }
  },
});

Deno.test({
  name: "Janus batch mixing prompts of different lengths gives each image its own grid",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyJanus();
    const peer = await peerGrids(dir, PROMPTS, 5);
    await withJanus(dir, async (backend) => {
      for (const mode of ["interactive", "planned"] as const) {
        const { grids } = await run(backend, [1, 0, 1], { kind: "raster" }, 5, mode);
        assert.deepEqual([...grids], [...peer.grids[1], ...peer.grids[0], ...peer.grids[1]]);
        // ZipAR too: each image of the batch decodes as it does alone.
        const batch = await run(backend, [0, 1], { window: 2 }, 5, mode);
        for (const i of [0, 1]) {
          const alone = await run(backend, [i], { window: 2 }, 5, mode);
          assert.deepEqual([...batch.grids.subarray(16 * i, 16 * i + 16)], [...alone.grids]);
        }
      }
    });
  },
});

Deno.test({
  name: "Janus ZipAR at s = W equals raster; s < W takes the plan's steps on the 24x24 grid",
  ...PYTHON_TESTS,
  async fn() {
    await withJanus(await tinyJanus(), async (backend) => {
      for (const cfg of [1, 5]) {
        const raster = await run(backend, [0, 1], { kind: "raster" }, cfg);
        const zipar = await run(backend, [0, 1], { window: 4 }, cfg);
        assert.equal(zipar.stats.passes, 16);
        assert.deepEqual([...zipar.grids], [...raster.grids]);
      }
    });
    await withJanus(await tinyJanus("pass"), async (backend) => {
      assert.deepEqual([backend.info.height, backend.info.width], [24, 24]);
      const cases: [ScheduleOptions, number][] = [
        [{ window: 8 }, 208],
        [{ window: 8, variant: "paper" }, 224],
      ];
      for (const [schedule, passes] of cases) {
        const { grids, stats } = await run(backend, [0], schedule, 5);
        assert.equal(stats.mode, "interactive");
        assert.equal(stats.passes, passes, `${schedule.variant ?? "ideal"} s=8`);
        assert.equal(grids.length, 576);
        assert.ok(grids.every((t) => t >= 0 && t < 256));
      }
    });
  },
});

/** A ZipAR plan's steps (proxies and corrections) for one image and its CFG half, random
 * cell tokens, sequences 0 (conditional) and 1 (unconditional). */
function stepsOf(options: ScheduleOptions): Query[][] {
  const layout = createLayout({ height: 4, width: 4 });
  const plan = compilePlan(layout, createSchedule(layout, options));
  let state = 11;
  const tokens = Array.from(
    { length: 16 },
    () => (state = (state * 1103515245 + 12345) >>> 0) % 256,
  );
  return plan.steps.map((queries) =>
    cfgQueries([
      queries.map((q) => ({
        slot: q.slot,
        token: q.input.kind === "cell"
          ? tokens[q.input.row * 4 + q.input.col]
          : QUERY_TOKEN_CONDITION,
        wantLogits: q.predicts !== null,
      })),
    ], true)
  );
}

Deno.test({
  name: "Janus step logits equal a no-cache recompute of what each query saw",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyJanus();
    // Conditional: the prompt; unconditional: a negative prompt of another length. Then the
    // transformers rule (the padded prompt) on a second pair.
    const cases: Sequence[][] = [
      [
        { condition: { prompt: PROMPTS[0], negativePrompt: "blurry, dark" }, unconditional: false },
        { condition: { prompt: PROMPTS[0], negativePrompt: "blurry, dark" }, unconditional: true },
      ],
      [
        { condition: { prompt: PROMPTS[1] }, unconditional: false },
        { condition: { prompt: PROMPTS[1] }, unconditional: true },
      ],
    ];
    const runs: StepRun[] = [];
    for (const options of [{ window: 2 }, { window: 3, variant: "paper" as const }]) {
      const steps = stepsOf(options);
      assert.ok(steps.some((s) => s.some((q) => !q.wantLogits && q.slot > 0)), "no corrections");
      for (const sequences of cases) runs.push({ sequences, steps, got: [] });
    }
    await withJanus(dir, (backend) => runSteps(backend, runs));
    await assertRunsMatch(runs, ({ sequences, steps }) => referenceLogits(dir, sequences, steps));
  },
});

Deno.test({
  name: "Janus decodes with the model's own VQ decoder: 24x24 tokens -> 384x384 RGB",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyJanus("pass");
    const tokens = Int32Array.from({ length: 576 }, (_, i) => (i * 37) % 256);
    let pixels: Uint8Array = new Uint8Array();
    await withJanus(dir, async (backend) => {
      assert.deepEqual(backend.modelDecoder, {
        available: true,
        where: "worker",
        name: "Janus VQ-16 (gen_vision_model)",
      });
      const decoder = await backend.openDecoder({ model: true }); // in the same worker
      try {
        pixels = await decoder.decode(tokens, [1, 24, 24]);
      } finally {
        await decoder.close();
      }
    });
    assert.equal(pixels.length, 384 * 384 * 3);
    const tokensPath = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(tokensPath, JSON.stringify([[...tokens]]));
    await runPython(PYTHON!, "peers.janus", [
      dir,
      "--decode",
      tokensPath,
      `${tokensPath}.raw`,
    ]);
    const want = await Deno.readFile(`${tokensPath}.raw`);
    await Deno.remove(tokensPath);
    await Deno.remove(`${tokensPath}.raw`);
    assert.equal(want.length, pixels.length);
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i] - pixels[i]));
    assert.ok(max <= 1, `pixels differ from transformers' decode_image_tokens by ${max}`);
    assert.ok(new Set(pixels).size > 64, "the image is nearly flat");
  },
});

Deno.test({
  name: "referenceGenerate() runs transformers' own Janus loop in the worker (bench row)",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyJanus();
    const peer = await peerGrids(dir, PROMPTS, 5);
    await withJanus(dir, async (backend) => {
      const { grids, wallMs } = await backend.referenceGenerate(imagesOf([0]), 5, GREEDY_ALL);
      assert.deepEqual([...grids], peer.grids[0]);
      assert.ok(wallMs > 0);
      const off = await backend.referenceGenerate(imagesOf([1]), 1, GREEDY_ALL);
      assert.deepEqual([...off.grids], (await peerGrids(dir, [PROMPTS[1]], 1)).grids[0]);
    });
    await removeTinyJanus();
  },
});
