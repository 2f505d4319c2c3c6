/**
 * Lumina-mGPT at 768 px: a 48×48 grid with an EOL slot after every row (48·49 = 2,352
 * positions). The public ZipAR script runs it with `--zipar_window_size 16`, a window that
 * counts the row's leading slot (the header's last token for row 0, the EOL token above for
 * the others): row r + 1 starts once row r holds 16 slots, i.e. 15 decoded image tokens. That
 * is zipar's s = 15 (windows counted in image tokens): 48 + 47·15 = 753 steps instead of 2,304
 * (−67%); its "8" is s = 7, 377 steps. Checked here against a simulation of the script's rule,
 * the plans, and a real 48×48 run with CFG on a small random Lumina model.
 */

import assert from "node:assert/strict";
import { createLayout, eolSlotOf } from "../../core/layout.ts";
import { compilePlan } from "../../core/plan.ts";
import { countSteps, createSchedule } from "../../core/schedule.ts";
import { generate } from "../../core/engine.ts";
import { layoutOf } from "../../core/layout.ts";
import { PYTHON_TESTS } from "./test_helpers.ts";
import { openLumina, removeTinyLumina, tinyLumina } from "./lumina_test_helpers.ts";

const [H, W] = [48, 48];
const LAYOUT = createLayout({ height: H, width: W, eol: true });

/**
 * Forward passes of the public Lumina-mGPT ZipAR loop (`_sample` of its modeling_chameleon.py)
 * for `window`: each pass decodes one token of every row in progress (the rows present when
 * the pass starts); `count[r]` is row r's leading slot plus its decoded tokens; when it
 * reaches `window`, the EOL is appended and row r + 1 starts in the next pass.
 */
function publicPasses(height: number, width: number, window: number): number {
  const count = new Array<number>(height).fill(0);
  let ongoing = [0];
  count[0] = 1;
  let passes = 0;
  while (ongoing.length > 0) {
    passes++;
    const started: number[] = [];
    for (const r of ongoing) {
      count[r]++;
      if (count[r] === window && r < height - 1 && !ongoing.includes(r + 1)) {
        started.push(r + 1);
        count[r + 1] = 1;
      }
    }
    ongoing = [...ongoing.filter((r) => count[r] < width + 1), ...started];
  }
  return passes;
}

Deno.test("Lumina 48x48 + EOL: the public window 16 is s = 15, 753 steps (raster 2,304)", () => {
  assert.equal(LAYOUT.numSlots, 1 + 48 * 49);
  const cases: [number, number, number][] = [[16, 15, 753], [8, 7, 377]];
  for (const [publicWindow, s, steps] of cases) {
    assert.equal(publicPasses(H, W, publicWindow), steps, `public window ${publicWindow}`);
    assert.equal(countSteps({ height: H, width: W, window: s }), steps);
    const plan = compilePlan(LAYOUT, createSchedule(LAYOUT, { window: s }));
    assert.equal(plan.steps.length, steps);
    for (const step of plan.steps) {
      for (const q of step) {
        assert.ok(!q.proxy, `s=${s}: a proxy at slot ${q.slot}`);
        if (q.predicts?.col === 0 && q.predicts.row > 0) {
          assert.equal(q.slot, eolSlotOf(LAYOUT, q.predicts.row - 1));
          assert.equal(q.input.kind, "eol");
        }
      }
    }
  }
  assert.equal(publicPasses(H, W, W + 1), H * W); // a window past the row: raster
  assert.equal(countSteps({ height: H, width: W, window: 15, variant: "paper" }), 786);
  assert.equal(compilePlan(LAYOUT, createSchedule(LAYOUT, { kind: "raster" })).steps.length, 2304);
});

Deno.test({
  name: "Lumina 48x48 with CFG on a small random model: 753 steps at s = 15, both modes agree",
  ...PYTHON_TESTS,
  async fn() {
    const backend = await openLumina(await tinyLumina("pass")); // pass-768: 48x48
    try {
      assert.deepEqual([backend.info.height, backend.info.width], [H, W]);
      const layout = layoutOf(backend.info);
      assert.equal(layout.numSlots, LAYOUT.numSlots);
      const images = [{ condition: { prompt: "a red fox in the snow" }, seed: 1, index: 0 }];
      const sampling = { temperature: 1, topK: 2000 }; // Lumina's defaults
      const grids: Int32Array[] = [];
      for (const mode of ["interactive", "planned"] as const) {
        const schedule = createSchedule(layout, { window: 15 });
        const run = await generate(backend, { images, schedule, cfgScale: 3, sampling, mode });
        assert.equal(run.stats.mode, mode);
        assert.equal(run.stats.passes, 753);
        assert.equal(run.grids.length, H * W);
        assert.ok(run.grids.every((t) => t >= 0 && t < backend.info.vocab));
        grids.push(run.grids);
      }
      assert.deepEqual([...grids[1]], [...grids[0]]);
      assert.ok(new Set(grids[0]).size > 100, "the grid is nearly uniform");
    } finally {
      await backend.close();
      await removeTinyLumina();
    }
  },
});
