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
import { layoutOf } from "../../core/layout.ts";
import type { PromptCondition, Sequence } from "../../core/condition.ts";
import type { Query } from "../../core/step.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import {
  checkBatch,
  checkRasterEqualsPeer,
  checkStepLogits,
  checkZipar,
  type EolFamily,
} from "./eol_prompt_checks.ts";
import {
  cfgStepsOf,
  codesOf,
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

const FAMILY: EolFamily = { withBackend: withLumina, grid: [H, W], vocab: V, prompts: PROMPTS };

/** Images conditioned on prompts `which` (indices into PROMPTS), seed 0. */
function imagesOf(which: number[]) {
  return which.map((p, index) => ({ condition: CONDITIONS[p], seed: 0, index }));
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
    await checkStepLogits(FAMILY, (codes, u) => peerForwardLogits(dir, GRID, PROMPTS[1], codes, u));
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
    const runs: { sequences: Sequence[]; steps: Query[][]; got: number[] }[] = [];
    for (const window of [2, 3]) {
      const { steps } = cfgStepsOf([H, W], V, { window }, codesOf(window, H * W, V));
      // An EOL query runs while the row above is unfinished: its later slots stay masked.
      const eolEarly = steps.some((s) =>
        s.some((q) => q.token === V) && s.some((q) => q.token !== V && q.wantLogits)
      );
      assert.ok(eolEarly, `s=${window}: no EOL query beside an unfinished row`);
      for (const sequences of cases) runs.push({ sequences, steps, got: [] });
    }
    await withLumina(async (backend) => {
      for (const { sequences, steps, got } of runs) {
        const session = await backend.open(sequences);
        for (const step of steps) got.push(...await session.step(step));
        await session.close();
      }
    });
    for (const { sequences, steps, got } of runs) {
      const diff = maxDiff(got, await referenceLogits(dir, GRID, sequences, steps));
      assert.ok(diff < 1e-4, `max abs diff ${diff}`);
    }
  },
});

Deno.test({
  name: "Lumina raster greedy equals Lumina's sampling loop on transformers' generate, CFG off/on",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina();
    for (const cfg of [1, 3]) {
      const peer = await peerGrids(dir, GRID, PROMPTS, cfg);
      await checkRasterEqualsPeer(FAMILY, cfg, peer.grids);
      await withLumina(async (backend) => {
        const oracle = await backend.rasterInWorker(imagesOf([0, 1]), cfg, GREEDY_ALL);
        assert.deepEqual([...oracle], peer.grids.flat(), `cfg ${cfg}: the worker's raster loop`);
      });
    }
  },
});

Deno.test({
  name: "Lumina batch mixing prompts of different lengths gives each image its own grid",
  ...PYTHON_TESTS,
  fn: async () =>
    checkBatch(FAMILY, 3, (await peerGrids(await tinyLumina(), GRID, PROMPTS, 3)).grids),
});

Deno.test({
  name: "Lumina ZipAR at s = W equals raster and takes W + (H - 1)·s steps below it",
  ...PYTHON_TESTS,
  async fn() {
    for (const cfg of [1, 3]) await checkZipar(FAMILY, cfg, [1, 2, 4]);
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
