/**
 * The GPU check's driver on this CPU (--quick --device cpu: tiny models, every section of the
 * GPU report at tiny shapes, one torch thread): its Markdown report printed, as part of
 * `deno task bench`. On a GPU machine run tools/gpu_check/run.sh instead.
 *
 *   deno bench --allow-all tools/gpu_check/cpu_bench.ts
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PYTHON } from "../../testing/runtimes.ts";

const DRIVER = fileURLToPath(new URL("./driver.py", import.meta.url));

if (PYTHON === null) {
  console.log("gpu_check on the CPU skipped: no python with torch (deno task setup)");
} else {
  const out = await Deno.makeTempFile({ suffix: ".md" });
  const run = await new Deno.Command(PYTHON, {
    args: [DRIVER, "--quick", "--device", "cpu", "--out", out, "--budget-s", "100000"],
    env: { PYTHONDONTWRITEBYTECODE: "1", OMP_NUM_THREADS: Deno.env.get("OMP_NUM_THREADS") ?? "1" },
    stdout: "null",
    stderr: "inherit",
  }).output();
  console.log(run.success ? await Deno.readTextFile(out) : "gpu_check driver failed (above)");
  await Deno.remove(out);
}

// One bench so that `deno bench` lists the file: the report above is its result.
Deno.bench({ name: "gpu_check --quick on the CPU (report above)", fn: () => {} });
