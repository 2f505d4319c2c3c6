/**
 * The mock backend: a deterministic "model" whose logits for image token (r, c) depend only on a
 * declared neighbourhood — the `left` tokens to its left in the same row, the row above from
 * column c − `aboveLeft` to c + `aboveRight` — plus the condition and the position.
 *
 * Its condition is a class id, or with `conditioning: "text"` a prompt (hashed: the text matters,
 * its length does not) in one condition-block prefix slot, as real text models have; an
 * unconditional sequence conditions on the null class, or on the negative prompt (default: "").
 *
 * It keeps a per-sequence slot cache like a real KV cache and reads neighbours only from written
 * slots at or before the query's slot, so proxies, corrections and masking matter exactly as in
 * a transformer. With right reach b, ZipAR with s ≥ b + 1 must reproduce the raster grid.
 *
 * @module
 */

import { type CfgRule, checkCfgRule } from "../../core/cfg.ts";
import { checkInt } from "../../core/check.ts";
import { cellOf, type Layout, layoutOf, slotOf } from "../../core/layout.ts";
import { fmix32, GOLDEN } from "../../core/random.ts";
import type { Backend, ModelInfo, PlanRun, Query, Session } from "../../core/step.ts";
import {
  checkCondition,
  classOf,
  type PromptCondition,
  type Sequence,
} from "../../core/condition.ts";
import { QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import { runPlanOnHost } from "../host_plan.ts";

/** Options of the mock model. */
export interface MockOptions {
  /** Grid rows. @default 8 */
  height?: number;
  /** Grid columns. @default 8 */
  width?: number;
  /** Vocabulary size. @default 16 */
  vocab?: number;
  /** Conditioning slots. @default 1 */
  prefix?: number;
  /** EOL token id (must be ≥ vocab, as EOL is never sampled), or null for no EOL. @default null */
  eolToken?: number | null;
  /** Number of classes (class `numClasses` is the null class). @default 10 */
  numClasses?: number;
  /** k: tokens to the left the logits depend on. @default 2 */
  left?: number;
  /** a: columns to the left in the row above. @default 1 */
  aboveLeft?: number;
  /** b: columns to the right in the row above (the right reach). @default 1 */
  aboveRight?: number;
  /** Logit scale: larger = peakier distributions. @default 3 */
  sharpness?: number;
  /** Salt of the model's hash ("its weights"). @default 0 */
  modelSeed?: number;
  /** Class ids, or text prompts (then prefix must be 1 and numClasses is 0). @default "class" */
  conditioning?: "class" | "text";
  /** A per-cell CFG scale rule to report as `ModelInfo.cfgRule` (core/cfg). @default none */
  cfgRule?: CfgRule;
}

/** A u32 hash of a string's UTF-16 code units (the mock's "text encoder"). */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = fmix32((h ^ text.charCodeAt(i)) >>> 0);
  return h;
}

/** Value of a neighbour that is outside the grid or not visible. */
const MISSING = 0x7fffffff;

/** The mock backend. */
export class MockBackend implements Backend {
  readonly name = "mock";
  readonly info: ModelInfo;
  readonly options: Required<Omit<MockOptions, "eolToken" | "conditioning" | "cfgRule">>;
  readonly layout: Layout;

  /** Build a mock model; see {@linkcode MockOptions}. */
  constructor(options: MockOptions = {}) {
    const {
      height = 8,
      width = 8,
      vocab = 16,
      prefix = 1,
      eolToken = null,
      numClasses = 10,
      left = 2,
      aboveLeft = 1,
      aboveRight = 1,
      sharpness = 3,
      modelSeed = 0,
      conditioning = "class",
      cfgRule,
    } = options;
    if (conditioning !== "class" && conditioning !== "text") {
      throw new RangeError(`mock conditioning must be class or text, got ${conditioning}`);
    }
    if (conditioning === "text") checkInt("mock prefix (text model)", prefix, 1, 1);
    checkInt("mock vocab", vocab, 1, 1 << 20);
    for (const [name, v] of Object.entries({ numClasses, left, aboveLeft, aboveRight })) {
      checkInt(`mock ${name}`, v, 0, 1 << 20);
    }
    if (eolToken !== null) {
      checkInt("mock EOL token", eolToken, vocab, Infinity, "vocab; EOL is never sampled");
    }
    this.info = {
      name: "mock",
      family: "mock",
      vocab,
      height,
      width,
      prefix,
      eolToken,
      numClasses: conditioning === "text" ? 0 : numClasses,
      conditioning,
    };
    if (cfgRule) {
      checkCfgRule(cfgRule, { height, width });
      this.info.cfgRule = cfgRule;
    }
    this.layout = layoutOf(this.info);
    this.options = {
      height,
      width,
      vocab,
      prefix,
      numClasses,
      left,
      aboveLeft,
      aboveRight,
      sharpness,
      modelSeed,
    };
  }

  open(sequences: readonly Sequence[]): Promise<Session> {
    if (sequences.length === 0) throw new RangeError("A session needs at least one sequence");
    const salts = sequences.map((s) => {
      if (this.info.conditioning === "class") return classOf(s, this.info.numClasses);
      checkCondition(s.condition, this.info);
      const { prompt, negativePrompt = "" } = s.condition as PromptCondition;
      return hashText(s.unconditional ? `\u0000${negativePrompt}` : prompt);
    });
    return Promise.resolve(new MockSession(this, salts));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * logits: [vocab] for image token (row, col) of a sequence of class `condition`, reading
   * neighbours with `read(row, col)` (MISSING where not visible).
   */
  logitsFor(
    condition: number,
    row: number,
    col: number,
    read: (row: number, col: number) => number,
    out: Float32Array,
  ): void {
    const { width, left, aboveLeft, aboveRight, sharpness, modelSeed, vocab } = this.options;
    let h = fmix32((modelSeed ^ GOLDEN) >>> 0);
    h = fmix32((h ^ condition) >>> 0);
    h = fmix32((h ^ (row * 4099 + col)) >>> 0);
    for (let k = 1; k <= left; k++) {
      h = fmix32((h ^ (col - k >= 0 ? read(row, col - k) : MISSING)) >>> 0);
    }
    for (let c = col - aboveLeft; c <= col + aboveRight; c++) {
      const inside = row > 0 && c >= 0 && c < width;
      h = fmix32((h ^ (inside ? read(row - 1, c) : MISSING)) >>> 0);
    }
    for (let v = 0; v < vocab; v++) {
      const bits = fmix32((h + Math.imul(v + 1, GOLDEN)) >>> 0);
      out[v] = sharpness * ((bits >>> 8) / 16777216);
    }
  }
}

/** A mock session: per-sequence slot contents, like a KV cache. */
class MockSession implements Session {
  /** runPlanOnHost (backends/host_plan.ts) guides per cell by `PlanRun.cfgInterval`. */
  readonly plansCfgInterval = true;
  /** runPlanOnHost mixes each cell with its `PlanRun.cfgScales` entry. */
  readonly plansCfgScales = true;
  readonly #model: MockBackend;
  readonly #conditions: readonly number[];
  /** slots: [seqs, numSlots], token written or −2 when empty. */
  readonly #slots: Int32Array[];
  #closed = false;

  constructor(model: MockBackend, conditions: readonly number[]) {
    this.#model = model;
    this.#conditions = conditions;
    this.#slots = conditions.map(() => new Int32Array(model.layout.numSlots).fill(-2));
  }

  // deno-lint-ignore require-await
  async step(queries: readonly Query[]): Promise<Float32Array> {
    if (this.#closed) throw new Error("Mock session is closed");
    const { layout } = this.#model;
    const { vocab, eolToken } = this.#model.info;
    // All queries write first…
    for (const q of queries) {
      const slots = this.#slots[q.seq];
      if (!slots) {
        throw new RangeError(`Query for sequence ${q.seq}, session has ${this.#slots.length}`);
      }
      const kind = cellOf(layout, q.slot);
      const ok = kind.kind === "prefix"
        ? q.token === QUERY_TOKEN_CONDITION
        : kind.kind === "eol"
        ? q.token === eolToken
        : Number.isInteger(q.token) && q.token >= 0 && q.token < vocab;
      if (!ok) {
        throw new RangeError(`Token ${q.token} cannot be written to slot ${q.slot} (${kind.kind})`);
      }
      slots[q.slot] = q.token;
    }
    // …then every query that wants logits reads what is visible to it.
    const wanted = queries.filter((q) => q.wantLogits);
    const logits = new Float32Array(wanted.length * vocab); // logits: [queries, vocab]
    wanted.forEach((q, i) => {
      const target = predictedCell(layout, q.slot);
      if (!target) throw new RangeError(`Slot ${q.slot} predicts no image token`);
      const slots = this.#slots[q.seq];
      const read = (r: number, c: number) => {
        const s = slotOf(layout, r, c);
        return s <= q.slot && slots[s] >= 0 ? slots[s] : MISSING;
      };
      const out = logits.subarray(i * vocab, (i + 1) * vocab);
      this.#model.logitsFor(this.#conditions[q.seq], target.row, target.col, read, out);
    });
    return logits;
  }

  runPlan(run: PlanRun, onProgress?: (stepsDone: number) => void): Promise<Int32Array> {
    return runPlanOnHost(this, this.#model.info, run, onProgress);
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** The image cell predicted by the query at `slot`: the next image slot in raster order. */
function predictedCell(layout: Layout, slot: number): { row: number; col: number } | null {
  if (slot === layout.prefix - 1) return { row: 0, col: 0 };
  const kind = cellOf(layout, slot);
  if (kind.kind === "eol") {
    return kind.row + 1 < layout.height ? { row: kind.row + 1, col: 0 } : null;
  }
  if (kind.kind !== "image") return null;
  if (kind.col + 1 < layout.width) return { row: kind.row, col: kind.col + 1 };
  if (layout.eol || kind.row + 1 >= layout.height) return null;
  return { row: kind.row + 1, col: 0 };
}
