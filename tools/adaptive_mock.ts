/**
 * Fixed windows vs the adaptive windows (v1: first token; v2: every token) and speculative
 * Jacobi decoding on the mock model, in one run: mean passes per image and agreement with raster
 * decoding of the same seeds (the mock's "quality": with right reach b, any window s ≥ b + 1
 * reproduces raster exactly; `exact` acceptance reproduces raster's draws by construction).
 *
 *   deno run tools/adaptive_mock.ts [--images 200] [--reach 3] [--grid 16]
 */
import { parseArgs } from "node:util";
import { MockBackend } from "../backends/mock/mock.ts";
import {
  createAdaptiveSchedule,
  createAdaptiveV2Schedule,
  createSchedule,
  createSpeculativeRowsSchedule,
  generate,
  layoutOf,
  type Schedule,
} from "../core/mod.ts";

const { values } = parseArgs({
  options: { images: { type: "string" }, reach: { type: "string" }, grid: { type: "string" } },
});
const n = Number(values.images ?? 200),
  reach = Number(values.reach ?? 3),
  side = Number(values.grid ?? 16);
const backend = new MockBackend({
  height: side,
  width: side,
  vocab: 16,
  sharpness: 2,
  aboveRight: reach,
});
const layout = layoutOf(backend.info);
const images = Array.from(
  { length: n },
  (_, i) => ({ condition: i % 10, seed: 1000 + i, index: 0 }),
);

async function perImage(schedule: Schedule) {
  let passes = 0;
  const grids: Int32Array[] = [];
  for (const image of images) {
    const g = await generate(backend, { images: [image], schedule, mode: "interactive" });
    passes += g.stats.passes;
    grids.push(g.grids);
  }
  return { passes: passes / n, grids };
}

const raster = await perImage(createSchedule(layout, { kind: "raster" }));
const settings: [string, Schedule][] = [
  ...[1, 2, 3, 4, 5].map((s) =>
    [`ideal s=${s}`, createSchedule(layout, { window: s })] as [string, Schedule]
  ),
  ...[1, 2, 3].map((m) =>
    [`adaptive m=${m}`, createAdaptiveSchedule(layout, { minWindow: m })] as [string, Schedule]
  ),
  ...[1, 2, 3].map((m) =>
    [`adaptive2 m=${m}`, createAdaptiveV2Schedule(layout, { minWindow: m })] as [string, Schedule]
  ),
  ...[1, 2].map((m) =>
    [
      `adaptive2 m=${m}, final, exact`,
      createAdaptiveV2Schedule(layout, { minWindow: m, trigger: "final", acceptance: "exact" }),
    ] as [string, Schedule]
  ),
  ...[2, 4].map((draft) =>
    [`sjd L=${draft}`, createSpeculativeRowsSchedule(layout, { draft })] as [string, Schedule]
  ),
  ...[2, 4].map((draft) =>
    [
      `ideal-sjd s=${reach + 1} L=${draft}`,
      createSpeculativeRowsSchedule(layout, { draft, window: reach + 1 }),
    ] as [string, Schedule]
  ),
  [`sjd L=4, exact`, createSpeculativeRowsSchedule(layout, { draft: 4, acceptance: "exact" })],
  [
    `ideal-sjd s=${reach + 1} L=4, exact`,
    createSpeculativeRowsSchedule(layout, { draft: 4, window: reach + 1, acceptance: "exact" }),
  ],
  [
    `ideal-sjd s=2 L=4, exact`,
    createSpeculativeRowsSchedule(layout, { draft: 4, window: 2, acceptance: "exact" }),
  ],
];
console.log(
  `mock ${side}×${side}, vocab 16, right reach b=${reach} (exact for s ≥ ${
    reach + 1
  }), ${n} images, one at a time`,
);
console.log(`| setting | passes/image | tokens equal to raster | images equal to raster |`);
console.log(`| --- | ---: | ---: | ---: |`);
console.log(`| raster | ${raster.passes.toFixed(1)} | 100.0% | 100.0% |`);
for (const [label, schedule] of settings) {
  const r = await perImage(schedule);
  let same = 0, whole = 0;
  r.grids.forEach((g, i) => {
    let eq = 0;
    for (let k = 0; k < g.length; k++) if (g[k] === raster.grids[i][k]) eq++;
    same += eq / g.length;
    if (eq === g.length) whole++;
  });
  console.log(
    `| ${label} | ${r.passes.toFixed(1)} | ${(100 * same / n).toFixed(1)}% | ${
      (100 * whole / n).toFixed(1)
    }% |`,
  );
}
