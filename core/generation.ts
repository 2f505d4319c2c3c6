/**
 * What a generation takes and gives: options, events, statistics, and the context the
 * interactive and planned loops share.
 *
 * @module
 */

import type { Layout } from "./layout.ts";
import type { Sampling, SamplingOptions } from "./sampling.ts";
import type { Schedule } from "./schedule.ts";
import type { Backend, PlanImage, Session } from "./step.ts";

/** How the engine drives the backend. */
export type GenerateMode = "interactive" | "planned" | "auto";

/** Options for {@linkcode generateStream} and {@linkcode generate}. */
export interface GenerateOptions {
  /** The images: class id, seed and draw index of each. */
  images: PlanImage[];
  /** The schedule (core/schedule); build it for `layoutOf(backend.info)`. */
  schedule: Schedule;
  /**
   * Classifier-free guidance scale; 1 = none. A model with a `cfgRule` (Lumina-mGPT 2.0) turns
   * it into a scale per cell, as its release does (core/cfg's `cfgScales`). @default 1
   */
  cfgScale?: number;
  /**
   * LlamaGen's `cfg_interval`: −1 guides every token, N ≥ 0 the first N + 2 in raster order
   * (core/cfg's `cfgGuides`), whatever the schedule. @default -1
   */
  cfgInterval?: number;
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
  /** Steps run (forward passes; the user-facing name, see core/step). */
  passes: number;
  /** Steps raster order would take for this grid: H · W. */
  rasterPasses: number;
  /** tokensPerPass[n]: steps that decoded n tokens per image (image 0 in planned mode). */
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
    /** Steps done so far (1-based index of this step in interactive mode). */
    step: number;
    /** Total steps when known in advance (planned mode), else null. */
    totalSteps: number | null;
    /** Backend queries of this step (0 for planned progress reports). */
    queries: number;
    /** Tokens decoded by this step (since the last report in planned mode) over all images. */
    decoded: number;
    /** Tokens decoded so far over all images. */
    totalDecoded: number;
    /** Tokens in all grids. */
    totalTokens: number;
    /** Time of this step in the backend (since the last report in planned mode), ms. */
    backendMs: number;
  }
  | { type: "done"; generation: Generation };

/** What the interactive and planned loops share; core/engine builds it from the options. */
export interface RunContext {
  /** The backend (its name and ModelInfo). */
  backend: Backend;
  /** The open session: sequences 0..B−1 conditional, B..2B−1 unconditional with CFG. */
  session: Session;
  /** The generation options as given. */
  options: GenerateOptions;
  /** The model's sequence layout. */
  layout: Layout;
  /** Sampling settings, validated, defaults filled in. */
  sampling: Sampling;
  /** CFG scale; 1 = no unconditional sequences. */
  cfgScale: number;
  /** LlamaGen's `cfg_interval` (core/cfg's `cfgGuides`); −1 = every token guided. */
  cfgInterval: number;
  /**
   * cfgScales: [H·W], each cell's own CFG scale when the model has a `cfgRule` and CFG is on
   * (core/cfg's `cfgScales`); null: `cfgScale` at every cell.
   */
  cfgScales: Float64Array | null;
  /** Clock reading when the generation started, ms. */
  start: number;
  /** The clock, ms. */
  now: () => number;
  /** Planned mode: progress every N steps. */
  progressEvery: number;
}

/**
 * Statistics with nothing counted yet (used by core/interactive and core/planned).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyStats } from "./generation.ts";
 * import { createLayout } from "./layout.ts";
 * import { createSchedule } from "./schedule.ts";
 * const layout = createLayout({ height: 4, width: 6 });
 * const options = { images: [], schedule: createSchedule(layout, { window: 2 }) };
 * const stats = emptyStats({ options, layout }, "planned");
 * assert.equal(stats.schedule, "zipar(ideal, s=2)");
 * assert.deepEqual([stats.passes, stats.rasterPasses], [0, 24]);
 * ```
 */
export function emptyStats(
  ctx: Pick<RunContext, "options" | "layout">,
  mode: "interactive" | "planned",
): GenerationStats {
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

/**
 * Count a step that decoded `tokens` tokens per image in `stats.tokensPerPass`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countTokens, type GenerationStats } from "./generation.ts";
 * const stats = { tokensPerPass: [] as number[] } as GenerationStats;
 * countTokens(stats, 2);
 * assert.deepEqual(stats.tokensPerPass, [0, 0, 1]);
 * ```
 */
export function countTokens(stats: GenerationStats, tokens: number): void {
  while (stats.tokensPerPass.length <= tokens) stats.tokensPerPass.push(0);
  stats.tokensPerPass[tokens]++;
}
