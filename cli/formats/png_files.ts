/**
 * Decoded images as PNG files, written atomically: one file per image (`out_000.png`, …, or a
 * printf-style pattern such as `img_%03d.png`) or one contact sheet. Shared by `zipar decode`,
 * `zipar generate --png` and `zipar demo`.
 *
 * @module
 */

import type { ImageBatch } from "../../backends/open.ts";
import { openOutput, type OutputFile } from "../io/output_file.ts";
import { contactSheet, encodeImagePng, encodePixels } from "./png.ts";

/**
 * Output paths for a batch of `count` images written to `out`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outputPaths } from "./png_files.ts";
 * assert.deepEqual(outputPaths("out/x.png", 2), ["out/x_000.png", "out/x_001.png"]);
 * ```
 */
export function outputPaths(out: string, count: number): string[] {
  const pattern = /%(0?)(\d*)d/;
  if (pattern.test(out)) {
    return Array.from({ length: count }, (_, i) => {
      return out.replace(pattern, (_m, zero: string, width: string) => {
        const n = String(i);
        return width ? n.padStart(Number(width), zero ? "0" : " ") : n;
      });
    });
  }
  if (count === 1) return [out];
  const dot = out.toLowerCase().endsWith(".png") ? out.length - 4 : out.length;
  const digits = Math.max(3, String(count - 1).length);
  return Array.from(
    { length: count },
    (_, i) => `${out.slice(0, dot)}_${String(i).padStart(digits, "0")}${out.slice(dot)}`,
  );
}

/** How {@linkcode writeImages} lays the images out. */
export interface WriteImagesOptions {
  /** One contact sheet for the whole batch instead of a file per image. @default false */
  sheet?: boolean;
  /** Images per sheet row. @default the batch size up to 10 */
  columns?: number;
  /** Enlarge pixels this many times (nearest). @default 1 */
  scale?: number;
  /**
   * Run once every image is written to its temporary file, before any is renamed into place
   * (`generate --png` writes the grid file here): when it throws, no image is left behind.
   */
  beforeCommit?: () => Promise<void>;
}

/**
 * Write decoded images as PNG files (or one sheet); returns the paths written. A file that
 * fails to write leaves none of its bytes behind (atomic writes).
 */
export async function writeImages(
  images: ImageBatch,
  out: string,
  options: WriteImagesOptions = {},
): Promise<string[]> {
  const scale = options.scale ?? 1;
  const files: [string, () => Uint8Array][] = [];
  if (options.sheet) {
    const sheet = contactSheet(images, options.columns ?? Math.min(images.count, 10));
    files.push([
      out,
      () => encodePixels(sheet.pixels, sheet.height, sheet.width, images.channels, scale),
    ]);
  } else {
    outputPaths(out, images.count).forEach((path, i) => {
      files.push([path, () => encodeImagePng(images, i, scale)]);
    });
  }
  // Open every output first, so an unwritable target fails before any encoding.
  const pending: OutputFile[] = [];
  try {
    for (const [path] of files) pending.push(await openOutput(path));
    for (let i = 0; i < files.length; i++) await pending[i].write(files[i][1]());
    await options.beforeCommit?.();
    for (const file of pending) await file.commit();
  } catch (e) {
    await Promise.all(pending.map((f) => f.abort()));
    throw e;
  }
  return files.map(([path]) => path);
}
