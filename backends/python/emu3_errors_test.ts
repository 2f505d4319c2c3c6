/**
 * Bad input to the Emu3 family: a directory without tokenizer files, a config of another
 * family, a vocabulary map whose visual tokens skip an index, missing decoder weights, a grid
 * that does not fit the model's context, a grid the model cannot decode, empty and too-long
 * prompts, class ids, wrong tokens at image and EOL slots — each one line naming the problem
 * and the fix, no Python traceback, and the worker keeps serving after a bad request.
 *
 * Each test opens its own worker: what it checks is a worker's start (a refused directory or
 * grid) or its logs since the start.
 */

import assert from "node:assert/strict";
import { openEmu3, removeTinyEmu3, tinyEmu3 } from "./emu3_test_helpers.ts";
import { oneLine, PYTHON_TESTS } from "./test_helpers.ts";

function noTraceback(logs: string[]): void {
  assert.ok(!logs.some((l) => l.includes("Traceback")), logs.join("\n"));
}

Deno.test({
  name: "Emu3 refuses a directory without tokenizer, of another family, or with a bad vocab map",
  ...PYTHON_TESTS,
  async fn() {
    const cases: ["no-tokenizer" | "other-family" | "bad-visual", RegExp][] = [
      ["no-tokenizer", /no tokenizer files .*copy the model's tokenizer files/],
      ["other-family", /model_type 'llama' is no family this worker runs \(known: .*emu3/],
      ["bad-visual", /vocabulary_map has 63 visual tokens but no <\|visual token 000003\|>/],
    ];
    for (const [kind, pattern] of cases) {
      const logs: string[] = [];
      await assert.rejects(openEmu3(await tinyEmu3(kind), logs), oneLine(pattern));
      noTraceback(logs);
    }
  },
});

Deno.test({
  name: "Emu3 refuses grids that do not fit the context, in the hello and at the decoder",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyEmu3();
    const bad: [string, RegExp][] = [
      ["30x30", /a 30x30 grid takes 933 positions .* of the model's 512 .*choose a smaller grid/],
      ["0x5", /grid '0x5' is not HxW of positive integers/],
    ];
    for (const [grid, pattern] of bad) {
      const logs: string[] = [];
      await assert.rejects(openEmu3(dir, logs, { grid }), oneLine(pattern));
      noTraceback(logs);
    }
    const logs: string[] = [];
    const backend = await openEmu3(dir, logs, { grid: "4x6" }); // Emu3 takes other sizes
    try {
      assert.deepEqual([backend.info.height, backend.info.width], [4, 6]);
      assert.equal(backend.worker.config.imageHeader, "<|image start|>4*6<|image token|>");
      const decoder = await backend.openDecoder({ model: true });
      await assert.rejects(
        decoder.decode(new Int32Array(20 * 30), [1, 20, 30]),
        oneLine(/a 20x30 grid needs 623 positions .* more than the model's context 512/),
      );
      const pixels = await decoder.decode(new Int32Array(5 * 5), [1, 5, 5]); // still serving
      assert.equal(pixels.length, 40 * 40 * 3);
      await decoder.close();
    } finally {
      await backend.close();
    }
    noTraceback(logs);
  },
});

Deno.test({
  name: "Emu3 without decoder weights generates, and refuses to decode in one line",
  ...PYTHON_TESTS,
  async fn() {
    const logs: string[] = [];
    const backend = await openEmu3(await tinyEmu3("no-decoder"), logs);
    try {
      await assert.rejects(
        backend.openDecoder({ model: true }),
        oneLine(/has no VQ decoder weights \(\d+ missing, first: model\.vqmodel\.decoder\./),
      );
      const session = await backend.open([{
        condition: { prompt: "a fox" },
        unconditional: false,
      }]);
      const logits = await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
      assert.equal(logits.length, 64);
      await session.close();
    } finally {
      await backend.close();
    }
    noTraceback(logs);
  },
});

Deno.test({
  name: "Emu3 refuses bad prompts, class ids and wrong slot tokens in one line, then serves on",
  ...PYTHON_TESTS,
  async fn() {
    const logs: string[] = [];
    const backend = await openEmu3(await tinyEmu3(), logs);
    try {
      const bad: [unknown, boolean, RegExp][] = [
        [{ prompt: "  " }, false, /prompt is empty: give the text to condition on/],
        [{ prompt: "a fox", negativePrompt: "" }, true, /negative prompt is empty/],
        [
          { prompt: "a fox ".repeat(200) },
          false,
          /the prompt is \d+ tokens, .*leaves 479 beside the image; shorten it/,
        ],
        [
          { prompt: "a fox", negativePrompt: "dark ".repeat(100) },
          true,
          /the negative prompt is \d+ tokens, .*shorten it/,
        ],
        [3, false, /this model conditions on text prompts/],
        [{ prompt: 7 }, false, /prompt must be a string, got number/],
      ];
      for (const [condition, unconditional, pattern] of bad) {
        const sequences = [{ condition, unconditional }] as never;
        await assert.rejects(backend.open(sequences), oneLine(pattern));
      }
      const session = await backend.open([
        { condition: { prompt: "a fox" }, unconditional: false },
      ]);
      const logits = await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
      assert.equal(logits.length, 64);
      const wrong: [number, number, RegExp][] = [
        [0, 5, /the prefix slot takes the condition token -1/],
        [1, 64, /image token outside 0..63/], // the EOL token in an image slot
        [6, 3, /an end-of-line slot takes the EOL token 64/], // slot 6: row 0's EOL
      ];
      for (const [slot, token, pattern] of wrong) {
        await assert.rejects(
          session.step([{ seq: 0, slot, token, wantLogits: true }]),
          oneLine(pattern),
        );
      }
      const next = await session.step([{ seq: 0, slot: 1, token: 7, wantLogits: true }]);
      assert.equal(next.length, 64);
      await session.close();
      noTraceback(logs);
    } finally {
      await backend.close();
      await removeTinyEmu3();
    }
  },
});
