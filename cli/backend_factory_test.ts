import assert from "node:assert/strict";
import { openBackend } from "./backend_factory.ts";

Deno.test("openBackend() opens the mock in-process", async () => {
  const backend = await openBackend({ backend: "mock", mock: { height: 3, width: 5, vocab: 7 } });
  assert.equal(backend.name, "mock");
  assert.deepEqual([backend.info.height, backend.info.width, backend.info.vocab], [3, 5, 7]);
  await backend.close();
});

Deno.test("openBackend() says in one line when a backend module is missing", async () => {
  const external = {
    python: { module: "../backends/python/not_there.ts", factory: "openPythonBackend" },
    webgpu: { module: "../backends/webgpu/not_there.ts", factory: "openWebgpuBackend" },
  };
  await assert.rejects(
    () => openBackend({ backend: "webgpu", model: "m" }, external),
    /^Error: the webgpu backend is not available in this build \(backends\/webgpu\/not_there\.ts is missing\)$/,
  );
});

Deno.test("openBackend() imports the module lazily and passes the options to its factory", async () => {
  const dir = await Deno.makeTempDir({
    dir: new URL(".", import.meta.url).pathname,
    prefix: ".factory_test_",
  });
  try {
    const name = dir.split("/").pop()!;
    await Deno.writeTextFile(
      `${dir}/fake.ts`,
      "export function openPythonBackend(o: unknown) { return { name: 'fake', options: o }; }\n",
    );
    await Deno.writeTextFile(`${dir}/bad.ts`, "export const nothing = 1;\n");
    const external = {
      python: { module: `./${name}/fake.ts`, factory: "openPythonBackend" },
      webgpu: { module: `./${name}/bad.ts`, factory: "openWebgpuBackend" },
    };
    const backend = await openBackend(
      { backend: "python", model: "m.pt", device: "cpu" },
      external,
    ) as unknown as {
      name: string;
      options: Record<string, unknown>;
    };
    assert.equal(backend.name, "fake");
    assert.deepEqual(backend.options, { model: "m.pt", device: "cpu" });
    await assert.rejects(
      () => openBackend({ backend: "webgpu", model: "m" }, external),
      /does not export openWebgpuBackend/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
