/**
 * Backend parity: the Python (PyTorch) worker and the WebGPU backend give the same logits for
 * the same weights and queries (docs/design.md §6). Needs both a WebGPU adapter and a python with
 * torch; skips loudly otherwise (fails when ZIPAR_REQUIRE_ALL=1).
 */
import assert from "node:assert/strict";
import { openPythonBackend } from "../python/client.ts";
import { needs, PYTHON } from "../../testing/runtimes.ts";
import { createWebgpuBackend } from "./backend.ts";
import { loadLlamagen } from "../llamagen_config.ts";
import { tinyConfig, writeRandomModel } from "./random_weights.ts";
import { maxAbsDiff, scheduleSteps } from "./test_helpers.ts";
import { sequencesFor } from "../../core/condition.ts";

for (
  const [what, config] of [
    ["", tinyConfig()],
    [" with grouped K/V heads", tinyConfig({ kvHeads: 2 })],
  ] as const
) {
  Deno.test({
    name: `Python and WebGPU backends give the same ZipAR step logits on the same weights${what}`,
    ...needs("Python vs WebGPU logit parity", ["python", "webgpu"]),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "zipar-parity-" });
      try {
        await writeRandomModel(dir, config, 21);
        const { weights } = await loadLlamagen(dir);
        const webgpu = await createWebgpuBackend(config, weights);
        const python = await openPythonBackend({
          model: dir,
          python: PYTHON!,
          onLog: () => {},
          handleSigint: false,
        });
        try {
          const conditions = sequencesFor([7], true);
          const { steps } = scheduleSteps(config, 2, { window: 3, variant: "ideal" });
          const a = await webgpu.open(conditions), b = await python.open(conditions);
          let worst = 0;
          for (const queries of steps) {
            worst = Math.max(worst, maxAbsDiff(await a.step(queries), await b.step(queries)));
          }
          await a.close();
          await b.close();
          console.log(`python vs webgpu: max abs logit diff ${worst.toExponential(2)}`);
          // Both float32 over the same weights: 5.7e-6 and 7.6e-6 measured (lavapipe, torch CPU);
          // 5e-5 leaves room for another adapter's summation order, not for a wrong kernel.
          assert(worst < 5e-5, `max abs diff ${worst}`);
        } finally {
          await python.close();
          await webgpu.close();
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
