/**
 * Settings compared by `zipar eval`: a comma-separated list of schedules in the registry's
 * compact form (cli/schedules.ts), e.g. `raster`, `ideal:4`, `paper:4:r-1`, `adaptive:2`,
 * `adaptive2:4:8:final`, `sjd:4`, `paper-sjd:7:4:above`.
 *
 * @module
 */

import type { Layout, Schedule } from "../../core/mod.ts";
import { ValidationError } from "../flags/args.ts";
import { buildSchedule } from "../schedules.ts";
import { parseCompact, resolveSchedule, type Spelling } from "../schedule_grammar.ts";

/** One setting of an eval run. */
export interface EvalSetting {
  /** As written, e.g. `paper:4:r-1`. */
  label: string;
  /** Build its schedule for a layout. */
  schedule(layout: Layout): Schedule;
}

/** The default comparison: raster, both variants at three windows, both proxies, adaptive. */
export const DEFAULT_SETTINGS =
  "raster,ideal:2,ideal:4,ideal:7,paper:2,paper:4,paper:7,ideal:4:r-1,paper:4:r-1,adaptive:2";

/**
 * Parse a comma-separated settings list for a grid `width` wide.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSettings } from "./settings.ts";
 * const s = parseSettings("raster,paper:4:r-1,adaptive:2", 14);
 * assert(s.length === 3 && s[1].label === "paper:4:r-1");
 * ```
 */
export function parseSettings(list: string, width: number): EvalSetting[] {
  const out: EvalSetting[] = [];
  for (const label of list.split(",").map((s) => s.trim()).filter((s) => s)) {
    const { name, raw } = parseCompact(label);
    const spelling: Spelling = {
      setting: (s) => `setting '${label}': the ${s}`,
      schedules: (names) => `schedule ${names}`,
    };
    const choice = resolveSchedule(name, raw, width, spelling);
    out.push({ label, schedule: (l) => buildSchedule(l, choice) });
  }
  if (out.length === 0) {
    throw new ValidationError("--settings is empty", `Example: --settings ${DEFAULT_SETTINGS}`);
  }
  return out;
}
