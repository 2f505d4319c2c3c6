/**
 * End-to-end tests: spawn the real `zipar` command (`deno run -A cli/main.ts …`) for what only a
 * process shows: exit codes, stdout/stderr, pipes, signals, files on disk, the golden grid.
 *
 * The golden grid fixtures/golden/mock_16x16_seed7.json pins the mock backend's tokens and the
 * stable metadata. If a change is meant to alter them, regenerate it deliberately with
 *   deno task zipar generate --backend mock --grid 16x16 --vocab 64 --class 3 --seed 7 \
 *     --window 4 --out fixtures/golden/mock_16x16_seed7.json --quiet
 * and say why in the commit.
 */

import assert from "node:assert/strict";
import { needs, PYTHON } from "../testing/runtimes.ts";
import { readGrid } from "./formats/grid_file.ts";
import { memoryIo } from "./io/io.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

function command(args: string[], stdin: "piped" | "null" = "null") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

async function zipar(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await command(args).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_e2e_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("zipar plan: 24×24 s=8 takes 224 passes (paper) and 208 (ideal), with --show and --png", async () => {
  await withDir(async (dir) => {
    const paper = await zipar([
      "plan",
      "--grid",
      "24x24",
      "--window",
      "8",
      "--schedule",
      "paper",
      "--format",
      "json",
    ]);
    assert.equal(paper.code, 0, paper.stderr);
    const p = JSON.parse(paper.stdout);
    assert.deepEqual([p.passes, p.rasterPasses, p.grid, p.window, p.schedule], [
      224,
      576,
      [24, 24],
      8,
      "paper",
    ]);
    const ideal = await zipar([
      ...["plan", "--grid", "24x24", "--window", "8", "--schedule", "ideal", "--proxy", "r-1"],
      ...["--eol", "--prefix", "2", "--show", "--png", `${dir}/heat.png`, "--format", "json"],
    ]);
    assert.equal(ideal.code, 0, ideal.stderr);
    assert.equal(ideal.stderr, "");
    const i = JSON.parse(ideal.stdout);
    assert.deepEqual([i.passes, i.schedule, i.proxy, i.eol, i.prefix], [
      208,
      "ideal",
      "r-1",
      true,
      2,
    ]);
    assert.equal(i.passOf[23][23], 208);
    const png = await Deno.readFile(`${dir}/heat.png`);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.deepEqual(names(dir), ["heat.png"]);
  });
});

Deno.test("zipar generate reproduces the golden grid: tokens and stable metadata", async () => {
  const golden = JSON.parse(
    await Deno.readTextFile(`${ROOT}fixtures/golden/mock_16x16_seed7.json`),
  );
  await withDir(async (dir) => {
    const out = `${dir}/g.json`;
    const run = await zipar([
      ...["generate", "--backend", "mock", "--grid", "16x16", "--vocab", "64", "--class", "3"],
      ...["--seed", "7", "--window", "4", "--out", out, "--quiet"],
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    const fresh = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(fresh.shape, golden.shape);
    assert.deepEqual(fresh.tokens, golden.tokens);
    const stable = (meta: Record<string, unknown>) => {
      const { wallMs: _, zipar: __, ...rest } = meta;
      return rest;
    };
    assert.deepEqual(stable(fresh.meta), stable(golden.meta));
    assert.equal(typeof fresh.meta.wallMs, "number");
  });
});

Deno.test("zipar generate --format npy writes int32 [B, H, W] + sidecar that inspect and numpy read", async () => {
  await withDir(async (dir) => {
    const out = `${dir}/grids.npy`;
    const run = await zipar([
      ...["generate", "--class", "1,2", "--seed", "3", "--window", "2", "--schedule", "paper"],
      ...[
        "--proxy",
        "r-1",
        "--cfg",
        "1.5",
        "--temperature",
        "0.8",
        "--top-k",
        "10",
        "--top-p",
        "0.9",
      ],
      ...["--mode", "interactive", "--grid", "8x12", "--format", "npy", "--out", out],
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, ""); // stderr is not a terminal: no progress, no summary
    assert.deepEqual(names(dir), ["grids.npy", "grids.npy.json"]);
    const { grid } = await readGrid(out, memoryIo());
    assert.deepEqual(grid.shape, [2, 8, 12]);
    assert.deepEqual(grid.meta.sampling, { temperature: 0.8, topK: 10, topP: 0.9, cfg: 1.5 });
    const inspect = await zipar(["inspect", out, "--format", "json"]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const doc = JSON.parse(inspect.stdout);
    assert.deepEqual([doc.format, doc.dtype, doc.metaSource, doc.shape], ["npy", "<i4", "sidecar", [
      2,
      8,
      12,
    ]]);
  });
});

Deno.test({
  name: "numpy.load reads zipar's .npy grids as int32 [B, H, W]",
  ...needs("reading .npy with numpy", ["python"]),
}, async () => {
  await withDir(async (dir) => {
    const out = `${dir}/grids.npy`;
    const run = await zipar([
      "generate",
      "--class",
      "1,2",
      "--window",
      "2",
      "--grid",
      "8x12",
      "-o",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const { grid } = await readGrid(out, memoryIo());
    const script = `import numpy as np, sys
a = np.load(sys.argv[1])
assert a.dtype == np.int32 and a.shape == (2, 8, 12), (a.dtype, a.shape)
print(",".join(str(int(x)) for x in a.flatten()))`;
    const numpy = await new Deno.Command(PYTHON!, {
      args: ["-c", script, out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(numpy.success, decoder.decode(numpy.stderr));
    assert.equal(decoder.decode(numpy.stdout).trim(), Array.from(grid.tokens).join(","));
  });
});

Deno.test("zipar generate | zipar inspect - works through a pipe", async () => {
  const gen = command(["generate", "--class", "4", "--seed", "9", "--window", "3", "--grid", "6x6"])
    .spawn();
  const inspect = command(["inspect", "-", "--format", "json"], "piped").spawn();
  const genStderr = new Response(gen.stderr).text();
  const [genStatus, inspectOut] = await Promise.all([
    gen.status,
    inspect.output(),
    gen.stdout.pipeTo(inspect.stdin),
  ]);
  assert.equal(genStatus.code, 0, await genStderr);
  assert.equal(inspectOut.code, 0, decoder.decode(inspectOut.stderr));
  const doc = JSON.parse(decoder.decode(inspectOut.stdout));
  assert.deepEqual([doc.file, doc.format, doc.shape, doc.meta.seed, doc.meta.classes], [
    "-",
    "json",
    [1, 6, 6],
    9,
    [4],
  ]);
});

Deno.test("zipar generate | head: a reader that goes away ends the run quietly with exit 0", async () => {
  const child = command(["generate", "--window", "8", "--grid", "64x64", "--batch", "16"]).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.ok(first.value && first.value.length > 0);
  await reader.cancel(); // like `head -c 10` exiting
  const status = await child.status;
  assert.equal(await stderr, "");
  assert.equal(status.code, 0);
});

Deno.test("zipar generate interrupted by SIGINT leaves no partial file and exits 130", async () => {
  await withDir(async (dir) => {
    const child = command([
      ...["generate", "--schedule", "raster", "--grid", "512x512", "--mode", "interactive"],
      ...["--out", `${dir}/big.json`],
    ]).spawn();
    const stderr = new Response(child.stderr).text();
    const stdout = new Response(child.stdout).text();
    const deadline = Date.now() + 30_000;
    while (names(dir).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(
      names(dir)[0] ?? "",
      /^\.big\.json\.tmp-/,
      "the temp file appears while generating",
    );
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 130);
    assert.equal(await stderr, "zipar: interrupted (SIGINT), no output written\n");
    assert.equal(await stdout, "");
    assert.deepEqual(names(dir), []);
  });
});

Deno.test("zipar: usage errors exit 2, runtime errors exit 1, each in one line on stderr", async () => {
  await withDir(async (dir) => {
    const usage = await zipar(["generate", "--window", "0", "--out", `${dir}/g.json`]);
    assert.equal(usage.code, 2);
    assert.equal(usage.stdout, "");
    assert.equal(
      usage.stderr,
      "zipar: --window must be an integer in 1..16, got '0'. Run 'zipar generate --help' for usage.\n",
    );
    await Deno.writeFile(
      `${dir}/bad.npy`,
      new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x40, 0]),
    );
    const bad = await zipar(["inspect", `${dir}/bad.npy`]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr, `zipar: ${dir}/bad.npy: truncated .npy file (no complete header)\n`);
    const demo = await zipar(["demo", "--model", dir]);
    assert.equal(demo.code, 1);
    assert.match(demo.stderr, /^zipar: demo model missing: .*model\.safetensors .*\n$/);
    assert.deepEqual(names(dir), ["bad.npy"]);
  });
});
