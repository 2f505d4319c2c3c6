/**
 * Bad input to the Lumina-mGPT family: a directory without tokenizer files, a config of another
 * family, a Chameleon config without image tokens, missing VQGAN files, grids that do not fit
 * the layout (odd sides, no size token, beyond the context), a grid the model cannot decode,
 * bad prompts and class ids — each one line naming the problem and the fix, no Python
 * traceback, and the worker keeps serving after a bad request.
 *
 * Each test opens its own worker: what it checks is a worker's start (a refused directory or
 * grid) or its logs since the start.
 */

import assert from "node:assert/strict";
import { openLumina, removeTinyLumina, tinyLumina } from "./lumina_test_helpers.ts";
import { oneLine, PYTHON_TESTS } from "./test_helpers.ts";

function noTraceback(logs: string[]): void {
  assert.ok(!logs.some((l) => l.includes("Traceback")), logs.join("\n"));
}

Deno.test({
  name: "Lumina refuses a directory without tokenizer, of another family, or without image tokens",
  ...PYTHON_TESTS,
  async fn() {
    const cases: ["no-tokenizer" | "other-family" | "no-image-tokens", RegExp][] = [
      ["no-tokenizer", /no tokenizer files .*copy the model's tokenizer files/],
      ["other-family", /model_type 'llama' is no family this worker runs \(known: .*lumina/],
      ["no-image-tokens", /vocabulary_map has no IMGIMG… image tokens; this is not a Chameleon/],
    ];
    for (const [kind, pattern] of cases) {
      const logs: string[] = [];
      await assert.rejects(openLumina(await tinyLumina(kind), { logs }), oneLine(pattern));
      noTraceback(logs);
    }
  },
});

Deno.test({
  name: "Lumina refuses grids outside its layout in the hello, and at the decoder",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyLumina();
    const bad: [string, RegExp][] = [
      [
        "5x4",
        /grid 5x4: Lumina-mGPT sizes count 32-px patches .* each side must be a multiple of 2/,
      ],
      ["4x130", /grid 4x130: the tokenizer has no size token .* pick a size the model was/],
      ["64x64", /grid 64x64 needs 4160 image positions, .* context is 256; pick a smaller/],
      ["big", /grid 'big' is not HxW/],
    ];
    for (const [grid, pattern] of bad) {
      const logs: string[] = [];
      await assert.rejects(openLumina(dir, { grid, logs }), oneLine(pattern));
      noTraceback(logs);
    }
    const logs: string[] = [];
    const backend = await openLumina(dir, { grid: "4x6", logs }); // other even sizes fit
    try {
      assert.deepEqual([backend.info.height, backend.info.width], [4, 6]);
      const decoder = await backend.openDecoder({ model: true });
      await assert.rejects(
        decoder.decode(new Int32Array(20 * 30), [1, 20, 30]),
        oneLine(/a 20x30 grid needs 623 positions .* context 256: Lumina-mGPT cannot have made/),
      );
      const pixels = await decoder.decode(new Int32Array(4 * 6), [1, 4, 6]); // still serving
      assert.equal(pixels.length, 64 * 96 * 3);
      await decoder.close();
    } finally {
      await backend.close();
    }
    noTraceback(logs);
  },
});

Deno.test({
  name: "Lumina without its VQGAN files generates, and refuses to decode in one line",
  ...PYTHON_TESTS,
  async fn() {
    const logs: string[] = [];
    const backend = await openLumina(await tinyLumina("no-vqgan"), { logs });
    try {
      // ready says so before anything is loaded: generate --png refuses before generating.
      const own = backend.modelDecoder;
      assert(!own.available);
      assert.match(own.why, /no VQGAN decoder weights \(vqgan\.ckpt or vqgan\.safetensors/);
      await assert.rejects(
        backend.openDecoder({ model: true }),
        oneLine(/no VQGAN decoder weights \(vqgan\.ckpt or vqgan\.safetensors.*copy tokenizer/),
      );
      const session = await backend.open([{
        condition: { prompt: "a fox" },
        unconditional: false,
      }]);
      const logits = await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
      assert.equal(logits.length, 256);
      await session.close();
    } finally {
      await backend.close();
    }
    noTraceback(logs);
  },
});

Deno.test({
  name: "Lumina refuses bad prompts, class ids and wrong slot tokens in one line, then serves on",
  ...PYTHON_TESTS,
  async fn() {
    const logs: string[] = [];
    const backend = await openLumina(await tinyLumina(), { logs });
    try {
      const bad: [unknown, RegExp][] = [
        [{ prompt: "  " }, /prompt is empty: give the text to condition on/],
        [
          { prompt: "a fox ".repeat(60) },
          /the prompt is \d+ tokens with Lumina's instruction .* leaves 236 .*; shorten it/,
        ],
        [3, /this model conditions on text prompts/],
        [{ prompt: 7 }, /prompt must be a string, got number/],
      ];
      for (const [condition, pattern] of bad) {
        const sequences = [{ condition, unconditional: false }] as never;
        await assert.rejects(backend.open(sequences), oneLine(pattern));
      }
      const session = await backend.open([{
        condition: { prompt: "a fox" },
        unconditional: false,
      }]);
      const wrong: [number, number, RegExp][] = [
        [1, 256, /image token outside 0\.\.255/], // the EOL token in an image slot
        [5, 3, /an end-of-line slot takes the EOL token 256/], // slot 5: row 0's EOL
      ];
      for (const [slot, token, pattern] of wrong) {
        await assert.rejects(
          session.step([{ seq: 0, slot, token, wantLogits: true }]),
          oneLine(pattern),
        );
      }
      const next = await session.step([{ seq: 0, slot: 1, token: 7, wantLogits: true }]);
      assert.equal(next.length, 256);
      await session.close();
      noTraceback(logs);
    } finally {
      await backend.close();
      await removeTinyLumina();
    }
  },
});
