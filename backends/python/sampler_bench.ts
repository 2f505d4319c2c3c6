/**
 * The worker's keyed sampler against softmax + multinomial, 16 rows × 16,384 vocabulary (one
 * 16-token pass of LlamaGen), top-k 0, 2000 and 256: run in the worker's Python with torch
 * (worker/sampler_bench.py, in-process timing, interleaved rounds) and its table printed. The
 * worker's Python is timed inside Python: a Deno.bench around a request would time the pipe.
 *
 *   deno bench --allow-all backends/python/sampler_bench.ts
 *   ZIPAR_BENCH_THREADS=1 deno bench --allow-all backends/python/sampler_bench.ts
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PYTHON } from "../../testing/runtimes.ts";

const SCRIPT = fileURLToPath(new URL("./worker/sampler_bench.py", import.meta.url));
const WORKER_DIR = fileURLToPath(new URL("./worker/", import.meta.url));

/** Run worker/sampler_bench.py with `args`; its stdout. */
export async function workerSamplerBench(python: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(python, {
    args: [SCRIPT, ...args],
    env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: WORKER_DIR },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) throw new Error(`sampler_bench.py failed: ${err.split("\n").at(-1)}`);
  return new TextDecoder().decode(out.stdout);
}

{
  if (PYTHON === null) {
    console.log("worker sampler bench skipped: no python with torch (deno task setup)");
  } else {
    const threads = Deno.env.get("ZIPAR_BENCH_THREADS");
    const args = threads ? ["--threads", threads] : [];
    console.log(await workerSamplerBench(PYTHON, args));
  }
}

// One bench so that `deno bench` lists the file: the table above is its result.
Deno.bench({
  name: "worker sampler table printed above (in-process Python timings)",
  n: 1,
  warmup: 0,
  fn: () => {},
});
