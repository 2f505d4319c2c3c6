/**
 * One bad job never takes a batch down, on each text-to-image family of the Python backend (tiny
 * random directories): one `zipar batch` per family whose jobs share one settings group — two
 * good prompts, one too long for the model's context, one the worker finds empty ("\x1f" is
 * whitespace to Python), one empty in the job file. The bad jobs fail, each with its own
 * one-line reason in summary.json; the good jobs' grids are written and equal `zipar generate`'s
 * for their prompts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTinyEmu3, tinyEmu3 } from "../../backends/python/emu3_test_helpers.ts";
import { removeTinyJanus, tinyJanus } from "../../backends/python/janus_test_helpers.ts";
import { removeTinyLumina, tinyLumina } from "../../backends/python/lumina_test_helpers.ts";
import { needs } from "../../testing/runtimes.ts";
import { readGrid } from "../formats/grid_file.ts";
import { memoryIo } from "../io/io.ts";
import { main } from "../main.ts";

const FAMILIES: [string, () => Promise<string>][] = [
  ["janus", () => tinyJanus()],
  ["emu3", () => tinyEmu3()],
  ["lumina", () => tinyLumina()],
];

const GOOD = ["a red fox", "a small blue bird"];

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = memoryIo();
  const code = await main(args, io);
  return { code, stderr: io.stderrText() };
}

Deno.test.afterAll(async () => {
  await removeTinyJanus();
  await removeTinyEmu3();
  await removeTinyLumina();
});

for (const [family, tiny] of FAMILIES) {
  Deno.test({
    name:
      `zipar batch on ${family}: a too-long and an empty prompt fail alone, their group is generated`,
    ...needs(`batch job isolation on ${family}`, ["python"]),
    sanitizeResources: false,
    async fn() {
      const model = await tiny();
      const dir = await Deno.makeTempDir({ prefix: `zipar_isolate_${family}_` });
      try {
        const job = (name: string, prompt: string) =>
          JSON.stringify({ name, prompt, window: 2, temperature: 0 });
        await Deno.writeTextFile(
          join(dir, "jobs.jsonl"),
          [
            job("fox", GOOD[0]),
            job("long", "a fox ".repeat(300)),
            job("blank", "\x1f"),
            job("empty", ""),
            job("bird", GOOD[1]),
          ].join("\n") + "\n",
        );
        const out = join(dir, "out");
        const batch = await run([
          ...["batch", join(dir, "jobs.jsonl"), "--out-dir", out],
          ...["--backend", "python", "--model", model, "--quiet"],
        ]);
        assert.equal(batch.code, 1, batch.stderr);
        assert.ok(!batch.stderr.includes("Traceback"), batch.stderr);
        const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
        assert.deepEqual([summary.done, summary.failed], [2, 3]);
        const reasons = Object.fromEntries(
          summary.failures.map((f: { name: string; reason: string }) => [f.name, f.reason]),
        );
        assert.match(reasons.long, /^generation failed: .*the prompt is \d+ tokens.* shorten it$/);
        assert.match(reasons.blank, /empty/); // the worker's "empty prompt", or the client's
        assert.match(reasons.empty, /"prompt" must hold non-empty strings/);
        for (const reason of Object.values(reasons)) assert.ok(!String(reason).includes("\n"));
        const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
        assert.deepEqual(files, ["bird.json", "fox.json", "summary.json"]);

        const generate = await run([
          ...["generate", "--backend", "python", "--model", model, "--window", "2"],
          ...["--prompt", GOOD[0], "--prompt", GOOD[1], "--temperature", "0", "--quiet"],
          ...["-o", join(dir, "g.json")],
        ]);
        assert.equal(generate.code, 0, generate.stderr);
        const { grid } = await readGrid(join(dir, "g.json"), memoryIo());
        const cells = grid.shape[1] * grid.shape[2];
        for (const [k, name] of ["fox", "bird"].entries()) {
          const got = (await readGrid(join(out, `${name}.json`), memoryIo())).grid;
          assert.deepEqual(got.meta.prompts, [GOOD[k]]);
          assert.deepEqual(got.tokens, grid.tokens.slice(k * cells, (k + 1) * cells), name);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
