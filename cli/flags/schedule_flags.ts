/**
 * The schedule flags of `zipar generate` and `zipar plan` (`--schedule` and the settings of
 * cli/schedules.ts's registry: `--window`, `--min-window`, `--max-window`, `--draft`,
 * `--accept`, `--trigger`, `--init`, `--coupling`, `--proxy`), read through the registry.
 *
 * @module
 */

import { type ScheduleChoice, scheduleEntry, SCHEDULES, SETTING_NAMES } from "../schedules.ts";
import { FLAG_SPELLING, type RawSettings, readSchedule } from "../schedule_grammar.ts";
import { ValidationError, type Values } from "./args.ts";

/**
 * Read the schedule flags for a grid `width` wide: `--schedule` (a name, or the compact form
 * `paper:8`) and every setting flag given, checked by the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scheduleChoice } from "./schedule_flags.ts";
 * const choice = scheduleChoice({ window: "8", schedule: "paper" }, 24);
 * assert(choice.window === 8 && choice.proxy === "r-2");
 * ```
 */
export function scheduleChoice(values: Values, width: number): ScheduleChoice {
  const raw: RawSettings = {};
  for (const name of SETTING_NAMES) raw[name] = values[name];
  return readSchedule(values.schedule, raw, width, FLAG_SPELLING);
}

/**
 * Refuse `--mode planned` with a schedule that cannot be compiled into a plan: a usage error
 * (exit 2) in one line, before any backend opens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkModeForSchedule } from "./schedule_flags.ts";
 * checkModeForSchedule("planned", { schedule: "ideal", window: 4, proxy: "r-2" });
 * assert.throws(
 *   () => checkModeForSchedule("planned", { schedule: "sjd", window: 4, proxy: "r-2" }),
 *   /--schedule sjd reacts to the model's outputs/,
 * );
 * ```
 */
export function checkModeForSchedule(mode: string, choice: ScheduleChoice): void {
  if (mode !== "planned" || scheduleEntry(choice.schedule)?.fixed) return;
  const fixed = SCHEDULES.filter((e) => e.fixed).map((e) => e.name).join("|");
  throw new ValidationError(
    `--mode planned needs a schedule that compiles into a plan: --schedule ${choice.schedule} reacts to the model's outputs`,
    `Drop --mode planned (--mode auto runs it interactively), or pick --schedule ${fixed}.`,
  );
}
