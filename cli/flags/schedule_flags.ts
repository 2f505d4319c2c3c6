/**
 * `--schedule`, `--window` and `--proxy`, shared by `zipar plan` and `zipar generate`: parsed,
 * checked against the grid width, and turned into a core schedule.
 *
 * @module
 */

import {
  createAdaptiveSchedule,
  createSchedule,
  type Layout,
  PROXY_POLICIES,
  type ProxyPolicy,
  type Schedule,
} from "../../core/mod.ts";
import { choiceFlag, intFlag, ValidationError, type Values } from "./args.ts";

/** Schedule names on the command line. */
export type ScheduleFlag = "raster" | "ideal" | "paper" | "adaptive";
/** The schedule names, for argument parsing. */
export const SCHEDULES: readonly ScheduleFlag[] = ["raster", "ideal", "paper", "adaptive"];

/** A resolved schedule choice. */
export interface ScheduleChoice {
  /** `raster`, `ideal`, `paper` or `adaptive`. */
  schedule: ScheduleFlag;
  /** Window s (W for raster; the minimum window m for adaptive). */
  window: number;
  /** Adaptive only: verification is final once the row above has this many tokens. */
  maxWindow?: number;
  /** Proxy policy. */
  proxy: ProxyPolicy;
}

/**
 * Read the schedule flags for a grid `width` wide. `--window` is required unless
 * `--schedule raster`, and must be in 1..W.
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
  const schedule = choiceFlag(values, "schedule", SCHEDULES, "ideal");
  const proxy = choiceFlag(values, "proxy", PROXY_POLICIES, "r-2");
  if (schedule === "raster") {
    if (values.window !== undefined) {
      throw new ValidationError(
        "--window does not apply to --schedule raster",
        "Drop --window, or pick --schedule ideal|paper.",
      );
    }
    return { schedule, window: width, proxy };
  }
  if (schedule === "adaptive") {
    if (values.window !== undefined) {
      throw new ValidationError(
        "--schedule adaptive takes --min-window, not --window",
        `Pass --min-window m (and optionally --max-window M) with 1 ≤ m ≤ M ≤ ${width}.`,
      );
    }
    if (values["min-window"] === undefined) {
      throw new ValidationError(
        "--schedule adaptive needs --min-window",
        `Pass --min-window m with m in 1..${width} (the grid width).`,
      );
    }
    const window = intFlag(values, "min-window", 1, width, width);
    const maxWindow = intFlag(values, "max-window", window, width, width);
    return { schedule, window, maxWindow, proxy };
  }
  for (const flag of ["min-window", "max-window"]) {
    if (values[flag] !== undefined) {
      throw new ValidationError(
        `--${flag} only applies to --schedule adaptive`,
        "Drop it, or pass --schedule adaptive.",
      );
    }
  }
  if (values.window === undefined) {
    throw new ValidationError(
      `--schedule ${schedule} needs --window`,
      `Pass --window s with s in 1..${width} (the grid width), or --schedule raster.`,
    );
  }
  const window = intFlag(values, "window", 1, width, width);
  return { schedule, window, proxy };
}

/**
 * Build the core schedule for a choice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "../../core/mod.ts";
 * import { buildSchedule } from "./schedule_flags.ts";
 * const s = buildSchedule(createLayout({ height: 4, width: 4 }), { schedule: "raster", window: 4, proxy: "r-2" });
 * assert(s.name === "raster");
 * ```
 */
export function buildSchedule(layout: Layout, choice: ScheduleChoice): Schedule {
  if (choice.schedule === "adaptive") {
    const { window: minWindow, maxWindow, proxy } = choice;
    return createAdaptiveSchedule(layout, { minWindow, maxWindow, proxy });
  }
  return choice.schedule === "raster"
    ? createSchedule(layout, { kind: "raster", proxy: choice.proxy })
    : createSchedule(layout, {
      window: choice.window,
      variant: choice.schedule as "ideal" | "paper",
      proxy: choice.proxy,
    });
}
