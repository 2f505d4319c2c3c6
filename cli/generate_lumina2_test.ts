/**
 * Lumina-mGPT 2.0 through the CLI on its tiny random directory (testing/python/tiny_models/
 * lumina2.py): `zipar generate --backend python --model DIR --prompt … --window 8 --png` at 64 px
 * (8×8 tokens + EOL, so s = 8 is the whole row) records raster's passes and the release's
 * defaults; at 768 px (96×96 + EOL, CFG 4) s = 8 takes the 856 passes `zipar plan` counts; bad input (no MoVQGAN file, a size off the 32-px patch, a size beyond the model's
 * context, a 1.0-sized vocabulary) is one line, exit 1 (2 for a flag), no traceback, no file.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTinyLumina2, tinyLumina2 } from "../backends/python/lumina2_test_helpers.ts";
import { needs } from "../testing/runtimes.ts";
import { readGrid } from "./formats/grid_file.ts";
import { decodePng } from "./formats/png.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = memoryIo();
  const code = await main(args, io);
  return { code, stderr: io.stderrText() };
}

const generate = (model: string, dir: string, window: string, ...extra: string[]) => [
  ...["generate", "--backend", "python", "--model", model, "--prompt", "a red fox"],
  ...["--window", window],
  ...["-o", join(dir, "x.json"), "--png", join(dir, "x.png"), "--quiet", ...extra],
];

Deno.test({
  name: "zipar generate --window 8 on a tiny Lumina-mGPT 2.0 directory writes grid and PNG",
  ...needs("Lumina-mGPT 2.0 through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const model = await tinyLumina2();
      const r = await run(generate(model, dir, "8", "--size", "64"));
      assert.equal(r.code, 0, r.stderr);
      const { grid } = await readGrid(join(dir, "x.json"), memoryIo());
      assert.deepEqual(grid.shape, [1, 8, 8]);
      assert.equal(grid.meta.family, "lumina2");
      assert.equal(grid.meta.passes, 64); // s = W: raster's H·W
      const sampling = grid.meta.sampling as Record<string, number>;
      assert.deepEqual([sampling.cfg, sampling.topK, sampling.temperature], [4, 4096, 1]);
      // g starts at 4 and the release's rule updates it per position (docs/lumina2.md)
      assert.deepEqual(grid.meta.cfgRule, { kind: "decay", floor: 4, start: 2, latentStride: 2 });
      assert.ok(new Set(grid.tokens).size > 8, "a uniform grid");
      const { width, height } = decodePng(await Deno.readFile(join(dir, "x.png")));
      assert.deepEqual([height, width], [64, 64]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a 768-px Lumina-mGPT 2.0 run (96×96 + EOL, CFG 4) at s = 8 takes zipar plan's 856 passes",
  ...needs("Lumina-mGPT 2.0 through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const model = await tinyLumina2("pass"); // pass-768: 768 px by its name
      const plan = memoryIo();
      assert.equal(
        await main(["plan", "--model", model, "--window", "8", "--format", "json"], plan),
        0,
      );
      const counted = JSON.parse(plan.stdoutText());
      assert.deepEqual([counted.grid, counted.passes, counted.rasterPasses], [[96, 96], 856, 9216]);
      const args = generate(model, dir, "8").filter((a) => a !== "--png" && !a.endsWith(".png"));
      const r = await run(args);
      assert.equal(r.code, 0, r.stderr);
      const { grid } = await readGrid(join(dir, "x.json"), memoryIo());
      assert.deepEqual(grid.shape, [1, 96, 96]);
      assert.equal(grid.meta.passes, counted.passes);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Lumina-mGPT 2.0 bad input through the CLI: one line, exit 1 or 2, no output file",
  ...needs("Lumina-mGPT 2.0 bad input through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const model = await tinyLumina2();
      const cases: [string[], number, RegExp][] = [
        [
          generate(await tinyLumina2("no-movqgan"), dir, "2"),
          1,
          /no movqgan_270M\.ckpt \(Lumina-mGPT 2\.0's MoVQGAN decoder\); download it from ai-forever/,
        ],
        [generate(model, dir, "2", "--size", "100"), 2, /multiples of 32 px/],
        [
          generate(model, dir, "2", "--size", "768"),
          1,
          /grid 96x96 needs 9312 image positions, .*512/,
        ],
        [generate(await tinyLumina2("no-tokenizer"), dir, "2"), 1, /no tokenizer files/],
        [generate(await tinyLumina2("small-vocab"), dir, "2"), 1, /vocabulary_map/],
      ];
      for (const [args, code, pattern] of cases) {
        const r = await run(args);
        assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
        const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("[python] note"));
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], pattern);
        assert.ok(!r.stderr.includes("Traceback"), r.stderr);
        for (const name of ["x.json", "x.png"]) {
          await assert.rejects(Deno.lstat(join(dir, name)), Deno.errors.NotFound, args.join(" "));
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await removeTinyLumina2();
    }
  },
});
