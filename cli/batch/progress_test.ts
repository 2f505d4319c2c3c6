import assert from "node:assert/strict";
import { formatDuration, renderBatchProgress } from "./progress.ts";
import { ProgressReporter } from "../io/progress.ts";

Deno.test("renderBatchProgress() shows images, jobs, rate and ETA", () => {
  const line = renderBatchProgress(
    { images: 120, totalImages: 480, jobs: 4, totalJobs: 16, elapsedMs: 60_000 },
    { columns: 100 },
  );
  assert.equal(
    line,
    "batch ████████░░░░░░░░░░░░░░░░░░░░░░  25%  images 120/480  jobs 4/16  2.0 img/s  ETA 3m00s",
  );
  const narrow = renderBatchProgress(
    { images: 0, totalImages: 10, jobs: 0, totalJobs: 1, elapsedMs: 0 },
    { columns: 40 },
  );
  assert.ok(narrow.length < 40 && narrow.startsWith("batch "), narrow);
  assert.match(narrow, /0%/);
  const coloured = renderBatchProgress(
    { images: 1, totalImages: 2, jobs: 0, totalJobs: 1, elapsedMs: 500 },
    { color: true, columns: 120 },
  );
  assert.ok(coloured.includes("\x1b[36m"));
});

Deno.test("formatDuration() renders seconds, minutes and hours", () => {
  assert.deepEqual([
    formatDuration(42.4),
    formatDuration(185),
    formatDuration(3720),
    formatDuration(NaN),
  ], [
    "42s",
    "3m05s",
    "1h02m",
    "?",
  ]);
});

Deno.test("ProgressReporter.updateLine() draws a custom line with the same throttling", () => {
  let out = "", t = 0;
  const p = new ProgressReporter((s) => (out += s), {
    enabled: true,
    color: false,
    columns: 80,
    now: () => t,
  });
  p.updateLine(() => "early");
  t = 1000;
  p.updateLine((o) => `line ${o.columns}`);
  t = 1050;
  p.updateLine(() => "too soon");
  p.finish();
  assert.equal(out, "\r\x1b[Kline 80\r\x1b[K");
});
