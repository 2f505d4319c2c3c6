/**
 * Prompts obey one set of caps however they arrive (issue 25, class 5): `--prompt` (repeated),
 * `--prompts FILE`, `--prompts -` and batch job fields share the image-count cap (checked while
 * reading: stdin is not read past it), an over-long prompt or one that is not valid text (a
 * lone UTF-16 surrogate) is a one-line usage error (exit 2) naming where it came from.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { checkJob, parseJobs } from "./batch/jobs.ts";
import { conditionFlags, MAX_IMAGES } from "./flags/condition_flags.ts";
import { ValidationError } from "./flags/args.ts";
import { type Io, memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

const MOCK = ["generate", "--text", "--grid", "4x4", "--vocab", "16", "--window", "2"];
const LONG = "x".repeat(100_001);

async function zipar(args: string[]): Promise<{ code: number; stderr: string; out: string }> {
  const io = memoryIo({ env: { NO_COLOR: "1" } });
  const code = await main(args, io);
  return { code, stderr: io.stderrText(), out: io.stdoutText() };
}

/** An Io whose stdin serves `total` bytes of "a\n" lines on demand, counting what was pulled. */
function lazyStdin(total: number): { io: Io; pulled: () => number } {
  const chunk = new TextEncoder().encode("a\n".repeat(32 * 1024)); // 64 KiB
  let served = 0;
  const stdin = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (served >= total) return controller.close();
      served += chunk.length;
      controller.enqueue(chunk.slice());
    },
  }, { highWaterMark: 0 });
  return { io: { ...memoryIo(), stdin: () => stdin }, pulled: () => served };
}

/** One line on stderr, exit 2, nothing on stdout. */
function assertUsage(run: { code: number; stderr: string; out: string }, pattern: RegExp) {
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, pattern);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
  assert.equal(run.out, "");
}

Deno.test("every prompt source shares the image cap, and stdin is not read past it", async () => {
  assert.equal(MAX_IMAGES, 65_536);
  const many = Array.from({ length: MAX_IMAGES + 1 }, () => "a");
  await assert.rejects(
    conditionFlags({ prompt: many }, memoryIo()),
    (e) => e instanceof ValidationError && /--prompt given 65537 times/.test(e.message),
  );
  // 4 MiB of one-letter lines: 2M prompts; refused after the first 65,537 lines.
  const { io, pulled } = lazyStdin(4 * 2 ** 20);
  await assert.rejects(
    conditionFlags({ prompts: "-" }, io),
    (e) => e instanceof ValidationError && /^stdin: more than 65536 prompts/.test(e.message),
  );
  assert(pulled() < 2 ** 20, `read ${pulled()} bytes of stdin before refusing`);
  const exactly = await conditionFlags({ prompts: "-" }, lazyStdin(2 * MAX_IMAGES).io);
  assert.equal(exactly.batch, MAX_IMAGES);
  const classes = Array.from({ length: MAX_IMAGES + 1 }, () => "1").join(",");
  await assert.rejects(conditionFlags({ class: classes }, memoryIo()), /--class lists 65537/);
  await assert.rejects(conditionFlags({ batch: "65537" }, memoryIo()), /--batch .*1\.\.65536/);

  const dir = await Deno.makeTempDir({ prefix: "zipar_prompt_caps_" });
  try {
    const file = join(dir, "p.txt");
    await Deno.writeTextFile(file, "a\n".repeat(MAX_IMAGES + 1));
    assertUsage(
      await zipar([...MOCK, "--prompts", file, "-o", join(dir, "g.json")]),
      /^zipar: .*p\.txt: more than 65536 prompts \(one image each\)\. /,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["p.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // A job's prompt list is capped like its count (the images it asks for).
  assert.throws(
    () => checkJob({ name: "a", prompt: Array(2 ** 20 + 1).fill("a"), window: 2 }),
    /"prompt" lists more than 1048576 prompts/,
  );
});

Deno.test("an over-long prompt is a usage error from argv as from a file, naming where", async () => {
  assertUsage(
    await zipar([...MOCK, "--prompt", LONG]),
    /^zipar: --prompt: prompt has 100001 characters, more than 100000\. /,
  );
  assertUsage(
    await zipar([...MOCK, "--prompt", "a", "--prompt", LONG]),
    /^zipar: --prompt 2: prompt has 100001 characters/,
  );
  assertUsage(
    await zipar([...MOCK, "--prompt", "a", "--negative-prompt", LONG]),
    /^zipar: --negative-prompt: prompt has 100001 characters/,
  );
  const dir = await Deno.makeTempDir({ prefix: "zipar_prompt_caps_" });
  try {
    const file = join(dir, "p.txt");
    await Deno.writeTextFile(file, `a\nb\n${LONG}\n`);
    assertUsage(
      await zipar([...MOCK, "--prompts", file]),
      /p\.txt:3: prompt has 100001 characters, more than 100000\. /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a prompt with a lone UTF-16 surrogate is refused as invalid text, wherever it arrives", async () => {
  assertUsage(
    await zipar([...MOCK, "--prompt", "fox\uD800"]),
    /^zipar: --prompt: prompt holds a lone UTF-16 surrogate \(U\+D800\) at character 4: it is not valid Unicode text\. /,
  );
  assertUsage(
    await zipar([...MOCK, "--prompt", "a", "--negative-prompt", "\uDC00"]),
    /^zipar: --negative-prompt: prompt holds a lone UTF-16 surrogate/,
  );
  const dir = await Deno.makeTempDir({ prefix: "zipar_prompt_caps_" });
  try {
    const file = join(dir, "p.txt");
    // "a fox" then U+D800 encoded as if it were a character (CESU-8): not UTF-8.
    await Deno.writeFile(file, new Uint8Array([0x61, 0x0a, 0xed, 0xa0, 0x80, 0x0a]));
    assertUsage(
      await zipar([...MOCK, "--prompts", file]),
      /p\.txt: the prompts file is not UTF-8 text \(line 2\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.throws(
    () => checkJob({ name: "a", prompt: ["a fox", "\ud800"], window: 2 }),
    /"prompt" holds a lone UTF-16 surrogate \(U\+D800\)/,
  );
  const [entry] = parseJobs(
    '{"name": "a", "prompt": "a", "negativePrompt": "\\udfff", "window": 2}\n',
  );
  assert.match(entry.error ?? "", /"negativePrompt" holds a lone UTF-16 surrogate \(U\+DFFF\)/);
});
