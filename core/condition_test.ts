import assert from "node:assert/strict";
import {
  checkCondition,
  classOf,
  MAX_PROMPT_CHARS,
  promptTextError,
  sequencesFor,
} from "./condition.ts";
import { generate } from "./engine.ts";
import { layoutOf } from "./layout.ts";
import { createSchedule } from "./schedule.ts";
import { MockBackend } from "../backends/mock/mock.ts";

const text = { conditioning: "text", numClasses: 0 } as const;

Deno.test("checkCondition() refuses prompts that are empty, too long or not strings", () => {
  assert.throws(() => checkCondition({ prompt: "" }, text), /prompt is empty/);
  assert.throws(
    () => checkCondition({ prompt: "x".repeat(MAX_PROMPT_CHARS + 1) }, text),
    /100001 characters/,
  );
  assert.throws(() => checkCondition({ prompt: 3 } as never, text), /prompt must be a string/);
  assert.throws(
    () => checkCondition({ prompt: "a", negativePrompt: " " }, text),
    /negative prompt is empty/,
  );
  assert.throws(
    () => checkCondition({ prompt: "a" }, { conditioning: "class", numClasses: 10 }),
    /conditions on class ids/,
  );
  checkCondition(10, { conditioning: "class", numClasses: 10 }); // the null class itself
});

Deno.test("a prompt with a lone UTF-16 surrogate is refused as invalid text, wherever it is", () => {
  for (const bad of ["\uD800", "a\uDC00b", "fox \uD83D", "\uDE0A fox"]) {
    assert.match(promptTextError(bad) ?? "", /lone UTF-16 surrogate .*not valid Unicode text/);
    assert.throws(() => checkCondition({ prompt: bad }, text), /prompt holds a lone UTF-16/);
    assert.throws(
      () => checkCondition({ prompt: "a", negativePrompt: bad }, text),
      /negative prompt holds a lone UTF-16/,
    );
  }
  assert.match(promptTextError("ab\uD800")!, /at character 3/);
  assert.equal(promptTextError("a fox \uD83D\uDE0A"), null); // a surrogate pair is fine
  assert.equal(promptTextError("x".repeat(MAX_PROMPT_CHARS)), null);
  assert.match(promptTextError("x".repeat(MAX_PROMPT_CHARS + 1))!, /100001 characters/);
  assert.match(promptTextError(" ")!, /is empty/);
});

Deno.test("promptTextError() finds blank what the worker's Python strip() finds blank", () => {
  // JavaScript's trim() keeps \x1c-\x1f and \x85; Python's str.strip() drops them.
  for (const blank of ["\x1c", "\x1d\x1e\x1f", "\x85", " \x1f\t\n"]) {
    assert.match(promptTextError(blank) ?? "", /is empty/, JSON.stringify(blank));
  }
  assert.equal(promptTextError("\x1ffox"), null);
});

Deno.test("classOf() maps unconditional sequences of class models to the null class", () => {
  const seqs = sequencesFor([4, 9], true);
  assert.deepEqual(seqs.map((s) => classOf(s, 10)), [4, 9, 10, 10]);
  assert.throws(() => classOf({ condition: { prompt: "a" }, unconditional: false }, 10), /prompt/);
});

function textMock() {
  return new MockBackend({ height: 6, width: 6, vocab: 32, conditioning: "text" });
}

async function grids(prompts: { prompt: string; negativePrompt?: string }[], window: number) {
  const backend = textMock();
  const schedule = createSchedule(layoutOf(backend.info), { window });
  const images = prompts.map((condition, i) => ({ condition, seed: 3, index: i }));
  const { grids } = await generate(backend, { images, schedule, cfgScale: 2 });
  return Array.from(
    { length: prompts.length },
    (_, i) => Array.from(grids.subarray(i * 36, (i + 1) * 36)),
  );
}

Deno.test("a batch mixing prompts of different lengths gives each image its grid alone", async () => {
  const a = { prompt: "a red fox in the snow, watercolour" };
  const b = { prompt: "cat", negativePrompt: "blurry" };
  const [both0, both1] = await grids([a, b], 3);
  const [alone0] = await grids([a], 3);
  // Image 1 alone: same draw index as in the batch.
  const backend = textMock();
  const schedule = createSchedule(layoutOf(backend.info), { window: 3 });
  const alone1 = await generate(backend, {
    images: [{ condition: b, seed: 3, index: 1 }],
    schedule,
    cfgScale: 2,
  });
  assert.deepEqual(both0, alone0);
  assert.deepEqual(both1, Array.from(alone1.grids));
  assert.notDeepEqual(both0, both1, "different prompts give different grids");
});

Deno.test("the text mock's grids depend on the prompt and the negative prompt", async () => {
  const [x] = await grids([{ prompt: "cat" }], 6);
  const [y] = await grids([{ prompt: "dog" }], 6);
  const [z] = await grids([{ prompt: "cat", negativePrompt: "blurry" }], 6);
  assert.notDeepEqual(x, y);
  assert.notDeepEqual(x, z);
});

Deno.test("a text model refuses class ids, and a class model refuses prompts", async () => {
  const schedule = (b: MockBackend) => createSchedule(layoutOf(b.info), { window: 2 });
  const t = textMock();
  await assert.rejects(
    generate(t, { images: [{ condition: 3, seed: 0, index: 0 }], schedule: schedule(t) }),
    /conditions on text prompts/,
  );
  const c = new MockBackend({ height: 4, width: 4 });
  await assert.rejects(
    generate(c, {
      images: [{ condition: { prompt: "a" }, seed: 0, index: 0 }],
      schedule: schedule(c),
    }),
    /conditions on class ids/,
  );
  assert.throws(() => new MockBackend({ conditioning: "text", prefix: 2 }), /prefix/);
});
