/**
 * The worker sampler's pruned CPU argmax (worker/sampler.py keyed_argmax) picks the same token
 * as the definition scored over every column, on logits with ties, -inf columns, NaNs, large
 * and tiny spreads, temperatures and top-k — and it did prune (it scored few columns exactly).
 */

import assert from "node:assert/strict";
import { PYTHON, PYTHON_TESTS, runPython } from "./test_helpers.ts";

Deno.test({
  name: "worker sampler: the pruned argmax equals the full definition and skips most columns",
  ...PYTHON_TESTS,
  async fn() {
    for (const seed of ["0", "1"]) {
      const out = JSON.parse(await runPython(PYTHON!, "sampler_check", ["--seed", seed]));
      assert.equal(out.cases, 720);
      assert.equal(out.mismatches, 0, `seed ${seed}: ${out.mismatches} draws differ`);
      assert.ok(out.scored * 20 < out.columns, `seed ${seed}: scored ${out.scored}/${out.columns}`);
    }
  },
});
