import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "./backend.ts";
import { MockBackend } from "./mock/mock.ts";
import { openBackend, openImageDecoder, openImageDecoderFor } from "./open.ts";
import { writeSafetensors } from "./safetensors.ts";
import { type ModelDecoder, modelDirDecoder } from "./model_decoder.ts";
import { MAX_CONFIG_BYTES } from "./model_dir.ts";
import { needs } from "../testing/runtimes.ts";

Deno.test("openBackend() opens the mock in-process with the spec's options", async () => {
  const backend = await openBackend({ backend: "mock", mock: { height: 3, width: 5, vocab: 7 } });
  assert.equal(backend.name, "mock");
  assert.deepEqual([backend.info.height, backend.info.width, backend.info.vocab], [3, 5, 7]);
  await backend.close();
});

Deno.test("openBackend() hands the python and webgpu options to their factories", async () => {
  // Each factory fails on the first option it uses, and names it: the options arrived.
  await assert.rejects(
    () => openBackend({ backend: "python", model: "/no/such/model", python: "/no/such/python" }),
    /^Error: Python executable "\/no\/such\/python" not found/,
  );
  await assert.rejects(
    () => openBackend({ backend: "webgpu", model: "/no/such/model" }),
    /^Error: Cannot read \/no\/such\/model\/config\.json/,
  );
});

/** A model directory with `config` as config.json and a 1×1-patch codebook of `codes` grays. */
async function modelDir(config: unknown, codes = 4): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_open_" });
  const data = Float32Array.from({ length: codes }, (_, i) => i / (codes - 1));
  await writeSafetensors(join(dir, "decoder.safetensors"), {
    codebook: { shape: [codes, 1], data },
  });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

Deno.test("openImageDecoder() decodes with the patch codebook a model directory names", async () => {
  const dir = await modelDir({ decoder: { kind: "patch-codebook", patch: 1, channels: 1 } });
  try {
    const decoder = await openImageDecoder({ kind: "model", dir });
    assert.equal(decoder.name, "patch-codebook 1×1 (4 codes)");
    const images = await decoder.decode(new Int32Array([0, 3, 1, 2, 3, 0]), [2, 1, 3]);
    assert.deepEqual([images.count, images.height, images.width, images.channels], [2, 1, 3, 1]);
    assert.deepEqual([...images.pixels], [0, 255, 85, 170, 255, 0]);
    await assert.rejects(() => decoder.decode(new Int32Array([4]), [1, 1, 1]), RangeError);
    await decoder.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImageDecoder() says in one line what a model directory lacks", async () => {
  await assert.rejects(
    () => openImageDecoder({ kind: "model", dir: "/no/such/dir" }),
    /^Error: \/no\/such\/dir\/config\.json not found$/,
  );
  const none = await modelDir({ vocab: 4 });
  const unknown = await modelDir({ decoder: { kind: "diffusion" } });
  try {
    await assert.rejects(
      () => openImageDecoder({ kind: "model", dir: none }),
      /the model has no decoder of its own \(no vq\.json \+ vq\.safetensors beside config\.json\); pass a VQ decoder \(--vq PATH\)$/,
    );
    await assert.rejects(
      () => openImageDecoder({ kind: "model", dir: unknown }),
      /^Error: unknown decoder kind "diffusion" in .*config\.json$/,
    );
    await Deno.writeTextFile(join(none, "config.json"), "[1, 2]");
    await assert.rejects(
      () => openImageDecoder({ kind: "model", dir: none }),
      /config\.json is not a JSON object$/,
    );
  } finally {
    await Deno.remove(none, { recursive: true });
    await Deno.remove(unknown, { recursive: true });
  }
});

Deno.test("openImageDecoder() hands the VQ path and python to the WebGPU and Python decoders", async () => {
  await assert.rejects(
    () => openImageDecoder({ kind: "vq", path: "/no/such/vq", backend: "webgpu" }),
    /^Error: Cannot read \/no\/such\/vq\/vq\.json/,
  );
  await assert.rejects(
    () =>
      openImageDecoder({
        kind: "vq",
        path: "/no/such/vq",
        backend: "python",
        python: "/no/such/python",
      }),
    /^Error: Python executable "\/no\/such\/python" not found/,
  );
});

Deno.test("openImageDecoderFor() decodes a python --vq spec in the Python backend's own worker", async () => {
  const asked: unknown[] = [];
  let closed = 0;
  const mock = new MockBackend({ height: 1, width: 2 });
  // A Python backend as openImageDecoderFor() sees it: its name and openDecoder().
  const python = Object.assign(Object.create(mock), {
    name: "python",
    openDecoder(source: unknown) {
      asked.push(source);
      return Promise.resolve({
        scale: 2,
        decode: (_tokens: ArrayLike<number>, [b, h, w]: readonly number[]) =>
          Promise.resolve(new Uint8Array(b * h * 2 * w * 2 * 3).fill(7)),
        close: () => Promise.resolve(void closed++),
      });
    },
  }) as Backend;
  const spec = { kind: "vq", path: "models/vq16", backend: "python", python: "/p" } as const;
  const decoder = await openImageDecoderFor(python, spec);
  assert.deepEqual(asked, [{ vq: "models/vq16" }]);
  const images = await decoder.decode(new Int32Array(2), [1, 1, 2]);
  assert.deepEqual([images.height, images.width, images.channels, images.pixels[0]], [2, 4, 3, 7]);
  await decoder.close();
  assert.equal(closed, 1);
  // Any other backend, or a WebGPU decoder, opens the decoder on its own.
  await assert.rejects(
    () => openImageDecoderFor(mock, { ...spec, python: "/no/such/python" }),
    /^Error: Python executable "\/no\/such\/python" not found/,
  );
  await assert.rejects(
    () => openImageDecoderFor(python, { kind: "vq", path: "/no/vq", backend: "webgpu" }),
    /^Error: Cannot read \/no\/vq\/vq\.json/,
  );
  assert.equal(asked.length, 1);
});

Deno.test("openImageDecoderFor() follows the decoder the backend reports, and refuses none", async () => {
  const mock = new MockBackend({ height: 1, width: 2 });
  const reporting = (modelDecoder: ModelDecoder) =>
    Object.assign(Object.create(mock), { name: "webgpu", modelDecoder }) as Backend;
  const dir = await modelDir({ decoder: { kind: "patch-codebook", patch: 1, channels: 1 } });
  try {
    const host = await openImageDecoderFor(
      reporting({ available: true, where: "host", name: "patch-codebook", dir }),
      { kind: "model", dir: "/not/read" }, // the backend's report decides, not the spec's dir
    );
    assert.match(host.name, /^patch-codebook 1×1/);
    await host.close();
    await assert.rejects(
      () =>
        openImageDecoderFor(reporting({ available: false, why: "no decoder: pass --vq" }), {
          kind: "model",
          dir,
        }),
      /^Error: no decoder: pass --vq$/,
    );
    // A worker's decoder needs the worker: a backend without one says so.
    await assert.rejects(
      () =>
        openImageDecoderFor(reporting({ available: true, where: "worker", name: "Janus VQ" }), {
          kind: "model",
          dir,
        }),
      /^Error: the webgpu backend cannot run Janus VQ$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "openImageDecoderFor() decodes a WebGPU backend's LlamaGen VQ-16 on WebGPU, no worker",
  ...needs("a model directory's VQ-16 on WebGPU", ["webgpu"]),
}, async () => {
  const { tinyVqConfig, writeRandomVq } = await import("./webgpu/vq_random_weights.ts");
  const dir = await Deno.makeTempDir({ prefix: "zipar_open_vq_" });
  try {
    await writeRandomVq(dir, tinyVqConfig(), 3);
    await Deno.writeTextFile(join(dir, "config.json"), "{}");
    const modelDecoder = await modelDirDecoder(dir);
    assert.deepEqual(modelDecoder, {
      available: true,
      where: "vq",
      name: "LlamaGen VQ-16",
      path: dir,
    });
    const mock = new MockBackend({ height: 2, width: 2 });
    const webgpu = Object.assign(Object.create(mock), { name: "webgpu", modelDecoder }) as Backend;
    const decoder = await openImageDecoderFor(webgpu, { kind: "model", dir });
    const alone = await openImageDecoder({ kind: "vq", path: dir, backend: "webgpu" });
    try {
      assert.match(decoder.name, /webgpu/i);
      const tokens = Int32Array.from({ length: 4 }, (_, i) => i * 7);
      assert.deepEqual(
        (await decoder.decode(tokens, [1, 2, 2])).pixels,
        (await alone.decode(tokens, [1, 2, 2])).pixels,
      );
    } finally {
      await decoder.close();
      await alone.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openImageDecoder() reads a model directory's config.json no larger than a config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zipar_open_big_" });
  try {
    const config = join(dir, "config.json");
    await Deno.writeTextFile(config, "{}");
    await Deno.truncate(config, MAX_CONFIG_BYTES + 1); // sparse: nothing is written
    await assert.rejects(
      () => openImageDecoder({ kind: "model", dir }),
      /^Error: cannot read .*config\.json: 16777217 bytes, more than a config's 16777216$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
