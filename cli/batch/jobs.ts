/**
 * Batch job files (JSON Lines): one job per non-blank line, parsed and checked one line at a
 * time so a bad line fails that job only. Pure: text in, jobs and line errors out.
 *
 * A job (every field but `name` optional):
 * `{"name": "cats", "class": 3, "seed": 0, "count": 8, "schedule": "ideal", "window": 8,
 *   "proxy": "r-2", "cfg": 1, "temperature": 1, "topK": 0, "topP": 1, "format": "json"}` —
 * or, for a text-to-image model, `"prompt": "a red fox"` (or a list of prompts, cycled over the
 * images like classes) with an optional `"negativePrompt"` instead of `"class"`. Sampling fields left out take the model family's defaults (Janus: CFG 5), else
 * the values above. Any schedule of cli/schedules.ts's registry, with its settings as fields
 * (the flags' names in camelCase: `minWindow`, `maxWindow`, `draft`, …) or in its compact form
 * (`"schedule": "adaptive2:4:8:final"`).
 *
 * @module
 */

import { type Condition, MAX_SEED, type ModelInfo, promptTextError } from "../../core/mod.ts";
import { samplingFor } from "../flags/sampling_flags.ts";
import { GRID_FORMATS, type GridFormat } from "../formats/grid_file.ts";
import { ValidationError } from "../flags/args.ts";
import { type ScheduleName, SETTING_NAMES } from "../schedules.ts";
import { jobField, type RawSettings } from "../schedule_grammar.ts";
import { choiceOf, jobSchedule } from "./job_schedule.ts";

/** Most images one job may ask for. */
export const MAX_JOB_COUNT = 1 << 20;
/** Longest job name. */
export const MAX_NAME_LENGTH = 128;

/** A checked job with every default filled in. */
export interface Job {
  /** Output name: `DIR/<name>.json` or `DIR/<name>.npy` (+ `.npy.json`). */
  name: string;
  /** Condition of each image (class ids or prompts): image i gets `conditions[i % length]`. */
  conditions: Condition[];
  /** Seed; image i draws with the key (seed, i, row, col). @default 0 */
  seed: number;
  /** Images. @default conditions.length */
  count: number;
  /** A schedule of cli/schedules.ts's registry. @default "ideal" */
  schedule: ScheduleName;
  /**
   * The schedule's settings the job gives (`window`, `minWindow`, `proxy`, …, by their
   * registry names), checked; the rest take the registry's defaults for the model's grid.
   */
  settings: RawSettings;
  /** CFG scale, 1 = off; null until resolved: the family's default, else 1. */
  cfg: number | null;
  /** Temperature, 0 = greedy; null until resolved: the family's default, else 1. */
  temperature: number | null;
  /** Top-k, 0 = off; null until resolved: the family's default, else 0. */
  topK: number | null;
  /** Top-p, 1 = off; null until resolved: the family's default, else 1. */
  topP: number | null;
  /** Output format. @default "json" */
  format: GridFormat;
}

/** A job with where it came from. */
export interface JobEntry {
  /** 1-based line number in the job file. */
  line: number;
  /** 0-based index among non-blank lines (what `--shard` slices). */
  index: number;
  /** The job's name when the line has a string "name", else null. */
  name: string | null;
  /** The job, or null when the line is bad. */
  job: Job | null;
  /** Why the line is bad, or null. */
  error: string | null;
}

/** A job whose sampling settings are resolved for its model ({@linkcode resolveJob}). */
export type ResolvedJob = Job & { cfg: number; temperature: number; topK: number; topP: number };

const FIELDS = [
  "name",
  "class",
  "prompt",
  "negativePrompt",
  "seed",
  "count",
  "schedule",
  ...SETTING_NAMES.map(jobField),
  "cfg",
  "temperature",
  "topK",
  "topP",
  "format",
];

/**
 * Why `name` cannot be a flat output name under DIR, or null when it can. Names are flat:
 * letters, digits, `.`, `_`, `-`, starting with a letter or digit (so no `..`, no path
 * separators, no absolute paths, no hidden or temporary files); `summary` and
 * `summary.shard-*` are reserved for the batch summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameError } from "./jobs.ts";
 * assert(nameError("cats-1") === null);
 * assert(nameError("../x") !== null);
 * ```
 */
export function nameError(name: unknown): string | null {
  if (typeof name !== "string") return `"name" must be a string, got ${typeof name}`;
  if (name === "") return `"name" must not be empty`;
  if (name.includes("/") || name.includes("\\") || name.includes("\0") || /^\.+$/.test(name)) {
    return `job name ${JSON.stringify(name)} would escape the output directory`;
  }
  if (name.length > MAX_NAME_LENGTH) return `"name" is longer than ${MAX_NAME_LENGTH} characters`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    return `job name ${
      JSON.stringify(name)
    } is not a flat file name: use letters, digits, '.', '_', '-', starting with a letter or digit`;
  }
  if (/^summary($|\.shard-)/i.test(name)) {
    return `job name ${JSON.stringify(name)} is reserved for the batch summary`;
  }
  return null;
}

/** The output files of a job, relative to DIR. */
export function jobFiles(job: Pick<Job, "name" | "format">): string[] {
  const main = `${job.name}.${job.format}`;
  return job.format === "npy" ? [main, `${main}.json`] : [main];
}

function int(doc: Record<string, unknown>, key: string, min: number, max: number, def: number) {
  const v = doc[key];
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new SyntaxError(`"${key}" must be an integer in ${min}..${max}, got ${brief(v)}`);
  }
  return v;
}

function num(
  doc: Record<string, unknown>,
  key: string,
  ok: (n: number) => boolean,
  range: string,
  def: number,
): number {
  const v = doc[key];
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
    throw new SyntaxError(`"${key}" must be a number ${range}, got ${brief(v)}`);
  }
  return v;
}

function choice<T extends string>(
  doc: Record<string, unknown>,
  key: string,
  choices: readonly T[],
  def: T,
): T {
  const v = doc[key];
  if (v === undefined) return def;
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
    throw new SyntaxError(`"${key}" must be one of ${choices.join(", ")}, got ${brief(v)}`);
  }
  return v as T;
}

function brief(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}

/** The conditions of a job: `"class"` (an id or a list), or `"prompt"` (+ `"negativePrompt"`). */
function jobConditions(d: Record<string, unknown>): Condition[] {
  if (d.prompt !== undefined && d.class !== undefined) {
    throw new SyntaxError(`"class" and "prompt" exclude each other`);
  }
  if (d.negativePrompt !== undefined && d.prompt === undefined) {
    throw new SyntaxError(`"negativePrompt" applies with "prompt"`);
  }
  const text = (key: string, v: unknown): string => {
    if (typeof v !== "string" || v.trim() === "") {
      throw new SyntaxError(`"${key}" must hold non-empty strings, got ${brief(v)}`);
    }
    const why = promptTextError(v); // length, valid text: the checks every prompt source shares
    if (why !== null) throw new SyntaxError(`"${key}" ${why}`);
    return v;
  };
  const list = (key: string, raw: unknown): unknown[] => {
    const items = Array.isArray(raw) ? raw : [raw];
    if (items.length === 0) throw new SyntaxError(`"${key}" must be one value or a non-empty list`);
    if (items.length > MAX_JOB_COUNT) {
      const what = key === "class" ? "classes" : "prompts";
      throw new SyntaxError(`"${key}" lists more than ${MAX_JOB_COUNT} ${what} (a job's images)`);
    }
    return items;
  };
  if (d.prompt !== undefined) {
    const negativePrompt = d.negativePrompt === undefined
      ? undefined
      : text("negativePrompt", d.negativePrompt);
    return list("prompt", d.prompt).map((p) => {
      const prompt = text("prompt", p);
      return negativePrompt === undefined ? { prompt } : { prompt, negativePrompt };
    });
  }
  return list("class", d.class ?? 0).map((c) => {
    if (typeof c !== "number" || !Number.isSafeInteger(c) || c < 0 || c > 0x7fffffff) {
      throw new SyntaxError(`"class" must hold integers ≥ 0, got ${brief(c)}`);
    }
    return c;
  });
}

/**
 * Check one parsed job object and fill in defaults; throws SyntaxError naming the bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkJob } from "./jobs.ts";
 * const job = checkJob({ name: "a", class: [1, 2], window: 4 });
 * assert(job.count === 2 && job.schedule === "ideal" && job.format === "json");
 * ```
 */
export function checkJob(doc: unknown): Job {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new SyntaxError("a job must be a JSON object");
  }
  const d = doc as Record<string, unknown>;
  const unknown = Object.keys(d).filter((k) => !FIELDS.includes(k));
  if (unknown.length) {
    throw new SyntaxError(`unknown field "${unknown[0]}" (fields: ${FIELDS.join(", ")})`);
  }
  if (d.name === undefined) throw new SyntaxError(`missing "name"`);
  const bad = nameError(d.name);
  if (bad) throw new SyntaxError(bad);
  const conditions = jobConditions(d);
  const { schedule, settings } = jobSchedule(d);
  return {
    name: d.name as string,
    conditions,
    seed: int(d, "seed", 0, MAX_SEED, 0),
    count: int(d, "count", 1, MAX_JOB_COUNT, conditions.length),
    schedule,
    settings,
    cfg: d.cfg === undefined ? null : num(d, "cfg", (n) => n >= 0, "≥ 0 (1 = off)", 1),
    temperature: d.temperature === undefined
      ? null
      : num(d, "temperature", (n) => n >= 0, "≥ 0 (0 = greedy)", 1),
    topK: d.topK === undefined ? null : int(d, "topK", 0, 0x7fffffff, 0),
    topP: d.topP === undefined
      ? null
      : num(d, "topP", (n) => n > 0 && n <= 1, "in (0, 1] (1 = off)", 1),
    format: choice(d, "format", GRID_FORMATS, "json"),
  };
}

/**
 * Parse a job file: blank lines are skipped; every other line is a job or an error with its
 * line number. A job whose output files collide with an earlier job's (same name, or a name
 * differing only in case, or `a.npy` as JSON beside `a` as `.npy`) is an error too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJobs } from "./jobs.ts";
 * const entries = parseJobs('{"name":"a","window":4}\n\nnot json\n');
 * assert(entries.length === 2 && entries[1].line === 3 && entries[1].error !== null);
 * ```
 */
export function parseJobs(text: string): JobEntry[] {
  const entries: JobEntry[] = [];
  const owners = new Map<string, number>(); // lower-cased output file → line
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, "");
    if (raw.trim() === "") continue;
    const line = i + 1, index = entries.length;
    let job: Job | null = null, error: string | null = null, name: string | null = null;
    try {
      let doc: unknown;
      try {
        doc = JSON.parse(raw);
      } catch (e) {
        throw new SyntaxError(`not valid JSON (${(e as Error).message.split("\n")[0]})`);
      }
      const n = (doc as { name?: unknown } | null)?.name;
      if (typeof n === "string") name = n;
      job = checkJob(doc);
      const files = jobFiles(job).map((f) => f.toLowerCase());
      const clash = files.find((f) => owners.has(f));
      if (clash !== undefined) {
        throw new SyntaxError(
          `output ${clash} clashes with the job on line ${owners.get(clash)}; names must differ`,
        );
      }
      for (const f of files) owners.set(f, line);
    } catch (e) {
      job = null;
      error = (e as Error).message;
    }
    entries.push({ line, index, name, job, error });
  }
  return entries;
}

/**
 * Parse `--shard i/n` (0 ≤ i < n): this run takes the jobs whose index among non-blank lines
 * is ≡ i (mod n).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseShard } from "./jobs.ts";
 * assert(parseShard("1/3")?.[1] === 3);
 * assert(parseShard("3/3") === null);
 * ```
 */
export function parseShard(raw: string): [number, number] | null {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(raw.trim());
  if (!m) return null;
  const i = Number(m[1]), n = Number(m[2]);
  return n >= 1 && i < n ? [i, n] : null;
}

/** What a job is checked against: the model's grid width, conditioning and defaults. */
export type JobModel = Pick<ModelInfo, "width" | "numClasses" | "conditioning" | "defaults">;

/**
 * Why a job cannot run on a model, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkJob, modelError } from "./jobs.ts";
 * const model = { width: 16, numClasses: 10, conditioning: "class" } as const;
 * assert(modelError(checkJob({ name: "a", window: 20 }), model) !== null);
 * assert(modelError(checkJob({ name: "a", prompt: "a fox", window: 4 }), model) !== null);
 * ```
 */
export function modelError(job: Job, model: JobModel): string | null {
  const { width, numClasses } = model;
  const prompts = job.conditions.some((c) => typeof c === "object");
  if (model.conditioning === "text" && !prompts) {
    return `the model is text-to-image: give the job a "prompt" instead of "class"`;
  }
  if (model.conditioning !== "text" && prompts) {
    return `the model is class-conditional: give the job a "class" instead of "prompt"`;
  }
  try {
    choiceOf(job, width);
  } catch (e) {
    if (e instanceof ValidationError) return `${e.message} (grid width ${width})`;
    throw e;
  }
  const c = job.conditions.find((c) => typeof c === "number" && c >= numClasses);
  if (c !== undefined) {
    return `class ${c} is out of range: the model has classes 0..${numClasses - 1}`;
  }
  return null;
}

/**
 * The job with its sampling settings resolved: the job's fields, else the model family's
 * defaults (`ModelInfo.defaults`), else temperature 1, top-k 0, top-p 1, CFG 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkJob, resolveJob } from "./jobs.ts";
 * const job = resolveJob(checkJob({ name: "a", prompt: "a fox", window: 4, topK: 9 }), { cfg: 5 });
 * assert.deepEqual([job.cfg, job.topK, job.temperature], [5, 9, 1]);
 * ```
 */
export function resolveJob(job: Job, defaults: ModelInfo["defaults"] = {}): ResolvedJob {
  const { cfg, temperature, topK, topP } = job;
  const flags = {
    cfg: cfg ?? undefined,
    temperature: temperature ?? undefined,
    topK: topK ?? undefined,
    topP: topP ?? undefined,
  };
  return { ...job, ...samplingFor(flags, defaults) };
}
