/**
 * `zipar inspect --model PATH` on every layout zipar reads (tiny random models with the real
 * file names): family, layout, grid and EOL, vocabularies and weights, read without loading the
 * model; a missing tokenizer or decoder names the file to add and where; a path of no layout
 * zipar reads is one line naming the layouts it reads, exit 1.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { tinyEmu3 } from "../backends/python/emu3_test_helpers.ts";
import { tinyJanus } from "../backends/python/janus_test_helpers.ts";
import { tinyLumina } from "../backends/python/lumina_test_helpers.ts";
import { tinyLumina2 } from "../backends/python/lumina2_test_helpers.ts";
import { tinyModels } from "../backends/python/test_helpers.ts";
import {
  type Describer,
  type ModelDescription,
  openDescriber,
} from "../backends/python/describe.ts";
import { needs, PYTHON } from "../testing/runtimes.ts";
import { sharedWorker } from "../testing/shared_worker.ts";
import { copyTree } from "../testing/model_cache.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

async function inspect(...args: string[]) {
  const io = memoryIo();
  const code = await main(["inspect", ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

async function describe(model: string, ...args: string[]): Promise<ModelDescription> {
  const r = await inspect("--model", model, "--format", "json", ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The file's one describing worker (what `inspect --model` asks, without a start each). */
function describer(): Promise<Describer> {
  return sharedWorker("describe", () => openDescriber({ python: PYTHON!, onLog: () => {} }));
}

Deno.test({
  name: "zipar inspect --model describes each layout: family, layout, grid, EOL, vocab, weights",
  ...needs("zipar inspect --model", ["python"]),
  sanitizeResources: false,
  async fn() {
    const cases: [string, Partial<ModelDescription>][] = [
      [await tinyJanus("test", "official"), {
        family: "janus",
        layout: "official",
        modelType: "multi_modality",
        grid: [4, 4],
        eol: false,
        vocab: 256,
      }],
      [await tinyJanus(), { family: "janus", layout: "transformers", grid: [4, 4], vocab: 256 }],
      [await tinyEmu3("test", "official"), {
        family: "emu3",
        layout: "official",
        modelType: "Emu3",
        grid: [5, 5],
        eol: true,
        vocab: 64,
      }],
      [await tinyEmu3(), { family: "emu3", layout: "transformers", grid: [5, 5], vocab: 64 }],
      [await tinyLumina(), { family: "lumina", grid: [4, 4], eol: true, vocab: 256 }],
      [await tinyLumina2(), { family: "lumina2", grid: [4, 4], eol: true, vocab: 16384 }],
      [join(await tinyModels(), "st"), { family: "llamagen", layout: "zipar", grid: [8, 8] }],
    ];
    const worker = await describer();
    for (const [model, want] of cases) {
      const d = await worker.describe({ model });
      for (const [key, value] of Object.entries(want)) {
        assert.deepEqual(d[key as keyof ModelDescription], value, `${model}: ${key}`);
      }
      assert.equal(d.path, model);
      assert.ok(d.weights.files >= 1 && d.weights.bytes > 0 && d.weights.parameters > 0, model);
      assert.equal(d.weights.dtype, "float32", model);
      assert.ok(d.download.length > 0);
      if (d.family !== "llamagen") assert.ok(d.tokenizer?.found, `${model}: tokenizer`);
      if (d.family !== "llamagen") assert.ok(d.decoder.found, `${model}: decoder`);
    }
    // The official Emu3 counts its weights' parameters from the headers, as the converted copy:
    // the same language model (the converted copy adds the VQ-VAE).
    const [official, converted] = [
      await worker.describe({ model: cases[2][0] }),
      await worker.describe({ model: cases[3][0] }),
    ];
    assert.ok(official.weights.parameters < converted.weights.parameters);
    // A .pt of no preset with --heads and --grid, and a size asked of a model of several.
    const pt = await describe(
      join(await tinyModels(), "model.pt"),
      "--heads",
      "4",
      "--grid",
      "8x8",
    );
    assert.deepEqual([pt.family, pt.layout, pt.grid, pt.decoder.found], [
      "llamagen",
      "official .pt",
      [8, 8],
      false,
    ]);
    assert.match(pt.decoder.fix ?? "", /--vq vq_ds16_c2i\.pt/);
    assert.deepEqual((await worker.describe({ model: await tinyLumina(), size: 96 })).grid, [6, 6]);
    // The text form: one line a property.
    const text = await inspect("--model", cases[0][0]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^family +janus, official layout \(deepseek-ai\/Janus-Pro-1B/m);
    assert.match(text.stdout, /^grid +4x4 tokens, no end-of-line tokens$/m);
  },
});

Deno.test({
  name: "zipar inspect --model names the file to add for a missing piece, and the layouts it reads",
  ...needs("zipar inspect --model", ["python"]),
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "zipar-inspect-" });
    try {
      const emu3 = join(root, "Emu3-Gen");
      await copyTree(await tinyEmu3("test", "official"), emu3);
      await Deno.remove(join(emu3, "vision_tokenizer"), { recursive: true });
      const noVision = await describe(emu3);
      assert.equal(noVision.decoder.found, false);
      assert.match(
        noVision.decoder.fix ?? "",
        /download BAAI\/Emu3-VisionTokenizer into .*vision_tokenizer/,
      );
      const worker = await describer();
      const noVqgan = await worker.describe({ model: await tinyLumina("no-vqgan") });
      assert.match(
        noVqgan.decoder.fix ?? "",
        /vqgan\.ckpt and tokenizer\/vqgan\.yaml of Meta's Chameleon/,
      );
      const noTokenizer = await worker.describe({ model: await tinyJanus("no-tokenizer") });
      assert.equal(noTokenizer.tokenizer?.found, false);
      assert.match(noTokenizer.tokenizer?.fix ?? "", /copy tokenizer\.json/);
      const text = await inspect("--model", emu3);
      assert.match(text.stdout, /^decoder +missing: download BAAI\/Emu3-VisionTokenizer/m);

      const unknown = join(root, "mistral");
      await Deno.mkdir(unknown);
      await Deno.writeTextFile(
        join(unknown, "config.json"),
        JSON.stringify({ model_type: "mistral" }),
      );
      await assert.rejects(
        worker.describe({ model: root }),
        /no config\.json of a layout zipar reads; it reads LlamaGen .*Janus-Pro .*Emu3-Gen .*Lumina/,
      );
      const r = await inspect("--model", unknown);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /model_type 'mistral' is no layout zipar reads/);
      assert.match(
        r.stderr,
        /Janus-Pro \(deepseek-ai\/Janus-Pro-1B\/-7B.*BAAI\/Emu3-Gen-hf.*Lumina-mGPT/,
      );
      const usage = await inspect("--model", unknown, "grid.json");
      assert.equal(usage.code, 2);
      const stray = await inspect("grid.json", "--size", "512");
      assert.equal(stray.code, 2);
      assert.match(stray.stderr, /--size applies with --model/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
