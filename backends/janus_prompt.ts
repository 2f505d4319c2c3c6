/**
 * Janus prompts → token ids in TypeScript, the same ids the Python worker's Janus family gives
 * (worker/families/janus/prompts.py), for a backend without Python (issue 29: Janus-Pro on
 * WebGPU). The tokenizer is the directory's tokenizer.json through `@huggingface/tokenizers`, the
 * chat template renders through `@huggingface/jinja` (both pinned in deno.json).
 *
 * - transformers' layout (config.json `model_type` "janus"): the processor's chat template over
 *   one user turn with the generation prompt, then `<begin_of_image>`, tokenized with the
 *   tokenizer's special tokens (BOS first); the special ids from generation_config.json.
 * - DeepSeek's official layout (`multi_modality`): `{User}: {prompt.strip()}\n\n{Assistant}:`
 *   then `<begin_of_image>`, BOS first, the roles `<|User|>`/`<|Assistant|>` when the vocabulary
 *   has them (Janus-Pro), else `User`/`Assistant` (Janus-1.3B).
 *
 * A prompt edged with U+001C–U+001F, U+0085 or U+FEFF is refused in transformers' layout: the
 * two Jinja engines' `trim` disagree on those. The template is untrusted: it renders with its time,
 * ranges and output bounded (bounded_template.ts), first once at load.
 *
 * An unconditional row pads the prompt's ids as each layout's own loop does (transformers: all
 * but BOS and `<begin_of_image>`; official: all but the first and the last); a negative prompt
 * replaces it, tokenized as a prompt.
 *
 * @module
 */

import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { join } from "node:path";
import type { PromptCondition } from "../core/condition.ts";
import { renderBounded } from "./bounded_template.ts";
import { readConfigObject } from "./model_dir.ts";

/** The image-start tag both layouts end a condition block with. */
const BOI_TOKEN = "<begin_of_image>";
/** DeepSeek's pad token (fullwidth bars, U+2581), the official layout's unconditional filler. */
const PAD_TOKEN = "<｜▁pad▁｜>";
const PRO_ROLES = ["<|User|>", "<|Assistant|>"] as const;
const OLD_ROLES = ["User", "Assistant"] as const;
/** Largest chat template file read, bytes (the worker's cap, safe_template.py, × 4). */
const MAX_TEMPLATE_BYTES = 4 * (256 << 10);

/** A Janus directory's prompt rules (see the module doc). */
export interface JanusPrompt {
  /** Which release layout the directory has. */
  layout: "transformers" | "official";
  /** Begin-of-sentence id, kept in unconditional rows. */
  bosId: number;
  /** `<begin_of_image>`'s id, kept too. */
  boiId: number;
  /** The id unconditional rows are padded with. */
  padId: number;
  /**
   * Each sequence's condition block: its prompt's (or its unconditional row's) ids. The chat
   * template renders bounded (bounded_template.ts), once for all the sequences.
   */
  ids(sequences: readonly PromptSequence[]): Promise<number[][]>;
}

/** A sequence of a prompt: its condition, and whether it is CFG's unconditional row. */
export interface PromptSequence {
  condition: PromptCondition;
  unconditional: boolean;
}

/**
 * Read a Janus directory's tokenizer, chat template and special ids. Throws a one-line Error
 * naming the missing or bad file.
 *
 * @example
 * ```ts ignore
 * import { loadJanusPrompt } from "./janus_prompt.ts";
 * const prompt = await loadJanusPrompt("models/Janus-Pro-1B");
 * const [ids] = await prompt.ids([{ condition: { prompt: "a red fox" }, unconditional: false }]);
 * // ids: [BOS, …, <begin_of_image>]
 * ```
 */
export async function loadJanusPrompt(dir: string): Promise<JanusPrompt> {
  const config = await readConfigObject(join(dir, "config.json"));
  const layout = config.model_type === "janus"
    ? "transformers"
    : config.model_type === "multi_modality"
    ? "official"
    : null;
  if (!layout) {
    throw new Error(
      `${dir}: model_type ${
        JSON.stringify(config.model_type)
      } is no Janus layout (janus or multi_modality)`,
    );
  }
  const tokenizerConfig = await readConfigObject(join(dir, "tokenizer_config.json"));
  const tokenizerJson = await readConfigObject(join(dir, "tokenizer.json"));
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (e) {
    throw new Error(`${dir}/tokenizer.json: the tokenizer cannot be read (${firstLine(e)})`);
  }
  const vocab = vocabOf(tokenizerJson);
  const idOf = (token: string, what: string) => {
    const id = vocab.get(token);
    if (id === undefined) throw new Error(`${dir}: the tokenizer has no ${token} (${what})`);
    return id;
  };
  const encode = (text: string, special: boolean) =>
    tokenizer.encode(text, { add_special_tokens: special }).ids;
  if (layout === "official") {
    const bos = tokenText(tokenizerConfig.bos_token) ??
      tokenText((await readConfigObject(join(dir, "special_tokens_map.json"))).bos_token);
    if (bos === null) throw new Error(`${dir}: the tokenizer names no bos_token`);
    const roles = PRO_ROLES.every((r) => vocab.has(r)) ? PRO_ROLES : OLD_ROLES;
    const rules = {
      layout,
      bosId: idOf(bos, "the begin-of-sentence token"),
      boiId: idOf(BOI_TOKEN, "the image-start tag"),
      padId: idOf(PAD_TOKEN, "the pad of the unconditional rows"),
    } as const;
    const texts = (prompts: string[]) =>
      Promise.resolve(prompts.map((prompt) => [
        rules.bosId,
        ...encode(`${roles[0]}: ${pyStrip(prompt)}\n\n${roles[1]}:${BOI_TOKEN}`, false),
      ]));
    return withIds(rules, texts);
  }
  const template = await chatTemplate(dir, tokenizerConfig);
  const generation = await readConfigObject(join(dir, "generation_config.json"));
  const boi = tokenText(tokenizerConfig.boi_token) ?? BOI_TOKEN;
  const kwargs = (generation.generation_kwargs ?? {}) as Record<string, unknown>;
  const special: Record<string, string> = {};
  for (const key of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
    const text = tokenText(tokenizerConfig[key]);
    if (text !== null) special[key] = text;
  }
  const rules = {
    layout,
    bosId: intId(generation.bos_token_id, "bos_token_id", dir),
    boiId: kwargs.boi_token_id !== undefined
      ? intId(kwargs.boi_token_id, "boi_token_id", dir)
      : idOf(boi, "the image-start tag"),
    padId: intId(generation.pad_token_id ?? generation.eos_token_id, "pad_token_id", dir),
  } as const;
  // deno-lint-ignore require-await -- a rejection, not a throw, for a refused prompt
  const texts = async (prompts: string[]) => {
    prompts.forEach(checkTrimEdges);
    const contexts = prompts.map((prompt) => ({
      messages: [{ role: "user", content: [{ type: "text", text: prompt }] }],
      add_generation_prompt: true,
      ...special,
    }));
    const rendered = renderBounded(template.source, template.where, contexts);
    return rendered.map((text) => encode(text + boi, true));
  };
  await texts(["a prompt"]); // a template that loops, explodes or fails does so here, at load
  return withIds(rules, texts);
}

/** The rules with `ids()`: prompts' ids from `texts`, unconditional rows padded. */
function withIds(
  rules: Omit<JanusPrompt, "ids">,
  texts: (prompts: string[]) => Promise<number[][]>,
): JanusPrompt {
  return {
    ...rules,
    async ids(sequences) {
      const shown = sequences.map(({ condition, unconditional }) =>
        unconditional && condition.negativePrompt !== undefined
          ? condition.negativePrompt
          : condition.prompt
      );
      const unique = [...new Set(shown)];
      const byText = new Map((await texts(unique)).map((ids, i) => [unique[i], ids]));
      return sequences.map(({ condition, unconditional }, i) => {
        const ids = byText.get(shown[i])!;
        if (!unconditional || condition.negativePrompt !== undefined) return ids;
        if (rules.layout === "official") {
          return ids.map((t, j) => (j === 0 || j === ids.length - 1 ? t : rules.padId));
        }
        return ids.map((t) => (t === rules.bosId || t === rules.boiId ? t : rules.padId));
      });
    },
  };
}

/**
 * The processor's chat template, as JanusProcessor finds it: chat_template.jinja, else
 * chat_template.json, else processor_config.json's, else the tokenizer's.
 */
async function chatTemplate(dir: string, tokenizerConfig: Record<string, unknown>) {
  let source: unknown = null;
  const jinja = join(dir, "chat_template.jinja");
  const size = await Deno.stat(jinja).then((s) => (s.isFile ? s.size : -1), () => -1);
  if (size > MAX_TEMPLATE_BYTES) {
    throw new Error(`${jinja}: ${size} bytes, more than a chat template's; use the model's own`);
  }
  if (size >= 0) source = await Deno.readTextFile(jinja);
  for (const file of ["chat_template.json", "processor_config.json"]) {
    if (source !== null) break;
    const path = join(dir, file);
    if (await Deno.stat(path).then((s) => s.isFile, () => false)) {
      source = (await readConfigObject(path)).chat_template ?? null;
    }
  }
  source ??= tokenizerConfig.chat_template ?? null;
  if (source && typeof source === "object") source = (source as { default?: unknown }).default;
  if (typeof source !== "string" || source === "") {
    throw new Error(
      `${dir}: no chat template (chat_template.jinja); copy the model's processor files from its Hugging Face repository`,
    );
  }
  try {
    new Template(source); // a syntax error is one line here, before any worker
  } catch (e) {
    throw new Error(`${dir}: the chat template does not parse (${firstLine(e)})`);
  }
  return { source, where: dir };
}

/**
 * Refuse a prompt whose ends a chat template's `trim` would treat differently here: Python's
 * (the worker's Jinja) strips U+001C–U+001F and U+0085 and keeps U+FEFF, JavaScript's
 * (`@huggingface/jinja`) the other way round. One line, instead of other ids than the worker's.
 */
function checkTrimEdges(prompt: string): void {
  // deno-lint-ignore no-control-regex -- the characters the two engines' trim disagree on
  const edge = /^[\x1c-\x1f\x85\ufeff]|[\x1c-\x1f\x85\ufeff]$/.exec(prompt);
  if (edge) {
    const code = edge[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    throw new RangeError(
      `the prompt begins or ends with U+${code}, a control character the chat template would trim differently from the Python worker: remove it`,
    );
  }
}

/** Token text of a tokenizer_config entry: a string or an AddedToken `{content}`. */
function tokenText(value: unknown): string | null {
  if (typeof value === "string") return value;
  const content = (value as { content?: unknown } | null)?.content;
  return typeof content === "string" ? content : null;
}

/** The vocabulary of a tokenizer.json: its model's vocab and its added tokens. */
function vocabOf(json: Record<string, unknown>): Map<string, number> {
  const vocab = new Map<string, number>();
  const model = (json.model ?? {}) as { vocab?: unknown };
  if (model.vocab && typeof model.vocab === "object" && !Array.isArray(model.vocab)) {
    for (const [token, id] of Object.entries(model.vocab)) {
      if (Number.isInteger(id)) vocab.set(token, id as number);
    }
  }
  for (const added of (json.added_tokens ?? []) as { content?: unknown; id?: unknown }[]) {
    if (typeof added?.content === "string" && Number.isInteger(added.id)) {
      vocab.set(added.content, added.id as number);
    }
  }
  return vocab;
}

/** A special id of generation_config.json (a list's first). */
function intId(value: unknown, name: string, dir: string): number {
  const v = Array.isArray(value) ? value[0] : value;
  if (!Number.isInteger(v) || (v as number) < 0) {
    throw new Error(
      `${dir}: generation_config.json has no ${name}; copy the model's generation_config.json into the directory`,
    );
  }
  return v as number;
}

/** Whitespace as Python's str.isspace() counts it (\x1c–\x1f and \x85 too, not U+FEFF). */
const PY_SPACE =
  "[\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, "g");

/** Python's str.strip(). */
function pyStrip(text: string): string {
  return text.replace(PY_STRIP, "");
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}
