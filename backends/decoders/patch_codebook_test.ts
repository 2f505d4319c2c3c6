import assert from "node:assert/strict";
import { writeSafetensors } from "../safetensors.ts";
import { decodePatches, loadPatchCodebook } from "./patch_codebook.ts";

Deno.test("decodePatches() lays each code's patch at its cell", () => {
  // Two 2×2 codes: 0 = all black, 1 = a diagonal.
  const cb = {
    patch: 2,
    channels: 1,
    codes: 2,
    codebook: new Float32Array([0, 0, 0, 0, 1, 0, 0, 1]),
  };
  const px = decodePatches(new Int32Array([1, 0]), [1, 1, 2], cb);
  assert.deepEqual([...px], [255, 0, 0, 0, 0, 255, 0, 0]);
});

Deno.test("decodePatches() rejects tokens outside the codebook and shapes that do not match", () => {
  const cb = { patch: 1, channels: 1, codes: 4, codebook: new Float32Array(4) };
  assert.throws(() => decodePatches(new Int32Array([0, 4]), [1, 1, 2], cb), {
    name: "RangeError",
    message: "token 4 at image 0, (0, 1) is outside the decoder's codebook 0..3",
  });
  assert.throws(() => decodePatches(new Int32Array(3), [1, 1, 2], cb), /shape \[1,1,2\] needs 2/);
});

Deno.test("loadPatchCodebook() checks the codebook shape and the file name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSafetensors(`${dir}/d.safetensors`, {
      codebook: { shape: [3, 4], data: new Float32Array(12).fill(0.5) },
    });
    const config = {
      kind: "patch-codebook" as const,
      file: "d.safetensors",
      patch: 2,
      channels: 1,
    };
    const cb = await loadPatchCodebook(dir, config);
    assert.equal(cb.codes, 3);
    await assert.rejects(
      () => loadPatchCodebook(dir, { ...config, patch: 3 }),
      /codebook \[codes, 9\]/,
    );
    await assert.rejects(() => loadPatchCodebook(dir, { ...config, file: "../x" }), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
