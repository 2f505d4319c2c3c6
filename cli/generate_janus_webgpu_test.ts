/**
 * `zipar generate|batch|bench|decode --backend webgpu` on a tiny random Janus directory, each
 * beside the Python backend on the same directory: the same tokens, PNG pixels within one level,
 * and one-line refusals of what WebGPU does not run.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTinyJanus, tinyJanus } from "../backends/python/janus_test_helpers.ts";
import { needs } from "../testing/runtimes.ts";
import { readGrid } from "./formats/grid_file.ts";
import { decodePng } from "./formats/png.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

const NEEDS = needs("Janus on WebGPU through the CLI", ["python", "webgpu"]);

async function run(args: string[]): Promise<void> {
  const io = memoryIo();
  assert.equal(await main(args, io), 0, `${args.join(" ")}: ${io.stderrText()}`);
}

Deno.test({
  name: "generate --backend webgpu on Janus: the Python backend's tokens, PNGs within one level",
  ...NEEDS,
  sanitizeResources: false,
  async fn() {
    const model = await tinyJanus("test"); // 4×4 → 64×64 (janus_webgpu_test runs 24×24)
    const dir = await Deno.makeTempDir();
    try {
      const common = [
        ...["generate", "--model", model, "--window", "2", "--seed", "7", "--quiet"],
        ...["--prompt", "a red fox", "--prompt", "a small blue bird"],
      ];
      for (const backend of ["webgpu", "python"]) {
        await run([
          ...common,
          ...["--backend", backend, "-o", join(dir, `${backend}.json`)],
          ...["--png", join(dir, `${backend}.png`)],
        ]);
      }
      const [gpu, py] = [
        await readGrid(join(dir, "webgpu.json"), memoryIo()),
        await readGrid(join(dir, "python.json"), memoryIo()),
      ];
      assert.deepEqual([...gpu.grid.tokens], [...py.grid.tokens]); // sampled: seed 7, cfg 5
      assert.equal(gpu.grid.meta.backend, "webgpu");
      assert.match(String(gpu.grid.meta.device), /^webgpu: /); // the adapter
      assert.equal(gpu.grid.meta.dtype, "float32"); // the tiny model's weights are f32
      assert.equal(gpu.grid.meta.passes, 4 + 3 * 2);
      for (const i of ["000", "001"]) {
        const a = decodePng(await Deno.readFile(join(dir, `webgpu_${i}.png`)));
        const b = decodePng(await Deno.readFile(join(dir, `python_${i}.png`)));
        assert.deepEqual([a.width, a.height], [64, 64]);
        let worst = 0, differ = 0;
        a.pixels.forEach((v, j) => {
          const d = Math.abs(v - b.pixels[j]);
          worst = Math.max(worst, d);
          if (d) differ++;
        });
        assert(
          worst <= 1 && differ <= a.pixels.length / 100,
          `${i}: ${differ} differ by ≤ ${worst}`,
        );
      }
      // decode --backend webgpu of the grid: the bytes generate --png wrote
      await run([
        ...["decode", join(dir, "webgpu.json"), "--model", model, "--backend", "webgpu"],
        ...["-o", join(dir, "d.png"), "--quiet"],
      ]);
      assert.deepEqual(
        await Deno.readFile(join(dir, "d_000.png")),
        await Deno.readFile(join(dir, "webgpu_000.png")),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "batch and bench --backend webgpu on Janus; bad --dtype and other families are one line",
  ...NEEDS,
  sanitizeResources: false,
  async fn() {
    const model = await tinyJanus("test");
    const dir = await Deno.makeTempDir();
    try {
      const jobs = join(dir, "jobs.jsonl");
      await Deno.writeTextFile(
        jobs,
        [
          { name: "fox", prompt: "a red fox", seed: 1, schedule: "ideal", window: 2 },
          { name: "bird", prompt: "a blue bird", seed: 2, schedule: "raster", cfg: 3 },
          { name: "lamp", prompt: "a lamp", negativePrompt: "fog", seed: 4, window: 1 },
        ].map((j) => JSON.stringify(j)).join("\n") + "\n",
      );
      for (const backend of ["webgpu", "python"]) {
        await run([
          "batch",
          jobs,
          "--backend",
          backend,
          "--model",
          model,
          "-o",
          join(dir, backend),
          "-q",
        ]);
      }
      for (const name of ["fox", "bird", "lamp"]) {
        const a = await readGrid(join(dir, "webgpu", `${name}.json`), memoryIo());
        const b = await readGrid(join(dir, "python", `${name}.json`), memoryIo());
        assert.deepEqual([...a.grid.tokens], [...b.grid.tokens], name);
      }
      const io = memoryIo();
      const bench = [
        ...["bench", "--backend", "webgpu", "--model", model, "--prompt", "a red fox"],
        ...["--windows", "2", "--repeat", "1", "--format", "json"],
      ];
      assert.equal(await main(bench, io), 0, io.stderrText());
      const report = JSON.parse(io.stdoutText());
      const rows = report.results.map((
        r: { setting: string; passes: number },
      ) => [r.setting, r.passes]);
      assert.deepEqual(rows, [["raster", 16], ["ideal s=2", 10]]);
      const refusals: [string[], RegExp][] = [
        [
          ["--model", model, "--dtype", "bfloat16"],
          /^zipar: --dtype bfloat16: the WebGPU backend stores weights as float32 or float16; use --backend python for bfloat16\n$/,
        ],
        [
          ["--model", await tinyJanus("other-family")],
          /^zipar: .*: the WebGPU backend runs LlamaGen and Janus, not "llama" models; use --backend python\n$/,
        ],
      ];
      for (const [args, want] of refusals) {
        const bad = memoryIo();
        const out = join(dir, "bad.json");
        const code = await main(
          ["generate", "--backend", "webgpu", ...args, "--prompt", "a", "--window", "2", "-o", out],
          bad,
        );
        assert.equal(code, 1);
        assert.match(bad.stderrText(), want);
        assert.equal(await Deno.stat(out).then(() => true, () => false), false);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await removeTinyJanus();
    }
  },
});
