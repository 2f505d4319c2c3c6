/** `zipar generate --cfg-interval N` (issue 15, item 13): LlamaGen's grid, on raster and ZipAR. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { llamagenCfgLoop } from "../backends/llamagen_cfg_loop.ts";
import { MockBackend } from "../backends/mock/mock.ts";
import { backendFlags } from "./flags/backend_flags.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

Deno.test("zipar generate --cfg-interval N gives LlamaGen's grid whatever the schedule", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar_cfg_interval_" });
  try {
    const spec = backendFlags({ grid: "6x6" });
    assert(spec.backend === "mock");
    const images = [0, 1].map((index) => ({ condition: 4, seed: 9, index }));
    const official = await llamagenCfgLoop(new MockBackend(spec.mock), images, 3, 7);
    for (const schedule of [["--schedule", "raster"], ["--window", "3"]]) {
      const out = join(dir, "g.json"), io = memoryIo();
      const args = ["generate", "--grid", "6x6", "--class", "4", "--batch", "2", "--seed", "9"];
      const flags = ["--cfg", "3", "--cfg-interval", "7", ...schedule, "--out", out, "--quiet"];
      assert.equal(await main([...args, ...flags], io), 0, io.stderrText());
      const grid = JSON.parse(await Deno.readTextFile(out));
      assert.deepEqual(grid.tokens.flat(3), [...official], schedule.join(" "));
      assert.equal(grid.meta.sampling.cfgInterval, 7);
    }
    const io = memoryIo();
    const bad = ["generate", "--cfg-interval=-2", "--schedule", "raster", "--out", "-"];
    assert.equal(await main(bad, io), 2);
    assert.match(io.stderrText(), /--cfg-interval must be an integer in -1\.\./);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
