/**
 * `zipar generate --backend python --model JANUS_DIR --prompt …` end to end on a tiny random
 * Janus directory: the grid's metadata records the prompts and the family's CFG default, --png
 * decodes in the same run with the model's own VQ decoder, and `zipar decode --model DIR` of the
 * grid gives the same PNG; `zipar bench --reference` times transformers' own loop beside zipar.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTinyJanus, tinyJanus } from "../backends/python/janus_test_helpers.ts";
import { needs } from "../testing/runtimes.ts";
import { readGrid } from "./formats/grid_file.ts";
import { decodePng } from "./formats/png.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

Deno.test({
  name: "zipar generate --prompt on Janus writes grids, records prompts, decodes --png like decode",
  ...needs("Janus through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const model = await tinyJanus();
    const dir = await Deno.makeTempDir();
    try {
      const io = memoryIo();
      const args = [
        ...["generate", "--backend", "python", "--model", model, "--window", "2"],
        ...["--prompt", "a red fox", "--prompt", "a small blue bird", "--temperature", "0"],
        ...["-o", join(dir, "g.json"), "--png", join(dir, "g.png"), "--sheet", "--quiet"],
      ];
      assert.equal(await main(args, io), 0, io.stderrText());
      const { grid } = await readGrid(join(dir, "g.json"), io);
      assert.deepEqual(grid.shape, [2, 4, 4]);
      assert.deepEqual(grid.meta.prompts, ["a red fox", "a small blue bird"]);
      assert.equal((grid.meta.sampling as { cfg: number }).cfg, 5, "Janus's default guidance");
      assert.equal(grid.meta.family, "janus");
      assert.equal(grid.meta.passes, 4 + 3 * 2);
      // What the worker runs on, not null when no --device or --dtype was given.
      assert.equal(grid.meta.device, "cpu");
      assert.equal(grid.meta.dtype, "float32");
      const decode = memoryIo();
      const decodeArgs = ["decode", join(dir, "g.json"), "--model", model, "--sheet"];
      assert.equal(
        await main([...decodeArgs, "-o", join(dir, "d.png")], decode),
        0,
        decode.stderrText(),
      );
      const a = await Deno.readFile(join(dir, "g.png")),
        b = await Deno.readFile(join(dir, "d.png"));
      assert.deepEqual(a, b);
      const png = decodePng(a);
      assert.equal(png.height, 64 + 2 * 2); // one row of two 64×64 images, 2 px margins
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "zipar bench --prompt --reference times transformers' own Janus loop beside zipar",
  ...needs("Janus bench through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const model = await tinyJanus();
    try {
      const io = memoryIo();
      const args = [
        ...["bench", "--backend", "python", "--model", model, "--prompt", "a red fox"],
        ...["--windows", "2", "--repeat", "1", "--reference", "--format", "json"],
      ];
      assert.equal(await main(args, io), 0, io.stderrText());
      const report = JSON.parse(io.stdoutText());
      assert.equal(report.cfg, 5);
      const rows = report.results.map((r: { setting: string; passes: number }) => [
        r.setting,
        r.passes,
      ]);
      assert.deepEqual(rows, [["raster", 16], ["ideal s=2", 10], ["reference loop", 16]]);
      const plan = memoryIo();
      assert.equal(
        await main(["plan", "--model", model, "--window", "2", "--format", "json"], plan),
        0,
      );
      const counted = JSON.parse(plan.stdoutText());
      assert.deepEqual([counted.grid, counted.eol, counted.passes], [[4, 4], false, 10]);
      const bad = memoryIo();
      assert.equal(await main(["bench", "--windows", "2", "--reference"], bad), 2);
      assert.match(bad.stderrText(), /--reference needs --backend python/);
    } finally {
      await removeTinyJanus();
    }
  },
});
