/**
 * `zipar demo`: the built-in default job. Generates a contact sheet (a row per class) with the
 * shipped Fashion-MNIST demo model (fixtures/demo) using ZipAR, on WebGPU — or, with no WebGPU
 * adapter, on the Python backend when torch is there — and prints passes vs raster and timing.
 *
 * @module
 */

import { countSteps, layoutOf } from "../core/mod.ts";
import { openImageDecoder } from "../backends/open.ts";
import { choiceFlag, intFlag, numberFlag, type OptionSpec, parseCommand } from "./flags/args.ts";
import { threadsFlag } from "./flags/backend_flags.ts";
import { buildSchedule } from "./schedules.ts";
import { writeImages } from "./formats/png_files.ts";
import { DEMO_MODEL, openDemoBackend } from "./generation/demo_backend.ts";
import { perClassImages } from "./generation/images.ts";
import { runGeneration, stepProgress } from "./generation/run.ts";
import type { Io } from "./io/io.ts";
import { stderrProgress } from "./io/progress.ts";

/** Flags of `zipar demo`. */
export const DEMO_OPTIONS: OptionSpec = {
  backend: { type: "string" },
  model: { type: "string" },
  python: { type: "string" },
  threads: { type: "string" },
  "per-class": { type: "string" },
  window: { type: "string" },
  schedule: { type: "string" },
  cfg: { type: "string" },
  seed: { type: "string" },
  out: { type: "string", short: "o" },
  scale: { type: "string" },
  compare: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** `zipar demo --help`. */
export const DEMO_USAGE = `Usage: zipar demo [options]

Generate a contact sheet (a row per class) with the built-in Fashion-MNIST demo model and ZipAR,
and print forward passes vs raster and wall time.

  --backend NAME     auto | webgpu | python (default: auto = WebGPU, else Python with torch)
  --model DIR        model directory (default: the shipped fixtures/demo)
  --python PATH      python interpreter for the python backend
  --threads N        torch CPU threads of the python backend (default: OMP_NUM_THREADS, else
                     torch's: one per core)
  --per-class N      images per class (default: 8)
  --window s         ZipAR window, 1..14 (default: 7)
  --schedule NAME    ideal | paper (default: paper: on the demo model, paper s=7 matches
                     raster's accuracy and FD in 112 passes instead of 196; see zipar eval)
  --cfg G            classifier-free guidance scale (default: 2)
  --seed S           seed (default: 0)
  -o, --out FILE     output PNG (default: demo.png)
  --scale N          enlarge pixels N× (default: 3)
  --compare          also run raster order on the same seeds and report both wall times
  -h, --help         show this help
`;

/** Run `zipar demo`; returns the exit code. */
export async function demoCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand(args, DEMO_OPTIONS);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(DEMO_USAGE));
    return 0;
  }
  const choice = choiceFlag(values, "backend", ["auto", "webgpu", "python"] as const, "auto");
  const model = typeof values.model === "string" ? values.model : DEMO_MODEL;
  const perClass = intFlag(values, "per-class", 1, 64, 8);
  const cfgScale = numberFlag(values, "cfg", (n) => n >= 0, "≥ 0 (1 = off)", 2);
  const seed = intFlag(values, "seed", 0, 0xffffffff, 0);
  const scale = intFlag(values, "scale", 1, 32, 3);
  const out = typeof values.out === "string" ? values.out : "demo.png";
  if (!(await Deno.stat(`${model}/model.safetensors`).catch(() => null))) {
    throw new Error(
      `demo model missing: ${model}/model.safetensors (train it with tools/demo/train.py, see fixtures/demo/README.md)`,
    );
  }
  const loadStart = performance.now();
  const python = values.python as string | undefined;
  const threads = threadsFlag(values);
  const backend = await openDemoBackend({ choice, model, python, threads, env: io.env });
  const decoder = await openImageDecoder({ kind: "model", dir: model });
  const loadMs = performance.now() - loadStart;
  try {
    const info = backend.info;
    const window = intFlag(values, "window", 1, info.width, Math.min(7, info.width));
    const variant = choiceFlag(values, "schedule", ["ideal", "paper"] as const, "paper");
    const layout = layoutOf(info);
    const images = perClassImages(info.numClasses, perClass, seed);
    const run = async (kind: "zipar" | "raster") => {
      const schedule = buildSchedule(
        layout,
        kind === "raster"
          ? { schedule: "raster", window: info.width, proxy: "r-2" }
          : { schedule: variant, window, proxy: "r-2" },
      );
      const progress = stderrProgress(io);
      const generation = await runGeneration(backend, { images, schedule, cfgScale }, {
        onStep: stepProgress(progress),
      });
      progress.finish();
      return generation;
    };
    const zipar = await run("zipar");
    const raster = values.compare ? await run("raster") : null;
    const pictures = await decoder.decode(zipar.grids, zipar.shape);
    await writeImages(pictures, out, { sheet: true, columns: perClass, scale });
    const { passes, rasterPasses, wallMs } = zipar.stats;
    const cut = Math.round((1 - passes / rasterPasses) * 100);
    const lines = [
      `zipar demo: ${images.length} images (${info.numClasses} classes × ${perClass}), ` +
      `${info.height}×${info.width} tokens, CFG ${cfgScale}, seed ${seed}, backend ${backend.name}`,
      `  ZipAR (${variant}, s=${window}): ${passes} passes vs ${rasterPasses} raster (−${cut}%), ` +
      `${(wallMs / 1000).toFixed(2)} s` +
      (raster
        ? `; raster: ${raster.stats.passes} passes, ${(raster.stats.wallMs / 1000).toFixed(2)} s ` +
          `(speedup ${(raster.stats.wallMs / wallMs).toFixed(2)}×)`
        : ""),
      `  model load ${(loadMs / 1000).toFixed(2)} s; formula ${
        variant === "paper" ? "2W + (H−2)·s" : "W + (H−1)·s"
      } = ${countSteps({ height: info.height, width: info.width, window, variant })}`,
      `  wrote ${out}: one row per class (${classNames(model)})`,
    ];
    io.writeStderr(lines.join("\n") + "\n");
    return 0;
  } finally {
    await decoder.close();
    await backend.close();
  }
}

function classNames(model: string): string {
  try {
    const config = JSON.parse(Deno.readTextFileSync(`${model}/config.json`));
    if (Array.isArray(config.classNames)) return config.classNames.join(", ");
  } catch { /* fall through */ }
  return "class 0 first";
}
