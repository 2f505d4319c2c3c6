/**
 * `zipar eval`: for a model and a list of settings (raster, windows, schedules, proxy policies,
 * adaptive), generate N samples per class on the same seeds in one run and report passes, wall
 * time, class accuracy and Fréchet distance on the demo classifier's features — with real test
 * images as the floor — and, beside them only, bits per token under the model in raster order.
 *
 * @module
 */

import { layoutOf } from "../core/mod.ts";
import { openImageDecoder } from "../backends/open.ts";
import { FEATURES, loadFmnistClassifier } from "./eval/fmnist_classifier.ts";
import type { Gaussian } from "./eval/frechet.ts";
import { bitsPerToken } from "./eval/likelihood.ts";
import { type EvalRow, renderEval } from "./eval/report.ts";
import { scoreGrids, type Scorer } from "./eval/score.ts";
import { DEFAULT_SETTINGS, parseSettings } from "./eval/settings.ts";
import { choiceFlag, intFlag, numberFlag, type OptionSpec, parseCommand } from "./flags/args.ts";
import { threadsFlag } from "./flags/backend_flags.ts";
import { DEMO_MODEL, openDemoBackend } from "./generation/demo_backend.ts";
import { perClassImages } from "./generation/images.ts";
import { runGeneration, stepProgress } from "./generation/run.ts";
import type { Io } from "./io/io.ts";
import { stderrProgress } from "./io/progress.ts";

/** Flags of `zipar eval`. */
export const EVAL_OPTIONS: OptionSpec = {
  model: { type: "string" },
  backend: { type: "string" },
  python: { type: "string" },
  threads: { type: "string" },
  "per-class": { type: "string" },
  settings: { type: "string" },
  cfg: { type: "string" },
  seed: { type: "string" },
  batch: { type: "string" },
  format: { type: "string" },
  "no-likelihood": { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
};

/** `zipar eval --help`. */
export const EVAL_USAGE = `Usage: zipar eval [options]

Compare decoding settings on one model in one run: the same classes and seeds per setting.
Reports forward passes, wall time per image, class accuracy and Fréchet distance (FD) on the
features of the demo's Fashion-MNIST classifier, with real test images as the floor, and bits
per token under the model in raster order (beside the others only: it favours bland images).

  --model DIR        model directory with classifier.* and test_slice.json (default: the demo)
  --backend NAME     auto | webgpu | python (default: auto)
  --python PATH      python interpreter for the python backend
  --threads N        torch CPU threads of the python backend (default: OMP_NUM_THREADS, else
                     torch's: one per core)
  --per-class N      samples per class and setting (default: 50)
  --settings LIST    comma-separated: raster, ideal:S, paper:S, ideal:S:r-1, adaptive:M[:MAX],
                     adaptive2:M[:MAX], sjd:L, ideal-sjd:S:L, paper-sjd:S:L; the last four
                     take options after the numbers: exact, final (adaptive2), above,
                     uncoupled (the sjd ones) — see docs/eval.md
                     (default: ${DEFAULT_SETTINGS})
  --cfg G            classifier-free guidance scale (default: 2)
  --seed S           seed (default: 0)
  --batch B          images per generation (default: 100)
  --format FMT       md | json | csv (default: md)
  --no-likelihood    skip the bits-per-token column
  -q, --quiet        no progress on stderr
  -h, --help         show this help
`;

/**
 * The steps a generation's images needed in all: the sum of `scheduleStats.passes` when the
 * schedule reports them per image (a reactive schedule), else `passes` for each of `count`.
 */
function perImagePasses(scheduleStats: unknown, count: number, passes: number): number {
  const list = (scheduleStats as { passes?: unknown } | undefined)?.passes;
  if (Array.isArray(list) && list.length === count) return list.reduce((a, b) => a + b, 0);
  return passes * count;
}

/** Run `zipar eval`; returns the exit code. */
export async function evalCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommand(args, EVAL_OPTIONS);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(EVAL_USAGE));
    return 0;
  }
  const model = typeof values.model === "string" ? values.model : DEMO_MODEL;
  const backendChoice = choiceFlag(
    values,
    "backend",
    ["auto", "webgpu", "python"] as const,
    "auto",
  );
  const perClass = intFlag(values, "per-class", 1, 100_000, 50);
  const cfgScale = numberFlag(values, "cfg", (n) => n >= 0, "≥ 0 (1 = off)", 2);
  const seed = intFlag(values, "seed", 0, 0xffffffff, 0);
  const batch = intFlag(values, "batch", 1, 10_000, 100);
  const format = choiceFlag(values, "format", ["md", "json", "csv"] as const, "md");
  const log = (s: string) => !values.quiet && io.writeStderr(s + "\n");
  const info = JSON.parse(
    await Deno.readTextFile(`${model}/classifier.json`).catch(() => {
      throw new Error(
        `${model}/classifier.json not found: eval needs the demo classifier (tools/demo/classifier.py)`,
      );
    }),
  );
  const ref = info.reference;
  const reference: Gaussian = {
    mean: Float64Array.from(ref.mean),
    cov: Float64Array.from(ref.cov.flat()),
    dim: FEATURES,
  };
  const slice = JSON.parse(await Deno.readTextFile(`${model}/test_slice.json`));
  const python = values.python as string | undefined;
  const threads = threadsFlag(values);
  const backend = await openDemoBackend({
    choice: backendChoice,
    model,
    python,
    threads,
    env: io.env,
  });
  const decoder = await openImageDecoder({ kind: "model", dir: model });
  try {
    const scorer: Scorer = { classifier: await loadFmnistClassifier(model), decoder, reference };
    const settings = parseSettings(
      typeof values.settings === "string" ? values.settings : DEFAULT_SETTINGS,
      backend.info.width,
    );
    const layout = layoutOf(backend.info);
    const images = perClassImages(backend.info.numClasses, perClass, seed);
    const labels = images.map((im) => im.condition as number); // the demo model's classes
    const cells = backend.info.height * backend.info.width;
    const rows: EvalRow[] = [];
    const sliceTokens = Int32Array.from(slice.tokens as number[]);
    const floor = await scoreGrids(scorer, sliceTokens, slice.shape, slice.labels);
    rows.push({
      setting: "real test images (floor)",
      images: slice.shape[0],
      passes: null,
      rasterPasses: null,
      msPerImage: null,
      ...floor,
      bitsPerToken: values["no-likelihood"]
        ? null
        : await bitsPerToken(backend, sliceTokens, slice.labels),
    });
    for (const setting of settings) {
      const grids = new Int32Array(images.length * cells);
      let wall = 0, passes = 0, imagePasses = 0, runs = 0, rasterPasses = 0;
      const progress = stderrProgress(io, { quiet: values.quiet === true });
      for (let start = 0; start < images.length; start += batch) {
        const part = images.slice(start, start + batch);
        const t0 = performance.now();
        const g = await runGeneration(backend, {
          images: part,
          schedule: setting.schedule(layout),
          cfgScale,
        }, { onStep: stepProgress(progress) });
        wall += performance.now() - t0;
        grids.set(g.grids, start * cells);
        passes += g.stats.passes;
        imagePasses += perImagePasses(g.stats.scheduleStats, part.length, g.stats.passes);
        rasterPasses = g.stats.rasterPasses;
        runs++;
      }
      progress.finish();
      const shape: [number, number, number] = [
        images.length,
        backend.info.height,
        backend.info.width,
      ];
      const s = await scoreGrids(scorer, grids, shape, labels);
      const bits = values["no-likelihood"] ? null : await bitsPerToken(backend, grids, labels);
      rows.push({
        setting: setting.label,
        images: images.length,
        passes: imagePasses / images.length,
        batchPasses: passes / runs,
        rasterPasses,
        msPerImage: wall / images.length,
        ...s,
        bitsPerToken: bits,
      });
      log(
        `zipar eval: ${setting.label}: ${
          (imagePasses / images.length).toFixed(1)
        } passes per image (${(passes / runs).toFixed(1)} per batch), accuracy ${
          (s.accuracy * 100).toFixed(1)
        }%, FD ${s.fd.toFixed(2)}, ${(wall / 1000).toFixed(1)} s`,
      );
    }
    await io.writeStdout(new TextEncoder().encode(renderEval(rows, format)));
    log(
      `zipar eval: backend ${backend.name}, ${perClass} per class, CFG ${cfgScale}, seed ${seed}; classifier test accuracy ${info.testAccuracy}`,
    );
    return 0;
  } finally {
    await decoder.close();
    await backend.close();
  }
}
