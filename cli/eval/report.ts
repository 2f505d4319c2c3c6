/**
 * The `zipar eval` report: one row per setting (and the real-image floor), rendered as a
 * Markdown table, JSON or CSV. Pure.
 *
 * @module
 */

/** One row of the report. */
export interface EvalRow {
  /** The setting as written (`paper:4:r-1`), or the floor's label. */
  setting: string;
  /** Images scored. */
  images: number;
  /**
   * Mean forward passes per image: the steps each image needed (what it costs alone); null for
   * the floor.
   */
  passes: number | null;
  /**
   * Mean forward passes per batch: a batch runs until its slowest image is done, so this is what
   * the timed runs took (the same as `passes` for fixed windows); null for the floor.
   */
  batchPasses?: number | null;
  /** Raster passes of the grid; null for the floor. */
  rasterPasses: number | null;
  /** Wall time per image, ms; null for the floor. */
  msPerImage: number | null;
  /** Class accuracy, 0..1. */
  accuracy: number;
  /** Fréchet distance to the reference features. */
  fd: number;
  /** Mean bits per token under the model in raster order; null with --no-likelihood. */
  bitsPerToken: number | null;
}

/**
 * Render rows as a Markdown table, JSON or CSV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderEval } from "./report.ts";
 * const row = { setting: "ideal:4", images: 10, passes: 66, rasterPasses: 196, msPerImage: 9.87, accuracy: 0.5, fd: 12.3456, bitsPerToken: null };
 * assert.equal(renderEval([row], "csv").split("\n")[1], "ideal:4,10,66 / 196,—,9.9,50.0,12.35,—");
 * const batched = { ...row, passes: 60.25, batchPasses: 71 };
 * assert.equal(renderEval([batched], "csv").split("\n")[1], "ideal:4,10,60.3 / 196,71,9.9,50.0,12.35,—");
 * ```
 */
export function renderEval(rows: EvalRow[], format: "md" | "json" | "csv"): string {
  if (format === "json") return JSON.stringify(rows, null, 2) + "\n";
  const fmt = (v: number | null, digits: number) => (v === null ? "—" : v.toFixed(digits));
  const cells = rows.map((r) => [
    r.setting,
    String(r.images),
    r.passes === null ? "—" : `${fmt(r.passes, r.passes % 1 ? 1 : 0)} / ${r.rasterPasses}`,
    r.batchPasses == null ? "—" : fmt(r.batchPasses, r.batchPasses % 1 ? 1 : 0),
    fmt(r.msPerImage, 1),
    fmt(r.accuracy * 100, 1),
    fmt(r.fd, 2),
    fmt(r.bitsPerToken, 3),
  ]);
  const head = [
    "setting",
    "images",
    "passes / raster",
    "batch passes",
    "ms/image",
    "accuracy %",
    "FD",
    "bits/token",
  ];
  if (format === "csv") return [head, ...cells].map((c) => c.join(",")).join("\n") + "\n";
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
    ...cells.map((c) => `| ${c.join(" | ")} |`),
  ].join("\n") + "\n";
}
