/**
 * `zipar convert` end to end: a tiny LlamaGen `.pt` becomes a model directory both backends
 * load, a malicious pickle is refused, and usage errors exit 2. Needs python with torch; skips
 * loudly otherwise (fails when ZIPAR_REQUIRE_ALL=1).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadLlamagen } from "../backends/llamagen_config.ts";
import {
  PYTHON,
  PYTHON_TESTS,
  removeTinyModels,
  tinyModels,
} from "../backends/python/test_helpers.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";

Deno.test({
  name:
    "zipar convert --from llamagen writes config.json + model.safetensors; evil pickles are refused",
  ...PYTHON_TESTS,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const models = await tinyModels();
    const out = await Deno.makeTempDir({ prefix: "zipar_convert_" });
    try {
      const io = memoryIo();
      const args = [
        "convert",
        "--from",
        "llamagen",
        join(models, "model.pt"),
        "--heads",
        "4",
        "--grid",
        "8x8",
        "--python",
        PYTHON!,
      ];
      assert.equal(await main([...args, "--out", join(out, "m")], io), 0, io.stderrText());
      assert.match(
        io.stderrText(),
        /wrote .*model\.safetensors and config\.json \(custom, 2 layers, dim 64, grid \[8,8\]\)/,
      );
      const { config, weights } = await loadLlamagen(join(out, "m"));
      assert.equal(config.layers, 2);
      assert.ok(weights.has("tok_embeddings.weight"));
      const evil = memoryIo();
      const bad = [
        "convert",
        "--from",
        "llamagen",
        join(models, "evil.pt"),
        "--heads",
        "4",
        "--grid",
        "8x8",
        "--python",
        PYTHON!,
        "--out",
        join(out, "e"),
      ];
      assert.equal(await main(bad, evil), 1);
      assert.equal(evil.stderrText().trim().split("\n").length, 1, evil.stderrText());
      assert.ok(!(await Deno.stat(join(out, "e", "model.safetensors")).catch(() => null)));
      const usage = memoryIo();
      assert.equal(await main(["convert", join(models, "model.pt"), "--out", out], usage), 2);
      assert.match(usage.stderrText(), /--from is required/);
      assert.equal(
        await main(
          ["convert", "--from", "llamagen-vq", "x.pt", "--preset", "GPT-B", "--out", out],
          usage,
        ),
        2,
      );
      assert.match(usage.stderrText(), /--preset does not apply to --from llamagen-vq/);
    } finally {
      await Deno.remove(out, { recursive: true });
      await removeTinyModels();
    }
  },
});
