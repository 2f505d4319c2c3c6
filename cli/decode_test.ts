import assert from "node:assert/strict";
import { needs } from "../testing/runtimes.ts";
import { decodePatches } from "../backends/decoders/patch_codebook.ts";
import { writeSafetensors } from "../backends/safetensors.ts";
import { readGrid } from "./formats/grid_file.ts";
import { memoryIo } from "./io/io.ts";
import { main } from "./main.ts";
import { decodePng } from "./formats/png.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A model directory that carries only a 2×2 patch-codebook decoder with `codes` codes. */
async function decoderDir(codes: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_decode_" });
  const data = Float32Array.from({ length: codes * 4 }, (_, i) => ((i * 7) % 11) / 10);
  await writeSafetensors(`${dir}/decoder.safetensors`, { codebook: { shape: [codes, 4], data } });
  const decoder = { kind: "patch-codebook", file: "decoder.safetensors", patch: 2, channels: 1 };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ decoder }));
  return dir;
}

Deno.test("zipar generate | zipar decode - writes PNGs with the decoded pixels", async () => {
  const dir = await decoderDir(16);
  try {
    const gen = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "cli/main.ts",
        "generate",
        "--grid",
        "5x6",
        "--vocab",
        "16",
        "--class",
        "1,2",
        "--window",
        "2",
        "-o",
        "-",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    });
    const dec = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/main.ts", "decode", "-", "--model", dir, "-o", `${dir}/img.png`],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const g = gen.spawn(), d = dec.spawn();
    await g.stdout.pipeTo(d.stdin);
    const [go, dout] = await Promise.all([g.output(), d.output()]);
    assert.equal(go.code, 0, new TextDecoder().decode(go.stderr));
    assert.equal(dout.code, 0, new TextDecoder().decode(dout.stderr));
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files, ["config.json", "decoder.safetensors", "img_000.png", "img_001.png"]);
    // Same grid again (deterministic), decoded in TypeScript, must equal the PNG's pixels.
    const io = memoryIo();
    assert.equal(
      await main([
        "generate",
        "--grid",
        "5x6",
        "--vocab",
        "16",
        "--class",
        "1,2",
        "--window",
        "2",
        "-o",
        `${dir}/g.json`,
      ], io),
      0,
    );
    const { grid } = await readGrid(`${dir}/g.json`, io);
    const png = decodePng(await Deno.readFile(`${dir}/img_001.png`));
    assert.deepEqual([png.width, png.height, png.channels], [12, 10, 1]);
    const cb = {
      patch: 2,
      channels: 1,
      codes: 16,
      codebook: Float32Array.from({ length: 64 }, (_, i) => ((i * 7) % 11) / 10),
    };
    const pixels = decodePatches(grid.tokens, grid.shape, cb);
    assert.deepEqual(png.pixels, pixels.subarray(120));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zipar decode --sheet writes one contact sheet; bad grids and flags fail cleanly", async () => {
  const dir = await decoderDir(8);
  try {
    const io = memoryIo();
    const gen = ["generate", "--grid", "4x4", "--vocab", "16", "--class", "0,1,2", "--window", "2"];
    assert.equal(await main([...gen, "-o", `${dir}/g.json`], io), 0);
    // Vocab 16 > 8 codes: some token falls outside the codebook → runtime error, no file.
    const bad = memoryIo();
    assert.equal(
      await main(["decode", `${dir}/g.json`, "--model", dir, "-o", `${dir}/x.png`], bad),
      1,
    );
    assert.match(
      bad.stderrText(),
      /^zipar: token \d+ at image \d, \(\d, \d\) is outside the decoder's codebook 0\.\.7\n$/,
    );
    assert.ok(
      ![...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".png") || e.name.includes(".tmp")),
    );
    const ok = memoryIo();
    assert.equal(await main([...gen, "--vocab", "8", "-o", `${dir}/h.json`], ok), 0);
    assert.equal(
      await main([
        "decode",
        `${dir}/h.json`,
        "--model",
        dir,
        "-o",
        `${dir}/s.png`,
        "--sheet",
        "--scale",
        "2",
      ], ok),
      0,
    );
    const sheet = decodePng(await Deno.readFile(`${dir}/s.png`));
    assert.deepEqual([sheet.width, sheet.height], [2 * (3 * 8 + 4 * 2), 2 * (8 + 2 * 2)]);
    const usage = memoryIo();
    assert.equal(await main(["decode", `${dir}/h.json`, "-o", "x.png"], usage), 2);
    assert.match(usage.stderrText(), /exactly one of --model DIR and --vq PATH/);
    assert.equal(await main(["decode", `${dir}/h.json`, "--model", dir], usage), 2);
    assert.equal(
      await main(
        ["decode", `${dir}/h.json`, "--model", `${dir}/nope`, "-o", `${dir}/y.png`],
        usage,
      ),
      1,
    );
    assert.match(usage.stderrText(), /nope\/config\.json not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "zipar generate --png decodes in the same run, equal to zipar decode of its grid",
  ...needs("generate --png", ["webgpu"]),
}, async () => {
  const { tinyConfig, writeRandomModel } = await import("../backends/webgpu/random_weights.ts");
  const dir = await decoderDir(256);
  try {
    const config = {
      ...tinyConfig({ grid: [4, 5] }),
      decoder: JSON.parse(await Deno.readTextFile(`${dir}/config.json`)).decoder,
    };
    await writeRandomModel(dir, config as never, 3);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    const io = memoryIo();
    const args = [
      "generate",
      "--backend",
      "webgpu",
      "--model",
      dir,
      "--class",
      "1,4",
      "--window",
      "2",
    ];
    assert.equal(
      await main([...args, "-o", `${dir}/g.json`, "--png", `${dir}/p.png`, "--sheet"], io),
      0,
      io.stderrText(),
    );
    assert.equal(
      await main(["decode", `${dir}/g.json`, "--model", dir, "--sheet", "-o", `${dir}/d.png`], io),
      0,
    );
    assert.deepEqual(await Deno.readFile(`${dir}/p.png`), await Deno.readFile(`${dir}/d.png`));
    const sheet = decodePng(await Deno.readFile(`${dir}/p.png`));
    assert.deepEqual([sheet.width, sheet.height], [2 * 10 + 3 * 2, 8 + 2 * 2]);
    const mock = memoryIo();
    assert.equal(
      await main(
        ["generate", "--window", "2", "-o", `${dir}/m.json`, "--png", `${dir}/m.png`],
        mock,
      ),
      2,
    );
    assert.match(mock.stderrText(), /--png needs an image decoder: the mock model has none/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "zipar generate (mock) | zipar decode - --vq DIR decodes with a small random VQ-16",
  ...needs("generate | decode --vq", ["webgpu"]),
}, async () => {
  const { tinyVqConfig, writeRandomVq } = await import("../backends/webgpu/vq_random_weights.ts");
  const { decodeVqReference } = await import("../backends/vq_reference.ts");
  const dir = await Deno.makeTempDir({ prefix: "zipar_vq_" });
  try {
    const config = tinyVqConfig();
    const weights = await writeRandomVq(dir, config, 5);
    const gen = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "cli/main.ts",
        "generate",
        "--grid",
        "3x4",
        "--vocab",
        "64",
        "--class",
        "2",
        "--window",
        "2",
        "-o",
        "-",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    });
    const dec = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/main.ts", "decode", "-", "--vq", dir, "-o", `${dir}/x.png`],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const go = await gen.output();
    assert.equal(go.code, 0, new TextDecoder().decode(go.stderr));
    const grid = go.stdout;
    const d = dec.spawn();
    const w = d.stdin.getWriter();
    await w.write(grid);
    await w.close();
    const dout = await d.output();
    assert.equal(dout.code, 0, new TextDecoder().decode(dout.stderr));
    const { tokens } = JSON.parse(new TextDecoder().decode(grid));
    const png = decodePng(await Deno.readFile(`${dir}/x.png`));
    const scale = 2 ** (config.chMult.length - 1);
    assert.deepEqual([png.width, png.height, png.channels], [4 * scale, 3 * scale, 3]);
    const reference = decodeVqReference(config, weights, Int32Array.from(tokens), [1, 3, 4]);
    let sum = 0, max = 0;
    for (let i = 0; i < png.pixels.length; i++) {
      const diff = Math.abs(png.pixels[i] - reference[i]);
      sum += diff;
      max = Math.max(max, diff);
    }
    assert.ok(
      sum / png.pixels.length < 1 && max < 4,
      `mean ${sum / png.pixels.length}, max ${max}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "zipar generate --backend python --png --vq starts one worker and decodes like the reference",
  ...needs("generate --png --vq on python", ["python"]),
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { tinyVqConfig, writeRandomVq } = await import("../backends/webgpu/vq_random_weights.ts");
  const { decodeVqReference } = await import("../backends/vq_reference.ts");
  const { PYTHON, removeTinyModels, tinyModels } = await import(
    "../backends/python/test_helpers.ts"
  );
  const dir = await Deno.makeTempDir({ prefix: "zipar_python_vq_" });
  try {
    const config = tinyVqConfig({ codebookSize: 256 }); // the tiny GPT's vocabulary
    const weights = await writeRandomVq(`${dir}/vq`, config, 3);
    // An interpreter that notes each start, so the test sees how many workers the run spawned.
    const python = `${dir}/python`;
    await Deno.writeTextFile(
      python,
      `#!/bin/sh\necho start >> '${dir}/starts'\nexec '${PYTHON}' "$@"\n`,
    );
    await Deno.chmod(python, 0o755);
    const io = memoryIo({ env: { NO_COLOR: "1" } });
    const code = await main([
      ...["generate", "--backend", "python", "--model", `${await tinyModels()}/st`],
      ...["--python", python, "--class", "1,2", "--window", "2", "--temperature", "0"],
      ...["--png", `${dir}/img.png`, "--vq", `${dir}/vq`, "-o", `${dir}/g.json`],
    ], io);
    assert.equal(code, 0, io.stderrText());
    assert.equal(await Deno.readTextFile(`${dir}/starts`), "start\n", "one torch process");
    const { grid } = await readGrid(`${dir}/g.json`, io);
    const [b, h, w] = grid.shape;
    const reference = decodeVqReference(config, weights, grid.tokens, grid.shape);
    const scale = 2 ** (config.chMult.length - 1);
    const size = h * scale * w * scale * 3;
    for (let i = 0; i < b; i++) {
      const png = decodePng(await Deno.readFile(`${dir}/img_00${i}.png`));
      assert.deepEqual([png.width, png.height, png.channels], [w * scale, h * scale, 3]);
      let max = 0;
      for (let k = 0; k < size; k++) {
        max = Math.max(max, Math.abs(png.pixels[k] - reference[i * size + k]));
      }
      assert.ok(max <= 2, `image ${i}: max pixel difference ${max}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await removeTinyModels();
  }
});
