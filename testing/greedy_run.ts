/**
 * One greedy generation of prompt (or class) conditions on an open backend, seed 0 and image i
 * at index i: what the family tests compare with their peers' grids.
 *
 * ```ts ignore
 * import { greedyRun } from "../../testing/greedy_run.ts";
 * const { grids, stats } = await greedyRun(backend, [{ prompt: "a fox" }], { kind: "raster" }, 3);
 * ```
 *
 * @module
 */

import { generate } from "../core/engine.ts";
import { layoutOf } from "../core/layout.ts";
import { createSchedule, type ScheduleOptions } from "../core/schedule.ts";
import type { Condition } from "../core/condition.ts";
import type { Backend } from "../core/step.ts";

/** Generate greedily (temperature 0) the images of `conditions` under `schedule`. */
export async function greedyRun(
  backend: Backend,
  conditions: readonly Condition[],
  schedule: ScheduleOptions,
  cfgScale: number,
  mode: "interactive" | "planned" = "interactive",
) {
  return await generate(backend, {
    images: conditions.map((condition, index) => ({ condition, seed: 0, index })),
    schedule: createSchedule(layoutOf(backend.info), schedule),
    cfgScale,
    sampling: { temperature: 0 },
    mode,
  });
}

/**
 * {@linkcode greedyRun} over a fixed list of conditions, its images picked by index: a family
 * test's `run(backend, [0, 1], { window: 2 }, 3)`.
 */
export function conditionRunner(conditions: readonly Condition[]) {
  return (
    backend: Backend,
    which: readonly number[],
    schedule: ScheduleOptions,
    cfgScale: number,
    mode: "interactive" | "planned" = "interactive",
  ) => greedyRun(backend, which.map((i) => conditions[i]), schedule, cfgScale, mode);
}
