/**
 * Heat maps of a plan: the pass that decodes each cell as colours (early = dark purple, late =
 * yellow, viridis-like), encoded as PNG with fast-png.
 *
 * @module
 */

import { encode } from "fast-png";

/** Viridis colour stops, sampled at 0, 0.25, 0.5, 0.75, 1. */
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/**
 * Colour of t in [0, 1] on the viridis-like ramp.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rampColor } from "./heatmap.ts";
 * assert(rampColor(0)[0] === 68 && rampColor(1)[2] === 37);
 * ```
 */
export function rampColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k]))) as [number, number, number];
}

/** Pixels per cell so the image is about 384 pixels wide, at least 1. */
export function cellScale(height: number, width: number): number {
  return Math.max(1, Math.min(32, Math.floor(384 / Math.max(height, width))));
}

/**
 * RGB pixels (rows of `width·scale` pixels) colouring each cell by its pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heatmapPixels } from "./heatmap.ts";
 * const px = heatmapPixels(new Int32Array([1, 2]), 1, 2, 1);
 * assert(px.length === 6 && px[3] === 253);
 * ```
 */
export function heatmapPixels(
  passOf: Int32Array,
  height: number,
  width: number,
  scale: number,
): Uint8Array {
  let min = Infinity, max = -Infinity;
  for (const p of passOf) {
    min = Math.min(min, p);
    max = Math.max(max, p);
  }
  const span = max > min ? max - min : 1;
  const W = width * scale;
  const out = new Uint8Array(height * scale * W * 3);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const rgb = rampColor((passOf[r * width + c] - min) / span);
      for (let y = r * scale; y < (r + 1) * scale; y++) {
        for (let x = c * scale; x < (c + 1) * scale; x++) out.set(rgb, (y * W + x) * 3);
      }
    }
  }
  return out;
}

/**
 * A PNG heat map of pass numbers per cell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heatmapPng } from "./heatmap.ts";
 * const png = heatmapPng(new Int32Array([1, 2, 2, 3]), 2, 2);
 * assert(png[1] === 0x50); // "P" of \x89PNG
 * ```
 */
export function heatmapPng(passOf: Int32Array, height: number, width: number): Uint8Array {
  const scale = cellScale(height, width);
  const data = heatmapPixels(passOf, height, width, scale);
  return encode({ width: width * scale, height: height * scale, data, channels: 3, depth: 8 });
}
