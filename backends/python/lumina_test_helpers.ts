/**
 * Shared by the Lumina-mGPT tests: the tiny random directories
 * (testing/python/tiny_models/lumina.py), the peers on transformers' own Chameleon
 * (testing/python/peers/lumina.py: Lumina's sampling loop on `generate`, and one full forward of
 * the model), the float64 no-cache recompute (testing/python/references/prompt.py), the float64
 * VQGAN reference (testing/python/references/lumina_vqgan.py) and the real Python backend on a
 * Lumina directory.
 *
 * @module
 */

import { join } from "node:path";
import { cfgQueries } from "../../core/cfg.ts";
import type { Sequence } from "../../core/condition.ts";
import { createLayout } from "../../core/layout.ts";
import { compilePlan } from "../../core/plan.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import { openOracleBackend, type OracleBackend } from "../../testing/worker_oracles.ts";
import { PYTHON, runPython } from "./test_helpers.ts";
import { tinyModel } from "../../testing/tiny_models.ts";

/** Tiny model presets of tiny_models/lumina.py, and the broken directories it writes. */
export type LuminaPreset = "test" | "pass" | "mid";
/** Broken directories of tiny_models/lumina.py. */
export type LuminaBroken = "no-tokenizer" | "other-family" | "no-vqgan" | "no-image-tokens";

/** The size each preset's directory name ends in: test 4x4 (64 px), pass 48x48, mid 24x24. */
const SIZE: Record<LuminaPreset, number> = { test: 64, pass: 768, mid: 384 };

const made = new Map<string, Promise<string>>();
let root: Promise<string> | null = null;

/** The temporary folder of this file's tiny directories. */
export function tinyRoot(): Promise<string> {
  root ??= Deno.makeTempDir({ prefix: "zipar-lumina-" });
  return root;
}

/** A tiny random Lumina directory of `preset` (or a broken one), made once per test file. */
export function tinyLumina(preset: LuminaPreset | LuminaBroken = "test"): Promise<string> {
  let dir = made.get(preset);
  if (!dir) {
    dir = (async () => {
      const broken = !(preset in SIZE);
      const name = broken ? `${preset}-64` : `${preset}-${SIZE[preset as LuminaPreset]}`;
      return await tinyModel({
        python: PYTHON!,
        module: "tiny_models.lumina",
        name,
        args: (out) => broken ? [out, "--broken", preset] : [out, "--preset", preset],
        to: join(await tinyRoot(), name),
      });
    })();
    made.set(preset, dir);
  }
  return dir;
}

/** Remove every tiny directory of this file (call from its last test). */
export async function removeTinyLumina(): Promise<void> {
  if (root) await Deno.remove(await root, { recursive: true });
  root = null;
  made.clear();
}

/** Lumina's greedy sampling loop on transformers' generate, each prompt alone: grids [H·W]. */
export async function peerGrids(
  dir: string,
  grid: string,
  prompts: string[],
  cfg: number,
): Promise<{ grids: number[][]; inputIds: number[][] }> {
  const args = [dir, "--grid", grid, ...prompts.flatMap((p) => ["--prompt", p]), "--cfg", `${cfg}`];
  return JSON.parse(await runPython(PYTHON!, "peers.lumina", args));
}

/**
 * One full forward of transformers' Chameleon over a whole raster sequence (the prompt's block,
 * or with `unconditional` the header alone, then the rows of `codes` with their EOLs): the
 * logits [H·W, V] predicting each cell, raster order.
 */
export async function peerForwardLogits(
  dir: string,
  grid: string,
  prompt: string,
  codes: readonly number[],
  unconditional: boolean,
): Promise<Float64Array> {
  const path = await Deno.makeTempFile({ dir: await tinyRoot(), suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(codes));
  const args = [dir, "--grid", grid, "--prompt", prompt, "--logits", path, `${path}.f64`];
  await runPython(
    PYTHON!,
    "peers.lumina",
    unconditional ? [...args, "--unconditional"] : args,
  );
  return new Float64Array((await Deno.readFile(`${path}.f64`)).buffer);
}

/**
 * Logits of the no-cache float64 recompute for `steps` ([seq, slot, token, want] queries) on the
 * model opened with `grid`.
 */
export async function referenceLogits(
  dir: string,
  grid: string,
  sequences: Sequence[],
  steps: readonly (readonly Query[])[],
): Promise<Float64Array> {
  const spec = {
    grid,
    sequences,
    steps: steps.map((s) => s.map((q) => [q.seq, q.slot, q.token, q.wantLogits ? 1 : 0])),
  };
  const path = await Deno.makeTempFile({ dir: await tinyRoot(), suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(spec));
  await runPython(PYTHON!, "references.prompt", [dir, path, `${path}.f64`]);
  return new Float64Array((await Deno.readFile(`${path}.f64`)).buffer);
}

/** The float64 reference decoder's output [B, 3, H·16, W·16] for codes [B][H][W]. */
export async function referenceDecode(dir: string, codes: number[][][]): Promise<Float64Array> {
  const path = await Deno.makeTempFile({ dir: await tinyRoot(), suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(codes));
  await runPython(PYTHON!, "references.lumina_vqgan", [
    join(dir, "vqgan.ckpt"),
    join(dir, "vqgan.yaml"),
    path,
    `${path}.f64`,
  ]);
  return new Float64Array((await Deno.readFile(`${path}.f64`)).buffer);
}

/**
 * Open the Lumina directory `dir` on the Python backend, its worker in the test mode
 * (testing/worker_oracles.ts); the worker's stderr goes to `logs`.
 */
export function openLumina(
  dir: string,
  options: { grid?: string; logs?: string[] } = {},
): Promise<OracleBackend> {
  const logs = options.logs ?? [];
  return openOracleBackend({
    model: dir,
    python: PYTHON!,
    onLog: (line) => logs.push(line),
    handleSigint: false,
    ...(options.grid ? { grid: options.grid } : {}),
  });
}

export { maxDiff } from "../../testing/step_runs.ts";

/** `n` random codes below `vocab` (testing/family_parity.ts's 32-bit LCG from `seed`). */
export { lcgCodes as codesOf } from "../../testing/family_parity.ts";

/**
 * The steps of a plan of an `height` x `width` + EOL grid for one image and its CFG half
 * (sequences 0 and 1) with `codes` as the cells' tokens (EOL = `vocab`), and the cell each
 * logits row pair predicts, in order.
 */
export function cfgStepsOf(
  [height, width]: [number, number],
  vocab: number,
  options: ScheduleOptions,
  codes: number[],
): { steps: Query[][]; predicted: number[] } {
  const layout = createLayout({ height, width, eol: true });
  const plan = compilePlan(layout, createSchedule(layout, options));
  const predicted: number[] = [];
  const steps: Query[][] = plan.steps.map((queries) => {
    for (const q of queries) {
      if (q.predicts) predicted.push(q.predicts.row * width + q.predicts.col);
    }
    return cfgQueries([
      queries.map((q) => ({
        slot: q.slot,
        token: q.input.kind === "cell"
          ? codes[q.input.row * width + q.input.col]
          : q.input.kind === "eol"
          ? vocab
          : QUERY_TOKEN_CONDITION,
        wantLogits: q.predicts !== null,
      })),
    ], true);
  });
  return { steps, predicted };
}
