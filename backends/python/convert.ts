/**
 * `zipar convert --from llamagen IN.pt --preset GPT-B [--grid 16x16] --out DIR`: a LlamaGen
 * `.pt` checkpoint (loaded with `weights_only=True` only) to DIR/model.safetensors +
 * DIR/config.json; and `zipar convert --from llamagen-vq vq_ds16_c2i.pt --out DIR`: the VQ-16
 * tokenizer to DIR/vq.json + DIR/vq.safetensors. Both are kinds of one converter,
 * worker/convert.py (`gpt` and `vq`), which writes atomically.
 *
 * @module
 */

import { resolvePython } from "./interpreter.ts";
import { fileURLToPath } from "node:url";
import { INSTALL_HINT } from "./worker_process.ts";
import { onInterrupt } from "../on_interrupt.ts";

const CONVERT_SCRIPT = fileURLToPath(new URL("./worker/convert.py", import.meta.url));

/** Options for {@linkcode convertLlamagen}. */
export interface ConvertOptions {
  /** The LlamaGen `.pt` checkpoint. */
  input: string;
  /** Output directory (created when missing). */
  out: string;
  /** Preset name; inferred from layers and dim when absent. */
  preset?: string;
  /** Grid such as "16x16"; inferred from `_256` / `_384` in the file name when absent. */
  grid?: string;
  /** Attention heads, for models of no preset. */
  heads?: number;
  /** Weight dtype written. @default "float32" */
  dtype?: "float32" | "float16" | "bfloat16";
  /** Which state dict of a training checkpoint: `model`, or its EMA copy. @default "model" */
  weights?: "model" | "ema";
  /** Classes; else the checkpoint's training args, else its class table's rows − 1. */
  numClasses?: number;
  /** Python executable. @default env ZIPAR_PYTHON, else "python3" */
  python?: string;
  /** Called with each `note:` line of the converter (which num_classes it used, …). */
  onNote?: (line: string) => void;
}

/**
 * Convert a LlamaGen checkpoint; returns the config.json written. Throws a one-line Error.
 *
 * @example
 * ```ts ignore
 * import { convertLlamagen } from "./convert.ts";
 * await convertLlamagen({ input: "c2i_B_256.pt", preset: "GPT-B", out: "models/gpt-b-256" });
 * ```
 */
export function convertLlamagen(options: ConvertOptions): Promise<Record<string, unknown>> {
  const args = ["gpt", options.input, "--out", options.out];
  if (options.preset) args.push("--preset", options.preset);
  if (options.grid) args.push("--grid", options.grid);
  if (options.heads) args.push("--heads", String(options.heads));
  if (options.dtype) args.push("--dtype", options.dtype);
  if (options.weights) args.push("--weights", options.weights);
  if (options.numClasses) args.push("--num-classes", String(options.numClasses));
  return runConvert(args, options);
}

/** Options for {@linkcode convertLlamagenVq}. */
export interface ConvertVqOptions {
  /** The LlamaGen VQ checkpoint, e.g. `vq_ds16_c2i.pt`. */
  input: string;
  /** Output directory (created when missing). */
  out: string;
  /** Python executable. @default env ZIPAR_PYTHON, else "python3" */
  python?: string;
}

/**
 * Convert a LlamaGen VQ checkpoint (loaded with `weights_only=True` only; config inferred from
 * the shapes, GroupNorm 32 groups) to DIR/vq.json + DIR/vq.safetensors (decoder tensors,
 * float32), written atomically by worker/convert.py (kind `vq`); returns the vq.json
 * written. Throws a one-line Error.
 *
 * @example
 * ```ts ignore
 * import { convertLlamagenVq } from "./convert.ts";
 * await convertLlamagenVq({ input: "vq_ds16_c2i.pt", out: "models/vq16" });
 * ```
 */
export function convertLlamagenVq(options: ConvertVqOptions): Promise<Record<string, unknown>> {
  return runConvert(["vq", options.input, "--out", options.out], options);
}

/** How long an interrupted converter may take to remove its temporary file. */
const STOP_GRACE_MS = 3000;

/**
 * Stop the converter on an interrupt: SIGTERM (it unwinds and removes the temporary file it was
 * writing), then SIGKILL if it is still there after {@linkcode STOP_GRACE_MS}.
 */
async function stopConverter(child: Deno.ChildProcess): Promise<void> {
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch { /* gone already */ }
  };
  signal("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) =>
    timer = setTimeout(() => resolve("late"), STOP_GRACE_MS)
  );
  if ((await Promise.race([child.status, late])) === "late") signal("SIGKILL");
  clearTimeout(timer);
}

/**
 * Run the converter; its stdout is the config JSON, its last stderr line the error, its
 * `note:` lines go to `onNote`.
 */
async function runConvert(
  args: string[],
  options: { input: string; python?: string; onNote?: (line: string) => void },
): Promise<Record<string, unknown>> {
  const python = resolvePython(options.python);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(python, {
      args: [CONVERT_SCRIPT, ...args],
      env: { PYTHONDONTWRITEBYTECODE: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`Python executable "${python}" not found: ${INSTALL_HINT}`);
    }
    throw new Error(`Cannot start "${python}": ${(err as Error).message}`);
  }
  const done = onInterrupt(() => stopConverter(child));
  let output: Deno.CommandOutput;
  try {
    output = await child.output();
  } finally {
    done();
  }
  const stderr = new TextDecoder().decode(output.stderr).trim().split("\n");
  for (const line of stderr) if (line.startsWith("note: ")) options.onNote?.(line);
  if (!output.success) {
    throw new Error(`Cannot convert ${options.input}: ${stderr.at(-1) || `exit ${output.code}`}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}
