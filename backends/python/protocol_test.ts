/**
 * The worker reads frame headers of at most 1 MiB of JSON (worker/protocol.py's MAX_HEADER),
 * and an `open` frame carries every sequence's condition as JSON: a generation whose conditions
 * do not fit (many images, long prompts) is refused in one line before anything is sent, never
 * answered by the worker's ProtocolError. No Python needed.
 */

import assert from "node:assert/strict";
import { sequencesFor } from "../../core/condition.ts";
import { OptionError } from "../option_error.ts";
import { openRequest } from "./client.ts";
import { encodeFrame, FrameTooLargeError, MAX_HEADER_BYTES } from "./protocol.ts";

Deno.test("a frame header over the worker's 1 MiB is refused in one line, before sending", () => {
  assert.equal(MAX_HEADER_BYTES, 2 ** 20);
  const big = { type: "raster", images: [{ prompt: "x".repeat(MAX_HEADER_BYTES) }] };
  assert.throws(
    () => encodeFrame(big),
    (e) =>
      e instanceof FrameTooLargeError && !e.message.includes("\n") &&
      /^the "raster" request takes 1\.0 MiB of JSON, more than the 1 MiB the Python worker reads in one frame$/
        .test(e.message),
  );
  const fits = encodeFrame({ type: "raster", images: [{ prompt: "x".repeat(1000) }] });
  assert(fits.length > 1000);
});

Deno.test("an open frame too large for the worker is an OptionError naming the fix", () => {
  const prompts = Array.from({ length: 20 }, (_, i) => ({ prompt: `${i} ` + "x".repeat(99_990) }));
  assert.throws(
    () => openRequest(0, sequencesFor(prompts, true)),
    (e) =>
      e instanceof OptionError && !e.message.includes("\n") &&
      /^the conditions of 20 images \(40 sequences\) take 3\.8 MiB as JSON, more than the 1 MiB the Python worker reads in one frame: generate fewer images at a time \(--batch; zipar batch --max-batch\) or shorter prompts$/
        .test(e.message),
  );
  // 65,536 class images with CFG: no prompt at all, still too many conditions for one frame.
  const classes = Array.from({ length: 65_536 }, (_, i) => i % 1000);
  assert.throws(() => openRequest(3, sequencesFor(classes, true)), /of 65536 images \(131072/);
  const ok = openRequest(1, sequencesFor([{ prompt: "a red fox" }], true));
  assert.deepEqual(ok, {
    type: "open",
    session: 1,
    sequences: [
      { condition: { prompt: "a red fox" }, unconditional: false },
      { condition: { prompt: "a red fox" }, unconditional: true },
    ],
  });
});
