/**
 * Janus on WebGPU against the Python backend on the same tiny random Janus directories
 * (testing/python/tiny_models/janus.py): the step logits, then greedy grids of raster and ZipAR
 * windows, CFG off and on, interactive and planned, prompts of different lengths in one batch
 * and a negative prompt; and the one-line refusals of what WebGPU does not run. Needs a WebGPU
 * adapter and a python with torch; skips loudly otherwise (fails when ZIPAR_REQUIRE_ALL=1).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Condition, Sequence } from "../../core/condition.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import { greedyRun } from "../../testing/greedy_run.ts";
import { needs } from "../../testing/runtimes.ts";
import { openJanus, removeTinyJanus, tinyJanus } from "../python/janus_test_helpers.ts";
import { decodeSafetensors, encodeSafetensors } from "../safetensors.ts";
import { openWebgpuBackend } from "./backend.ts";
import { PREFILL_ROWS } from "./session.ts";
import { loadJanusPrompt } from "../janus_prompt.ts";
import { maxAbsDiff } from "./test_helpers.ts";

const NEEDS = needs("Janus on WebGPU vs the Python backend", ["python", "webgpu"]);
const test = (name: string, fn: () => Promise<void>, needed = NEEDS) =>
  Deno.test({ name, ...needed, sanitizeResources: false, sanitizeOps: false, fn });

const PROMPTS: Condition[] = [
  { prompt: "a red fox in the snow" },
  { prompt: "Füchse 🦊" }, // fewer tokens: the batch's prompts differ in length
  { prompt: "a lighthouse at dusk", negativePrompt: "blurry" },
];

test("Janus WebGPU step logits equal the Python backend's, prompt rows and image rows", async () => {
  const dir = await tinyJanus("test");
  const webgpu = await openWebgpuBackend({ model: dir });
  const python = await openJanus(dir);
  try {
    assert.deepEqual(webgpu.info, python.info);
    const sequences: Sequence[] = [
      { condition: PROMPTS[0], unconditional: false },
      { condition: PROMPTS[1], unconditional: false },
      { condition: PROMPTS[0], unconditional: true },
      { condition: PROMPTS[2], unconditional: true }, // the negative prompt
    ];
    const condition = (seq: number): Query => ({
      seq,
      slot: 0,
      token: QUERY_TOKEN_CONDITION,
      wantLogits: true,
    });
    const steps: Query[][] = [
      [condition(0), condition(1), condition(2)],
      // sequence 3's prompt arrives with image rows of the others; one row wants no logits
      [
        condition(3),
        { seq: 0, slot: 1, token: 17, wantLogits: true },
        { seq: 1, slot: 1, token: 200, wantLogits: false },
        { seq: 2, slot: 1, token: 17, wantLogits: true },
      ],
      [1, 2, 3].map((seq) => ({ seq, slot: seq === 3 ? 1 : 2, token: 5 * seq, wantLogits: true })),
    ];
    const a = await webgpu.open(sequences), b = await python.open(sequences);
    let worst = 0;
    for (const queries of steps) {
      const [x, y] = [await a.step(queries), await b.step(queries)];
      assert.equal(x.length, y.length);
      worst = Math.max(worst, maxAbsDiff(x, y));
    }
    await a.close();
    await b.close();
    console.log(`janus python vs webgpu: max abs logit diff ${worst.toExponential(2)}`);
    assert(worst < 5e-5, `max abs diff ${worst}`); // 6.9e-6 measured (lavapipe, torch CPU)
  } finally {
    await webgpu.close();
    await python.close();
  }
});

test("Janus WebGPU greedy grids equal the Python backend's: raster and ZipAR, CFG, both modes", async () => {
  const dir = await tinyJanus("test");
  const webgpu = await openWebgpuBackend({ model: dir });
  const python = await openJanus(dir);
  try {
    for (const cfg of [1, 5]) {
      for (const schedule of [{ kind: "raster" }, { kind: "zipar", window: 2 }] as const) {
        const want = await greedyRun(python, PROMPTS, schedule, cfg);
        for (const mode of ["interactive", "planned"] as const) {
          const got = await greedyRun(webgpu, PROMPTS, schedule, cfg, mode);
          const what = `cfg ${cfg}, ${schedule.kind}, ${mode}`;
          assert.deepEqual([...got.grids], [...want.grids], what);
          assert.equal(got.stats.passes, want.stats.passes, what);
        }
      }
    }
    // each image of a batch is the image alone
    const batch = await greedyRun(webgpu, PROMPTS, { kind: "zipar", window: 2 }, 5, "planned");
    const hw = 16;
    for (const [i, prompt] of PROMPTS.entries()) {
      const alone = await greedyRun(webgpu, [prompt], { kind: "zipar", window: 2 }, 5, "planned");
      assert.deepEqual([...alone.grids], [...batch.grids.subarray(i * hw, (i + 1) * hw)]);
    }
  } finally {
    await webgpu.close();
    await python.close();
  }
});

test("Janus WebGPU prefills long prompt batches in passes of PREFILL_ROWS, as Python computes them", async () => {
  const dir = await tinyJanus("test");
  const webgpu = await openWebgpuBackend({ model: dir });
  const python = await openJanus(dir);
  try {
    // 3 images × CFG × ~100 prompt tokens: more rows than one prefill pass carries
    const long = [0, 1, 2].map((i) => ({
      prompt: `${i} ${"a quiet harbour at dawn, ".repeat(4)}`,
    }));
    for (const mode of ["interactive", "planned"] as const) {
      const got = await greedyRun(webgpu, long, { kind: "zipar", window: 2 }, 5, mode);
      const want = await greedyRun(python, long, { kind: "zipar", window: 2 }, 5, mode);
      assert.deepEqual([...got.grids], [...want.grids], mode);
    }
    const ids = await (await loadJanusPrompt(dir)).ids(
      long.flatMap((condition) =>
        [false, true].map((unconditional) => ({ condition, unconditional }))
      ),
    );
    const rows = ids.reduce((n, p) => n + p.length - 1, 0);
    assert(rows > 2 * PREFILL_ROWS, `${rows} prefill rows`); // three passes at least
  } finally {
    await webgpu.close();
    await python.close();
  }
});

test("Janus WebGPU at Janus-Pro's 24×24 grid: ZipAR takes the plan's passes, grids equal Python's", async () => {
  const dir = await tinyJanus("pass");
  const webgpu = await openWebgpuBackend({ model: dir });
  const python = await openJanus(dir);
  try {
    assert.deepEqual([webgpu.info.height, webgpu.info.width], [24, 24]);
    const schedule = { kind: "zipar", window: 8 } as const;
    const got = await greedyRun(webgpu, PROMPTS.slice(0, 2), schedule, 5, "planned");
    const want = await greedyRun(python, PROMPTS.slice(0, 2), schedule, 5, "planned");
    assert.deepEqual([...got.grids], [...want.grids]);
    assert.equal(got.stats.passes, 24 + 23 * 8); // W + (H − 1)·s
  } finally {
    await webgpu.close();
    await python.close();
  }
});

test(
  "Janus WebGPU with float16 weight storage: logits near float32's, the same greedy grids",
  async () => {
    const dir = await tinyJanus("test");
    const f32 = await openWebgpuBackend({ model: dir, dtype: "float32" });
    const f16 = await openWebgpuBackend({ model: dir, dtype: "float16" });
    try {
      const sequences: Sequence[] = [{ condition: PROMPTS[0], unconditional: false }];
      const query: Query[] = [{ seq: 0, slot: 0, token: QUERY_TOKEN_CONDITION, wantLogits: true }];
      const [a, b] = [await f32.open(sequences), await f16.open(sequences)];
      const diff = maxAbsDiff(await a.step(query), await b.step(query));
      await a.close();
      await b.close();
      console.log(`janus f16 vs f32 storage: max abs logit diff ${diff.toExponential(2)}`);
      assert(diff > 0, "float16 storage changed nothing: the f16 kernels did not run");
      assert(diff < 0.05, `max abs diff ${diff}`); // weights rounded to 11 significant bits
      for (const mode of ["interactive", "planned"] as const) {
        const want = await greedyRun(f32, PROMPTS, { kind: "zipar", window: 2 }, 5, mode);
        const got = await greedyRun(f16, PROMPTS, { kind: "zipar", window: 2 }, 5, mode);
        assert.deepEqual([...got.grids], [...want.grids], mode);
      }
    } finally {
      await f32.close();
      await f16.close();
    }
  },
  needs("Janus on WebGPU with f16 weights", ["python", "webgpu", "webgpu-f16"]),
);

test("Janus WebGPU refuses in one line: DeepSeek's layout, a missing tensor, a prompt past the context", async () => {
  const official = await tinyJanus("test", "official");
  await assert.rejects(
    openWebgpuBackend({ model: official }),
    /DeepSeek's Janus release layout \(multi_modality, pickled weights\) runs on --backend python/,
  );
  const broken = await Deno.makeTempDir({ prefix: "zipar-janus-broken-" });
  try {
    const dir = await tinyJanus("test");
    for await (const e of Deno.readDir(dir)) {
      await Deno.copyFile(join(dir, e.name), join(broken, e.name));
    }
    const path = join(broken, "model.safetensors");
    const { tensors } = decodeSafetensors(await Deno.readFile(path));
    tensors.delete("model.generation_head.vision_head.bias");
    await Deno.writeFile(path, encodeSafetensors(Object.fromEntries(tensors)));
    await assert.rejects(
      openWebgpuBackend({ model: broken }),
      (e: Error) =>
        /lack model\.generation_head\.vision_head\.bias .*download the model's safetensors/.test(
          e.message,
        ) &&
        !e.message.includes("\n"),
    );
    const webgpu = await openWebgpuBackend({ model: dir });
    try {
      const long = { prompt: "x".repeat(120) }; // 128 positions: 16 image tokens leave 112
      await assert.rejects(
        webgpu.open([{ condition: long, unconditional: false }]),
        /the prompt is \d+ tokens with the chat template, but the model's context leaves 112 beside the image; shorten it/,
      );
      await assert.rejects(
        webgpu.open([{ condition: 3, unconditional: false }]),
        /conditions on text prompts/,
      );
    } finally {
      await webgpu.close();
    }
  } finally {
    await Deno.remove(broken, { recursive: true });
    await removeTinyJanus();
  }
});
