/** convertLlamagen(): .pt → config.json + model.safetensors that load to the same model. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { convertLlamagen } from "./convert.ts";
import { openTiny, PYTHON, PYTHON_TESTS, removeTinyModels, tinyModels } from "./test_helpers.ts";

Deno.test({
  name: "convertLlamagen() writes a directory that loads to the same weights",
  ...PYTHON_TESTS,
  async fn() {
    const dir = await tinyModels();
    const out = join(dir, "converted");
    const config = await convertLlamagen({
      input: join(dir, "state_dict.pt"),
      out,
      grid: "8x8",
      heads: 4,
      python: PYTHON!,
    });
    assert.equal(config.format, "zipar-llamagen");
    assert.deepEqual(config.grid, [8, 8]);
    assert.equal(config.hidden, 128);
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.deepEqual(names, ["config.json", "model.safetensors"]); // no temp files left
    const written = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    assert.deepEqual(written, config);
    const backend = await openTiny();
    try {
      const a = await backend.inspectCheckpoint(out);
      const b = await backend.inspectCheckpoint(join(dir, "st"));
      assert.deepEqual(a, b);
      const half = await convertLlamagen({
        input: join(dir, "model.pt"),
        out: join(dir, "half"),
        grid: "8x8",
        heads: 4,
        dtype: "bfloat16",
        python: PYTHON!,
      });
      assert.equal(half.dtype, "bfloat16");
      const c = await backend.inspectCheckpoint(join(dir, "half"));
      assert.ok(Math.abs(c.checksum - a.checksum) / a.checksum < 1e-2);
    } finally {
      await backend.close();
    }
  },
});

Deno.test({
  name: "convertLlamagen() fails in one line on a bad checkpoint and leaves no output",
  ...PYTHON_TESTS,
  async fn() {
    try {
      const dir = await tinyModels();
      const out = join(dir, "bad-out");
      await assert.rejects(
        convertLlamagen({
          input: join(dir, "evil.pt"),
          out,
          grid: "8x8",
          heads: 4,
          python: PYTHON!,
        }),
        (err: Error) => {
          assert.match(err.message, /^Cannot convert .*evil\.pt: .*refusing to load/);
          assert.ok(!err.message.includes("\n"));
          return true;
        },
      );
      await assert.rejects(Deno.stat(join(out, "config.json")), Deno.errors.NotFound);
      await assert.rejects(
        convertLlamagen({ input: join(dir, "model.pt"), out, python: PYTHON!, heads: 4 }),
        /cannot infer the grid .*pass a grid such as 16x16/,
      );
    } finally {
      await removeTinyModels();
    }
  },
});
