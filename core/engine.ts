/**
 * The generation entry point: check the options, open a session, and run the interactive loop
 * (schedule → backend step → sample → tracker, core/interactive) or the planned one (the whole
 * fixed schedule handed to the backend at once, core/planned). Both are async generators of
 * step events ending with the grids and statistics.
 *
 * @module
 */

import { cfgScales } from "./cfg.ts";
import { checkInt } from "./check.ts";
import { checkCondition, sequencesFor } from "./condition.ts";
import type { GenerateEvent, GenerateOptions, Generation } from "./generation.ts";
import { runInteractive } from "./interactive.ts";
import { layoutOf } from "./layout.ts";
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

function checkImages(images: PlanImage[], info: ModelInfo): void {
  if (!Array.isArray(images) || images.length === 0) {
    throw new RangeError("Need at least one image to generate");
  }
  for (const { condition, seed, index } of images) {
    checkCondition(condition, info);
    checkInt("seed", seed, 0, MAX_SEED);
    checkInt("image index", index, 0, MAX_SEED);
  }
}

/**
 * Run a generation, yielding an event per step (or per progress report in planned mode) and a
 * final `done` event with the grids and statistics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateStream } from "./engine.ts";
 * import { layoutOf } from "./layout.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { MockBackend } from "../backends/mock/mock.ts";
 * const backend = new MockBackend({ height: 4, width: 4 });
 * const schedule = createSchedule(layoutOf(backend.info), { window: 2 });
 * const images = [{ condition: 1, seed: 0, index: 0 }];
 * const events = [];
 * for await (const event of generateStream(backend, { images, schedule, mode: "interactive" })) {
 *   events.push(event);
 * }
 * const done = events.at(-1);
 * assert.ok(done?.type === "done");
 * assert.equal(done.generation.stats.passes, 4 + 3 * 2);
 * assert.equal(events.length, 4 + 3 * 2 + 1); // one "step" event per step, then "done"
 * ```
 */
export async function* generateStream(
  backend: Backend,
  options: GenerateOptions,
): AsyncGenerator<GenerateEvent, void, undefined> {
  const { images, schedule, cfgScale = 1, cfgInterval = -1, mode = "auto" } = options;
  const { progressEvery = 16 } = options;
  const now = options.now ?? (() => performance.now());
  const sampling = resolveSampling(options.sampling);
  checkCfgScale(cfgScale);
  checkInt("cfgInterval", cfgInterval, -1, MAX_SEED);
  const info = backend.info;
  checkImages(images, info);
  const layout = layoutOf(info);
  const cfg = cfgScale !== 1;
  // The model's own scale per cell (Lumina-mGPT 2.0's decay), written once in core/cfg.
  const scales = cfg && info.cfgRule ? cfgScales(info.cfgRule, cfgScale, layout) : null;
  const start = now();
  const session = await backend.open(sequencesFor(images.map((im) => im.condition), cfg));
  try {
    // A plan runner that does not know cfg_interval would guide every token, one that does not
    // know per-cell scales would mix with cfgScale everywhere: run those interactive.
    const planless = typeof session.runPlan !== "function"
      ? ""
      : cfg && cfgInterval >= 0 && session.plansCfgInterval !== true
      ? " with a CFG interval"
      : scales && session.plansCfgScales !== true
      ? ` with a CFG scale per cell (${info.family}'s cfgRule)`
      : null;
    const canPlan = schedule.fixed && planless === null;
    if (mode === "planned" && !canPlan) {
      throw new TypeError(
        schedule.fixed
          ? `Backend ${backend.name} cannot run plans${planless}: use interactive mode`
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
      cfgInterval,
      cfgScales: scales,
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
 * import { generate } from "./engine.ts";
 * import { layoutOf } from "./layout.ts";
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
