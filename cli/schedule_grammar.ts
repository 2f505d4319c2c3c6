/**
 * The schedule grammar: settings as they are written — flags, job fields, the compact form
 * `paper:8:r-1` — read against the registry's rules (cli/schedules.ts) into a ScheduleChoice,
 * with messages that name each setting as it was written.
 *
 * @module
 */

import { parseIntIn, ValidationError } from "./flags/args.ts";
import {
  DEFAULT_SCHEDULE,
  SCHEDULE_NAMES,
  type ScheduleChoice,
  scheduleEntry,
  type ScheduleName,
  SCHEDULES,
  SETTING_RULES,
  type SettingName,
} from "./schedules.ts";

/** How messages name settings and schedules where they were written. */
export interface Spelling {
  /** A setting: `--min-window`, `"minWindow"`, `the minimum window`. */
  setting(name: SettingName | "schedule"): string;
  /** Schedules: `--schedule adaptive|adaptive2`, `schedule adaptive`. */
  schedules(names: string): string;
}

/** Command-line spelling. */
export const FLAG_SPELLING: Spelling = {
  setting: (name) => `--${name}`,
  schedules: (names) => `--schedule ${names}`,
};

/** A setting's job-file field: the flag's name in camelCase (`min-window` → `minWindow`). */
export function jobField(name: SettingName | "schedule"): string {
  return name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/** Job-file spelling. */
export const JOB_SPELLING: Spelling = {
  setting: (name) => JSON.stringify(jobField(name)),
  schedules: (names) => `schedule ${names}`,
};

/** Settings as written: flag strings, job-file values or compact-form words, by setting name. */
export type RawSettings = Partial<Record<SettingName, unknown>>;

/**
 * Resolve a schedule and its settings for a grid `width` wide: every setting checked against
 * the schedule's rules, defaults filled in. Throws a ValidationError naming the setting as
 * `spelling` writes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FLAG_SPELLING, resolveSchedule } from "./schedule_grammar.ts";
 * const c = resolveSchedule("paper", { window: "8" }, 24, FLAG_SPELLING);
 * assert.deepEqual(c, { schedule: "paper", window: 8, proxy: "r-2" });
 * assert.throws(() => resolveSchedule("raster", { window: "8" }, 24, FLAG_SPELLING), /--window does not apply/);
 * ```
 */
export function resolveSchedule(
  name: unknown,
  raw: RawSettings,
  width: number,
  spelling: Spelling,
): ScheduleChoice {
  const entry = typeof name === "string" ? scheduleEntry(name) : undefined;
  if (!entry) {
    throw new ValidationError(
      `${spelling.setting("schedule")} must be one of ${SCHEDULE_NAMES.join(", ")}, got '${name}'`,
    );
  }
  const takes = (s: SettingName) => s === "proxy" || entry.settings.includes(s);
  const given = (Object.keys(raw) as SettingName[]).filter((s) => raw[s] !== undefined);
  for (const s of given) {
    if (takes(s)) continue;
    const here = spelling.schedules(entry.name);
    if (s === "window" && entry.settings.includes("min-window")) {
      throw new ValidationError(
        `${here} takes ${spelling.setting("min-window")}, not ${spelling.setting("window")}`,
        `Give ${spelling.setting("min-window")} m (and optionally ${
          spelling.setting("max-window")
        } M) with 1 ≤ m ≤ M ≤ ${width}.`,
      );
    }
    const which = SCHEDULES.filter((e) => e.settings.includes(s)).map((e) => e.name).join("|");
    throw new ValidationError(
      s === "window"
        ? `${spelling.setting(s)} does not apply to ${here}`
        : `${spelling.setting(s)} only applies to ${spelling.schedules(which)}`,
      `Drop it, or pick ${spelling.schedules(which)}.`,
    );
  }
  const schedule = entry.name as ScheduleName; // an entry of REGISTRY
  const choice: ScheduleChoice = { schedule, window: width, proxy: "r-2" };
  const first = entry.settings[0];
  if ((first === "window" || first === "min-window") && raw[first] === undefined) {
    throw new ValidationError(
      `${spelling.schedules(entry.name)} needs ${spelling.setting(first)}`,
      `Give ${spelling.setting(first)} in 1..${width} (the grid width)${
        first === "window" ? `, or pick ${spelling.schedules("raster")}` : ""
      }.`,
    );
  }
  for (const s of [...entry.settings, "proxy" as const]) {
    const rule = SETTING_RULES[s];
    const value = raw[s];
    if (rule.words) {
      const word = value === undefined ? rule.words[0] : value;
      if (typeof word !== "string" || !rule.words.includes(word)) {
        throw new ValidationError(
          `${spelling.setting(s)} must be one of ${rule.words.join(", ")}, got '${value}'`,
        );
      }
      (choice as unknown as Record<string, unknown>)[rule.field] = word;
    } else {
      const [min, max] = rule.range!(width, choice.window);
      (choice as unknown as Record<string, unknown>)[rule.field] = value === undefined
        ? rule.fallback!(width)
        : readInt(spelling.setting(s), value, min, max);
    }
  }
  return choice;
}

/** An integer setting from a flag string or a job-file number. */
function readInt(what: string, value: unknown, min: number, max: number): number {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
    throw new ValidationError(`${what} must be an integer in ${min}..${max}, got ${value}`);
  }
  if (typeof value !== "string") {
    throw new ValidationError(`${what} must be an integer in ${min}..${max}, got ${typeof value}`);
  }
  return parseIntIn(what, value, min, max);
}

/**
 * Split the compact form (`paper:8:r-1`, `adaptive2:4:8:final`, `sjd:6`) into the schedule's
 * name and its settings as written. Throws a ValidationError for numbers or words the schedule
 * does not take.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCompact } from "./schedule_grammar.ts";
 * assert.deepEqual(parseCompact("paper-sjd:7:4:above"), {
 *   name: "paper-sjd",
 *   raw: { window: "7", draft: "4", init: "above" },
 * });
 * ```
 */
export function parseCompact(text: string): { name: string; raw: RawSettings } {
  const [name, ...parts] = text.split(":");
  const entry = scheduleEntry(name);
  const bad = (what: string) =>
    new ValidationError(
      `schedule '${text}': ${what}`,
      "Write NAME[:NUMBERS][:WORDS], e.g. raster, ideal:4, paper:4:r-1, adaptive2:4:8:final, paper-sjd:7:4:above.",
    );
  if (!entry) throw bad(`unknown schedule '${name}' (known: ${SCHEDULE_NAMES.join(", ")})`);
  const raw: RawSettings = {};
  let k = 0;
  for (const part of parts) {
    if (/^[+-]?\d+$/.test(part)) {
      if (k >= entry.numbers.length) {
        throw bad(`${name} takes ${entry.numbers.length} number(s), got another: '${part}'`);
      }
      raw[entry.numbers[k++]] = part;
      continue;
    }
    const setting = [...entry.settings, "proxy" as const].find((s) =>
      SETTING_RULES[s].words?.includes(part)
    );
    if (!setting) throw bad(`'${part}' is no setting of ${name}`);
    if (raw[setting] !== undefined) throw bad(`${setting} given twice`);
    raw[setting] = part;
  }
  if (k < entry.needs) {
    throw bad(
      `${name} needs ${entry.numbers.slice(0, entry.needs).join(" and ")} after '${name}:'`,
    );
  }
  return { name, raw };
}

/**
 * A schedule given as a name or the compact form, with settings given separately (flags, job
 * fields), as one name and one set of settings; a setting given both ways is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FLAG_SPELLING, mergeCompact } from "./schedule_grammar.ts";
 * const { name, raw } = mergeCompact("paper:8", { proxy: "r-1" }, FLAG_SPELLING);
 * assert.deepEqual([name, raw], ["paper", { window: "8", proxy: "r-1" }]);
 * ```
 */
export function mergeCompact(
  schedule: unknown,
  raw: RawSettings,
  spelling: Spelling,
): { name: unknown; raw: RawSettings } {
  if (typeof schedule !== "string" || !schedule.includes(":")) {
    return { name: schedule ?? DEFAULT_SCHEDULE, raw };
  }
  const compact = parseCompact(schedule);
  for (const s of Object.keys(compact.raw) as SettingName[]) {
    if (raw[s] !== undefined) {
      throw new ValidationError(
        `${spelling.setting(s)} is given twice: in '${schedule}' and on its own`,
        "Give it once.",
      );
    }
  }
  const merged: RawSettings = { ...compact.raw };
  for (const s of Object.keys(raw) as SettingName[]) if (raw[s] !== undefined) merged[s] = raw[s];
  return { name: compact.name, raw: merged };
}

/**
 * Resolve a schedule given as a name or the compact form, with settings given separately
 * (flags, job fields); a setting given both ways is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FLAG_SPELLING, readSchedule } from "./schedule_grammar.ts";
 * const c = readSchedule("paper:8", { proxy: "r-1" }, 24, FLAG_SPELLING);
 * assert.deepEqual(c, { schedule: "paper", window: 8, proxy: "r-1" });
 * ```
 */
export function readSchedule(
  schedule: unknown,
  raw: RawSettings,
  width: number,
  spelling: Spelling,
): ScheduleChoice {
  const merged = mergeCompact(schedule, raw, spelling);
  return resolveSchedule(merged.name, merged.raw, width, spelling);
}
