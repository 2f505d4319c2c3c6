/**
 * `zipar generate`: run a generation with a backend and write the token grids (JSON or `.npy`)
 * with their metadata, to a file (atomically) or to stdout.
 *
 * @module
 */

import { type Backend, generateStream, type Generation, layoutOf, MAX_SEED } from "../core/mod.ts";
import {
  choiceFlag,
  intFlag,
  MAX_SIDE,
  numberFlag,
  type OptionSpec,
  parseCommand,
  parseGrid,
  parseIntList,
  ValidationError,
  type Values,
} from "./flags/args.ts";
import { installInterruptCleanup } from "./io/atomic_write.ts";
import {
  BACKENDS,
  type BackendSpec,
  type ImageDecoderSpec,
  openBackend,
  openImageDecoderFor,
} from "../backends/open.ts";
import type { PythonBackendOptions } from "../backends/python/client.ts";
import { GRID_FORMATS, openGridOutput, resolveFormat } from "./formats/grid_file.ts";
import type { Io } from "./io/io.ts";
import { ProgressReporter } from "./io/progress.ts";
import { buildSchedule, scheduleChoice } from "./flags/schedule_flags.ts";
import { VERSION } from "./generation/version.ts";
import { writeImages } from "./decode.ts";

/** Flags of `zipar generate`. */
export const GENERATE_OPTIONS: OptionSpec = {
  backend: { type: "string" },
  class: { type: "string" },
  seed: { type: "string" },
  batch: { type: "string" },
  window: { type: "string" },
  "min-window": { type: "string" },
  "max-window": { type: "string" },
  schedule: { type: "string" },
  proxy: { type: "string" },
  cfg: { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  mode: { type: "string" },
  out: { type: "string", short: "o" },
  format: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  png: { type: "string" },
  vq: { type: "string" },
  sheet: { type: "boolean" },
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
  model: { type: "string" },
  python: { type: "string" },
  device: { type: "string" },
  dtype: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** `zipar generate --help`. */
export const GENERATE_USAGE = `Usage: zipar generate [options] --window s (--out FILE | -)

Generate token grids with ZipAR parallel decoding and write them as JSON or .npy.

Generation:
  --backend NAME           mock | python | webgpu (default: mock)
  --class N[,N...]         class id of each image (default: 0)
  --seed S                 seed of the draws, 0..${MAX_SEED} (default: 0)
  --batch B                images; one class repeats B times (default: number of classes)
  --window s               window s in 1..W (required unless --schedule raster)
  --schedule NAME          raster | ideal | paper | adaptive (default: ideal)
  --min-window m           adaptive: draft a row's first token when the row above has m
  --max-window M           adaptive: stop verifying once the row above has M (default: W)
  --proxy POLICY           proxy token for early rows: r-2 | r-1 (default: r-2)
  --cfg G                  classifier-free guidance scale, 1 = off (default: 1)
  --temperature T          softmax temperature, 0 = greedy (default: 1)
  --top-k K                keep the K most likely tokens, 0 = all (default: 0)
  --top-p P                keep the smallest set with mass ≥ P, 1 = all (default: 1)
  --mode MODE              auto | interactive | planned (default: auto)

Output:
  -o, --out FILE|-         .json or .npy file (written atomically), or - for stdout;
                           without --out, a stdout that is not a terminal gets the grid
  --format FMT             json | npy (default: from the extension; json on stdout)
  -q, --quiet              no progress or summary on stderr
  --png FILE               also decode the grids to PNG (a batch: FILE_000.png, … or a
                           printf pattern), with the model's own decoder or --vq
  --vq PATH                LlamaGen VQ-16 decoder directory for --png
  --sheet                  with --png: one contact sheet for the whole batch

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

Real models (--backend python | webgpu):
  --model PATH             model weights / config (required)
  --python PATH            python interpreter (python backend)
  --device DEV             e.g. cuda, cpu (python backend)
  --dtype TYPE             e.g. float32, bfloat16 (python backend)

  -h, --help               show this help

Image i of a run draws with the key (seed, i, row, col), so the same seed and class give the
same image whatever the schedule, window or batch size when the model allows it.

Examples:
  zipar generate --class 3 --seed 7 --window 4 --out grid.json
  zipar generate --class 3,5 --seed 1 --window 2 --out grids.npy     # + grids.npy.json
  zipar generate --window 4 | zipar inspect -
`;

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
];
const PYTHON_FLAGS = ["model", "python", "device", "dtype"];

function backendSpec(values: Values): BackendSpec {
  const backend = choiceFlag(values, "backend", BACKENDS, "mock");
  const given = (names: string[]) => names.filter((n) => values[n] !== undefined);
  if (backend === "mock") {
    const wrong = given(PYTHON_FLAGS);
    if (wrong.length) {
      throw new ValidationError(`--${wrong[0]} applies to --backend python|webgpu, not mock`);
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
      },
    };
  }
  const wrong = given(
    backend === "webgpu" ? [...MOCK_FLAGS, "python", "device", "dtype"] : MOCK_FLAGS,
  );
  if (wrong.length) {
    throw new ValidationError(`--${wrong[0]} does not apply to --backend ${backend}`);
  }
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

/** What `--png` asks for: where, which decoder, and whether as one sheet. */
interface PngRequest {
  out: string;
  decoder: ImageDecoderSpec;
  sheet: boolean;
}

/** Read `--png`, `--vq` and `--sheet`; null without `--png`. */
function pngRequest(values: Values, spec: BackendSpec): PngRequest | null {
  if (typeof values.png !== "string") {
    if (values.vq !== undefined || values.sheet) {
      throw new ValidationError("--vq and --sheet only apply with --png FILE");
    }
    return null;
  }
  if (values.png === "") throw new ValidationError("--png needs a file name");
  const sheet = values.sheet === true;
  if (typeof values.vq === "string") {
    const backend = spec.backend === "python" ? "python" : "webgpu";
    const python = spec.backend === "python" ? spec.python : undefined;
    return { out: values.png, decoder: { kind: "vq", path: values.vq, backend, python }, sheet };
  }
  if (spec.backend === "mock") {
    throw new ValidationError(
      "--png needs an image decoder: the mock model has none",
      "Pass --vq PATH (a VQ-16 decoder whose codebook covers the mock's vocabulary).",
    );
  }
  return { out: values.png, decoder: { kind: "model", dir: spec.model }, sheet };
}

/** Decode grids and write the PNG(s) of a `--png` request. */
async function writePng(
  backend: Backend,
  png: PngRequest,
  grids: Int32Array,
  shape: [number, number, number],
): Promise<void> {
  const decoder = await openImageDecoderFor(backend, png.decoder);
  try {
    const images = await decoder.decode(grids, shape);
    await writeImages(images, png.out, { sheet: png.sheet });
  } finally {
    await decoder.close();
  }
}

/** Run `zipar generate`; returns the exit code. */
export async function generateCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand(args, GENERATE_OPTIONS);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(GENERATE_USAGE));
    return 0;
  }
  // Flag syntax first, before any expensive backend starts.
  const spec = backendSpec(values);
  scheduleChoice(values, spec.backend === "mock" ? spec.mock.width! : MAX_SIDE);
  const cfg = numberFlag(values, "cfg", (n) => n >= 0, "≥ 0 (1 = off)", 1);
  const temperature = numberFlag(values, "temperature", (n) => n >= 0, "≥ 0 (0 = greedy)", 1);
  const topK = intFlag(values, "top-k", 0, 0x7fffffff, 0);
  const topP = numberFlag(values, "top-p", (n) => n > 0 && n <= 1, "in (0, 1] (1 = off)", 1);
  const seed = intFlag(values, "seed", 0, MAX_SEED, 0);
  const classes = parseIntList(
    "--class",
    (values.class as string | undefined) ?? "0",
    0,
    0x7fffffff,
  );
  const batchFlag = intFlag(values, "batch", 1, 1 << 16);
  if (classes.length > 1 && batchFlag !== undefined && batchFlag !== classes.length) {
    throw new ValidationError(
      `--batch ${batchFlag} contradicts ${classes.length} classes in --class`,
      "Give one class per image, or one class and --batch.",
    );
  }
  const batch = batchFlag ?? classes.length;
  const mode = choiceFlag(values, "mode", ["auto", "interactive", "planned"] as const, "auto");
  const explicitFormat = choiceFlag(values, "format", GRID_FORMATS);
  let out = values.out as string | undefined | null;
  if (out === "") throw new ValidationError("--out needs a file name, or - for stdout");
  const png = pngRequest(values, spec);
  // With --png and a terminal for stdout, the PNG alone is the output.
  if (out === undefined && png && io.stdoutIsTerminal) out = null;
  else if (out === undefined) {
    if (io.stdoutIsTerminal) {
      throw new ValidationError(
        "no --out given and stdout is a terminal",
        "Pass --out FILE (.json or .npy), or pipe the grid: zipar generate ... | zipar inspect -",
      );
    }
    out = "-";
  }
  const format = out === null ? "json" : resolveFormat(out, explicitFormat);
  if (out === "-" && format === "npy" && io.stdoutIsTerminal) {
    throw new ValidationError(
      "refusing to write .npy bytes to a terminal",
      "Pass --out FILE.npy, or pipe it.",
    );
  }

  const backend = await openBackend(spec);
  let output;
  try {
    const info = backend.info;
    for (const c of classes) {
      if (c >= info.numClasses) {
        throw new ValidationError(
          `--class ${c} is out of range: model ${info.name} has classes 0..${info.numClasses - 1}`,
        );
      }
    }
    const choice = scheduleChoice(values, info.width);
    const schedule = buildSchedule(layoutOf(info), choice);
    const images = Array.from({ length: batch }, (_, i) => ({
      condition: classes[classes.length === 1 ? 0 : i],
      seed,
      index: i,
    }));
    output = out === null ? null : await openGridOutput(out, format, io);
    const uninstall = installInterruptCleanup((signal) =>
      io.writeStderr(`zipar: interrupted (${signal}), no output written\n`)
    );
    try {
      const quiet = values.quiet === true;
      const progress = new ProgressReporter((s) => io.writeStderr(s), {
        enabled: io.stderrIsTerminal && !quiet,
        color: !io.env("NO_COLOR"),
        columns: io.columns,
      });
      const started = performance.now();
      let generation: Generation | null = null;
      const stream = generateStream(backend, {
        images,
        schedule,
        cfgScale: cfg,
        sampling: { temperature, topK, topP },
        mode,
      });
      let yielded = started;
      for await (const event of stream) {
        if (event.type === "done") generation = event.generation;
        else {
          const { step, totalSteps, totalDecoded: decoded, totalTokens } = event;
          progress.update({
            step,
            totalSteps,
            decoded,
            totalTokens,
            elapsedMs: performance.now() - started,
          });
        }
        // Let the event loop run now and then, so SIGINT reaches its handler mid-run.
        if (performance.now() - yielded > 50) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          yielded = performance.now();
        }
      }
      progress.finish();
      if (!generation) throw new Error("the generation ended without a result");
      const { stats } = generation;
      const meta = {
        zipar: VERSION,
        model: info.name,
        family: info.family,
        backend: backend.name,
        ...("model" in spec ? { modelPath: spec.model } : {}),
        ...(spec.backend === "python"
          ? { device: spec.device ?? null, dtype: spec.dtype ?? null }
          : {}),
        ...(spec.backend === "mock" ? { mock: spec.mock } : {}),
        vocab: info.vocab,
        grid: [info.height, info.width],
        prefix: info.prefix,
        eolToken: info.eolToken,
        schedule: choice.schedule,
        scheduleName: stats.schedule,
        window: choice.window,
        ...(choice.maxWindow !== undefined ? { maxWindow: choice.maxWindow } : {}),
        proxy: choice.proxy,
        mode: stats.mode,
        sampling: { temperature, topK, topP, cfg },
        seed,
        classes: images.map((im) => im.condition),
        images: images.map((im) => ({ class: im.condition, seed: im.seed, index: im.index })),
        passes: stats.passes,
        rasterPasses: stats.rasterPasses,
        wallMs: Math.round(stats.wallMs * 10) / 10,
        ...(stats.scheduleStats !== undefined ? { scheduleStats: stats.scheduleStats } : {}),
      };
      if (png) await writePng(backend, png, generation.grids, generation.shape);
      await output?.write({ shape: generation.shape, tokens: generation.grids, meta });
      if (io.stderrIsTerminal && !quiet) {
        const [b, h, w] = generation.shape;
        const where = out === "-" ? "stdout" : out ?? png!.out;
        io.writeStderr(
          `zipar: wrote ${b}×${h}×${w} tokens to ${where} in ${stats.passes} passes (raster ${stats.rasterPasses}), ${
            (stats.wallMs / 1000).toFixed(2)
          }s\n`,
        );
      }
    } finally {
      uninstall();
    }
  } catch (e) {
    await output?.abort();
    throw e;
  } finally {
    await backend.close();
  }
  return 0;
}
