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
}

/** PNG outputs opened before their images exist ({@linkcode openImages}). */
export interface ImageOutputs {
  /** The paths the images will have. */
  paths: string[];
  /** Encode the images into the opened files and put them in place. */
  write(images: ImageBatch, options?: WriteImagesOptions): Promise<string[]>;
  /** Remove the temporary files: nothing is left behind. */
  abort(): Promise<void>;
}

/**
 * Open the PNG files of `count` images written to `out` (one sheet with `sheet`) before the
 * images exist, so an unwritable target fails before the work that makes them (`generate
 * --png` opens them before the generation). Nothing appears at `paths` until `write`.
 */
export async function openImages(
  out: string,
  count: number,
  sheet = false,
): Promise<ImageOutputs> {
  const paths = sheet ? [out] : outputPaths(out, count);
  const pending: OutputFile[] = [];
  const abort = () => Promise.all(pending.map((f) => f.abort())).then(() => {});
  try {
    for (const path of paths) pending.push(await openOutput(path));
  } catch (e) {
    await abort();
    throw e;
  }
  return {
    paths,
    abort,
    async write(images: ImageBatch, options: WriteImagesOptions = {}): Promise<string[]> {
      const scale = options.scale ?? 1;
      if (images.count !== count) {
        throw new RangeError(`${images.count} images for ${count} opened outputs`);
      }
      try {
        if (sheet) {
          const s = contactSheet(images, options.columns ?? Math.min(images.count, 10));
          await pending[0].write(encodePixels(s.pixels, s.height, s.width, images.channels, scale));
        } else {
          for (let i = 0; i < paths.length; i++) {
            await pending[i].write(encodeImagePng(images, i, scale));
          }
        }
        for (const file of pending) await file.commit();
      } catch (e) {
        await abort();
        throw e;
      }
      return paths;
    },
  };
}

/**
 * Write decoded images as PNG files (or one sheet); returns the paths written. A file that
 * fails to write leaves none of its bytes behind (atomic writes); every output is opened before
 * any is encoded, so an unwritable target fails first.
 */
export async function writeImages(
  images: ImageBatch,
  out: string,
  options: WriteImagesOptions = {},
): Promise<string[]> {
  const outputs = await openImages(out, images.count, options.sheet ?? false);
  return await outputs.write(images, options);
}
