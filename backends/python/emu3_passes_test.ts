/**
 * Emu3's 90×90 grid with an EOL slot after every row, the ZipAR paper's headline: the plan of s = 7
 * takes 713 steps instead of 8,190 positions (−91%), each row after the first starts at the EOL
 * slot of the row above with the known EOL token (no proxies, no corrections); and a real 90×90 run
 * with CFG on a small random Emu3 (tiny_models/emu3.py's `pass` preset) takes those 713 steps
 * without a step that copies the KV cache (testing/python/step_probe.py's allocation probe).
 */

import assert from "node:assert/strict";
import { createLayout, eolSlotOf, slotOf } from "../../core/layout.ts";
import { compilePlan, encodePlan } from "../../core/plan.ts";
import { countSteps, createSchedule } from "../../core/schedule.ts";
import { PYTHON_TESTS } from "./test_helpers.ts";
import { probePlan, removeTinyEmu3, tinyEmu3 } from "./emu3_test_helpers.ts";

const LAYOUT = createLayout({ height: 90, width: 90, eol: true });

Deno.test("Emu3 90x90 plans: s=7 takes 713 steps (paper: 796), rows start at EOL slots", () => {
  assert.equal(LAYOUT.numSlots, 1 + 90 * 91); // the condition block + 8,190 positions
  for (const [variant, steps] of [["ideal", 713], ["paper", 796]] as const) {
    assert.equal(countSteps({ height: 90, width: 90, window: 7, variant }), steps);
    const plan = compilePlan(LAYOUT, createSchedule(LAYOUT, { window: 7, variant }));
    assert.equal(plan.steps.length, steps, variant);
    const written = new Set<number>();
    for (const step of plan.steps) {
      for (const q of step) {
        assert.ok(!q.proxy && !written.has(q.slot), `${variant}: slot ${q.slot} proxied`);
        written.add(q.slot);
        if (q.predicts?.col === 0 && q.predicts.row > 0) {
          assert.equal(q.slot, eolSlotOf(LAYOUT, q.predicts.row - 1));
          assert.equal(q.input.kind, "eol");
        }
      }
    }
    // The condition block, every image slot but the last and every EOL slot but the last
    // are written once (the last cell and EOL are inputs of nothing), nothing else.
    assert.equal(written.size, 1 + 90 * 90 - 1 + 89);
    assert.ok(!written.has(eolSlotOf(LAYOUT, 89)) && !written.has(slotOf(LAYOUT, 89, 89)));
  }
  const raster = compilePlan(LAYOUT, createSchedule(LAYOUT, { kind: "raster" }));
  assert.equal(raster.steps.length, 8100);
});

Deno.test({
  name: "Emu3 90x90 with CFG on a small random model: 713 steps, no step copies the KV cache",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3("pass");
    const plan = encodePlan(compilePlan(LAYOUT, createSchedule(LAYOUT, { window: 7 })));
    const probe = await probePlan(dir, {
      images: [{ condition: { prompt: "a red fox in the snow" }, seed: 1, index: 0 }],
      cfgScale: 3,
      sampling: { temperature: 1, topK: 0, topP: 1 },
      plan,
      profile: [300, 306], // mid-generation: the full diagonal wavefront of 13 rows
    });
    await removeTinyEmu3();
    assert.equal(probe.steps, 713);
    assert.equal(probe.cellsDecoded, 8100);
    assert.equal(probe.sequences, 2);
    assert.ok(probe.capacity >= 8190, `capacity ${probe.capacity}`);
    // A step that copied one layer's keys (repeated K/V heads, a gathered cache) would
    // allocate at least layerKeyBytes; the mask and activations of 26 queries stay below.
    assert.ok(
      probe.largestStepAllocation > 0 && probe.largestStepAllocation < probe.layerKeyBytes,
      `largest allocation ${probe.largestStepAllocation} B in a step, a layer's keys are ` +
        `${probe.layerKeyBytes} B`,
    );
  },
});
