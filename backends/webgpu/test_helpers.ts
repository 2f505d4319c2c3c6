/**
 * Shared by the WebGPU tests: fake grids, query histories from real schedules, max abs diff.
 * Whether a test runs at all comes from testing/runtimes.ts (`needs`).
 *
 * @module
 */

import { createLayout, type Layout } from "../../core/layout.ts";
import { compilePlan } from "../../core/plan.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { cfgQueries } from "../../core/cfg.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import type { LlamagenConfig } from "../llamagen_config.ts";

/** A fake decoded grid: a fixed token for every cell. */
export function fakeToken(config: LlamagenConfig, seq: number, row: number, col: number): number {
  return (row * 31 + col * 17 + seq * 7 + 3) % config.vocab;
}

/**
 * The interactive steps of a schedule for one image, inputs filled from its fake grid (proxies
 * read the fake token of the cell they stand in for), on `seqs` sequences: 1, or 2 for the image
 * and its unconditional CFG half, built by core/cfg as the engine builds them. Every predicting
 * query wants logits.
 */
export function scheduleSteps(
  config: LlamagenConfig,
  seqs: 1 | 2,
  options: ScheduleOptions,
): { layout: Layout; steps: Query[][] } {
  const layout = createLayout({
    height: config.grid[0],
    width: config.grid[1],
    prefix: config.prefix,
  });
  const plan = compilePlan(layout, createSchedule(layout, options));
  const steps = plan.steps.map((templates) => {
    const writes = templates.map((t) => ({
      slot: t.slot,
      token: t.input.kind === "cell"
        ? fakeToken(config, 0, t.input.row, t.input.col)
        : QUERY_TOKEN_CONDITION,
      wantLogits: t.predicts !== null,
    }));
    return cfgQueries([writes], seqs === 2);
  });
  return { layout, steps };
}

/** Largest |a − b| over two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
