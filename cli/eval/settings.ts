/**
 * Settings compared by `zipar eval`: `raster`, `ideal:S`, `paper:S`, with an optional proxy
 * policy (`ideal:4:r-1`), `adaptive:M` (optionally `adaptive:M:MAX`), the re-verifying adaptive
 * window `adaptive2:M[:MAX]`, speculative Jacobi decoding `sjd:L`, and ZipAR × SJD
 * `ideal-sjd:S:L` / `paper-sjd:S:L`. The last four take options after their numbers:
 * `exact` (raster's own draw as the acceptance rule), `final` (adaptive2: verify against the
 * row above's final tokens), `above` (SJD: a new draft is the token above, not a random one),
 * `uncoupled` (SJD: redraw drafts with fresh keys), e.g. `paper-sjd:7:4:above`.
 *
 * @module
 */

import {
  type Acceptance,
  createAdaptiveV2Schedule,
  createSpeculativeRowsSchedule,
  type Layout,
  PROXY_POLICIES,
  type ProxyPolicy,
  type Schedule,
} from "../../core/mod.ts";
import { ValidationError } from "../flags/args.ts";
import { buildSchedule } from "../flags/schedule_flags.ts";

const EXAMPLES = "Settings look like raster, ideal:4, paper:4:r-1, adaptive2:4, paper-sjd:7:4.";

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
    const [kind, a, b] = label.split(":");
    const speculative = speculativeSetting(label, width);
    if (speculative) {
      out.push(speculative);
      continue;
    }
    const int = (raw: string | undefined, min: number, what: string) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > width) {
        throw new ValidationError(
          `setting '${label}': ${what} must be an integer in ${min}..${width}, got '${raw ?? ""}'`,
          EXAMPLES,
        );
      }
      return n;
    };
    if (kind === "raster" && a === undefined) {
      out.push({
        label,
        schedule: (l) => buildSchedule(l, { schedule: "raster", window: width, proxy: "r-2" }),
      });
    } else if (kind === "ideal" || kind === "paper") {
      const window = int(a, 1, "the window");
      if (b !== undefined && !PROXY_POLICIES.includes(b as ProxyPolicy)) {
        throw new ValidationError(`setting '${label}': proxy must be r-2 or r-1, got '${b}'`);
      }
      const proxy = (b ?? "r-2") as ProxyPolicy;
      out.push({ label, schedule: (l) => buildSchedule(l, { schedule: kind, window, proxy }) });
    } else if (kind === "adaptive") {
      const window = int(a, 1, "the min window");
      const maxWindow = b === undefined ? width : int(b, window, "the max window");
      out.push({
        label,
        schedule: (l) =>
          buildSchedule(l, { schedule: "adaptive", window, maxWindow, proxy: "r-2" }),
      });
    } else {
      throw new ValidationError(`unknown setting '${label}'`, EXAMPLES);
    }
  }
  if (out.length === 0) {
    throw new ValidationError("--settings is empty", `Example: --settings ${DEFAULT_SETTINGS}`);
  }
  return out;
}

/** Options after a speculative setting's numbers, and where each applies. */
const OPTIONS: Record<string, readonly string[]> = {
  exact: ["adaptive2", "sjd", "ideal-sjd", "paper-sjd"],
  final: ["adaptive2"],
  above: ["sjd", "ideal-sjd", "paper-sjd"],
  uncoupled: ["sjd", "ideal-sjd", "paper-sjd"],
};

/** `adaptive2:M[:MAX]`, `sjd:L`, `ideal-sjd:S:L`, `paper-sjd:S:L` with options; else null. */
function speculativeSetting(label: string, width: number): EvalSetting | null {
  const [kind, ...rest] = label.split(":");
  const numbers = kind === "adaptive2" ? [1, 2] : kind === "sjd" ? [1, 1] : [2, 2];
  if (!["adaptive2", "sjd", "ideal-sjd", "paper-sjd"].includes(kind)) return null;
  const ints: number[] = [];
  while (rest.length > 0 && /^\d+$/.test(rest[0]) && ints.length < numbers[1]) {
    ints.push(Number(rest.shift()));
  }
  const bad = (what: string) => new ValidationError(`setting '${label}': ${what}`, EXAMPLES);
  if (ints.length < numbers[0]) throw bad(`needs ${numbers[0]} number(s) after '${kind}'`);
  for (const option of rest) {
    if (!OPTIONS[option]?.includes(kind)) throw bad(`unknown option '${option}' for ${kind}`);
  }
  const has = (option: string) => rest.includes(option);
  const acceptance: Acceptance = has("exact") ? "exact" : "probabilistic";
  const inGrid = (n: number, min: number, what: string) => {
    if (n < min || n > width) throw bad(`${what} must be in ${min}..${width}, got ${n}`);
    return n;
  };
  if (kind === "adaptive2") {
    const minWindow = inGrid(ints[0], 1, "the min window");
    const maxWindow = inGrid(ints[1] ?? width, minWindow, "the max window");
    const trigger = has("final") ? "final" : "decoded";
    return {
      label,
      schedule: (l) => createAdaptiveV2Schedule(l, { minWindow, maxWindow, acceptance, trigger }),
    };
  }
  const window = kind === "sjd" ? width : inGrid(ints[0], 1, "the window");
  const draft = ints[kind === "sjd" ? 0 : 1];
  if (draft < 1 || draft > 4096) throw bad(`the draft length must be in 1..4096, got ${draft}`);
  const variant = kind === "paper-sjd" ? "paper" : "ideal";
  const init = has("above") ? "above" : "random";
  const coupled = !has("uncoupled");
  return {
    label,
    schedule: (l) =>
      createSpeculativeRowsSchedule(l, { window, draft, variant, acceptance, init, coupled }),
  };
}
