import assert from "node:assert/strict";
import { join } from "node:path";
import { needs, PYTHON } from "./runtimes.ts";
import { PythonRunner, runModule, WORKER_DIR } from "./python_runner.ts";

const JOBS = `
import json, os, sys
import torch

SEEN = {"count": 0}

def main(argv):
    kind = argv[0]
    if kind == "echo":
        SEEN["count"] += 1
        print(json.dumps({"args": argv[1:], "pid": os.getpid(), "parent": os.getppid(),
                          "seen": SEEN["count"], "dtype": str(torch.get_default_dtype()),
                          "stdin": sys.stdin.read()}))
        torch.set_default_dtype(torch.float64)  # must not reach the next job
        return 0
    if kind == "code":
        return int(argv[1])
    if kind == "raise":
        raise ValueError("a broken job")
    if kind == "exit":
        sys.exit("exit with a message")
    if kind == "big":
        sys.stdout.write("x" * (1 << 20))
        print("to stderr", file=sys.stderr)
        return 0
`;

async function withRunner(fn: (runner: PythonRunner) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar-runner-" });
  await Deno.writeTextFile(join(dir, "runner_jobs.py"), JOBS);
  const runner = new PythonRunner({ python: PYTHON!, path: [dir, WORKER_DIR] });
  try {
    await fn(runner);
  } finally {
    runner.kill();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "PythonRunner runs each job in a fresh child: stdout, stdin closed, no state carried",
  ...needs("the test runner of Python jobs", ["python"]),
  async fn() {
    await withRunner(async (runner) => {
      const first = await runner.run("runner_jobs", ["echo", "a b", "ü"]);
      assert.equal(first.code, 0, first.stderr);
      const a = JSON.parse(first.stdout);
      assert.deepEqual(a.args, ["a b", "ü"]);
      assert.equal(a.stdin, "", "stdin is /dev/null, not the runner's requests");
      const b = JSON.parse((await runner.run("runner_jobs", ["echo"])).stdout);
      assert.notEqual(a.pid, b.pid, "each job is its own process");
      assert.equal(a.parent, b.parent, "forked from the one runner");
      assert.equal(b.seen, 1, "a module's globals start fresh");
      assert.equal(b.dtype, "torch.float32", "torch's defaults start fresh");
    });
  },
});

Deno.test({
  name: "PythonRunner reports exit codes, exceptions and sys.exit messages as python -m would",
  ...needs("the test runner of Python jobs", ["python"]),
  async fn() {
    await withRunner(async (runner) => {
      assert.equal((await runner.run("runner_jobs", ["code", "3"])).code, 3);
      const raised = await runner.run("runner_jobs", ["raise"]);
      assert.equal(raised.code, 1);
      assert.match(raised.stderr, /Traceback[^]*ValueError: a broken job/);
      const exited = await runner.run("runner_jobs", ["exit"]);
      assert.deepEqual([exited.code, exited.stderr.trim()], [1, "exit with a message"]);
      const big = await runner.run("runner_jobs", ["big"]);
      assert.deepEqual([big.code, big.stdout.length, big.stderr], [0, 1 << 20, "to stderr\n"]);
      const missing = await runner.run("no_such_module_here", []);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /ModuleNotFoundError/);
      // Jobs after failures still run, and at the same time they queue.
      const results = await Promise.all(
        ["1", "2", "0"].map((c) => runner.run("runner_jobs", ["code", c])),
      );
      assert.deepEqual(results.map((r) => r.code), [1, 2, 0]);
    });
  },
});

Deno.test({
  name: "runModule() returns stdout, and a failing job's last stderr line",
  ...needs("the test runner of Python jobs", ["python"]),
  async fn() {
    await assert.rejects(
      runModule(PYTHON!, "tiny_models.llamagen", ["bogus"]),
      /^Error: tiny_models\.llamagen failed: python -m tiny_models\.llamagen vq/,
    );
    const dir = await Deno.makeTempDir();
    try {
      await runModule(PYTHON!, "tiny_models.llamagen", ["gpt", join(dir, "m")]);
      assert.ok((await Deno.stat(join(dir, "m", "st", "model.safetensors"))).isFile);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
