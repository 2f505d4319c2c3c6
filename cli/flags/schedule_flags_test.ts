import assert from "node:assert/strict";
import { createLayout } from "../../core/mod.ts";
import { ValidationError } from "./args.ts";
import { checkModeForSchedule, scheduleChoice } from "./schedule_flags.ts";
import { buildSchedule, SCHEDULE_NAMES } from "../schedules.ts";

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
    () => scheduleChoice({ window: "8", schedule: "fastest" }, 24),
    /raster, ideal, paper, adaptive/,
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

Deno.test("scheduleChoice() reads --schedule adaptive with --min-window and --max-window", () => {
  const choice = scheduleChoice({ schedule: "adaptive", "min-window": "3", "max-window": "6" }, 8);
  assert.deepEqual(choice, { schedule: "adaptive", window: 3, maxWindow: 6, proxy: "r-2" });
  const schedule = buildSchedule(createLayout({ height: 8, width: 8 }), choice);
  assert.equal(schedule.name, "adaptive(m=3, max=6)");
  assert.equal(schedule.fixed, false);
  assert.throws(() => scheduleChoice({ schedule: "adaptive" }, 8), /needs --min-window/);
  assert.throws(
    () => scheduleChoice({ schedule: "adaptive", window: "2" }, 8),
    /takes --min-window, not --window/,
  );
  assert.throws(
    () => scheduleChoice({ schedule: "adaptive", "min-window": "4", "max-window": "3" }, 8),
    /--max-window/,
  );
  assert.throws(
    () => scheduleChoice({ window: "2", "min-window": "2" }, 8),
    /only applies to --schedule adaptive/,
  );
});

Deno.test("scheduleChoice() reads the speculative schedules: adaptive2, sjd, ideal-sjd, paper-sjd", () => {
  const layout = createLayout({ height: 14, width: 14 });
  const build = (values: Record<string, string>) =>
    buildSchedule(layout, scheduleChoice(values, 14)).name;
  assert.equal(build({ schedule: "adaptive2", "min-window": "4" }), "adaptive2(m=4)");
  assert.equal(
    build({ schedule: "adaptive2", "min-window": "2", "max-window": "7", accept: "exact" }),
    "adaptive2(m=2, max=7, exact)",
  );
  assert.equal(build({ schedule: "sjd" }), "sjd(L=4)");
  assert.equal(build({ schedule: "sjd", draft: "8" }), "sjd(L=8)");
  assert.equal(
    build({ schedule: "paper-sjd", window: "7", draft: "2" }),
    "zipar-sjd(paper, s=7, L=2)",
  );
  assert.equal(
    build({ schedule: "ideal-sjd", window: "4", accept: "exact" }),
    "zipar-sjd(ideal, s=4, L=4, exact)",
  );
  assert.deepEqual(scheduleChoice({ schedule: "sjd", draft: "3" }, 14), {
    schedule: "sjd",
    window: 14,
    draft: 3,
    acceptance: "probabilistic",
    init: "random",
    coupling: "coupled",
    proxy: "r-2",
  });
  assert.throws(() => scheduleChoice({ schedule: "sjd", window: "4" }, 14), /does not apply/);
  assert.throws(() => scheduleChoice({ schedule: "ideal-sjd" }, 14), /needs --window/);
  assert.throws(() => scheduleChoice({ schedule: "adaptive2" }, 14), /needs --min-window/);
  assert.throws(
    () => scheduleChoice({ window: "4", draft: "2" }, 14),
    /--draft only applies to --schedule sjd\|ideal-sjd\|paper-sjd/,
  );
  assert.throws(
    () => scheduleChoice({ schedule: "adaptive", "min-window": "2", accept: "exact" }, 14),
    /--accept only applies/,
  );
  assert.throws(() => scheduleChoice({ schedule: "sjd", draft: "0" }, 14), /--draft/);
  assert.throws(() => scheduleChoice({ schedule: "sjd", accept: "loose" }, 14), /exact/);
});

Deno.test("--mode planned takes only the schedules that compile into a plan", () => {
  const layout = createLayout({ height: 6, width: 6 });
  for (const schedule of SCHEDULE_NAMES) {
    const values = schedule === "raster" || schedule === "sjd"
      ? { schedule }
      : schedule.startsWith("adaptive")
      ? { schedule, "min-window": "2" }
      : { schedule, window: "2" };
    const choice = scheduleChoice(values, 6);
    const fixed = buildSchedule(layout, choice).fixed;
    assert.equal(["raster", "ideal", "paper"].includes(schedule), fixed, schedule);
    checkModeForSchedule("auto", choice);
    checkModeForSchedule("interactive", choice);
    if (fixed) checkModeForSchedule("planned", choice);
    else {
      assert.throws(
        () => checkModeForSchedule("planned", choice),
        (e) =>
          e instanceof ValidationError &&
          e.message ===
            `--mode planned needs a schedule that compiles into a plan: --schedule ${schedule} reacts to the model's outputs` &&
          /--mode auto .*--schedule raster\|ideal\|paper/.test(e.hint ?? ""),
      );
    }
  }
});

Deno.test("scheduleChoice() takes the compact form in --schedule, and each setting once", () => {
  assert.deepEqual(scheduleChoice({ schedule: "paper:8:r-1" }, 24), {
    schedule: "paper",
    window: 8,
    proxy: "r-1",
  });
  assert.deepEqual(
    scheduleChoice({ schedule: "paper:8:r-1" }, 24),
    scheduleChoice({ schedule: "paper", window: "8", proxy: "r-1" }, 24),
  );
  assert.throws(
    () => scheduleChoice({ schedule: "paper:8", window: "4" }, 24),
    /--window is given twice: in 'paper:8' and on its own/,
  );
  // The options eval alone could reach before are flags now.
  const layout = createLayout({ height: 14, width: 14 });
  const name = (values: Record<string, string>) =>
    buildSchedule(layout, scheduleChoice(values, 14)).name;
  assert.equal(
    name({ schedule: "adaptive2", "min-window": "2", trigger: "final" }),
    "adaptive2(m=2, final)",
  );
  assert.equal(
    name({ schedule: "paper-sjd", window: "7", init: "above", coupling: "uncoupled" }),
    "zipar-sjd(paper, s=7, L=4, init=above, uncoupled)",
  );
  assert.throws(
    () => scheduleChoice({ window: "4", trigger: "final" }, 14),
    /--trigger only applies/,
  );
});
