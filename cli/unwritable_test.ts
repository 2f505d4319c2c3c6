/**
 * Small usage and output faults (issue 15, item 8): a bogus `--backend` of `zipar decode
 * --model` is a usage error, and a target that cannot be created is reported by its cause — a
 * directory that refuses new files (/proc), permission denied (/sys), a run without write
 * permission — never Deno's raw "(os error N)" text or its `--allow-*` hints.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

async function zipar(...args: string[]): Promise<{ code: number; stderr: string }> {
  const io = memoryIo();
  const code = await main(args, io);
  return { code, stderr: io.stderrText() };
}

Deno.test("zipar decode --model DIR --backend bogus is a usage error", async () => {
  const bad = await zipar("decode", "g.json", "--model", "fixtures/demo", "--backend", "bogus");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--backend must be one of webgpu, python, got 'bogus'/);
});

/** Spawn `deno run PERMISSIONS cli/main.ts ARGS` as zipar runs (-A: /proc and /sys are
 * closed to the test's own permissions). */
async function spawn(permissions: string[], ...args: string[]) {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, main, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("zipar names why an output cannot be created, in one line", async () => {
  const mock = ["--grid", "4x4", "--schedule", "raster"];
  const proc = await spawn(["-A"], "generate", ...mock, "--out", "/proc/zipar-x.json");
  assert.equal(proc.code, 1);
  assert.match(
    proc.stderr,
    /^zipar: cannot write \/proc\/zipar-x\.json: \/proc does not let files be created/,
  );
  const dir = await Deno.makeTempDir({ prefix: "zipar_unwritable_" });
  try {
    const jobs = join(dir, "jobs.jsonl");
    await Deno.writeTextFile(jobs, '{"name": "a", "class": 1}\n');
    const cases = [["/proc/zipar-b", /does not let files be created/], [
      "/sys/zipar-b",
      /permission denied in \/sys/,
    ]] as const;
    for (const [outDir, why] of cases) {
      const batch = await spawn(["-A"], "batch", jobs, "--out-dir", outDir, "--grid", "4x4");
      assert.equal(batch.code, 1, batch.stderr);
      assert.match(batch.stderr, new RegExp(`^zipar: cannot create --out-dir ${outDir}: `));
      assert.match(batch.stderr, why);
      assert.doesNotMatch(batch.stderr, /os error|mkdir '/);
    }
    // Started without write permission: the cause, not Deno's --allow-all hint.
    const denied = await spawn(
      ["--allow-read", "--allow-env"],
      "generate",
      ...mock,
      "--out",
      join(dir, "g.json"),
    );
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(
      denied.stderr,
      /cannot write .*g\.json: zipar was started without write permission/,
    );
    assert.doesNotMatch(denied.stderr, /allow-all/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
