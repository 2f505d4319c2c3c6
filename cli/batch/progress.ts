/**
 * The progress line of `zipar batch`: images done, jobs done, images per second, ETA. Pure;
 * drawn through cli/progress's {@linkcode ProgressReporter.updateLine}.
 *
 * @module
 */

import type { RenderOptions } from "../io/progress.ts";

/** What the batch progress line shows. */
export interface BatchProgressState {
  /** Images generated in this run (fractions for a batch in flight). */
  images: number;
  /** Images this run has to generate. */
  totalImages: number;
  /** Jobs finished (written, skipped or failed). */
  jobs: number;
  /** Jobs in this run. */
  totalJobs: number;
  /** Elapsed generation time, ms. */
  elapsedMs: number;
}

/** "1h02m", "3m05s", "42s"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/**
 * One batch progress line (no newline).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderBatchProgress } from "./progress.ts";
 * const line = renderBatchProgress({ images: 50, totalImages: 200, jobs: 3, totalJobs: 10, elapsedMs: 10000 });
 * assert(line.includes("images 50/200") && line.includes("5.0 img/s") && line.includes("ETA 30s"));
 * ```
 */
export function renderBatchProgress(
  state: BatchProgressState,
  options: RenderOptions = {},
): string {
  const { columns = 80, color = false } = options;
  const { images, totalImages, jobs, totalJobs, elapsedMs } = state;
  const fraction = totalImages > 0 ? Math.min(1, images / totalImages) : 1;
  const rate = elapsedMs > 0 ? images / (elapsedMs / 1000) : 0;
  const eta = rate > 0 ? formatDuration((totalImages - images) / rate) : "?";
  const tail = `${`${Math.floor(fraction * 100)}%`.padStart(4)}  images ${
    Math.floor(images)
  }/${totalImages}  jobs ${jobs}/${totalJobs}  ${rate.toFixed(1)} img/s  ETA ${eta}`;
  const barWidth = Math.max(0, Math.min(30, columns - tail.length - 11));
  if (barWidth < 5) return `batch ${tail}`.slice(0, Math.max(0, columns - 1));
  const filled = Math.round(fraction * barWidth);
  let bar = "█".repeat(filled) + "░".repeat(barWidth - filled);
  if (color) bar = `\x1b[36m${bar}\x1b[0m`;
  return `batch ${bar} ${tail}`;
}
