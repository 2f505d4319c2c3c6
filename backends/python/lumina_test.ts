/**
 * The Lumina-mGPT family (Chameleon backbone) on the Python backend, on tiny random directories
 * made from transformers' own config classes, against peers on transformers' own Chameleon:
 * step logits under zipar's slot KV cache equal one full forward of the model (image logits
 * unmasked), and a no-cache recompute for ZipAR's partial rows; greedy raster equals Lumina's
 * sampling loop on transformers' generate, CFG off and on; a batch mixing prompts gives each
 * image its own grid; ZipAR at s = W is raster and takes W + (H − 1)·s steps. The grid is 4x6
 * (4 rows of 6 image tokens + EOL), so a height/width swap shows.
 */

import assert from "node:assert/strict";
import { assertRunsMatch, runSteps, type StepRun } from "../../testing/step_runs.ts";
import { createLayout, layoutOf } from "../../core/layout.ts";
import { compilePlan } from "../../core/plan.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { cfgQueries } from "../../core/cfg.ts";
import type { PromptCondition, Sequence } from "../../core/condition.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import {
  maxDiff,
  openLumina,
  peerForwardLogits,
  peerGrids,
  referenceLogits,
  removeTinyLumina,
  tinyLumina,
} from "./lumina_test_helpers.ts";
import { PYTHON_TESTS } from "./test_helpers.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";
import { greedyRun } from "../../testing/greedy_run.ts";
import {
  assertBatchEqualsAlone,
  assertRasterEqualsPeer,
  assertZiparWindows,
  lcgCodes,
} from "../../testing/family_parity.ts";

const [H, W] = [4, 6];
const GRID = `${H}x${W}`;
const V = 256; // the tiny codebook
const PROMPTS = ["a red fox", "a small blue bird on a wooden fence at dawn"];
const CONDITIONS: PromptCondition[] = PROMPTS.map((prompt) => ({ prompt }));
const GREEDY_ALL = { temperature: 0, topK: 0, topP: 1 };

/** Run `fn` on the file's worker at GRID: the tests here share one (testing/shared_worker.ts). */
async function withLumina(fn: (backend: OracleBackend) => Promise<void>): Promise<void> {
  const dir = await tinyLumina();
  await fn(await sharedWorker(`lumina ${dir} ${GRID}`, () => openLumina(dir, { grid: GRID })));
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

/**
 * The steps of a plan for one image and its CFG half (sequences 0 and 1) with `codes` as the
 * cells' tokens, and the cell each logits row pair predicts, in order.
 */
function stepsOf(options: ScheduleOptions, codes: number[]) {
  const layout = createLayout({ height: H, width: W, eol: true });
  const plan = compilePlan(layout, createSchedule(layout, options));
  const predicted: number[] = [];
  const steps: Query[][] = plan.steps.map((queries) => {
    for (const q of queries) if (q.predicts) predicted.push(q.predicts.row * W + q.predicts.col);
    return cfgQueries([
      queries.map((q) => ({
        slot: q.slot,
        token: q.input.kind === "cell"
          ? codes[q.input.row * W + q.input.col]
          : q.input.kind === "eol"
          ? V
          : QUERY_TOKEN_CONDITION,
        wantLogits: q.predicts !== null,
      })),
    ], true);
  });
  return { steps, predicted };
}

Deno.test({
  name: "Lumina ModelInfo: the grid (of the name or the hello), codebook vocab, EOL = V, text",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina();
    const named = await openLumina(dir); // test-64: 64 px, 4x4 tokens
    try {
      const { name, defaults, ...info } = named.info;
      assert.equal(name, "test-64");
      assert.deepEqual(defaults, { cfg: 3, topK: 2000, temperature: 1 }); // Lumina's defaults
      assert.deepEqual(info, {
        family: "lumina",
        vocab: V,
        height: 4,
        width: 4,
        prefix: 1,
        eolToken: V,
        numClasses: 0,
        conditioning: "text",
      });
      assert.equal(layoutOf(named.info).numSlots, 1 + 4 * 5);
    } finally {
      await named.close();
    }
    await withLumina((backend) => {
      assert.deepEqual([backend.info.height, backend.info.width], [H, W]);
      const config = backend.worker.config;
      assert.equal(config.imageTokens, V);
      // <racm3:break>, then the size tokens of 2 and 3 patches: ids 8804 + n in Meta's
      // vocabulary, here the tiny vocabulary's.
      const header = config.imageHeader as number[];
      assert.equal(header.length, 3);
      assert.equal(header[2] - header[1], 1, "width token = height token + 1 patch");
      return Promise.resolve();
    });
  },
});

Deno.test({
  name: "Lumina step logits under the slot cache equal one full forward of transformers' Chameleon",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina();
    const codes = lcgCodes(7, H * W, V);
    assert.ok(new Set(codes).size > H * W / 2, `codes ${codes}`);
    const { steps, predicted } = stepsOf({ kind: "raster" }, codes);
    assert.equal(predicted.length, H * W);
    const sequences: Sequence[] = [
      { condition: CONDITIONS[1], unconditional: false },
      { condition: CONDITIONS[1], unconditional: true },
    ];
    const got: number[] = [];
    await withLumina(async (backend) => {
      const session = await backend.open(sequences);
      for (const step of steps) got.push(...await session.step(step));
      await session.close();
    });
    assert.equal(got.length, predicted.length * 2 * V);
    for (const unconditional of [false, true]) {
      const want = await peerForwardLogits(dir, GRID, PROMPTS[1], codes, unconditional);
      const mine = new Float64Array(H * W * V);
      predicted.forEach((cell, k) => {
        const row = 2 * k + (unconditional ? 1 : 0); // rows alternate cond, uncond
        mine.set(got.slice(row * V, (row + 1) * V), cell * V);
      });
      const diff = maxDiff(mine, want);
      assert.ok(diff < 1e-4, `${unconditional ? "unconditional" : "conditional"}: ${diff}`);
    }
  },
});

Deno.test({
  name: "Lumina ZipAR step logits equal a no-cache recompute of what each query saw",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina();
    const cases: Sequence[][] = [
      [ // Lumina's rule: the unconditional half is the image header alone
        { condition: CONDITIONS[0], unconditional: false },
        { condition: CONDITIONS[0], unconditional: true },
      ],
      [ // zipar's extension: a negative prompt's own block
        { condition: { prompt: PROMPTS[1], negativePrompt: "blurry" }, unconditional: false },
        { condition: { prompt: PROMPTS[1], negativePrompt: "blurry" }, unconditional: true },
      ],
    ];
    const runs: StepRun[] = [];
    for (const window of [2, 3]) {
      const { steps } = stepsOf({ window }, lcgCodes(window, H * W, V));
      // An EOL query runs while the row above is unfinished: its later slots stay masked.
      const eolEarly = steps.some((s) =>
        s.some((q) => q.token === V) && s.some((q) => q.token !== V && q.wantLogits)
      );
      assert.ok(eolEarly, `s=${window}: no EOL query beside an unfinished row`);
      for (const sequences of cases) runs.push({ sequences, steps, got: [] });
    }
    await withLumina((backend) => runSteps(backend, runs));
    await assertRunsMatch(
      runs,
      ({ sequences, steps }) => referenceLogits(dir, GRID, sequences, steps),
    );
  },
});

Deno.test({
  name: "Lumina raster greedy equals Lumina's sampling loop on transformers' generate, CFG off/on",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina();
    for (const cfg of [1, 3]) {
      const peer = await peerGrids(dir, GRID, PROMPTS, cfg);
      assert.notDeepEqual(peer.grids[0], peer.grids[1], "prompts give the same grid");
      for (const grid of peer.grids) assert.ok(new Set(grid).size > 8, `uniform grid ${grid}`);
      await withLumina(async (backend) => {
        await assertRasterEqualsPeer((...a) => run(backend, ...a), peer.grids, H * W, cfg);
        const oracle = await backend.rasterInWorker(imagesOf([0, 1]), cfg, GREEDY_ALL);
        assert.deepEqual([...oracle], peer.grids.flat(), `cfg ${cfg}: the worker's raster loop`);
      });
    }
  },
});

Deno.test({
  name: "Lumina batch mixing prompts of different lengths gives each image its own grid",
  ...PYTHON_TESTS,
  async fn() {
    const peer = await peerGrids(await tinyLumina(), GRID, PROMPTS, 3);
    await withLumina((backend) =>
      assertBatchEqualsAlone((...a) => run(backend, ...a), peer.grids, H * W, 3, 2)
    );
  },
});

Deno.test({
  name: "Lumina ZipAR at s = W equals raster and takes W + (H - 1)·s steps below it",
  ...PYTHON_TESTS,
  async fn() {
    await withLumina((backend) =>
      assertZiparWindows((...a) => run(backend, ...a), {
        height: H,
        width: W,
        cfgs: [1, 3],
        windows: [1, 2, 4],
      })
    );
  },
});

Deno.test({
  name: "referenceGenerate() runs Lumina's sampling loop on transformers' generate in the worker",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina();
    const peer = await peerGrids(dir, GRID, PROMPTS, 3);
    await withLumina(async (backend) => {
      const { grids, wallMs } = await backend.referenceGenerate(imagesOf([1, 0]), 3, GREEDY_ALL);
      assert.deepEqual([...grids], [...peer.grids[1], ...peer.grids[0]]);
      assert.ok(wallMs > 0);
      const off = await backend.referenceGenerate(imagesOf([0]), 1, GREEDY_ALL);
      assert.deepEqual([...off.grids], (await peerGrids(dir, GRID, [PROMPTS[0]], 1)).grids[0]);
    });
    await removeTinyLumina();
  },
});
