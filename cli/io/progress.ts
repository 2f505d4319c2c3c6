/**
 * Progress on stderr: a pure renderer ({@linkcode renderProgress}, tested as text) and a small
 * reporter that draws it on a terminal only, only for runs longer than a moment, throttled.
 *
 * @module
 */

import type { Io } from "./io.ts";

/** What a progress line shows. */
export interface ProgressState {
  /** Passes done. */
  step: number;
  /** Total passes when known. */
  totalSteps: number | null;
  /** Tokens decoded so far (all images). */
  decoded: number;
  /** Tokens in all grids. */
  totalTokens: number;
  /** Elapsed wall time, ms. */
  elapsedMs: number;
}

/** Rendering options. */
export interface RenderOptions {
  /** Terminal columns. @default 80 */
  columns?: number;
  /** ANSI colour. @default false */
  color?: boolean;
}

/**
 * One progress line (no newline, no carriage return).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderProgress } from "./progress.ts";
 * const line = renderProgress({ step: 52, totalSteps: 208, decoded: 144, totalTokens: 576, elapsedMs: 1500 });
 * assert(line.includes("pass 52/208") && line.includes("25%"));
 * ```
 */
export function renderProgress(state: ProgressState, options: RenderOptions = {}): string {
  const { columns = 80, color = false } = options;
  const { step, totalSteps, decoded, totalTokens, elapsedMs } = state;
  const fraction = totalSteps
    ? Math.min(1, step / totalSteps)
    : totalTokens > 0
    ? Math.min(1, decoded / totalTokens)
    : 0;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const passes = totalSteps ? `pass ${step}/${totalSteps}` : `pass ${step}`;
  const tail = `${percent}  ${passes}  tokens ${decoded}/${totalTokens}  ${
    (elapsedMs / 1000).toFixed(1)
  }s`;
  const barWidth = Math.max(0, Math.min(30, columns - tail.length - 14));
  if (barWidth < 5) return `generate ${tail}`.slice(0, Math.max(0, columns - 1));
  const filled = Math.round(fraction * barWidth);
  let bar = "█".repeat(filled) + "░".repeat(barWidth - filled);
  if (color) bar = `\x1b[36m${bar}\x1b[0m`;
  return `generate ${bar} ${tail}`;
}

/** Options of {@linkcode ProgressReporter}. */
export interface ReporterOptions {
  /** Draw at all (stderr is a terminal and not --quiet). */
  enabled: boolean;
  /** ANSI colour (off when NO_COLOR is set). */
  color: boolean;
  /** Terminal columns. */
  columns: number;
  /** Stay silent for runs shorter than this, ms. @default 500 */
  delayMs?: number;
  /** Least time between redraws, ms. @default 100 */
  intervalMs?: number;
  /** Clock, ms. @default performance.now */
  now?: () => number;
}

/**
 * Draws progress lines in place (`\r` + clear line) through `write`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgressReporter } from "./progress.ts";
 * let out = "", t = 0;
 * const p = new ProgressReporter((s) => (out += s), { enabled: true, color: false, columns: 80, now: () => t });
 * t = 1000;
 * p.update({ step: 1, totalSteps: 2, decoded: 1, totalTokens: 2, elapsedMs: 1000 });
 * p.finish();
 * assert(out.includes("pass 1/2") && out.endsWith("\r\x1b[K"));
 * ```
 */
export class ProgressReporter {
  readonly #write: (text: string) => void;
  readonly #options: Required<ReporterOptions>;
  readonly #start: number;
  #last = -Infinity;
  #drawn = false;

  constructor(write: (text: string) => void, options: ReporterOptions) {
    this.#write = write;
    this.#options = { delayMs: 500, intervalMs: 100, now: () => performance.now(), ...options };
    this.#start = this.#options.now();
  }

  /** Redraw when enabled, past the delay and not drawn too recently. */
  update(state: ProgressState): void {
    this.updateLine((options) => renderProgress(state, options));
  }

  /** Like {@linkcode update}, drawing the line `render` makes (for other kinds of progress). */
  updateLine(render: (options: Required<RenderOptions>) => string): void {
    const { enabled, delayMs, intervalMs, now, color, columns } = this.#options;
    if (!enabled) return;
    const t = now();
    if (t - this.#start < delayMs || t - this.#last < intervalMs) return;
    this.#last = t;
    this.#drawn = true;
    this.#write("\r\x1b[K" + render({ color, columns }));
  }

  /** Clear the line if anything was drawn. */
  finish(): void {
    if (this.#drawn) this.#write("\r\x1b[K");
    this.#drawn = false;
  }
}

/** Options of {@linkcode stderrProgress}. */
export interface StderrProgressOptions extends Pick<ReporterOptions, "delayMs" | "intervalMs"> {
  /** `--quiet`: draw nothing. @default false */
  quiet?: boolean;
}

/**
 * The progress line of a command: drawn on stderr when it is a terminal and not `--quiet`, in
 * colour unless NO_COLOR is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryIo } from "./io.ts";
 * import { stderrProgress } from "./progress.ts";
 * const tty = memoryIo({ tty: true, env: { NO_COLOR: "1" } });
 * stderrProgress(tty, { delayMs: 0 }).updateLine(() => "drawn");
 * assert.equal(tty.stderrText(), "\r\x1b[Kdrawn");
 * const quiet = memoryIo({ tty: true });
 * stderrProgress(quiet, { quiet: true, delayMs: 0 }).updateLine(() => "hidden");
 * const pipe = memoryIo({ tty: false });
 * stderrProgress(pipe, { delayMs: 0 }).updateLine(() => "hidden");
 * assert.equal(quiet.stderrText() + pipe.stderrText(), "");
 * ```
 */
export function stderrProgress(io: Io, options: StderrProgressOptions = {}): ProgressReporter {
  const { quiet = false, ...timing } = options;
  return new ProgressReporter((s) => io.writeStderr(s), {
    enabled: io.stderrIsTerminal && !quiet,
    color: !io.env("NO_COLOR"),
    columns: io.columns,
    ...timing,
  });
}
