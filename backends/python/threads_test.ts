/**
 * torch's CPU threads in the worker: --threads, OMP_NUM_THREADS, and what bench records. Each
 * test starts its own workers: the threads are set when a worker starts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { benchCommand } from "../../cli/bench.ts";
import { memoryIo } from "../../cli/io/io.ts";
import { openTiny, PYTHON, PYTHON_TESTS, removeTinyModels, tinyModels } from "./test_helpers.ts";

/**
 * Open the tiny model with the worker's OMP_NUM_THREADS set to `omp` (or this process's own),
 * through the worker's environment: the test's own stays untouched, so files running beside it
 * see nothing.
 */
async function threadsWith(omp: string | undefined, threads?: number): Promise<number> {
  const backend = await openTiny({
    ...(threads === undefined ? {} : { threads }),
    ...(omp === undefined ? {} : { env: { OMP_NUM_THREADS: omp } }),
  });
  await backend.close();
  return backend.worker.threads;
}

Deno.test({
  name: "--threads sets torch's threads; without it the worker keeps OMP_NUM_THREADS",
  ...PYTHON_TESTS,
  fn: async () => {
    // torch caps OMP_NUM_THREADS at the cores it sees, never set_num_threads.
    assert.equal(await threadsWith("1"), 1, "OMP_NUM_THREADS=1, no --threads");
    assert.equal(await threadsWith("1", 3), 3, "--threads 3 wins over OMP_NUM_THREADS=1");
    assert.equal(await threadsWith(undefined, 1), 1, "--threads 1");
  },
});

Deno.test({
  name: "zipar bench --threads 1 records the worker's threads in its JSON and table",
  ...PYTHON_TESTS,
  fn: async () => {
    const model = join(await tinyModels(), "st");
    const args = ["--backend", "python", "--model", model, "--python", PYTHON!, "--threads", "1"];
    const io = memoryIo();
    const code = await benchCommand([
      ...args,
      "--windows",
      "4",
      "--repeat",
      "1",
      "--format",
      "json",
    ], io);
    assert.equal(code, 0);
    const report = JSON.parse(io.stdoutText());
    assert.equal(report.worker.threads, 1);
    assert.equal(report.worker.device, "cpu");
    await removeTinyModels();
  },
});
