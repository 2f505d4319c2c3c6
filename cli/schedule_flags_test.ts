import assert from "node:assert/strict";
import { createLayout } from "../core/mod.ts";
import { ValidationError } from "./args.ts";
import { buildSchedule, scheduleChoice } from "./schedule_flags.ts";

Deno.test("scheduleChoice() requires --window unless --schedule raster", () => {
  assert.deepEqual(scheduleChoice({ window: "8" }, 24), {
    schedule: "ideal",
    window: 8,
    proxy: "r-2",
  });
  assert.deepEqual(scheduleChoice({ schedule: "raster" }, 24), {
    schedule: "raster",
    window: 24,
    proxy: "r-2",
  });
  assert.throws(
    () => scheduleChoice({}, 24),
    (e) => e instanceof ValidationError && /needs --window/.test(e.message),
  );
  assert.throws(() => scheduleChoice({ schedule: "raster", window: "8" }, 24), /does not apply/);
  assert.throws(() => scheduleChoice({ window: "25" }, 24), /in 1\.\.24/);
  assert.throws(() => scheduleChoice({ window: "8", proxy: "r-3" }, 24), /r-2, r-1/);
  assert.throws(
    () => scheduleChoice({ window: "8", schedule: "adaptive" }, 24),
    /raster, ideal, paper/,
  );
});

Deno.test("buildSchedule() builds the core schedule of a choice", () => {
  const layout = createLayout({ height: 24, width: 24 });
  assert.equal(
    buildSchedule(layout, { schedule: "paper", window: 8, proxy: "r-1" }).name,
    "zipar(paper, s=8)",
  );
  assert.equal(
    buildSchedule(layout, { schedule: "raster", window: 24, proxy: "r-2" }).name,
    "raster",
  );
});
