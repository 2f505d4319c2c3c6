/**
 * openPythonVqDecoder(): the PyTorch VQ-16 decoder against the float64 TypeScript reference and
 * the WebGPU decoder, on the same tiny random vq.json + vq.safetensors; bad grids rejected.
 * One worker for the whole file.
 */

import assert from "node:assert/strict";
import { decodeVqReference } from "../vq_reference.ts";
import type { VqConfig } from "../vq_config.ts";
import { openWebgpuVqDecoder } from "../webgpu/vq_decoder.ts";
import { tinyVqConfig, writeRandomVq } from "../webgpu/vq_random_weights.ts";
import { needs } from "../../testing/runtimes.ts";
import { oneLine, PYTHON, PYTHON_TESTS } from "./test_helpers.ts";
import { openPythonVqDecoder } from "./vq_client.ts";

/** Mean and max |a − b| of two byte arrays. */
function pixelDiff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

function grid(config: VqConfig, length: number, seed: number): Int32Array {
  return Int32Array.from({ length }, (_, i) => (i * 37 + seed * 11 + 5) % config.codebookSize);
}

Deno.test({
  name: "openPythonVqDecoder() decodes like the reference and the WebGPU decoder",
  ...PYTHON_TESTS,
  sanitizeResources: false, // the shared WebGPU device stays open
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "zipar-vq-python-" });
    const config = tinyVqConfig();
    const weights = await writeRandomVq(dir, config, 3);
    const t0 = performance.now();
    const decoder = await openPythonVqDecoder({
      dir,
      python: PYTHON!,
      onLog: () => {},
      handleSigint: false,
    });
    const shape: [number, number, number] = [2, 3, 5];
    const tokens = grid(config, 2 * 3 * 5, 1);
    try {
      const opened = performance.now();
      const got = await decoder.decode(tokens, shape);
      const decoded = performance.now();
      console.log(
        `  open ${(opened - t0).toFixed(0)} ms, decode [${shape}] ${
          (decoded - opened).toFixed(0)
        } ms (${decoder.device}, torch ${decoder.torch})`,
      );

      await t.step("decode() matches the float64 reference: mean < 1, max < 4", () => {
        assert.deepEqual(decoder.config, config);
        assert.equal(decoder.scale, 2);
        assert.equal(got.length, 2 * 6 * 10 * 3); // [B, H·s, W·s, 3]
        const want = decodeVqReference(config, weights, tokens, shape);
        const { mean, max } = pixelDiff(got, want);
        assert(mean < 1 && max < 4, `mean ${mean}, max ${max}`);
        assert(new Set(want).size > 20, "pixels should spread over the range");
      });

      await t.step({
        name: "decode() matches the WebGPU decoder on the same files: mean < 1, max < 4",
        ...needs("Python vs WebGPU VQ decoder parity", ["webgpu"]),
        async fn() {
          const gpu = await openWebgpuVqDecoder({ dir });
          try {
            const { mean, max } = pixelDiff(got, await gpu.decode(tokens, shape));
            assert(mean < 1 && max < 4, `mean ${mean}, max ${max}`);
          } finally {
            await gpu.close();
          }
        },
      });

      await t.step("decode() takes grids of other shapes one after another", async () => {
        for (const s of [[1, 1, 1], [3, 2, 4]] as [number, number, number][]) {
          const cells = s[0] * s[1] * s[2];
          const g = grid(config, cells, s[2]);
          const { mean, max } = pixelDiff(
            await decoder.decode(g, s),
            decodeVqReference(config, weights, g, s),
          );
          assert(mean < 1 && max < 4, `[${s}]: mean ${mean}, max ${max}`);
        }
      });

      await t.step(
        "decode() rejects bad tokens and shapes in one line, then keeps working",
        async () => {
          const bad = new Int32Array(6);
          bad[4] = 64;
          await assert.rejects(
            decoder.decode(bad, [1, 2, 3]),
            (e: Error) =>
              e instanceof RangeError &&
              oneLine(/Token 64 at image 0, \(1, 1\) is outside the codebook \(0\.\.63\)/)(e),
          );
          bad[4] = -1;
          await assert.rejects(decoder.decode(bad, [1, 2, 3]), RangeError);
          await assert.rejects(
            decoder.decode(new Int32Array(5), [1, 2, 3]),
            oneLine(/Grid shape \[1,2,3\] needs 6 tokens, got 5/),
          );
          await assert.rejects(
            decoder.decode(new Int32Array(0), [0, 2, 3]),
            oneLine(/Grid shape must be \[B, H, W\] of positive integers/),
          );
          assert.deepEqual(await decoder.decode(tokens, shape), got);
        },
      );
    } finally {
      await decoder.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
