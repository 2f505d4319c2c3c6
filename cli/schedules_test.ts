import assert from "node:assert/strict";
import { createLayout } from "../core/mod.ts";
import { buildSchedule, SCHEDULE_OPTIONS, scheduleHelp, SCHEDULES } from "./schedules.ts";
import { FLAG_SPELLING, parseCompact, resolveSchedule } from "./schedule_grammar.ts";

const layout = createLayout({ height: 8, width: 8 });

/** The smallest compact form of each schedule: its required numbers, 2 each. */
const minimal = (name: string) => {
  const entry = SCHEDULES.find((e) => e.name === name)!;
  return [name, ...entry.numbers.slice(0, entry.needs).map(() => "2")].join(":");
};

Deno.test("every schedule of the registry builds, and is fixed exactly when its entry says", () => {
  for (const entry of SCHEDULES) {
    const { name, raw } = parseCompact(minimal(entry.name));
    const schedule = buildSchedule(layout, resolveSchedule(name, raw, 8, FLAG_SPELLING));
    assert.equal(schedule.fixed, entry.fixed, entry.name);
  }
});

Deno.test("the help and the option table cover every schedule and setting", () => {
  const help = scheduleHelp();
  for (const entry of SCHEDULES) assert.match(help, new RegExp(`^    ${entry.name} `, "m"));
  for (const flag of Object.keys(SCHEDULE_OPTIONS)) {
    assert.match(help, new RegExp(`^  --${flag} `, "m"), flag);
  }
  for (const line of help.split("\n")) assert(line.length <= 100, line);
});
