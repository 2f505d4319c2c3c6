/**
 * The EOL families through the CLI on tiny random directories: `zipar generate --backend python
 * --model DIR --prompt … --window s --png` on Emu3-Gen (5×5 + EOL) and Lumina-mGPT 1.0 and 2.0
 * (4×4 + EOL) writes the grid with the family's defaults recorded and its PNG equal to
 * `zipar decode`'s;
 * `zipar plan --model DIR` counts the same passes; a `zipar batch` prompt job gives the same
 * grid. Bad input (another family's directory, missing decoder weights, a grid the layout or
 * the decoder cannot take, a window beyond the grid) is one line, exit 1 or 2, and no file.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { removeTinyEmu3, tinyEmu3 } from "../backends/python/emu3_test_helpers.ts";
import { removeTinyLumina, tinyLumina } from "../backends/python/lumina_test_helpers.ts";
import { removeTinyLumina2, tinyLumina2 } from "../backends/python/lumina2_test_helpers.ts";
import { needs } from "../testing/runtimes.ts";
import { readGrid } from "./formats/grid_file.ts";
import { decodePng } from "./formats/png.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

interface Family {
  family: string;
  model: () => Promise<string>;
  side: number; // grid H = W of the test directory
  px: number; // pixels per token
  sampling: Record<string, number>; // the family's defaults, as the grid records them
}

const FAMILIES: Family[] = [
  { family: "emu3", model: () => tinyEmu3(), side: 5, px: 8, sampling: { cfg: 3 } },
  {
    family: "lumina",
    model: () => tinyLumina(),
    side: 4,
    px: 16,
    sampling: { cfg: 3, topK: 2000 },
  },
  {
    family: "lumina2",
    model: () => tinyLumina2(),
    side: 4,
    px: 8,
    sampling: { cfg: 4, topK: 4096 },
  },
];

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = memoryIo();
  const code = await main(args, io);
  return { code, stderr: io.stderrText() };
}

for (const f of FAMILIES) {
  Deno.test({
    name: `zipar generate/plan/decode/batch on a tiny ${f.family} directory agree`,
    ...needs(`${f.family} through the CLI`, ["python"]),
    sanitizeResources: false,
    async fn() {
      const model = await f.model();
      const dir = await Deno.makeTempDir();
      const passes = f.side + (f.side - 1) * 2; // s = 2: W + (H − 1)·s
      try {
        const gen = await run([
          ...["generate", "--backend", "python", "--model", model, "--window", "2"],
          ...["--prompt", "a red fox", "--temperature", "0", "--quiet"],
          ...["-o", join(dir, "g.json"), "--png", join(dir, "g.png")],
        ]);
        assert.equal(gen.code, 0, gen.stderr);
        const { grid } = await readGrid(join(dir, "g.json"), memoryIo());
        assert.deepEqual(grid.shape, [1, f.side, f.side]);
        assert.equal(grid.meta.family, f.family);
        assert.deepEqual(grid.meta.prompts, ["a red fox"]);
        assert.equal(grid.meta.passes, passes);
        const sampling = grid.meta.sampling as Record<string, number>;
        for (const [key, value] of Object.entries(f.sampling)) assert.equal(sampling[key], value);
        const png = await Deno.readFile(join(dir, "g.png"));
        const { width, height } = decodePng(png);
        assert.deepEqual([height, width], [f.side * f.px, f.side * f.px]);

        const decode = await run([
          "decode",
          join(dir, "g.json"),
          "--model",
          model,
          "-o",
          join(dir, "d.png"),
        ]);
        assert.equal(decode.code, 0, decode.stderr);
        assert.deepEqual(await Deno.readFile(join(dir, "d.png")), png);

        const plan = memoryIo();
        assert.equal(
          await main(["plan", "--model", model, "--window", "2", "--format", "json"], plan),
          0,
        );
        const counted = JSON.parse(plan.stdoutText());
        assert.deepEqual([counted.grid, counted.eol, counted.passes], [
          [f.side, f.side],
          true,
          passes,
        ]);

        const jobs = join(dir, "jobs.jsonl");
        await Deno.writeTextFile(
          jobs,
          JSON.stringify({ name: "fox", prompt: "a red fox", window: 2, temperature: 0 }) + "\n" +
            JSON.stringify({ name: "cls", class: 3, window: 2 }) + "\n",
        );
        const out = join(dir, "out");
        const batch = await run([
          "batch",
          jobs,
          "--out-dir",
          out,
          "--backend",
          "python",
          "--model",
          model,
          "--quiet",
        ]);
        assert.equal(batch.code, 1, batch.stderr); // the class job fails alone
        const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
        assert.deepEqual([summary.done, summary.failed], [1, 1]);
        assert.match(summary.failures[0].reason, /text-to-image: give the job a "prompt"/);
        const job = (await readGrid(join(out, "fox.json"), memoryIo())).grid;
        assert.deepEqual(job.tokens, grid.tokens);
        assert.deepEqual(job.meta.prompts, ["a red fox"]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

/** Run a failing command: its exit code, one stderr line, no Python traceback. */
async function fails(args: string[], code: number, pattern: RegExp): Promise<void> {
  const r = await run(args);
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("[python] note"));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
  assert.ok(!r.stderr.includes("Traceback"), r.stderr);
}

Deno.test({
  name: "EOL families' bad input through the CLI: one line, exit 1 or 2, no output file",
  ...needs("EOL bad input through the CLI", ["python"]),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const emu3 = await tinyEmu3(), lumina = await tinyLumina();
    const outputs = ["-o", join(dir, "x.json"), "--png", join(dir, "x.png"), "--quiet"];
    const generate = (model: string, window = "2") => [
      ...["generate", "--backend", "python", "--model", model, "--window", window],
      ...["--prompt", "a fox", ...outputs],
    ];
    try {
      // The layout: a directory named for 1024 px is a 64×64 grid, beyond the test context.
      const big = join(dir, "lumina-test-1024");
      await Deno.symlink(lumina, big);
      const cases: [string[], number, RegExp][] = [
        [generate(await tinyEmu3("other-family")), 1, /model_type 'llama' is no family/],
        [generate(await tinyEmu3("no-decoder")), 1, /no VQ decoder weights .*whole model dir/],
        [generate(await tinyLumina("no-vqgan")), 1, /no VQGAN decoder weights .*vqgan\.yaml/],
        [generate(big), 1, /grid 64x64 needs 4160 image positions, .*pick a smaller size/],
        [generate(emu3, "9"), 2, /--window must be an integer in 1\.\.5, got '9'/],
      ];
      // The decoder: a 20×30 grid (a mock's) is more than either model can have made.
      const mock = await run([
        ...["generate", "--grid", "20x30", "--vocab", "64", "--window", "4"],
        ...["-o", join(dir, "big.json"), "--quiet"],
      ]);
      assert.equal(mock.code, 0, mock.stderr);
      for (const [model, what] of [[emu3, "Emu3"], [lumina, "Lumina-mGPT"]]) {
        cases.push([
          ["decode", join(dir, "big.json"), "--model", model, "-o", join(dir, "x.png")],
          1,
          new RegExp(`a 20x30 grid needs 623 positions .* ${what} cannot have made it`),
        ]);
      }
      for (const [args, code, pattern] of cases) {
        await fails(args, code, pattern);
        for (const name of ["x.json", "x.png"]) {
          await assert.rejects(Deno.lstat(join(dir, name)), Deno.errors.NotFound, args.join(" "));
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await removeTinyEmu3();
      await removeTinyLumina();
      await removeTinyLumina2();
    }
  },
});
