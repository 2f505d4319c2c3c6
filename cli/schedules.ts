/**
 * The schedule registry: every schedule the CLI runs, with its settings, their rules, its help
 * line, whether it compiles into a plan, and how it is built (cli/schedule_grammar.ts reads
 * settings as flags, job fields and the compact form against it). `zipar generate`, `plan`, `bench`,
 * `eval`, `demo` and batch job files all read schedules through this one table, in one grammar:
 *
 * - flags: `--schedule paper --window 8 --proxy r-1`;
 * - job fields: `"schedule": "paper", "window": 8, "proxy": "r-1"` (each flag's camelCase name);
 * - the compact form, wherever one value names a whole schedule (`zipar eval --settings`,
 *   `--schedule`, a job's `"schedule"`): `paper:8:r-1` — the name, then its numbers in the
 *   order of {@linkcode ScheduleEntry.numbers}, then any setting's non-default word (`exact`,
 *   `final`, `above`, `uncoupled`, `r-1`).
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
  DRAFT_INITS,
  type DraftInit,
  type Layout,
  PROXY_POLICIES,
  type ProxyPolicy,
  type Schedule,
  VERIFY_TRIGGERS,
  type VerifyTrigger,
} from "../core/mod.ts";
import type { OptionSpec } from "./flags/args.ts";

/** Schedule names: those of {@linkcode SCHEDULES}' entries. */
export type ScheduleName = (typeof REGISTRY)[number]["name"];

/** A schedule's settings, by their flag names. */
export type SettingName =
  | "window"
  | "min-window"
  | "max-window"
  | "draft"
  | "accept"
  | "trigger"
  | "init"
  | "coupling"
  | "proxy";

/** How draft redraws are keyed (core/speculative/jacobi): the cell's key again, or fresh ones. */
export type Coupling = "coupled" | "uncoupled";

/** A resolved schedule: the name and every setting it takes, defaults filled in. */
export interface ScheduleChoice {
  /** The schedule. */
  schedule: ScheduleName;
  /** Window s (W for raster and sjd; the minimum window m for adaptive and adaptive2). */
  window: number;
  /** adaptive, adaptive2: verification is final once the row above has this many tokens. */
  maxWindow?: number;
  /** sjd, ideal-sjd, paper-sjd: draft tokens per Jacobi window. */
  draft?: number;
  /** adaptive2 and the SJD schedules: the acceptance rule (core/speculative/jacobi). */
  acceptance?: Acceptance;
  /** adaptive2: what counts as the row above's tokens for the maximum window. */
  trigger?: VerifyTrigger;
  /** SJD schedules: a new draft is a random token or the token above. */
  init?: DraftInit;
  /** SJD schedules: whether redraws reuse the cell's key. */
  coupling?: Coupling;
  /** Proxy policy. */
  proxy: ProxyPolicy;
}

/** One setting's rule. */
export interface SettingRule {
  /** The ScheduleChoice field it fills. */
  field: keyof Omit<ScheduleChoice, "schedule">;
  /** Its help text. */
  about: string;
  /** Its value in the help: `s`, `m`, `WORD`. */
  metavar: string;
  /** Integer settings: the bounds, given the grid width and the window already read. */
  range?: (width: number, window: number) => [number, number];
  /** Integer settings without `required`: the default. */
  fallback?: (width: number) => number;
  /** Word settings: the words, the default first. */
  words?: readonly string[];
}

/** The settings' rules, by name (cli/schedule_grammar.ts reads them). */
export const SETTING_RULES: Record<SettingName, SettingRule> = {
  window: { field: "window", metavar: "s", about: "window s in 1..W", range: (w) => [1, w] },
  "min-window": {
    field: "window",
    metavar: "m",
    about: "minimum window m in 1..W",
    range: (w) => [1, w],
  },
  "max-window": {
    field: "maxWindow",
    metavar: "M",
    about: "verify until the row above has M tokens (default: W)",
    range: (w, m) => [m, w],
    fallback: (w) => w,
  },
  draft: {
    field: "draft",
    metavar: "L",
    about: "draft tokens per Jacobi window (default: 4)",
    range: () => [1, 4096],
    fallback: () => 4,
  },
  accept: {
    field: "acceptance",
    metavar: "RULE",
    about: "probabilistic (SJD's, default) | exact (raster's own draw: the grid raster gives)",
    words: ACCEPTANCES,
  },
  trigger: {
    field: "trigger",
    metavar: "WHICH",
    about: "decoded (default) | final: which of the row above's tokens count for M",
    words: VERIFY_TRIGGERS,
  },
  init: {
    field: "init",
    metavar: "FROM",
    about: "random (default) | above: where a new draft's token comes from",
    words: DRAFT_INITS,
  },
  coupling: {
    field: "coupling",
    metavar: "KEYS",
    about: "coupled (default: redraws reuse the cell's key) | uncoupled",
    words: ["coupled", "uncoupled"],
  },
  proxy: {
    field: "proxy",
    metavar: "POLICY",
    about: "proxy token for early rows: r-2 (default) | r-1",
    words: PROXY_POLICIES,
  },
};

/** Every setting's name, the order of the rules above. */
export const SETTING_NAMES: readonly SettingName[] = Object.keys(SETTING_RULES) as SettingName[];

/** One schedule of the registry. */
export interface ScheduleEntry {
  /** Its name. */
  name: string;
  /** Whether it compiles into a plan (its queries never depend on token values). */
  fixed: boolean;
  /** One line for the help. */
  about: string;
  /** Settings it takes besides `proxy`; the first is required when it is a window. */
  settings: readonly SettingName[];
  /** Its integer settings in the order the compact form gives them (`ideal-sjd:S:L`). */
  numbers: readonly SettingName[];
  /** How many of `numbers` the compact form needs. */
  needs: number;
  /** Build the core schedule. */
  build(layout: Layout, choice: ScheduleChoice): Schedule;
}

const SJD = ["draft", "accept", "init", "coupling"] as const;

/** Build one of the SJD schedules. */
function sjd(layout: Layout, c: ScheduleChoice): Schedule {
  return createSpeculativeRowsSchedule(layout, {
    draft: c.draft!,
    window: c.schedule === "sjd" ? layout.width : c.window,
    variant: c.schedule === "paper-sjd" ? "paper" : "ideal",
    proxy: c.proxy,
    acceptance: c.acceptance,
    init: c.init,
    coupled: c.coupling !== "uncoupled",
  });
}

/**
 * The registry: every schedule, the default (`ideal`) second. A new schedule is its core module
 * and one entry here; every command, job file, eval setting and help line then knows it.
 */
const REGISTRY = [
  {
    name: "raster",
    fixed: true,
    about: "one token per pass (H·W passes)",
    settings: [],
    numbers: [],
    needs: 0,
    build: (l, c) => createSchedule(l, { kind: "raster", proxy: c.proxy }),
  },
  {
    name: "ideal",
    fixed: true,
    about: "ZipAR: row r starts when row r − 1 is s ahead (W + (H − 1)·s passes)",
    settings: ["window"],
    numbers: ["window"],
    needs: 1,
    build: (l, c) => createSchedule(l, { window: c.window, variant: "ideal", proxy: c.proxy }),
  },
  {
    name: "paper",
    fixed: true,
    about: "ZipAR as the paper's code: row 0 first (2W + (H − 2)·s passes)",
    settings: ["window"],
    numbers: ["window"],
    needs: 1,
    build: (l, c) => createSchedule(l, { window: c.window, variant: "paper", proxy: c.proxy }),
  },
  {
    name: "adaptive",
    fixed: false,
    about: "adaptive window: a row's first token drafted at m, verified until M",
    settings: ["min-window", "max-window"],
    numbers: ["min-window", "max-window"],
    needs: 1,
    build: (l, c) =>
      createAdaptiveSchedule(l, { minWindow: c.window, maxWindow: c.maxWindow, proxy: c.proxy }),
  },
  {
    name: "adaptive2",
    fixed: false,
    about: "every token decoded at window m, re-verified once the row above has M",
    settings: ["min-window", "max-window", "accept", "trigger"],
    numbers: ["min-window", "max-window"],
    needs: 1,
    build: (l, c) =>
      createAdaptiveV2Schedule(l, {
        minWindow: c.window,
        maxWindow: c.maxWindow,
        proxy: c.proxy,
        acceptance: c.acceptance,
        trigger: c.trigger,
      }),
  },
  {
    name: "sjd",
    fixed: false,
    about: "speculative Jacobi decoding in raster order, L drafts per window",
    settings: SJD,
    numbers: ["draft"],
    needs: 0,
    build: sjd,
  },
  {
    name: "ideal-sjd",
    fixed: false,
    about: "ZipAR × SJD: every active row drafts L tokens",
    settings: ["window", ...SJD],
    numbers: ["window", "draft"],
    needs: 1,
    build: sjd,
  },
  {
    name: "paper-sjd",
    fixed: false,
    about: "ZipAR × SJD, row 0 first",
    settings: ["window", ...SJD],
    numbers: ["window", "draft"],
    needs: 1,
    build: sjd,
  },
] as const satisfies readonly ScheduleEntry[];

/** The registry's entries (see above). */
export const SCHEDULES: readonly ScheduleEntry[] = REGISTRY;

/** The schedule names, the default second. */
export const SCHEDULE_NAMES: readonly ScheduleName[] = REGISTRY.map((e) => e.name);
/** The default schedule. */
export const DEFAULT_SCHEDULE: ScheduleName = "ideal";

/** The registry entry of `name`; undefined for an unknown name. */
export function scheduleEntry(name: string): ScheduleEntry | undefined {
  return SCHEDULES.find((e) => e.name === name);
}

/**
 * The value `choice` holds for setting `name` (`min-window` → `window`, `accept` →
 * `acceptance`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settingOf } from "./schedules.ts";
 * const c = { schedule: "adaptive", window: 3, maxWindow: 8, proxy: "r-2" } as const;
 * assert.equal(settingOf(c, "min-window"), 3);
 * ```
 */
export function settingOf(choice: ScheduleChoice, name: SettingName): unknown {
  return (choice as unknown as Record<string, unknown>)[SETTING_RULES[name].field];
}

/**
 * The flags of `--schedule` and of every setting the `entries` take, as parseArgs declares
 * them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scheduleOptions, SCHEDULES } from "./schedules.ts";
 * const fixed = scheduleOptions(SCHEDULES.filter((e) => e.fixed));
 * assert.deepEqual(Object.keys(fixed), ["schedule", "window", "proxy"]);
 * ```
 */
export function scheduleOptions(entries: readonly ScheduleEntry[]): OptionSpec {
  const names = new Set<string>(["schedule", ...entries.flatMap((e) => e.settings), "proxy"]);
  return Object.fromEntries([...names].map((name) => [name, { type: "string" as const }]));
}

/** The flags of every schedule and setting. */
export const SCHEDULE_OPTIONS: OptionSpec = scheduleOptions(SCHEDULES);

/**
 * Build the core schedule of a choice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "../core/mod.ts";
 * import { buildSchedule } from "./schedules.ts";
 * const s = buildSchedule(createLayout({ height: 4, width: 4 }), { schedule: "raster", window: 4, proxy: "r-2" });
 * assert(s.name === "raster");
 * ```
 */
export function buildSchedule(layout: Layout, choice: ScheduleChoice): Schedule {
  const entry = scheduleEntry(choice.schedule);
  if (!entry) throw new TypeError(`unknown schedule ${choice.schedule}`);
  return entry.build(layout, choice);
}

/**
 * The help lines of `--schedule` and every setting, for `zipar generate --help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scheduleHelp } from "./schedules.ts";
 * assert.match(scheduleHelp(), /--schedule NAME/);
 * assert.match(scheduleHelp(), /paper-sjd/);
 * ```
 */
export function scheduleHelp(): string {
  const lines: string[] = [];
  const line = (left: string, right: string) => {
    // Wrap the right column at 100 characters, continuation lines under it.
    let text = "", first = true;
    for (const word of right.split(" ")) {
      if (text && 27 + text.length + 1 + word.length > 100) {
        lines.push(`  ${(first ? left : "").padEnd(24)} ${text}`);
        [text, first] = ["", false];
      }
      text = text ? `${text} ${word}` : word;
    }
    lines.push(`  ${(first ? left : "").padEnd(24)} ${text}`);
  };
  line("--schedule NAME", `one of these (default: ${DEFAULT_SCHEDULE}; see docs/schedules.md):`);
  for (const e of SCHEDULES) line(`  ${e.name}`, e.about);
  line("", "or the compact form NAME[:NUMBERS][:WORDS], e.g. paper:8:r-1, adaptive2:4:8:final");
  for (const [name, rule] of Object.entries(SETTING_RULES) as [SettingName, SettingRule][]) {
    const which = SCHEDULES.filter((e) => e.settings.includes(name)).map((e) => e.name);
    const scope = name === "proxy" ? "" : `${which.join(", ")}: `;
    line(`--${name} ${rule.metavar}`, `${scope}${rule.about}`);
  }
  return lines.join("\n");
}
