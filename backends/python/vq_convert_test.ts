/**
 * convertLlamagenVq(): a tiny VQ `.pt` (torch.save of a state dict under "model", or at top
 * level) → vq.json + vq.safetensors holding the same weights, which decode exactly like the
 * `.pt` loaded directly; bad checkpoints fail in one line and leave no output.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadVq } from "../vq_config.ts";
import { tinyVqConfig, writeRandomVq } from "../webgpu/vq_random_weights.ts";
import { convertLlamagenVq } from "./convert.ts";
import {
  noTorchPython,
  oneLine,
  PYTHON,
  PYTHON_TESTS,
  runPython,
  TINY_MODULE,
} from "./test_helpers.ts";
import { openPythonVqDecoder } from "./vq_client.ts";

/** Decode `tokens` [1, 3, 4] with a fresh Python decoder on `path`. */
async function decodeWith(path: string, tokens: Int32Array): Promise<Uint8Array> {
  const decoder = await openPythonVqDecoder({
    dir: path,
    python: PYTHON!,
    onLog: () => {},
    handleSigint: false,
  });
  try {
    return await decoder.decode(tokens, [1, 3, 4]);
  } finally {
    await decoder.close();
  }
}

Deno.test({
  name: "convertLlamagenVq() writes a VQ directory that decodes exactly like the .pt",
  ...PYTHON_TESTS,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "zipar-vq-convert-" });
    try {
      // GroupNorm groups are not in a .pt: the official 32 is assumed, so channels are ×32.
      const config = tinyVqConfig({ ch: 32, zChannels: 32, groups: 32 });
      const weights = await writeRandomVq(join(dir, "orig"), config, 7);
      await runPython(PYTHON!, TINY_MODULE, ["vq", join(dir, "orig"), join(dir, "pt")]);

      await t.step("the config is inferred and the weights are copied bit for bit", async () => {
        for (const layout of ["model.pt", "top.pt"]) {
          const out = join(dir, `out-${layout}`);
          const written = await convertLlamagenVq({
            input: join(dir, "pt", layout),
            out,
            python: PYTHON!,
          });
          assert.deepEqual(written, config);
          const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
          assert.deepEqual(names, ["vq.json", "vq.safetensors"]); // no temp files left
          const loaded = await loadVq(out);
          assert.deepEqual(loaded.config, config);
          assert.deepEqual([...loaded.weights.keys()], [...weights.keys()]); // no encoder
          for (const [key, tensor] of weights) assert.deepEqual(loaded.weights.get(key), tensor);
        }
      });

      await t.step("the directory and the .pt decode to the same bytes", async () => {
        const tokens = Int32Array.from({ length: 12 }, (_, i) => (i * 23 + 1) % 64);
        const fromDir = await decodeWith(join(dir, "out-model.pt"), tokens);
        const fromPt = await decodeWith(join(dir, "pt", "model.pt"), tokens);
        assert.equal(fromDir.length, 1 * 6 * 8 * 3);
        assert.deepEqual(fromDir, fromPt);
        assert(new Set(fromDir).size > 20, "pixels should spread over the range");
      });

      await t.step("a bad checkpoint fails in one line and leaves no output", async () => {
        const out = join(dir, "bad-out");
        await assert.rejects(
          convertLlamagenVq({ input: join(dir, "pt", "evil.pt"), out, python: PYTHON! }),
          oneLine(/^Cannot convert .*evil\.pt: .*refusing to load/),
        );
        await assert.rejects(Deno.stat(join(dir, "pt", "PWNED")), Deno.errors.NotFound);
        await assert.rejects(
          convertLlamagenVq({ input: join(dir, "pt", "missing_key.pt"), out, python: PYTHON! }),
          oneLine(/missing tensor decoder\.mid\.1\.proj_out\.bias \(expected shape \[64\]\)/),
        );
        await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
        await assert.rejects(
          convertLlamagenVq({
            input: join(dir, "pt", "model.pt"),
            out,
            python: await noTorchPython(dir),
          }),
          oneLine(/^Cannot convert .*PyTorch is not installed .*deno task setup/),
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
