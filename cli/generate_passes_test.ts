/**
 * `zipar generate` records each image's passes in the grid metadata for the reactive schedules
 * (adaptive, adaptive2, sjd, ideal-sjd, paper-sjd), whose images need different numbers of
 * passes: `meta.scheduleStats.passes[i]` is image i's, and `meta.passes` (the batch's) is the
 * largest of them, since a batch runs until its slowest image is done.
 */
import assert from "node:assert/strict";
import { generateCommand } from "./generate.ts";
import { decodeGridJson } from "./formats/grid_json.ts";
import { memoryIo } from "./io/io.ts";

const CLASSES = "0,1,2,3,4,5,6,7";

async function meta(schedule: string[]) {
  const io = memoryIo();
  const code = await generateCommand(
    [
      ...["--class", CLASSES, "--seed", "11", "--grid", "8x8", "--vocab", "16"],
      ...["--reach-above-right", "2", "--quiet", ...schedule],
    ],
    io,
  );
  assert.equal(code, 0, io.stderrText());
  return decodeGridJson(io.stdoutText(), "stdout").meta;
}

function imagePasses(m: Record<string, unknown>): number[] {
  const passes = (m.scheduleStats as { passes?: unknown } | undefined)?.passes;
  assert(Array.isArray(passes), `no per-image passes in ${JSON.stringify(m.scheduleStats)}`);
  return passes as number[];
}

for (
  const schedule of [
    ["--schedule", "adaptive", "--min-window", "2"],
    ["--schedule", "adaptive2", "--min-window", "2"],
    ["--schedule", "sjd", "--draft", "4"],
    ["--schedule", "ideal-sjd", "--window", "3", "--draft", "3"],
    ["--schedule", "paper-sjd", "--window", "3", "--draft", "3"],
  ]
) {
  Deno.test(`generate ${schedule.join(" ")} records each image's passes in the metadata`, async () => {
    const m = await meta(schedule);
    const passes = imagePasses(m);
    assert.equal(passes.length, CLASSES.split(",").length);
    for (const p of passes) assert(Number.isInteger(p) && p > 0 && p <= 64, `passes ${p}`);
    assert.equal(Math.max(...passes), m.passes, "the batch's passes are its slowest image's");
    assert.equal(m.rasterPasses, 64);
  });
}

Deno.test("SJD images differ in passes, and each takes fewer than raster's 64", async () => {
  const passes = imagePasses(await meta(["--schedule", "sjd", "--draft", "4"]));
  assert(passes.every((p) => p < 64), `passes ${passes}`);
  assert(new Set(passes).size > 1, `every image took ${passes[0]} passes`);
});

Deno.test("fixed windows take the same passes for every image: meta.passes alone", async () => {
  const m = await meta(["--window", "3"]);
  assert.equal(m.passes, 8 + 7 * 3);
  assert.equal((m.scheduleStats as { passes?: unknown } | undefined)?.passes, undefined);
});
