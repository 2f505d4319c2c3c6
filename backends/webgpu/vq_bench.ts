/**
 * VQ decoder benchmark (random weights, nothing asserted): decode time per image on the
 * WebGPU device for a small config and for the official VQ-16 decoder on a 16×16 grid
 * (256×256 pixels), plus the float64 CPU reference of the small config for scale. The official
 * decode (~200 GFLOP) is skipped on a software adapter unless `--official` is given (lavapipe on
 * 2 shared cores did not finish it in 5 minutes); it is abandoned after `--cap-s` seconds, but
 * a long submission can block the event loop, so the cap may fire late.
 *
 * Run: `deno run -A backends/webgpu/vq_bench.ts [--reps 3] [--grid 16] [--cap-s 120] [--official]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { VQ16_CONFIG, type VqConfig } from "../vq_config.ts";
import { decodeVqReference } from "../vq_reference.ts";
import { openGpu } from "./device.ts";
import { openWebgpuVqDecoder } from "./vq_decoder.ts";
import { randomVqWeights, tinyVqConfig } from "./vq_random_weights.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "3" },
    grid: { type: "string", default: "16" },
    "cap-s": { type: "string", default: "120" },
    official: { type: "boolean", default: false },
  },
});
const reps = Number(values.reps), side = Number(values.grid), capS = Number(values["cap-s"]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Decode one random `side`×`side` grid `reps` times after a warm-up; returns ms per decode. */
async function time(config: VqConfig, side: number, reps: number, cap = Infinity) {
  let t = performance.now();
  const weights = randomVqWeights(config, 1);
  const makeMs = performance.now() - t;
  t = performance.now();
  const decoder = await openWebgpuVqDecoder({ config, weights });
  const openMs = performance.now() - t;
  const tokens = Int32Array.from(
    { length: side * side },
    (_, i) => (i * 7919) % config.codebookSize,
  );
  const shape: [number, number, number] = [1, side, side];
  const timer = Number.isFinite(cap)
    ? setTimeout(() => {
      console.log(`  first decode did not finish within the ${cap} s cap: abandoned`);
      Deno.exit(0);
    }, cap * 1000)
    : undefined;
  t = performance.now();
  await decoder.decode(tokens, shape); // warm-up: pipelines, activation buffers
  const firstMs = performance.now() - t;
  clearTimeout(timer);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    t = performance.now();
    await decoder.decode(tokens, shape);
    times.push(performance.now() - t);
  }
  await decoder.close();
  return { makeMs, openMs, firstMs, medianMs: reps > 0 ? median(times) : NaN, tokens, weights };
}

const gpu = await openGpu();
console.log(`device: ${gpu.description}${gpu.isFallback ? " (software)" : ""}`);

const small = tinyVqConfig({ ch: 32, chMult: [1, 2], zChannels: 32, groups: 32 });
const s = await time(small, 8, reps);
const shape: [number, number, number] = [1, 8, 8];
const t = performance.now();
decodeVqReference(small, s.weights, s.tokens, shape);
const refMs = performance.now() - t;
console.log(
  `small (ch 32, chMult [1,2], 8×8 → 16×16): open ${ms(s.openMs)}, first decode ${
    ms(s.firstMs)
  }, median of ${reps} ${ms(s.medianMs)}; CPU float64 reference ${ms(refMs)}`,
);

if (!gpu.isFallback || values.official) {
  const px = side * 16;
  console.log(`official VQ-16, ${side}×${side} → ${px}×${px} (cap ${capS} s) ...`);
  const o = await time({ ...VQ16_CONFIG }, side, gpu.isFallback ? 0 : reps, capS);
  console.log(
    `official VQ-16, ${side}×${side} → ${px}×${px}: random weights ${ms(o.makeMs)}, open ${
      ms(o.openMs)
    }, first decode ${ms(o.firstMs)}${
      gpu.isFallback ? "" : `, median of ${reps} ${ms(o.medianMs)}`
    }`,
  );
}
