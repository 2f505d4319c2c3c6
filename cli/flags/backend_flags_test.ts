import assert from "node:assert/strict";
import { ValidationError } from "./args.ts";
import { backendFlags, knownWidth } from "./backend_flags.ts";

Deno.test("backendFlags() reads every mock flag, with the defaults generate has always used", () => {
  assert.deepEqual(backendFlags({ grid: "8x6", "num-classes": "4" }), {
    backend: "mock",
    mock: {
      height: 8,
      width: 6,
      vocab: 64,
      numClasses: 4,
      prefix: 1,
      eolToken: null,
      left: 2,
      aboveLeft: 1,
      aboveRight: 1,
      sharpness: 3,
      modelSeed: 0,
    },
  });
  const spec = backendFlags({
    ...{ vocab: "32", prefix: "2", eol: true, "reach-left": "1", "reach-above-left": "0" },
    ...{ "reach-above-right": "3", sharpness: "4.5", "model-seed": "9" },
  });
  assert(spec.backend === "mock");
  assert.deepEqual(spec.mock, {
    height: 16,
    width: 16,
    vocab: 32,
    numClasses: 10,
    prefix: 2,
    eolToken: 32,
    left: 1,
    aboveLeft: 0,
    aboveRight: 3,
    sharpness: 4.5,
    modelSeed: 9,
  });
  assert.equal(knownWidth(spec), 16);
});

Deno.test("backendFlags() needs --model for real backends and passes their options on", () => {
  const webgpu = backendFlags({ backend: "webgpu", model: "m" });
  assert.deepEqual(webgpu, { backend: "webgpu", model: "m" });
  assert.equal(knownWidth(webgpu), null);
  assert.deepEqual(
    backendFlags({ backend: "python", model: "m", device: "cuda:1", dtype: "bfloat16" }),
    { backend: "python", model: "m", python: undefined, device: "cuda:1", dtype: "bfloat16" },
  );
});

Deno.test("backendFlags() takes --model without --backend to the Python backend", () => {
  assert.deepEqual(
    backendFlags({ model: "m", dtype: "bfloat16" }),
    { backend: "python", model: "m", python: undefined, device: undefined, dtype: "bfloat16" },
  );
  assert.equal(backendFlags({}).backend, "mock");
});

Deno.test("backendFlags() passes --threads to the Python worker only when given", () => {
  const spec = backendFlags({ backend: "python", model: "m", threads: "3" });
  assert(spec.backend === "python");
  assert.equal(spec.threads, 3);
  const unset = backendFlags({ backend: "python", model: "m" });
  assert(unset.backend === "python" && !("threads" in unset));
  for (
    const [values, message] of [
      [
        { backend: "python", model: "m", threads: "0" },
        /^--threads must be an integer in 1\.\.1024/,
      ],
      [
        { backend: "webgpu", model: "m", threads: "2" },
        /^--threads does not apply to --backend webgpu$/,
      ],
      [{ threads: "2" }, /^--threads applies to --backend python\|webgpu, not mock$/],
    ] as [Record<string, string>, RegExp][]
  ) {
    assert.throws(
      () => backendFlags(values),
      (e) => e instanceof ValidationError && message.test(e.message),
    );
  }
});

Deno.test("backendFlags() refuses flags of another backend and bad values as usage errors", () => {
  const cases: [Record<string, string | boolean>, RegExp][] = [
    [{ backend: "webgpu" }, /^--backend webgpu needs --model PATH$/],
    [{ backend: "mock", model: "m" }, /^--model applies to --backend python\|webgpu, not mock$/],
    [{ dtype: "float16" }, /^--dtype applies to --backend python\|webgpu, not mock$/],
    [
      { backend: "webgpu", model: "m", device: "cuda" },
      /^--device does not apply to --backend webgpu$/,
    ],
    [{ backend: "python", model: "m", vocab: "8" }, /^--vocab does not apply to --backend python$/],
    [{ backend: "webgpu", model: "m", grid: "8" }, /^--grid does not apply to --backend webgpu$/],
    [{ backend: "python", model: "m", grid: "8x" }, /^--grid/],
    [{ backend: "webgpu", model: "m", size: "256" }, /^--size does not apply to --backend webgpu$/],
    [{ size: "256" }, /^--size applies to --backend python, not mock/],
    [{ backend: "python", model: "m", size: "7" }, /^--size must be an integer in 8\.\.16384/],
    [{ backend: "python", model: "m", size: "512", grid: "4x4" }, /^--grid and --size exclude/],
    [{ backend: "python", model: "m", weights: "best" }, /^--weights must be one of model, ema/],
    [{ weights: "ema" }, /^--weights applies to --backend python\|webgpu, not mock$/],
    [{ backend: "python", model: "m", eol: true }, /^--eol does not apply to --backend python$/],
    [{ backend: "tpu" }, /^--backend must be one of mock, python, webgpu, got 'tpu'$/],
    [{ "reach-left": "-1" }, /^--reach-left must be an integer in 0\.\.4096/],
    [{ sharpness: "1e7" }, /^--sharpness must be a number in 0\.\.1e6/],
    [{ prefix: "0" }, /^--prefix must be an integer in 1\.\.65536/],
  ];
  for (const [values, message] of cases) {
    assert.throws(
      () => backendFlags(values),
      (e) => e instanceof ValidationError && message.test(e.message),
      JSON.stringify(values),
    );
  }
});

Deno.test("backendFlags() passes --grid and --size of the Python backend on to the worker", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // A directory takes them too (Lumina-mGPT, Emu3-Gen): the worker says which it makes.
    assert.deepEqual(
      [backendFlags({ backend: "python", model: dir, size: "512" })]
        .map((s) => s.backend === "python" && [s.size, s.grid]),
      [[512, undefined]],
    );
    const grid = backendFlags({ backend: "python", model: dir, grid: "32x48" });
    assert.ok(grid.backend === "python" && grid.grid === "32x48" && grid.size === undefined);
    assert.throws(
      () => backendFlags({ backend: "python", model: dir, heads: "4" }),
      /--heads applies to a LlamaGen \.pt checkpoint, not to the model directory/,
    );
  } finally {
    Deno.removeSync(dir);
  }
});
