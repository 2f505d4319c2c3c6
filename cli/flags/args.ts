/**
 * Argument helpers: `node:util` parseArgs with errors turned into {@linkcode ValidationError}
 * (a usage error, exit 2), and strict parsers for integers, numbers, choices and grid sizes.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** A usage error: bad flags or values. The CLI prints it in one line and exits 2. */
export class ValidationError extends Error {
  /** What to do about it; defaults to pointing at `--help`. */
  readonly hint: string | undefined;

  /** `message` names the problem; `hint` says what to do. */
  constructor(message: string, hint?: string) {
    super(message);
    this.name = "ValidationError";
    this.hint = hint;
  }
}

/** Option declarations as parseArgs takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Parsed flag values. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * Parse `args` strictly against `options`, allowing at most `maxPositionals` positionals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "./args.ts";
 * const { values } = parseCommand(["--window", "8"], { window: { type: "string" } });
 * assert(values.window === "8");
 * ```
 */
export function parseCommand(
  args: string[],
  options: OptionSpec,
  maxPositionals = 0,
): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: maxPositionals > 0 });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = (e as Error).message;
    const quoted = /'([^']*)'/.exec(msg)?.[1] ?? "";
    const flag = quoted.split(" ")[0];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new ValidationError(`unknown option ${flag}`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw new ValidationError(`unexpected argument '${quoted}'`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      if (msg.includes("does not take an argument")) {
        throw new ValidationError(`option ${flag} takes no value`);
      }
      if (msg.includes("ambiguous")) {
        throw new ValidationError(
          `option ${flag} needs a value`,
          `Write ${flag}=-X for a value starting with '-'.`,
        );
      }
      throw new ValidationError(`option ${flag} needs a value`);
    }
    throw new ValidationError(msg.split("\n")[0]);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new ValidationError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * An integer flag in [min, max], or `fallback` when absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intFlag } from "./args.ts";
 * assert(intFlag({ seed: "7" }, "seed", 0, 10, 0) === 7);
 * ```
 */
export function intFlag(
  values: Values,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number;
export function intFlag(
  values: Values,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined;
export function intFlag(
  values: Values,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  return parseIntIn(`--${name}`, raw, min, max);
}

/** Parse a decimal integer in [min, max]; `what` names it in the error. */
export function parseIntIn(what: string, raw: string, min: number, max: number): number {
  const n = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ValidationError(`${what} must be an integer in ${min}..${max}, got '${raw}'`);
  }
  return n;
}

/**
 * A finite number flag with `ok(n)` true, or `fallback`; `range` describes the allowed values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberFlag } from "./args.ts";
 * assert(numberFlag({ cfg: "1.5" }, "cfg", (n) => n >= 0, "≥ 0", 1) === 1.5);
 * ```
 */
export function numberFlag(
  values: Values,
  name: string,
  ok: (n: number) => boolean,
  range: string,
  fallback: number,
): number;
export function numberFlag(
  values: Values,
  name: string,
  ok: (n: number) => boolean,
  range: string,
  fallback?: number,
): number | undefined;
export function numberFlag(
  values: Values,
  name: string,
  ok: (n: number) => boolean,
  range: string,
  fallback?: number,
): number | undefined {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  const n = raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isFinite(n) || !ok(n)) {
    throw new ValidationError(`--${name} must be a number ${range}, got '${raw}'`);
  }
  return n;
}

/**
 * A flag that must be one of `choices`, or `fallback`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choiceFlag } from "./args.ts";
 * assert(choiceFlag({}, "format", ["text", "json"], "text") === "text");
 * ```
 */
export function choiceFlag<T extends string>(
  values: Values,
  name: string,
  choices: readonly T[],
  fallback: T,
): T;
export function choiceFlag<T extends string>(
  values: Values,
  name: string,
  choices: readonly T[],
  fallback?: T,
): T | undefined;
export function choiceFlag<T extends string>(
  values: Values,
  name: string,
  choices: readonly T[],
  fallback?: T,
): T | undefined {
  const raw = str(values, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ValidationError(`--${name} must be one of ${choices.join(", ")}, got '${raw}'`);
  }
  return raw as T;
}

/** Largest grid side the CLI accepts (core/layout's limit). */
export const MAX_SIDE = 4096;

/**
 * Parse a grid size `HxW` (or `N` for N×N).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGrid } from "./args.ts";
 * assert(parseGrid("--grid", "24x16")[1] === 16);
 * ```
 */
export function parseGrid(what: string, raw: string): [number, number] {
  const m = /^(\d+)(?:[x×](\d+))?$/i.exec(raw.trim());
  const h = m ? Number(m[1]) : NaN, w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(h >= 1 && h <= MAX_SIDE && w >= 1 && w <= MAX_SIDE)) {
    throw new ValidationError(
      `${what} must be HxW with sides in 1..${MAX_SIDE}, got '${raw}'`,
      "Example: --grid 24x24.",
    );
  }
  return [h, w];
}

/**
 * Parse a comma-separated list of integers in [min, max].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIntList } from "./args.ts";
 * assert(parseIntList("--class", "3,207", 0, 999).length === 2);
 * ```
 */
export function parseIntList(what: string, raw: string, min: number, max: number): number[] {
  const parts = raw.split(",");
  if (parts.length > 1 << 16) throw new ValidationError(`${what} lists too many values`);
  return parts.map((p) => parseIntIn(what, p, min, max));
}
