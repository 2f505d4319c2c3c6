import assert from "node:assert/strict";
import { type BenchReport, renderCsv, renderMarkdown, spread, summarize } from "./report.ts";

const settings = [
  {
    setting: "raster",
    schedule: "raster",
    window: 4,
    runs: [20, 16, 18].map((wallMs) => ({ wallMs, passes: 16 })),
  },
  {
    setting: "ideal s=2",
    schedule: "ideal",
    window: 2,
    runs: [12, 8, 10].map((wallMs) => ({ wallMs, passes: 10 })),
  },
];

Deno.test("spread() gives median, range and quartiles", () => {
  assert.deepEqual(spread([4, 1, 3, 2, 5]), { median: 3, min: 1, max: 5, q1: 2, q3: 4 });
  assert.equal(spread([7]).median, 7);
});

Deno.test("summarize() computes pass ratio, speedup vs raster and their quotient", () => {
  const [raster, zipar] = summarize(settings, { batch: 2, height: 4, width: 4 });
  assert.deepEqual([raster.passes, raster.passRatio, raster.speedup, raster.efficiency], [
    16,
    1,
    1,
    1,
  ]);
  assert.equal(zipar.passes, 10);
  assert.equal(zipar.passRatio, 1.6);
  assert.equal(zipar.speedup, 1.8);
  assert.equal(zipar.efficiency, 1.8 / 1.6);
  assert.deepEqual(zipar.msPerImage, { median: 5, min: 4, max: 6, q1: 4.5, q3: 5.5 });
  assert.equal(zipar.tokensPerSecond, 32 / 0.01);
  assert.deepEqual(zipar.runs, [12, 8, 10]);
});

function report(): BenchReport {
  return {
    format: "zipar.bench/1",
    zipar: "0",
    backend: "mock",
    model: "mock",
    grid: [4, 4],
    vocab: 16,
    batch: 2,
    cfg: 1,
    mode: "auto",
    seed: 0,
    repeat: 3,
    warmup: 1,
    loadMs: 0.25,
    results: summarize(settings, { batch: 2, height: 4, width: 4 }),
  };
}

Deno.test("renderMarkdown() prints a heading and an aligned table with a row per setting", () => {
  const lines = renderMarkdown(report()).trimEnd().split("\n");
  assert.match(lines[0], /backend mock, model mock \(4×4, vocab 16\), batch 2/);
  assert.match(lines[2], /^\| setting +\| passes \| pass ratio \| ms\/image \(median\) \|/);
  assert.match(lines[3], /^\| -+ \| -+: \|/);
  assert.match(
    lines[4],
    /^\| raster +\| +16 \| +1\.00× \| +9\.00 \| +8\.00–10\.00 \| +1778 \| +1\.00× \| +1\.00 \|$/,
  );
  assert.match(
    lines[5],
    /^\| ideal s=2 \| +10 \| +1\.60× \| +5\.00 \| +4\.00–6\.00 \| +3200 \| +1\.80× \| +1\.13 \|$/,
  );
  assert.equal(new Set(lines.slice(2).map((l) => l.length)).size, 1);
});

Deno.test("renderMarkdown() names the Python worker's torch, device, dtype and threads", () => {
  assert.doesNotMatch(renderMarkdown(report()).split("\n")[0], /threads/);
  const worker = { torch: "2.13.0", device: "cpu", dtype: "float32", threads: 1 };
  const head = renderMarkdown({ ...report(), backend: "python", worker }).split("\n")[0];
  assert.match(head, /; torch 2\.13\.0 on cpu float32, 1 CPU threads$/);
});

Deno.test("renderCsv() prints a header and one row per setting", () => {
  const lines = renderCsv(report()).trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.ok(lines[0].startsWith("setting,schedule,window,passes,raster_passes,pass_ratio,"));
  assert.equal(lines[2].split(",").length, lines[0].split(",").length);
  assert.ok(lines[2].startsWith("ideal s=2,ideal,2,10,16,1.6000,10.000,8.000,12.000,5.000,"));
});
