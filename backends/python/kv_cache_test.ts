/**
 * The worker's slot KV cache (worker/kv_cache.py) against a dense float64 recompute, with
 * condition blocks of different lengths per sequence (the layout the t2i families need):
 * per-sequence position offsets, several queries of a sequence per step, overwrites, and
 * unwritten positions masked (a zero-key variant must differ, or the check could not fail).
 */

import assert from "node:assert/strict";
import { PYTHON, PYTHON_TESTS, runPython } from "./test_helpers.ts";

Deno.test({
  name: "SlotKVCache attends to exactly the written positions, with per-sequence offsets",
  ...PYTHON_TESTS,
  async fn() {
    for (const seed of ["0", "1"]) {
      const out = JSON.parse(await runPython(PYTHON!, "kv_cache_check", ["--seed", seed]));
      assert.deepEqual(out.offsets, [0, 3]);
      assert.equal(out.queries, 30);
      assert.ok(out.maxDiff < 1e-6, `seed ${seed}: max diff to the recompute ${out.maxDiff}`);
      assert.ok(out.zeroKeyDiff > 1e-2, `seed ${seed}: zero keys differ by ${out.zeroKeyDiff}`);
    }
  },
});
