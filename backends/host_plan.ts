/**
 * Run an encoded plan (DESIGN.md §3, planned mode) on the host with a session's `step`: the
 * reference for device implementations, and how the mock backend offers planned mode.
 *
 * The grid lives here instead of on a device, but the algorithm is the device one: each query's
 * input is read from the grid, logits are mixed and sampled with core/sampling, and the sampled
 * token is written into the grid.
 *
 * @module
 */

import { cellKey } from "../core/random.ts";
import { mixCfg, resolveSampling, sample } from "../core/sampling.ts";
import {
  CONDITION_TOKEN,
  INPUT_CONDITION,
  INPUT_EOL,
  type ModelInfo,
  type PlanRun,
  type Query,
  type Session,
} from "../core/step.ts";

/** Run `run` with `session.step`; returns grids: [images, H, W]. */
export async function runPlanOnHost(
  session: Pick<Session, "step">,
  info: ModelInfo,
  run: PlanRun,
  onProgress?: (stepsDone: number) => void,
): Promise<Int32Array> {
  const { plan, images, cfgScale, progressEvery } = run;
  const sampling = resolveSampling(run.sampling);
  const { vocab, eolToken } = info;
  const cells = plan.height * plan.width;
  const batch = images.length, cfg = cfgScale !== 1;
  const grid = new Int32Array(batch * cells).fill(-1); // grid: [images, H·W]
  const steps = plan.stepStart.length - 1;
  for (let j = 0; j < steps; j++) {
    const queries: Query[] = [];
    const wanted: { image: number; cell: number }[] = [];
    for (let i = 0; i < batch; i++) {
      for (let q = plan.stepStart[j]; q < plan.stepStart[j + 1]; q++) {
        const input = plan.input[q];
        const token = input === INPUT_CONDITION
          ? CONDITION_TOKEN
          : input === INPUT_EOL
          ? eolToken!
          : grid[i * cells + input];
        if (token === -1 && input >= 0) {
          throw new Error(`Plan step ${j} reads cell ${input} before it is decoded`);
        }
        const wantLogits = plan.predicts[q] >= 0;
        queries.push({ seq: i, slot: plan.slot[q], token, wantLogits });
        if (cfg) queries.push({ seq: batch + i, slot: plan.slot[q], token, wantLogits });
        if (wantLogits) wanted.push({ image: i, cell: plan.predicts[q] });
      }
    }
    const logits = await session.step(queries); // logits: [wanted · (cfg ? 2 : 1), vocab]
    const rows = cfg ? 2 : 1;
    wanted.forEach(({ image, cell }, k) => {
      const base = k * rows * vocab;
      const cond = logits.subarray(base, base + vocab);
      const mixed = cfg
        ? mixCfg(cond, logits.subarray(base + vocab, base + 2 * vocab), cfgScale)
        : cond;
      const row = Math.floor(cell / plan.width), col = cell % plan.width;
      const key = cellKey(images[image].seed, images[image].index, row, col);
      grid[image * cells + cell] = sample(mixed, key, sampling);
    });
    if (onProgress && progressEvery > 0 && (j + 1) % progressEvery === 0) onProgress(j + 1);
  }
  onProgress?.(steps);
  return grid;
}
