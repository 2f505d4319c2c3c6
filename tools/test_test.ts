import assert from "node:assert/strict";
import { skippedSuites } from "./test.ts";

Deno.test("skippedSuites() lists each loud skip line once", () => {
  const out = "a\n!!! SKIPPING WebGPU tests: no adapter !!!\nb\n" +
    "!!! SKIPPING WebGPU tests: no adapter !!!\n!!! SKIPPING demo eval: no python !!!\n";
  assert.deepEqual(skippedSuites(out), ["WebGPU tests: no adapter", "demo eval: no python"]);
  assert.deepEqual(skippedSuites("ok | 3 passed | 0 failed"), []);
});
