/**
 * The planned loop: compile the fixed schedule once, hand it to the backend, and relay its
 * progress reports as events while it samples on its device.
 *
 * @module
 */

import { checkInt } from "./check.ts";
import { compilePlan, encodePlan } from "./plan.ts";
import { countTokens, emptyStats, type GenerateEvent, type RunContext } from "./generation.ts";

/**
 * Run a generation as one plan on the backend; core/engine's generateStream calls it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generate } from "./engine.ts";
 * import { layoutOf } from "./layout.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { MockBackend } from "../backends/mock/mock.ts";
 * const backend = new MockBackend({ height: 3, width: 3 });
 * const schedule = createSchedule(layoutOf(backend.info), { window: 1 });
 * const { stats } = await generate(backend, { images: [{ condition: 0, seed: 0, index: 0 }], schedule, mode: "planned" });
 * assert.equal(stats.mode, "planned");
 * assert.equal(stats.passes, 3 + 2 * 1);
 * ```
 */
export async function* runPlanned(ctx: RunContext): AsyncGenerator<GenerateEvent, void, undefined> {
  const { backend, session, options, layout, sampling, cfgScale, cfgInterval, cfgScales, now } =
    ctx;
  const { progressEvery } = ctx;
  const { images, schedule } = options;
  const stats = emptyStats(ctx, "planned");
  const t0 = now();
  const plan = compilePlan(layout, schedule);
  const encoded = encodePlan(plan);
  const t1 = now();
  stats.scheduleMs = t1 - t0;
  const totalSteps = plan.steps.length;
  const perImage = layout.height * layout.width;
  const totalTokens = images.length * perImage;
  const decodedBy = new Int32Array(totalSteps + 1); // decodedBy[j]: tokens per image after j steps
  plan.steps.forEach((qs, j) => {
    const n = qs.reduce((k, q) => k + (q.predicts ? 1 : 0), 0);
    decodedBy[j + 1] = decodedBy[j] + n;
    countTokens(stats, n);
    stats.queries += qs.length;
    stats.proxies += qs.reduce((k, q) => k + (q.proxy ? 1 : 0), 0);
  });
  stats.corrections = stats.proxies;
  // Progress reports arrive by callback; queue them for the generator.
  const pending: number[] = [];
  let wake: (() => void) | null = null;
  let finished = false;
  let failure: unknown = null;
  let grids: Int32Array | null = null;
  const run = {
    plan: encoded,
    images,
    cfgScale,
    cfgInterval,
    ...(cfgScales ? { cfgScales } : {}),
    sampling,
    progressEvery,
  };
  session.runPlan!(run, (done) => {
    pending.push(done);
    wake?.();
  }).then((g) => (grids = g), (e) => (failure = e)).finally(() => {
    finished = true;
    wake?.();
  });
  let last = 0, lastTime = t1;
  while (true) {
    while (pending.length > 0) {
      const done = Math.min(Math.max(pending.shift()!, 0), totalSteps);
      const t = now();
      yield {
        type: "step",
        step: done,
        totalSteps,
        queries: 0,
        decoded: (decodedBy[done] - decodedBy[last]) * images.length,
        totalDecoded: decodedBy[done] * images.length,
        totalTokens,
        backendMs: t - lastTime,
      };
      last = done;
      lastTime = t;
    }
    if (finished) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
  }
  if (failure) throw failure;
  const result = grids as Int32Array | null;
  if (!(result instanceof Int32Array) || result.length !== totalTokens) {
    throw new TypeError(
      `Backend ${backend.name} returned ${result?.length} grid tokens, expected ${totalTokens}`,
    );
  }
  const vocab = backend.info.vocab;
  const bad = result.findIndex((token) => token < 0 || token >= vocab);
  if (bad >= 0) {
    checkInt(`grid token ${bad} from backend ${backend.name}`, result[bad], 0, vocab - 1);
  }
  stats.passes = totalSteps;
  stats.backendMs = now() - t1;
  stats.wallMs = now() - ctx.start;
  const shape: [number, number, number] = [images.length, layout.height, layout.width];
  yield { type: "done", generation: { grids: result, shape, stats } };
}
