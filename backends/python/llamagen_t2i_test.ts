/**
 * The LlamaGen text-to-image family on the Python backend, on a tiny random checkpoint with the
 * official key names and a tiny FLAN-T5 made at test time, against a peer written from LlamaGen's
 * official rules (testing/python/peers/llamagen_t2i.py: its caption padding and mask, 2-D RoPE,
 * CFG mixing, a full no-cache forward per token): step logits under zipar's slot cache equal one
 * full forward, conditional and null caption; greedy raster equals the peer's loop, CFG off and
 * on; a batch of two prompts of different lengths gives each its own grid; ZipAR at s = W is
 * raster and takes W + (H − 1)·s passes below it.
 */

import assert from "node:assert/strict";
import { createLayout, layoutOf } from "../../core/layout.ts";
import { compilePlan } from "../../core/plan.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { cfgQueries } from "../../core/cfg.ts";
import type { PromptCondition, Sequence } from "../../core/condition.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";
import { greedyRun } from "../../testing/greedy_run.ts";
import {
  assertBatchEqualsAlone,
  assertRasterEqualsPeer,
  assertZiparWindows,
  lcgCodes,
} from "../../testing/family_parity.ts";
import { PYTHON_TESTS } from "./test_helpers.ts";
import {
  openT2I,
  peerForwardLogits,
  peerGrids,
  removeTinyT2I,
  tinyT2I,
} from "./llamagen_t2i_test_helpers.ts";

const [H, W] = [6, 6]; // LlamaGen's 2-D RoPE is for square grids
const GRID = `${H}x${W}`;
const V = 256; // the tiny codebook
const PROMPTS = ["a red fox", "a small blue bird on a wooden fence at dawn"];
const CONDITIONS: PromptCondition[] = PROMPTS.map((prompt) => ({ prompt }));
const GREEDY_ALL = { temperature: 0, topK: 0, topP: 1 };

/** Run `fn` on the file's worker at GRID (testing/shared_worker.ts). */
async function withT2I(fn: (backend: OracleBackend) => Promise<unknown>): Promise<void> {
  const dir = await tinyT2I();
  await fn(await sharedWorker(`t2i ${dir} ${GRID}`, () => openT2I(dir, { grid: GRID })));
}

/** Greedy images of the prompts `which` (indices into PROMPTS). */
function run(
  backend: OracleBackend,
  which: number[],
  schedule: ScheduleOptions,
  cfgScale: number,
  mode: "interactive" | "planned" = "interactive",
) {
  return greedyRun(backend, which.map((p) => CONDITIONS[p]), schedule, cfgScale, mode);
}

/** Raster steps for one image and its CFG half with `codes` as the cells' tokens. */
function rasterSteps(codes: number[]): Query[][] {
  const layout = createLayout({ height: H, width: W });
  const plan = compilePlan(layout, createSchedule(layout, { kind: "raster" }));
  return plan.steps.map((queries) =>
    cfgQueries([
      queries.map((q) => ({
        slot: q.slot,
        token: q.input.kind === "cell"
          ? codes[q.input.row * W + q.input.col]
          : QUERY_TOKEN_CONDITION,
        wantLogits: q.predicts !== null,
      })),
    ], true)
  );
}

Deno.test({
  name: "LlamaGen t2i ModelInfo: text, no classes, VQ-16 vocab, the grid asked or the name's",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyT2I();
    const named = await openT2I(dir); // t2i_test_256.pt: 256 px, 16x16
    try {
      const { name, defaults, ...info } = named.info;
      assert.equal(name, "llamagen-t2i");
      assert.deepEqual(defaults, { cfg: 7.5, topK: 1000 }); // LlamaGen's sample_t2i.py
      assert.deepEqual(info, {
        family: "llamagen-t2i",
        vocab: V,
        height: 16,
        width: 16,
        prefix: 1,
        eolToken: null,
        numClasses: 0,
        conditioning: "text",
      });
      assert.equal(named.worker.config.captionTokens, 120);
      assert.equal(named.worker.config.captionDim, 32);
    } finally {
      await named.close();
    }
    await withT2I((backend) => {
      assert.deepEqual([backend.info.height, backend.info.width], [H, W]);
      assert.equal(layoutOf(backend.info).numSlots, 1 + H * W);
      return Promise.resolve();
    });
  },
});

Deno.test({
  name: "LlamaGen t2i step logits under the slot cache equal one full no-cache forward",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyT2I();
    const codes = lcgCodes(7, H * W, V);
    assert.ok(new Set(codes).size > H * W / 2, `codes ${codes}`);
    const steps = rasterSteps(codes);
    const sequences: Sequence[] = [
      { condition: CONDITIONS[1], unconditional: false },
      { condition: CONDITIONS[1], unconditional: true },
    ];
    const got: number[] = [];
    await withT2I(async (backend) => {
      const session = await backend.open(sequences);
      for (const step of steps) got.push(...await session.step(step));
      await session.close();
    });
    assert.equal(got.length, H * W * 2 * V);
    for (const unconditional of [false, true]) {
      const want = await peerForwardLogits(dir, GRID, PROMPTS[1], codes, unconditional);
      let diff = 0;
      for (let cell = 0; cell < H * W; cell++) {
        const row = 2 * cell + (unconditional ? 1 : 0); // rows alternate cond, uncond
        for (let v = 0; v < V; v++) {
          diff = Math.max(diff, Math.abs(got[row * V + v] - want[cell * V + v]));
        }
      }
      assert.ok(diff < 1e-4, `${unconditional ? "null caption" : "caption"}: ${diff}`);
    }
  },
});

Deno.test({
  name: "LlamaGen t2i raster greedy equals the official rules' full-recompute loop, CFG off/on",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyT2I();
    for (const cfg of [1, 4]) {
      const peer = await peerGrids(dir, GRID, PROMPTS, cfg);
      assert.deepEqual(peer.valid, [4, 11], "caption tokens, </s> included");
      assert.notDeepEqual(peer.grids[0], peer.grids[1], "prompts give the same grid");
      for (const grid of peer.grids) assert.ok(new Set(grid).size > 8, `uniform grid ${grid}`);
      await withT2I(async (backend) => {
        await assertRasterEqualsPeer((...a) => run(backend, ...a), peer.grids, H * W, cfg);
        const images = PROMPTS.map((_, index) => ({
          condition: CONDITIONS[index],
          seed: 0,
          index,
        }));
        const oracle = await backend.rasterInWorker(images, cfg, GREEDY_ALL);
        assert.deepEqual([...oracle], peer.grids.flat(), `cfg ${cfg}: the worker's raster loop`);
      });
    }
  },
});

Deno.test({
  name: "LlamaGen t2i batch of prompts of different lengths gives each image its own grid",
  ...PYTHON_TESTS,
  async fn() {
    const peer = await peerGrids(await tinyT2I(), GRID, PROMPTS, 4);
    await withT2I((backend) =>
      assertBatchEqualsAlone((...a) => run(backend, ...a), peer.grids, H * W, 4, 2)
    );
  },
});

Deno.test({
  name: "LlamaGen t2i ZipAR at s = W equals raster and takes W + (H - 1)·s passes below it",
  ...PYTHON_TESTS,
  async fn() {
    await withT2I((backend) =>
      assertZiparWindows((...a) => run(backend, ...a), {
        height: H,
        width: W,
        cfgs: [1, 4],
        windows: [1, 2, 4],
      })
    );
    await removeTinyT2I();
  },
});
