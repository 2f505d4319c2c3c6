/**
 * What a generation takes and gives: options, events, statistics, and the context the
 * interactive and planned loops share.
 *
 * @module
 */

import type { Layout } from "./layout.ts";
import type { resolveSampling, SamplingOptions } from "./sampling.ts";
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

/** What the interactive and planned loops share. */
export interface RunContext {
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

/**
 * Statistics with nothing counted yet (used by core/interactive and core/planned).
 *
 * @example
 * ```ts ignore
 * const stats = emptyStats(ctx, "planned"); // ctx: the RunContext built by core/engine
 * ```
 */
export function emptyStats(ctx: RunContext, mode: "interactive" | "planned"): GenerationStats {
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
 * Count a pass that decoded `tokens` tokens per image in `stats.tokensPerPass`.
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
