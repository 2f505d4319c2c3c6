/**
 * Shared by the Janus tests: the tiny random Janus directories
 * (testing/python/tiny_models/janus.py), transformers' own image loop as the peer
 * (testing/python/peers/janus.py), the float64 no-cache reference
 * (testing/python/references/prompt.py), and the real Python backend on a Janus directory.
 *
 * @module
 */

import { join } from "node:path";
import type { Sequence } from "../../core/condition.ts";
import type { Query } from "../../core/step.ts";
import { openOracleBackend, type OracleBackend } from "../../testing/worker_oracles.ts";
import { PYTHON, runPython } from "./test_helpers.ts";
import { tinyModel } from "../../testing/tiny_models.ts";

/** Tiny model presets of tiny_models/janus.py. */
export type JanusPreset = "test" | "pass" | "mid" | "mult";

const made = new Map<string, Promise<string>>();
let root: Promise<string> | null = null;

/**
 * A tiny random Janus directory of `preset` (or a broken one), made once per test run and copied
 * for this file; `layout` "official" writes the same model as DeepSeek releases it
 * (testing/python/tiny_models/janus.py --layout official).
 */
export function tinyJanus(
  preset: JanusPreset | "no-tokenizer" | "other-family" = "test",
  layout: "transformers" | "official" = "transformers",
) {
  root ??= Deno.makeTempDir({ prefix: "zipar-janus-" });
  const name = layout === "official" ? `${preset}-official` : preset;
  let dir = made.get(name);
  if (!dir) {
    dir = (async () => {
      const broken = preset === "no-tokenizer" || preset === "other-family";
      return await tinyModel({
        python: PYTHON!,
        module: "tiny_models.janus",
        name,
        args: (out) =>
          broken ? [out, "--broken", preset] : [out, "--preset", preset, "--layout", layout],
        to: join(await root!, name),
      });
    })();
    made.set(name, dir);
  }
  return dir;
}

/** Remove every tiny directory of this file (call from its last test). */
export async function removeTinyJanus(): Promise<void> {
  if (root) await Deno.remove(await root, { recursive: true });
  root = null;
  made.clear();
}

/**
 * transformers' own greedy image loop, each prompt alone: grids [H·W] and input ids; with
 * `officialPrompt` (an official-layout directory) on the ids of DeepSeek's official example.
 */
export async function peerGrids(
  dir: string,
  prompts: string[],
  cfg: number,
  officialPrompt?: string,
): Promise<{ grids: number[][]; inputIds: number[][] }> {
  const args = [dir, ...prompts.flatMap((p) => ["--prompt", p]), "--cfg", String(cfg)];
  if (officialPrompt) args.push("--official-prompt", officialPrompt);
  return JSON.parse(await runPython(PYTHON!, "peers.janus", args));
}

/** Logits of the no-cache float64 recompute for `steps` ([seq, slot, token, want] queries). */
export async function referenceLogits(
  dir: string,
  sequences: Sequence[],
  steps: readonly (readonly Query[])[],
): Promise<Float64Array> {
  const spec = {
    sequences,
    steps: steps.map((s) => s.map((q) => [q.seq, q.slot, q.token, q.wantLogits ? 1 : 0])),
  };
  const path = await Deno.makeTempFile({ dir: await root!, suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(spec));
  await runPython(PYTHON!, "references.prompt", [dir, path, `${path}.f64`]);
  return new Float64Array((await Deno.readFile(`${path}.f64`)).buffer);
}

/**
 * Open the Janus directory `dir` on the Python backend, its worker in the test mode
 * (testing/worker_oracles.ts); the worker's stderr goes to `logs`.
 */
export function openJanus(dir: string, logs: string[] = []): Promise<OracleBackend> {
  return openOracleBackend({
    model: dir,
    python: PYTHON!,
    onLog: (line) => logs.push(line),
    handleSigint: false,
  });
}
