/**
 * transformers' own Janus loop (worker/families/janus/transformers_loop.py, the row of `zipar
 * bench --reference`) on the transformers release the GPU machines have (5.17), whose generate()
 * omits a required argument of _prepare_static_cache: zipar passes None there, once per model,
 * and leaves a release that passes it (5.24) alone. Stand-ins of both signatures, no download.
 */

import assert from "node:assert/strict";
import { PYTHON, PYTHON_TESTS, runPython } from "./test_helpers.ts";

Deno.test({
  name: "Janus's transformers loop runs on a release whose generate() omits prefill_chunk_size",
  ...PYTHON_TESTS,
  async fn() {
    const out = JSON.parse(await runPython(PYTHON!, "static_cache_fit_check", []));
    assert.match(out.before.error, /_prepare_static_cache/, "the stand-in fails as 5.17 does");
    assert.equal(out.old, null, "after the fit, generate() reaches the cache with None");
    assert.match(out.said, /omits _prepare_static_cache's required prefill_chunk_size/);
    assert.equal(out.again, true);
    assert.equal(out.new, "", "a release that passes it is left alone");
    assert.equal(out.newResult, null);
  },
});
