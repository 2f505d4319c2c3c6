/**
 * The shipped demo model (fixtures/demo): both backends load it and agree, a fixed-seed
 * generation matches its golden grid, and `zipar eval` / `zipar demo` run end to end on a tiny
 * N, eval's real-image floor on the slice's first 20 images (the classifier's own test is
 * cli/eval/fmnist_classifier_test.ts).
 * Needs a WebGPU adapter (and python with torch for parity); skips loudly otherwise, fails
 * instead when ZIPAR_REQUIRE_ALL=1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyTree } from "../testing/model_cache.ts";
import { loadLlamagen } from "../backends/llamagen_config.ts";
import { openPythonBackend } from "../backends/python/client.ts";
import { needs, PYTHON } from "../testing/runtimes.ts";
import { createWebgpuBackend } from "../backends/webgpu/backend.ts";
import { maxAbsDiff, scheduleSteps } from "../backends/webgpu/test_helpers.ts";
import { DEMO_MODEL } from "./generation/demo_backend.ts";
import { readGrid } from "./formats/grid_file.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";
import { decodePng } from "./formats/png.ts";
import { sequencesFor } from "../core/condition.ts";

const GOLDEN = new URL("../fixtures/golden/demo_s4_seed0.json", import.meta.url).pathname;
const GOLDEN_ARGS = [
  "generate",
  "--backend",
  "webgpu",
  "--model",
  DEMO_MODEL,
  "--class",
  "0,1,2,3,4,5,6,7,8,9",
  "--window",
  "4",
  "--cfg",
  "2",
  "--seed",
  "0",
  "--quiet",
];

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "the demo model loads in both backends and gives the same logits",
  ...opts,
  ...needs("demo model parity", ["webgpu", "python"]),
  fn: async () => {
    const { config, weights } = await loadLlamagen(DEMO_MODEL);
    const webgpu = await createWebgpuBackend(config, weights);
    const python = await openPythonBackend({
      model: DEMO_MODEL,
      python: PYTHON!,
      onLog: () => {},
      handleSigint: false,
    });
    try {
      const conditions = sequencesFor([3], true);
      const { steps } = scheduleSteps(config, 2, { window: 4 });
      const a = await webgpu.open(conditions), b = await python.open(conditions);
      let worst = 0;
      for (const queries of steps.slice(0, 40)) {
        worst = Math.max(worst, maxAbsDiff(await a.step(queries), await b.step(queries)));
      }
      await a.close();
      await b.close();
      assert.ok(worst < 1e-3, `max abs logit diff ${worst}`);
    } finally {
      await python.close();
      await webgpu.close();
    }
  },
});

Deno.test({
  name: "a fixed-seed demo generation matches the golden grid",
  ...opts,
  ...needs("demo golden grid", ["webgpu"]),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const io = memoryIo();
      assert.equal(await main([...GOLDEN_ARGS, "-o", `${dir}/g.json`], io), 0, io.stderrText());
      const fresh = (await readGrid(`${dir}/g.json`, io)).grid;
      const golden = (await readGrid(GOLDEN, io)).grid;
      assert.deepEqual(fresh.shape, golden.shape);
      assert.deepEqual(fresh.tokens, golden.tokens);
      assert.equal(fresh.meta.passes, 14 + 13 * 4);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "zipar eval and zipar demo run end to end on a tiny N",
  ...opts,
  ...needs("demo eval", ["webgpu"]),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // The demo model with its first 20 real test images as the floor, not all 500: the floor's
      // bits per token is a raster pass over every real image, and 20 prove the row as well.
      const model = join(dir, "demo");
      await copyTree(DEMO_MODEL, model);
      const slice = JSON.parse(await Deno.readTextFile(join(DEMO_MODEL, "test_slice.json")));
      const [n, h, w] = slice.shape as number[];
      assert.ok(n >= 20, `the demo's slice has ${n} images`);
      await Deno.writeTextFile(
        join(model, "test_slice.json"),
        JSON.stringify({
          ...slice,
          shape: [20, h, w],
          tokens: slice.tokens.slice(0, 20 * h * w),
          labels: slice.labels.slice(0, 20),
        }),
      );
      const io = memoryIo();
      const args = [
        "eval",
        "--model",
        model,
        "--backend",
        "webgpu",
        "--per-class",
        "1",
        "--settings",
        "raster,ideal:4,adaptive:2",
        "--format",
        "json",
        "--quiet",
      ];
      assert.equal(await main(args, io), 0, io.stderrText());
      const rows = JSON.parse(io.stdoutText());
      assert.equal(rows[0].images, 20);
      assert.deepEqual(rows.map((r: { setting: string }) => r.setting), [
        "real test images (floor)",
        "raster",
        "ideal:4",
        "adaptive:2",
      ]);
      assert.equal(rows[1].passes, 196);
      assert.equal(rows[2].passes, 14 + 13 * 4);
      for (const r of rows) {
        assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.fd >= 0 && r.bitsPerToken > 0);
      }
      const demo = memoryIo();
      assert.equal(
        await main([
          "demo",
          "--backend",
          "webgpu",
          "--per-class",
          "2",
          "-o",
          `${dir}/d.png`,
          "--scale",
          "1",
        ], demo),
        0,
      );
      assert.match(demo.stderrText(), /ZipAR \(paper, s=7\): 112 passes vs 196 raster/);
      const png = decodePng(await Deno.readFile(`${dir}/d.png`));
      assert.deepEqual([png.width, png.height], [2 * 28 + 3 * 2, 10 * 28 + 11 * 2]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
