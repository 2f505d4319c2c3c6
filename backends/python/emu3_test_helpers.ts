/**
 * Shared by the Emu3 tests: the tiny random Emu3 directories (testing/python/tiny_models/emu3.py),
 * transformers' own generate with Emu3's prefix constraint and CFG as the peer
 * (testing/python/peers/emu3.py), the float64 no-cache reference, the step/allocation probe
 * (testing/python/step_probe.py), and the real Python backend on an Emu3 directory.
 *
 * @module
 */

import type { Sequence } from "../../core/condition.ts";
import type { EncodedPlan, PlanImage, Query } from "../../core/step.ts";
import type { SamplingOptions } from "../../core/sampling.ts";
import { openOracleBackend, type OracleBackend } from "../../testing/worker_oracles.ts";
import { promptReferenceLogits, tinyDirs } from "./hf_test_helpers.ts";
import { PYTHON, runPython } from "./test_helpers.ts";

/** Presets of tiny_models/emu3.py: 5×5 test model, 90×90 pass model, 32×32 mid-size bench model. */
export type Emu3Preset = "test" | "pass" | "mid";
/** Broken directories of tiny_models/emu3.py. */
export type Emu3Broken = "no-tokenizer" | "other-family" | "no-decoder" | "bad-visual";

const dirs = tinyDirs<Emu3Preset, Emu3Broken>("tiny_models.emu3", [
  "no-tokenizer",
  "other-family",
  "no-decoder",
  "bad-visual",
]);

/** The test preset's image_area (5×5 tokens of 8 px), for the peer. */
export const TEST_IMAGE_AREA = 40 * 40;

/**
 * A tiny random Emu3 directory of `kind`, made once per test run and copied for this file;
 * `layout` "official": the same model as BAAI releases it, with its vision tokenizer in
 * vision_tokenizer/ (testing/python/tiny_models/emu3.py --layout official).
 */
export function tinyEmu3(
  kind: Emu3Preset | Emu3Broken = "test",
  layout: "transformers" | "official" = "transformers",
): Promise<string> {
  return dirs.dir(kind, layout);
}

/** Remove every tiny directory of this file (call from its last test). */
export function removeTinyEmu3(): Promise<void> {
  return dirs.remove();
}

/** What the peer returns: per prompt the grid [H·W], the input ids and the generated ids. */
export interface Emu3Peer {
  grids: number[][];
  inputIds: number[][];
  negativeIds: number[][];
  generated: number[][];
}

/**
 * transformers' own greedy generate, each prompt alone (testing/python/peers/emu3.py); with
 * `officialPrompt` (an official BAAI directory) on the ids of BAAI's own example.
 */
export async function peerGrids(
  dir: string,
  prompts: string[],
  cfg: number,
  options: { negative?: string; imageArea?: number; officialPrompt?: string } = {},
): Promise<Emu3Peer> {
  const args = [dir, ...prompts.flatMap((p) => ["--prompt", p]), "--cfg", String(cfg)];
  args.push("--image-area", String(options.imageArea ?? TEST_IMAGE_AREA));
  if (options.negative !== undefined) args.push("--negative", options.negative);
  if (options.officialPrompt) args.push("--official-prompt", options.officialPrompt);
  return JSON.parse(await runPython(PYTHON!, "peers.emu3", args));
}

/** RGB bytes [B, H·8, W·8, 3] of transformers' decode_image_tokens for grids [[H·W], …]. */
export async function peerPixels(dir: string, grids: number[][]): Promise<Uint8Array> {
  const path = await dirs.tempFile(".json");
  await Deno.writeTextFile(path, JSON.stringify(grids));
  await runPython(PYTHON!, "peers.emu3", [
    dir,
    "--decode",
    path,
    `${path}.raw`,
    "--image-area",
    String(TEST_IMAGE_AREA),
  ]);
  return await Deno.readFile(`${path}.raw`);
}

/** Logits of the no-cache float64 recompute for `steps`. */
export async function referenceLogits(
  dir: string,
  sequences: Sequence[],
  steps: readonly (readonly Query[])[],
): Promise<Float64Array> {
  return promptReferenceLogits(dir, sequences, steps, await dirs.tempFile(".json"));
}

/** What testing/python/step_probe.py reports of a planned run. */
export interface StepProbe {
  steps: number;
  capacity: number;
  sequences: number;
  layerKeyBytes: number;
  cacheBytes: number;
  largestStepAllocation: number;
  profiledSteps: [number, number];
  stepMs: { firstQuarter: number; lastQuarter: number };
  peakRssBytes: number;
  cellsDecoded: number;
}

/** Run `plan` through planner.run_plan with the step/allocation probe on. */
export async function probePlan(
  dir: string,
  spec: {
    images: PlanImage[];
    cfgScale: number;
    sampling: Required<SamplingOptions>;
    plan: EncodedPlan;
    profile: [number, number];
  },
): Promise<StepProbe> {
  const { plan } = spec;
  const path = await dirs.tempFile(".json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      ...spec,
      plan: {
        height: plan.height,
        width: plan.width,
        stepStart: [...plan.stepStart],
        slot: [...plan.slot],
        input: [...plan.input],
        predicts: [...plan.predicts],
      },
    }),
  );
  return JSON.parse(await runPython(PYTHON!, "step_probe", [dir, path]));
}

/**
 * Open the Emu3 directory `dir` on the Python backend, its worker in the test mode
 * (testing/worker_oracles.ts); the worker's stderr goes to `logs`.
 */
export function openEmu3(
  dir: string,
  logs: string[] = [],
  options: { grid?: string } = {},
): Promise<OracleBackend> {
  return openOracleBackend({
    model: dir,
    python: PYTHON!,
    onLog: (line) => logs.push(line),
    handleSigint: false,
    ...options,
  });
}
