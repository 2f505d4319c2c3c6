/**
 * Without ZIPAR_DEBUG=1 every worker failure reaches the user as one line, never a Python
 * traceback: not a config that is a JSON array or has `dim: null`, not 100,000-deep JSON in a
 * config or a safetensors header, not a hello or a request the worker did not expect, not a
 * grid the VQ decoder cannot take (which it refuses by its size before allocating, as WebGPU).
 * With ZIPAR_DEBUG=1 the traceback is there.
 *
 * Each test starts its own worker: what it checks is how a worker starts or fails.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { tinyConfig, writeRandomModel } from "../webgpu/random_weights.ts";
import { tinyVqConfig, writeRandomVq } from "../webgpu/vq_random_weights.ts";
import { openPythonBackend } from "./client.ts";
import { PYTHON, PYTHON_TESTS } from "./test_helpers.ts";
import { openPythonVqDecoder } from "./vq_client.ts";
import { WorkerProcess } from "./worker_process.ts";

/** Run `fn` with the worker's stderr lines collected; return the lines and the error thrown. */
async function failure(
  fn: (onLog: (line: string) => void) => Promise<unknown>,
): Promise<{ error: Error; lines: string[] }> {
  const lines: string[] = [];
  try {
    await fn((line) => lines.push(line));
  } catch (e) {
    return { error: e as Error, lines };
  }
  throw new Error("expected a failure");
}

/** One line matching `pattern`, no traceback; unless `unexpected`, no Python exception type. */
function assertOneLine(
  what: string,
  got: { error: Error; lines: string[] },
  pattern: RegExp,
  unexpected = false,
) {
  assert.match(got.error.message, pattern, what);
  assert(!got.error.message.includes("\n"), `${what}: not one line: ${got.error.message}`);
  const traced = got.lines.filter((l) => /Traceback|^\s+File "/.test(l));
  assert.deepEqual(traced, [], `${what}: the worker printed a traceback`);
  if (unexpected) return; // a bug's one line says `Type: message`, as first_line words it
  assert(!/\b(Type|Key|Attribute|Recursion|Memory|Runtime)Error\b/.test(got.error.message), what);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_one_line_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const quiet = { python: PYTHON!, handleSigint: false };

Deno.test({
  name: "bad model directories fail the hello in one line, no traceback",
  ...PYTHON_TESTS,
  fn: async () => {
    await withDir(async (dir) => {
      const model = join(dir, "m");
      await writeRandomModel(model, tinyConfig(), 1);
      const config = JSON.parse(await Deno.readTextFile(join(model, "config.json")));
      const cases: [string, string, RegExp][] = [
        ["a JSON array", "[1, 2]", /config\.json: expected a JSON object/],
        ["dim null", JSON.stringify({ ...config, dim: null }), /"dim" must be an integer/],
        [
          "100,000-deep JSON",
          JSON.stringify({ ...config, x: 0 }).replace(
            "0}",
            "[".repeat(1e5) + "]".repeat(1e5) + "}",
          ),
          /JSON nests more than 64 levels deep/,
        ],
      ];
      for (const [what, text, pattern] of cases) {
        await Deno.writeTextFile(join(model, "config.json"), text);
        const got = await failure((onLog) => openPythonBackend({ model, ...quiet, onLog }));
        assertOneLine(what, got, pattern);
      }
      await Deno.writeTextFile(join(model, "config.json"), JSON.stringify(config));
      const bytes = await Deno.readFile(join(model, "model.safetensors"));
      const deep = new TextEncoder().encode("[".repeat(1e5) + "]".repeat(1e5));
      const file = new Uint8Array(8 + deep.length + bytes.length);
      new DataView(file.buffer).setBigUint64(0, BigInt(deep.length), true);
      file.set(deep, 8);
      await Deno.writeFile(join(model, "model.safetensors"), file);
      const got = await failure((onLog) => openPythonBackend({ model, ...quiet, onLog }));
      assertOneLine("a 100,000-deep header", got, /header JSON nests more than 3 levels deep/);
    });
  },
});

Deno.test({
  name: "a hello or a request the worker did not expect is one line, no traceback",
  ...PYTHON_TESTS,
  fn: async () => {
    await withDir(async (dir) => {
      const model = join(dir, "m");
      await writeRandomModel(model, tinyConfig(), 1);
      const hello = await failure((onLog) =>
        WorkerProcess.start({ ...quiet, onLog, threads: -5 }, { model })
      );
      assertOneLine("threads -5", hello, /threads must be an integer in 1\.\.1024, got -5/);
      const lines: string[] = [];
      const { process } = await WorkerProcess.start({ ...quiet, onLog: (l) => lines.push(l) }, {
        model,
      });
      try {
        const got = await failure(() =>
          process.request({ type: "open", session: 0 }, {}, { timeoutMs: 60_000 })
        );
        const error = { error: got.error, lines };
        assertOneLine(
          "open without sequences",
          error,
          /open needs sequences: a list of \{condition, unconditional\}/,
        );
        // The worker keeps serving after it.
        const ok = await process.request(
          {
            type: "open",
            session: 1,
            sequences: [{ condition: 1, unconditional: false }],
          },
          {},
          { timeoutMs: 60_000 },
        );
        assert.equal(ok.header.type, "opened");
      } finally {
        await process.close();
      }
    });
  },
});

Deno.test({
  name: "the Python VQ decoder refuses a 1×1024×1024 grid by its size, in one line",
  ...PYTHON_TESTS,
  fn: async () => {
    await withDir(async (dir) => {
      const vq = join(dir, "vq");
      await writeRandomVq(vq, tinyVqConfig({ codebookSize: 16 }), 3);
      const lines: string[] = [];
      const decoder = await openPythonVqDecoder({
        dir: vq,
        ...quiet,
        onLog: (l) => lines.push(l),
      });
      try {
        const got = await failure(() =>
          decoder.decode(new Int32Array(1024 * 1024), [1, 1024, 1024])
        );
        assertOneLine(
          "1×1024×1024",
          { error: got.error, lines },
          /1024×1024 grid has 1048576 attention positions/,
        );
      } finally {
        await decoder.close();
      }
      // The worker itself refuses it too, whatever the client checked.
      const { process } = await WorkerProcess.start({ ...quiet, onLog: (l) => lines.push(l) }, {
        decoder: { vq },
      });
      try {
        const request = { type: "decode", decoder: 0, shape: [1, 1024, 1024] };
        const tokens = new Int32Array(1024 * 1024);
        const got = await failure(() =>
          process.request(request, { tokens }, { timeoutMs: 60_000 })
        );
        assertOneLine(
          "1×1024×1024 in the worker",
          { error: got.error, lines },
          /1048576 attention positions/,
        );
      } finally {
        await process.close();
      }
    });
  },
});

Deno.test({
  name: "with ZIPAR_DEBUG=1 the worker prints the traceback of an unexpected error",
  ...PYTHON_TESTS,
  fn: async () => {
    await withDir(async (dir) => {
      const model = join(dir, "m");
      await writeRandomModel(model, tinyConfig(), 1);
      const lines: string[] = [];
      const { process } = await WorkerProcess.start({
        ...quiet,
        onLog: (l) => lines.push(l),
        env: { ZIPAR_DEBUG: "1" }, // the worker's only: files beside this one see nothing
      }, { model });
      try {
        await failure(() =>
          process.request({ type: "open", session: 0 }, {}, { timeoutMs: 60_000 })
        );
        assert(lines.some((l) => l.startsWith("Traceback")), lines.join("\n"));
      } finally {
        await process.close();
      }
    });
  },
});
