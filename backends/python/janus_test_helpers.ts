/**
 * Shared by the Janus tests: the tiny random Janus directories (worker/families/janus/tiny.py),
 * transformers' own image loop as the peer (families/janus/peer.py), the float64 no-cache
 * reference (worker/prompt_reference.py), and a backend over the Janus worker.
 *
 * Until core's step contract carries text conditions (CONDITIONS.md), {@linkcode openJanus}
 * drives the worker through its protocol behind today's `Backend` interface: class id c stands
 * for prompt c of the list it was opened with, and the null class (`numClasses` = the number of
 * prompts) for an image's unconditional half. The frames it sends (`open` with `sequences`, the
 * `plan` images with `{prompt}` conditions) are the contract's; only the class-id mapping goes
 * when the engine speaks prompts.
 *
 * @module
 */

import { join } from "node:path";
import type { Backend, ModelInfo, PlanRun, Query, Session } from "../../core/step.ts";
import { WorkerProcess } from "./worker_process.ts";
import { PYTHON, runPython } from "./test_helpers.ts";

/** A text condition as the worker takes it (CONDITIONS.md). */
export interface PromptCondition {
  /** The prompt. */
  prompt: string;
  /** Replaces the padded prompt in the unconditional sequence. */
  negativePrompt?: string;
}

/** One sequence of an `open` frame. */
export interface SequenceSpec {
  /** The image's condition. */
  condition: PromptCondition;
  /** Whether this is the image's unconditional (CFG) half. */
  unconditional: boolean;
}

/** Tiny model presets of tiny.py. */
export type JanusPreset = "test" | "pass" | "mid";

const made = new Map<string, Promise<string>>();
let root: Promise<string> | null = null;

/** A tiny random Janus directory of `preset` (or a broken one), made once per test file. */
export function tinyJanus(preset: JanusPreset | "no-tokenizer" | "other-family" = "test") {
  root ??= Deno.makeTempDir({ prefix: "zipar-janus-" });
  let dir = made.get(preset);
  if (!dir) {
    dir = (async () => {
      const out = join(await root!, preset);
      const broken = preset === "no-tokenizer" || preset === "other-family";
      await runPython(
        PYTHON!,
        "families.janus.tiny",
        broken ? [out, "--broken", preset] : [out, "--preset", preset],
      );
      return out;
    })();
    made.set(preset, dir);
  }
  return dir;
}

/** Remove every tiny directory of this file (call from its last test). */
export async function removeTinyJanus(): Promise<void> {
  if (root) await Deno.remove(await root, { recursive: true });
  root = null;
  made.clear();
}

/** transformers' own greedy image loop, each prompt alone: grids [H·W] and input ids. */
export async function peerGrids(
  dir: string,
  prompts: string[],
  cfg: number,
): Promise<{ grids: number[][]; inputIds: number[][] }> {
  const args = [dir, ...prompts.flatMap((p) => ["--prompt", p]), "--cfg", String(cfg)];
  return JSON.parse(await runPython(PYTHON!, "families.janus.peer", args));
}

/** Logits of the no-cache float64 recompute for `steps` ([seq, slot, token, want] queries). */
export async function referenceLogits(
  dir: string,
  sequences: SequenceSpec[],
  steps: readonly (readonly Query[])[],
): Promise<Float64Array> {
  const spec = {
    sequences,
    steps: steps.map((s) => s.map((q) => [q.seq, q.slot, q.token, q.wantLogits ? 1 : 0])),
  };
  const path = await Deno.makeTempFile({ dir: await root!, suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(spec));
  await runPython(PYTHON!, "prompt_reference", [dir, path, `${path}.f64`]);
  return new Float64Array((await Deno.readFile(`${path}.f64`)).buffer);
}

/** A backend over a Janus worker, for the prompts it was opened with. */
export interface JanusBackend extends Backend {
  /** Open a session of explicit sequences (the `open` frame of CONDITIONS.md). */
  openSequences(sequences: SequenceSpec[]): Promise<Session>;
  /** The worker's plain raster loop (family-independent test oracle). */
  rasterInWorker(images: PlanRun["images"], cfgScale: number): Promise<Int32Array>;
  /** transformers' own loop in the worker: grids and its wall time in the worker. */
  transformersGenerate(
    images: PlanRun["images"],
    cfgScale: number,
  ): Promise<{ grids: Int32Array; wallMs: number }>;
  /** The image decoder of the model: tokens [B, H, W] -> RGB [B, H·s, W·s, 3]. */
  decode(tokens: Int32Array, shape: [number, number, number]): Promise<Uint8Array>;
  /** The raw `ready` frame. */
  readonly ready: Record<string, unknown>;
  /** The worker's stderr lines so far. */
  readonly logs: string[];
}

const REQUEST = { timeoutMs: 600_000 };

/**
 * Start a worker on the Janus directory `dir`; class id c = `conditions[c]`. Its stderr lines
 * go to `logs` (also when the start fails).
 */
export async function openJanus(
  dir: string,
  conditions: PromptCondition[] = [],
  logs: string[] = [],
): Promise<JanusBackend> {
  const { process, ready } = await WorkerProcess.start({
    python: PYTHON!,
    onLog: (line) => logs.push(line),
    handleSigint: false,
  }, { model: dir });
  const info = { ...(ready.info as ModelInfo), numClasses: conditions.length };
  let sessions = 0;
  const withPrompts = (images: PlanRun["images"]) =>
    images.map((im) => ({ ...im, condition: conditions[im.condition] }));

  async function openSequences(sequences: SequenceSpec[]): Promise<Session> {
    const id = sessions++;
    await process.request({ type: "open", session: id, sequences }, {}, REQUEST);
    return {
      async step(queries) {
        const n = queries.length;
        const seq = new Int32Array(n), slot = new Int32Array(n), token = new Int32Array(n);
        const want = new Uint8Array(n);
        queries.forEach((q, i) => {
          [seq[i], slot[i], token[i], want[i]] = [q.seq, q.slot, q.token, q.wantLogits ? 1 : 0];
        });
        const { arrays } = await process.request(
          { type: "step", session: id },
          { seq, slot, token, want },
          REQUEST,
        );
        return arrays.logits as Float32Array;
      },
      async runPlan(run, onProgress) {
        const { plan } = run;
        const header = {
          type: "plan",
          session: id,
          height: plan.height,
          width: plan.width,
          images: withPrompts(run.images),
          cfgScale: run.cfgScale,
          sampling: run.sampling,
          progressEvery: run.progressEvery,
        };
        const arrays = {
          stepStart: plan.stepStart,
          slot: plan.slot,
          input: plan.input,
          predicts: plan.predicts,
        };
        const { arrays: out } = await process.request(header, arrays, {
          ...REQUEST,
          onProgress: (h) => onProgress?.(Number(h.stepsDone)),
        });
        onProgress?.(plan.stepStart.length - 1);
        return out.grids as Int32Array;
      },
      async close() {
        await process.request({ type: "close", session: id }, {}, REQUEST);
      },
    };
  }

  const greedy = { temperature: 0, topK: 0, topP: 1 };
  return {
    name: "python",
    info,
    ready,
    logs,
    openSequences,
    open(classes) {
      const b = classes.filter((c) => c !== info.numClasses).length;
      return openSequences(classes.map((c, i) => ({
        condition: conditions[c === info.numClasses ? classes[i - b] : c],
        unconditional: c === info.numClasses,
      })));
    },
    async rasterInWorker(images, cfgScale) {
      const request = { type: "raster", images: withPrompts(images), cfgScale, sampling: greedy };
      return (await process.request(request, {}, REQUEST)).arrays.grids as Int32Array;
    },
    async transformersGenerate(images, cfgScale) {
      const request = {
        type: "transformers_generate",
        images: withPrompts(images),
        cfgScale,
        sampling: greedy,
      };
      const { header, arrays } = await process.request(request, {}, REQUEST);
      return { grids: arrays.grids as Int32Array, wallMs: Number(header.wallMs) };
    },
    async decode(tokens, shape) {
      const { header } = await process.request(
        { type: "load_decoder", decoder: 1, source: { model: true } },
        {},
        REQUEST,
      );
      if (header.type !== "decoder") throw new Error("no decoder");
      const { arrays } = await process.request(
        { type: "decode", decoder: 1, shape },
        { tokens },
        REQUEST,
      );
      await process.request({ type: "close_decoder", decoder: 1 }, {}, REQUEST);
      return arrays.pixels as Uint8Array;
    },
    close: () => process.close(),
  };
}
