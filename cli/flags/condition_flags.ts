/**
 * What the images are conditioned on, from the command line: `--class N[,N…]` for class models,
 * `--prompt TEXT` (repeatable) or `--prompts FILE` (one prompt per line) with an optional
 * `--negative-prompt TEXT` for text-to-image models, and `--batch B`. Checked against the model
 * once it is loaded ({@linkcode checkConditionsForModel}).
 *
 * @module
 */

import type { Condition, ModelInfo, PlanImage } from "../../core/mod.ts";
import { promptTextError } from "../../core/mod.ts";
import type { Io } from "../io/io.ts";
import { readTextLines } from "../io/text_file.ts";
import { intFlag, type OptionSpec, parseIntList, ValidationError, type Values } from "./args.ts";

/** The condition flags' declarations. */
export const CONDITION_OPTIONS: OptionSpec = {
  class: { type: "string" },
  prompt: { type: "string", multiple: true },
  prompts: { type: "string" },
  "negative-prompt": { type: "string" },
  batch: { type: "string" },
};

/** The condition flags' help lines. */
export const CONDITION_USAGE = `Conditions:
  --class N[,N...]         class models: class id of each image (default: 0)
  --prompt TEXT            text-to-image models: the prompt (repeat it for several images)
  --prompts FILE           one prompt per line (- = stdin); image i gets line i
  --negative-prompt TEXT   what the unconditional half of CFG conditions on instead of the
                           family's default (Janus: the padded prompt; Emu3: the model card's)
  --batch B                images; the classes or prompts repeat (default: how many given)`;

/** Largest prompts file read (16 MiB). */
export const MAX_PROMPTS_BYTES = 16 * 2 ** 20;

/**
 * Most images one generation makes, whatever gives them: `--batch`, the classes of `--class`,
 * repeated `--prompt`s or the lines of `--prompts` (read no further than this).
 */
export const MAX_IMAGES = 1 << 16;

/** Why too many images were asked for, and the fix. */
function tooManyImages(what: string): ValidationError {
  return new ValidationError(
    `${what}: more than ${MAX_IMAGES} images`,
    `One generation makes at most ${MAX_IMAGES} images: split the prompts over several runs, or use zipar batch.`,
  );
}

/**
 * Check one prompt given at `where` (`--prompt 2`, `p.txt:3`, `--negative-prompt`): a one-line
 * ValidationError (exit 2) when it is empty, too long, holds control characters or is not
 * valid Unicode text. The checks are core's ({@linkcode promptTextError}), which every source
 * shares.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPromptFlag } from "./condition_flags.ts";
 * checkPromptFlag("a red fox", "--prompt");
 * assert.throws(() => checkPromptFlag("fox\uD800", "--prompt 2"), /--prompt 2: prompt holds a lone UTF-16 surrogate/);
 * ```
 */
export function checkPromptFlag(text: string, where: string): void {
  const why = promptTextError(text);
  if (why !== null) throw new ValidationError(`${where}: prompt ${why}`);
  // deno-lint-ignore no-control-regex -- refusing control bytes is the point
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) {
    throw new ValidationError(`${where}: prompt holds control characters`);
  }
}

/** The images' conditions, as the flags give them. */
export interface ConditionChoice {
  /** `class`: `--class`, or nothing given; `prompt`: `--prompt` / `--prompts`. */
  kind: "class" | "prompt";
  /** One condition per image, or fewer, cycled over `batch` images. */
  conditions: Condition[];
  /** Images. */
  batch: number;
}

/**
 * Line `n` (1-based) of a prompts file, its `\r` dropped and checked ({@linkcode checkPromptFlag});
 * an empty or blank line is an error naming it, since image i gets line i.
 */
function promptLine(raw: string, n: number, where: string): string {
  const line = raw.replace(/\r$/, "");
  if (line.trim() === "") {
    throw new ValidationError(
      `${where}:${n}: empty prompt`,
      "Give one prompt per line; image i gets line i.",
    );
  }
  checkPromptFlag(line, `${where}:${n}`);
  return line;
}

/** The error for a prompts file whose line `MAX_IMAGES + 1` was reached. */
function tooManyLines(where: string): ValidationError {
  return new ValidationError(
    `${where}: more than ${MAX_IMAGES} prompts (one image each)`,
    `One generation makes at most ${MAX_IMAGES} images: split the file, or use zipar batch.`,
  );
}

/**
 * The prompts of `--prompts FILE` (`-` = stdin): one a line (`\r\n` too), a final newline
 * allowed, image i gets line i. Read a line at a time and no further than line
 * {@linkcode MAX_IMAGES} + 1: an endless stdin is refused at the cap, not read whole.
 */
async function readPrompts(file: string, io: Io): Promise<string[]> {
  const where = file === "-" ? "stdin" : file;
  const prompts: string[] = [];
  try {
    const lines = readTextLines(file, io, {
      what: "the prompts file",
      maxBytes: MAX_PROMPTS_BYTES,
    });
    for await (const line of lines) {
      if (prompts.length === MAX_IMAGES) throw tooManyLines(where);
      prompts.push(promptLine(line, prompts.length + 1, where));
    }
  } catch (e) {
    throw e instanceof ValidationError ? e : new ValidationError((e as Error).message);
  }
  if (prompts.length === 0) throw new ValidationError(`${where} holds no prompt`);
  return prompts;
}

/** Read the condition flags (a `--prompts` file included); usage errors are ValidationErrors. */
export async function conditionFlags(values: Values, io: Io): Promise<ConditionChoice> {
  const prompts = (values.prompt as string[] | undefined) ?? [];
  const file = values.prompts as string | undefined;
  const negative = values["negative-prompt"] as string | undefined;
  if ((prompts.length > 0 || file !== undefined) && values.class !== undefined) {
    throw new ValidationError("--class and --prompt/--prompts exclude each other");
  }
  if (prompts.length > 0 && file !== undefined) {
    throw new ValidationError("give prompts with --prompt or with --prompts FILE, not both");
  }
  if (prompts.length > MAX_IMAGES) throw tooManyImages(`--prompt given ${prompts.length} times`);
  prompts.forEach((text, i) => {
    const where = prompts.length === 1 ? "--prompt" : `--prompt ${i + 1}`;
    if (text.trim() === "") {
      throw new ValidationError(`${where} is empty: give the text to condition on`);
    }
    checkPromptFlag(text, where);
  });
  let texts = prompts;
  if (file !== undefined) {
    if (file === "") throw new ValidationError("--prompts needs a file name, or - for stdin");
    texts = await readPrompts(file, io);
  }
  if (negative !== undefined && texts.length === 0) {
    throw new ValidationError("--negative-prompt applies with --prompt or --prompts");
  }
  if (negative !== undefined && negative.trim() === "") {
    throw new ValidationError("--negative-prompt is empty: drop it for the family's default");
  }
  if (negative !== undefined) checkPromptFlag(negative, "--negative-prompt");
  const classes = (values.class as string | undefined) ?? "0";
  const classCount = classes.split(",").length;
  if (classCount > MAX_IMAGES) throw tooManyImages(`--class lists ${classCount} classes`);
  const conditions: Condition[] = texts.length > 0
    ? texts.map((
      prompt,
    ) => (negative === undefined ? { prompt } : { prompt, negativePrompt: negative }))
    : parseIntList("--class", classes, 0, 0x7fffffff);
  const kind = texts.length > 0 ? "prompt" : "class";
  const batchFlag = intFlag(values, "batch", 1, MAX_IMAGES);
  if (conditions.length > 1 && batchFlag !== undefined && batchFlag !== conditions.length) {
    const what = kind === "class" ? "classes in --class" : "prompts";
    throw new ValidationError(
      `--batch ${batchFlag} contradicts ${conditions.length} ${what}`,
      `Give one ${kind} per image, or one ${kind} and --batch.`,
    );
  }
  return { kind, conditions, batch: batchFlag ?? conditions.length };
}

/**
 * Check the conditions against the loaded model: prompts for text models, classes in range for
 * class models; a one-line ValidationError that names the fix otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkConditionsForModel } from "./condition_flags.ts";
 * const janus = { name: "janus", conditioning: "text", numClasses: 0 } as const;
 * assert.throws(
 *   () => checkConditionsForModel({ kind: "class", conditions: [0], batch: 1 }, janus),
 *   /text-to-image: pass --prompt/,
 * );
 * ```
 */
export function checkConditionsForModel(
  choice: ConditionChoice,
  info: Pick<ModelInfo, "name" | "conditioning" | "numClasses">,
): void {
  if (info.conditioning === "text" && choice.kind === "class") {
    throw new ValidationError(
      `model ${info.name} is text-to-image: pass --prompt TEXT or --prompts FILE`,
    );
  }
  if (info.conditioning !== "text" && choice.kind === "prompt") {
    throw new ValidationError(
      `model ${info.name} is class-conditional (${info.numClasses} classes): pass --class N, not a prompt`,
    );
  }
  for (const c of choice.conditions) {
    if (typeof c === "number" && c >= info.numClasses) {
      throw new ValidationError(
        `--class ${c} is out of range: model ${info.name} has classes 0..${info.numClasses - 1}`,
      );
    }
  }
}

/**
 * `count` images; image i has condition `conditions[i mod conditions.length]` and the draw key
 * (seed, i).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cycleConditions } from "./condition_flags.ts";
 * const images = cycleConditions([{ prompt: "a" }, { prompt: "b" }], 3, 9);
 * assert.deepEqual(images.map((im) => [im.condition, im.index]), [
 *   [{ prompt: "a" }, 0], [{ prompt: "b" }, 1], [{ prompt: "a" }, 2],
 * ]);
 * ```
 */
export function cycleConditions(
  conditions: readonly Condition[],
  count: number,
  seed: number,
): PlanImage[] {
  if (conditions.length === 0) throw new RangeError("cycleConditions() needs a condition");
  return Array.from({ length: count }, (_, i) => ({
    condition: conditions[i % conditions.length],
    seed,
    index: i,
  }));
}
