/**
 * Every command that writes, pointed at odd targets: a symlink stays a link (its target is
 * written atomically), a character device or a FIFO is written through and never replaced, a
 * full device exits 1 with "No space left on device", and no temporary file is left behind.
 * `zipar batch` writes only inside its directory: a symlink at its summary is replaced instead.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { needs, PYTHON } from "../testing/runtimes.ts";
import { readGrid } from "./formats/grid_file.ts";
import { memoryIo } from "./io/io.ts";
import { deviceNode, readFifo } from "./io/test_nodes.ts";
import { main } from "./main.ts";
import { copyTinyGpt } from "../backends/python/test_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DEMO = join(ROOT, "fixtures/demo");
const GOLDEN = join(ROOT, "fixtures/golden/mock_16x16_seed7.json");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_targets_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function zipar(args: string[]): Promise<{ code: number; stderr: string }> {
  const io = memoryIo({ env: { NO_COLOR: "1" } });
  const code = await main(args, io);
  return { code, stderr: io.stderrText() };
}

/** Names in `dir` (recursively) that look like temporary files. */
function temps(dir: string): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.name.includes(".tmp-")) found.push(e.name);
    if (e.isDirectory) found.push(...temps(join(dir, e.name)));
  }
  return found;
}

/** The commands that write one file, each with `out` as its output. */
const WRITERS: Record<string, (out: string) => string[]> = {
  generate: (out) => ["generate", "--window", "4", "--format", "json", "--out", out, "--quiet"],
  decode: (out) => ["decode", GOLDEN, "--model", DEMO, "-o", out, "--quiet"],
  "plan --png": (out) => ["plan", "--grid", "8x8", "--window", "2", "--png", out],
};

for (const [name, args] of Object.entries(WRITERS)) {
  Deno.test(`zipar ${name} onto a symlink writes the link's target and keeps the link`, async () => {
    await withDir(async (dir) => {
      await Deno.mkdir(join(dir, "real"));
      await Deno.writeTextFile(join(dir, "real", "target"), "old");
      await Deno.symlink("real/target", join(dir, "link"));
      const { code, stderr } = await zipar(args(join(dir, "link")));
      assert.equal(code, 0, stderr);
      assert.equal((await Deno.lstat(join(dir, "link"))).isSymlink, true);
      assert.notEqual(await Deno.readTextFile(join(dir, "real", "target")), "old");
      assert.deepEqual(temps(dir), []);
    });
  });

  Deno.test(`zipar ${name} onto a character device writes through it`, async () => {
    await withDir(async (dir) => {
      const sink = await deviceNode(dir, "null");
      const { code, stderr } = await zipar(args(sink));
      assert.equal(code, 0, stderr);
      assert.equal((await Deno.lstat(sink)).isCharDevice, true);
      assert.deepEqual(temps(dir), []);
    });
  });

  Deno.test(`zipar ${name} onto a full device exits 1: No space left on device`, async () => {
    await withDir(async (dir) => {
      const full = await deviceNode(dir, "full");
      const { code, stderr } = await zipar(args(full));
      assert.equal(code, 1);
      assert.equal(stderr, `zipar: cannot write ${full}: No space left on device\n`);
      assert.equal((await Deno.lstat(full)).isCharDevice, true);
      assert.deepEqual(temps(dir), []);
    });
  });

  Deno.test(`zipar ${name} onto a FIFO writes to its reader and keeps the FIFO`, async () => {
    await withDir(async (dir) => {
      const fifo = join(dir, "pipe");
      await new Deno.Command("mkfifo", { args: [fifo] }).output();
      const read = readFifo(fifo);
      const { code, stderr } = await zipar(args(fifo));
      assert.equal(code, 0, stderr);
      assert(((await read.result()) ?? "").length > 0, "nothing came through the FIFO");
      assert.equal((await Deno.lstat(fifo)).isFifo, true);
      assert.deepEqual(temps(dir), []);
    });
  });
}

Deno.test("zipar generate --format npy onto /dev/null writes no sidecar beside the device", async () => {
  await withDir(async (dir) => {
    const sink = await deviceNode(dir, "null");
    const { code, stderr } = await zipar([
      "generate",
      "--window",
      "4",
      "--format",
      "npy",
      "-o",
      sink,
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(await Deno.stat(`${sink}.json`).catch(() => null), null);
  });
});

Deno.test("zipar batch replaces a symlink at its summary (never writes through it), writes into a FIFO", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "out");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(dir, "kept.json"), "old");
    await Deno.symlink("../kept.json", join(out, "summary.json"));
    const jobs = join(dir, "jobs.jsonl");
    await Deno.writeTextFile(jobs, '{"name": "a", "window": 4}\n');
    const first = await zipar(["batch", jobs, "--out-dir", out, "--quiet"]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await Deno.lstat(join(out, "summary.json"))).isFile, true);
    assert.equal(JSON.parse(await Deno.readTextFile(join(out, "summary.json"))).done, 1);
    assert.equal(await Deno.readTextFile(join(dir, "kept.json")), "old"); // outside out/
    await Deno.remove(join(out, "summary.json"));
    const fifo = join(out, "summary.json");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const read = readFifo(fifo);
    const again = await zipar(["batch", jobs, "--out-dir", out, "--quiet"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse((await read.result()) ?? "{}").skipped, 1);
    assert.equal((await Deno.lstat(fifo)).isFifo, true);
    assert.deepEqual(temps(dir), []);
  });
});

Deno.test("zipar batch with a summary on a full device exits 1 and leaves no temp file", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "out");
    await Deno.mkdir(out);
    // A device node at the summary's name is written through (as root, a private one); a link
    // to the machine's /dev/full is replaced by the summary, never written through.
    const full = await deviceNode(out, "full"), summary = join(out, "summary.json");
    const own = full.startsWith(out);
    await (own ? Deno.rename(full, summary) : Deno.symlink(full, summary));
    const jobs = join(dir, "jobs.jsonl");
    await Deno.writeTextFile(jobs, '{"name": "a", "window": 4}\n');
    const { code, stderr } = await zipar(["batch", jobs, "--out-dir", out, "--quiet"]);
    assert.equal(code, own ? 1 : 0, stderr);
    if (own) assert.match(stderr, /summary\.json: No space left on device\n$/);
    assert.equal((await Deno.lstat(own ? summary : full)).isCharDevice, true);
    assert((await readGrid(join(out, "a.json"), memoryIo())).grid.shape[0] === 1);
    assert.deepEqual(temps(dir), []);
  });
});

Deno.test({
  name: "zipar demo -o onto a symlink and onto a full device",
  ...needs("zipar demo on the Python backend", ["python"]),
  fn: async () => {
    await withDir(async (dir) => {
      await Deno.writeTextFile(join(dir, "sheet.png"), "old");
      await Deno.symlink("sheet.png", join(dir, "link.png"));
      const demo = (out: string) =>
        zipar(["demo", "--backend", "python", "--python", PYTHON!, "--per-class", "1", "-o", out]);
      const ok = await demo(join(dir, "link.png"));
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((await Deno.lstat(join(dir, "link.png"))).isSymlink, true);
      assert.notEqual(await Deno.readTextFile(join(dir, "sheet.png")).catch(() => ""), "old");
      const full = await deviceNode(dir, "full");
      const bad = await demo(full);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, new RegExp(`cannot write ${full}: No space left on device\\n$`));
      assert.deepEqual(temps(dir), []);
    });
  },
});

Deno.test({
  name: "zipar convert keeps symlinked outputs links and refuses a device as --out",
  ...needs("zipar convert", ["python"]),
  fn: async () => {
    await withDir(async (dir) => {
      await copyTinyGpt(join(dir, "tiny"));
      const pt = join(dir, "tiny", "model.pt");
      const out = join(dir, "out");
      await Deno.mkdir(join(dir, "real"));
      await Deno.mkdir(out);
      await Deno.writeTextFile(join(dir, "real", "w.safetensors"), "old");
      await Deno.symlink("../real/w.safetensors", join(out, "model.safetensors"));
      const convert = (to: string) =>
        zipar([
          "convert",
          "--from",
          "llamagen",
          pt,
          "--heads",
          "4",
          "--grid",
          "8x8",
          "--python",
          PYTHON!,
          "--out",
          to,
        ]);
      const ok = await convert(out);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((await Deno.lstat(join(out, "model.safetensors"))).isSymlink, true);
      assert((await Deno.stat(join(dir, "real", "w.safetensors"))).size > 1000);
      const sink = await deviceNode(dir, "null");
      const bad = await convert(sink);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^zipar: .*is not a directory.*\n$/);
      assert.equal((await Deno.lstat(sink)).isCharDevice, true);
      assert.deepEqual(temps(dir), []);
    });
  },
});
