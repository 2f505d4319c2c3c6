/**
 * Bad input to the Janus family: a directory without tokenizer files, a config of another
 * family, an empty prompt, a prompt longer than the context, a class id for a text model — each
 * one line naming the problem and the fix, no Python traceback, and the worker keeps serving
 * after a bad `open`.
 *
 * Each test opens its own worker: what it checks is a worker's start (a refused directory) or
 * its logs since the start.
 */

import assert from "node:assert/strict";
import { openJanus, removeTinyJanus, tinyJanus } from "./janus_test_helpers.ts";
import { oneLine, PYTHON_TESTS } from "./test_helpers.ts";

function noTraceback(logs: string[]): void {
  assert.ok(!logs.some((l) => l.includes("Traceback")), logs.join("\n"));
}

Deno.test({
  name: "Janus refuses a directory without tokenizer files and a config of another family",
  ...PYTHON_TESTS,
  async fn() {
    const cases: ["no-tokenizer" | "other-family", RegExp][] = [
      ["no-tokenizer", /no tokenizer files .*copy the model's tokenizer files/],
      ["other-family", /model_type 'llama' is no family this worker runs \(known: .*janus/],
    ];
    for (const [kind, pattern] of cases) {
      const logs: string[] = [];
      await assert.rejects(openJanus(await tinyJanus(kind), logs), oneLine(pattern));
      noTraceback(logs);
    }
  },
});

Deno.test({
  name: "Janus refuses empty and too-long prompts and class ids in one line, then serves on",
  ...PYTHON_TESTS,
  async fn() {
    const logs: string[] = [];
    const backend = await openJanus(await tinyJanus(), logs);
    try {
      const bad: [unknown, RegExp][] = [
        [{ prompt: "  " }, /prompt is empty: give the text to condition on/],
        [{ prompt: "a fox", negativePrompt: "" }, /negative prompt is empty/],
        [{ prompt: "a fox ".repeat(40) }, /the prompt is \d+ tokens .*leaves 112 .*shorten it/],
        [
          { prompt: "a fox", negativePrompt: "dark ".repeat(40) },
          /the negative prompt is \d+ tokens .*shorten it/,
        ],
        [3, /this model conditions on text prompts/],
        [{ prompt: 7 }, /prompt must be a string, got number/],
      ];
      for (const [condition, pattern] of bad) {
        // The negative prompt is only read for the unconditional half.
        const sequences = [{ condition, unconditional: true }] as never;
        await assert.rejects(backend.open(sequences), oneLine(pattern));
      }
      const session = await backend.open([
        { condition: { prompt: "a fox" }, unconditional: false },
      ]);
      const logits = await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
      assert.equal(logits.length, 256);
      await assert.rejects(
        session.step([{ seq: 0, slot: 0, token: 5, wantLogits: true }]),
        oneLine(/the prefix slot takes the condition token -1/),
      );
      await assert.rejects(
        session.step([{ seq: 0, slot: 1, token: 256, wantLogits: true }]),
        oneLine(/image token outside 0..255/),
      );
      await session.close();
      noTraceback(logs);
    } finally {
      await backend.close();
      await removeTinyJanus();
    }
  },
});
