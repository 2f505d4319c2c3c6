/**
 * zipar core: the ZipAR engine as pure modules — layout, tracker, schedules, sampling, plans and
 * the generation loop. No I/O; backends and the CLI live elsewhere.
 *
 * Where to start: core/step (the step contract, its sentinels, and the one word "step" for a
 * forward pass), core/layout (slots), core/schedule (the window rule's queries), core/interactive
 * (the loop: nextQueries → backendQueries → step → sample → apply), core/cfg (CFG halves),
 * core/sampling and core/tracker (the fixed schedules' referee). The reactive schedules —
 * adaptive windows, speculative Jacobi decoding — live in core/speculative/, with their own
 * referee (core/speculative/referee).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countSteps } from "./mod.ts";
 * assert.equal(countSteps({ height: 24, width: 24, window: 8 }), 208);
 * ```
 *
 * @module
 */

export * from "./check.ts";
export * from "./layout.ts";
export * from "./tracker.ts";
export * from "./schedule.ts";
export * from "./random.ts";
export * from "./sampling.ts";
export * from "./step.ts";
export * from "./condition.ts";
export * from "./cfg.ts";
export * from "./plan.ts";
export * from "./engine.ts";
export * from "./speculative/verify.ts";
export * from "./speculative/adaptive.ts";
export * from "./speculative/jacobi.ts";
export * from "./speculative/adaptive_v2.ts";
export * from "./speculative/speculative_rows.ts";
export * from "./speculative/referee.ts";
