/**
 * `zipar generate` with prompts, on the mock's text-to-image mode (`--text`): `--prompt`
 * (repeatable), `--prompts FILE`, `--negative-prompt`, the metadata that records them, and the
 * one-line usage errors of bad prompt input.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeGridJson } from "./formats/grid_json.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

const MOCK = [
  "generate",
  "--text",
  "--grid",
  "6x6",
  "--vocab",
  "32",
  "--window",
  "3",
  "--cfg",
  "2",
];

async function run(args: string[], input?: Uint8Array) {
  const io = memoryIo({ input });
  const code = await main(args, io);
  const grid = code === 0 ? decodeGridJson(io.stdoutText(), "stdout") : null;
  return { code, stderr: io.stderrText(), grid };
}

function image(tokens: Int32Array, i: number): number[] {
  return Array.from(tokens.subarray(i * 36, (i + 1) * 36));
}

Deno.test("generate --prompt (repeated) conditions each image on its prompt and records them", async () => {
  const { code, stderr, grid } = await run([...MOCK, "--prompt", "a red fox", "--prompt", "cat"]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(grid!.shape, [2, 6, 6]);
  assert.deepEqual(grid!.meta.prompts, ["a red fox", "cat"]);
  assert.deepEqual(grid!.meta.images, [
    { prompt: "a red fox", seed: 0, index: 0 },
    { prompt: "cat", seed: 0, index: 1 },
  ]);
  assert.equal("classes" in grid!.meta, false);
  const alone = await run([...MOCK, "--prompt", "a red fox"]);
  assert.deepEqual(image(grid!.tokens, 0), image(alone.grid!.tokens, 0));
  assert.notDeepEqual(image(grid!.tokens, 0), image(grid!.tokens, 1));
});

Deno.test("generate --prompts FILE gives image i line i, like repeated --prompt", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "prompts.txt");
    await Deno.writeTextFile(file, "a red fox\r\ncat\n");
    const fromFile = await run([...MOCK, "--prompts", file]);
    const fromFlags = await run([...MOCK, "--prompt", "a red fox", "--prompt", "cat"]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.deepEqual(fromFile.grid!.tokens, fromFlags.grid!.tokens);
    const fromStdin = await run([...MOCK, "--prompts", "-"], new TextEncoder().encode("cat\n"));
    assert.deepEqual(fromStdin.grid!.meta.prompts, ["cat"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate --negative-prompt changes the guided grid and is recorded", async () => {
  const plain = await run([...MOCK, "--prompt", "cat"]);
  const negative = await run([...MOCK, "--prompt", "cat", "--negative-prompt", "blurry"]);
  assert.equal(negative.code, 0, negative.stderr);
  assert.deepEqual(negative.grid!.meta.negativePrompts, ["blurry"]);
  assert.notDeepEqual(plain.grid!.tokens, negative.grid!.tokens);
});

Deno.test("bad prompt input is a one-line usage error (exit 2), with no output", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const latin1 = join(dir, "latin1.txt");
    await Deno.writeFile(latin1, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
    const blank = join(dir, "blank.txt");
    await Deno.writeTextFile(blank, "fox\n\ncat\n");
    const cases: [string[], RegExp][] = [
      [[...MOCK, "--prompts", latin1], /latin1\.txt: the prompts file is not UTF-8 text/],
      [[...MOCK, "--prompts", blank], /blank\.txt:2: empty prompt/],
      [
        [...MOCK, "--prompts", join(dir, "none.txt")],
        /none\.txt: cannot read the prompts file \(no such file\)/,
      ],
      [[...MOCK, "--prompt", "  "], /--prompt is empty/],
      [
        [...MOCK, "--prompt", "a", "--class", "2"],
        /--class and --prompt\/--prompts exclude each other/,
      ],
      [
        [...MOCK, "--class", "2"],
        /model mock is text-to-image: pass --prompt TEXT or --prompts FILE/,
      ],
      [
        ["generate", "--grid", "6x6", "--window", "3", "--prompt", "a"],
        /class-conditional \(10 classes\): pass --class N/,
      ],
      [
        [...MOCK, "--prompt", "a", "--prompt", "b", "--batch", "3"],
        /--batch 3 contradicts 2 prompts/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const { code, stderr } = await run(args);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr, pattern);
      assert.equal(
        stderr.trim().split("\n").filter((l) => !l.startsWith("Run")).length <= 2,
        true,
        stderr,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
