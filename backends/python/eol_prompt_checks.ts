/**
 * The checks a prompt family with EOL rows passes against its peers, shared by the Lumina-mGPT
 * 1.0 and 2.0 tests (lumina_test.ts, lumina2_test.ts): each test file gives its backend, grid,
 * codebook, prompts and peer, and asserts its own family facts beside these.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { PromptCondition, Sequence } from "../../core/condition.ts";
import type { ScheduleOptions } from "../../core/schedule.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { greedyRun } from "../../testing/greedy_run.ts";
import { cfgStepsOf, codesOf, maxDiff } from "./lumina_test_helpers.ts";
import {
  assertBatchEqualsAlone,
  assertRasterEqualsPeer,
  assertZiparWindows,
  type GreedyRunner,
} from "../../testing/family_parity.ts";
import { runSteps, type StepRun } from "../../testing/step_runs.ts";

/** What the checks run on. */
export interface EolFamily {
  /** Run `fn` on the family's backend opened at `grid`. */
  withBackend: (fn: (backend: OracleBackend) => Promise<void>) => Promise<void>;
  /** [H, W] of the backend's grid. */
  grid: [number, number];
  /** The codebook V (the EOL token is V). */
  vocab: number;
  /** Prompts of different lengths. */
  prompts: string[];
}

/** Greedy images of `f.prompts[which]`. */
export function runPrompts(
  f: EolFamily,
  backend: OracleBackend,
  which: number[],
  schedule: ScheduleOptions,
  cfg: number,
  mode: "interactive" | "planned" = "interactive",
) {
  const conditions: PromptCondition[] = which.map((p) => ({ prompt: f.prompts[p] }));
  return greedyRun(backend, conditions, schedule, cfg, mode);
}

/**
 * A raster run's step logits under the slot cache, conditional and unconditional rows, equal
 * `peer`'s full forward ([H·W, V] per half) over the same random codes, for prompt 1.
 */
export async function checkStepLogits(
  f: EolFamily,
  peer: (codes: number[], unconditional: boolean) => Promise<Float64Array>,
): Promise<void> {
  const [h, w] = f.grid, v = f.vocab;
  const codes = codesOf(7, h * w, v);
  assert.ok(new Set(codes).size > h * w / 2, `codes ${codes}`);
  const { steps, predicted } = cfgStepsOf(f.grid, v, { kind: "raster" }, codes);
  assert.equal(predicted.length, h * w);
  const condition = { prompt: f.prompts[1] };
  const sequences: Sequence[] = [
    { condition, unconditional: false },
    { condition, unconditional: true },
  ];
  const run: StepRun = { sequences, steps, got: [] };
  await f.withBackend((backend) => runSteps(backend, [run]));
  const { got } = run;
  assert.equal(got.length, predicted.length * 2 * v);
  for (const unconditional of [false, true]) {
    const want = await peer(codes, unconditional);
    const mine = new Float64Array(h * w * v);
    predicted.forEach((cell, k) => {
      const row = 2 * k + (unconditional ? 1 : 0); // rows alternate cond, uncond
      mine.set(got.slice(row * v, (row + 1) * v), cell * v);
    });
    const diff = maxDiff(mine, want);
    assert.ok(diff < 1e-4, `${unconditional ? "unconditional" : "conditional"}: ${diff}`);
  }
}

/** The family's greedy runner on an open backend (testing/family_parity.ts). */
function runnerOf(f: EolFamily, backend: OracleBackend): GreedyRunner {
  return (which, schedule, cfg, mode) => runPrompts(f, backend, which, schedule, cfg, mode);
}

/**
 * Greedy raster, interactive and planned, of each prompt alone equals `peer` (the grids of
 * prompts 0 and 1 at `cfg`), which must differ and not be uniform.
 */
export async function checkRasterEqualsPeer(
  f: EolFamily,
  cfg: number,
  peer: number[][],
): Promise<void> {
  assert.notDeepEqual(peer[0], peer[1], "prompts give the same grid");
  for (const grid of peer) assert.ok(new Set(grid).size > 8, `uniform grid ${grid}`);
  const cells = f.grid[0] * f.grid[1];
  await f.withBackend((b) => assertRasterEqualsPeer(runnerOf(f, b), peer, cells, cfg));
}

/** A batch of prompts 1, 0, 1 equals `peer`'s grids; a ZipAR batch equals each image alone. */
export async function checkBatch(f: EolFamily, cfg: number, peer: number[][]): Promise<void> {
  const cells = f.grid[0] * f.grid[1];
  await f.withBackend((b) => assertBatchEqualsAlone(runnerOf(f, b), peer, cells, cfg, 2));
}

/**
 * ZipAR at s = W equals raster; each of `windows` takes W + (H − 1)·s passes (returned per
 * window) and its planned run equals its interactive one.
 */
export async function checkZipar(
  f: EolFamily,
  cfg: number,
  windows: number[],
): Promise<number[]> {
  const [height, width] = f.grid;
  let passes: number[] = [];
  await f.withBackend(async (b) => {
    passes = await assertZiparWindows(runnerOf(f, b), { height, width, cfgs: [cfg], windows });
  });
  return passes;
}
