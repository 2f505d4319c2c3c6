/**
 * Janus-Pro as DeepSeek releases it (config.json of model_type "multi_modality", pickled weight
 * shards under DeepSeek's names with their index, no chat template), against the same tiny random
 * model in transformers' layout: zipar on the official directory gives the greedy grids of
 * transformers' own image loop on the converted copy, fed the prompt ids of DeepSeek's official
 * example (CFG off and on, two prompts of different lengths, raster and ZipAR); those ids equal
 * the converted processor's; its decoder (gen_vision_model) makes the converted copy's pixels.
 * The official directory's language_config leaves the widths to the weights, as Janus-Pro-7B's.
 * A bad official directory (a pickle that would run code, a missing or escaping or FIFO shard, a
 * missing tensor, a config of another depth) is one line naming the file and the fix.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { PromptCondition } from "../../core/condition.ts";
import type { OracleBackend } from "../../testing/worker_oracles.ts";
import { openJanus, peerGrids, tinyJanus } from "./janus_test_helpers.ts";
import { oneLine, PYTHON_TESTS } from "./test_helpers.ts";
import { sharedWorker } from "../../testing/shared_worker.ts";
import { conditionRunner } from "../../testing/greedy_run.ts";
import { copyTree } from "../../testing/model_cache.ts";
import { memoryIo } from "../../cli/io/io.ts";
import { main } from "../../cli/main.ts";

const PROMPTS = ["a red fox", "a small blue bird on a wooden fence at dawn"];
const CONDITIONS: PromptCondition[] = PROMPTS.map((prompt) => ({ prompt }));
const GREEDY_ALL = { temperature: 0, topK: 0, topP: 1 };

/** The file's worker on `dir` (testing/shared_worker.ts). */
function worker(dir: string): Promise<OracleBackend> {
  return sharedWorker(`janus ${dir}`, () => openJanus(dir));
}

/** Greedy images of PROMPTS[i] for i in `which` (testing/greedy_run.ts). */
const run = conditionRunner(CONDITIONS);

Deno.test({
  name: "Janus official layout: the converted copy's ModelInfo, layout 'official' in its config",
  ...PYTHON_TESTS,
  async fn() {
    const official = await worker(await tinyJanus("test", "official"));
    const converted = await worker(await tinyJanus());
    const { name: _a, ...info } = official.info;
    const { name: _b, ...want } = converted.info;
    assert.deepEqual(info, want);
    const { layout, ...config } = official.worker.config;
    const { layout: convertedLayout, ...wantConfig } = converted.worker.config;
    assert.deepEqual([layout, convertedLayout], ["official", "transformers"]);
    // Hidden width, MLP and K/V heads came from the weights: its language_config leaves them out.
    assert.deepEqual(config, wantConfig);
  },
});

Deno.test({
  name: "Janus official layout: greedy grids of transformers' loop on the converted copy",
  ...PYTHON_TESTS,
  async fn() {
    const officialDir = await tinyJanus("test", "official");
    const convertedDir = await tinyJanus();
    const backend = await worker(officialDir);
    for (const cfg of [1, 5]) {
      // The peer: transformers' loop on the converted weights, fed the official example's ids.
      const peer = await peerGrids(convertedDir, PROMPTS, cfg, officialDir);
      const processor = await peerGrids(convertedDir, PROMPTS, cfg);
      assert.deepEqual(peer.inputIds, processor.inputIds, "official ids = the processor's");
      assert.notEqual(peer.inputIds[0].length, peer.inputIds[1].length);
      assert.notDeepEqual(peer.grids[0], peer.grids[1], "prompts give the same grid");
      for (const mode of ["interactive", "planned"] as const) {
        for (const i of [0, 1]) {
          const { grids } = await run(backend, [i], { kind: "raster" }, cfg, mode);
          assert.deepEqual([...grids], peer.grids[i], `cfg ${cfg} ${mode} prompt ${i}`);
        }
      }
      // The bench's transformers row on the official directory (the session's official ids).
      const images = CONDITIONS.map((condition, index) => ({ condition, seed: 0, index }));
      const reference = await backend.referenceGenerate(images, cfg, GREEDY_ALL);
      assert.deepEqual([...reference.grids], peer.grids.flat(), "the transformers row");
      // ZipAR at s = W is raster; s = 2 batches both prompts as each alone.
      const zipar = await run(backend, [0, 1], { window: 4 }, cfg, "planned");
      assert.deepEqual([...zipar.grids], peer.grids.flat());
      const batch = await run(backend, [0, 1], { window: 2 }, cfg);
      for (const i of [0, 1]) {
        const alone = await run(backend, [i], { window: 2 }, cfg);
        assert.deepEqual([...batch.grids.subarray(16 * i, 16 * i + 16)], [...alone.grids]);
      }
    }
  },
});

Deno.test({
  name: "Janus official layout decodes with gen_vision_model as the converted copy's decoder",
  ...PYTHON_TESTS,
  async fn() {
    const tokens = Int32Array.from({ length: 32 }, (_, i) => (i * 37 + 5) % 256);
    const pixels: Uint8Array[] = [];
    for (const dir of [await tinyJanus("test", "official"), await tinyJanus()]) {
      const decoder = await (await worker(dir)).openDecoder({ model: true });
      try {
        assert.equal(decoder.scale, 16);
        pixels.push(await decoder.decode(tokens, [2, 4, 4]));
      } finally {
        await decoder.close();
      }
    }
    assert.equal(pixels[0].length, 2 * 64 * 64 * 3);
    assert.ok(new Set(pixels[0]).size > 64, "the image is nearly flat");
    assert.deepEqual(pixels[0], pixels[1]);
  },
});

/** A pickle that would run `touch PWNED` when unpickled (protocol 2: os.system's GLOBAL). */
function evilPickle(pwned: string): Uint8Array {
  const command = new TextEncoder().encode(`touch ${pwned}`);
  const length = new Uint8Array(new Uint32Array([command.length]).buffer);
  const global = new TextEncoder().encode("cos\nsystem\nX"); // GLOBAL os.system, BINUNICODE
  // PROTO 2, the global, the command, TUPLE1 REDUCE STOP
  return new Uint8Array([0x80, 0x02, ...global, ...length, ...command, 0x85, 0x52, 0x2e]);
}

Deno.test({
  name: "Janus official layout: a bad directory is one line naming the file, no pickled code runs",
  ...PYTHON_TESTS,
  async fn() {
    const official = await tinyJanus("test", "official");
    const backend = await worker(await tinyJanus()); // loads each directory without keeping it
    const root = await Deno.makeTempDir({ prefix: "zipar-janus-bad-" });
    const shard2 = "pytorch_model-00002-of-00002.bin";
    const indexName = "pytorch_model.bin.index.json";
    const index = JSON.parse(await Deno.readTextFile(join(official, indexName)));
    const writeIndex = (dir: string, weightMap: Record<string, string>) =>
      Deno.writeTextFile(join(dir, indexName), JSON.stringify({ ...index, weight_map: weightMap }));
    const pwned = join(root, "PWNED");
    try {
      const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
        [
          "evil",
          (dir) => Deno.writeFile(join(dir, shard2), evilPickle(pwned)),
          /refusing to load: the pickle would import os\.system/,
        ],
        [
          "no-shard",
          (dir) => Deno.remove(join(dir, shard2)),
          /names pytorch_model-00002-of-00002\.bin, which is not in .*download the missing shard/,
        ],
        ["outside", async (dir) => {
          await Deno.rename(join(dir, shard2), join(root, "elsewhere.bin"));
          await Deno.symlink(join(root, "elsewhere.bin"), join(dir, shard2));
        }, /pytorch_model-00002-of-00002\.bin leads out of .*files inside the model directory/],
        [
          "dotdot",
          (dir) =>
            writeIndex(
              dir,
              Object.fromEntries(Object.keys(index.weight_map).map((k) => [k, "../x.bin"])),
            ),
          /names '\.\.\/x\.bin', not a file name in/,
        ],
        ["fifo", async (dir) => {
          await Deno.remove(join(dir, shard2));
          const made = await new Deno.Command("mkfifo", { args: [join(dir, shard2)] }).output();
          assert.ok(made.success, "mkfifo");
        }, /pytorch_model-00002-of-00002\.bin is not a regular file/],
        [
          "no-head",
          (dir) => {
            const { "gen_head.vision_head.weight": _, ...rest } = index.weight_map;
            return writeIndex(dir, rest);
          },
          /lack 1 tensors Janus's image generation runs \(first: model\.generation_head\.vision_head\.weight\)/,
        ],
        ["layers", async (dir) => {
          const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
          config.language_config.num_hidden_layers = 3;
          await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config));
        }, /language_config says num_hidden_layers 3, but the weights hold 2/],
      ];
      for (const [name, corrupt, pattern] of cases) {
        const dir = join(root, name);
        await copyTree(official, dir);
        await corrupt(dir);
        await assert.rejects(backend.inspectCheckpoint(dir), oneLine(pattern), name);
      }
      await assert.rejects(Deno.lstat(pwned), Deno.errors.NotFound, "the pickle's code ran");
      // Through the CLI: exit 1, one line, nothing written.
      const io = memoryIo();
      const out = join(root, "x.json");
      const code = await main([
        ...["generate", "--backend", "python", "--model", join(root, "evil"), "--window", "2"],
        ...["--prompt", "a fox", "--quiet", "-o", out, "--png", `${out}.png`],
      ], io);
      assert.equal(code, 1, io.stderrText());
      assert.equal(io.stderrText().trim().split("\n").length, 1, io.stderrText());
      assert.match(io.stderrText(), /refusing to load: the pickle would import os\.system/);
      for (const file of [out, `${out}.png`, pwned]) {
        await assert.rejects(Deno.lstat(file), Deno.errors.NotFound, file);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
