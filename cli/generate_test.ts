import assert from "node:assert/strict";
import { ValidationError } from "./flags/args.ts";
import { generateCommand } from "./generate.ts";
import { decodeGridJson } from "./formats/grid_json.ts";
import { memoryIo } from "./io/io.ts";

async function run(args: string[], options: Parameters<typeof memoryIo>[0] = {}) {
  const io = memoryIo(options);
  const code = await generateCommand(args, io);
  return { code, io, grid: decodeGridJson(io.stdoutText(), "stdout") };
}

Deno.test("generateCommand() streams a JSON grid with its metadata to a non-terminal stdout", async () => {
  const { code, io, grid } = await run([
    "--class",
    "3",
    "--seed",
    "7",
    "--window",
    "4",
    "--grid",
    "8x8",
    "--vocab",
    "16",
  ]);
  assert.equal(code, 0);
  assert.equal(io.stderrText(), "");
  assert.deepEqual(grid.shape, [1, 8, 8]);
  const m = grid.meta;
  assert.equal(m.backend, "mock");
  assert.equal(m.model, "mock");
  assert.equal(m.window, 4);
  assert.equal(m.schedule, "ideal");
  assert.equal(m.proxy, "r-2");
  assert.equal(m.seed, 7);
  assert.deepEqual(m.classes, [3]);
  assert.equal(m.passes, 8 + 7 * 4);
  assert.equal(m.rasterPasses, 64);
  assert.equal(typeof m.wallMs, "number");
  assert.match(m.zipar as string, /^\d+\.\d+\.\d+/);
  assert.deepEqual(m.sampling, { temperature: 1, topK: 0, topP: 1, cfg: 1 });
  assert.ok(grid.tokens.every((t) => t < 16));
});

Deno.test("generateCommand(): raster and ZipAR with s ≥ reach + 1 give the same grid, in any mode", async () => {
  const common = ["--class", "2", "--seed", "11", "--grid", "8x6"];
  const raster = await run([...common, "--schedule", "raster", "--mode", "interactive"]);
  const zipar = await run([
    ...common,
    "--window",
    "2",
    "--schedule",
    "paper",
    "--mode",
    "planned",
    "--proxy",
    "r-1",
  ]);
  assert.deepEqual(zipar.grid.tokens, raster.grid.tokens);
  assert.equal(zipar.grid.meta.mode, "planned");
  assert.equal(raster.grid.meta.mode, "interactive");
  assert.equal(zipar.grid.meta.passes, 2 * 6 + 6 * 2);
});

Deno.test("generateCommand() takes batches, CFG, sampling and mock flags", async () => {
  const { grid } = await run([
    ...["--class", "1,4", "--seed", "5", "--window", "3", "--cfg", "2.5", "--temperature", "0.7"],
    ...[
      "--top-k",
      "8",
      "--top-p",
      "0.9",
      "--grid",
      "6x6",
      "--vocab",
      "32",
      "--num-classes",
      "5",
      "--prefix",
      "2",
    ],
    ...[
      "--eol",
      "--reach-left",
      "1",
      "--reach-above-left",
      "0",
      "--reach-above-right",
      "2",
      "--sharpness",
      "4",
    ],
    ...["--model-seed", "9", "--format", "json", "--quiet"],
  ]);
  assert.deepEqual(grid.shape, [2, 6, 6]);
  assert.deepEqual(grid.meta.classes, [1, 4]);
  assert.deepEqual(grid.meta.sampling, { temperature: 0.7, topK: 8, topP: 0.9, cfg: 2.5 });
  assert.equal(grid.meta.eolToken, 32);
  assert.equal(grid.meta.prefix, 2);
  assert.deepEqual((grid.meta.images as unknown[])[1], { class: 4, seed: 5, index: 1 });
  assert.equal((grid.meta.mock as Record<string, unknown>).modelSeed, 9);
  const batch = await run([
    "--class",
    "1",
    "--batch",
    "3",
    "--window",
    "2",
    "--grid",
    "4x4",
    "--temperature",
    "0",
  ]);
  assert.deepEqual(batch.grid.meta.classes, [1, 1, 1]);
  // Greedy decoding of the same class gives the same grid for every image.
  assert.deepEqual(batch.grid.tokens.subarray(0, 16), batch.grid.tokens.subarray(32, 48));
});

Deno.test("generateCommand() rejects bad flag combinations as usage errors", async () => {
  const cases: [string[], RegExp][] = [
    [[], /needs --window/],
    [
      ["--window", "4", "--class", "10"],
      /--class 10 is out of range: model mock has classes 0\.\.9/,
    ],
    [["--window", "4", "--class", "1,2", "--batch", "3"], /contradicts 2 classes/],
    [
      ["--window", "4", "--backend", "mock", "--model", "x"],
      /--model applies to --backend python\|webgpu/,
    ],
    // --model without --backend is the Python backend's: the mock's flags do not apply.
    [["--window", "4", "--model", "m", "--vocab", "8"], /--vocab does not apply/],
    [["--window", "4", "--backend", "python"], /needs --model PATH/],
    [
      ["--window", "4", "--backend", "webgpu", "--model", "m", "--device", "cuda"],
      /--device does not apply to --backend webgpu/,
    ],
    [
      ["--window", "4", "--backend", "python", "--model", "m", "--vocab", "8"],
      /--vocab does not apply/,
    ],
    [
      ["--window", "4", "--backend", "webgpu", "--model", "m", "--grid", "4x4"],
      /--grid does not apply/,
    ],
    [["--window", "4", "--cfg-interval", "x"], /--cfg-interval must be an integer in -1\.\./],
    [["--window", "4", "--backend", "tpu"], /mock, python, webgpu/],
    [["--window", "4", "--cfg=-1"], /--cfg must be a number/],
    [["--window", "4", "--top-p", "0"], /--top-p must be a number in \(0, 1\]/],
    [["--window", "4", "--temperature", "x"], /--temperature/],
    [["--window", "4", "--mode", "fast"], /auto, interactive, planned/],
    [["--window", "4", "--out", "g.txt"], /cannot tell the format/],
    [["--window", "4", "--out", ""], /--out needs a file name/],
    [["--window", "17"], /--window must be an integer in 1\.\.16/],
  ];
  for (const [args, message] of cases) {
    await assert.rejects(
      () => generateCommand(args, memoryIo()),
      (e) => e instanceof ValidationError && message.test(e.message),
      args.join(" "),
    );
  }
});

Deno.test("generateCommand() on a terminal needs --out or a pipe", async () => {
  await assert.rejects(
    () => generateCommand(["--window", "4"], memoryIo({ tty: true })),
    (e) =>
      e instanceof ValidationError && /stdout is a terminal/.test(e.message) &&
      /--out FILE/.test(e.hint!),
  );
  await assert.rejects(
    () =>
      generateCommand(["--window", "4", "--out", "-", "--format", "npy"], memoryIo({ tty: true })),
    /terminal/,
  );
});

Deno.test("generateCommand() writes a file atomically and reports on a terminal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar_generate_" });
  try {
    const io = memoryIo({ tty: true });
    assert.equal(await generateCommand(["--window", "4", "--out", `${dir}/g.npy`], io), 0);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["g.npy", "g.npy.json"]);
    assert.match(io.stderrText(), /wrote 1×16×16 tokens to .*g\.npy in 76 passes \(raster 256\)/);
    const quiet = memoryIo({ tty: true });
    await generateCommand(["--window", "4", "--out", `${dir}/q.json`, "--quiet"], quiet);
    assert.equal(quiet.stderrText(), "");
    await assert.rejects(
      () => generateCommand(["--window", "4", "--out", `${dir}/none/g.json`], memoryIo()),
      /does not exist/,
    );
    await assert.rejects(() =>
      generateCommand(["--window", "4", "--backend", "python", "--model", "m"], memoryIo()).catch(
        (e) => {
          // The python backend may exist by now; then opening a bogus model must fail instead.
          throw e instanceof ValidationError ? new Error("usage error") : e;
        },
      )
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
