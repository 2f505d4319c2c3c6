/**
 * Settings compared by `zipar eval`: `raster`, `ideal:S`, `paper:S`, with an optional proxy
 * policy (`ideal:4:r-1`), and `adaptive:M` (optionally `adaptive:M:MAX`).
 *
 * @module
 */

import { type Layout, PROXY_POLICIES, type ProxyPolicy, type Schedule } from "../../core/mod.ts";
import { ValidationError } from "../flags/args.ts";
import { buildSchedule } from "../flags/schedule_flags.ts";

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
    const int = (raw: string | undefined, min: number, what: string) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > width) {
        throw new ValidationError(
          `setting '${label}': ${what} must be an integer in ${min}..${width}, got '${raw ?? ""}'`,
          "Settings look like raster, ideal:4, paper:4:r-1, adaptive:2.",
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
      throw new ValidationError(
        `unknown setting '${label}'`,
        "Settings look like raster, ideal:4, paper:4:r-1, adaptive:2.",
      );
    }
  }
  if (out.length === 0) {
    throw new ValidationError("--settings is empty", `Example: --settings ${DEFAULT_SETTINGS}`);
  }
  return out;
}
