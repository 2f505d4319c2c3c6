/**
 * Emu3-Gen as BAAI releases it (config.json of model_type "Emu3" with an auto_map to remote
 * code, safetensors shards under BAAI's names, the tiktoken tokenizer, the image tokenizer as
 * BAAI/Emu3-VisionTokenizer), against the same tiny random model in transformers' layout: zipar
 * on the official directory gives the greedy grids of transformers' own generate (prefix
 * constraint, CFG) on the converted copy fed the ids of BAAI's own example — the positive suffix,
 * the negative prompt with the image header, digits one token each — CFG off and on, two prompts
 * of different lengths; those ids are not the converted processor's; the vision tokenizer is found
 * inside, beside or where --vision-tokenizer says and decodes as the converted copy's VQ-VAE; no
 * remote code ever runs; bad files are one line.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import type { PromptCondition } from "../../core/condition.ts";
import type { PythonBackend } from "./client.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { openEmu3, peerGrids, tinyEmu3 } from "./emu3_test_helpers.ts";
import { oneLine, PYTHON, PYTHON_TESTS } from "./test_helpers.ts";
import { openPythonBackend } from "./client.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";
import { conditionRunner } from "../../testing/greedy_run.ts";
import { copyTree } from "../../testing/model_cache.ts";

// A digit run: BAAI's tokenizer splits digits ("9", "0"), transformers' copy keeps "90".
const PROMPTS = ["a red fox", "90 small blue birds on a wooden fence at dawn"];
const CONDITIONS: PromptCondition[] = PROMPTS.map((prompt) => ({ prompt }));
const GREEDY_ALL = { temperature: 0, topK: 0, topP: 1 };

function worker(dir: string): Promise<OracleBackend> {
  return sharedWorker(`emu3 ${dir}`, () => openEmu3(dir));
}

/** Greedy images of PROMPTS[i] for i in `which` (testing/greedy_run.ts). */
const run = conditionRunner(CONDITIONS);

Deno.test({
  name: "Emu3 official layout: the converted copy's grid and vocab, BAAI's sampling defaults",
  ...PYTHON_TESTS,
  async fn() {
    const official = await worker(await tinyEmu3("test", "official"));
    const converted = await worker(await tinyEmu3());
    const { name: _a, defaults, ...info } = official.info;
    const { name: _b, defaults: convertedDefaults, ...want } = converted.info;
    assert.deepEqual(info, want);
    // BAAI's example: CFG 3, its negative prompt, top-k 2048.
    assert.deepEqual(defaults, { ...convertedDefaults, topK: 2048, temperature: 1 });
    assert.equal(official.worker.config.layout, "official");
    assert.equal(converted.worker.config.layout, "transformers");
  },
});

Deno.test({
  name: "Emu3 official layout: greedy grids of transformers' generate fed BAAI's example's ids",
  ...PYTHON_TESTS,
  async fn() {
    const officialDir = await tinyEmu3("test", "official");
    const convertedDir = await tinyEmu3();
    const backend = await worker(officialDir);
    for (const cfg of [1, 3]) {
      const peer = await peerGrids(convertedDir, PROMPTS, cfg, { officialPrompt: officialDir });
      const processor = await peerGrids(convertedDir, PROMPTS, cfg);
      for (const i of [0, 1]) {
        // The suffix and the negative's image header make BAAI's ids longer; "90" splits.
        assert.ok(peer.inputIds[i].length > processor.inputIds[i].length);
        assert.ok(peer.negativeIds[i].length > processor.negativeIds[i].length);
      }
      assert.notDeepEqual(peer.grids[0], peer.grids[1], "prompts give the same grid");
      for (const mode of ["interactive", "planned"] as const) {
        for (const i of [0, 1]) {
          const { grids } = await run(backend, [i], { kind: "raster" }, cfg, mode);
          assert.deepEqual([...grids], peer.grids[i], `cfg ${cfg} ${mode} prompt ${i}`);
        }
      }
      const zipar = await run(backend, [0, 1], { window: 5 }, cfg, "planned");
      assert.deepEqual([...zipar.grids], peer.grids.flat(), "ZipAR at s = W is raster");
      // The bench's transformers row on the official directory: transformers' generate on the
      // loaded model with the session's (BAAI's) ids.
      const images = CONDITIONS.map((condition, index) => ({ condition, seed: 0, index }));
      const reference = await backend.referenceGenerate(images, cfg, GREEDY_ALL);
      assert.deepEqual([...reference.grids], peer.grids.flat(), "the transformers row");
    }
  },
});

Deno.test({
  name: "Emu3 official layout: the vision tokenizer inside, beside or named decodes as the VQ-VAE",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  async fn() {
    const official = await tinyEmu3("test", "official");
    const tokens = Int32Array.from({ length: 50 }, (_, i) => (i * 37) % 64);
    const decode = async (backend: PythonBackend) => {
      const decoder = await backend.openDecoder({ model: true });
      try {
        return await decoder.decode(tokens, [2, 5, 5]);
      } finally {
        await decoder.close();
      }
    };
    const want = await decode(await worker(await tinyEmu3()));
    assert.deepEqual(await decode(await worker(official)), want, "vision_tokenizer/ inside");
    const root = await Deno.makeTempDir({ prefix: "zipar-emu3-official-" });
    try {
      // Beside it, as BAAI's two downloads: Emu3-Gen/ and Emu3-VisionTokenizer/.
      const model = join(root, "Emu3-Gen");
      await copyTree(official, model);
      await Deno.rename(join(model, "vision_tokenizer"), join(root, "Emu3-VisionTokenizer"));
      const beside = await openEmu3(model);
      try {
        assert.deepEqual(await decode(beside), want, "Emu3-VisionTokenizer beside it");
      } finally {
        await beside.close();
      }
      // Named: --vision-tokenizer DIR; with none found, it generates and refuses to decode.
      const elsewhere = join(root, "tokenizers", "vq");
      await Deno.mkdir(dirname(elsewhere));
      await Deno.rename(join(root, "Emu3-VisionTokenizer"), elsewhere);
      const named = await openPythonBackend({
        model,
        python: PYTHON!,
        visionTokenizer: elsewhere,
        onLog: () => {},
        handleSigint: false,
      });
      try {
        assert.deepEqual(await decode(named), want, "--vision-tokenizer");
      } finally {
        await named.close();
      }
      const none = await openEmu3(model);
      try {
        assert.equal((await run(none, [0], { window: 2 }, 3)).grids.length, 25);
        const own = none.modelDecoder;
        assert(!own.available && /no vision tokenizer/.test(own.why), "ready.modelDecoder");
        await assert.rejects(
          none.openDecoder({ model: true }),
          oneLine(/no vision tokenizer .* put it in .*vision_tokenizer .*--vision-tokenizer DIR/),
        );
      } finally {
        await none.close();
      }
      for (const dir of [official, model]) {
        await assert.rejects(Deno.lstat(join(dir, "REMOTE_CODE_RAN")), Deno.errors.NotFound);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "Emu3 official layout: a bad tokenizer, shard or vision tokenizer is one line",
  ...PYTHON_TESTS,
  async fn() {
    const official = await tinyEmu3("test", "official");
    const backend = await worker(await tinyEmu3()); // loads each directory without keeping it
    const root = await Deno.makeTempDir({ prefix: "zipar-emu3-bad-" });
    const write = (dir: string, file: string, text: string) =>
      Deno.writeTextFile(join(dir, file), text);
    const editJson = async (dir: string, file: string, edit: (j: any) => void) => {
      const json = JSON.parse(await Deno.readTextFile(join(dir, file)));
      edit(json);
      await write(dir, file, JSON.stringify(json));
    };
    try {
      const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
        [
          "not-tiktoken",
          (dir) => write(dir, "emu3.tiktoken", '{"vocab": {}}\n'),
          /emu3\.tiktoken: line 1 is not `BASE64 RANK`; this is not a tiktoken file/,
        ],
        [
          "ranks-gap",
          (dir) => write(dir, "emu3.tiktoken", "AA== 0\nAQ== 2\n"),
          /emu3\.tiktoken: the ranks do not run 0\.\.1 once each/,
        ],
        [
          "no-tiktoken",
          (dir) => Deno.remove(join(dir, "emu3.tiktoken")),
          /emu3\.tiktoken: missing; download the model's tokenizer files/,
        ],
        [
          "no-shard",
          (dir) => Deno.remove(join(dir, "model-00002-of-00002.safetensors")),
          /names model-00002-of-00002\.safetensors, which is not in .*download the missing shard/,
        ],
        [
          "vision-of-another-kind",
          (dir) => editJson(dir, "vision_tokenizer/config.json", (j) => j.model_type = "llama"),
          /model_type 'llama', not 'Emu3VisionVQ'; give the directory of BAAI\/Emu3-VisionTokenizer/,
        ],
        [
          "vision-wrong-shape",
          (dir) => editJson(dir, "vision_tokenizer/config.json", (j) => j.ch = 64),
          /cannot load the official Emu3-Gen weights .*download the model's files again/,
        ],
        [
          "vocab-mismatch",
          (dir) => editJson(dir, "config.json", (j) => j.bos_token_id = 7),
          /config\.json's bos_token_id 7 is not the tokenizer's \d+/,
        ],
      ];
      for (const [name, corrupt, pattern] of cases) {
        const dir = join(root, name);
        await copyTree(official, dir);
        await corrupt(dir);
        await assert.rejects(backend.inspectCheckpoint(dir), oneLine(pattern), name);
        await assert.rejects(Deno.lstat(join(dir, "REMOTE_CODE_RAN")), Deno.errors.NotFound);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
