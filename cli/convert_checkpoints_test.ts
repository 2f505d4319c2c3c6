/**
 * `zipar convert` on the checkpoints users have (issue 15, items 8–10): LlamaGen training
 * checkpoints (model, optimizer, steps, args as an argparse.Namespace, ema) load without running
 * pickled code, `--weights model|ema` picks the state dict, num_classes comes from `--num-classes`
 * or the training args (one note naming which, none under --quiet), and a broken file is one line
 * saying what is wrong with it, never a Python exception's words. Needs python with torch.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadLlamagen } from "../backends/llamagen_config.ts";
import {
  PYTHON,
  PYTHON_TESTS,
  removeTinyModels,
  tinyModels,
} from "../backends/python/test_helpers.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

/** `zipar convert --from llamagen IN ... --out OUT`: exit code and stderr. */
async function convert(input: string, out: string, ...flags: string[]) {
  const io = memoryIo();
  const args = ["convert", "--from", "llamagen", input, "--out", out, "--python", PYTHON!];
  const code = await main([...args, ...flags], io);
  return { code, stderr: io.stderrText() };
}

/** The first values of a converted directory's token embedding, to tell weights apart. */
async function fingerprint(dir: string): Promise<number[]> {
  const { weights } = await loadLlamagen(dir);
  return [...weights.get("tok_embeddings.weight")!.data.subarray(0, 4)];
}

Deno.test({
  name: "zipar convert reads LlamaGen training checkpoints: --weights, num_classes from args",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const models = await tinyModels();
    const out = await Deno.makeTempDir({ prefix: "zipar_train_ckpt_" });
    try {
      const train = join(models, "train.pt");
      // The grid comes from args (image_size 128 / downsample 16), heads from the flag.
      const model = await convert(train, join(out, "model"), "--heads", "4");
      assert.equal(model.code, 0, model.stderr);
      assert.match(
        model.stderr,
        /^zipar: note: num_classes = 10 \(from the checkpoint's training args\)/,
      );
      assert.equal(model.stderr.split("\n").filter((l) => l.includes("note:")).length, 1);
      const { config } = await loadLlamagen(join(out, "model"));
      assert.deepEqual([config.numClasses, config.grid, config.nullClass], [10, [8, 8], true]);
      const ema = await convert(train, join(out, "ema"), "--heads", "4", "--weights", "ema");
      assert.equal(ema.code, 0, ema.stderr);
      assert.notDeepEqual(
        await fingerprint(join(out, "ema")),
        await fingerprint(join(out, "model")),
      );
      const top = await convert(
        join(models, "top.pt"),
        join(out, "top"),
        "--heads",
        "4",
        "--grid",
        "8x8",
      );
      assert.equal(top.code, 0, top.stderr);
      assert.deepEqual(await fingerprint(join(out, "top")), await fingerprint(join(out, "model")));
      // A model trained without class dropout: 10 classes, 10 rows, no null class.
      const quiet = await convert(
        join(models, "train_nodrop.pt"),
        join(out, "nodrop"),
        "--heads",
        "4",
        "--quiet",
      );
      assert.deepEqual([quiet.code, quiet.stderr], [0, ""]);
      const nodrop = (await loadLlamagen(join(out, "nodrop"))).config;
      assert.deepEqual([nodrop.numClasses, nodrop.nullClass], [10, false]);
      const flag = await convert(
        join(models, "model.pt"),
        join(out, "flag"),
        "--heads",
        "4",
        "--grid",
        "8x8",
        "--num-classes",
        "11",
      );
      assert.equal(flag.code, 0, flag.stderr);
      assert.match(flag.stderr, /num_classes = 11 \(from --num-classes\), and no null-class row/);
      const misfit = await convert(
        train,
        join(out, "misfit"),
        "--heads",
        "4",
        "--num-classes",
        "9",
      );
      assert.equal(misfit.code, 1);
      assert.match(
        misfit.stderr,
        /num_classes 9 \(from --num-classes\) does not fit the class table's 11 rows/,
      );
      const noEma = await convert(
        join(models, "train_nodrop.pt"),
        join(out, "x"),
        "--heads",
        "4",
        "--weights",
        "ema",
      );
      assert.equal(noEma.code, 1);
      assert.match(noEma.stderr, /no EMA weights .*: drop --weights ema/);
      assert.equal((await convert(train, join(out, "x"), "--weights", "best")).code, 2);
      // The Namespace is the only class let in: code hidden in one of its attributes is refused.
      const evil = await convert(join(models, "evil_args.pt"), join(out, "evil"), "--heads", "4");
      assert.equal(evil.code, 1);
      assert.match(evil.stderr, /refusing to load: the pickle would import posix\.system/);
      await assert.rejects(Deno.stat(join(models, "PWNED")), Deno.errors.NotFound);
      await assert.rejects(Deno.stat(join(out, "evil")), Deno.errors.NotFound);
    } finally {
      await Deno.remove(out, { recursive: true });
      await removeTinyModels();
    }
  },
});

Deno.test({
  name: "zipar convert says what is wrong with an empty, truncated or garbage checkpoint",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const models = await tinyModels();
    const dir = await Deno.makeTempDir({ prefix: "zipar_bad_ckpt_" });
    try {
      const pt = await Deno.readFile(join(models, "model.pt"));
      const st = await Deno.readFile(join(models, "st", "model.safetensors"));
      const garbage = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251);
      const cases: [string, Uint8Array, RegExp][] = [
        ["empty.pt", new Uint8Array(0), /the file is empty \(0 bytes\)/],
        ["half.pt", pt.subarray(0, pt.length >> 1), /a truncated or corrupt zip-format checkpoint/],
        ["garbage.pt", garbage, /not a PyTorch checkpoint: neither .* zip format nor a pickle/],
        ["pickle.pt", new Uint8Array([0x80, 2, 0, 0, 0, 0]), /a pickle torch\.save did not write/],
        ["empty.safetensors", new Uint8Array(0), /the file is empty/],
        ["cut.safetensors", st.subarray(0, st.length - 1000), /the file is truncated/],
        ["garbage.safetensors", garbage, /header length \d+ exceeds .*not a safetensors file/],
      ];
      for (const [name, bytes, why] of cases) {
        await Deno.writeFile(join(dir, name), bytes);
        const { code, stderr } = await convert(
          join(dir, name),
          join(dir, `out-${name}`),
          "--heads",
          "4",
          "--grid",
          "8x8",
        );
        assert.equal(code, 1, `${name}: ${stderr}`);
        assert.equal(stderr.trim().split("\n").length, 1, `${name}: ${stderr}`);
        assert.match(stderr, why, name);
        assert.doesNotMatch(stderr, /IndexError|Errno|unpack|Traceback|KeyError/, name);
        await assert.rejects(Deno.stat(join(dir, `out-${name}`)), Deno.errors.NotFound);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await removeTinyModels();
    }
  },
});
