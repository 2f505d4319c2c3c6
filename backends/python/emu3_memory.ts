/**
 * Peak memory of the Python worker for Emu3's 90×90 grid with CFG (not a test): a small random Emu3
 * (testing/python/tiny_models/emu3.py's `pass` preset: 2 layers of width 256, 2 K/V heads of 64,
 * context 9216) or `--model DIR`, one image, ZipAR s = 7 in planned mode through the real client.
 * Prints the worker's peak RSS (VmHWM of /proc/PID/status) after loading and after the generation,
 * and the slot KV cache's size for the image's positions (sequences × layers × K and V × K/V heads
 * × head dim × bytes, per position).
 *
 * Run: deno run -A backends/python/emu3_memory.ts [--model DIR] [--window S] [--cfg G]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { createSchedule } from "../../core/schedule.ts";
import { openEmu3, removeTinyEmu3, tinyEmu3 } from "./emu3_test_helpers.ts";
import { PYTHON } from "./test_helpers.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    window: { type: "string", default: "7" },
    cfg: { type: "string", default: "3" },
  },
});
if (PYTHON === null) throw new Error("No python with torch found (set ZIPAR_PYTHON)");

function peakRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kb * 1024;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const dir = args.model ?? await tinyEmu3("pass");
const backend = await openEmu3(dir);
try {
  const loaded = peakRss(backend.pid);
  const info = backend.info, config = backend.worker.config;
  const schedule = createSchedule(layoutOf(info), { window: Number(args.window) });
  const cfg = Number(args.cfg);
  const t0 = performance.now();
  const { stats } = await generate(backend, {
    images: [{ condition: { prompt: "a red fox in the snow" }, seed: 0, index: 0 }],
    schedule,
    cfgScale: cfg,
    sampling: { temperature: 1 },
    mode: "planned",
  });
  const ms = performance.now() - t0;
  const peak = peakRss(backend.pid);
  const seqs = cfg === 1 ? 1 : 2;
  const positions = info.height * (info.width + 1); // the image's rows and EOL slots
  const headDim = Number(config.hidden) / Number(config.heads);
  const perPosition = seqs * Number(config.layers) * 2 * Number(config.kvHeads) * headDim *
    Number(backend.worker.dtype === "float32" ? 4 : 2);
  console.log(`Emu3 ${dir}: ${info.height}x${info.width} + EOL, CFG ${cfg}, s=${args.window}`);
  console.log(`steps ${stats.passes}, ${(ms / 1000).toFixed(1)} s`);
  console.log(`worker peak RSS after load ${mib(loaded)}, after the generation ${mib(peak)}`);
  console.log(
    `slot KV cache: ${perPosition} B per position (${seqs} sequences), ` +
      `${mib(perPosition * positions)} for the ${positions} image positions, plus the prompts'`,
  );
} finally {
  await backend.close();
  if (!args.model) await removeTinyEmu3();
}
