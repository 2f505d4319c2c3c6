/**
 * The Emu3 family on the Python backend, on tiny random Emu3 directories made from
 * transformers' own config classes: zipar's greedy raster equals transformers' own generate
 * with Emu3's prefix constraint (EOL placement included), CFG off and on, with the default and
 * a given negative prompt; a batch mixing two prompts gives each image its own grid; ZipAR at
 * s = W is raster; step logits on EOL plans (no proxies, rows unfinished at their EOL query)
 * equal a no-cache recompute; the model's VQ-VAE makes 8 px per token.
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
  openEmu3,
  peerGrids,
  peerPixels,
  referenceLogits,
  removeTinyEmu3,
  tinyEmu3,
} from "./emu3_test_helpers.ts";
import { PYTHON_TESTS } from "./test_helpers.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";
import { greedyRun } from "../../testing/greedy_run.ts";

// Two prompts of different lengths (with BOS and the image header: 24 and 59 tokens).
const PROMPTS = ["a red fox", "a small blue bird on a wooden fence at dawn"];
const CONDITIONS: PromptCondition[] = PROMPTS.map((prompt) => ({ prompt }));
const GREEDY_ALL = { temperature: 0, topK: 0, topP: 1 };
const V = 64; // visual tokens of the test preset; the EOL token is engine id V

/** Run `fn` on the file's worker for `dir`: the tests here share one (testing/shared_worker.ts). */
async function withEmu3(
  dir: string,
  fn: (backend: OracleBackend) => Promise<void>,
): Promise<void> {
  await fn(await sharedWorker(`emu3 ${dir}`, () => openEmu3(dir)));
}

/** Images conditioned on `conditions`, seed 0. */
function imagesOf(conditions: PromptCondition[]) {
  return conditions.map((condition, index) => ({ condition, seed: 0, index }));
}

/** Greedy images of `conditions` (testing/greedy_run.ts). */
function run(
  backend: OracleBackend,
  conditions: PromptCondition[],
  schedule: ScheduleOptions,
  cfgScale: number,
  mode: "interactive" | "planned" = "interactive",
) {
  return greedyRun(backend, conditions, schedule, cfgScale, mode);
}

Deno.test({
  name: "Emu3 ModelInfo: the processor's grid, visual-token vocab, EOL = V, one prefix slot, text",
  ...PYTHON_TESTS,
  async fn() {
    await withEmu3(await tinyEmu3(), (backend) => {
      const { name: _, defaults, ...info } = backend.info;
      assert.equal(defaults?.cfg, 3); // the model card's guidance scale
      assert.match(defaults?.negativePrompt ?? "", /^lowres, bad anatomy, .* blurry\.$/);
      assert.deepEqual(info, {
        family: "emu3",
        vocab: V,
        height: 5,
        width: 5,
        prefix: 1,
        eolToken: V,
        numClasses: 0,
        conditioning: "text",
      });
      assert.equal(layoutOf(backend.info).numSlots, 1 + 5 * 6);
      assert.equal(backend.worker.config.imageHeader, "<|image start|>5*5<|image token|>");
      return Promise.resolve();
    });
  },
});

Deno.test({
  name: "Emu3 raster greedy equals transformers' generate with its prefix constraint, CFG off/on",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3();
    for (const cfg of [1, 3]) {
      const peer = await peerGrids(dir, PROMPTS, cfg);
      assert.notEqual(peer.inputIds[0].length, peer.inputIds[1].length);
      assert.notDeepEqual(peer.grids[0], peer.grids[1], "prompts give the same grid");
      await withEmu3(dir, async (backend) => {
        const eol = Number(backend.worker.config.eolTokenId);
        for (const generated of peer.generated) {
          // Rows of 5 visual tokens, each followed by EOL, then the three end tokens.
          assert.equal(generated.length, 5 * 6 + 3);
          for (let i = 0; i < 30; i++) assert.equal(generated[i] === eol, i % 6 === 5, `${i}`);
          assert.ok(!generated.slice(30).includes(eol));
        }
        for (const grid of peer.grids) assert.ok(new Set(grid).size > 8, `uniform grid ${grid}`);
        for (const mode of ["interactive", "planned"] as const) {
          for (const i of [0, 1]) {
            const { grids, stats } = await run(
              backend,
              [CONDITIONS[i]],
              { kind: "raster" },
              cfg,
              mode,
            );
            assert.equal(stats.mode, mode);
            assert.deepEqual([...grids], peer.grids[i], `cfg ${cfg} ${mode} prompt ${i}`);
          }
        }
        const images = imagesOf(CONDITIONS);
        const oracle = await backend.rasterInWorker(images, cfg, GREEDY_ALL);
        assert.deepEqual([...oracle], peer.grids.flat(), `cfg ${cfg}: the worker's raster loop`);
      });
    }
  },
});

Deno.test({
  name: "Emu3 CFG with a given negative prompt equals transformers' negative_prompt_ids",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3();
    const negative = "blurry, dark";
    const peer = await peerGrids(dir, [PROMPTS[0]], 3, { negative });
    const byDefault = await peerGrids(dir, [PROMPTS[0]], 3);
    assert.notDeepEqual(peer.grids[0], byDefault.grids[0], "the negative prompt changes nothing");
    assert.ok(peer.negativeIds[0].length < byDefault.negativeIds[0].length);
    await withEmu3(dir, async (backend) => {
      for (const mode of ["interactive", "planned"] as const) {
        const condition = { prompt: PROMPTS[0], negativePrompt: negative };
        const { grids } = await run(backend, [condition], { kind: "raster" }, 3, mode);
        assert.deepEqual([...grids], peer.grids[0], mode);
      }
    });
  },
});

Deno.test({
  name: "Emu3 batch mixing prompts of different lengths gives each image its own grid",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3();
    const peer = await peerGrids(dir, PROMPTS, 3);
    const [fox, bird] = CONDITIONS;
    await withEmu3(dir, async (backend) => {
      for (const mode of ["interactive", "planned"] as const) {
        const { grids } = await run(backend, [bird, fox, bird], { kind: "raster" }, 3, mode);
        assert.deepEqual([...grids], [...peer.grids[1], ...peer.grids[0], ...peer.grids[1]]);
        // ZipAR too, with negative prompts of different lengths: each image as alone.
        const mixed = [{ ...fox, negativePrompt: "dark" }, bird];
        const batch = await run(backend, mixed, { window: 2 }, 3, mode);
        for (const i of [0, 1]) {
          const alone = await run(backend, [mixed[i]], { window: 2 }, 3, mode);
          assert.deepEqual([...batch.grids.subarray(25 * i, 25 * i + 25)], [...alone.grids]);
        }
      }
    });
  },
});

Deno.test({
  name: "Emu3 ZipAR at s = W equals raster and takes W + (H - 1)·s steps with EOL rows",
  ...PYTHON_TESTS,
  async fn() {
    await withEmu3(await tinyEmu3(), async (backend) => {
      for (const cfg of [1, 3]) {
        const raster = await run(backend, CONDITIONS, { kind: "raster" }, cfg);
        assert.equal(raster.stats.passes, 25);
        const zipar = await run(backend, CONDITIONS, { window: 5 }, cfg, "planned");
        assert.equal(zipar.stats.passes, 25);
        assert.deepEqual([...zipar.grids], [...raster.grids]);
        for (const [schedule, passes] of [[{ window: 2 }, 13], [{ window: 3 }, 17]] as const) {
          const { grids, stats } = await run(backend, CONDITIONS, schedule, cfg);
          assert.equal(stats.passes, passes, `s=${schedule.window}`);
          assert.ok(grids.every((t) => t >= 0 && t < V));
        }
      }
    });
  },
});

/** An EOL plan's steps for one image and its CFG half (sequences 0 and 1): random cell
 * tokens, EOL slots written with the EOL token V. */
function stepsOf(options: ScheduleOptions): Query[][] {
  const layout = createLayout({ height: 5, width: 5, eol: true });
  const plan = compilePlan(layout, createSchedule(layout, options));
  let state = 11;
  const tokens = Array.from({ length: 25 }, () => (state = (state * 1103515245 + 12345) >>> 0) % V);
  const token = (q: (typeof plan.steps)[number][number]) =>
    q.input.kind === "cell"
      ? tokens[q.input.row * 5 + q.input.col]
      : q.input.kind === "eol"
      ? V
      : QUERY_TOKEN_CONDITION;
  return plan.steps.map((queries) =>
    cfgQueries(
      [queries.map((q) => ({ slot: q.slot, token: token(q), wantLogits: !!q.predicts }))],
      true,
    )
  );
}

Deno.test({
  name: "Emu3 EOL plans: the EOL query predicts the next row, no proxies, unwritten slots masked",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3();
    const cases: Sequence[][] = [
      [ // the default negative prompt
        { condition: CONDITIONS[0], unconditional: false },
        { condition: CONDITIONS[0], unconditional: true },
      ],
      [ // a negative prompt of its own length
        { condition: { prompt: PROMPTS[1], negativePrompt: "blurry, dark" }, unconditional: false },
        { condition: { prompt: PROMPTS[1], negativePrompt: "blurry, dark" }, unconditional: true },
      ],
    ];
    const runs: StepRun[] = [];
    for (const options of [{ window: 2 }, { window: 3, variant: "paper" as const }]) {
      const steps = stepsOf(options);
      const written = new Set<number>();
      let early = 0; // EOL queries made while their row still had unwritten slots
      for (const step of steps) {
        const mine = step.filter((q) => q.seq === 0);
        for (const q of mine) {
          assert.ok(!written.has(q.slot), `slot ${q.slot} written twice: a proxy`);
          written.add(q.slot);
        }
        for (const q of mine) { // what an EOL query sees: the slots written up to this step
          const isEol = q.slot > 0 && (q.slot - 1) % 6 === 5;
          assert.equal(q.token === V, isEol);
          if (!isEol) continue;
          assert.ok(q.slot < 30 && q.wantLogits, "the EOL query of row r predicts (r + 1, 0)");
          const row = (q.slot - 6) / 6;
          for (let c = 0; c < 5; c++) if (!written.has(1 + row * 6 + c)) early++;
        }
      }
      assert.ok(early > 0, "no EOL query ran before its row was done");
      for (const sequences of cases) runs.push({ sequences, steps, got: [] });
    }
    await withEmu3(dir, (backend) => runSteps(backend, runs));
    await assertRunsMatch(runs, ({ sequences, steps }) => referenceLogits(dir, sequences, steps));
  },
});

Deno.test({
  name: "Emu3 decodes with the model's own VQ-VAE: 5x5 tokens -> 40x40 RGB as transformers",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3();
    const tokens = Int32Array.from({ length: 50 }, (_, i) => (i * 37) % V);
    let pixels: Uint8Array = new Uint8Array();
    await withEmu3(dir, async (backend) => {
      const decoder = await backend.openDecoder({ model: true }); // in the same worker
      try {
        assert.equal(decoder.scale, 8);
        pixels = await decoder.decode(tokens, [2, 5, 5]);
      } finally {
        await decoder.close();
      }
    });
    assert.equal(pixels.length, 2 * 40 * 40 * 3);
    const want = await peerPixels(dir, [[...tokens.subarray(0, 25)], [...tokens.subarray(25)]]);
    assert.equal(want.length, pixels.length);
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i] - pixels[i]));
    assert.ok(max <= 1, `pixels differ from transformers' decode_image_tokens by ${max}`);
    assert.ok(new Set(pixels).size > 64, "the image is nearly flat");
  },
});

Deno.test({
  name: "referenceGenerate() runs transformers' own Emu3 generate in the worker (bench row)",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3();
    const peer = await peerGrids(dir, PROMPTS, 3);
    const off = await peerGrids(dir, [PROMPTS[1]], 1);
    await withEmu3(dir, async (backend) => {
      const { grids, wallMs } = await backend.referenceGenerate(
        imagesOf([CONDITIONS[0]]),
        3,
        GREEDY_ALL,
      );
      assert.deepEqual([...grids], peer.grids[0]);
      assert.ok(wallMs > 0);
      const one = await backend.referenceGenerate(imagesOf([CONDITIONS[1]]), 1, GREEDY_ALL);
      assert.deepEqual([...one.grids], off.grids[0]);
    });
    await removeTinyEmu3();
  },
});
