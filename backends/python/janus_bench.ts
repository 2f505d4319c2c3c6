/**
 * Janus timings on the Python backend, side by side in one run (not a test): transformers' own
 * image loop (the `transformers_generate` request, in the same worker), zipar raster, and
 * ZipAR at s = 4 and s = 8 (ideal, paper), rounds interleaved, medians with ranges. CFG 5, one
 * image, greedy. The model: a mid-sized random Janus directory (tiny.py's `mid` preset: 8
 * layers, width 512, codebook 16384, 24×24), or `--model DIR`.
 *
 * Run: deno run -A backends/python/janus_bench.ts [--model DIR] [--rounds N] [--mode planned]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { openJanus, removeTinyJanus, tinyJanus } from "./janus_test_helpers.ts";
import { PYTHON } from "./test_helpers.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    rounds: { type: "string", default: "3" },
    mode: { type: "string", default: "planned" },
    prompt: { type: "string", default: "a red fox in the snow, watercolor" },
  },
});
if (PYTHON === null) throw new Error("No python with torch found (set ZIPAR_PYTHON)");
const mode = args.mode === "interactive" ? "interactive" : "planned";

const dir = args.model ?? await tinyJanus("mid");
const backend = await openJanus(dir);
const images = [{ condition: { prompt: args.prompt! }, seed: 0, index: 0 }];
const rows: { name: string; schedule: ScheduleOptions | null }[] = [
  { name: "transformers generate", schedule: null },
  { name: "zipar raster", schedule: { kind: "raster" } },
  { name: "ZipAR s=4 ideal", schedule: { window: 4 } },
  { name: "ZipAR s=8 ideal", schedule: { window: 8 } },
  { name: "ZipAR s=8 paper", schedule: { window: 8, variant: "paper" } },
];
const times = rows.map(() => [] as number[]);
const passes = rows.map(() => 0);
try {
  const layout = layoutOf(backend.info);
  for (let round = 0; round <= Number(args.rounds); round++) { // round 0 warms up
    for (const [i, row] of rows.entries()) {
      const t0 = performance.now();
      if (row.schedule === null) {
        await backend.referenceGenerate(images, 5, { temperature: 0, topK: 0, topP: 1 });
        passes[i] = layout.height * layout.width;
      } else {
        const schedule = createSchedule(layout, row.schedule);
        const { stats } = await generate(backend, {
          images,
          schedule,
          cfgScale: 5,
          sampling: { temperature: 0 },
          mode,
        });
        passes[i] = stats.passes;
      }
      if (round > 0) times[i].push(performance.now() - t0);
    }
  }
} finally {
  await backend.close();
  if (!args.model) await removeTinyJanus();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times[1]);
console.log(`Janus ${dir}, CFG 5, 1 image, ${mode}, ${args.rounds} rounds (medians, ms)`);
console.log("| row | passes | median ms | range | speedup | pass ratio | speedup ÷ ratio |");
console.log("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
for (const [i, row] of rows.entries()) {
  const m = median(times[i]);
  const ratio = passes[1] / passes[i];
  const speedup = base / m;
  const range = `${Math.min(...times[i]).toFixed(0)}–${Math.max(...times[i]).toFixed(0)}`;
  console.log(
    `| ${row.name} | ${passes[i]} | ${m.toFixed(0)} | ${range} | ${speedup.toFixed(2)}× | ` +
      `${ratio.toFixed(2)}× | ${(speedup / ratio).toFixed(2)} |`,
  );
}
