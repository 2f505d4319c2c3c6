/**
 * Error lines never echo raw control bytes (issue 15, item 6): an ESC sequence or NUL in a flag,
 * a job file or a file name reaches stderr escaped (`\x1b`), on one line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

// deno-lint-ignore no-control-regex
const RAW = /[\x00-\x08\x0b-\x1f\x7f]/;

async function stderrOf(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = memoryIo();
  const code = await main(args, io);
  return { code, stderr: io.stderrText() };
}

Deno.test("zipar escapes control bytes of flags, file names and job files in its error lines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar_control_" });
  try {
    const flag = await stderrOf(["generate", "--class", "1\x1b[2J", "--schedule", "raster"]);
    assert.equal(flag.code, 2);
    assert.doesNotMatch(flag.stderr, RAW);
    assert.match(flag.stderr, /got '1\\x1b\[2J'/);
    const unknown = await stderrOf(["generate", "--\x1b]0;title\x07", "1"]);
    assert.equal(unknown.code, 2);
    assert.doesNotMatch(unknown.stderr, RAW);
    assert.match(unknown.stderr, /\\x1b\]0;title\\x07/);
    const missing = await stderrOf(["inspect", join(dir, "no\x1b[31mfile\r.json")]);
    assert.equal(missing.code, 1);
    assert.doesNotMatch(missing.stderr, RAW);
    assert.equal(missing.stderr.trim().split("\n").length, 1);
    const jobs = join(dir, "jobs.jsonl");
    const lines = [
      '{"name": "a", "class": 1, "bad\\u001b[2J": 1}',
      '{"name": "b\\u0000\\u001b[31m", "class": 99}',
    ];
    await Deno.writeTextFile(jobs, lines.join("\n") + "\n");
    const batch = await stderrOf(["batch", jobs, "--out-dir", join(dir, "out"), "--grid", "4x4"]);
    assert.equal(batch.code, 1, batch.stderr);
    assert.doesNotMatch(batch.stderr, RAW);
    assert.match(batch.stderr, /unknown field "bad\\x1b\[2J"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
