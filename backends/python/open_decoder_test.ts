/**
 * One worker serves the GPT and the image decoder: `backend.openDecoder()` decodes in the
 * backend's own process exactly like a standalone decoder worker, `{ model: true }` finds the
 * model directory's own VQ, failures are one line and leave the backend working, and a hello
 * may name a model, a decoder or both.
 *
 * Each test starts its own worker: what it checks is what a worker's hello loads.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeVqReference } from "../vq_reference.ts";
import { tinyVqConfig, writeRandomVq } from "../webgpu/vq_random_weights.ts";
import { openPythonBackend, type PythonBackend } from "./client.ts";
import {
  oneLine,
  openTiny,
  PYTHON,
  PYTHON_TESTS,
  removeTinyModels,
  tinyModels,
} from "./test_helpers.ts";
import { openPythonVqDecoder } from "./vq_client.ts";
import { WorkerProcess } from "./worker_process.ts";
import { sequencesFor } from "../../core/condition.ts";

const CONFIG = tinyVqConfig();
const SHAPE: [number, number, number] = [2, 3, 4];
const TOKENS = Int32Array.from({ length: 24 }, (_, i) => (i * 29 + 3) % CONFIG.codebookSize);
const QUIET = { python: PYTHON!, onLog: () => {}, handleSigint: false };

/** The tiny GPT's directory with a random VQ written beside config.json. */
async function modelWithVq(root: string): Promise<string> {
  const dir = join(root, "with-vq");
  await Deno.mkdir(dir, { recursive: true });
  for (const file of ["config.json", "model.safetensors"]) {
    await Deno.copyFile(join(await tinyModels(), "st", file), join(dir, file));
  }
  await writeRandomVq(dir, CONFIG, 9);
  return dir;
}

/** The backend still generates: one prefill step gives a full logits row. */
async function assertSteps(backend: PythonBackend): Promise<void> {
  const session = await backend.open(sequencesFor([2], false));
  const logits = await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
  assert.equal(logits.length, backend.info.vocab);
  await session.close();
}

Deno.test({
  name: "PythonBackend.openDecoder({ vq }) decodes in the backend's worker like a standalone one",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zipar-open-decoder-" });
    const weights = await writeRandomVq(join(dir, "vq"), CONFIG, 4);
    const backend = await openTiny();
    try {
      const decoder = await backend.openDecoder({ vq: join(dir, "vq") });
      assert.equal(decoder.pid, backend.pid, "the decoder must live in the backend's worker");
      assert.equal(decoder.kind, "llamagen-vq16");
      assert.deepEqual(decoder.config, CONFIG);
      assert.equal(decoder.scale, 2);
      const got = await decoder.decode(TOKENS, SHAPE);
      const want = decodeVqReference(CONFIG, weights, TOKENS, SHAPE);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      assert.ok(worst < 4, `max pixel difference to the float64 reference: ${worst}`);
      const alone = await openPythonVqDecoder({ dir: join(dir, "vq"), ...QUIET });
      try {
        assert.notEqual(alone.pid, backend.pid);
        assert.deepEqual(await alone.decode(TOKENS, SHAPE), got);
      } finally {
        await alone.close();
      }
      await assertSteps(backend);
      await decoder.close();
      await assert.rejects(decoder.decode(TOKENS, SHAPE), oneLine(/no open decoder 1/));
      await assertSteps(backend);
    } finally {
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "PythonBackend.openDecoder({ model: true }) loads the VQ beside config.json, or says why not",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zipar-model-decoder-" });
    try {
      const model = await modelWithVq(dir);
      const backend = await openPythonBackend({ model, ...QUIET });
      try {
        assert.deepEqual(backend.modelDecoder, {
          available: true,
          where: "worker",
          name: "LlamaGen VQ-16",
        });
        const decoder = await backend.openDecoder({ model: true });
        assert.equal(decoder.pid, backend.pid);
        const standalone = await openPythonVqDecoder({ dir: model, ...QUIET });
        try {
          assert.deepEqual(
            await decoder.decode(TOKENS, SHAPE),
            await standalone.decode(TOKENS, SHAPE),
          );
        } finally {
          await standalone.close();
        }
        await decoder.close();
      } finally {
        await backend.close();
      }

      const bare = await openTiny();
      try {
        const own = bare.modelDecoder;
        assert(!own.available && /st: the model has no decoder of its own/.test(own.why));
        await assert.rejects(
          bare.openDecoder({ model: true }),
          oneLine(/st: the model has no decoder of its own .*pass a VQ decoder \(--vq PATH\)/),
        );
        await assert.rejects(
          bare.openDecoder({ vq: join(dir, "nothing") }),
          oneLine(/nothing: no such file or directory/),
        );
        await assertSteps(bare);
      } finally {
        await bare.close();
      }

      const patch = join(dir, "patch");
      await Deno.mkdir(patch);
      const config = JSON.parse(await Deno.readTextFile(join(model, "config.json")));
      const decoder = { kind: "patch-codebook", file: "decoder.safetensors", patch: 2 };
      await Deno.writeTextFile(join(patch, "config.json"), JSON.stringify({ ...config, decoder }));
      await Deno.copyFile(join(model, "model.safetensors"), join(patch, "model.safetensors"));
      const demoLike = await openPythonBackend({ model: patch, ...QUIET });
      try {
        assert.deepEqual(demoLike.modelDecoder, {
          available: true,
          where: "host",
          name: "patch-codebook",
          dir: patch,
        });
        await assert.rejects(
          demoLike.openDecoder({ model: true }),
          oneLine(/patch-codebook decoder runs on the host/),
        );
      } finally {
        await demoLike.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a hello names a model, a decoder or both; a decoder-only worker refuses to generate",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "zipar-hello-" });
    try {
      const model = await modelWithVq(dir);
      const both = await WorkerProcess.start(QUIET, { model, decoder: { model: true } });
      try {
        assert.equal((both.ready.info as { family: string }).family, "llamagen");
        assert.equal((both.ready.decoder as { scale: number }).scale, 2);
        const { arrays } = await both.process.request(
          { type: "decode", decoder: 0, shape: SHAPE },
          { tokens: TOKENS },
          { timeoutMs: 60_000 },
        );
        assert.equal(arrays.pixels.length, 2 * 6 * 8 * 3);
      } finally {
        await both.process.close();
      }

      const only = await WorkerProcess.start(QUIET, { decoder: { vq: model } });
      try {
        assert.equal(only.ready.info, null);
        await assert.rejects(
          only.process.request({ type: "open", session: 0, sequences: [{ condition: 1 }] }, {}, {
            timeoutMs: 60_000,
          }),
          oneLine(/started without a model/),
        );
        // Protocol 2 has one form of open: the old `conditions` is refused, not half-served.
        await assert.rejects(
          only.process.request({ type: "open", session: 1, conditions: [1] }, {}, {
            timeoutMs: 60_000,
          }),
          oneLine(/open needs sequences/),
        );
      } finally {
        await only.process.close();
      }

      await assert.rejects(
        WorkerProcess.start(QUIET, {}),
        oneLine(/the hello names neither a model nor a decoder/),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
      await removeTinyModels();
    }
  },
});
