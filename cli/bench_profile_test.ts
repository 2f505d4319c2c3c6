/**
 * `zipar bench --profile` on the Python backend, end to end on the tiny LlamaGen: every planned
 * row carries the torch ops launched per step and per decoder layer, the host reads per step
 * and the step graphs captured, in the table and in JSON. Counts are asserted, never times.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  PYTHON,
  PYTHON_TESTS,
  removeTinyModels,
  tinyModels,
} from "../backends/python/test_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function bench(args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/main.ts",
      "bench",
      "--backend",
      "python",
      "--python",
      PYTHON!,
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", OMP_NUM_THREADS: "1" },
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test({
  name: "zipar bench --profile reports ops, host reads and graph captures per planned row",
  ...PYTHON_TESTS,
  async fn() {
    try {
      const model = join(await tinyModels(), "st");
      const common = ["--model", model, "--windows", "2", "--repeat", "2", "--cfg", "4"];
      const json = await bench([...common, "--top-k", "20", "--profile", "--format", "json"]);
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      assert.deepEqual(report.results.map((r: { setting: string }) => r.setting), [
        "raster",
        "ideal s=2",
      ]);
      for (const r of report.results) {
        assert.ok(r.opsPerLayerPerStep >= 11 && r.opsPerLayerPerStep <= 15, JSON.stringify(r));
        assert.ok(r.opsPerStep > 2 * r.opsPerLayerPerStep, "the tiny model has 2 layers");
        assert.equal(r.syncsPerStep, 0);
        assert.equal(r.graphCaptures, 0, "the CPU captures no graphs");
      }
      const md = await bench([...common, "--profile"]);
      assert.equal(md.code, 0, md.stderr);
      assert.match(
        md.stdout,
        /\| ops\/step \| ops\/layer\/step \| syncs\/step \| graph captures \|/,
      );
      const plain = await bench([...common, "--format", "json"]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.ok(!("opsPerStep" in JSON.parse(plain.stdout).results[0]), "fields without --profile");
    } finally {
      await removeTinyModels();
    }
  },
});
