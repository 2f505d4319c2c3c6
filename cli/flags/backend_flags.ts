/**
 * The backend flags of `zipar generate`, `zipar batch` and `zipar bench`, parsed in one place:
 * `--backend`, the mock model's `--grid`, `--vocab`, `--num-classes`, `--prefix`, `--eol`,
 * `--reach-*`, `--sharpness`, `--model-seed`, and `--model`, `--python`, `--device`, `--dtype`,
 * `--threads` for real models, turned into a {@linkcode BackendSpec} for backends/open.ts.
 *
 * @module
 */

import { MAX_SEED } from "../../core/mod.ts";
import { CONTRACT } from "../../core/contract.ts";
import { BACKENDS, type BackendSpec } from "../../backends/open.ts";
import type { PythonBackendOptions } from "../../backends/python/client.ts";
import {
  choiceFlag,
  intFlag,
  numberFlag,
  type OptionSpec,
  parseGrid,
  ValidationError,
  type Values,
} from "./args.ts";
import { isDirectory } from "../io/atomic_write.ts";
import { quietWorkerLog } from "../io/quiet_log.ts";

/** The backend flags' declarations. */
export const BACKEND_OPTIONS: OptionSpec = {
  backend: { type: "string" },
  grid: { type: "string" },
  vocab: { type: "string" },
  "num-classes": { type: "string" },
  prefix: { type: "string" },
  eol: { type: "boolean" },
  "reach-left": { type: "string" },
  "reach-above-left": { type: "string" },
  "reach-above-right": { type: "string" },
  sharpness: { type: "string" },
  "model-seed": { type: "string" },
  text: { type: "boolean" },
  model: { type: "string" },
  python: { type: "string" },
  device: { type: "string" },
  dtype: { type: "string" },
  threads: { type: "string" },
  heads: { type: "string" },
  weights: { type: "string" },
  size: { type: "string" },
  "vision-tokenizer": { type: "string" },
  "text-encoder": { type: "string" },
};

/** `--threads N`'s help line, for every command that runs the Python worker. */
export const THREADS_HELP =
  "--threads N              torch CPU threads (python; default OMP_NUM_THREADS, else torch's)";

/** The backend flags' help lines, one block for every command that takes them. */
export const BACKEND_USAGE = `Backend:
  --backend NAME           mock | python | webgpu (default: python with --model, else mock)

Mock model (--backend mock):
  --grid HxW               grid size (default: 16x16)
  --vocab V                vocabulary size (default: 64)
  --num-classes N          classes; class N is the null class for CFG (default: 10)
  --prefix N               conditioning slots (default: 1)
  --eol                    end-of-line slot after each row (EOL token = vocab)
  --reach-left K           tokens to the left the logits depend on (default: 2)
  --reach-above-left A     columns to the left in the row above (default: 1)
  --reach-above-right B    columns to the right in the row above (default: 1)
  --sharpness X            logit scale, larger = peakier (default: 3)
  --model-seed N           salt of the mock's hash, its "weights" (default: 0)
  --text                   a text-to-image mock: it conditions on prompts (hashed)

Real models (--backend python | webgpu):
  --model PATH             model weights / config (required)
  --python PATH            python interpreter (python backend)
  --device DEV             e.g. cuda, cpu (python backend)
  --dtype TYPE             e.g. float32, bfloat16 (python); float32 or float16 (webgpu:
                           default float16 for 16-bit weights on a shader-f16 adapter)
  ${THREADS_HELP}
  --vision-tokenizer DIR   BAAI/Emu3-VisionTokenizer, for BAAI's official Emu3-Gen directory
                           (default: its vision_tokenizer/, else Emu3-VisionTokenizer beside it)
  --text-encoder DIR       FLAN-T5 (google/flan-t5-xl), for a LlamaGen text-to-image .pt
                           (default: t5/, else flan-t5-xl/, beside the checkpoint)

A model that makes several image sizes (--backend python):
  --size PX                image side in px: Lumina-mGPT 512 | 768 | 1024 (default: the
                           directory name's, else 768), Emu3-Gen (default 720), a LlamaGen .pt
  --grid HxW               the token grid instead (a .pt: default its training args, else
                           _256 / _384 in the name)

A LlamaGen .pt checkpoint (--backend python; webgpu needs \`zipar convert\` first):
  --heads N                attention heads, for sizes of no preset
  --num-classes N          classes (default: its training args, else class-table rows - 1)
  --weights model|ema      state dict of a training checkpoint (default: model)`;

/** Flags of the mock model only. */
const MOCK_FLAGS = [
  "grid",
  "vocab",
  "num-classes",
  "prefix",
  "eol",
  "reach-left",
  "reach-above-left",
  "reach-above-right",
  "sharpness",
  "model-seed",
  "text",
];
/** Flags of the Python backend only. */
const PYTHON_FLAGS = ["python", "device", "dtype", "threads", "vision-tokenizer", "text-encoder"];
/** Of those, the flags WebGPU takes too. */
const WEBGPU_FLAGS = ["dtype"];
/** Flags of the image size on the Python backend (`grid`: the mock's too). */
const SIZE_FLAGS = ["grid", "size"];
/** Flags of a LlamaGen `.pt` on the Python backend (`num-classes`: the mock's too). */
const PT_FLAGS = ["heads", "num-classes", "weights"];

/**
 * `--threads N`: torch's intra-op CPU threads in the Python worker, or undefined for torch's
 * own choice (which honours `OMP_NUM_THREADS`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { threadsFlag } from "./backend_flags.ts";
 * assert.equal(threadsFlag({ threads: "1" }), 1);
 * assert.equal(threadsFlag({}), undefined);
 * ```
 */
export function threadsFlag(values: Values): number | undefined {
  return intFlag(values, "threads", 1, 1024);
}

/**
 * Read the backend flags. Flags of another backend than the chosen one are usage errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendFlags } from "./backend_flags.ts";
 * const spec = backendFlags({ grid: "8x6", eol: true });
 * assert(spec.backend === "mock");
 * assert.deepEqual([spec.mock.height, spec.mock.width, spec.mock.eolToken], [8, 6, 64]);
 * ```
 */
export function backendFlags(values: Values): BackendSpec {
  // A model directory or checkpoint means the Python backend unless another is named.
  const backend = choiceFlag(
    values,
    "backend",
    BACKENDS,
    values.model !== undefined ? "python" : "mock",
  );
  const given = (names: string[]) => names.find((n) => values[n] !== undefined);
  if (backend === "mock") {
    const wrong = given(["model", ...PYTHON_FLAGS, "heads", "weights"]);
    if (wrong) throw new ValidationError(`--${wrong} applies to --backend python|webgpu, not mock`);
    if (values.size !== undefined) {
      throw new ValidationError(
        "--size applies to --backend python, not mock (--grid HxW sizes it)",
      );
    }
    const [height, width] = parseGrid("--grid", (values.grid as string | undefined) ?? "16x16");
    const vocab = intFlag(values, "vocab", 1, 1 << 20, 64);
    const reach = (name: string, fallback: number) => intFlag(values, name, 0, 4096, fallback);
    return {
      backend,
      mock: {
        height,
        width,
        vocab,
        numClasses: intFlag(values, "num-classes", 1, 1 << 20, 10),
        prefix: intFlag(values, "prefix", 1, 1 << 16, 1),
        eolToken: values.eol ? vocab : null,
        left: reach("reach-left", 2),
        aboveLeft: reach("reach-above-left", 1),
        aboveRight: reach("reach-above-right", 1),
        sharpness: numberFlag(values, "sharpness", (n) => n >= 0 && n <= 1e6, "in 0..1e6", 3),
        modelSeed: intFlag(values, "model-seed", 0, MAX_SEED, 0),
        ...(values.text ? { conditioning: "text" as const } : {}),
      },
    };
  }
  const wrong = given(
    backend === "webgpu"
      ? [
        ...MOCK_FLAGS,
        ...PYTHON_FLAGS.filter((f) => !WEBGPU_FLAGS.includes(f)),
        ...PT_FLAGS,
        ...SIZE_FLAGS,
      ]
      : MOCK_FLAGS.filter((f) => !PT_FLAGS.includes(f) && !SIZE_FLAGS.includes(f)),
  );
  if (wrong) throw new ValidationError(`--${wrong} does not apply to --backend ${backend}`);
  const model = values.model;
  if (typeof model !== "string" || model === "") {
    throw new ValidationError(`--backend ${backend} needs --model PATH`);
  }
  if (backend === "webgpu") {
    const dtype = values.dtype;
    return { backend, model, ...(typeof dtype === "string" ? { dtype } : {}) };
  }
  const pt = given(PT_FLAGS);
  if (pt && isDirectory(model)) {
    throw new ValidationError(
      `--${pt} applies to a LlamaGen .pt checkpoint, not to the model directory ${model}`,
      "Its config.json fixes the heads and classes; drop the flag.",
    );
  }
  const opt = (
    name: string,
  ) => (typeof values[name] === "string" ? values[name] as string : undefined);
  return {
    backend,
    model,
    python: opt("python"),
    // Passed on as given: the worker checks them and names the values it takes in one line.
    device: opt("device") as PythonBackendOptions["device"],
    dtype: opt("dtype") as PythonBackendOptions["dtype"],
    ...(values.threads !== undefined ? { threads: threadsFlag(values) } : {}),
    ...(opt("vision-tokenizer") !== undefined ? { visionTokenizer: opt("vision-tokenizer") } : {}),
    ...(opt("text-encoder") !== undefined ? { textEncoder: opt("text-encoder") } : {}),
    ...sizeFlags(values),
    ...ptFlags(values),
    // --quiet: the worker's `note:` lines (which num_classes a .pt used, …) stay unsaid.
    ...(values.quiet === true ? { onLog: quietWorkerLog } : {}),
  };
}

/**
 * `--grid HxW` or `--size PX` for a model that makes several image sizes, when given (the
 * worker checks them against the model and names the sizes it takes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sizeFlags } from "./backend_flags.ts";
 * assert.deepEqual(sizeFlags({ size: "512" }), { size: 512 });
 * assert.deepEqual(sizeFlags({ grid: "32x48" }), { grid: "32x48" });
 * assert.deepEqual(sizeFlags({}), {});
 * ```
 */
export function sizeFlags(values: Values): Pick<PythonBackendOptions, "grid" | "size"> {
  if (values.grid !== undefined && values.size !== undefined) {
    throw new ValidationError("--grid and --size exclude each other: give one");
  }
  if (typeof values.grid === "string") return { grid: parseGrid("--grid", values.grid).join("x") };
  if (values.size !== undefined) return { size: intFlag(values, "size", ...CONTRACT.imageSizePx) };
  return {};
}

/** `--heads`, `--num-classes`, `--weights` for a `.pt` checkpoint, when given. */
function ptFlags(values: Values): Partial<PythonBackendOptions> {
  const out: Partial<PythonBackendOptions> = {};
  if (values.heads !== undefined) out.heads = intFlag(values, "heads", 1, 1024);
  if (values["num-classes"] !== undefined) {
    out.numClasses = intFlag(values, "num-classes", 1, 1 << 20);
  }
  if (values.weights !== undefined) {
    out.weights = choiceFlag(values, "weights", ["model", "ema"] as const, "model");
  }
  return out;
}

/**
 * The grid width the flags fix before any backend opens (the mock's `--grid`), to check
 * windows early; null when only the model can tell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendFlags, knownWidth } from "./backend_flags.ts";
 * assert.equal(knownWidth(backendFlags({ grid: "4x6" })), 6);
 * assert.equal(knownWidth(backendFlags({ backend: "webgpu", model: "m" })), null);
 * ```
 */
export function knownWidth(spec: BackendSpec): number | null {
  return spec.backend === "mock" ? spec.mock.width ?? null : null;
}
