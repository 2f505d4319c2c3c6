import assert from "node:assert/strict";
import { ValidationError } from "./args.ts";
import { backendFlags, backendMeta } from "./backend_flags.ts";

Deno.test("backendFlags() reads mock flags with generate's defaults", () => {
  const spec = backendFlags({ grid: "8x6", "num-classes": "4" });
  assert.deepEqual(spec, {
    backend: "mock",
    mock: { height: 8, width: 6, vocab: 64, numClasses: 4, modelSeed: 0 },
  });
  assert.deepEqual(backendMeta(spec), { mock: spec.mock });
});

Deno.test("backendFlags() needs --model for real backends and refuses flags of other backends", () => {
  assert.deepEqual(backendFlags({ backend: "webgpu", model: "m" }), {
    backend: "webgpu",
    model: "m",
  });
  assert.deepEqual(backendMeta(backendFlags({ backend: "python", model: "m", device: "cpu" })), {
    modelPath: "m",
    device: "cpu",
    dtype: null,
  });
  assert.throws(() => backendFlags({ backend: "webgpu" }), /needs --model/);
  assert.throws(() => backendFlags({ model: "m" }), /not mock/);
  assert.throws(() => backendFlags({ backend: "webgpu", model: "m", device: "cuda" }), /--device/);
  assert.throws(() => backendFlags({ backend: "python", model: "m", grid: "8" }), ValidationError);
  assert.throws(() => backendFlags({ backend: "tpu" }), /--backend must be one of/);
});
