/**
 * Python backend timings, side by side in one run (not a test):
 * 1. stdio round trip per step: an empty step, a 1-row logits step, and raster generation per
 *    pass in interactive vs planned mode (tiny model, so the model itself costs little);
 * 2. step time vs tokens per step on a mid-sized model (6 layers, dim 384, vocab 16384, 16×16),
 *    and raster vs ZipAR generation wall time in both modes.
 *
 * Run: deno run -A backends/python/bench.ts [--device cuda] [--threads N] [--big DIR]
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import type { Query } from "../../core/step.ts";
import { openPythonBackend, type PythonBackend } from "./client.ts";
import { PYTHON, removeTinyModels, runPython, TINY_MODULE, tinyModels } from "./test_helpers.ts";
import { sequencesFor } from "../../core/condition.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    device: { type: "string", default: "cpu" },
    threads: { type: "string" }, // default: OMP_NUM_THREADS, else torch's own choice
    big: { type: "string" },
  },
});
if (PYTHON === null) throw new Error("No python with torch found (set ZIPAR_PYTHON)");

async function open(model: string, extra = {}): Promise<PythonBackend> {
  return await openPythonBackend({
    model,
    python: PYTHON!,
    device: args.device as "cpu" | "cuda",
    ...(args.threads ? { threads: Number(args.threads) } : {}),
    onLog: () => {},
    ...extra,
  });
}

async function timeIt(n: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - t0) / n;
}

const fmt = (ms: number) => ms.toFixed(2).padStart(8);

async function roundTrips(backend: PythonBackend): Promise<void> {
  console.log("\n## stdio round trip (tiny model: 2 layers, dim 64, vocab 256, 8×8)");
  const session = await backend.open(sequencesFor([1], false));
  await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
  const noLogits = await timeIt(
    200,
    () => session.step([{ seq: 0, slot: 1, token: 5, wantLogits: false }]),
  );
  const oneRow = await timeIt(
    200,
    () => session.step([{ seq: 0, slot: 1, token: 5, wantLogits: true }]),
  );
  await session.close();
  console.log(`step, 1 query, no logits      ${fmt(noLogits)} ms`);
  console.log(`step, 1 query, 1 logits row   ${fmt(oneRow)} ms`);
  await compareModes(backend, [{ kind: "raster" }], 3);
}

async function compareModes(backend: PythonBackend, schedules: ScheduleOptions[], reps: number) {
  const images = [{ condition: 1, seed: 0, index: 0 }];
  const layout = layoutOf(backend.info);
  console.log("schedule              mode          passes  ms/pass   total ms");
  for (const options of schedules) {
    const schedule = createSchedule(layout, options);
    for (const mode of ["interactive", "planned"] as const) {
      let best = Infinity, passes = 0;
      for (let r = 0; r < reps; r++) {
        const { stats } = await generate(backend, { images, schedule, cfgScale: 2, mode });
        best = Math.min(best, stats.wallMs);
        passes = stats.passes;
      }
      console.log(
        `${schedule.name.padEnd(22)}${mode.padEnd(12)}${String(passes).padStart(8)} ${
          fmt(best / passes)
        } ${fmt(best)}`,
      );
    }
  }
}

async function stepScaling(backend: PythonBackend): Promise<void> {
  const { width, height } = backend.info;
  console.log(`\n## step time vs tokens per step (${backend.worker.device}, CFG: 2 sequences)`);
  console.log("tokens/step  queries   ms/step   ms/token");
  for (const tokens of [1, 2, 4, 8, 16]) {
    const session = await backend.open(sequencesFor([1], true));
    const prefill: Query[] = [0, 1].map((seq) => ({ seq, slot: 0, token: -1, wantLogits: true }));
    await session.step(prefill);
    // Fill rows 0..7 in raster order so the steps below attend over ~half the sequence.
    for (let slot = 1; slot <= (height / 2) * width; slot += 16) {
      const qs: Query[] = [];
      for (let s = slot; s < Math.min(slot + 16, (height / 2) * width + 1); s++) {
        for (const seq of [0, 1]) qs.push({ seq, slot: s, token: s % 100, wantLogits: false });
      }
      await session.step(qs);
    }
    // One token in each of `tokens` rows (a ZipAR wavefront), for both CFG halves.
    let col = 0;
    const ms = await timeIt(6, () => {
      const qs: Query[] = [];
      for (let t = 0; t < tokens; t++) {
        const slot = 1 + (height / 2 + Math.floor(t / 2)) * width + (t % 2) * 8 + col;
        for (const seq of [0, 1]) qs.push({ seq, slot, token: 7, wantLogits: true });
      }
      col++;
      return session.step(qs);
    });
    await session.close();
    console.log(
      `${String(tokens).padStart(11)} ${String(2 * tokens).padStart(8)} ${fmt(ms)} ${
        fmt(ms / tokens)
      }`,
    );
  }
}

const tiny = await open(join(await tinyModels(), "st"));
console.log(
  `torch ${tiny.worker.torch}, device ${tiny.worker.device}, threads ${tiny.worker.threads}`,
);
await roundTrips(tiny);
await tiny.close();

let big = args.big;
if (!big) {
  await runPython(PYTHON!, TINY_MODULE, ["gpt", await tinyModels(), "--bench"]);
  big = join(await tinyModels(), "bench");
}
const mid = await open(big);
await stepScaling(mid);
console.log("\n## generation, 1 image, CFG 2 (mid-sized model)");
await compareModes(mid, [{ kind: "raster" }, { window: 4 }], 1);
await mid.close();
await removeTinyModels();
