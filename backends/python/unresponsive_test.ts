/**
 * An interpreter that never answers must not hang zipar: the handshake and every request fail
 * in bounded time with a one-line message naming the interpreter, and closing the worker is
 * bounded too — also when the interpreter left a child holding its pipes, or stopped reading
 * its input while a large request was being written.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPythonBackend } from "./client.ts";
import { openOracleBackend } from "../../testing/worker_oracles.ts";
import { PYTHON, PYTHON_TESTS } from "./test_helpers.ts";

const WORKER_DIR = fileURLToPath(new URL("./worker/", import.meta.url));

/** Write an executable shell script standing in for python. */
async function fakePython(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

/** Settle `promise` or fail the test after `ms`: a hang is a failure, not a stuck suite. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `promise` rejects, and with what (for use inside {@linkcode within}). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

// A hung child holds the pipes after the interpreter is killed: the test must not wait for it.
const LEAKY = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "openPythonBackend() fails in bounded time when the interpreter's child holds its pipes",
  ...LEAKY,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // No exec: killing the shell leaves `sleep` with stdout and stderr open.
      const python = await fakePython(dir, "stuck", "echo 'stuck here' >&2\nsleep 20");
      const err = await within(
        8000,
        "openPythonBackend",
        rejection(openPythonBackend({
          model: "x",
          python,
          handshakeTimeoutMs: 1000,
          onLog: () => {},
          handleSigint: false,
        })),
      );
      assert.match(err.message, /did not answer "hello" within 1\.0 s; killed it: stuck here/);
      assert.ok(err.message.includes(python), `names the interpreter: ${err.message}`);
      assert.ok(!err.message.includes("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "openPythonBackend() gives an interpreter startTimeoutMs to answer at all",
  ...LEAKY,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const python = await fakePython(dir, "silent", "exec sleep 20");
      const t0 = performance.now();
      const err = await within(
        8000,
        "openPythonBackend",
        rejection(openPythonBackend({
          model: "x",
          python,
          startTimeoutMs: 1000,
          handshakeTimeoutMs: 60_000, // loading a model may take long; starting may not
          onLog: () => {},
          handleSigint: false,
        })),
      );
      assert.ok(performance.now() - t0 < 6000);
      assert.match(err.message, /did not answer "hello" within 1\.0 s; killed it/);
      assert.ok(err.message.includes(python), `names the interpreter: ${err.message}`);
      assert.match(err.message, /--python or ZIPAR_PYTHON/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a worker that stops reading fails a large request in bounded time, naming python",
  ...PYTHON_TESTS,
  ...LEAKY,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // Answers hello like a worker, then neither reads nor answers again.
      await Deno.writeTextFile(
        join(dir, "deaf.py"),
        `import sys
sys.path.insert(0, ${JSON.stringify(WORKER_DIR)})
import time
from protocol import PROTOCOL_VERSION, read_hello, write_header
read_hello(sys.stdin.buffer)
info = {"name": "x", "family": "llamagen", "vocab": 4, "height": 2, "width": 2, "prefix": 1,
        "eolToken": None, "numClasses": 3}
write_header(sys.stdout.buffer, {"type": "ready", "protocol": PROTOCOL_VERSION, "info": info,
             "config": {}, "torch": "fake", "device": "cpu", "dtype": "float32"})
print("not listening", file=sys.stderr, flush=True)
time.sleep(30)
`,
      );
      const python = await fakePython(dir, "deaf", `exec '${PYTHON}' '${join(dir, "deaf.py")}'`);
      const backend = await openOracleBackend({ // the oracle's `sample`: a large request
        model: "x",
        python,
        idleTimeoutMs: 1000,
        onLog: () => {},
        handleSigint: false,
      });
      const rows = 1 << 18; // 4 MiB of logits: far more than a pipe holds
      const sampling = { temperature: 1, topK: 0, topP: 1 };
      const err = await within(
        8000,
        "sampleInWorker",
        rejection(
          backend.sampleInWorker(new Float32Array(rows * 4), new Uint32Array(rows), sampling),
        ),
      );
      assert.match(err.message, /did not answer "sample" within 1\.0 s; killed it/);
      assert.doesNotMatch(
        err.message,
        /Python 3 with torch/,
        "a worker that answered is no bad interpreter",
      );
      assert.ok(err.message.includes(python), `names the interpreter: ${err.message}`);
      await within(8000, "close", backend.close());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
