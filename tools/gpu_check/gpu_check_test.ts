/**
 * tools/gpu_check on the CPU in --quick mode: the driver runs zipar's worker code with the
 * committed plans on tiny models and writes a report with every section, in the order of the
 * GPU run; the budget drops rows and names them; the report is on disk after every row (a run
 * stopped after N rows leaves those N); the report's path comes as an argument. The committed
 * plans are what core compiles today (make_plans.ts), so the GPU check runs zipar's real
 * schedules.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PYTHON, PYTHON_TESTS } from "../../backends/python/test_helpers.ts";
import { plansFor } from "./make_plans.ts";

const DRIVER = fileURLToPath(new URL("./driver.py", import.meta.url));
const PLANS = fileURLToPath(new URL("./plans.json", import.meta.url));

/** Run the driver with `args` in a fresh directory; its exit code, stderr and the directory. */
async function driver(args: (dir: string) => string[]) {
  const dir = await Deno.makeTempDir({ prefix: "zipar-gpu-check-" });
  const run = await new Deno.Command(PYTHON!, {
    args: [DRIVER, "--quick", "--device", "cpu", ...args(dir)],
    cwd: dir, // the report goes where it is told, never into the current directory
    env: { PYTHONDONTWRITEBYTECODE: "1", OMP_NUM_THREADS: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: run.code, stderr: new TextDecoder().decode(run.stderr), dir };
}

/** The `## ` headings of a report, in order. */
function headings(report: string): string[] {
  return report.split("\n").filter((l) => l.startsWith("## ")).map((l) => l.slice(3));
}

Deno.test("the committed plans.json is what core/plan compiles now", async () => {
  const json = JSON.parse(await Deno.readTextFile(PLANS));
  for (const [h, w] of [[4, 4], [8, 8], [16, 16], [24, 24]]) {
    assert.deepEqual(json.grids[`${h}x${w}`], plansFor(h, w), `${h}x${w}: rerun make_plans.ts`);
  }
  const raster = json.grids["16x16"].find((p: { setting: string }) => p.setting === "raster");
  assert.equal(raster.passes, 256);
});

Deno.test({
  name: "gpu_check --quick --device cpu writes every section, in order, every row run",
  ...PYTHON_TESTS,
  async fn() {
    const { code, stderr, dir } = await driver((dir) => [`${dir}/out/report.md`]);
    try {
      assert.equal(code, 0, stderr);
      const report = await Deno.readTextFile(`${dir}/out/report.md`);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out"], "nothing else");
      assert.ok(report.startsWith("# zipar GPU check — CPU\n"), report.slice(0, 200));
      assert.deepEqual(headings(report), [
        "Preflight",
        "LlamaGen tiny-L, the paper's setting: raster vs ZipAR",
        "Per-pass curve and the memory-bandwidth floor (tiny-L)",
        "Janus vs transformers' own image loop",
        "Official LlamaGen generate() on the same weights (tiny-L, peer)",
        "Step anatomy: ops, kernels, syncs, logits (tiny-L)",
        "Graphs cold: a fresh model object per generation (tiny-L)",
        "torch.compile over the step body (tiny-L)",
        "LlamaGen tiny-B: raster vs ZipAR",
        "LlamaGen tiny-XL: raster vs ZipAR",
        "Budget",
        "Notes",
      ]);
      for (
        const row of [
          "- versions: Python ",
          "- SDPA, LlamaGen step (16 heads × 64): ",
          "- zipar step graphs: ok: ",
          // the paper's table: raster first (the speedup baseline), then ZipAR; passes are
          // core's (8x8: raster 64, paper s=4 40, ideal s=4 36)
          "| graphs warm | raster | 64 | ",
          "| graphs warm | paper s=4 | 40 | ",
          "| eager | ideal s=4 | 36 | ",
          "| graphs cold | paper s=4 | 40 | ",
          // the per-pass curve: 1, 4 and 16 tokens a sequence, two sequences
          "| 1 | 2 | ",
          "| 16 | 32 | ",
          "| transformers generate | raster | 16 | ",
          "| zipar graphs warm | paper s=4 | 16 | ",
          "| aten ops (step_profile, graphs off) | 40 | ",
          "| dynamo backend=eager | raster | 64 | ",
          "- skipped: no --llamagen-src DIR",
          "- rows skipped for the budget: 0",
          "- failed rows: 0",
        ]
      ) assert.ok(report.includes(row), `no "${row}" in the report:\n${report}`);
      // Static mode's steps and eager steps give the same logits, hence the same grids; the
      // Janus raster greedy grid is transformers' own, token for token (float32 on the CPU).
      assert.match(report, /\| logits, graph vs eager \| 40 \| max \\\|Δ\\\| 0 over 40 steps/);
      assert.match(report, /whole generations: 64\/64 tokens equal/);
      assert.match(report, /\| greedy parity \| raster \| 16 \| 16\/16 tokens equal \|/);
      assert.match(report, /memory bandwidth \(device copy, read \+ write\): \d+ GB\/s/);
      assert.doesNotMatch(report, /failed:|skipped \(budget\)|stopped \(budget\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gpu_check within no budget: the preflight runs, every other row is skipped by name",
  ...PYTHON_TESTS,
  async fn() {
    const { code, stderr, dir } = await driver((dir) => [
      "--out",
      `${dir}/r.md`,
      "--budget-s",
      "0",
    ]);
    try {
      assert.equal(code, 0, stderr);
      const report = await Deno.readTextFile(`${dir}/r.md`);
      assert.match(report, /- zipar step graphs: ok: /, "the preflight is never dropped");
      for (const what of ["tiny-L build", "Janus build", "tiny-B build", "tiny-XL build"]) {
        assert.match(report, new RegExp(`skipped \\(budget\\): ${what} needs ~\\d+ s, 0 s left`));
      }
      assert.match(report, /- rows skipped for the budget: 4 \(tiny-L build; Janus build; /);
      assert.doesNotMatch(report, /\| graphs warm \| raster/);
      assert.ok(report.endsWith("grids are not images.\n"), "the report is finished");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gpu_check writes its report after every row: stopped after 3 rows, 3 rows are there",
  ...PYTHON_TESTS,
  async fn() {
    const { code, stderr, dir } = await driver((dir) => [
      `${dir}/r.md`,
      "--stop-after-rows",
      "3",
    ]);
    try {
      assert.equal(code, 3, stderr);
      const report = await Deno.readTextFile(`${dir}/r.md`);
      const items = report.split("\n").filter((l) => l.startsWith("- "));
      assert.deepEqual(items.map((l) => l.split(":")[0]), ["- versions", "- zipar", "- device"]);
      assert.doesNotMatch(report, /## Budget/);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["r.md"], "no temp file");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gpu_check takes the report's path once: positional and a different --out is refused",
  ...PYTHON_TESTS,
  async fn() {
    const { code, stderr, dir } = await driver((dir) => [`${dir}/a.md`, "--out", `${dir}/b.md`]);
    try {
      assert.equal(code, 2);
      assert.match(stderr, /give the report's path once/);
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
