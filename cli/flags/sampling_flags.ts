/**
 * The sampling flags `--temperature`, `--top-k`, `--top-p`, `--cfg`, and how a model family's
 * defaults (`ModelInfo.defaults`: Janus CFG 5, Lumina-mGPT CFG 3 and top-k 2000) fill in the
 * ones the user did not give.
 *
 * @module
 */

import type { ModelInfo } from "../../core/mod.ts";
import { CONTRACT } from "../../core/contract.ts";
import { intFlag, numberFlag, type OptionSpec, type Values } from "./args.ts";

/** The sampling flags' declarations. */
export const SAMPLING_OPTIONS: OptionSpec = {
  cfg: { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
};

/** The sampling flags' help lines. */
export const SAMPLING_USAGE = `Sampling (defaults: the model family's, else these):
  --cfg G                  classifier-free guidance scale, 1 = off (default: 1;
                           ${familyDefaults("cfg")})
  --temperature T          softmax temperature, 0 = greedy (default: 1)
  --top-k K                keep the K most likely tokens, 0 = all (default: 0;
                           ${familyDefaults("topK")})
  --top-p P                keep the smallest set with mass ≥ P, 1 = all (default: 1)`;

/** "Janus 5, Emu3 3, …": the families whose contract defaults set `key` (core/contract.json). */
function familyDefaults(key: "cfg" | "topK"): string {
  return Object.values(CONTRACT.families)
    .filter((f) => f.defaults[key] !== undefined)
    .map((f) => `${f.title} ${f.defaults[key]}`)
    .join(", ");
}

/**
 * Read the sampling flags; a flag not given stays undefined (the family's default applies).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { samplingFlags } from "./sampling_flags.ts";
 * assert.deepEqual(samplingFlags({ cfg: "4", "top-k": "100" }), {
 *   cfg: 4, temperature: undefined, topK: 100, topP: undefined,
 * });
 * ```
 */
export function samplingFlags(values: Values): SamplingFlags {
  return {
    cfg: numberFlag(values, "cfg", (n) => n >= 0, "≥ 0 (1 = off)"),
    temperature: numberFlag(values, "temperature", (n) => n >= 0, "≥ 0 (0 = greedy)"),
    topK: intFlag(values, "top-k", 0, 0x7fffffff),
    topP: numberFlag(values, "top-p", (n) => n > 0 && n <= 1, "in (0, 1] (1 = off)"),
  };
}

/** Sampling settings; a field left undefined takes the model family's default, then the CLI's. */
export interface SamplingFlags {
  /** `--temperature`. */
  temperature?: number;
  /** `--top-k`. */
  topK?: number;
  /** `--top-p`. */
  topP?: number;
  /** `--cfg`. */
  cfg?: number;
}

/** The family defaults a backend may report in `ModelInfo.defaults`. */
export type FamilyDefaults = NonNullable<ModelInfo["defaults"]>;

/**
 * The sampling settings a run uses: the flags given, else the model family's defaults
 * (`ModelInfo.defaults`: Janus CFG 5, Lumina top-k 2000, …), else temperature 1, no top-k or
 * top-p, no CFG.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { samplingFor } from "./sampling_flags.ts";
 * assert.deepEqual(samplingFor({ topK: 10 }, { cfg: 5 }), { temperature: 1, topK: 10, topP: 1, cfg: 5 });
 * assert.deepEqual(samplingFor({ cfg: 1 }, { cfg: 5 }).cfg, 1);
 * ```
 */
export function samplingFor(
  flags: SamplingFlags,
  defaults: FamilyDefaults = {},
): Required<SamplingFlags> {
  return {
    temperature: flags.temperature ?? defaults.temperature ?? 1,
    topK: flags.topK ?? defaults.topK ?? 0,
    topP: flags.topP ?? defaults.topP ?? 1,
    cfg: flags.cfg ?? defaults.cfg ?? 1,
  };
}
