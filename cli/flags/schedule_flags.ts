/**
 * `--schedule`, `--window` and `--proxy` (and the speculative schedules' `--min-window`,
 * `--max-window`, `--draft`, `--accept`), shared by `zipar plan` and `zipar generate`: parsed,
 * checked against the grid width, and turned into a core schedule.
 *
 * @module
 */

import {
  type Acceptance,
  ACCEPTANCES,
  createAdaptiveSchedule,
  createAdaptiveV2Schedule,
  createSchedule,
  createSpeculativeRowsSchedule,
  type Layout,
  PROXY_POLICIES,
  type ProxyPolicy,
  type Schedule,
} from "../../core/mod.ts";
import { choiceFlag, intFlag, ValidationError, type Values } from "./args.ts";

/** Schedule names on the command line. */
export type ScheduleFlag =
  | "raster"
  | "ideal"
  | "paper"
  | "adaptive"
  | "adaptive2"
  | "sjd"
  | "ideal-sjd"
  | "paper-sjd";
/** The fixed schedules and the first-token adaptive window (what batch jobs take). */
export const SCHEDULES: readonly ScheduleFlag[] = ["raster", "ideal", "paper", "adaptive"];
/**
 * Every schedule `zipar generate` takes: SCHEDULES, the re-verifying adaptive window
 * (`adaptive2`), speculative Jacobi decoding (`sjd`) and ZipAR × SJD (`ideal-sjd`, `paper-sjd`).
 */
export const ALL_SCHEDULES: readonly ScheduleFlag[] = [
  ...SCHEDULES,
  "adaptive2",
  "sjd",
  "ideal-sjd",
  "paper-sjd",
];

/**
 * The schedules that compile into a plan (core's `Schedule.fixed`): their queries never depend
 * on token values. The others react to the model's outputs and run interactively.
 */
export const PLANNABLE_SCHEDULES: readonly ScheduleFlag[] = ["raster", "ideal", "paper"];

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
  if (mode !== "planned" || PLANNABLE_SCHEDULES.includes(choice.schedule)) return;
  throw new ValidationError(
    `--mode planned needs a schedule that compiles into a plan: --schedule ${choice.schedule} reacts to the model's outputs`,
    "Drop --mode planned (--mode auto runs it interactively), or pick --schedule raster|ideal|paper.",
  );
}

/** Draft tokens per Jacobi window when `--draft` is not given. */
export const DEFAULT_DRAFT = 4;

/** A resolved schedule choice. */
export interface ScheduleChoice {
  /** `raster`, `ideal`, `paper`, `adaptive`, `adaptive2`, `sjd`, `ideal-sjd` or `paper-sjd`. */
  schedule: ScheduleFlag;
  /** Window s (W for raster and sjd; the minimum window m for adaptive and adaptive2). */
  window: number;
  /** adaptive and adaptive2: verification is final once the row above has this many tokens. */
  maxWindow?: number;
  /** sjd, ideal-sjd, paper-sjd: draft tokens per Jacobi window. */
  draft?: number;
  /** adaptive2 and the SJD schedules: the acceptance rule (core/speculative/jacobi). */
  acceptance?: Acceptance;
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
  const schedule = choiceFlag(values, "schedule", ALL_SCHEDULES, "ideal");
  const proxy = choiceFlag(values, "proxy", PROXY_POLICIES, "r-2");
  const adaptive = schedule === "adaptive" || schedule === "adaptive2";
  const jacobi = schedule === "sjd" || schedule === "ideal-sjd" || schedule === "paper-sjd";
  const only = (flag: string, ok: boolean, which: string) => {
    if (values[flag] !== undefined && !ok) {
      throw new ValidationError(
        `--${flag} only applies to --schedule ${which}`,
        "Drop it, or pick one of those schedules.",
      );
    }
  };
  only("min-window", adaptive, "adaptive|adaptive2");
  only("max-window", adaptive, "adaptive|adaptive2");
  only("draft", jacobi, "sjd|ideal-sjd|paper-sjd");
  only("accept", jacobi || schedule === "adaptive2", "adaptive2|sjd|ideal-sjd|paper-sjd");
  const speculative = {
    ...(jacobi ? { draft: intFlag(values, "draft", 1, 4096, DEFAULT_DRAFT) } : {}),
    ...(jacobi || schedule === "adaptive2"
      ? { acceptance: choiceFlag(values, "accept", ACCEPTANCES, "probabilistic") }
      : {}),
  };
  if (schedule === "raster" || schedule === "sjd") {
    if (values.window !== undefined) {
      throw new ValidationError(
        `--window does not apply to --schedule ${schedule}`,
        "Drop --window, or pick --schedule ideal|paper|ideal-sjd|paper-sjd.",
      );
    }
    return { schedule, window: width, ...speculative, proxy };
  }
  if (adaptive) {
    if (values.window !== undefined) {
      throw new ValidationError(
        `--schedule ${schedule} takes --min-window, not --window`,
        `Pass --min-window m (and optionally --max-window M) with 1 ≤ m ≤ M ≤ ${width}.`,
      );
    }
    if (values["min-window"] === undefined) {
      throw new ValidationError(
        `--schedule ${schedule} needs --min-window`,
        `Pass --min-window m with m in 1..${width} (the grid width).`,
      );
    }
    const window = intFlag(values, "min-window", 1, width, width);
    const maxWindow = intFlag(values, "max-window", window, width, width);
    return { schedule, window, maxWindow, ...speculative, proxy };
  }
  if (values.window === undefined) {
    throw new ValidationError(
      `--schedule ${schedule} needs --window`,
      `Pass --window s with s in 1..${width} (the grid width), or --schedule raster.`,
    );
  }
  const window = intFlag(values, "window", 1, width, width);
  return { schedule, window, ...speculative, proxy };
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
  const { schedule, window, proxy, acceptance } = choice;
  switch (schedule) {
    case "adaptive":
      return createAdaptiveSchedule(layout, {
        minWindow: window,
        maxWindow: choice.maxWindow,
        proxy,
      });
    case "adaptive2":
      return createAdaptiveV2Schedule(layout, {
        minWindow: window,
        maxWindow: choice.maxWindow,
        proxy,
        acceptance,
      });
    case "sjd":
    case "ideal-sjd":
    case "paper-sjd":
      return createSpeculativeRowsSchedule(layout, {
        draft: choice.draft ?? DEFAULT_DRAFT,
        window: schedule === "sjd" ? layout.width : window,
        variant: schedule === "paper-sjd" ? "paper" : "ideal",
        proxy,
        acceptance,
      });
    case "raster":
      return createSchedule(layout, { kind: "raster", proxy });
    default:
      return createSchedule(layout, { window, variant: schedule, proxy });
  }
}
