/**
 * The CLI's generation loop, shared by `generate`, `batch`, `bench`, `demo` and `eval`: consume
 * core's event stream, report each step (to a progress line, say), let the event loop run now
 * and then so a SIGINT handler can fire mid-run, and return the generation.
 *
 * @module
 */

import {
  type Backend,
  type GenerateEvent,
  type GenerateOptions,
  generateStream,
  type Generation,
} from "../../core/mod.ts";
import type { ProgressReporter } from "../io/progress.ts";

/** A step event of core's stream. */
export type StepEvent = Extract<GenerateEvent, { type: "step" }>;

/** Options of {@linkcode runGeneration}. */
export interface RunOptions {
  /** Called after every step with the time since the run started, ms. */
  onStep?: (event: StepEvent, elapsedMs: number) => void;
  /**
   * Yield to the event loop at least this often, ms, so signal handlers run during a backend
   * that never waits (the mock). @default 50
   */
  yieldEveryMs?: number;
  /** Clock, ms. @default performance.now */
  now?: () => number;
}

/**
 * Run one generation to the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSchedule, layoutOf } from "../../core/mod.ts";
 * import { MockBackend } from "../../backends/mock/mock.ts";
 * import { runGeneration } from "./run.ts";
 * const backend = new MockBackend({ height: 4, width: 4 });
 * const schedule = createSchedule(layoutOf(backend.info), { window: 2 });
 * let steps = 0;
 * const { stats } = await runGeneration(
 *   backend,
 *   { images: [{ condition: 1, seed: 0, index: 0 }], schedule, mode: "interactive" },
 *   { onStep: () => steps++ },
 * );
 * assert.deepEqual([stats.passes, steps], [4 + 3 * 2, 10]);
 * ```
 */
export async function runGeneration(
  backend: Backend,
  request: GenerateOptions,
  options: RunOptions = {},
): Promise<Generation> {
  const { onStep, yieldEveryMs = 50, now = () => performance.now() } = options;
  const started = now();
  let yielded = started;
  for await (const event of generateStream(backend, request)) {
    if (event.type === "done") return event.generation;
    onStep?.(event, now() - started);
    if (now() - yielded > yieldEveryMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      yielded = now();
    }
  }
  throw new Error("the generation ended without a result");
}

/**
 * An `onStep` that draws the steps done and tokens decoded on a progress line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgressReporter } from "../io/progress.ts";
 * import { stepProgress } from "./run.ts";
 * let out = "";
 * const progress = new ProgressReporter((s) => (out += s), {
 *   enabled: true, color: false, columns: 80, delayMs: 0, intervalMs: 0,
 * });
 * const event = { type: "step", step: 3, totalSteps: 10, queries: 2, decoded: 2, totalDecoded: 5, totalTokens: 16, backendMs: 1 } as const;
 * stepProgress(progress)(event, 1200);
 * assert.match(out, /pass 3\/10  tokens 5\/16  1\.2s$/);
 * ```
 */
export function stepProgress(
  progress: ProgressReporter,
): (event: StepEvent, elapsedMs: number) => void {
  return (event, elapsedMs) =>
    progress.update({
      step: event.step,
      totalSteps: event.totalSteps,
      decoded: event.totalDecoded,
      totalTokens: event.totalTokens,
      elapsedMs,
    });
}
