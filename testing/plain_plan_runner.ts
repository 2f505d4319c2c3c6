/**
 * A backend whose sessions run plans but declare none of the plan options a session may know
 * (`plansCfgInterval`, `plansCfgScales`): what the engine must fall back to interactive mode
 * for. The CFG tests wrap the mock in it.
 *
 * ```ts ignore
 * import { plainPlanRunner } from "../testing/plain_plan_runner.ts";
 * const unaware = plainPlanRunner(new MockBackend(), "unaware");
 * ```
 *
 * @module
 */

import type { Backend, Session } from "../core/step.ts";

/** `backend` under `name`, its sessions reduced to step, runPlan and close. */
export function plainPlanRunner(backend: Backend, name: string): Backend {
  return {
    name,
    info: backend.info,
    async open(sequences) {
      const session = await backend.open(sequences);
      return {
        step: (queries) => session.step(queries),
        runPlan: (run, onProgress) => session.runPlan!(run, onProgress),
        close: () => session.close(),
      } satisfies Session;
    },
    close: () => Promise.resolve(),
  };
}
