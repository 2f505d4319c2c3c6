import assert from "node:assert/strict";
import { ProgressReporter, renderProgress } from "./progress.ts";

Deno.test("renderProgress() shows bar, percent, passes, tokens and time", () => {
  const line = renderProgress({
    step: 52,
    totalSteps: 208,
    decoded: 144,
    totalTokens: 576,
    elapsedMs: 1500,
  });
  assert.match(line, /^generate █+░+ {2}25% {2}pass 52\/208 {2}tokens 144\/576 {2}1\.5s$/);
  const bar = line.split(" ")[1];
  assert.equal([...bar].filter((c) => c === "█").length, Math.round([...bar].length / 4));
  assert.ok(line.length <= 80);
});

Deno.test("renderProgress() uses decoded tokens when the pass count is unknown", () => {
  const line = renderProgress({
    step: 3,
    totalSteps: null,
    decoded: 128,
    totalTokens: 256,
    elapsedMs: 0,
  });
  assert.match(line, / 50% {2}pass 3 {2}tokens 128\/256 {2}0\.0s$/);
});

Deno.test("renderProgress() colours only when asked and fits narrow terminals", () => {
  const state = { step: 1, totalSteps: 2, decoded: 1, totalTokens: 2, elapsedMs: 0 };
  assert.ok(!renderProgress(state).includes("\x1b["));
  assert.ok(renderProgress(state, { color: true }).includes("\x1b[36m"));
  assert.ok(renderProgress(state, { columns: 30 }).length < 30);
});

Deno.test("ProgressReporter waits, throttles, clears, and stays silent when disabled", () => {
  let out = "", t = 0;
  const state = { step: 1, totalSteps: 4, decoded: 1, totalTokens: 4, elapsedMs: 0 };
  const p = new ProgressReporter((s) => (out += s), {
    enabled: true,
    color: false,
    columns: 80,
    now: () => t,
  });
  p.update(state);
  assert.equal(out, ""); // a short run draws nothing
  t = 600;
  p.update(state);
  const once = out;
  assert.ok(once.startsWith("\r\x1b[Kgenerate "));
  t = 650;
  p.update(state);
  assert.equal(out, once); // throttled
  p.finish();
  assert.ok(out.endsWith("\r\x1b[K"));
  let silent = "";
  const off = new ProgressReporter((s) => (silent += s), {
    enabled: false,
    color: false,
    columns: 80,
    now: () => 1e9,
  });
  off.update(state);
  off.finish();
  assert.equal(silent, "");
});
