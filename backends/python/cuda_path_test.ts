/**
 * The worker's CUDA path on the CPU: CUDA-graph replay of planned steps is only entered on
 * CUDA, so these tests cover what it stands on — the graph path's static inputs (copied per
 * step, "static" mode) give the tokens of the eager path; bfloat16 weights still give float32
 * logits and a full grid. (Attention is torch's fused scaled_dot_product_attention with the
 * step's mask on every device: step_test checks its logits against a no-cache recompute.)
 *
 * Each test opens its own workers: they differ in how they start (graph mode, dtype).
 */

import assert from "node:assert/strict";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { sequencesFor } from "../../core/condition.ts";
import type { PythonBackend } from "./client.ts";
import { openTiny, PYTHON_TESTS, removeTinyModels } from "./test_helpers.ts";

const IMAGES = [
  { condition: 3, seed: 5, index: 0 },
  { condition: 7, seed: 5, index: 1 },
];

async function planned(backend: PythonBackend, schedule: ScheduleOptions, cfgScale: number) {
  const s = createSchedule(layoutOf(backend.info), schedule);
  const sampling = { temperature: 1, topK: 50, topP: 1 };
  const { grids, stats } = await generate(backend, {
    images: IMAGES,
    schedule: s,
    cfgScale,
    sampling,
    mode: "planned",
  });
  assert.equal(stats.mode, "planned");
  return [...grids];
}

Deno.test({
  name: "planned steps through the graph path's static buffers give the eager tokens",
  ...PYTHON_TESTS,
  async fn() {
    const eager = await openTiny({ cudaGraphs: "off" });
    const stat = await openTiny({ cudaGraphs: "static" });
    try {
      for (
        const [schedule, cfg] of [[{ kind: "raster" }, 2], [{ window: 2 }, 1], [{
          window: 3,
          variant: "paper",
        }, 2]] as [ScheduleOptions, number][]
      ) {
        const a = await planned(eager, schedule, cfg);
        const b = await planned(stat, schedule, cfg);
        assert.ok(new Set(a).size > 16, "suspiciously uniform grid");
        assert.deepEqual(b, a, JSON.stringify(schedule));
      }
    } finally {
      await eager.close();
      await stat.close();
    }
  },
});

/** Logits of a few steps (a prefix step, then multi-query steps) with CFG halves. */
async function someLogits(backend: PythonBackend): Promise<Float32Array[]> {
  const session = await backend.open(sequencesFor([3], true));
  const out: Float32Array[] = [];
  const prefix = [0, 1].map((seq) => ({ seq, slot: 0, token: -1, wantLogits: true }));
  out.push(await session.step(prefix));
  out.push(
    await session.step(
      [1, 2, 3, 9, 10].flatMap((slot, i) =>
        [0, 1].map((seq) => ({ seq, slot, token: (i * 37 + seq) % 256, wantLogits: i % 2 === 0 }))
      ),
    ),
  );
  out.push(await session.step([{ seq: 1, slot: 4, token: 200, wantLogits: true }]));
  await session.close();
  return out;
}

Deno.test({
  name: "bfloat16 weights: float32 logits near float32's, and a full planned grid",
  ...PYTHON_TESTS,
  async fn() {
    const f32 = await openTiny();
    const bf16 = await openTiny({ dtype: "bfloat16" });
    try {
      assert.equal(bf16.worker.dtype, "bfloat16");
      const a = await someLogits(f32), b = await someLogits(bf16);
      let max = 0, scale = 0;
      a.forEach((rows, k) =>
        rows.forEach((x, i) => {
          max = Math.max(max, Math.abs(x - b[k][i]));
          scale = Math.max(scale, Math.abs(x));
        })
      );
      assert.ok(max > 0, "bfloat16 gave float32's logits bit for bit: not bfloat16");
      assert.ok(max < 0.05 * scale + 0.05, `bfloat16 logits differ by ${max} (scale ${scale})`);
      const grid = await planned(bf16, { window: 2 }, 2);
      assert.ok(grid.every((t) => t >= 0 && t < 256));
    } finally {
      await f32.close();
      await bf16.close();
      await removeTinyModels();
    }
  },
});
