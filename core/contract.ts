/**
 * The cross-language contract: the numbers the engine and the Python worker must agree on
 * (protocol version, frame and header caps, the step's sentinel values, LlamaGen's presets),
 * read from the one data file both load, core/contract.json. The Python side is
 * backends/python/worker/contract.py; contract_test.ts checks both read the same values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONTRACT } from "./contract.ts";
 * assert.equal(CONTRACT.planInputEol, -2);
 * assert.deepEqual(CONTRACT.llamagenPresets["GPT-B"], [12, 12, 768]);
 * ```
 *
 * @module
 */

import type { CfgRule } from "./cfg.ts";
import data from "./contract.json" with { type: "json" };

/** What core/contract.json holds (its `notes` say what each key means). */
export interface Contract {
  /** The worker protocol's version. */
  protocolVersion: number;
  /** Largest JSON header of a worker frame, either way. */
  maxFrameHeaderBytes: number;
  /** Largest safetensors JSON header either reader accepts. */
  maxSafetensorsHeaderBytes: number;
  /** `Query.token` of a prefix slot. */
  queryTokenCondition: number;
  /** `EncodedPlan.input` of a prefix slot. */
  planInputCondition: number;
  /** `EncodedPlan.input` of an end-of-line slot. */
  planInputEol: number;
  /** `EncodedPlan.predicts` of a query that samples nothing. */
  planPredictsNone: number;
  /** LlamaGen's named sizes: [layers, heads, dim]. */
  llamagenPresets: Readonly<Record<string, readonly [number, number, number]>>;
  /** The caps of a valid LlamaGen model directory (kvCacheBytes: one sequence at float32). */
  llamagenLimits: Readonly<{
    gridSide: number;
    layers: number;
    heads: number;
    dim: number;
    hidden: number;
    vocab: number;
    numClasses: number;
    kvCacheBytes: number;
  }>;
  /** The image sides `--size` may ask for: [min, max] px. */
  imageSizePx: readonly [number, number];
  /** Each model family's facts, by the worker's family name. */
  families: Readonly<Record<string, FamilyFacts>>;
}

/** A model family's facts in the contract. */
export interface FamilyFacts {
  /** Its name for people ("Lumina-mGPT"). */
  title: string;
  /** The grid [H, W] at its usual resolution. */
  grid: readonly [number, number];
  /** Whether rows end with an end-of-line token. */
  eol: boolean;
  /** What that grid is. */
  about: string;
  /** Its sampling defaults (`ModelInfo.defaults`), over temperature 1, no top-k/top-p, CFG 1. */
  defaults: Readonly<{ cfg?: number; temperature?: number; topK?: number; topP?: number }>;
  /** Its release's per-position CFG scale (`ModelInfo.cfgRule`), if it has one. */
  cfgRule?: Readonly<CfgRule>;
}

/**
 * The contract's values, frozen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONTRACT } from "./contract.ts";
 * assert.ok(Object.isFrozen(CONTRACT));
 * ```
 */
export const CONTRACT: Readonly<Contract> = Object.freeze({
  protocolVersion: data.protocolVersion,
  maxFrameHeaderBytes: data.maxFrameHeaderBytes,
  maxSafetensorsHeaderBytes: data.maxSafetensorsHeaderBytes,
  queryTokenCondition: data.queryTokenCondition,
  planInputCondition: data.planInputCondition,
  planInputEol: data.planInputEol,
  planPredictsNone: data.planPredictsNone,
  llamagenPresets: Object.freeze(
    Object.fromEntries(
      Object.entries(data.llamagenPresets).map((
        [name, p],
      ) => [name, Object.freeze([p[0], p[1], p[2]] as const)]),
    ),
  ),
  llamagenLimits: Object.freeze({ ...data.llamagenLimits }),
  imageSizePx: Object.freeze([data.imageSizePx[0], data.imageSizePx[1]] as const),
  families: Object.freeze(
    Object.fromEntries(
      Object.entries(data.families).map(([name, f]) => [
        name,
        Object.freeze({
          title: f.title,
          grid: Object.freeze([f.grid[0], f.grid[1]] as const),
          eol: f.eol,
          about: f.about,
          defaults: Object.freeze({ ...f.defaults }),
          ...("cfgRule" in f ? { cfgRule: Object.freeze({ ...f.cfgRule } as CfgRule) } : {}),
        }),
      ]),
    ),
  ),
});
