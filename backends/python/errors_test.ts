/**
 * Failures come back as one-line Errors, never as hangs or orphan processes: python missing,
 * torch missing, a worker that hangs or crashes at start-up, a worker killed mid-generation.
 *
 * Each test starts its own worker: what it checks is a worker's start, hang, crash or end.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { generateStream } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { createSchedule } from "../../core/schedule.ts";
import { openPythonBackend } from "./client.ts";
import { PROTOCOL_VERSION } from "./protocol.ts";
import { openTiny, PYTHON, PYTHON_TESTS, removeTinyModels, tinyModels } from "./test_helpers.ts";
import { sequencesFor } from "../../core/condition.ts";

function oneLine(pattern: RegExp) {
  return (err: Error) => {
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), `not one line: ${err.message}`);
    return true;
  };
}

/** Write an executable shell script standing in for python. */
async function fakePython(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

/** Whether process `pid` exists and is not a zombie (`ps`, since /proc needs --allow-all). */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return out.success && stat !== "" && !stat.startsWith("Z");
}

Deno.test("openPythonBackend() names the fix when the python executable is missing", async () => {
  await assert.rejects(
    openPythonBackend({ model: "x", python: "/nonexistent/python3", handleSigint: false }),
    oneLine(
      /Python executable "\/nonexistent\/python3" not found: run `deno task setup`/,
    ),
  );
});

Deno.test("openPythonBackend() times out a worker that never answers, and kills it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const python = await fakePython(dir, "hang", "echo 'starting up' >&2\nexec sleep 30");
    const t0 = performance.now();
    await assert.rejects(
      openPythonBackend({
        model: "x",
        python,
        handshakeTimeoutMs: 1500,
        onLog: () => {},
        handleSigint: false,
      }),
      oneLine(/did not answer "hello" within 1\.5 s; killed it: starting up/),
    );
    assert.ok(performance.now() - t0 < 10_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openPythonBackend() reports a worker crash with its last stderr line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const python = await fakePython(
      dir,
      "crash",
      "echo 'Traceback...' >&2\necho 'boom: bad thing' >&2\nexit 7",
    );
    await assert.rejects(
      openPythonBackend({ model: "x", python, onLog: () => {}, handleSigint: false }),
      oneLine(/Python worker exited with code 7 during "hello": boom: bad thing/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "PythonBackend.open() times out a worker that hangs mid-request, and kills it",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // Answers hello like a worker, then never answers again.
      const info = {
        name: "x",
        family: "llamagen",
        vocab: 4,
        height: 2,
        width: 2,
        prefix: 1,
        eolToken: null,
        numClasses: 3,
      };
      await Deno.writeTextFile(
        join(dir, "hang.py"),
        `import json, struct, sys, time
def frame(h):
    b = json.dumps(h).encode(); sys.stdout.buffer.write(struct.pack("<II", len(b), 0) + b)
    sys.stdout.buffer.flush()
n, _ = struct.unpack("<II", sys.stdin.buffer.read(8)); sys.stdin.buffer.read(n)
frame({"type": "ready", "protocol": ${PROTOCOL_VERSION}, "info": json.loads(${
          JSON.stringify(JSON.stringify(info))
        }), "config": {},
       "torch": "fake", "device": "cpu", "dtype": "float32", "buffers": []})
print("waiting forever", file=sys.stderr, flush=True)
time.sleep(60)
`,
      );
      const python = await fakePython(dir, "hangpy", `exec '${PYTHON}' '${join(dir, "hang.py")}'`);
      const backend = await openPythonBackend({
        model: "x",
        python,
        idleTimeoutMs: 1000,
        onLog: () => {},
        handleSigint: false,
      });
      const pid = backend.pid;
      await assert.rejects(
        backend.open(sequencesFor([1], false)),
        oneLine(/did not answer "open" within 1\.0 s; killed it: waiting forever/),
      );
      await backend.close();
      assert.equal(await alive(pid), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "openPythonBackend() names the fix when python has no torch",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // A python whose `import torch` fails: a shadow package first on PYTHONPATH.
      await Deno.mkdir(join(dir, "shadow", "torch"), { recursive: true });
      await Deno.writeTextFile(
        join(dir, "shadow", "torch", "__init__.py"),
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n",
      );
      const python = await fakePython(
        dir,
        "notorch",
        `PYTHONPATH='${join(dir, "shadow")}' exec '${PYTHON}' "$@"`,
      );
      await assert.rejects(
        openPythonBackend({ model: "x", python, onLog: () => {}, handleSigint: false }),
        oneLine(
          /PyTorch is not installed .*deno task setup/,
        ),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "generate() fails in one line when the worker is killed mid-generation, no orphan",
  ...PYTHON_TESTS,
  async fn() {
    for (const mode of ["planned", "interactive"] as const) {
      const backend = await openTiny();
      const pid = backend.pid;
      try {
        const schedule = createSchedule(layoutOf(backend.info), { kind: "raster" });
        const images = [{ condition: 1, seed: 3, index: 0 }];
        const events = generateStream(backend, { images, schedule, mode, progressEvery: 1 });
        await assert.rejects(
          (async () => {
            let n = 0;
            for await (const event of events) {
              if (event.type === "step" && ++n === 1) Deno.kill(pid, "SIGKILL");
            }
          })(),
          oneLine(/Python worker was killed by SIGKILL during "(plan|step)"/),
        );
        // Later requests fail fast with the same error.
        await assert.rejects(backend.open(sequencesFor([1], false)), /killed by SIGKILL/);
      } finally {
        await backend.close();
      }
      assert.equal(await alive(pid), false, `worker ${pid} still running`);
    }
  },
});

Deno.test({
  name: "openPythonBackend() kills the worker on Ctrl-C and exits 130",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyModels();
    const script = join(dir, "sigint.ts");
    const client = new URL("./client.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { openPythonBackend } from "${client}";
const b = await openPythonBackend({ model: ${JSON.stringify(join(dir, "st"))},
  python: ${JSON.stringify(PYTHON)}, onLog: () => {} });
console.log(b.pid);
await new Promise(() => setInterval(() => {}, 1000));`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", script],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const pid = Number(text.trim());
    assert.ok(pid > 0, `no worker pid from the child: ${text}`);
    assert.equal(await alive(pid), true);
    child.kill("SIGINT");
    const status = await child.status;
    await reader.cancel();
    assert.equal(status.code, 130);
    for (let i = 0; i < 50 && await alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await alive(pid), false, `worker ${pid} outlived Ctrl-C`);
  },
});

Deno.test({
  name: "PythonBackend.close() leaves no worker process behind",
  ...PYTHON_TESTS,
  async fn() {
    try {
      const backend = await openTiny();
      const pid = backend.pid;
      assert.equal(await alive(pid), true);
      await backend.close();
      assert.equal(await alive(pid), false);
    } finally {
      await removeTinyModels();
    }
  },
});
