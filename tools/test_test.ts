import assert from "node:assert/strict";
import { renderSlowest, skippedSuites, slowestFiles, splitArgs } from "./test.ts";

Deno.test("skippedSuites() lists each loud skip line once", () => {
  const out = "a\n!!! SKIPPING WebGPU tests: no adapter !!!\nb\n" +
    "!!! SKIPPING WebGPU tests: no adapter !!!\n!!! SKIPPING demo eval: no python !!!\n";
  assert.deepEqual(skippedSuites(out), ["WebGPU tests: no adapter", "demo eval: no python"]);
  assert.deepEqual(skippedSuites("ok | 3 passed | 0 failed"), []);
});

Deno.test("slowestFiles() sums each file's test times and lists the slowest first", () => {
  const junit = `<testsuites><testsuite name="./a_test.ts">
    <testcase name="x" classname="./a_test.ts" time="1.250" line="1" col="6"></testcase>
    <testcase name="y" classname="./a_test.ts" time="0.750" line="9" col="6"></testcase>
    <testcase name="z" classname="./b_test.ts" time="3.000" line="1" col="6"></testcase>
    <testcase name="d1" classname="./core/x.ts#10-12.ts" time="0.5"></testcase>
    <testcase name="d2" classname="./core/x.ts#20-22.ts" time="0.25"></testcase>
    <testcase name="bad" classname="./c_test.ts"></testcase>
  </testsuite></testsuites>`;
  assert.deepEqual(slowestFiles(junit), [
    { file: "./b_test.ts", seconds: 3 },
    { file: "./a_test.ts", seconds: 2 },
    { file: "./core/x.ts#doc", seconds: 0.75 },
  ]);
  assert.deepEqual(slowestFiles(junit, 1).map((f) => f.file), ["./b_test.ts"]);
  assert.equal(
    renderSlowest(slowestFiles(junit, 2)),
    "the 2 slowest test files (their tests' times summed):\n" +
      "    3.0 s  ./b_test.ts\n    2.0 s  ./a_test.ts",
  );
});

Deno.test("splitArgs() takes --jobs N and --jobs=N, refuses a bad count, passes the rest on", () => {
  assert.deepEqual(splitArgs(["--jobs=3", "--filter", "x"], 2), {
    jobs: 3,
    rest: ["--filter", "x"],
  });
  assert.deepEqual(splitArgs([], 0), { jobs: 1, rest: [] });
  for (const bad of [["--jobs"], ["--jobs", "0"], ["--jobs=two"], ["--jobs", "-1"]]) {
    assert.throws(() => splitArgs(bad, 2), RangeError, bad.join(" "));
  }
});
