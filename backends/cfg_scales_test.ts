/**
 * A model's per-cell CFG scale (ModelInfo.cfgRule, core/cfg's cfgScales) on the mock: the engine
 * mixes every cell with the scale Lumina-mGPT 2.0's CFG processor would have reached there — a
 * loop written here the release's way (g updated at every generated position, each EOL
 * included) is the oracle — in interactive and planned mode, raster and ZipAR; a plan runner
 * that does not know per-cell scales is run interactive, and refused in planned mode.
 */
import assert from "node:assert/strict";
import { plainPlanRunner } from "../testing/plain_plan_runner.ts";
import { cfgQueries } from "../core/cfg.ts";
import { sequencesFor } from "../core/condition.ts";
import { generate, type GenerateOptions } from "../core/engine.ts";
import { createLayout, eolSlotOf, layoutOf, slotOf } from "../core/layout.ts";
import { compilePlan, encodePlan } from "../core/plan.ts";
import { cellKey } from "../core/random.ts";
import { mixCfg, resolveSampling, sample } from "../core/sampling.ts";
import { createSchedule } from "../core/schedule.ts";
import { type Backend, type PlanImage, QUERY_TOKEN_CONDITION } from "../core/step.ts";
import { MockBackend, type MockOptions } from "./mock/mock.ts";
import { runPlanOnHost } from "./host_plan.ts";

const RULE = { kind: "decay", floor: 4, start: 2, latentStride: 2 } as const; // the release's
// 8×4 + EOL: area (8/2)·(4/2) = 8, small enough that a large g decays past row 0's EOL.
const MOCK: MockOptions = { height: 8, width: 4, vocab: 16, eolToken: 16, sharpness: 1.5 };
const ruled = new MockBackend({ ...MOCK, cfgRule: RULE });
const constant = new MockBackend(MOCK); // the same model, mixing with one g everywhere
const images = [{ condition: 2, seed: 11, index: 0 }, { condition: 7, seed: 11, index: 1 }];

/**
 * The release's loop on `backend`'s steps: raster, each image's conditional and unconditional
 * halves, and before every generated position n (from 2 at cell (0, 0), each EOL included)
 * `g ← max(4, g·(1 − n/8))` unless g = 1; cells sampled from u + g·(c − u) with zipar's keys.
 */
async function releaseLoop(
  backend: Backend,
  images: readonly PlanImage[],
  cfg: number,
): Promise<Int32Array> {
  const { height: h, width: w, vocab, eolToken } = backend.info;
  const layout = layoutOf(backend.info), area = (h / 2) * (w / 2), b = images.length;
  const session = await backend.open(sequencesFor(images.map((im) => im.condition), true));
  const grid = new Int32Array(b * h * w);
  const write = (slot: number, token: (i: number) => number, wantLogits: boolean) =>
    session.step(cfgQueries(images.map((_, i) => [{ slot, token: token(i), wantLogits }]), true));
  let logits = await write(0, () => QUERY_TOKEN_CONDITION, true); // predicts (0, 0), n = 2
  let g = cfg;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c <= w; c++) {
      if (g !== 1) g = Math.max(4, g * (1 - (2 + r * (w + 1) + c) / area));
      if (c === w) { // the forced EOL: not sampled, but g was updated for it
        if (r + 1 < h) logits = await write(eolSlotOf(layout, r), () => eolToken!, true);
        continue;
      }
      for (let i = 0; i < b; i++) {
        const cond = logits.subarray(2 * i * vocab, (2 * i + 1) * vocab);
        const uncond = logits.subarray((2 * i + 1) * vocab, (2 * i + 2) * vocab);
        const key = cellKey(images[i].seed, images[i].index, r, c);
        grid[i * h * w + r * w + c] = sample(mixCfg(cond, uncond, g), key, resolveSampling());
      }
      logits = await write(slotOf(layout, r, c), (i) => grid[i * h * w + r * w + c], c + 1 < w);
    }
  }
  await session.close();
  return grid;
}

function run(b: Backend, cfgScale: number, window: number | null, mode: GenerateOptions["mode"]) {
  const layout = layoutOf(b.info);
  const schedule = createSchedule(layout, window === null ? { kind: "raster" } : { window });
  return generate(b, { images, schedule, cfgScale, mode });
}

Deno.test("generate() mixes each cell with its cfgRule scale, as the release's loop does", async () => {
  for (const cfg of [7, 2, 2000]) {
    const release = await releaseLoop(ruled, images, cfg);
    for (const window of [null, 2, 4]) { // the mock's reach is 1 to the right: s ≥ 2 is raster
      for (const mode of ["interactive", "planned"] as const) {
        const { grids, stats } = await run(ruled, cfg, window, mode);
        assert.equal(stats.mode, mode);
        assert.deepEqual(grids, release, `g ${cfg}, window ${window}, ${mode}`);
      }
    }
    // A constant scale (the old behaviour) gives other grids at every one of these g …
    assert.notDeepEqual((await run(constant, cfg, null, "interactive")).grids, release, `${cfg}`);
  }
  // … and the same at g = 4, where the rule keeps 4 throughout, and at g = 1 (no CFG).
  for (const cfg of [4, 1]) {
    const release = await releaseLoop(ruled, images, cfg);
    assert.deepEqual((await run(constant, cfg, 2, "planned")).grids, release);
    assert.deepEqual((await run(ruled, cfg, 2, "planned")).grids, release);
  }
});

Deno.test("generate() runs per-cell scales interactive on a plan runner that does not know them", async () => {
  // The mock's sessions without plansCfgScales: a plan runner that mixes with cfgScale only.
  const unaware = plainPlanRunner(ruled, "unaware");
  const auto = await run(unaware, 7, 2, "auto");
  assert.equal(auto.stats.mode, "interactive");
  assert.deepEqual(auto.grids, await releaseLoop(ruled, images, 7));
  assert.equal((await run(unaware, 1, 2, "auto")).stats.mode, "planned"); // no CFG: no scales
  await assert.rejects(run(unaware, 7, 2, "planned"), {
    name: "TypeError",
    message:
      "Backend unaware cannot run plans with a CFG scale per cell (mock's cfgRule): use interactive mode",
  });
});

Deno.test("runPlanOnHost() refuses per-cell scales that are not one finite g ≥ 1 per cell", async () => {
  const layout = createLayout({ height: 8, width: 4, eol: true });
  const plan = encodePlan(compilePlan(layout, createSchedule(layout, { window: 2 })));
  const session = await ruled.open(sequencesFor([2], true));
  const base = { plan, images: [images[0]], cfgScale: 7, sampling: resolveSampling() };
  for (const cfgScales of [new Float64Array(31).fill(4), new Float64Array(32).fill(0.5)]) {
    await assert.rejects(
      runPlanOnHost(session, ruled.info, { ...base, cfgScales, progressEvery: 0 }),
      /plan cfgScales must be 32 finite scales ≥ 1, one per grid cell/,
    );
  }
  const nan = new Float64Array(32).fill(4);
  nan[5] = NaN;
  await assert.rejects(
    runPlanOnHost(session, ruled.info, { ...base, cfgScales: nan, progressEvery: 0 }),
    RangeError,
  );
  await session.close();
});

Deno.test("MockBackend reports its cfgRule and refuses one that does not fit its grid", () => {
  assert.deepEqual(ruled.info.cfgRule, RULE);
  assert.equal("cfgRule" in constant.info, false);
  assert.throws(() => new MockBackend({ height: 3, width: 4, cfgRule: RULE }), /stride 2/);
});
