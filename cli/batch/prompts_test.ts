/**
 * `zipar batch` with prompt jobs on the mock's text-to-image mode: each job's grids equal
 * `zipar generate --prompt` with the same settings, prompts are recorded, and a class job on a
 * text model fails that job alone with a line naming the fix.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readGrid } from "../formats/grid_file.ts";
import { decodeGridJson } from "../formats/grid_json.ts";
import { memoryIo } from "../io/io.ts";
import { main } from "../main.ts";

const MOCK = ["--text", "--grid", "6x6", "--vocab", "32"];

Deno.test("zipar batch runs prompt jobs like zipar generate --prompt, and fails class jobs on a text model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const jobs = [
      { name: "fox", prompt: ["a red fox", "a fox"], negativePrompt: "blurry", window: 3, cfg: 2 },
      { name: "cls", class: 3, window: 3 },
    ];
    const file = join(dir, "jobs.jsonl");
    await Deno.writeTextFile(file, jobs.map((j) => JSON.stringify(j)).join("\n") + "\n");
    const io = memoryIo();
    const code = await main(["batch", file, "--out-dir", join(dir, "out"), ...MOCK, "--quiet"], io);
    assert.equal(code, 1, io.stderrText()); // one job failed
    const summary = JSON.parse(await Deno.readTextFile(join(dir, "out", "summary.json")));
    assert.deepEqual([summary.done, summary.failed], [1, 1]);
    assert.equal(summary.failures[0].name, "cls");
    assert.match(summary.failures[0].reason, /text-to-image: give the job a "prompt"/);

    const { grid } = await readGrid(join(dir, "out", "fox.json"), io);
    assert.deepEqual(grid.meta.prompts, ["a red fox", "a fox"]);
    assert.deepEqual(grid.meta.negativePrompts, ["blurry", "blurry"]);
    const gen = memoryIo();
    const args = [
      "generate",
      ...MOCK,
      "--window",
      "3",
      "--cfg",
      "2",
      "--negative-prompt",
      "blurry",
    ];
    assert.equal(await main([...args, "--prompt", "a red fox", "--prompt", "a fox"], gen), 0);
    assert.deepEqual(grid.tokens, decodeGridJson(gen.stdoutText(), "stdout").tokens);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
