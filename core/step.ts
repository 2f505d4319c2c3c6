/**
 * The step contract between the engine and a backend (DESIGN.md §2–3).
 *
 * A backend executes queries; it knows nothing of windows or rows. A query writes one slot of
 * one sequence and may ask for the logits that predict the slot after it. Within a step, all
 * queries write their K/V first; then a query at slot p attends to every written slot q ≤ p.
 * Unwritten slots are masked out.
 *
 * @module
 */

/** Token id a query carries in a prefix slot: "the sequence's conditioning token". */
export const CONDITION_TOKEN = -1;

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
  /** Conditioning slots before the first image token. */
  prefix: number;
  /** End-of-line token id, or null when rows have no EOL slot. */
  eolToken: number | null;
  /** Number of classes; class id `numClasses` is the null class used for CFG. */
  numClasses: number;
}

/** One query of a step. */
export interface Query {
  /** Sequence index (image i's conditional half is i, its unconditional half B + i). */
  seq: number;
  /** Slot written (see core/layout). */
  slot: number;
  /** Token id written; {@linkcode CONDITION_TOKEN} in prefix slots. */
  token: number;
  /** Whether to return the logits predicting the next slot. */
  wantLogits: boolean;
}

/** One image of a planned run. */
export interface PlanImage {
  /** Class id (condition) of the image. */
  condition: number;
  /** Seed of its draws. */
  seed: number;
  /** Image index in the draw key (seed, index, row, col). */
  index: number;
}

/**
 * A fixed-window generation compiled for the device (DESIGN.md §3, planned mode), in flat arrays.
 * Step j's queries are `stepStart[j] .. stepStart[j + 1] − 1`; every query is done for every
 * image, for both CFG halves when `cfgScale !== 1`.
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
   * {@linkcode INPUT_CONDITION} or {@linkcode INPUT_EOL}.
   */
  input: Int32Array;
  /** predicts: [queries], the cell index r·W + c sampled from its logits, or −1. */
  predicts: Int32Array;
}

/** `EncodedPlan.input` value for "the sequence's conditioning token". */
export const INPUT_CONDITION = -1;
/** `EncodedPlan.input` value for "the model's EOL token". */
export const INPUT_EOL = -2;

/** Everything a backend needs to run a plan on its own. */
export interface PlanRun {
  /** The compiled steps. */
  plan: EncodedPlan;
  /** The images; sequences are images (conditional) then images again (unconditional). */
  images: PlanImage[];
  /** CFG scale; 1 = no unconditional sequences. */
  cfgScale: number;
  /** Temperature, top-k, top-p (core/sampling). */
  sampling: { temperature: number; topK: number; topP: number };
  /** Report progress every this many steps (0 = only at the end). */
  progressEvery: number;
}

/** An open generation: KV caches for a set of sequences. */
export interface Session {
  /**
   * Run one forward pass. Returns logits: [queries with wantLogits, vocab], in query order.
   */
  step(queries: readonly Query[]): Promise<Float32Array>;
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
  /** Open a session; `conditions[seq]` is the class id of each sequence. */
  open(conditions: readonly number[]): Promise<Session>;
  /** Release the model (GPU memory, worker process). */
  close(): Promise<void>;
}
