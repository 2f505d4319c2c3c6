/**
 * `--size PX` and `--grid HxW` pick the image size of a model that makes several, whatever its
 * directory is called: a Lumina-mGPT directory (32-px patches, 16 px a token) and an Emu3-Gen
 * directory (8 px a token) generate the grid asked for, and `zipar plan --model` counts that
 * grid's passes; a size the model cannot make, or any size for a model of one size (Janus), is
 * a usage error (exit 2) in one line, with no output file.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { tinyEmu3 } from "../backends/python/emu3_test_helpers.ts";
import { tinyJanus } from "../backends/python/janus_test_helpers.ts";
import { tinyLumina } from "../backends/python/lumina_test_helpers.ts";
import { needs } from "../testing/runtimes.ts";
import { readGrid } from "./formats/grid_file.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = memoryIo();
  const code = await main(args, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

const generate = (model: string, out: string, ...size: string[]) => [
  ...["generate", "--backend", "python", "--model", model, "--window", "2"],
  ...["--prompt", "a red fox", "--temperature", "0", "--quiet", "-o", out, ...size],
];

Deno.test({
  name: "zipar generate/plan --size and --grid pick a Lumina or Emu3 directory's image size",
  ...needs("image sizes through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // The Lumina directory is named for 64 px (4x4); --size 96 asks for 6x6 (3 patches a side).
      const lumina = await tinyLumina();
      const cases: [string, string[], [number, number]][] = [
        [lumina, ["--size", "96"], [6, 6]],
        [await tinyEmu3(), ["--size", "48"], [6, 6]], // 8 px a token (its own is 5x5)
        [await tinyEmu3(), ["--grid", "4x6"], [4, 6]],
      ];
      for (const [model, size, [h, w]] of cases) {
        const out = join(dir, "g.json");
        const r = await run(generate(model, out, ...size));
        assert.equal(r.code, 0, r.stderr);
        const { grid } = await readGrid(out, memoryIo());
        assert.deepEqual(grid.shape, [1, h, w], size.join(" "));
        assert.equal(grid.meta.passes, w + (h - 1) * 2);
        await Deno.remove(out);
      }
      const plan = await run([
        ...["plan", "--model", lumina, "--size", "96", "--window", "2", "--format", "json"],
      ]);
      assert.equal(plan.code, 0, plan.stderr);
      const counted = JSON.parse(plan.stdout);
      assert.deepEqual([counted.grid, counted.eol, counted.passes], [[6, 6], true, 6 + 5 * 2]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a size the model cannot make, or a size for a model of one size, is exit 2 in one line",
  ...needs("image sizes through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const out = join(dir, "x.json");
    try {
      const cases: [string[], RegExp][] = [
        [generate(await tinyLumina(), out, "--size", "100"), /multiples of 32 px/],
        [generate(await tinyJanus(), out, "--size", "384"), /makes one image size.*drop --size/],
        [generate(await tinyJanus(), out, "--grid", "4x4"), /makes one image size.*drop --grid/],
        [generate(await tinyLumina(), out, "--size", "96", "--grid", "6x6"), /exclude each/],
        [["plan", "--grid", "4x4", "--size", "64", "--window", "2"], /--size applies with --model/],
      ];
      for (const [args, pattern] of cases) {
        const r = await run(args);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("[python] note"));
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], pattern);
        await assert.rejects(Deno.lstat(out), Deno.errors.NotFound);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
