/**
 * The generation loop: schedule → backend.step → sample → tracker, as an async generator of
 * step events ending with the grids and statistics.
 *
 * Interactive mode (core/interactive) runs one backend step per pass. Planned mode
 * (core/planned) compiles a fixed schedule and hands it to the backend once; the backend samples
 * on its device.
 *
 * @module
 */

import { createLayout, type Layout } from "./layout.ts";
import type { GenerateEvent, GenerateOptions, Generation } from "./generation.ts";
import { runInteractive } from "./interactive.ts";
import { runPlanned } from "./planned.ts";
import { MAX_SEED } from "./random.ts";
import { checkCfgScale, resolveSampling } from "./sampling.ts";
import type { Backend, ModelInfo, PlanImage } from "./step.ts";

export type {
  GenerateEvent,
  GenerateMode,
  GenerateOptions,
  Generation,
  GenerationStats,
} from "./generation.ts";

/**
 * The sequence layout of a model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layoutOf } from "./engine.ts";
 * const info = { name: "m", family: "mock", vocab: 8, height: 4, width: 5, prefix: 1,
 *   eolToken: null, numClasses: 10 };
 * assert(layoutOf(info).numSlots === 21);
 * ```
 */
export function layoutOf(info: ModelInfo): Layout {
  return createLayout({
    height: info.height,
    width: info.width,
    prefix: info.prefix,
    eol: info.eolToken !== null,
  });
}

function checkImages(images: PlanImage[], info: ModelInfo): void {
  if (!Array.isArray(images) || images.length === 0) {
    throw new RangeError("Need at least one image to generate");
  }
  for (const { condition, seed, index } of images) {
    if (!Number.isInteger(condition) || condition < 0 || condition > info.numClasses) {
      throw new RangeError(
        `class must be an integer in 0..${
          info.numClasses - 1
        } (${info.numClasses} = null class), got ${condition}`,
      );
    }
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new RangeError(`seed must be an integer in 0..${MAX_SEED}, got ${seed}`);
    }
    if (!Number.isInteger(index) || index < 0 || index > MAX_SEED) {
      throw new RangeError(`image index must be an integer in 0..${MAX_SEED}, got ${index}`);
    }
  }
}

/**
 * Run a generation, yielding an event per pass (or per progress report in planned mode) and a
 * final `done` event with the grids and statistics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateStream, layoutOf } from "./engine.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { MockBackend } from "../backends/mock/mock.ts";
 * const backend = new MockBackend({ height: 4, width: 4 });
 * const schedule = createSchedule(layoutOf(backend.info), { window: 2 });
 * for await (const event of generateStream(backend, { images: [{ condition: 1, seed: 0, index: 0 }], schedule })) {
 *   if (event.type === "done") assert(event.generation.stats.passes === 4 + 3 * 2);
 * }
 * ```
 */
export async function* generateStream(
  backend: Backend,
  options: GenerateOptions,
): AsyncGenerator<GenerateEvent, void, undefined> {
  const { images, schedule, cfgScale = 1, mode = "auto", progressEvery = 16 } = options;
  const now = options.now ?? (() => performance.now());
  const sampling = resolveSampling(options.sampling);
  checkCfgScale(cfgScale);
  const info = backend.info;
  checkImages(images, info);
  const layout = layoutOf(info);
  const cfg = cfgScale !== 1;
  const conditions = images.map((im) => im.condition);
  if (cfg) { for (let i = 0; i < images.length; i++) conditions.push(info.numClasses); }
  const start = now();
  const session = await backend.open(conditions);
  try {
    const canPlan = schedule.fixed && typeof session.runPlan === "function";
    if (mode === "planned" && !canPlan) {
      throw new TypeError(
        schedule.fixed
          ? `Backend ${backend.name} cannot run plans: use interactive mode`
          : `Schedule ${schedule.name} reacts to model outputs: use interactive mode`,
      );
    }
    const run = mode === "interactive" || !canPlan ? runInteractive : runPlanned;
    yield* run({
      backend,
      session,
      options,
      layout,
      sampling,
      cfgScale,
      start,
      now,
      progressEvery,
    });
  } finally {
    await session.close();
  }
}

/**
 * Run a generation to the end and return its grids and statistics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generate, layoutOf } from "./engine.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { MockBackend } from "../backends/mock/mock.ts";
 * const backend = new MockBackend({ height: 3, width: 3 });
 * const schedule = createSchedule(layoutOf(backend.info), { kind: "raster" });
 * const { grids } = await generate(backend, { images: [{ condition: 0, seed: 1, index: 0 }], schedule });
 * assert(grids.length === 9);
 * ```
 */
export async function generate(backend: Backend, options: GenerateOptions): Promise<Generation> {
  for await (const event of generateStream(backend, options)) {
    if (event.type === "done") return event.generation;
  }
  throw new Error("Generation ended without a result");
}
