/**
 * `zipar inspect FILE|-`: validate a grid file (JSON or `.npy`, sniffed by magic bytes) and
 * summarize it: shape, metadata, token histogram.
 *
 * @module
 */

import {
  choiceFlag,
  intFlag,
  type OptionSpec,
  parseCommand,
  ValidationError,
  type Values,
} from "./flags/args.ts";
import { sizeFlags } from "./flags/backend_flags.ts";
import { describeModel } from "../backends/python/describe.ts";
import { renderModelText } from "./inspect_model.ts";
import { quietWorkerLog } from "./io/quiet_log.ts";
import type { TokenGrid } from "./formats/grid.ts";
import { type ReadGrid, readGrid } from "./formats/grid_file.ts";
import type { Io } from "./io/io.ts";

/** Flags of `zipar inspect`. */
export const INSPECT_OPTIONS: OptionSpec = {
  format: { type: "string" },
  top: { type: "string" },
  model: { type: "string" },
  python: { type: "string" },
  size: { type: "string" },
  grid: { type: "string" },
  heads: { type: "string" },
  "vision-tokenizer": { type: "string" },
  "text-encoder": { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** `zipar inspect --help`. */
export const INSPECT_USAGE = `Usage: zipar inspect FILE|- [options]
       zipar inspect --model PATH [options]

Validate a token-grid file (JSON or .npy, told apart by content) and summarize it: shape,
metadata (for .npy, from the FILE.npy.json sidecar), distinct tokens, min, max, most common.
- reads stdin. A file that is truncated, oversized or malformed is an error (exit 1).

With --model: what a model directory (or LlamaGen .pt) holds, read without loading it: its
family and layout (the official download or a converted copy), grid and end-of-line tokens,
vocabularies, weights (files, size, parameters, dtype), tokenizer and image decoder, and for
each missing piece which file to add and where. A path of no layout zipar reads is an error
naming the layouts it reads (exit 1).

Options:
  --format FMT             text | json (default: text)
  --top N                  most common tokens to list, 0..100 (default: 5)
  --model PATH             describe a model instead of a grid file
  --python PATH            python interpreter (with --model)
  --size PX | --grid HxW   the image size of a model that makes several (with --model)
  --vision-tokenizer DIR   BAAI/Emu3-VisionTokenizer for an official Emu3-Gen (with --model)
  --text-encoder DIR       FLAN-T5 for a LlamaGen text-to-image .pt (with --model)
  --heads N                attention heads of a LlamaGen .pt of no preset (with --model)
  -h, --help               show this help

Examples:
  zipar inspect grid.json
  zipar generate --window 4 | zipar inspect - --format json
  zipar inspect --model models/Janus-Pro-7B
`;

/** Token statistics of a grid. */
export interface TokenSummary {
  /** Tokens in all grids. */
  count: number;
  /** Distinct token ids. */
  distinct: number;
  /** Smallest token. */
  min: number;
  /** Largest token. */
  max: number;
  /** The `top` most frequent tokens as [token, count], most frequent first (ties: lower id). */
  mostCommon: [number, number][];
}

/**
 * Histogram summary of the tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeTokens } from "./inspect.ts";
 * const s = summarizeTokens(new Int32Array([5, 1, 5, 2]), 2);
 * assert(s.distinct === 3 && s.mostCommon[0][0] === 5 && s.mostCommon[1][0] === 1);
 * ```
 */
export function summarizeTokens(tokens: Int32Array, top: number): TokenSummary {
  const counts = new Map<number, number>();
  let min = Infinity, max = -Infinity;
  for (const t of tokens) {
    counts.set(t, (counts.get(t) ?? 0) + 1);
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const mostCommon = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, top);
  return { count: tokens.length, distinct: counts.size, min, max, mostCommon };
}

/** The inspection report as a JSON-ready object. */
export function inspectJson(source: string, read: ReadGrid, top: number): Record<string, unknown> {
  const { grid } = read;
  return {
    file: source,
    format: read.format,
    bytes: read.bytes,
    dtype: read.dtype,
    shape: grid.shape,
    tokens: summarizeTokens(grid.tokens, top),
    metaSource: read.metaSource,
    meta: grid.meta,
  };
}

/**
 * The inspection report as aligned text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderInspectText } from "./inspect.ts";
 * const grid = { shape: [1, 1, 2] as [number, number, number], tokens: new Int32Array([3, 3]), meta: { seed: 7 } };
 * const text = renderInspectText("g.json", { grid, format: "json", bytes: 9, dtype: null, metaSource: "file" }, 5);
 * assert(text.includes("distinct 1") && text.includes("seed"));
 * ```
 */
export function renderInspectText(source: string, read: ReadGrid, top: number): string {
  const { grid } = read;
  const [b, h, w] = grid.shape;
  const s = summarizeTokens(grid.tokens, top);
  const lines = [
    `file       ${source === "-" ? "stdin" : source} (${read.format}${
      read.dtype ? ` ${read.dtype}` : ""
    }, ${read.bytes} bytes)`,
    `shape      [${b}, ${h}, ${w}]: ${b} grid${b === 1 ? "" : "s"} of ${h}×${w}, ${s.count} tokens`,
    `tokens     distinct ${s.distinct}, min ${s.min}, max ${s.max}`,
  ];
  if (top > 0) lines.push(`common     ${s.mostCommon.map(([t, n]) => `${t} ×${n}`).join(", ")}`);
  lines.push(...renderMeta(grid, read.metaSource));
  return lines.join("\n") + "\n";
}

function renderMeta(grid: TokenGrid, source: ReadGrid["metaSource"]): string[] {
  const entries = Object.entries(grid.meta);
  if (source === "none" || entries.length === 0) {
    return [`meta       none${source === "none" ? " (no sidecar)" : ""}`];
  }
  const width = Math.max(...entries.map(([k]) => k.length));
  return [
    `meta${source === "sidecar" ? "       (from the .npy.json sidecar)" : ""}`,
    ...entries.map(([k, v]) =>
      `  ${k.padEnd(width)}  ${typeof v === "string" ? v : JSON.stringify(v)}`
    ),
  ];
}

/** Run `zipar inspect`; returns the exit code. */
export async function inspectCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(args, INSPECT_OPTIONS, 1);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(INSPECT_USAGE));
    return 0;
  }
  const format = choiceFlag(values, "format", ["text", "json"] as const, "text");
  const top = values.top === undefined ? 5 : Number(values.top);
  if (!Number.isInteger(top) || top < 0 || top > 100 || !/^\d+$/.test(String(values.top ?? "5"))) {
    throw new ValidationError(`--top must be an integer in 0..100, got '${values.top}'`);
  }
  if (values.model !== undefined) {
    if (positionals.length > 0 || values.top !== undefined) {
      throw new ValidationError("--model describes a model: drop the FILE and --top");
    }
    return await inspectModel(values, format, io);
  }
  const modelOnly = ["python", "size", "grid", "heads", "vision-tokenizer", "text-encoder"].find((
    k,
  ) => values[k] !== undefined);
  if (modelOnly) throw new ValidationError(`--${modelOnly} applies with --model`);
  const source = positionals[0];
  if (source === undefined) throw new ValidationError("inspect needs a FILE, or - for stdin");
  const read = await readGrid(source, io);
  const text = format === "json"
    ? JSON.stringify(inspectJson(source, read, top)) + "\n"
    : renderInspectText(source, read, top);
  await io.writeStdout(new TextEncoder().encode(text));
  return 0;
}

async function inspectModel(values: Values, format: "text" | "json", io: Io): Promise<number> {
  const model = values.model as string;
  if (model === "") throw new ValidationError("--model needs a model directory or .pt file");
  const description = await describeModel({
    model,
    python: typeof values.python === "string" ? values.python : undefined,
    ...sizeFlags(values),
    ...(typeof values["vision-tokenizer"] === "string"
      ? { visionTokenizer: values["vision-tokenizer"] }
      : {}),
    ...(typeof values["text-encoder"] === "string" ? { textEncoder: values["text-encoder"] } : {}),
    ...(values.heads !== undefined ? { heads: intFlag(values, "heads", 1, 1024) } : {}),
    onLog: quietWorkerLog,
  });
  const text = format === "json"
    ? JSON.stringify(description) + "\n"
    : renderModelText(description);
  await io.writeStdout(new TextEncoder().encode(text));
  return 0;
}
