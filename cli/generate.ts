/**
 * `zipar generate`: run a generation with a backend and write the token grids (JSON or `.npy`)
 * with their metadata, to a file (atomically) or to stdout. Three steps: {@linkcode parseGenerate}
 * reads the flags (then checks them against the model with {@linkcode resolveForModel}),
 * {@linkcode runGenerate} runs the generation with a progress line, {@linkcode writeGenerate}
 * writes the grids, the PNGs of `--png` and the summary line.
 *
 * @module
 */

import {
  type Backend,
  type GenerateMode,
  type Generation,
  layoutOf,
  MAX_SEED,
  type ModelInfo,
  type PlanImage,
  type Schedule,
} from "../core/mod.ts";
import {
  type BackendSpec,
  type ImageDecoder,
  type ImageDecoderSpec,
  openBackend,
  openImageDecoderFor,
} from "../backends/open.ts";
import {
  choiceFlag,
  intFlag,
  MAX_SIDE,
  type OptionSpec,
  parseCommand,
  ValidationError,
  type Values,
} from "./flags/args.ts";
import { BACKEND_OPTIONS, BACKEND_USAGE, backendFlags, knownWidth } from "./flags/backend_flags.ts";
import { checkModeForSchedule, scheduleChoice } from "./flags/schedule_flags.ts";
import { buildSchedule, SCHEDULE_OPTIONS, type ScheduleChoice, scheduleHelp } from "./schedules.ts";
import {
  GRID_FORMATS,
  type GridFormat,
  type GridOutput,
  openGridOutput,
  resolveFormat,
} from "./formats/grid_file.ts";
import { type ImageOutputs, openImages } from "./formats/png_files.ts";
import { backendMeta, gridMeta, type SamplingMeta, workerOf } from "./generation/grid_meta.ts";
import {
  checkConditionsForModel,
  CONDITION_OPTIONS,
  CONDITION_USAGE,
  type ConditionChoice,
  conditionFlags,
  cycleConditions,
} from "./flags/condition_flags.ts";
import {
  SAMPLING_OPTIONS,
  SAMPLING_USAGE,
  type SamplingFlags,
  samplingFlags,
  samplingFor,
} from "./flags/sampling_flags.ts";
import { runGeneration, stepProgress } from "./generation/run.ts";
import { isDirectory } from "./io/atomic_write.ts";
import { installInterruptCleanup } from "./io/interrupt.ts";
import { type Io, StdoutClosedError } from "./io/io.ts";
import { stderrProgress } from "./io/progress.ts";

/** Flags of `zipar generate`. */
export const GENERATE_OPTIONS: OptionSpec = {
  ...CONDITION_OPTIONS,
  ...SAMPLING_OPTIONS,
  "cfg-interval": { type: "string" },
  seed: { type: "string" },
  ...SCHEDULE_OPTIONS,
  mode: { type: "string" },
  out: { type: "string", short: "o" },
  format: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  png: { type: "string" },
  vq: { type: "string" },
  sheet: { type: "boolean" },
  ...BACKEND_OPTIONS,
  help: { type: "boolean", short: "h" },
};

/** `zipar generate --help`. */
export const GENERATE_USAGE = `Usage: zipar generate [options] --window s (--out FILE | -)

Generate token grids with ZipAR parallel decoding and write them as JSON or .npy.

${CONDITION_USAGE}

Generation:
  --seed S                 seed of the draws, 0..${MAX_SEED} (default: 0)
${scheduleHelp()}
  --mode MODE              auto | interactive | planned (default: auto)

${SAMPLING_USAGE}
  --cfg-interval N         LlamaGen's cfg_interval: guide only the first N + 2 tokens in
                           raster order, whatever the schedule (default: -1 = all)

Output:
  -o, --out FILE|-         .json or .npy file (written atomically), or - for stdout;
                           without --out, a stdout that is not a terminal gets the grid
  --format FMT             json | npy (default: from the extension; json on stdout)
  -q, --quiet              no progress or summary on stderr
  --png FILE               also decode the grids to PNG (a batch: FILE_000.png, … or a
                           printf pattern), with the model's own decoder or --vq
  --vq PATH                LlamaGen VQ-16 decoder directory for --png
  --sheet                  with --png: one contact sheet for the whole batch

${BACKEND_USAGE}

  -h, --help               show this help

Image i of a run draws with the key (seed, i, row, col), so the same seed and class give the
same image whatever the schedule, window or batch size when the model allows it.

Examples:
  zipar generate --class 3 --seed 7 --window 4 --out grid.json
  zipar generate --class 3,5 --seed 1 --window 2 --out grids.npy     # + grids.npy.json
  zipar generate --window 4 | zipar inspect -
  zipar generate --backend python --model janus-pro-1b --prompt "a red fox in the snow" \\
    --window 8 --png fox.png
`;

/** What `--png` asks for: where, which decoder, and whether as one sheet. */
export interface PngRequest {
  out: string;
  decoder: ImageDecoderSpec;
  sheet: boolean;
}

/** What `zipar generate` was asked to do, read from its flags before any backend starts. */
export interface GenerateRequest {
  /** The backend to open. */
  spec: BackendSpec;
  /** The schedule flags read for a grid this wide (checked again once the model is known). */
  scheduleFor: (width: number) => ScheduleChoice;
  /** What the images are conditioned on: classes or prompts, and how many images. */
  conditions: ConditionChoice;
  /** Seed of every image's draws. */
  seed: number;
  /** The sampling flags given; the model family's defaults fill in the others. */
  sampling: SamplingFlags;
  /** `--cfg-interval`: LlamaGen's cfg_interval (core/cfg's `cfgGuides`), −1 = every token. */
  cfgInterval: number;
  /** How the engine drives the backend. */
  mode: GenerateMode;
  /** A file, `-` for stdout, or null when the PNG alone is the output. */
  out: string | null;
  /** The grid file format. */
  format: GridFormat;
  /** `--png`, or null. */
  png: PngRequest | null;
  /** `--quiet`. */
  quiet: boolean;
}

/** A request resolved against the model: its schedule and images. */
export interface GenerateRun {
  /** The schedule flags for the model's width. */
  choice: ScheduleChoice;
  /** The core schedule. */
  schedule: Schedule;
  /** The images, in grid order. */
  images: PlanImage[];
  /** The sampling settings used (flags, else the family's defaults), as the metadata records them. */
  sampling: SamplingMeta;
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

/** Read the flags of `zipar generate`; every usage error surfaces here, before a backend starts. */
export async function parseGenerate(values: Values, io: Io): Promise<GenerateRequest> {
  const spec = backendFlags(values);
  const scheduleFor = (width: number) => scheduleChoice(values, width);
  const choice = scheduleFor(knownWidth(spec) ?? MAX_SIDE);
  const sampling = samplingFlags(values);
  const cfgInterval = intFlag(values, "cfg-interval", -1, MAX_SEED, -1);
  const seed = intFlag(values, "seed", 0, MAX_SEED, 0);
  const mode = choiceFlag(values, "mode", ["auto", "interactive", "planned"] as const, "auto");
  checkModeForSchedule(mode, choice);
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
  if (
    spec.backend === "webgpu" && (values.prompt !== undefined || values.prompts !== undefined) &&
    !isDirectory(spec.model)
  ) {
    throw new ValidationError(
      "the WebGPU backend runs text-to-image for Janus directories only",
      "Text-to-image checkpoints (LlamaGen t2i .pt) run on --backend python.",
    );
  }
  const conditions = await conditionFlags(values, io);
  return {
    spec,
    scheduleFor,
    conditions,
    seed,
    sampling,
    cfgInterval,
    mode,
    out,
    format,
    png,
    quiet: values.quiet === true,
  };
}

/**
 * Check the request against the model (conditions, window) and build its schedule, images and
 * sampling settings (the family's defaults where no flag was given).
 */
export function resolveForModel(request: GenerateRequest, info: ModelInfo): GenerateRun {
  const { conditions, batch } = request.conditions;
  checkConditionsForModel(request.conditions, info);
  const choice = request.scheduleFor(info.width);
  const schedule = buildSchedule(layoutOf(info), choice);
  const images = cycleConditions(conditions, batch, request.seed);
  const sampling: SamplingMeta = samplingFor(request.sampling, info.defaults);
  if (request.cfgInterval >= 0) sampling.cfgInterval = request.cfgInterval;
  return { choice, schedule, images, sampling };
}

/** Run the generation, with a progress line on a terminal's stderr. */
export async function runGenerate(
  backend: Backend,
  request: GenerateRequest,
  run: GenerateRun,
  io: Io,
): Promise<Generation> {
  const progress = stderrProgress(io, { quiet: request.quiet });
  const { temperature, topK, topP, cfg } = run.sampling;
  const generation = await runGeneration(backend, {
    images: run.images,
    schedule: run.schedule,
    cfgScale: cfg,
    cfgInterval: request.cfgInterval,
    sampling: { temperature, topK, topP },
    mode: request.mode,
  }, { onStep: stepProgress(progress) });
  progress.finish();
  return generation;
}

/**
 * Write the grids with their metadata, then the PNGs of `--png` through its decoder into its
 * files (both opened before the generation: {@linkcode openPngDecoder}, `openImages`), and the
 * summary on a terminal. The grid is written
 * first: a decoding failure never loses it, and a grid that cannot be written leaves no image.
 */
export async function writeGenerate(
  backend: Backend,
  request: GenerateRequest,
  run: GenerateRun,
  generation: Generation,
  output: GridOutput | null,
  io: Io,
  png: { decoder: ImageDecoder; outputs: ImageOutputs } | null = null,
): Promise<void> {
  const { stats } = generation;
  const meta = gridMeta({
    backend,
    backendMeta: backendMeta(request.spec, workerOf(backend)),
    choice: run.choice,
    sampling: run.sampling,
    seed: request.seed,
    images: run.images,
    run: stats,
  });
  // A stdout whose reader left is no failure (exit 0): the PNGs are still written.
  let closed: StdoutClosedError | null = null;
  await output?.write({ shape: generation.shape, tokens: generation.grids, meta }).catch((e) => {
    if (!(e instanceof StdoutClosedError)) throw e;
    closed = e;
  });
  if (request.png) {
    if (png === null) throw new Error("writeGenerate: --png needs its decoder and files opened");
    await png.outputs.write(await png.decoder.decode(generation.grids, generation.shape));
  }
  if (closed) throw closed;
  if (io.stderrIsTerminal && !request.quiet) {
    const [b, h, w] = generation.shape;
    const where = request.out === "-" ? "stdout" : request.out ?? request.png!.out;
    io.writeStderr(
      `zipar: wrote ${b}×${h}×${w} tokens to ${where} in ${stats.passes} passes (raster ${stats.rasterPasses}), ${
        (stats.wallMs / 1000).toFixed(2)
      }s\n`,
    );
  }
}

/** Run `zipar generate`; returns the exit code. */
export async function generateCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand(args, GENERATE_OPTIONS);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(GENERATE_USAGE));
    return 0;
  }
  const request = await parseGenerate(values, io);
  const backend = await openBackend(request.spec);
  let output: GridOutput | null = null;
  let png: { decoder: ImageDecoder; outputs: ImageOutputs } | null = null;
  // Installed before any output file (or its temporary) exists, so that a signal at any point
  // from here on is reported the same way.
  const uninstall = installInterruptCleanup((signal) =>
    io.writeStderr(`zipar: interrupted (${signal}), no output written\n`)
  );
  try {
    const run = resolveForModel(request, backend.info);
    // --png's decoder is opened before anything runs: a model without one, or a --vq that does
    // not load, is refused in one line before the generation, not after it.
    if (request.png) {
      const decoder = await openPngDecoder(backend, request.png);
      png = {
        decoder,
        outputs: await openImages(request.png.out, run.images.length, request.png.sheet).catch(
          async (e) => {
            await decoder.close();
            throw e;
          },
        ),
      };
    }
    output = request.out === null ? null : await openGridOutput(request.out, request.format, io);
    const generation = await runGenerate(backend, request, run, io);
    await writeGenerate(backend, request, run, generation, output, io, png);
  } catch (e) {
    await output?.abort();
    await png?.outputs.abort();
    throw e;
  } finally {
    uninstall();
    await png?.decoder.close();
    await backend.close();
  }
  return 0;
}

/** The image decoder of `--png` for `backend`'s grids, with a one-line error naming --png. */
export async function openPngDecoder(backend: Backend, png: PngRequest): Promise<ImageDecoder> {
  try {
    return await openImageDecoderFor(backend, png.decoder);
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    throw new Error(`--png: ${(e as Error).message}`);
  }
}
