/**
 * Shared by the tests of the Hugging Face prompt families (Emu3; Janus has its own copy of the
 * same two pieces): tiny random model directories of a family's builder
 * (testing/python/tiny_models/; built once per test run, copied into each file's folder), and
 * the float64 no-cache reference of testing/python/references/prompt.py.
 *
 * @module
 */

import { join } from "node:path";
import type { Sequence } from "../../core/condition.ts";
import type { Query } from "../../core/step.ts";
import { PYTHON, runPython } from "./test_helpers.ts";
import { tinyModel } from "../../testing/tiny_models.ts";

/** Tiny directories of one family's builder, made on first use, removed together. */
export interface TinyDirs<P extends string, B extends string> {
  /**
   * The directory of `preset` (or of a broken kind), made once; `layout` "official": the same
   * model as its publisher releases it (its builder's --layout official).
   */
  dir(kind: P | B, layout?: "transformers" | "official"): Promise<string>;
  /** A temporary file in the same root (removed with it). */
  tempFile(suffix: string): Promise<string>;
  /** Remove every directory made so far (call from a file's last test). */
  remove(): Promise<void>;
}

/**
 * Tiny directories of `module` (e.g. `families.emu3.tiny`): presets by `--preset`, the names
 * in `broken` by `--broken`.
 */
export function tinyDirs<P extends string, B extends string>(
  module: string,
  broken: readonly B[],
): TinyDirs<P, B> {
  const made = new Map<string, Promise<string>>();
  let root: Promise<string> | null = null;
  const rootDir = () => root ??= Deno.makeTempDir({ prefix: "zipar-hf-" });
  return {
    dir(kind, layout = "transformers") {
      const name = layout === "official" ? `${kind}-official` : kind;
      let dir = made.get(name);
      if (!dir) {
        dir = (async () => {
          const isBroken = (broken as readonly string[]).includes(kind);
          return await tinyModel({
            python: PYTHON!,
            module,
            name,
            args: (out) =>
              isBroken ? [out, "--broken", kind] : [out, "--preset", kind, "--layout", layout],
            to: join(await rootDir(), name),
          });
        })();
        made.set(name, dir);
      }
      return dir;
    },
    async tempFile(suffix) {
      return await Deno.makeTempFile({ dir: await rootDir(), suffix });
    },
    async remove() {
      if (root) await Deno.remove(await root, { recursive: true });
      root = null;
      made.clear();
    },
  };
}

/**
 * Logits of the no-cache float64 recompute (testing/python/references/prompt.py) for
 * `steps`, in query order; `scratch` is a temporary file path prefix for the exchange.
 */
export async function promptReferenceLogits(
  dir: string,
  sequences: Sequence[],
  steps: readonly (readonly Query[])[],
  scratch: string,
): Promise<Float64Array> {
  const spec = {
    sequences,
    steps: steps.map((s) => s.map((q) => [q.seq, q.slot, q.token, q.wantLogits ? 1 : 0])),
  };
  await Deno.writeTextFile(scratch, JSON.stringify(spec));
  await runPython(PYTHON!, "references.prompt", [dir, scratch, `${scratch}.f64`]);
  return new Float64Array((await Deno.readFile(`${scratch}.f64`)).buffer);
}
