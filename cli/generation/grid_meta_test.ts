import assert from "node:assert/strict";
import { MockBackend } from "../../backends/mock/mock.ts";
import { backendMeta, gridMeta, type GridMetaInput } from "./grid_meta.ts";
import { VERSION } from "./version.ts";

Deno.test("backendMeta() records the model path, device and dtype, or the mock's options", () => {
  const mock = { height: 4, width: 4, vocab: 8 };
  assert.deepEqual(backendMeta({ backend: "mock", mock }), { mock });
  assert.deepEqual(backendMeta({ backend: "webgpu", model: "m" }), { modelPath: "m" });
  const gpu = { device: "webgpu: llvmpipe", dtype: "float16" };
  assert.deepEqual(backendMeta({ backend: "webgpu", model: "m" }, gpu), { modelPath: "m", ...gpu });
  assert.deepEqual(backendMeta({ backend: "python", model: "m", dtype: "float16" }), {
    modelPath: "m",
    device: null,
    dtype: "float16",
  });
});

const INPUT: GridMetaInput = {
  backend: new MockBackend({ height: 2, width: 3, vocab: 8, eolToken: 8, prefix: 2 }),
  backendMeta: { mock: { height: 2, width: 3 } },
  choice: { schedule: "adaptive", window: 1, maxWindow: 3, proxy: "r-1" },
  sampling: { temperature: 0.5, topK: 4, topP: 0.9, cfg: 2 },
  seed: 5,
  images: [{ condition: 1, seed: 5, index: 0 }, { condition: 2, seed: 5, index: 1 }],
  run: {
    schedule: "adaptive(m=1, M=3)",
    mode: "interactive",
    passes: 5,
    rasterPasses: 6,
    wallMs: 12.345,
    scheduleStats: { accepted: 1 },
  },
};

Deno.test("gridMeta() records the model, the settings, each image's key and the run, in order", () => {
  const meta = gridMeta(INPUT);
  assert.deepEqual(
    Object.entries(meta),
    Object.entries({
      zipar: VERSION,
      model: "mock",
      family: "mock",
      backend: "mock",
      mock: { height: 2, width: 3 },
      vocab: 8,
      grid: [2, 3],
      prefix: 2,
      eolToken: 8,
      schedule: "adaptive",
      scheduleName: "adaptive(m=1, M=3)",
      window: 1,
      maxWindow: 3,
      proxy: "r-1",
      mode: "interactive",
      sampling: { temperature: 0.5, topK: 4, topP: 0.9, cfg: 2 },
      seed: 5,
      classes: [1, 2],
      images: [{ class: 1, seed: 5, index: 0 }, { class: 2, seed: 5, index: 1 }],
      passes: 5,
      rasterPasses: 6,
      wallMs: 12.3,
      scheduleStats: { accepted: 1 },
    }),
  );
});

Deno.test("gridMeta() puts the caller's fields after the model's and drops what is absent", () => {
  const meta = gridMeta({
    ...INPUT,
    origin: { job: { name: "a" }, batchKey: "k" },
    choice: { schedule: "ideal", window: 2, proxy: "r-2" },
    run: { ...INPUT.run, scheduleStats: undefined },
  });
  const keys = Object.keys(meta);
  assert.deepEqual(keys.slice(keys.indexOf("eolToken"), keys.indexOf("eolToken") + 4), [
    "eolToken",
    "job",
    "batchKey",
    "schedule",
  ]);
  assert.equal("maxWindow" in meta, false);
  assert.equal("scheduleStats" in meta, false);
});

Deno.test("gridMeta() records a Python worker's torch threads after the wall time", () => {
  const backend = Object.assign(new MockBackend({ height: 2, width: 3 }), {
    worker: { threads: 3 },
  });
  const entries = Object.entries(gridMeta({ ...INPUT, backend }));
  const at = entries.findIndex(([k]) => k === "wallMs");
  assert.deepEqual(entries[at + 1], ["threads", 3]);
  assert.equal("threads" in gridMeta(INPUT), false);
});

Deno.test("gridMeta() records a model's CFG rule after its EOL token, where it has one", () => {
  const cfgRule = { kind: "decay", floor: 4, start: 2, latentStride: 2 } as const;
  const backend = new MockBackend({ height: 2, width: 4, cfgRule });
  const entries = Object.entries(gridMeta({ ...INPUT, backend }));
  const at = entries.findIndex(([k]) => k === "eolToken");
  assert.deepEqual(entries[at + 1], ["cfgRule", cfgRule]);
  assert.equal("cfgRule" in gridMeta(INPUT), false);
});
