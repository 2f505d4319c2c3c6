import assert from "node:assert/strict";
import { denoIo, memoryIo, StdoutClosedError } from "./io.ts";

Deno.test("memoryIo() captures stdout and stderr and serves stdin", async () => {
  const io = memoryIo({ input: new Uint8Array([1, 2, 3]), env: { A: "b" } });
  await io.writeStdout(new Uint8Array([65]));
  await io.writeStdout(new Uint8Array([66]));
  io.writeStderr("err");
  assert.equal(io.stdoutText(), "AB");
  assert.equal(io.stderrText(), "err");
  assert.equal(io.env("A"), "b");
  assert.deepEqual(await new Response(io.stdin()).bytes(), new Uint8Array([1, 2, 3]));
  assert.equal(io.stdoutIsTerminal, false);
});

Deno.test("denoIo() reports terminals and columns", () => {
  const io = denoIo();
  assert.equal(typeof io.stderrIsTerminal, "boolean");
  assert.ok(io.columns > 0);
  assert.equal(new StdoutClosedError().name, "StdoutClosedError");
});
