/**
 * Checkpoint loading: the four .pt layouts and safetensors give the same model; bad files give
 * one-line errors naming the key and expected shape; a pickle that would run code is refused.
 *
 * Each test opens its own worker: what it checks is how a checkpoint loads.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openTiny, PYTHON_TESTS, removeTinyModels, TINY_PT, tinyModels } from "./test_helpers.ts";
import { sequencesFor } from "../../core/condition.ts";

async function prefillLogits(file: string): Promise<Float32Array> {
  const backend = await openTiny({ file });
  try {
    const session = await backend.open(sequencesFor([4], false));
    const logits = await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
    const more = await session.step([{ seq: 0, slot: 1, token: 17, wantLogits: true }]);
    return Float32Array.from([...logits, ...more]);
  } finally {
    await backend.close();
  }
}

function assertOneLine(pattern: RegExp) {
  return (err: Error) => {
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), `not one line: ${err.message}`);
    return true;
  };
}

/** Open the tiny model once; `fn` inspects other checkpoints in the same worker. */
async function withInspector(
  fn: (check: (file: string, pattern: RegExp, extra?: object) => Promise<void>) => Promise<void>,
): Promise<void> {
  const backend = await openTiny();
  const dir = await tinyModels();
  try {
    await fn(async (file, pattern, extra = {}) => {
      const options = file.endsWith(".pt") ? { ...TINY_PT, ...extra } : extra;
      await assert.rejects(
        backend.inspectCheckpoint(join(dir, file), options),
        assertOneLine(pattern),
      );
    });
  } finally {
    await backend.close();
  }
}

Deno.test({
  name: "openPythonBackend() loads model/module/state_dict/top-level .pt and safetensors alike",
  ...PYTHON_TESTS,
  async fn() {
    assert.deepEqual(await prefillLogits("model.pt"), await prefillLogits("st"));
    const backend = await openTiny();
    const dir = await tinyModels();
    try {
      const want = await backend.inspectCheckpoint(join(dir, "st"));
      for (const file of ["model.pt", "module.pt", "state_dict.pt", "top.pt"]) {
        const got = await backend.inspectCheckpoint(join(dir, file), TINY_PT);
        assert.deepEqual(got, want, file);
      }
    } finally {
      await backend.close();
    }
  },
});

Deno.test({
  name: "openPythonBackend() reports the model info of config.json",
  ...PYTHON_TESTS,
  async fn() {
    const backend = await openTiny();
    try {
      assert.deepEqual(backend.info, {
        name: "llamagen",
        family: "llamagen",
        vocab: 256,
        height: 8,
        width: 8,
        prefix: 1,
        eolToken: null,
        numClasses: 10,
        conditioning: "class",
      });
      assert.equal(backend.worker.config.format, "zipar-llamagen");
      assert.equal(backend.worker.device, "cpu");
    } finally {
      await backend.close();
    }
  },
});

Deno.test({
  name: "openPythonBackend() names the key and shape of a bad checkpoint in one line",
  ...PYTHON_TESTS,
  async fn() {
    await assert.rejects(
      openTiny({ file: "wrong_shape.pt" }),
      assertOneLine(/tensor layers\.1\.attention\.wo\.weight has shape \[64,32\]/),
    );
    await withInspector(async (assertLoadError) => {
      await assertLoadError(
        "wrong_shape.pt",
        /tensor layers\.1\.attention\.wo\.weight has shape \[64,32\], expected \[64,64\]/,
      );
      await assertLoadError(
        "missing_key.pt",
        /missing tensor layers\.1\.feed_forward\.w3\.weight \(expected shape \[128,64\]\)/,
      );
      await assertLoadError("truncated", /truncated/);
      await assertLoadError(
        "model.pt",
        /match no preset: pass --heads N and --grid HxW, or convert it first/,
        {
          heads: undefined,
        },
      );
      await assertLoadError("model.pt", /cannot infer the grid/, { grid: undefined });
      await assertLoadError("model.pt", /preset GPT-B has 12 layers of dim 768/, {
        preset: "GPT-B",
      });
      await assertLoadError("nothing-here", /no such file or directory/);
    });
  },
});

Deno.test({
  name: "openPythonBackend() checks safetensors headers and config.json against the tensors",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyModels();
    const st = join(dir, "st");
    const config = JSON.parse(await Deno.readTextFile(join(st, "config.json")));
    const weights = await Deno.readFile(join(st, "model.safetensors"));
    await withInspector(async (assertLoadError) => {
      const variant = async (name: string, cfg: object, bytes: Uint8Array) => {
        await Deno.mkdir(join(dir, name), { recursive: true });
        await Deno.writeTextFile(join(dir, name, "config.json"), JSON.stringify(cfg));
        await Deno.writeFile(join(dir, name, "model.safetensors"), bytes);
      };
      await variant("layers3", { ...config, layers: 3 }, weights);
      await assertLoadError("layers3", /missing tensor layers\.2\.attention\.wqkv\.weight/);
      await variant("vocab", { ...config, vocab: 300 }, weights);
      await assertLoadError(
        "vocab",
        /tok_embeddings\.weight has shape \[256,64\], expected \[300,64\]/,
      );
      const huge = weights.slice();
      new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
      await variant("huge", config, huge);
      // Worded as the TypeScript reader words it (fixtures/model_dirs/cases.json).
      await assertLoadError("huge", /header length 1099511627776 exceeds 100000000 bytes/);
      await variant("format", { ...config, format: "other" }, weights);
      await assertLoadError("format", /"format" must be "zipar-llamagen", got "other"/);
      await variant("bert", { model_type: "bert" }, weights);
      await assertLoadError(
        "bert",
        /config\.json: model_type 'bert' is no family this worker runs \(known: llamagen_t2i, llamagen, janus/,
      );
    });
  },
});

Deno.test({
  name: "openPythonBackend() refuses a pickle that would run code, without running it",
  ...PYTHON_TESTS,
  async fn() {
    try {
      await withInspector(async (assertLoadError) => {
        await assertLoadError(
          "evil.pt",
          /refusing to load: the pickle would import posix\.system/,
        );
      });
      const dir = await tinyModels();
      await assert.rejects(Deno.stat(join(dir, "PWNED")), Deno.errors.NotFound);
    } finally {
      await removeTinyModels();
    }
  },
});
