import assert from "node:assert/strict";
import { type EvalRow, renderEval } from "./report.ts";

const ROWS: EvalRow[] = [
  {
    setting: "real test images (floor)",
    images: 500,
    passes: null,
    rasterPasses: null,
    msPerImage: null,
    accuracy: 0.85,
    fd: 5.8234,
    bitsPerToken: 2.3861,
  },
  {
    setting: "adaptive:4",
    images: 500,
    passes: 74.25,
    batchPasses: 79.5,
    rasterPasses: 196,
    msPerImage: 164.21,
    accuracy: 0.596,
    fd: 48.114,
    bitsPerToken: null,
  },
];

Deno.test("renderEval() renders a Markdown table, numbers right-aligned, a dash where a row has no value", () => {
  assert.equal(
    renderEval(ROWS, "md"),
    [
      "| setting | images | passes / raster | batch passes | ms/image | accuracy % | FD | bits/token |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      "| real test images (floor) | 500 | — | — | — | 85.0 | 5.82 | 2.386 |",
      "| adaptive:4 | 500 | 74.3 / 196 | 79.5 | 164.2 | 59.6 | 48.11 | — |",
      "",
    ].join("\n"),
  );
});

Deno.test("renderEval() gives the rows as JSON and as CSV", () => {
  assert.deepEqual(JSON.parse(renderEval(ROWS, "json")), ROWS);
  const csv = renderEval(ROWS, "csv").trimEnd().split("\n");
  assert.deepEqual(csv, [
    "setting,images,passes / raster,batch passes,ms/image,accuracy %,FD,bits/token",
    "real test images (floor),500,—,—,—,85.0,5.82,2.386",
    "adaptive:4,500,74.3 / 196,79.5,164.2,59.6,48.11,—",
  ]);
});
