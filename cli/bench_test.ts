/**
 * `zipar bench`, end to end on small mock grids: the table, JSON and CSV carry raster and every
 * setting, with pass counts from the formulas. Timing values are never asserted.
 */

import assert from "node:assert/strict";
import { BENCH_OPTIONS, BENCH_USAGE } from "./bench.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "bench", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("zipar bench prints a Markdown table with raster and each window", async () => {
  const r = await bench(["--grid", "8x8", "--windows", "2,4", "--adaptive", "2", "--repeat", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^zipar bench: backend mock, model mock \(8×8, vocab 64\), batch 1,/);
  assert.match(lines[2], /^\| setting +\| passes \| pass ratio \|/);
  const rows = lines.slice(4).map((l) => l.split("|").map((c) => c.trim()));
  assert.deepEqual(rows.map((c) => [c[1], c[2]]), [
    ["raster", "64"],
    ["ideal s=2", "22"],
    ["ideal s=4", "36"],
    ["adaptive m=2", rows[3][2]],
  ]);
  assert.equal(rows[0][7], "1.00×");
});

Deno.test("zipar bench --format json has the documented fields and pass counts from the formulas", async () => {
  const r = await bench([
    ...["--grid", "6x8", "--windows", "2,3,8", "--schedule", "paper", "--repeat", "3"],
    ...["--batch", "2", "--cfg", "2", "--format", "json"],
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.format, "zipar.bench/1");
  for (
    const key of ["backend", "model", "grid", "vocab", "batch", "cfg", "mode", "seed", "repeat"]
  ) {
    assert.ok(key in report, key);
  }
  assert.deepEqual([report.grid, report.batch, report.cfg, report.repeat, report.warmup], [
    [6, 8],
    2,
    2,
    3,
    1,
  ]);
  assert.equal(typeof report.loadMs, "number");
  const [h, w] = report.grid;
  assert.deepEqual(
    report.results.map((x: { setting: string; passes: number }) => [x.setting, x.passes]),
    [["raster", h * w], ...[2, 3, 8].map((s) => [`paper s=${s}`, 2 * w + (h - 2) * s])],
  );
  const raster = report.results[0];
  assert.equal(raster.speedup, 1);
  for (const x of report.results) {
    assert.equal(x.rasterPasses, h * w);
    assert.equal(x.passRatio, h * w / x.passes);
    assert.equal(x.runs.length, 3);
    assert.ok(x.wallMs.min <= x.wallMs.median && x.wallMs.median <= x.wallMs.max);
    assert.ok(Math.abs(x.msPerImage.median - x.wallMs.median / 2) < 1e-9);
    assert.ok(Math.abs(x.speedup - raster.wallMs.median / x.wallMs.median) < 1e-9);
    assert.ok(Math.abs(x.efficiency - x.speedup / x.passRatio) < 1e-9);
    assert.ok(Math.abs(x.tokensPerSecond - (2 * h * w) / (x.wallMs.median / 1000)) < 1e-6);
  }
});

Deno.test("zipar bench --format csv prints a header and a row per setting", async () => {
  const r = await bench(["--grid", "4x4", "--windows", "1", "--repeat", "1", "--format", "csv"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[1], /^raster,raster,4,16,16,1\.0000,/);
  assert.match(lines[2], /^ideal s=1,ideal,1,7,16,/);
});

Deno.test("zipar bench usage errors exit 2 in one line", async () => {
  for (
    const [args, re] of [
      [["--grid", "8x8"], /--windows is required/],
      [["--grid", "8x8", "--windows", "9"], /window 9 is larger than the grid width 8/],
      [["--windows", "4", "--format", "xml"], /--format must be one of md, json, csv/],
      [["--windows", "4", "--backend", "webgpu"], /needs --model/],
      [["--adaptive", "2", "--mode", "planned"], /--mode planned needs a schedule that compiles/],
      [["--windows", "4", "--profile"], /--profile needs --backend python/],
    ] as const
  ) {
    const r = await bench([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1);
  }
});

Deno.test("zipar bench --help lists exactly the options its parser accepts", () => {
  const documented = new Set(
    [...BENCH_USAGE.split("\nColumns:")[0].matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) =>
      m[1]
    ),
  );
  assert.deepEqual([...documented].sort(), Object.keys(BENCH_OPTIONS).sort());
});
