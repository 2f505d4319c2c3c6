/**
 * The step contract between the engine and a backend (docs/design.md §2–3).
 *
 * A backend executes queries; it knows nothing of windows or rows. A query writes one slot of
 * one sequence and may ask for the logits that predict the slot after it. Within a step, all
 * queries write their K/V first; then a query at slot p attends to every written slot q ≤ p.
 * Unwritten slots are masked out.
 *
 * **One word: step.** A *step* is one forward pass of the model over one list of queries:
 * `Session.step`, `Tracker.applyStep`, `Schedule.nextStep`, `Plan.steps`, the `step` events of
 * core/engine and {@linkcode countSteps} all count the same thing. The paper and the user-facing
 * output say "forward pass"; the statistics fields that reach JSON (grid metadata, `zipar plan
 * --format json`) keep that name: `GenerationStats.passes` is the number of steps,
 * `rasterPasses` the steps raster order would take, `tokensPerPass[n]` the steps that decoded n
 * tokens per image.
 *
 * **Sentinels.** Negative values stand for tokens the engine does not know but the backend
 * does, one named constant per field and meaning: {@linkcode QUERY_TOKEN_CONDITION} in
 * `Query.token`, {@linkcode PLAN_INPUT_CONDITION} and {@linkcode PLAN_INPUT_EOL} in
 * `EncodedPlan.input`. {@linkcode PLAN_PREDICTS_NONE} marks a plan query that samples nothing.
 *
 * **Conditions.** A class model (LlamaGen c2i, the mock) has `prefix` class-token slots. A text
 * model (`conditioning: "text"`: Janus, Emu3, Lumina-mGPT) has exactly one prefix slot, its
 * *condition block*: the prefill query there writes the sequence's whole prompt (chat template
 * and image header included, tokenized by the backend with the model's own tokenizer) and its
 * logits predict cell (0, 0). The backend maps engine slot s ≥ 1 to the absolute position
 * P[seq] + s − 1, P[seq] being that sequence's prompt length, so RoPE positions and the KV cache
 * are right for prompts of any length, different per sequence; the engine never sees text
 * (core/condition).
 *
 * **Sequences.** A session of B images holds image i's conditional sequence at index i and, with
 * classifier-free guidance, its unconditional sequence at B + i; core/cfg builds those queries
 * and mixes their logits, once for every caller.
 *
 * One query's path through the engine (core/interactive): the schedule's `nextStep(tracker)`
 * gives an ImageQuery `{ slot, input, proxy, predicts }` → its input becomes a token → core/cfg
 * turns it into one Query per sequence → `session.step` returns logits → core/cfg mixes the CFG
 * rows → the schedule's `resolve` samples (core/sampling) → `tracker.applyStep` referees and
 * records the token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countSteps } from "./schedule.ts";
 * import { PLAN_INPUT_CONDITION, PLAN_INPUT_EOL, QUERY_TOKEN_CONDITION } from "./step.ts";
 * assert.equal(QUERY_TOKEN_CONDITION, -1);
 * assert.notEqual(PLAN_INPUT_EOL, PLAN_INPUT_CONDITION);
 * assert.equal(countSteps({ height: 24, width: 24, window: 8 }), 208); // stats.passes
 * ```
 *
 * @module
 */

import type { CfgRule } from "./cfg.ts";
import type { Condition, Sequence } from "./condition.ts";
import { CONTRACT } from "./contract.ts";

/**
 * `Query.token` of a prefix slot: "this sequence's conditioning token". The backend knows what
 * that is (the class of `Backend.open`'s `sequences[seq]`, or for a text model the whole
 * tokenized prompt: its *condition block*); image slots carry real ids.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QUERY_TOKEN_CONDITION, type Query } from "./step.ts";
 * const prefill: Query = { seq: 0, slot: 0, token: QUERY_TOKEN_CONDITION, wantLogits: true };
 * assert.ok(prefill.token < 0); // never a vocabulary id
 * ```
 */
export const QUERY_TOKEN_CONDITION: number = CONTRACT.queryTokenCondition;

/** Model metadata a backend reports. */
export interface ModelInfo {
  /** Model name, e.g. `GPT-B` or `mock`. */
  name: string;
  /** Model family: `llamagen`, `mock`, … */
  family: string;
  /** Vocabulary size V; logits rows have V entries. */
  vocab: number;
  /** Grid rows H. */
  height: number;
  /** Grid columns W. */
  width: number;
  /** Conditioning slots before the first image token (1 for text models: the condition block). */
  prefix: number;
  /** What images are conditioned on: class ids, or text prompts (core/condition). */
  conditioning: "class" | "text";
  /**
   * The family's sampling defaults, which the CLI applies where the user gives no value (Janus:
   * `{ cfg: 5 }` as transformers; Lumina-mGPT: `{ cfg: 3, topK: 2000 }`); `negativePrompt` is
   * what its unconditional sequences condition on by default, for the record.
   */
  defaults?: {
    cfg?: number;
    topK?: number;
    topP?: number;
    temperature?: number;
    negativePrompt?: string;
  };
  /**
   * The family's rule for a CFG scale of its own at every cell (core/cfg's `cfgScales`), where
   * its release does not mix with one constant g (Lumina-mGPT 2.0: `{ kind: "decay", floor: 4,
   * start: 2, latentStride: 2 }`, core/contract.json); absent: the scale asked for, everywhere.
   */
  cfgRule?: CfgRule;
  /** End-of-line token id, or null when rows have no EOL slot. */
  eolToken: number | null;
  /** Number of classes; class id `numClasses` is the null class used for CFG (0: text model). */
  numClasses: number;
}

/** One query of a step. */
export interface Query {
  /** Sequence index (image i's conditional half is i, its unconditional half B + i). */
  seq: number;
  /** Slot written (see core/layout). */
  slot: number;
  /** Token id written; {@linkcode QUERY_TOKEN_CONDITION} in prefix slots. */
  token: number;
  /** Whether to return the logits predicting the next slot. */
  wantLogits: boolean;
}

/** One image of a generation. */
export interface PlanImage {
  /** What the image is conditioned on: a class id or a prompt (core/condition). */
  condition: Condition;
  /** Seed of its draws. */
  seed: number;
  /** Image index in the draw key (seed, index, row, col). */
  index: number;
}

/**
 * A fixed-window generation compiled for the device (docs/design.md §3, planned mode), in flat
 * arrays. Step j's queries are `stepStart[j] .. stepStart[j + 1] − 1`; every query is done for
 * every image, for both CFG halves when `cfgScale !== 1`.
 */
export interface EncodedPlan {
  /** Grid rows H. */
  height: number;
  /** Grid columns W. */
  width: number;
  /** stepStart: [steps + 1], offsets into the query arrays. */
  stepStart: Int32Array;
  /** slot: [queries], slot written. */
  slot: Int32Array;
  /**
   * input: [queries], the token written: a cell index r·W + c (read from the device grid),
   * {@linkcode PLAN_INPUT_CONDITION} or {@linkcode PLAN_INPUT_EOL}.
   */
  input: Int32Array;
  /**
   * predicts: [queries], the cell index r·W + c sampled from its logits, or
   * {@linkcode PLAN_PREDICTS_NONE}.
   */
  predicts: Int32Array;
}

/**
 * `EncodedPlan.input` of a prefix slot: "the sequence's conditioning token"; the backend writes
 * {@linkcode QUERY_TOKEN_CONDITION}'s token there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { compilePlan, encodePlan } from "./plan.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { PLAN_INPUT_CONDITION } from "./step.ts";
 * const layout = createLayout({ height: 2, width: 2 });
 * const plan = encodePlan(compilePlan(layout, createSchedule(layout, { kind: "raster" })));
 * assert.equal(plan.input[0], PLAN_INPUT_CONDITION); // the class token's slot
 * ```
 */
export const PLAN_INPUT_CONDITION: number = CONTRACT.planInputCondition;

/**
 * `EncodedPlan.input` of an end-of-line slot: "the model's EOL token" (`ModelInfo.eolToken`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout, eolSlotOf } from "./layout.ts";
 * import { compilePlan, encodePlan } from "./plan.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { PLAN_INPUT_EOL } from "./step.ts";
 * const layout = createLayout({ height: 2, width: 2, eol: true });
 * const plan = encodePlan(compilePlan(layout, createSchedule(layout, { window: 1 })));
 * const q = [...plan.slot].indexOf(eolSlotOf(layout, 0));
 * assert.equal(plan.input[q], PLAN_INPUT_EOL);
 * ```
 */
export const PLAN_INPUT_EOL: number = CONTRACT.planInputEol;

/**
 * `EncodedPlan.predicts` of a query that samples nothing (a prefix write or a correction).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLayout } from "./layout.ts";
 * import { compilePlan, encodePlan } from "./plan.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { PLAN_PREDICTS_NONE } from "./step.ts";
 * const layout = createLayout({ height: 2, width: 2, prefix: 2 });
 * const plan = encodePlan(compilePlan(layout, createSchedule(layout, { kind: "raster" })));
 * assert.deepEqual([plan.predicts[0], plan.predicts[1]], [PLAN_PREDICTS_NONE, 0]);
 * ```
 */
export const PLAN_PREDICTS_NONE: number = CONTRACT.planPredictsNone;

/** Everything a backend needs to run a plan on its own. */
export interface PlanRun {
  /** The compiled steps. */
  plan: EncodedPlan;
  /** The images; sequences are images (conditional) then images again (unconditional). */
  images: PlanImage[];
  /** CFG scale; 1 = no unconditional sequences. */
  cfgScale: number;
  /**
   * LlamaGen's `cfg_interval` (core/cfg's `cfgGuides`): −1 or absent guides every token. Only
   * sessions with `plansCfgInterval` get a run with N ≥ 0.
   */
  cfgInterval?: number;
  /**
   * cfgScales: [H·W], the CFG scale that mixes the logits sampling cell r·W + c, when the model
   * has a `cfgRule` (core/cfg's `cfgScales`) and CFG is on; absent: `cfgScale` at every cell.
   * Only sessions with `plansCfgScales` get a run with it.
   */
  cfgScales?: Float64Array;
  /** Temperature, top-k, top-p (core/sampling). */
  sampling: { temperature: number; topK: number; topP: number };
  /** Report progress every this many steps (0 = only at the end). */
  progressEvery: number;
}

/** An open generation: KV caches for a set of sequences. */
export interface Session {
  /**
   * Run one step (one forward pass). Returns logits: [queries with wantLogits, vocab], in query
   * order.
   */
  step(queries: readonly Query[]): Promise<Float32Array>;
  /** Whether `runPlan` honours `PlanRun.cfgInterval` (else the engine runs such CFG interactive). */
  readonly plansCfgInterval?: boolean;
  /** Whether `runPlan` honours `PlanRun.cfgScales` (else the engine runs such CFG interactive). */
  readonly plansCfgScales?: boolean;
  /**
   * Planned mode, when the backend supports it: run the whole plan, sampling on the device.
   * Returns grids: [images, H, W]. `onProgress(stepsDone)` is called as steps complete.
   */
  runPlan?(run: PlanRun, onProgress?: (stepsDone: number) => void): Promise<Int32Array>;
  /** Free the session's caches. */
  close(): Promise<void>;
}

/** A loaded model. */
export interface Backend {
  /** Backend name: `mock`, `python`, `webgpu`. */
  readonly name: string;
  /** Model metadata. */
  readonly info: ModelInfo;
  /**
   * Open a session with one KV cache per sequence: `sequences[i]` is image i's conditional
   * sequence and, with CFG, `sequences[B + i]` its unconditional one (core/condition's
   * `sequencesFor`). The backend tokenizes prompts and builds unconditional sequences by its
   * family's rule.
   */
  open(sequences: readonly Sequence[]): Promise<Session>;
  /** Release the model (GPU memory, worker process). */
  close(): Promise<void>;
}
