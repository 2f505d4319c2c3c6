/**
 * Both sides refuse the same bad plans (and bad per-cell CFG scales) with the same words: the
 * worker's planner.check_plan, reached with raw `plan` frames (the TypeScript client checks
 * first with core/plan's checkPlan, so it never sends one), against testing/bad_plans.ts, which
 * core/plan_test.ts holds checkPlan to.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveSampling } from "../../core/sampling.ts";
import { BAD_CFG_SCALES, BAD_PLANS, goodPlan, PLAN_MODEL } from "../../testing/bad_plans.ts";
import { tinyConfig, writeRandomModel } from "../webgpu/random_weights.ts";
import { oneLine, PYTHON, PYTHON_TESTS } from "./test_helpers.ts";
import { WorkerProcess } from "./worker_process.ts";

Deno.test({
  name: "the worker's plan check refuses the bad plans core/plan's checkPlan does, in its words",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zipar_plan_check_" });
    const model = join(dir, "m");
    const { height, width } = PLAN_MODEL;
    await writeRandomModel(model, tinyConfig({ grid: [height, width] }), 1);
    const { process } = await WorkerProcess.start(
      { python: PYTHON!, handleSigint: false, onLog: () => {} },
      { model },
    );
    try {
      const timeout = { timeoutMs: 60_000 };
      await process.request(
        {
          type: "open",
          session: 0,
          sequences: [{ condition: 1, unconditional: false }],
        },
        {},
        timeout,
      );
      const plan = (p: ReturnType<typeof goodPlan>, cfgScales?: Float32Array) =>
        process.request(
          {
            type: "plan",
            session: 0,
            height: p.height,
            width: p.width,
            images: [{ condition: 1, seed: 0, index: 0 }],
            cfgScale: 1,
            cfgInterval: -1,
            sampling: resolveSampling({ temperature: 0 }),
            progressEvery: 0,
          },
          {
            stepStart: p.stepStart,
            slot: p.slot,
            input: p.input,
            predicts: p.predicts,
            ...(cfgScales ? { cfgScales } : {}),
          },
          timeout,
        );
      for (const [what, bad, words] of BAD_PLANS) {
        await assert.rejects(plan(bad), oneLine(words), what);
      }
      for (const [what, scales, words] of BAD_CFG_SCALES) {
        await assert.rejects(plan(goodPlan(), scales), oneLine(words), what);
      }
      // Good scales on a plan without CFG: nothing to mix them with.
      const fours = new Float32Array(height * width).fill(4);
      await assert.rejects(plan(goodPlan(), fours), oneLine(/plan cfgScales need CFG/));
      const { header } = await plan(goodPlan()); // and it still serves
      assert.deepEqual(header.shape, [1, height, width]);
    } finally {
      await process.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
