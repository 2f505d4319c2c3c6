import assert from "node:assert/strict";
import { memoryIo } from "./io/io.ts";
import { planCommand, planJson, planReport, renderPassGrid, renderPlanText } from "./plan.ts";

Deno.test("planReport() matches the paper's 24×24 numbers in both schedules", () => {
  for (
    const [schedule, window, passes] of [
      ["paper", 16, 400],
      ["paper", 12, 312],
      ["paper", 8, 224],
      ["ideal", 16, 392],
      ["ideal", 12, 300],
      ["ideal", 8, 208],
    ] as const
  ) {
    const r = planReport({ height: 24, width: 24, window, schedule, proxy: "r-2" });
    assert.equal(r.passes, passes, `${schedule} s=${window}`);
    assert.equal(r.rasterPasses, 576);
  }
  const raster = planReport({
    height: 24,
    width: 24,
    window: 24,
    schedule: "raster",
    proxy: "r-2",
  });
  assert.equal(raster.passes, 576);
  assert.equal(raster.reduction, 0);
  assert.equal(raster.maxTokensPerPass, 1);
});

Deno.test("planReport() handles EOL grids (Emu3 90×90 at s=7 → 713 passes) without proxies", () => {
  const r = planReport({
    height: 90,
    width: 90,
    window: 7,
    schedule: "ideal",
    proxy: "r-2",
    eol: true,
  });
  assert.equal(r.passes, 713);
  assert.equal(r.proxies, 0);
  assert.equal(r.reduction, 91.2);
});

Deno.test("planReport() numbers each cell with the pass that decodes it", () => {
  const r = planReport({ height: 3, width: 4, window: 2, schedule: "ideal", proxy: "r-2" });
  assert.deepEqual([...r.passOf], [1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 8]);
  assert.equal(r.maxTokensPerPass, 2);
  assert.equal(r.meanTokensPerPass, 1.5);
  assert.equal(renderPassGrid(r.passOf, 3, 4), "1 2 3 4\n3 4 5 6\n5 6 7 8\n");
  assert.deepEqual(planJson(r, true).passOf, [[1, 2, 3, 4], [3, 4, 5, 6], [5, 6, 7, 8]]);
  assert.equal(planJson(r, false).passOf, undefined);
  assert.match(
    renderPlanText(r),
    /^grid {9}3×4, prefix 1, no EOL\nschedule {5}zipar\(ideal, s=2\), proxy r-2 \(2 proxies\)\npasses {7}8\nraster {7}12\nreduction {4}33\.3%\ntokens\/pass {2}max 2, mean 1\.50\n$/,
  );
});

Deno.test("planCommand() prints JSON and text, with --show", async () => {
  const io = memoryIo();
  assert.equal(
    await planCommand([
      "--grid",
      "24x24",
      "--window",
      "8",
      "--schedule",
      "paper",
      "--format",
      "json",
    ], io),
    0,
  );
  const json = JSON.parse(io.stdoutText());
  assert.deepEqual(
    {
      passes: json.passes,
      rasterPasses: json.rasterPasses,
      grid: json.grid,
      window: json.window,
      schedule: json.schedule,
    },
    { passes: 224, rasterPasses: 576, grid: [24, 24], window: 8, schedule: "paper" },
  );
  const text = memoryIo();
  await planCommand(["--grid", "2x3", "--schedule", "raster", "--show"], text);
  assert.ok(text.stdoutText().endsWith("\n1 2 3\n4 5 6\n"));
  await assert.rejects(
    () => planCommand(["--window", "8"], memoryIo()),
    /--grid, --family or --model is required/,
  );
  await assert.rejects(
    () => planCommand(["--grid", "4x4", "--window", "2", "--png", ""], memoryIo()),
    /--png needs/,
  );
});

Deno.test("zipar plan --family gives the paper's numbers: Emu3 90×90 s=7 → 713 of 8,190", async () => {
  const io = memoryIo();
  assert.equal(await planCommand(["--family", "emu3", "--window", "7", "--format", "json"], io), 0);
  const r = JSON.parse(io.stdoutText());
  assert.deepEqual([r.grid, r.eol, r.passes, r.rasterPasses, r.eolRasterPasses], [
    [90, 90],
    true,
    713,
    8100,
    8190,
  ]);
  const janus = memoryIo();
  await planCommand(["--family", "janus", "--window", "8", "--schedule", "paper"], janus);
  assert.match(janus.stdoutText(), /passes {7}224\n/);
  const lumina = memoryIo();
  await planCommand(["--family", "lumina", "--grid", "32x32", "--window", "4"], lumina);
  assert.match(lumina.stdoutText(), /grid {9}32×32, prefix 1, EOL slot per row/);
  await assert.rejects(
    () => planCommand(["--family", "dalle", "--window", "4"], memoryIo()),
    /unknown family dalle/,
  );
  await assert.rejects(
    () => planCommand(["--family", "emu3", "--eol", "--window", "4"], memoryIo()),
    /--family emu3 sets the EOL layout/,
  );
});
