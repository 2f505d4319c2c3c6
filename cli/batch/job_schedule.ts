/**
 * A batch job's schedule: the `"schedule"` field and the settings fields (the flags' names in
 * camelCase), read by the registry's grammar (cli/schedule_grammar.ts) when the job is checked,
 * and resolved for the model's grid width when it runs.
 *
 * @module
 */

import { MAX_SIDE, ValidationError } from "../flags/args.ts";
import {
  type ScheduleChoice,
  scheduleEntry,
  type ScheduleName,
  SETTING_NAMES,
  settingOf,
} from "../schedules.ts";
import {
  JOB_SPELLING,
  jobField,
  mergeCompact,
  type RawSettings,
  resolveSchedule,
} from "../schedule_grammar.ts";

/**
 * A job's schedule and the settings it gives, checked by the registry against the largest
 * grid (the model's own width is checked by {@linkcode modelError}). `"schedule"` may be the
 * compact form (`"paper:8"`); settings are stored as resolved values, so both spellings of a
 * job give the same settings.
 */
export function jobSchedule(
  d: Record<string, unknown>,
): { schedule: ScheduleName; settings: RawSettings } {
  const fields: RawSettings = {};
  for (const s of SETTING_NAMES) fields[s] = d[jobField(s)];
  let given: RawSettings, choice: ScheduleChoice;
  try {
    const merged = mergeCompact(d.schedule, fields, JOB_SPELLING);
    given = merged.raw;
    choice = resolveSchedule(merged.name, given, MAX_SIDE, JOB_SPELLING);
  } catch (e) {
    if (e instanceof ValidationError) throw new SyntaxError(e.message);
    throw e;
  }
  // Every setting the schedule takes, resolved; the maximum window only when given (its
  // default is the model's width).
  const entry = scheduleEntry(choice.schedule)!;
  const settings: RawSettings = {};
  for (const s of [...entry.settings, "proxy" as const]) {
    if (s === "max-window" && given[s] === undefined) continue;
    settings[s] = settingOf(choice, s);
  }
  return { schedule: choice.schedule, settings };
}

/**
 * The schedule choice of a job on a grid `width` wide; throws a ValidationError when a setting
 * does not fit the grid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkJob } from "./jobs.ts";
 * import { choiceOf } from "./job_schedule.ts";
 * const job = checkJob({ name: "a", schedule: "adaptive", minWindow: 2 });
 * assert.deepEqual(choiceOf(job, 16), { schedule: "adaptive", window: 2, maxWindow: 16, proxy: "r-2" });
 * ```
 */
export function choiceOf(
  job: { schedule: ScheduleName; settings: RawSettings },
  width: number,
): ScheduleChoice {
  return resolveSchedule(job.schedule, job.settings, width, JOB_SPELLING);
}
