/**
 * The Lumina-mGPT 2.0 family on the Python backend, on a tiny random directory with the
 * release's file names, config fields and token layout (testing/python/tiny_models/lumina2.py),
 * against the peers of testing/python/peers/lumina2.py (transformers' own Chameleon forward, no
 * cache, the release's sampling rules): step logits under zipar's slot KV cache equal one full
 * forward; greedy raster equals the peer's loop, CFG off and at the release's 4, and at g = 7 and
 * 2, where the release's scale decays or is clamped per position (ModelInfo.cfgRule, applied by
 * core/cfg's cfgScales); a batch of prompts of different lengths gives each its own grid; ZipAR
 * at s = W is raster (g = 1, 4, 7) and takes `zipar plan`'s passes below it. The grid is 4x8 (one 32-px patch tall, two wide), so a
 * height/width swap shows in the header and the grids.
 */

import assert from "node:assert/strict";
import { layoutOf } from "../../core/layout.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { openLumina } from "./lumina_test_helpers.ts";
import {
  checkBatch,
  checkRasterEqualsPeer,
  checkStepLogits,
  checkZipar,
  type EolFamily,
} from "./eol_prompt_checks.ts";
import { PYTHON_TESTS } from "./test_helpers.ts";
import {
  peerForwardLogits,
  peerGrids,
  removeTinyLumina2,
  tinyLumina2,
} from "./lumina2_test_helpers.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";
import { planCommand } from "../../cli/plan.ts";
import { memoryIo } from "../../cli/io/io.ts";

const [H, W] = [4, 8];
const GRID = `${H}x${W}`;
const V = 16384; // MoVQGAN 270M's codebook: image ids 155000 + k
const PROMPTS = ["a red fox", "a small blue bird on a wooden fence at dawn"];

async function withLumina2(fn: (backend: OracleBackend) => Promise<void>): Promise<void> {
  const dir = await tinyLumina2();
  await fn(await sharedWorker(`lumina2 ${dir} ${GRID}`, () => openLumina(dir, { grid: GRID })));
}

const FAMILY: EolFamily = { withBackend: withLumina2, grid: [H, W], vocab: V, prompts: PROMPTS };

Deno.test({
  name: "Lumina2 ModelInfo: the grid (of the name or the hello), 16,384 codes, EOL = V, defaults",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina2();
    const named = await openLumina(dir); // test-32: 32 px at 8 px a token, 4x4
    try {
      const { name, defaults, cfgRule, ...info } = named.info;
      assert.equal(name, "test-32");
      assert.deepEqual(defaults, { cfg: 4, topK: 4096, temperature: 1 }); // scripts/sample.sh
      // inference_solver.py's CFG processor: g ← max(4, g·(1 − n / (H/2 · W/2))), n = 2 at (0, 0)
      assert.deepEqual(cfgRule, { kind: "decay", floor: 4, start: 2, latentStride: 2 });
      assert.deepEqual(info, {
        family: "lumina2",
        vocab: V,
        height: 4,
        width: 4,
        prefix: 1,
        eolToken: V,
        numClasses: 0,
        conditioning: "text",
      });
      assert.equal(layoutOf(named.info).numSlots, 1 + 4 * 5);
      assert.deepEqual(named.modelDecoder, { available: true, where: "worker", name: "MoVQGAN" });
    } finally {
      await named.close();
    }
    await withLumina2((backend) => {
      assert.deepEqual([backend.info.height, backend.info.width], [H, W]);
      const header = backend.worker.config.imageHeader as number[];
      // <racm3:break>, then the size tokens of 1 and 2 patches: <reserved08801>, <reserved08802>
      assert.equal(header.length, 3);
      assert.equal(header[2] - header[1], 1, "width token = height token + 1 patch");
      assert.equal(backend.worker.config.textVocab, 171392);
      return Promise.resolve();
    });
  },
});

Deno.test({
  name: "Lumina2 step logits under the slot cache equal one full forward without a cache",
  ...PYTHON_TESTS,
  fn: () => checkStepLogits(FAMILY, (codes, u) => peerForwardLogits(GRID, PROMPTS[1], codes, u)),
});

Deno.test({
  name: "Lumina2 raster greedy equals the release's rules on a full-recompute loop, CFG off/at 4",
  ...PYTHON_TESTS,
  async fn() {
    for (const cfg of [1, 4]) {
      await checkRasterEqualsPeer(FAMILY, cfg, await peerGrids(GRID, PROMPTS, cfg));
    }
  },
});

Deno.test({
  name: "Lumina2 mixes each cell with the release's decayed CFG scale: g = 7, 2, 40 as the peer",
  ...PYTHON_TESTS,
  async fn() {
    // 4x8: area (4/2)·(8/2) = 8, so g = 7 mixes cell (0, 0) at 7·(1 − 2/8) = 5.25 and every
    // later cell at 4; g = 2 is clamped up to 4 at (0, 0) already: the grids of g = 4; g = 40
    // mixes (0, 0), (0, 1), (0, 2) at 30, 18.75, 9.375, then 4 (n = 5: 9.375·3/8 < 4).
    const at4 = await peerGrids(GRID, PROMPTS, 4);
    for (const cfg of [7, 2, 40]) {
      const peer = await peerGrids(GRID, PROMPTS, cfg);
      await checkRasterEqualsPeer(FAMILY, cfg, peer);
      if (cfg === 2) assert.deepEqual(peer, at4);
      if (cfg === 40) assert.notDeepEqual(peer, at4, "the decaying cells should matter");
    }
  },
});

Deno.test({
  name: "Lumina2 batch mixing prompts of different lengths gives each image its own grid",
  ...PYTHON_TESTS,
  fn: async () => checkBatch(FAMILY, 4, await peerGrids(GRID, PROMPTS, 4)),
});

Deno.test({
  name: "Lumina2 MoVQGAN decodes a fixed grid to the pixels of the release's own decoder",
  ...PYTHON_TESTS,
  async fn() {
    // Made once from MOVQDecoder of Alpha-VLLM/Lumina-mGPT-2.0 (lumina_mgpt/movqgan) on the
    // tiny directory's movqgan_270M.ckpt: see the file's "about".
    const url = new URL("../../testing/golden/lumina2_movqgan.json", import.meta.url);
    const golden = JSON.parse(await Deno.readTextFile(url));
    const want = Uint8Array.from(atob(golden.pixelsBase64.join("")), (c) => c.charCodeAt(0));
    const [b, h, w] = [golden.grid.length, golden.grid[0].length, golden.grid[0][0].length];
    assert.deepEqual(golden.shape, [b, h * 8, w * 8, 3]);
    await withLumina2(async (backend) => {
      const decoder = await backend.openDecoder({ model: true });
      try {
        const pixels = await decoder.decode(Int32Array.from(golden.grid.flat(2)), [b, h, w]);
        assert.equal(pixels.length, want.length);
        let max = 0, off = 0;
        pixels.forEach((v: number, i: number) => {
          const d = Math.abs(v - want[i]);
          max = Math.max(max, d);
          if (d) off++;
        });
        // float32 on another machine may round a value at .5 the other way, never further
        assert.ok(max <= 1 && off <= pixels.length / 100, `max ${max}, ${off} values differ`);
        const other = await decoder.decode(
          Int32Array.from(golden.grid.flat(2), (c: number) => c + 1),
          [
            b,
            h,
            w,
          ],
        );
        assert.ok(other.some((v: number, i: number) => Math.abs(v - pixels[i]) > 8));
      } finally {
        await decoder.close();
      }
    });
  },
});

Deno.test({
  name: "Lumina2 ZipAR at s = W equals raster and takes zipar plan's passes below it",
  ...PYTHON_TESTS,
  async fn() {
    const windows = [1, 3, 5];
    const planned: number[] = [];
    for (const window of windows) {
      const io = memoryIo();
      const args = ["--family", "lumina2", "--grid", GRID, "--window", `${window}`];
      assert.equal(await planCommand([...args, "--format", "json"], io), 0);
      planned.push(JSON.parse(io.stdoutText()).passes);
    }
    for (const cfg of [1, 4, 7]) assert.deepEqual(await checkZipar(FAMILY, cfg, windows), planned);
    await removeTinyLumina2();
  },
});

Deno.test("zipar plan --family lumina2: 768 px is 96×96 + EOL, 9,216 raster passes", async () => {
  const io = memoryIo();
  const args = ["--family", "lumina2", "--window", "8", "--format", "json"];
  assert.equal(await planCommand(args, io), 0);
  const r = JSON.parse(io.stdoutText());
  assert.deepEqual([r.grid, r.eol, r.passes, r.rasterPasses, r.eolRasterPasses], [
    [96, 96],
    true,
    96 + 95 * 8,
    9216,
    9312,
  ]);
});
