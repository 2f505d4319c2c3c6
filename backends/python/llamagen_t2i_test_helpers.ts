/**
 * Shared by the LlamaGen text-to-image tests: the tiny random checkpoint and FLAN-T5 directory
 * (testing/python/tiny_models/llamagen_t2i.py), the peer (testing/python/peers/llamagen_t2i.py:
 * a greedy full-recompute loop on LlamaGen's official rules, and one full forward) and the real
 * Python backend on the checkpoint, its worker in the test mode.
 *
 * @module
 */

import { join } from "node:path";
import { openOracleBackend, type OracleBackend } from "../../testing/worker_oracles.ts";
import { tinyModel } from "../../testing/tiny_models.ts";
import { PYTHON, runPython } from "./test_helpers.ts";

/** The tiny checkpoint's file name (its _256 says 16x16) and its attention heads. */
export const T2I_NAME = "t2i_test_256.pt";
/** Attention heads of the tiny checkpoint (a size of no preset). */
export const T2I_HEADS = 4;

let root: Promise<string> | null = null;
let made: Promise<string> | null = null;

/** The temporary folder of this file's tiny models. */
function tinyRoot(): Promise<string> {
  root ??= Deno.makeTempDir({ prefix: "zipar-t2i-" });
  return root;
}

/**
 * The folder of the tiny t2i models (made once per test file): `t2i_test_256.pt` with `t5/`
 * beside it, and the broken `no-t5/`, `not-t5/`, `narrow-t5/`.
 */
export function tinyT2I(): Promise<string> {
  made ??= (async () =>
    await tinyModel({
      python: PYTHON!,
      module: "tiny_models.llamagen_t2i",
      name: "t2i",
      args: (out) => [out],
      to: join(await tinyRoot(), "t2i"),
    }))();
  return made;
}

/** Remove this file's tiny models (call from its last test). */
export async function removeTinyT2I(): Promise<void> {
  if (root) await Deno.remove(await root, { recursive: true });
  root = null;
  made = null;
}

/** The peer's greedy grids [H·W] of each prompt alone, and each prompt's caption tokens. */
export async function peerGrids(
  dir: string,
  grid: string,
  prompts: string[],
  cfg: number,
): Promise<{ grids: number[][]; valid: number[] }> {
  const args = [
    join(dir, T2I_NAME),
    join(dir, "t5"),
    "--grid",
    grid,
    "--heads",
    `${T2I_HEADS}`,
    ...prompts.flatMap((p) => ["--prompt", p]),
    "--cfg",
    `${cfg}`,
  ];
  return JSON.parse(await runPython(PYTHON!, "peers.llamagen_t2i", args));
}

/**
 * One full no-cache forward of the peer over the caption (or, `unconditional`, the null caption
 * under the prompt's mask) and the raster grid `codes`: logits [H·W, V] predicting each cell.
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
  const args = [join(dir, T2I_NAME), join(dir, "t5"), "--grid", grid, "--heads", `${T2I_HEADS}`];
  args.push("--prompt", prompt, "--logits", path, `${path}.f64`);
  await runPython(
    PYTHON!,
    "peers.llamagen_t2i",
    unconditional ? [...args, "--unconditional"] : args,
  );
  return new Float64Array((await Deno.readFile(`${path}.f64`)).buffer);
}

/** Open the tiny checkpoint of `dir` on the Python backend (test-mode worker) at `grid`. */
export function openT2I(
  dir: string,
  options: { grid?: string; logs?: string[] } = {},
): Promise<OracleBackend> {
  const logs = options.logs ?? [];
  return openOracleBackend({
    model: join(dir, T2I_NAME),
    python: PYTHON!,
    heads: T2I_HEADS,
    onLog: (line) => logs.push(line),
    handleSigint: false,
    ...(options.grid ? { grid: options.grid } : {}),
  });
}
