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
});
