/**
 * `zipar bench`: raster and ZipAR settings timed side by side in one run on the same backend,
 * model, seeds and classes — a warm-up run per setting, then `--repeat` rounds that each run
 * every setting once (interleaved, so drift hits all settings alike).
 *
 * @module
 */

import { layoutOf, MAX_SEED } from "../core/mod.ts";
import {
  choiceFlag,
  intFlag,
  type OptionSpec,
  parseCommand,
  parseIntList,
  ValidationError,
} from "./flags/args.ts";
import { openBackend } from "../backends/open.ts";
import { BACKEND_OPTIONS, BACKEND_USAGE, backendFlags, knownWidth } from "./flags/backend_flags.ts";
import {
  type BenchReport,
  type BenchSetting,
  renderCsv,
  renderMarkdown,
  type StepCosts,
  summarize,
} from "./bench/report.ts";
import {
  checkConditionsForModel,
  CONDITION_OPTIONS,
  CONDITION_USAGE,
  conditionFlags,
  cycleConditions,
  MAX_IMAGES,
} from "./flags/condition_flags.ts";
import {
  SAMPLING_OPTIONS,
  SAMPLING_USAGE,
  samplingFlags,
  samplingFor,
} from "./flags/sampling_flags.ts";
import type { PythonBackend, StepProfile } from "../backends/python/client.ts";
import { runGeneration } from "./generation/run.ts";
import type { Io } from "./io/io.ts";
import { checkModeForSchedule } from "./flags/schedule_flags.ts";
import { buildSchedule, type ScheduleChoice } from "./schedules.ts";
import { VERSION } from "./generation/version.ts";

/** Flags of `zipar bench`. */
export const BENCH_OPTIONS: OptionSpec = {
  windows: { type: "string" },
  schedule: { type: "string" },
  adaptive: { type: "string" },
  repeat: { type: "string" },
  ...CONDITION_OPTIONS,
  ...SAMPLING_OPTIONS,
  reference: { type: "boolean" },
  profile: { type: "boolean" },
  seed: { type: "string" },
  mode: { type: "string" },
  format: { type: "string" },
  ...BACKEND_OPTIONS,
  help: { type: "boolean", short: "h" },
};

/** `zipar bench --help`. */
export const BENCH_USAGE = `Usage: zipar bench [options] --windows s[,s...]

Time raster decoding and ZipAR windows side by side on one backend, model, seeds and
conditions: one warm-up run per setting, then --repeat rounds that run every setting once
(interleaved).

Settings:
  --windows s[,s...]       ZipAR windows to compare with raster, each in 1..W
  --schedule NAME[,NAME]   ideal | paper, for --windows; both: ideal,paper (default: ideal)
  --adaptive m[,m...]      also the adaptive window with these minimum windows
  --repeat N               timed runs per setting (default: 5)
  --reference              also time the model family's own loop in the worker (python
                           backend: transformers' generate for Janus and Emu3)
  --profile                python backend: per planned step, the torch ops launched (in all
                           and per decoder layer) and the host reads, from one extra profiled
                           run per setting; the step graphs captured over the timed runs
  --seed S                 round r draws with seed S + r (default: 0)
  --mode MODE              auto | interactive | planned (default: auto)
  --format FMT             md | json | csv (default: md)

${CONDITION_USAGE}
  (bench: --batch defaults to 1; without --class or --prompt, image i has class i mod
  classes)

${SAMPLING_USAGE}

${BACKEND_USAGE}

  -h, --help               show this help

Columns: passes; pass ratio = raster passes / passes; wall time per image (median, min–max);
tokens/s at the median; speedup = raster median / median; speedup ÷ pass ratio = the share of
the pass reduction that became wall-time speedup. Model loading is timed separately.

Example:
  zipar bench --grid 24x24 --windows 4,8,16 --repeat 5
`;

/** Run `zipar bench`; returns the exit code. */
export async function benchCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand(args, BENCH_OPTIONS);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(BENCH_USAGE));
    return 0;
  }
  const spec = backendFlags(values);
  const windowsRaw = values.windows as string | undefined;
  const adaptiveRaw = values.adaptive as string | undefined;
  if (windowsRaw === undefined && adaptiveRaw === undefined) {
    throw new ValidationError("--windows is required", "Example: --windows 4,8,16.");
  }
  const windows = windowsRaw === undefined ? [] : parseIntList("--windows", windowsRaw, 1, 4096);
  const minWindows = adaptiveRaw === undefined
    ? []
    : parseIntList("--adaptive", adaptiveRaw, 1, 4096);
  const variants = parseVariants(values.schedule as string | undefined);
  const repeat = intFlag(values, "repeat", 1, 10000, 5);
  const given = values.class !== undefined || values.prompt !== undefined ||
    values.prompts !== undefined;
  const conditions = await conditionFlags(values, io);
  const batch = intFlag(values, "batch", 1, MAX_IMAGES, 1);
  const samplingGiven = samplingFlags(values);
  const reference = values.reference === true;
  if (reference && spec.backend !== "python") {
    throw new ValidationError(
      "--reference needs --backend python (the family's own loop runs there)",
    );
  }
  const profile = values.profile === true;
  if (profile && spec.backend !== "python") {
    throw new ValidationError("--profile needs --backend python (torch's profiler runs there)");
  }
  const seed = intFlag(values, "seed", 0, MAX_SEED - 10000, 0);
  const mode = choiceFlag(values, "mode", ["auto", "interactive", "planned"] as const, "auto");
  if (mode === "planned" && minWindows.length > 0) {
    // The adaptive window reacts to the model's outputs: it cannot be compiled into a plan.
    checkModeForSchedule(mode, { schedule: "adaptive", window: minWindows[0], proxy: "r-2" });
  }
  const format = choiceFlag(values, "format", ["md", "json", "csv"] as const, "md");
  const width = knownWidth(spec);
  if (width !== null) checkWindows([...windows, ...minWindows], width);

  const t0 = performance.now();
  const backend = await openBackend(spec);
  const loadMs = performance.now() - t0;
  let report: BenchReport;
  try {
    const info = backend.info;
    checkWindows([...windows, ...minWindows], info.width);
    if (given) checkConditionsForModel(conditions, info);
    else if (info.conditioning === "text") {
      throw new ValidationError(`model ${info.name} is text-to-image: pass --prompt TEXT`);
    }
    const { cfg, ...sampling } = samplingFor(samplingGiven, info.defaults);
    const layout = layoutOf(info);
    const choices: [string, ScheduleChoice][] = [
      ["raster", { schedule: "raster", window: info.width, proxy: "r-2" }],
      ...variants.flatMap((variant) =>
        windows.map((s): [string, ScheduleChoice] => [`${variant} s=${s}`, {
          schedule: variant,
          window: s,
          proxy: "r-2",
        }])
      ),
      ...minWindows.map((m): [string, ScheduleChoice] => [`adaptive m=${m}`, {
        schedule: "adaptive",
        window: m,
        maxWindow: info.width,
        proxy: "r-2",
      }]),
    ];
    const settings: BenchSetting[] = choices.map(([setting, c]) => ({
      setting,
      schedule: c.schedule,
      window: c.window,
      runs: [],
    }));
    const schedules = choices.map(([, c]) => buildSchedule(layout, c));
    const pool = given
      ? conditions.conditions
      : Array.from({ length: info.numClasses }, (_, c) => c);
    if (reference) {
      settings.push({
        setting: "reference loop",
        schedule: "reference",
        window: info.width,
        runs: [],
      });
    }
    const run = async (k: number, round: number) => {
      const images = cycleConditions(pool, batch, seed + round);
      const start = performance.now();
      if (k === schedules.length) {
        await (backend as PythonBackend).referenceGenerate(images, cfg, sampling);
        return { wallMs: performance.now() - start, passes: info.height * info.width };
      }
      const { stats } = await runGeneration(backend, {
        images,
        schedule: schedules[k],
        cfgScale: cfg,
        sampling,
        mode,
      });
      return { wallMs: performance.now() - start, passes: stats.passes };
    };
    const progress = io.stderrIsTerminal;
    const python = profile ? backend as PythonBackend : null;
    const captures = settings.map(() => 0);
    for (let k = 0; k < settings.length; k++) await run(k, 0); // warm-up
    for (let round = 0; round < repeat; round++) {
      if (progress) io.writeStderr(`\r\x1b[Kbench: round ${round + 1}/${repeat}`);
      for (let k = 0; k < settings.length; k++) {
        if (python === null) {
          settings[k].runs.push(await run(k, round));
          continue;
        }
        const seen = await python.observePlans(() => run(k, round), false);
        settings[k].runs.push(seen.result);
        captures[k] += seen.graphCaptures;
      }
    }
    if (python !== null) {
      for (let k = 0; k < settings.length; k++) {
        if (settings[k].schedule === "reference") {
          settings[k].profile = stepCosts([], 0); // its own loop: nothing of ours to count
          continue;
        }
        if (progress) io.writeStderr(`\r\x1b[Kbench: profiling ${settings[k].setting}`);
        const seen = await python.observePlans(() => run(k, 0), true);
        settings[k].profile = stepCosts(seen.profiles, captures[k]);
      }
    }
    if (progress) io.writeStderr("\r\x1b[K");
    report = {
      format: "zipar.bench/1",
      zipar: VERSION,
      backend: backend.name,
      model: info.name,
      grid: [info.height, info.width],
      vocab: info.vocab,
      batch,
      cfg,
      mode,
      seed,
      repeat,
      warmup: 1,
      loadMs: Math.round(loadMs * 10) / 10,
      ...workerOf(backend),
      results: summarize(settings, { batch, height: info.height, width: info.width }),
    };
  } finally {
    await backend.close();
  }
  const text = format === "json"
    ? JSON.stringify(report, null, 2) + "\n"
    : format === "csv"
    ? renderCsv(report)
    : renderMarkdown(report);
  await io.writeStdout(new TextEncoder().encode(text));
  return 0;
}

/** One setting's costs from its profiled runs (weighted by steps); nulls if it ran no plan. */
function stepCosts(profiles: StepProfile[], captures: number): StepCosts {
  const steps = profiles.reduce((n, p) => n + p.steps, 0);
  if (steps === 0) {
    return { opsPerStep: null, opsPerLayerPerStep: null, syncsPerStep: null, graphCaptures: null };
  }
  const mean = (of: (p: StepProfile) => number | null) => {
    let sum = 0;
    for (const p of profiles) {
      const v = of(p);
      if (v === null) return null;
      sum += v * p.steps;
    }
    return sum / steps;
  };
  return {
    opsPerStep: mean((p) => p.opsPerStep),
    opsPerLayerPerStep: mean((p) => p.opsPerLayerPerStep),
    syncsPerStep: mean((p) => p.syncsPerStep),
    graphCaptures: captures,
  };
}

/** A Python backend's worker details for the report (`--threads` and all), else nothing. */
function workerOf(backend: { name: string }): Pick<BenchReport, "worker"> {
  const worker = (backend as Partial<PythonBackend>).worker;
  if (backend.name !== "python" || !worker) return {};
  const { torch, device, dtype, threads } = worker;
  return { worker: { torch, device, dtype, threads } };
}

function checkWindows(windows: number[], width: number): void {
  const bad = windows.find((s) => s > width);
  if (bad !== undefined) {
    throw new ValidationError(
      `window ${bad} is larger than the grid width ${width}`,
      `Pass windows in 1..${width}.`,
    );
  }
}

/** `--schedule ideal|paper|ideal,paper`: the ZipAR variants each window runs with. */
function parseVariants(raw: string | undefined): ("ideal" | "paper")[] {
  const names = (raw ?? "ideal").split(",").map((n) => n.trim());
  const bad = names.find((n) => n !== "ideal" && n !== "paper");
  if (bad !== undefined || names.length !== new Set(names).size) {
    throw new ValidationError(
      `--schedule must be ideal, paper or ideal,paper, got '${raw}'`,
    );
  }
  return names as ("ideal" | "paper")[];
}
