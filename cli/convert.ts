/**
 * `zipar convert --from llamagen|llamagen-vq IN.pt --out DIR`: official LlamaGen checkpoints
 * (PyTorch pickles, loaded with `weights_only=True` only) to the safetensors + JSON config that
 * both backends load. The conversion runs in the Python worker's environment.
 *
 * @module
 */

import { convertLlamagen, convertLlamagenVq } from "../backends/python/convert.ts";
import {
  choiceFlag,
  intFlag,
  type OptionSpec,
  parseCommand,
  parseGrid,
  ValidationError,
  type Values,
} from "./flags/args.ts";
import { installInterruptCleanup } from "./io/interrupt.ts";
import type { Io } from "./io/io.ts";

/** Flags of `zipar convert`. */
export const CONVERT_OPTIONS: OptionSpec = {
  from: { type: "string" },
  out: { type: "string", short: "o" },
  preset: { type: "string" },
  grid: { type: "string" },
  heads: { type: "string" },
  dtype: { type: "string" },
  weights: { type: "string" },
  "num-classes": { type: "string" },
  python: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
};

/** `zipar convert --help`. */
export const CONVERT_USAGE =
  `Usage: zipar convert --from llamagen|llamagen-vq IN.pt --out DIR [options]

Convert an official LlamaGen checkpoint to DIR/model.safetensors + DIR/config.json (GPT), or
DIR/vq.safetensors + DIR/vq.json (VQ-16 decoder), the files the WebGPU and Python backends load.
Checkpoints are loaded with torch.load(..., weights_only=True) only: a pickle that would run code
is refused. Training checkpoints of LlamaGen's train_c2i.py (model, optimizer, steps, args, ema)
load too: their args give the preset, grid and num_classes. Needs Python with torch (set
--python or ZIPAR_PYTHON).

  --from KIND        llamagen (c2i_*.pt GPT) | llamagen-vq (vq_ds16_c2i.pt)
  -o, --out DIR      output directory (created when missing; files written atomically)
  --preset NAME      GPT-B | GPT-L | GPT-XL | GPT-XXL | GPT-3B (default: inferred from shapes)
  --grid HxW         token grid (default: 16x16 for *_256.pt, 24x24 for *_384.pt)
  --heads N          attention heads, for sizes of no preset
  --dtype TYPE       float32 | bfloat16 | float16 weights written (default: float32)
  --weights WHICH    model | ema: the state dict of a training checkpoint (default: model)
  --num-classes N    classes (default: the checkpoint's args, else class-table rows - 1)
  --python PATH      python interpreter with torch
  -q, --quiet        no notes or summary on stderr
  -h, --help         show this help

Examples:
  zipar convert --from llamagen c2i_B_256.pt --preset GPT-B --out models/gpt-b-256
  zipar convert --from llamagen-vq vq_ds16_c2i.pt --out models/vq16
`;

/** Run `zipar convert`; returns the exit code. */
export async function convertCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(args, CONVERT_OPTIONS, 1);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(CONVERT_USAGE));
    return 0;
  }
  const from = choiceFlag(values, "from", ["llamagen", "llamagen-vq"] as const, "llamagen");
  if (values.from === undefined) {
    throw new ValidationError(
      "--from is required",
      "Pass --from llamagen (GPT) or --from llamagen-vq (VQ-16 decoder).",
    );
  }
  if (positionals.length !== 1) {
    throw new ValidationError(
      "zipar convert takes one checkpoint file",
      "Example: zipar convert --from llamagen c2i_B_256.pt --out models/gpt-b.",
    );
  }
  if (typeof values.out !== "string" || values.out === "") {
    throw new ValidationError("--out DIR is required", "Pass --out DIR for the converted files.");
  }
  const uninstall = installInterruptCleanup((signal) =>
    io.writeStderr(`zipar: interrupted (${signal}), no output written\n`)
  );
  try {
    return await convert(values, { from, input: positionals[0], out: values.out }, io);
  } finally {
    uninstall();
  }
}

/** The conversion `convertCommand` checked the flags of. */
async function convert(
  values: Values,
  { from, input, out }: { from: "llamagen" | "llamagen-vq"; input: string; out: string },
  io: Io,
): Promise<number> {
  const python = typeof values.python === "string" ? values.python : undefined;
  if (from === "llamagen-vq") {
    for (const flag of ["preset", "grid", "heads", "weights", "num-classes"]) {
      if (values[flag] !== undefined) {
        throw new ValidationError(`--${flag} does not apply to --from llamagen-vq`);
      }
    }
    await convertLlamagenVq({ input, out, python });
    if (!values.quiet) io.writeStderr(`zipar: wrote ${out}/vq.json and vq.safetensors\n`);
    return 0;
  }
  const grid = typeof values.grid === "string"
    ? parseGrid("--grid", values.grid).join("x")
    : undefined;
  const heads = values.heads === undefined ? undefined : intFlag(values, "heads", 1, 1024, 1);
  const dtype = values.dtype === undefined
    ? undefined
    : choiceFlag(values, "dtype", ["float32", "bfloat16", "float16"] as const, "float32");
  const preset = typeof values.preset === "string" ? values.preset : undefined;
  const weights = values.weights === undefined
    ? undefined
    : choiceFlag(values, "weights", ["model", "ema"] as const, "model");
  const numClasses = values["num-classes"] === undefined
    ? undefined
    : intFlag(values, "num-classes", 1, 1 << 20, 1);
  const quiet = values.quiet === true;
  const notes: string[] = []; // said once the conversion succeeded: a failure is one line
  const config = await convertLlamagen({
    input,
    out,
    preset,
    grid,
    heads,
    dtype,
    weights,
    numClasses,
    python,
    onNote: (line) => notes.push(line),
  });
  if (quiet) return 0;
  for (const line of notes) io.writeStderr(`zipar: ${line}\n`);
  io.writeStderr(
    `zipar: wrote ${out}/model.safetensors and config.json (${config.preset ?? "custom"}, ` +
      `${config.layers} layers, dim ${config.dim}, grid ${JSON.stringify(config.grid)})\n`,
  );
  return 0;
}
