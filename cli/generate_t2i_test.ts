/**
 * LlamaGen text-to-image through the CLI, on the tiny random checkpoint with its FLAN-T5 beside it
 * (backends/python/llamagen_t2i_test_helpers.ts): `zipar generate --prompt` writes the grids with
 * the family's defaults and `zipar plan`'s passes and decodes `--png` with a VQ-16 decoder; a
 * batch job of prompts gives generate's grids; `zipar bench` times raster and ZipAR; and bad input
 * (no text encoder, a T5 directory of another model or width, a class for a text model, a prompt
 * for a class model, the flag on the wrong model) is one line with exit 1 or 2 and no output file.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  removeTinyT2I,
  T2I_HEADS,
  T2I_NAME,
  tinyT2I,
} from "../backends/python/llamagen_t2i_test_helpers.ts";
import { PYTHON, PYTHON_TESTS, tinyModels } from "../backends/python/test_helpers.ts";
import { readGrid } from "./formats/grid_file.ts";
import { decodePng } from "./formats/png.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

const PROMPTS = ["a red fox", "a small blue bird on a wooden fence at dawn"];
/** The python backend on a tiny t2i .pt of no preset, at a 6x6 grid. */
function model(path: string): string[] {
  return ["--backend", "python", "--python", PYTHON!, "--model", path, "--heads", `${T2I_HEADS}`];
}
const GRID = ["--grid", "6x6"];

/** `zipar ARGS` in process: exit code, stdout, stderr. */
async function zipar(...args: string[]) {
  const io = memoryIo({ env: { NO_COLOR: "1" } });
  const code = await main(args, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

Deno.test({
  name: "zipar generate --prompt on LlamaGen t2i: defaults, plan's passes, --png with a VQ-16",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  async fn() {
    const dir = await tinyT2I();
    const out = await Deno.makeTempDir({ prefix: "zipar_t2i_cli_" });
    try {
      const { tinyVqConfig, writeRandomVq } = await import(
        "../backends/webgpu/vq_random_weights.ts"
      );
      const vq = tinyVqConfig({ codebookSize: 256 }); // the tiny GPT's vocabulary
      await writeRandomVq(join(out, "vq"), vq, 3);
      const run = await zipar(
        "generate",
        ...model(join(dir, T2I_NAME)),
        ...GRID,
        ...["--prompt", PROMPTS[0], "--prompt", PROMPTS[1], "--window", "2"],
        ...["--temperature", "0", "-o", join(out, "g.json"), "--quiet"],
        ...["--png", join(out, "g.png"), "--vq", join(out, "vq")],
      );
      assert.equal(run.code, 0, run.stderr);
      const { grid } = await readGrid(join(out, "g.json"), memoryIo());
      assert.deepEqual(grid.shape, [2, 6, 6]);
      assert.equal(grid.meta.family, "llamagen-t2i");
      assert.deepEqual(grid.meta.prompts, PROMPTS);
      assert.equal((grid.meta.sampling as { cfg: number }).cfg, 7.5, "sample_t2i.py's CFG");
      const plan = await zipar(
        "plan",
        ...["--family", "llamagen-t2i", ...GRID, "--window", "2", "--format", "json"],
      );
      assert.equal(plan.code, 0, plan.stderr);
      assert.equal(grid.meta.passes, JSON.parse(plan.stdout).passes);
      assert.equal(grid.meta.passes, 6 + 5 * 2);
      const scale = 2 ** (vq.chMult.length - 1);
      for (const i of [0, 1]) {
        const png = decodePng(await Deno.readFile(join(out, `g_00${i}.png`)));
        assert.deepEqual([png.width, png.height], [6 * scale, 6 * scale]);
      }
      // The text encoder named instead of found beside the checkpoint: the same grids.
      const named = await zipar(
        "generate",
        ...model(join(dir, "no-t5", T2I_NAME)),
        ...["--text-encoder", join(dir, "t5"), ...GRID, "--prompt", PROMPTS[0]],
        ...["--prompt", PROMPTS[1], "--window", "2", "--temperature", "0"],
        ...["-o", join(out, "named.json"), "--quiet"],
      );
      assert.equal(named.code, 0, named.stderr);
      const again = (await readGrid(join(out, "named.json"), memoryIo())).grid;
      assert.deepEqual([...again.tokens], [...grid.tokens]);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "zipar batch of prompt jobs and zipar bench run LlamaGen t2i",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  async fn() {
    const dir = await tinyT2I();
    const out = await Deno.makeTempDir({ prefix: "zipar_t2i_batch_" });
    try {
      const job = { name: "fox", prompt: [PROMPTS[1], PROMPTS[0]], seed: 5, window: 3, cfg: 4 };
      await Deno.writeTextFile(join(out, "jobs.jsonl"), JSON.stringify(job) + "\n");
      const batch = await zipar(
        "batch",
        join(out, "jobs.jsonl"),
        ...["--out-dir", join(out, "b"), ...model(join(dir, T2I_NAME)), ...GRID, "--quiet"],
      );
      assert.equal(batch.code, 0, batch.stderr);
      const generated = await zipar(
        "generate",
        ...model(join(dir, T2I_NAME)),
        ...GRID,
        ...["--prompt", PROMPTS[1], "--prompt", PROMPTS[0], "--seed", "5", "--window", "3"],
        ...["--cfg", "4", "-o", join(out, "g.json"), "--quiet"],
      );
      assert.equal(generated.code, 0, generated.stderr);
      const a = (await readGrid(join(out, "b", "fox.json"), memoryIo())).grid;
      const b = (await readGrid(join(out, "g.json"), memoryIo())).grid;
      assert.deepEqual(a.shape, [2, 6, 6]);
      assert.deepEqual([...a.tokens], [...b.tokens], "the batch job's grids are generate's");
      const bench = await zipar(
        "bench",
        ...model(join(dir, T2I_NAME)),
        ...GRID,
        ...["--prompt", PROMPTS[0], "--windows", "2,4", "--repeat", "1", "--format", "json"],
      );
      assert.equal(bench.code, 0, bench.stderr);
      const report = JSON.parse(bench.stdout);
      assert.equal(report.cfg, 7.5);
      const rows = report.results.map((r: { setting: string; passes: number }) => [
        r.setting,
        r.passes,
      ]);
      assert.deepEqual(rows, [["raster", 36], ["ideal s=2", 16], ["ideal s=4", 26]]);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "zipar inspect --model describes a LlamaGen t2i .pt and names its missing text encoder",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  async fn() {
    const dir = await tinyT2I();
    const describe = async (path: string, ...extra: string[]) => {
      const run = await zipar(
        "inspect",
        "--model",
        path,
        "--heads",
        "4",
        "--format",
        "json",
        ...extra,
      );
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout);
    };
    const found = await describe(join(dir, T2I_NAME));
    assert.deepEqual(
      [found.family, found.layout, found.grid, found.vocab, found.numClasses],
      ["llamagen-t2i", "official .pt", [16, 16], 256, 0],
    );
    assert.deepEqual([found.tokenizer.found, found.tokenizer.where], [true, join(dir, "t5")]);
    assert.match(found.decoder.fix, /--vq vq_ds16_t2i\.pt/);
    const alone = await describe(join(dir, "no-t5", T2I_NAME));
    assert.equal(alone.tokenizer.found, false);
    assert.match(alone.tokenizer.fix, /pass --text-encoder DIR/);
    const named = await describe(join(dir, "no-t5", T2I_NAME), "--text-encoder", join(dir, "t5"));
    assert.equal(named.tokenizer.where, join(dir, "t5"));
  },
});

/** One line on stderr, `zipar: …`, no traceback. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /^zipar: /);
  assert.doesNotMatch(stderr, /Traceback|File "/);
  return lines[0];
}

Deno.test({
  name: "LlamaGen t2i bad input: one line naming the problem and the fix, exit 1 or 2, no output",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  async fn() {
    const dir = await tinyT2I();
    const c2i = join(await tinyModels(), "model.pt");
    const out = await Deno.makeTempDir({ prefix: "zipar_t2i_bad_" });
    const target = join(out, "g.json");
    const t2i = (path: string, ...extra: string[]) =>
      zipar("generate", ...model(path), ...GRID, "--window", "2", "-o", target, ...extra);
    // Each case runs when its turn comes (one worker at a time).
    const cases: [() => Promise<{ code: number; stderr: string }>, number, RegExp][] = [
      [
        () => t2i(join(dir, "no-t5", T2I_NAME), "--prompt", "a fox"),
        1,
        /needs its FLAN-T5 text encoder \(google\/flan-t5-xl\): pass --text-encoder DIR, or put it beside the checkpoint as one of t5\/, flan-t5-xl\/, t5-ckpt\/flan-t5-xl\//,
      ],
      [
        () => t2i(join(dir, T2I_NAME), "--text-encoder", join(dir, "not-t5"), "--prompt", "a fox"),
        1,
        /config\.json: model_type 'bert' is not a T5 encoder; .*pass --text-encoder with google\/flan-t5-xl/,
      ],
      [
        () =>
          t2i(join(dir, T2I_NAME), "--text-encoder", join(dir, "narrow-t5"), "--prompt", "a fox"),
        1,
        /d_model 16 is not the checkpoint's caption width 32/,
      ],
      [
        () => t2i(join(dir, T2I_NAME), "--text-encoder", join(out, "nowhere"), "--prompt", "a fox"),
        2,
        /--text-encoder .*nowhere: no such directory/,
      ],
      [() => t2i(join(dir, T2I_NAME), "--class", "3"), 2, /text-to-image: pass --prompt/],
      [
        () =>
          zipar(
            "generate",
            ...model(c2i),
            "--grid",
            "8x8",
            "--window",
            "2",
            "--prompt",
            "a fox",
            "-o",
            target,
          ),
        2,
        /model llamagen is class-conditional \(10 classes\): pass --class N, not a prompt/,
      ],
      [
        () =>
          zipar(
            "generate",
            ...model(c2i),
            "--grid",
            "8x8",
            "--window",
            "2",
            "--class",
            "1",
            "-o",
            target,
            ...[
              "--text-encoder",
              join(dir, "t5"),
            ],
          ),
        2,
        /--text-encoder is for a LlamaGen text-to-image checkpoint, not a llamagen model: drop the flag/,
      ],
    ];
    const pt = join(dir, T2I_NAME);
    cases.push(
      [
        () =>
          zipar(
            "generate",
            "--backend",
            "webgpu",
            "--model",
            pt,
            "--prompt",
            "a fox",
            "--window",
            "2",
            "-o",
            target,
          ),
        2,
        /WebGPU backend runs text-to-image for Janus directories only\. Text-to-image checkpoints \(LlamaGen t2i \.pt\) run on --backend python/,
      ],
      [
        () => zipar("convert", "--from", "llamagen", pt, "--python", PYTHON!, "--out", target),
        1,
        /a LlamaGen text-to-image checkpoint; zipar convert makes WebGPU directories of class models only: run it as it is with --backend python/,
      ],
    );
    try {
      for (const [running, code, pattern] of cases) {
        const { code: got, stderr } = await running();
        assert.equal(got, code, stderr);
        assert.match(oneLine(stderr), pattern);
        assert.equal(await Deno.stat(target).then(() => true, () => false), false, stderr);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
      await removeTinyT2I();
    }
  },
});
