/**
 * `zipar decode GRID|- (--model DIR | --vq PATH) -o out.png [--sheet] [--scale N]`: token grids
 * to PNG images. A batch writes one file per image (`out_000.png`, …, or a printf-style pattern
 * such as `img_%03d.png`), or one contact sheet with `--sheet`. Files are written atomically.
 *
 * @module
 */

import { installInterruptCleanup } from "./io/interrupt.ts";
import {
  choiceFlag,
  intFlag,
  type OptionSpec,
  parseCommand,
  ValidationError,
  type Values,
} from "./flags/args.ts";
import { threadsFlag } from "./flags/backend_flags.ts";
import { readGrid } from "./formats/grid_file.ts";
import { type ImageDecoder, type ImageDecoderSpec, openImageDecoder } from "../backends/open.ts";
import type { Io } from "./io/io.ts";
import { quietWorkerLog } from "./io/quiet_log.ts";
import { writeImages } from "./formats/png_files.ts";

/** Flags of `zipar decode`. */
export const DECODE_OPTIONS: OptionSpec = {
  model: { type: "string" },
  vq: { type: "string" },
  backend: { type: "string" },
  python: { type: "string" },
  threads: { type: "string" },
  out: { type: "string", short: "o" },
  sheet: { type: "boolean" },
  columns: { type: "string" },
  scale: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
};

/** `zipar decode --help`. */
export const DECODE_USAGE =
  `Usage: zipar decode GRID|- (--model DIR | --vq PATH) -o OUT.png [options]

Decode token grids (JSON or .npy, '-' for stdin) to PNG images.

  --model DIR        a model directory whose config.json names its decoder (the demo model)
  --vq PATH          a LlamaGen VQ-16 decoder (directory with vq.json + vq.safetensors)
  --backend NAME     webgpu | python: where the VQ decoder runs (default: webgpu; a
                     Janus --model: python unless webgpu is named)
  --python PATH      python interpreter for --backend python
  --threads N        torch CPU threads of the python worker (default: OMP_NUM_THREADS, else
                     torch's: one per core)
  -o, --out FILE     output PNG; a batch writes FILE_000.png, FILE_001.png, … or fills a
                     printf-style pattern (img_%03d.png)
  --sheet            write the whole batch as one contact sheet instead
  --columns N        images per sheet row (default: grid batch size up to 10)
  --scale N          enlarge pixels N× (default: 1)
  -q, --quiet        no summary on stderr
  -h, --help         show this help

Example:
  zipar generate --backend webgpu --model fixtures/demo --class 3 --window 4 | \\
    zipar decode - --model fixtures/demo -o coat.png --scale 4
`;

/** Read `--model`/`--vq`/`--backend` into a decoder spec. */
export function decoderSpec(values: Values): ImageDecoderSpec {
  const model = values.model, vq = values.vq;
  if ((typeof model === "string") === (typeof vq === "string")) {
    throw new ValidationError(
      "pass exactly one of --model DIR and --vq PATH",
      "--model for models that carry their decoder (the demo, Janus), --vq for LlamaGen VQ-16.",
    );
  }
  const python = typeof values.python === "string" ? values.python : undefined;
  const threads = threadsFlag(values);
  const worker = {
    python,
    ...(threads !== undefined ? { threads } : {}),
    // --quiet: the worker's `note:` lines (tensors a checkpoint has that it does not use) too
    ...(values.quiet === true ? { onLog: quietWorkerLog } : {}),
  };
  // Checked with --model too, where the model's own decoder decides where it runs.
  const backend = choiceFlag(values, "backend", ["webgpu", "python"] as const, "webgpu");
  if (typeof model === "string") {
    // Unnamed, the model's decoder runs where it lives (a Janus VQ in the worker, like
    // generate --backend python); --backend webgpu decodes a Janus directory on WebGPU.
    const named = values.backend !== undefined ? { backend } : {};
    return { kind: "model", dir: model, ...named, ...worker };
  }
  if (backend === "webgpu" && threads !== undefined) {
    throw new ValidationError("--threads applies to the python backend, not webgpu");
  }
  return { kind: "vq", path: vq as string, backend, ...worker };
}

/** Run `zipar decode`; returns the exit code. */
export async function decodeCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(args, DECODE_OPTIONS, 1);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(DECODE_USAGE));
    return 0;
  }
  if (positionals.length !== 1) {
    throw new ValidationError(
      "zipar decode takes one grid file (or - for stdin)",
      "Example: zipar decode grid.json --model fixtures/demo -o out.png.",
    );
  }
  const spec = decoderSpec(values);
  if (typeof values.out !== "string" || values.out === "") {
    throw new ValidationError(
      "--out is required",
      "Pass -o out.png (a batch writes out_000.png, …).",
    );
  }
  const scale = intFlag(values, "scale", 1, 64, 1);
  const columns = values.columns === undefined
    ? undefined
    : intFlag(values, "columns", 1, 1 << 16, 10);
  const { grid } = await readGrid(positionals[0], io);
  let decoder: ImageDecoder | null = null;
  const uninstall = installInterruptCleanup((signal) =>
    io.writeStderr(`zipar: interrupted (${signal}), no output written\n`)
  );
  try {
    decoder = await openImageDecoder(spec);
    const images = await decoder.decode(grid.tokens, grid.shape);
    const written = await writeImages(images, values.out, {
      sheet: values.sheet === true,
      columns,
      scale,
    });
    if (!values.quiet && io.stderrIsTerminal) {
      const what = written.length === 1 ? written[0] : `${written[0]} … ${written.at(-1)}`;
      io.writeStderr(`zipar: decoded ${images.count} image(s) with ${decoder.name} to ${what}\n`);
    }
    return 0;
  } finally {
    uninstall();
    await decoder?.close();
  }
}
