/**
 * The small Fashion-MNIST classifier `zipar eval` scores images with (trained by
 * tools/demo/classifier.py, shipped in fixtures/demo): conv3×3(1→16) relu maxpool2,
 * conv3×3(16→32) relu maxpool2, fc(1568→64) relu = the features, fc(64→10) = the logits.
 * Plain TypeScript on the CPU: ~1 M multiply-adds per 28×28 image.
 *
 * @module
 */

import { readSafetensors, type Tensor } from "../../backends/safetensors.ts";

/** Expected tensors and shapes. */
const SHAPES: Record<string, number[]> = {
  "conv1.weight": [16, 1, 3, 3],
  "conv1.bias": [16],
  "conv2.weight": [32, 16, 3, 3],
  "conv2.bias": [32],
  "fc1.weight": [64, 32 * 7 * 7],
  "fc1.bias": [64],
  "fc2.weight": [10, 64],
  "fc2.bias": [10],
};

/** Feature dimension. */
export const FEATURES = 64;

/** The loaded classifier. */
export class FmnistClassifier {
  readonly #w: Map<string, Float32Array>;

  /** Wrap checked weights (see {@linkcode loadFmnistClassifier}). */
  constructor(tensors: Map<string, Tensor>, source = "classifier") {
    this.#w = new Map();
    for (const [name, shape] of Object.entries(SHAPES)) {
      const t = tensors.get(name);
      if (!t || t.shape.join() !== shape.join()) {
        throw new RangeError(
          `${source}: expected ${name} [${shape}], got ${t ? `[${t.shape}]` : "nothing"}`,
        );
      }
      this.#w.set(name, t.data);
    }
  }

  /** conv 3×3, pad 1, + bias, relu: x [cin, s, s] → [cout, s, s]. */
  #conv(x: Float64Array, cin: number, cout: number, s: number, name: string): Float64Array {
    const w = this.#w.get(`${name}.weight`)!, b = this.#w.get(`${name}.bias`)!;
    const out = new Float64Array(cout * s * s);
    for (let o = 0; o < cout; o++) {
      for (let y = 0; y < s; y++) {
        for (let xx = 0; xx < s; xx++) {
          let acc = b[o];
          for (let i = 0; i < cin; i++) {
            for (let ky = -1; ky <= 1; ky++) {
              const yy = y + ky;
              if (yy < 0 || yy >= s) continue;
              for (let kx = -1; kx <= 1; kx++) {
                const x2 = xx + kx;
                if (x2 < 0 || x2 >= s) continue;
                acc += w[((o * cin + i) * 3 + ky + 1) * 3 + kx + 1] * x[(i * s + yy) * s + x2];
              }
            }
          }
          out[(o * s + y) * s + xx] = acc > 0 ? acc : 0;
        }
      }
    }
    return out;
  }

  /** 2×2 max pool: [c, s, s] → [c, s/2, s/2]. */
  #pool(x: Float64Array, c: number, s: number): Float64Array {
    const h = s / 2, out = new Float64Array(c * h * h);
    for (let k = 0; k < c; k++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < h; xx++) {
          const i = (k * s + 2 * y) * s + 2 * xx;
          out[(k * h + y) * h + xx] = Math.max(x[i], x[i + 1], x[i + s], x[i + s + 1]);
        }
      }
    }
    return out;
  }

  #linear(x: Float64Array, name: string, outDim: number, relu: boolean): Float64Array {
    const w = this.#w.get(`${name}.weight`)!, b = this.#w.get(`${name}.bias`)!;
    const inDim = x.length, out = new Float64Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let acc = b[o];
      for (let i = 0; i < inDim; i++) acc += w[o * inDim + i] * x[i];
      out[o] = relu && acc < 0 ? 0 : acc;
    }
    return out;
  }

  /**
   * Features and logits of grayscale 28×28 images: pixels [n, 28, 28] uint8.
   * Returns features [n, 64] and logits [n, 10].
   */
  run(pixels: Uint8Array, n: number): { features: Float64Array; logits: Float64Array } {
    if (pixels.length !== n * 28 * 28) {
      throw new RangeError(
        `classifier needs ${n} images of 28×28 gray, got ${pixels.length} bytes`,
      );
    }
    const features = new Float64Array(n * FEATURES), logits = new Float64Array(n * 10);
    for (let i = 0; i < n; i++) {
      const x = Float64Array.from(pixels.subarray(i * 784, (i + 1) * 784), (v) => v / 255);
      let h = this.#pool(this.#conv(x, 1, 16, 28, "conv1"), 16, 28);
      h = this.#pool(this.#conv(h, 16, 32, 14, "conv2"), 32, 14);
      const f = this.#linear(h, "fc1", FEATURES, true);
      features.set(f, i * FEATURES);
      logits.set(this.#linear(f, "fc2", 10, false), i * 10);
    }
    return { features, logits };
  }
}

/**
 * Load the classifier from `DIR/classifier.safetensors`.
 *
 * @example
 * ```ts ignore
 * import { loadFmnistClassifier } from "./fmnist_classifier.ts";
 * const net = await loadFmnistClassifier("fixtures/demo");
 * ```
 */
export async function loadFmnistClassifier(dir: string): Promise<FmnistClassifier> {
  const path = `${dir}/classifier.safetensors`;
  const { tensors } = await readSafetensors(path);
  return new FmnistClassifier(tensors, path);
}
