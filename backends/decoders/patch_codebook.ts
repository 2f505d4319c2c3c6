/**
 * The demo model's image decoder: each token is a p×p patch looked up in a codebook
 * (a k-means tokenizer, tools/demo/tokenizer.py). Pure TypeScript; no device needed.
 *
 * @module
 */

import { readSafetensors } from "../safetensors.ts";

/** A loaded patch codebook. */
export interface PatchCodebook {
  /** Patch side p in pixels. */
  patch: number;
  /** Channels per pixel (1 = grayscale). */
  channels: number;
  /** codebook: [codes, p·p·channels], values in [0, 1], patch pixels row-major. */
  codebook: Float32Array;
  /** Number of codes. */
  codes: number;
}

/** Decoder settings as they appear in a model's config.json (`decoder`). */
export interface PatchDecoderConfig {
  /** Always `patch-codebook`. */
  kind: "patch-codebook";
  /** Codebook file, relative to the model directory. */
  file: string;
  /** Patch side p. */
  patch: number;
  /** Channels (1 or 3). */
  channels: number;
}

/**
 * Load the codebook named by a model's decoder config (tensor `codebook` [codes, p·p·channels]).
 *
 * @example
 * ```ts ignore
 * import { loadPatchCodebook } from "./patch_codebook.ts";
 * const cb = await loadPatchCodebook("fixtures/demo", { kind: "patch-codebook", file: "decoder.safetensors", patch: 2, channels: 1 });
 * ```
 */
export async function loadPatchCodebook(
  dir: string,
  config: PatchDecoderConfig,
): Promise<PatchCodebook> {
  const { patch, channels, file } = config;
  if (!Number.isInteger(patch) || patch < 1 || patch > 64) {
    throw new RangeError(`decoder patch must be an integer in 1..64, got ${patch}`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`decoder channels must be 1 or 3, got ${channels}`);
  }
  if (typeof file !== "string" || file.includes("..") || file.startsWith("/")) {
    throw new RangeError(`decoder file must be a name inside the model directory, got ${file}`);
  }
  const { tensors } = await readSafetensors(`${dir}/${file}`);
  const t = tensors.get("codebook");
  const width = patch * patch * channels;
  if (!t || t.shape.length !== 2 || t.shape[1] !== width) {
    throw new RangeError(
      `${file}: expected tensor codebook [codes, ${width}], got ${t ? `[${t.shape}]` : "none"}`,
    );
  }
  return { patch, channels, codebook: t.data, codes: t.shape[0] };
}

/**
 * Decode token grids [B, H, W] to pixels [B, H·p, W·p, channels] (uint8, row-major).
 * Throws a RangeError naming the first token outside the codebook.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePatches } from "./patch_codebook.ts";
 * const cb = { patch: 1, channels: 1, codes: 2, codebook: new Float32Array([0, 1]) };
 * assert.deepEqual([...decodePatches(new Int32Array([0, 1]), [1, 1, 2], cb)], [0, 255]);
 * ```
 */
export function decodePatches(
  tokens: Int32Array,
  shape: readonly [number, number, number],
  cb: PatchCodebook,
): Uint8Array {
  const [b, h, w] = shape;
  if (tokens.length !== b * h * w) {
    throw new RangeError(`grid has ${tokens.length} tokens, shape [${shape}] needs ${b * h * w}`);
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!(t >= 0 && t < cb.codes)) {
      const cell = i % (h * w);
      throw new RangeError(
        `token ${t} at image ${Math.floor(i / (h * w))}, (${Math.floor(cell / w)}, ${
          cell % w
        }) is outside the decoder's codebook 0..${cb.codes - 1}`,
      );
    }
  }
  const { patch: p, channels: ch } = cb;
  const ph = h * p, pw = w * p;
  const out = new Uint8Array(b * ph * pw * ch); // out: [B, H·p, W·p, channels]
  for (let n = 0; n < b; n++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const code = tokens[(n * h + r) * w + c] * p * p * ch;
        for (let y = 0; y < p; y++) {
          for (let x = 0; x < p; x++) {
            for (let k = 0; k < ch; k++) {
              const v = cb.codebook[code + (y * p + x) * ch + k];
              const o = ((n * ph + r * p + y) * pw + c * p + x) * ch + k;
              out[o] = Math.round(Math.min(1, Math.max(0, v)) * 255);
            }
          }
        }
      }
    }
  }
  return out;
}
