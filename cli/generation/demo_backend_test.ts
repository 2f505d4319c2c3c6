import assert from "node:assert/strict";
import { venvPython } from "../../backends/python/interpreter.ts";
import { demoBackendSpecs, openDemoBackend } from "./demo_backend.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("demoBackendSpecs() tries WebGPU, then each python once: ZIPAR_PYTHON, the venv, PATH", () => {
  const auto = demoBackendSpecs({ choice: "auto", model: "m", env: env({ ZIPAR_PYTHON: "/p" }) });
  const pythons = ["/p", venvPython(), "python3", "/usr/bin/python3"].filter((p) => p !== null);
  assert.deepEqual(auto, [
    { backend: "webgpu", model: "m" },
    ...pythons.map((python) => ({ backend: "python", model: "m", python })),
  ]);
  const dup = demoBackendSpecs({
    choice: "python",
    model: "m",
    env: env({ ZIPAR_PYTHON: "python3" }),
  });
  assert.deepEqual(
    dup.map((s) => s.backend === "python" && s.python),
    [...new Set(["python3", venvPython(), "/usr/bin/python3"].filter((p) => p !== null))],
  );
  assert.deepEqual(demoBackendSpecs({ choice: "webgpu", model: "m", python: "/p", env: env({}) }), [
    { backend: "webgpu", model: "m" },
  ]);
  assert.deepEqual(
    demoBackendSpecs({
      choice: "auto",
      model: "m",
      python: "/p",
      env: env({ ZIPAR_PYTHON: "/q" }),
    }),
    [{ backend: "webgpu", model: "m" }, { backend: "python", model: "m", python: "/p" }],
  );
});

Deno.test("openDemoBackend() gives an explicitly chosen backend's own error", async () => {
  await assert.rejects(
    () => openDemoBackend({ choice: "webgpu", model: "/no/such/model", env: env({}) }),
    /^Error: Cannot read \/no\/such\/model\/config\.json/,
  );
  await assert.rejects(
    () =>
      openDemoBackend({
        choice: "python",
        model: "/no/such/model",
        python: "/no/such/python",
        env: env({}),
      }),
    /^Error: Python executable "\/no\/such\/python" not found/,
  );
});
