/**
 * `zipar generate --backend python --model FILE.pt` on the checkpoints users have (issue 15,
 * items 9, 10, 12, 8): a LlamaGen training checkpoint with `--weights ema`, num_classes from its
 * args said in one `[python] note:` line that `--quiet` drops, `--heads`/`--grid` for a size of
 * no preset (else one line saying to convert first), no CFG on a model without a null class.
 * The real command is spawned where the worker's own stderr is what is checked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  PYTHON,
  PYTHON_TESTS,
  removeTinyModels,
  tinyModels,
} from "../backends/python/test_helpers.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

/** The size flags of the tiny `.pt` files (no preset). */
const TINY = ["--heads", "4", "--grid", "8x8"];

/** Spawn `zipar ARGS`: exit code and stderr. */
async function zipar(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name: "zipar generate runs a LlamaGen training checkpoint; its num_classes note obeys --quiet",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const models = await tinyModels();
    const out = await Deno.makeTempDir({ prefix: "zipar_gen_ckpt_" });
    try {
      const run = (...extra: string[]) =>
        zipar(
          "generate",
          ...["--backend", "python", "--python", PYTHON!, "--model", join(models, "train.pt")],
          ...["--heads", "4", "--weights", "ema", "--class", "3", "--cfg", "2"],
          ...["--schedule", "raster", "--out", join(out, "g.json"), ...extra],
        );
      const loud = await run();
      assert.equal(loud.code, 0, loud.stderr);
      const notes = loud.stderr.split("\n").filter((l) => l.includes("note:"));
      assert.deepEqual(notes, [
        "[python] note: num_classes = 10 (from the checkpoint's training args), and a null-class row for CFG",
      ]);
      const grid = JSON.parse(await Deno.readTextFile(join(out, "g.json")));
      assert.deepEqual(grid.shape, [1, 8, 8]); // the grid of its args: 128 / 16
      const quiet = await run("--quiet");
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.doesNotMatch(quiet.stderr, /note:/);
    } finally {
      await Deno.remove(out, { recursive: true });
      await removeTinyModels();
    }
  },
});

Deno.test({
  name: "zipar generate --model FILE.pt: one line to convert first, no CFG without a null class",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const models = await tinyModels();
    try {
      const generate = async (model: string, ...extra: string[]) => {
        const io = memoryIo();
        const args = ["generate", "--backend", "python", "--python", PYTHON!, "--model", model];
        const code = await main([...args, "--class", "1", "--schedule", "raster", ...extra], io);
        return { code, stderr: io.stderrText() };
      };
      const noPreset = await generate(join(models, "model.pt"));
      assert.equal(noPreset.code, 1);
      assert.equal(noPreset.stderr.trim().split("\n").length, 1, noPreset.stderr);
      assert.match(
        noPreset.stderr,
        /match no preset: pass --heads N and --grid HxW, or convert it first/,
      );
      // The same file of no preset with --heads and --grid: it runs.
      const out = join(models, "pt-grid.json");
      const sized = await generate(
        join(models, "model.pt"),
        "--heads",
        "4",
        "--grid",
        "8x8",
        "--out",
        out,
        "--quiet",
      );
      assert.equal(sized.code, 0, sized.stderr);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(out)).shape, [1, 8, 8]);
      // --png with a .pt, which holds no decoder: the worker says so before any pass runs, and
      // neither the grid nor an image is written.
      const lost = join(models, "pt-png.json");
      const png = ["--png", join(models, "pt.png"), "--out", lost];
      const noDecoder = await generate(join(models, "model.pt"), ...TINY, ...png);
      assert.equal(noDecoder.code, 1, noDecoder.stderr);
      assert.match(
        noDecoder.stderr,
        /^zipar: --png: .*a \.pt checkpoint holds no image decoder; pass a VQ decoder \(--vq PATH\)/,
      );
      assert.equal(noDecoder.stderr.trim().split("\n").length, 1, noDecoder.stderr);
      for (const file of [lost, join(models, "pt.png")]) {
        assert.throws(() => Deno.statSync(file), Deno.errors.NotFound);
      }
      const dir = await generate(join(models, "st"), "--grid", "8x8");
      assert.equal(dir.code, 2, dir.stderr); // the worker refuses it: a usage error all the same
      assert.match(dir.stderr, /makes one image size, the grid of its config\.json; drop --grid/);
      const nodrop = join(models, "train_nodrop.pt");
      const cfg = await generate(nodrop, "--heads", "4", "--cfg", "2", "--quiet");
      assert.equal(cfg.code, 1);
      assert.match(cfg.stderr, /has no null-class row .*cannot do CFG: pass --cfg 1/);
      const io = memoryIo();
      const webgpu = ["generate", "--backend", "webgpu", "--model", join(models, "model.pt")];
      assert.equal(await main([...webgpu, "--class", "1", "--schedule", "raster"], io), 1);
      assert.match(
        io.stderrText(),
        /is a PyTorch checkpoint, not a model directory .*convert it first/,
      );
    } finally {
      await removeTinyModels();
    }
  },
});
