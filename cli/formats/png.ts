/**
 * PNG output for decoded images: encoding (fast-png) and contact sheets.
 *
 * @module
 */

import { decode, encode } from "fast-png";
import type { ImageBatch } from "../../backends/open.ts";

/**
 * Encode image `index` of a batch as PNG, scaled up by an integer `scale` (nearest).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeImagePng } from "./png.ts";
 * const png = encodeImagePng({ pixels: new Uint8Array(4), count: 1, height: 2, width: 2, channels: 1 }, 0);
 * assert(png[1] === 0x50); // "PNG"
 * ```
 */
export function encodeImagePng(batch: ImageBatch, index: number, scale = 1): Uint8Array {
  const { height, width, channels } = batch;
  const size = height * width * channels;
  const one = batch.pixels.subarray(index * size, (index + 1) * size);
  return encodePixels(one, height, width, channels, scale);
}

/** Encode pixels [height, width, channels] as PNG, scaled by an integer factor. */
export function encodePixels(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: 1 | 3,
  scale = 1,
): Uint8Array {
  if (pixels.length !== height * width * channels) {
    throw new RangeError(`${pixels.length} bytes cannot be a ${height}×${width}×${channels} image`);
  }
  const data = scale === 1 ? pixels : upscale(pixels, height, width, channels, scale);
  return encode({ width: width * scale, height: height * scale, data, channels, depth: 8 });
}

function upscale(px: Uint8Array, h: number, w: number, ch: number, s: number): Uint8Array {
  const out = new Uint8Array(h * s * w * s * ch);
  for (let y = 0; y < h * s; y++) {
    for (let x = 0; x < w * s; x++) {
      const src = (Math.floor(y / s) * w + Math.floor(x / s)) * ch;
      out.set(px.subarray(src, src + ch), (y * w * s + x) * ch);
    }
  }
  return out;
}

/**
 * Tile a batch into one contact sheet with `columns` images per row and `pad` pixels of
 * background between them; returns pixels [sheetHeight, sheetWidth, channels].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contactSheet } from "./png.ts";
 * const sheet = contactSheet({ pixels: new Uint8Array(8).fill(255), count: 2, height: 2, width: 2, channels: 1 }, 2, 1);
 * assert(sheet.width === 7 && sheet.height === 4);
 * ```
 */
export function contactSheet(
  batch: ImageBatch,
  columns: number,
  pad = 2,
  background = 32,
): { pixels: Uint8Array; height: number; width: number } {
  const { count, height: h, width: w, channels: ch } = batch;
  const cols = Math.max(1, Math.min(columns, count));
  const rows = Math.ceil(count / cols);
  const height = rows * h + (rows + 1) * pad, width = cols * w + (cols + 1) * pad;
  const pixels = new Uint8Array(height * width * ch).fill(background);
  for (let i = 0; i < count; i++) {
    const top = pad + Math.floor(i / cols) * (h + pad), left = pad + (i % cols) * (w + pad);
    for (let y = 0; y < h; y++) {
      const src = ((i * h + y) * w) * ch;
      pixels.set(batch.pixels.subarray(src, src + w * ch), ((top + y) * width + left) * ch);
    }
  }
  return { pixels, height, width };
}

/**
 * Decode a PNG back to pixels (tests and `zipar inspect` of images use it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePng, encodePixels } from "./png.ts";
 * const back = decodePng(encodePixels(new Uint8Array([1, 2, 3, 4]), 2, 2, 1));
 * assert(back.width === 2 && back.pixels[3] === 4);
 * ```
 */
export function decodePng(
  bytes: Uint8Array,
): { pixels: Uint8Array; height: number; width: number; channels: number } {
  const img = decode(bytes);
  return {
    pixels: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength),
    height: img.height,
    width: img.width,
    channels: img.channels,
  };
}
