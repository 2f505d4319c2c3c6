/**
 * zipar core: the ZipAR engine as pure modules — layout, tracker, schedules, sampling, plans and
 * the generation loop. No I/O; backends and the CLI live elsewhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countPasses } from "./mod.ts";
 * assert(countPasses({ height: 24, width: 24, window: 8 }) === 208);
 * ```
 *
 * @module
 */

export * from "./layout.ts";
export * from "./tracker.ts";
export * from "./schedule.ts";
export * from "./random.ts";
export * from "./sampling.ts";
export * from "./step.ts";
export * from "./plan.ts";
export * from "./engine.ts";
export * from "./verify.ts";
export * from "./adaptive.ts";
