/**
 * openPythonVqDecoder() fails in one line, naming the key or the fix: missing or misshapen
 * tensors, a bad vq.json, a pickle that would run code (refused unread), python without torch.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSafetensors } from "../safetensors.ts";
import { randomVqWeights, tinyVqConfig, writeRandomVq } from "../webgpu/vq_random_weights.ts";
import {
  noTorchPython,
  oneLine,
  PYTHON,
  PYTHON_TESTS,
  runPython,
  TINY_MODULE,
} from "./test_helpers.ts";
import { openPythonVqDecoder } from "./vq_client.ts";

/** Open a decoder on `path` quietly and expect a one-line error matching `pattern`. */
async function assertOpenError(path: string, pattern: RegExp, python = PYTHON!): Promise<void> {
  await assert.rejects(
    openPythonVqDecoder({ dir: path, python, onLog: () => {}, handleSigint: false }),
    oneLine(pattern),
  );
}

Deno.test({
  name: "openPythonVqDecoder() names the bad key, shape or field, and refuses an evil pickle",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zipar-vq-errors-" });
    try {
      const config = tinyVqConfig({ ch: 32, zChannels: 32, groups: 32 });
      await writeRandomVq(join(dir, "ok"), config, 5);
      await runPython(PYTHON!, TINY_MODULE, ["vq", join(dir, "ok"), join(dir, "pt")]);
      await assertOpenError(
        join(dir, "pt", "evil.pt"),
        /evil\.pt: refusing to load: the pickle would import posix\.system/,
      );
      await assert.rejects(Deno.stat(join(dir, "pt", "PWNED")), Deno.errors.NotFound);
      await assertOpenError(
        join(dir, "pt", "wrong_shape.pt"),
        /wrong_shape\.pt: tensor decoder\.conv_out\.weight has shape \[3,5,3,3\], expected \[3,32,3,3\]/,
      );

      const weights = randomVqWeights(config, 5);
      weights.delete("decoder.norm_out.bias");
      await Deno.mkdir(join(dir, "missing"));
      await Deno.copyFile(join(dir, "ok", "vq.json"), join(dir, "missing", "vq.json"));
      await writeSafetensors(join(dir, "missing", "vq.safetensors"), weights);
      await assertOpenError(
        join(dir, "missing"),
        /vq\.safetensors: missing tensor decoder\.norm_out\.bias \(expected shape \[32\]\)/,
      );

      await Deno.writeTextFile(
        join(dir, "ok", "vq.json"),
        JSON.stringify({ ...config, groups: 5 }),
      );
      await assertOpenError(join(dir, "ok"), /"groups" 5 must divide every channel count/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "openPythonVqDecoder() names the fix when python has no torch or is missing",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zipar-vq-notorch-" });
    try {
      await assertOpenError(
        dir,
        /PyTorch is not installed .*deno task setup/,
        await noTorchPython(dir),
      );
      await assertOpenError(
        dir,
        /Python executable "\/nonexistent\/python3" not found: run `deno task setup`/,
        "/nonexistent/python3",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
