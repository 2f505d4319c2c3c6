/**
 * `zipar generate` refuses in one line what it cannot do, and leaves nothing behind (issue 25,
 * class 8): `--mode planned` with a reactive schedule is a usage error before any backend
 * opens; a grid that cannot be written leaves no `--png` image either.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { needs } from "../testing/runtimes.ts";
import { memoryIo, StdoutClosedError } from "./io/io.ts";
import { deviceNode } from "./io/test_nodes.ts";
import { main } from "./main.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DEMO = join(ROOT, "fixtures/demo");

async function zipar(args: string[]): Promise<{ code: number; stderr: string; out: string }> {
  const io = memoryIo({ env: { NO_COLOR: "1" } });
  const code = await main(args, io);
  return { code, stderr: io.stderrText(), out: io.stdoutText() };
}

Deno.test("--mode planned with a reactive schedule is a usage error before any backend opens", async () => {
  const reactive = [
    ["--schedule", "adaptive", "--min-window", "2"],
    ["--schedule", "adaptive2", "--min-window", "2"],
    ["--schedule", "sjd"],
    ["--schedule", "ideal-sjd", "--window", "2"],
    ["--schedule", "paper-sjd", "--window", "2"],
  ];
  // A python that does not exist: opening the backend would fail (exit 1) before the check.
  const nowhere = ["--backend", "python", "--python", "/nonexistent/python", "--model", DEMO];
  for (const schedule of reactive) {
    for (const backend of [["--grid", "4x4"], nowhere]) {
      const run = await zipar([
        "generate",
        ...backend,
        ...schedule,
        "--mode",
        "planned",
        "-o",
        "-",
      ]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `^zipar: --mode planned needs a schedule that compiles into a plan: --schedule ${
            schedule[1]
          } reacts to the model's outputs\\. Drop --mode planned`,
        ),
      );
      assert.equal(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
      assert.equal(run.out, "");
    }
  }
  const fixed = await zipar(["generate", "--grid", "4x4", "--window", "2", "--mode", "planned"]);
  assert.equal(fixed.code, 0, fixed.stderr);
});

Deno.test({
  name: "a grid that cannot be written leaves no --png behind",
  ...needs("generate --png --vq (a WebGPU decoder)", ["webgpu"]),
  fn: async () => {
    const { tinyVqConfig, writeRandomVq } = await import("../backends/webgpu/vq_random_weights.ts");
    const dir = await Deno.makeTempDir({ prefix: "zipar_refusals_" });
    try {
      await writeRandomVq(join(dir, "vq"), tinyVqConfig(), 5);
      const full = await deviceNode(dir, "full");
      const mock = ["--grid", "3x4", "--vocab", "64", "--class", "1,2", "--window", "2", "--quiet"];
      const png = ["--png", join(dir, "img.png"), "--vq", join(dir, "vq")];
      const run = await zipar(["generate", ...mock, "-o", full, "--format", "json", ...png]);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, `zipar: cannot write ${full}: No space left on device\n`);
      const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(left.filter((n) => n !== "dev-full"), ["vq"]);
      // An image that cannot be written is refused before the generation: no grid either.
      const tty = memoryIo({ env: { NO_COLOR: "1" }, tty: true });
      const nowhere = ["--png", join(dir, "missing", "img.png"), "--vq", join(dir, "vq")];
      const early = ["generate", ...mock, "-o", join(dir, "g.json"), ...nowhere];
      assert.equal(await main(early, tty), 1, tty.stderrText());
      assert.match(tty.stderrText(), /^zipar: cannot write .*missing\/img_000\.png/);
      assert.equal(tty.stderrText().trimEnd().split("\n").length, 1, tty.stderrText());
      assert.throws(() => Deno.statSync(join(dir, "g.json")), Deno.errors.NotFound);
      // Written where it can be: the grid and both images.
      const ok = await zipar(["generate", ...mock, "-o", join(dir, "g.json"), ...png]);
      assert.equal(ok.code, 0, ok.stderr);
      assert(Deno.statSync(join(dir, "img_001.png")).isFile);
      // A stdout whose reader left is no failure (exit 0): the images are still written.
      await Deno.remove(join(dir, "img_001.png"));
      const io = { ...memoryIo(), writeStdout: () => Promise.reject(new StdoutClosedError()) };
      assert.equal(await main(["generate", ...mock, "-o", "-", ...png], io), 0);
      assert(Deno.statSync(join(dir, "img_001.png")).isFile);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--png that cannot be decoded or written is refused before the generation runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar_png_first_" });
  try {
    const grid = join(dir, "g.json");
    const mock = ["generate", "--grid", "4x4", "--window", "2", "-o", grid];
    for (
      const [png, re] of [
        [["--png", join(dir, "img.png"), "--vq", join(dir, "no-vq")], /^zipar: --png: .*no-vq/],
        [["--png", join(dir, "img.png"), "--vq", DEMO], /^zipar: --png: /],
      ] as const
    ) {
      // A terminal: a generation that ran would have drawn its progress line first.
      const io = memoryIo({ env: { NO_COLOR: "1" }, tty: true });
      const code = await main([...mock, ...png], io);
      assert.equal(code, 1, io.stderrText());
      assert.match(io.stderrText(), re);
      assert.equal(io.stderrText().trimEnd().split("\n").length, 1, io.stderrText());
      assert.doesNotMatch(io.stderrText(), /pass|step/, "the generation ran before the refusal");
      assert.deepEqual([...Deno.readDirSync(dir)], [], "something was left behind");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
