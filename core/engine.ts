/**
 * The generation loop: schedule → backend.step → sample → tracker, as an async generator of
 * step events ending with the grids and statistics.
 *
 * Interactive mode runs the loop here, one backend step per pass. Planned mode compiles a fixed
 * schedule (core/plan) and hands it to the backend once; the backend samples on its device.
 *
 * @module
 */

import { createLayout, type Layout } from "./layout.ts";
import { compilePlan, encodePlan } from "./plan.ts";
import { cellKey, MAX_SEED } from "./random.ts";
import {
  checkCfgScale,
  mixCfg,
  resolveSampling,
  sample,
  type SamplingOptions,
} from "./sampling.ts";
import type { Schedule } from "./schedule.ts";
import {
  type Backend,
  CONDITION_TOKEN,
  type ModelInfo,
  type PlanImage,
  type Query,
  type Session,
} from "./step.ts";
import { type CellDecode, Tracker } from "./tracker.ts";

/** How the engine drives the backend. */
export type GenerateMode = "interactive" | "planned" | "auto";

/** Options for {@linkcode generateStream} and {@linkcode generate}. */
export interface GenerateOptions {
  /** The images: class id, seed and draw index of each. */
  images: PlanImage[];
  /** The schedule (core/schedule); build it for `layoutOf(backend.info)`. */
  schedule: Schedule;
  /** Classifier-free guidance scale; 1 = none. @default 1 */
  cfgScale?: number;
  /** Temperature, top-k, top-p. @default { temperature: 1, topK: 0, topP: 1 } */
  sampling?: SamplingOptions;
  /** `auto` plans when the schedule is fixed and the backend can run plans. @default "auto" */
  mode?: GenerateMode;
  /** Planned mode: progress every N steps (0 = only at the end). @default 16 */
  progressEvery?: number;
  /** Clock in milliseconds. @default performance.now */
  now?: () => number;
}

/** Statistics of one generation. */
export interface GenerationStats {
  /** Mode actually used. */
  mode: "interactive" | "planned";
  /** Schedule name. */
  schedule: string;
  /** Forward passes (backend steps). */
  passes: number;
  /** Passes raster order would take for this grid: H · W. */
  rasterPasses: number;
  /** tokensPerPass[n]: passes that decoded n tokens per image (image 0 in planned mode). */
  tokensPerPass: number[];
  /** Queries sent per image, proxies written, corrections made (image 0). */
  queries: number;
  /** Proxy writes of image 0. */
  proxies: number;
  /** Correction writes of image 0. */
  corrections: number;
  /** Total wall time, ms. */
  wallMs: number;
  /** Time inside the backend (steps, or the whole plan), ms. */
  backendMs: number;
  /** Time scheduling (and compiling the plan), ms. */
  scheduleMs: number;
  /** Time mixing CFG and sampling in TypeScript, ms. */
  sampleMs: number;
  /** Schedule-specific statistics (the adaptive window's acceptance and windows), if any. */
  scheduleStats?: unknown;
}

/** The result of a generation. */
export interface Generation {
  /** grids: [B, H, W] token ids. */
  grids: Int32Array;
  /** [B, H, W]. */
  shape: [number, number, number];
  /** Statistics. */
  stats: GenerationStats;
}

/** An event of {@linkcode generateStream}. */
export type GenerateEvent =
  | {
    type: "step";
    /** Passes done so far (1-based index of this pass in interactive mode). */
    step: number;
    /** Total passes when known in advance (planned mode and fixed schedules), else null. */
    totalSteps: number | null;
    /** Backend queries of this pass (0 for planned progress reports). */
    queries: number;
    /** Tokens decoded by this pass over all images. */
    decoded: number;
    /** Tokens decoded so far over all images. */
    totalDecoded: number;
    /** Tokens in all grids. */
    totalTokens: number;
    /** Time of this pass in the backend, ms. */
    backendMs: number;
  }
  | { type: "done"; generation: Generation };

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

interface RunContext {
  backend: Backend;
  session: Session;
  options: GenerateOptions;
  layout: Layout;
  sampling: ReturnType<typeof resolveSampling>;
  cfgScale: number;
  start: number;
  now: () => number;
  progressEvery: number;
}

function emptyStats(ctx: RunContext, mode: "interactive" | "planned"): GenerationStats {
  return {
    mode,
    schedule: ctx.options.schedule.name,
    passes: 0,
    rasterPasses: ctx.layout.height * ctx.layout.width,
    tokensPerPass: [],
    queries: 0,
    proxies: 0,
    corrections: 0,
    wallMs: 0,
    backendMs: 0,
    scheduleMs: 0,
    sampleMs: 0,
  };
}

function countTokens(stats: GenerationStats, tokens: number): void {
  while (stats.tokensPerPass.length <= tokens) stats.tokensPerPass.push(0);
  stats.tokensPerPass[tokens]++;
}

async function* runInteractive(ctx: RunContext): AsyncGenerator<GenerateEvent, void, undefined> {
  const { backend, session, options, layout, sampling, cfgScale, now } = ctx;
  const { images, schedule } = options;
  const { vocab, eolToken } = backend.info;
  const batch = images.length, cfg = cfgScale !== 1;
  const rewrites = schedule.rewrites ?? false;
  const trackers = images.map(() => new Tracker(layout, schedule.window, { rewrites }));
  const stats = emptyStats(ctx, "interactive");
  const totalTokens = batch * layout.height * layout.width;
  let totalDecoded = 0;
  while (trackers.some((t) => !t.done)) {
    const t0 = now();
    const perImage = trackers.map((t) => (t.done ? [] : schedule.nextStep(t)));
    const queries: Query[] = [];
    for (let i = 0; i < batch; i++) {
      const tracker = trackers[i];
      if (!tracker.done && perImage[i].length === 0) {
        throw new Error(`Schedule ${schedule.name} stalled on image ${i}`);
      }
      for (const q of perImage[i]) {
        const token = q.input.kind === "condition"
          ? CONDITION_TOKEN
          : q.input.kind === "eol"
          ? eolToken!
          : tracker.tokenAt(q.input.row, q.input.col);
        const wantLogits = q.predicts !== null;
        queries.push({ seq: i, slot: q.slot, token, wantLogits });
        if (cfg) queries.push({ seq: batch + i, slot: q.slot, token, wantLogits });
      }
    }
    const t1 = now();
    const logits = await session.step(queries); // logits: [queries with wantLogits, vocab]
    const t2 = now();
    const rows = queries.reduce((n, q) => n + (q.wantLogits ? 1 : 0), 0);
    if (!(logits instanceof Float32Array) || logits.length !== rows * vocab) {
      throw new TypeError(
        `Backend ${backend.name} returned ${logits?.length} logits, expected ${rows} × ${vocab}`,
      );
    }
    const decodes: CellDecode[][] = [];
    let row = 0;
    for (let i = 0; i < batch; i++) {
      const mixedRows: (Float32Array | null)[] = perImage[i].map((q) => {
        if (!q.predicts) return null;
        const cond = logits.subarray(row * vocab, (row + 1) * vocab);
        row++;
        if (!cfg) return cond;
        const uncond = logits.subarray(row * vocab, (row + 1) * vocab);
        row++;
        return mixCfg(cond, uncond, cfgScale);
      });
      const { seed, index } = images[i];
      if (schedule.resolve) {
        const ctx = { sampling, seed, index };
        decodes.push(schedule.resolve(trackers[i], perImage[i], mixedRows, ctx));
        continue;
      }
      decodes.push(perImage[i].flatMap((q, k) => {
        if (!q.predicts) return [];
        const { row: r, col: c } = q.predicts;
        return [{
          row: r,
          col: c,
          token: sample(mixedRows[k]!, cellKey(seed, index, r, c), sampling),
        }];
      }));
    }
    const t3 = now();
    let decodedNow = 0;
    for (let i = 0; i < batch; i++) {
      const before = trackers[i].decoded;
      trackers[i].applyStep(perImage[i], decodes[i]);
      decodedNow += trackers[i].decoded - before;
    }
    if (perImage[0].length > 0) {
      countTokens(stats, decodes[0].filter((d) => !d.replace).length);
      stats.queries += perImage[0].length;
    }
    stats.scheduleMs += t1 - t0 + (now() - t3);
    stats.backendMs += t2 - t1;
    stats.sampleMs += t3 - t2;
    stats.passes++;
    totalDecoded += decodedNow;
    yield {
      type: "step",
      step: stats.passes,
      totalSteps: null,
      queries: queries.length,
      decoded: decodedNow,
      totalDecoded,
      totalTokens,
      backendMs: t2 - t1,
    };
  }
  for (const t of trackers) t.finish();
  const grids = new Int32Array(totalTokens);
  trackers.forEach((t, i) => grids.set(t.tokens, i * t.tokens.length));
  if (schedule.stats) stats.scheduleStats = schedule.stats(trackers);
  stats.proxies = trackers[0].proxiesWritten;
  stats.corrections = trackers[0].corrections;
  stats.wallMs = now() - ctx.start;
  yield { type: "done", generation: { grids, shape: [batch, layout.height, layout.width], stats } };
}

async function* runPlanned(ctx: RunContext): AsyncGenerator<GenerateEvent, void, undefined> {
  const { backend, session, options, layout, sampling, cfgScale, now, progressEvery } = ctx;
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
  const run = { plan: encoded, images, cfgScale, sampling, progressEvery };
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
  for (let i = 0; i < result.length; i++) {
    if (result[i] < 0 || result[i] >= vocab) {
      throw new RangeError(
        `Backend ${backend.name} returned token ${result[i]} outside 0..${vocab - 1}`,
      );
    }
  }
  stats.passes = totalSteps;
  stats.backendMs = now() - t1;
  stats.wallMs = now() - ctx.start;
  const shape: [number, number, number] = [images.length, layout.height, layout.width];
  yield { type: "done", generation: { grids: result, shape, stats } };
}
