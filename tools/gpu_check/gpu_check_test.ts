/**
 * tools/gpu_check on the CPU in --quick mode: the driver runs zipar's worker code with the
 * committed plans on tiny models and writes a report with every section; the committed plans
 * are what core compiles today (make_plans.ts), so the GPU check runs zipar's real schedules.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PYTHON, PYTHON_TESTS } from "../../backends/python/test_helpers.ts";
import { plansFor } from "./make_plans.ts";

const DRIVER = fileURLToPath(new URL("./driver.py", import.meta.url));
const PLANS = fileURLToPath(new URL("./plans.json", import.meta.url));

Deno.test("the committed plans.json is what core/plan compiles now", async () => {
  const json = JSON.parse(await Deno.readTextFile(PLANS));
  for (const [h, w] of [[4, 4], [8, 8], [16, 16], [24, 24]]) {
    assert.deepEqual(json.grids[`${h}x${w}`], plansFor(h, w), `${h}x${w}: rerun make_plans.ts`);
  }
  const raster = json.grids["16x16"].find((p: { setting: string }) => p.setting === "raster");
  assert.equal(raster.passes, 256);
});

Deno.test({
  name: "gpu_check driver --quick --device cpu writes every section of the report",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zipar-gpu-check-" });
    try {
      const out = `${dir}/report.md`;
      const args = [DRIVER, "--quick", "--device", "cpu", "--out", out, "--budget-s", "100000"];
      const run = await new Deno.Command(PYTHON!, {
        args,
        env: { PYTHONDONTWRITEBYTECODE: "1", OMP_NUM_THREADS: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, stderr);
      const report = await Deno.readTextFile(out);
      for (
        const heading of [
          "# zipar GPU check — CPU",
          "## tiny-shaped LlamaGen",
          "### Per-pass time vs tokens per pass",
          "### Raster vs ZipAR per image",
          "## Janus-shaped model",
          "## Notes",
        ]
      ) assert.ok(report.includes(heading), `no "${heading}" in the report:\n${report}`);
      assert.equal(report.split("### Raster vs ZipAR per image").length, 3, "LlamaGen + Janus");
      for (const row of ["| 1 | interactive | raster | 64 |", "| 2 | planned | ideal s=4 | 36 |"]) {
        assert.ok(report.includes(row), `no row "${row}"`);
      }
      assert.doesNotMatch(report, /failed:/);
      assert.match(report, /\| 4 \| [\d.]+ \|/, "the per-pass curve has its 4-token row");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
