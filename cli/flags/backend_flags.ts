/**
 * Backend flags shared by `zipar batch` and `zipar bench`: `--backend`, the mock's `--grid`,
 * `--vocab`, `--num-classes`, `--model-seed`, and `--model`, `--python`, `--device`,
 * `--dtype` for real models, turned into a {@linkcode BackendSpec} for backends/open.ts.
 *
 * @module
 */

import { MAX_SEED } from "../../core/mod.ts";
import { BACKENDS, type BackendSpec } from "../../backends/open.ts";
import type { PythonBackendOptions } from "../../backends/python/client.ts";
import {
  choiceFlag,
  intFlag,
  type OptionSpec,
  parseGrid,
  ValidationError,
  type Values,
} from "./args.ts";

/** The backend flags' declarations. */
export const BACKEND_OPTIONS: OptionSpec = {
  backend: { type: "string" },
  grid: { type: "string" },
  vocab: { type: "string" },
  "num-classes": { type: "string" },
  "model-seed": { type: "string" },
  model: { type: "string" },
  python: { type: "string" },
  device: { type: "string" },
  dtype: { type: "string" },
};

/** The backend flags' help lines. */
export const BACKEND_USAGE = `Backend:
  --backend NAME           mock | python | webgpu (default: mock)
  --grid HxW               mock: grid size (default: 16x16)
  --vocab V                mock: vocabulary size (default: 64)
  --num-classes N          mock: classes (default: 10)
  --model-seed N           mock: salt of its hash, its "weights" (default: 0)
  --model PATH             python | webgpu: model weights / directory (required)
  --python PATH            python: interpreter
  --device DEV             python: e.g. cuda, cpu
  --dtype TYPE             python: e.g. float32, bfloat16`;

const MOCK_ONLY = ["grid", "vocab", "num-classes", "model-seed"];
const PYTHON_ONLY = ["python", "device", "dtype"];

/**
 * Read the backend flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendFlags } from "./backend_flags.ts";
 * const spec = backendFlags({ grid: "8x8" });
 * assert(spec.backend === "mock" && spec.mock.width === 8);
 * ```
 */
export function backendFlags(values: Values): BackendSpec {
  const backend = choiceFlag(values, "backend", BACKENDS, "mock");
  const given = (names: string[]) => names.find((n) => values[n] !== undefined);
  if (backend === "mock") {
    const wrong = given(["model", ...PYTHON_ONLY]);
    if (wrong) throw new ValidationError(`--${wrong} applies to --backend python|webgpu, not mock`);
    const [height, width] = parseGrid("--grid", (values.grid as string | undefined) ?? "16x16");
    return {
      backend,
      mock: {
        height,
        width,
        vocab: intFlag(values, "vocab", 1, 1 << 20, 64),
        numClasses: intFlag(values, "num-classes", 1, 1 << 20, 10),
        modelSeed: intFlag(values, "model-seed", 0, MAX_SEED, 0),
      },
    };
  }
  const wrong = given(backend === "webgpu" ? [...MOCK_ONLY, ...PYTHON_ONLY] : MOCK_ONLY);
  if (wrong) throw new ValidationError(`--${wrong} does not apply to --backend ${backend}`);
  const model = values.model;
  if (typeof model !== "string" || model === "") {
    throw new ValidationError(`--backend ${backend} needs --model PATH`);
  }
  if (backend === "webgpu") return { backend, model };
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
  };
}

/** The backend part of output metadata: `modelPath` (+ device, dtype) or the mock options. */
export function backendMeta(spec: BackendSpec): Record<string, unknown> {
  if (spec.backend === "mock") return { mock: spec.mock };
  if (spec.backend === "webgpu") return { modelPath: spec.model };
  return { modelPath: spec.model, device: spec.device ?? null, dtype: spec.dtype ?? null };
}
