/**
 * Shared by the Lumina-mGPT 2.0 tests: the tiny random directories of
 * testing/python/tiny_models/lumina2.py (made once per test file) and the peers of
 * testing/python/peers/lumina2.py (the release's sampling rules on a full-recompute loop, one
 * full forward).
 *
 * @module
 */

import { join } from "node:path";
import { PYTHON, runPython } from "./test_helpers.ts";
import { tinyModel } from "../../testing/tiny_models.ts";

/** The tiny directory kinds: the model (test: 4x4 by its name; pass: a context for 768 px,
 * 96x96 by its name), or a broken copy (tiny_models/lumina2.py --broken). */
export type Lumina2Kind = "test" | "pass" | "no-tokenizer" | "no-movqgan" | "small-vocab";

let root: Promise<string> | null = null;
const made = new Map<string, Promise<string>>();

/** A tiny directory named `${kind}-32` (32 px, 4x4 tokens by its name; `pass-768`), made once
 * per file. */
export function tinyLumina2(kind: Lumina2Kind = "test"): Promise<string> {
  let dir = made.get(kind);
  if (!dir) {
    dir = (async () => {
      root ??= Deno.makeTempDir({ prefix: "zipar-lumina2-" });
      const name = kind === "pass" ? "pass-768" : `${kind}-32`;
      return await tinyModel({
        python: PYTHON!,
        module: "tiny_models.lumina2",
        name,
        args: (out) =>
          kind === "test" || kind === "pass" ? [out, "--preset", kind] : [out, "--broken", kind],
        to: join(await root, name),
      });
    })();
    made.set(kind, dir);
  }
  return dir;
}

/** Remove this file's tiny directories (call from its last test). */
export async function removeTinyLumina2(): Promise<void> {
  if (root) await Deno.remove(await root, { recursive: true });
  root = null;
  made.clear();
}

/** The peer's greedy grids [H·W] of `prompts`, each alone, at CFG `cfg`. */
export async function peerGrids(grid: string, prompts: string[], cfg: number): Promise<number[][]> {
  const args = [await tinyLumina2(), "--grid", grid, ...prompts.flatMap((p) => ["--prompt", p])];
  return JSON.parse(await runPython(PYTHON!, "peers.lumina2", [...args, "--cfg", `${cfg}`]))
    .grids;
}

/** The peer's one full forward: the image logits [H·W, 16384] predicting each cell of `codes`
 * after `prompt`'s block (or, `unconditional`, the header alone). */
export async function peerForwardLogits(
  grid: string,
  prompt: string,
  codes: readonly number[],
  unconditional: boolean,
): Promise<Float64Array> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify(codes));
    const args = [await tinyLumina2(), "--grid", grid, "--prompt", prompt];
    await runPython(PYTHON!, "peers.lumina2", [
      ...args,
      ...["--logits", path, `${path}.f64`],
      ...(unconditional ? ["--unconditional"] : []),
    ]);
    return new Float64Array((await Deno.readFile(`${path}.f64`)).buffer);
  } finally {
    await Deno.remove(path);
    await Deno.remove(`${path}.f64`).catch(() => {});
  }
}
