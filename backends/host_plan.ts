/**
 * Run an encoded plan (docs/design.md §3, planned mode) on the host with a session's `step`: the
 * reference for device implementations, and how the mock backend offers planned mode.
 *
 * The grid lives here instead of on a device, but the algorithm is the device one: each query's
 * input is read from the grid, logits are mixed (with the cell's own scale when the run has
 * `cfgScales`) and sampled with core/sampling, and the sampled token is written into the grid.
 *
 * @module
 */

import { cfgGuides, cfgQueries, guidedLogits, type ImageWrite } from "../core/cfg.ts";
import { checkPlan } from "../core/plan.ts";
import { cellKey } from "../core/random.ts";
import { resolveSampling, sample } from "../core/sampling.ts";
import {
  type ModelInfo,
  PLAN_INPUT_CONDITION,
  PLAN_INPUT_EOL,
  type PlanRun,
  QUERY_TOKEN_CONDITION,
  type Session,
} from "../core/step.ts";

/**
 * Run `run` with `session.step`; returns grids: [images, H, W].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runPlanOnHost } from "./host_plan.ts";
 * import { MockBackend } from "./mock/mock.ts";
 * import { generate } from "../core/engine.ts";
 * import { layoutOf } from "../core/layout.ts";
 * import { compilePlan, encodePlan } from "../core/plan.ts";
 * import { resolveSampling } from "../core/sampling.ts";
 * import { createSchedule } from "../core/schedule.ts";
 * import { sequencesFor } from "../core/condition.ts";
 * const backend = new MockBackend({ height: 3, width: 4 });
 * const schedule = createSchedule(layoutOf(backend.info), { window: 2 });
 * const images = [{ condition: 2, seed: 5, index: 0 }];
 * const plan = encodePlan(compilePlan(layoutOf(backend.info), schedule));
 * const session = await backend.open(sequencesFor([2], true));
 * const run = { plan, images, cfgScale: 3, sampling: resolveSampling(), progressEvery: 0 };
 * const grid = await runPlanOnHost(session, backend.info, run);
 * const mode = "interactive";
 * assert.deepEqual(grid, (await generate(backend, { images, schedule, cfgScale: 3, mode })).grids);
 * ```
 */
export async function runPlanOnHost(
  session: Pick<Session, "step">,
  info: ModelInfo,
  run: PlanRun,
  onProgress?: (stepsDone: number) => void,
): Promise<Int32Array> {
  const { plan, images, cfgScale, progressEvery, cfgInterval = -1, cfgScales } = run;
  checkPlan(plan, info, cfgScales);
  const sampling = resolveSampling(run.sampling);
  const { vocab, eolToken } = info;
  const cells = plan.height * plan.width;
  const grid = new Int32Array(images.length * cells).fill(-1); // grid: [images, H·W]
  const steps = plan.stepStart.length - 1;
  for (let j = 0; j < steps; j++) {
    const wanted: { image: number; cell: number }[] = []; // predicting writes, in query order
    const perImage = images.map((_, i): ImageWrite[] => {
      const writes: ImageWrite[] = [];
      for (let q = plan.stepStart[j]; q < plan.stepStart[j + 1]; q++) {
        const input = plan.input[q];
        const token = input === PLAN_INPUT_CONDITION
          ? QUERY_TOKEN_CONDITION
          : input === PLAN_INPUT_EOL
          ? eolToken!
          : grid[i * cells + input];
        if (input >= 0 && token < 0) {
          throw new Error(`Plan step ${j} reads cell ${input} before it is decoded`);
        }
        const wantLogits = plan.predicts[q] >= 0;
        writes.push({ slot: plan.slot[q], token, wantLogits });
        if (wantLogits) wanted.push({ image: i, cell: plan.predicts[q] });
      }
      return writes;
    });
    const queries = cfgQueries(perImage, cfgScale !== 1);
    const logits = await session.step(queries); // logits: [wanted · (cfg ? 2 : 1), vocab]
    wanted.forEach(({ image, cell }, k) => {
      const row = Math.floor(cell / plan.width), col = cell % plan.width;
      const key = cellKey(images[image].seed, images[image].index, row, col);
      const guided = cfgGuides(cell, cfgInterval), scale = cfgScales?.[cell] ?? cfgScale;
      const mixed = guidedLogits(logits, k, vocab, cfgScale, guided, scale);
      grid[image * cells + cell] = sample(mixed, key, sampling);
    });
    if (onProgress && progressEvery > 0 && (j + 1) % progressEvery === 0) onProgress(j + 1);
  }
  onProgress?.(steps);
  return grid;
}
