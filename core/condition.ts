/**
 * What an image is conditioned on, and the sequences a session holds for it.
 *
 * A condition is a class id (LlamaGen c2i, the mock) or a text prompt with an optional negative
 * prompt (Janus, Emu3, Lumina-mGPT). The engine never reads the text: it checks the condition
 * against the model's `conditioning` and hands it to `Backend.open`, one {@linkcode Sequence}
 * per sequence — image i's conditional sequence i and, with classifier-free guidance, its
 * unconditional sequence B + i. The backend builds the unconditional sequence by its family's
 * rule (LlamaGen: the null class; Janus: the prompt with every token but BOS and
 * begin-of-image replaced by pad; Emu3: the negative prompt; …), tokenizes prompts with the
 * model's own tokenizer and chat template, and writes a whole prompt in the one prefix slot of
 * a text model (its *condition block*, see core/step).
 *
 * @module
 */

import { checkInt } from "./check.ts";
import type { ModelInfo } from "./step.ts";

/** A text prompt, with an optional negative prompt for the unconditional sequence (CFG). */
export interface PromptCondition {
  /** The prompt, as the user wrote it (the backend applies the model's chat template). */
  prompt: string;
  /** What the unconditional sequence conditions on instead of the family's default. */
  negativePrompt?: string;
}

/** A class id, or a prompt. */
export type Condition = number | PromptCondition;

/** One sequence of a session. */
export interface Sequence {
  /** The image's condition. */
  condition: Condition;
  /** True for the unconditional half of classifier-free guidance. */
  unconditional: boolean;
}

/** Longest prompt (and negative prompt) the engine passes on, in UTF-16 code units. */
export const MAX_PROMPT_CHARS = 100_000;

/**
 * Whether `condition` is a prompt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPrompt } from "./condition.ts";
 * assert.equal(isPrompt({ prompt: "a red fox" }), true);
 * assert.equal(isPrompt(3), false);
 * ```
 */
export function isPrompt(condition: Condition): condition is PromptCondition {
  return typeof condition === "object" && condition !== null;
}

/**
 * Why `text` cannot be a prompt (or negative prompt), as a phrase to follow its name, or null
 * when it can: empty or blank, longer than {@linkcode MAX_PROMPT_CHARS}, or not valid Unicode
 * text (a lone UTF-16 surrogate, which no UTF-8 encoder or tokenizer would carry faithfully).
 * Every way a prompt arrives (flags, prompts files, job files, `Backend.open`) shares it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { promptTextError } from "./condition.ts";
 * assert.equal(promptTextError("a red fox"), null);
 * assert.equal(promptTextError(" "), "is empty: give the text to condition on");
 * assert.match(promptTextError("fox\uD800")!, /lone UTF-16 surrogate \(U\+D800\) at character 4/);
 * ```
 */
export function promptTextError(text: string): string | null {
  // Blank as the worker's Python sees it too: str.strip() also drops \x1c-\x1f and \x85.
  // deno-lint-ignore no-control-regex -- the file, group, record and unit separators count as blank
  if (text.replace(/[\s\x1c-\x1f\x85]/g, "") === "") {
    return "is empty: give the text to condition on";
  }
  if (text.length > MAX_PROMPT_CHARS) {
    return `has ${text.length} characters, more than ${MAX_PROMPT_CHARS}`;
  }
  if (!text.isWellFormed()) {
    const at = text.search(
      /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/,
    );
    const unit = text.charCodeAt(at).toString(16).toUpperCase();
    return `holds a lone UTF-16 surrogate (U+${unit}) at character ${
      at + 1
    }: it is not valid Unicode text`;
  }
  return null;
}

function checkText(what: string, text: unknown): void {
  if (typeof text !== "string") throw new TypeError(`${what} must be a string, got ${typeof text}`);
  const why = promptTextError(text);
  if (why !== null) throw new RangeError(`${what} ${why}`);
}

/**
 * Check a condition against a model: a class id in 0..numClasses (numClasses = the null class)
 * for class models, a non-empty prompt (and negative prompt, when given) for text models.
 * Throws a TypeError or RangeError naming the problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCondition } from "./condition.ts";
 * const text = { conditioning: "text", numClasses: 0 } as const;
 * checkCondition({ prompt: "a red fox" }, text);
 * assert.throws(() => checkCondition({ prompt: "  " }, text), /prompt is empty/);
 * assert.throws(() => checkCondition(3, text), /conditions on text prompts/);
 * assert.throws(() => checkCondition(12, { conditioning: "class", numClasses: 10 }), /0\.\.9 \(10 = null class\)/);
 * ```
 */
export function checkCondition(
  condition: Condition,
  info: Pick<ModelInfo, "conditioning" | "numClasses">,
): void {
  if (info.conditioning === "text") {
    if (!isPrompt(condition)) {
      throw new TypeError(
        `this model conditions on text prompts ({ prompt }), got ${JSON.stringify(condition)}`,
      );
    }
    checkText("prompt", condition.prompt);
    if (condition.negativePrompt !== undefined) {
      checkText("negative prompt", condition.negativePrompt);
    }
    return;
  }
  if (isPrompt(condition)) {
    throw new TypeError("this model conditions on class ids, not prompts: pass a class id");
  }
  checkClass(condition, info.numClasses);
}

/** A class id in 0..n − 1, or n itself (the null class). */
function checkClass(condition: number, n: number): void {
  if (condition !== n) checkInt("class", condition, 0, n - 1, `${n} = null class`);
}

/**
 * The sequences of a session for images conditioned on `conditions`: image i's conditional
 * sequence at i and, when `cfg`, its unconditional sequence at B + i.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sequencesFor } from "./condition.ts";
 * const seqs = sequencesFor([7, 2], true);
 * assert.deepEqual(seqs.map((s) => [s.condition, s.unconditional]), [
 *   [7, false], [2, false], [7, true], [2, true],
 * ]);
 * assert.equal(sequencesFor([{ prompt: "a cat" }], false).length, 1);
 * ```
 */
export function sequencesFor(conditions: readonly Condition[], cfg: boolean): Sequence[] {
  const sequences = conditions.map((condition) => ({ condition, unconditional: false }));
  if (cfg) {
    for (const condition of conditions) {
      sequences.push({ condition, unconditional: true });
    }
  }
  return sequences;
}

/**
 * The class id a class model's sequence is conditioned on: the image's class, or the null
 * class `numClasses` for an unconditional sequence. For backends of class models.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classOf } from "./condition.ts";
 * assert.equal(classOf({ condition: 7, unconditional: false }, 1000), 7);
 * assert.equal(classOf({ condition: 7, unconditional: true }, 1000), 1000);
 * ```
 */
export function classOf(sequence: Sequence, numClasses: number): number {
  const { condition, unconditional } = sequence;
  if (isPrompt(condition)) {
    throw new TypeError("this model conditions on class ids, not prompts: pass a class id");
  }
  checkClass(condition, numClasses);
  return unconditional ? numClasses : condition;
}
