/**
 * The WebGPU device on a fresh machine: without XDG_RUNTIME_DIR (a container, a CI job), opening
 * the adapter prints nothing of the drivers' (Mesa's loader otherwise says twice that the
 * variable is invalid), and the private directory made for them is gone when the process ends.
 */

import assert from "node:assert/strict";
import { needs } from "../../testing/runtimes.ts";
import { openGpu } from "./device.ts";

const DEVICE = new URL("./device.ts", import.meta.url).href;

Deno.test({
  name: "opening the GPU without XDG_RUNTIME_DIR prints no driver error and leaves no directory",
  ...needs("WebGPU device tests", ["webgpu"]),
  async fn() {
    const script = `import { openGpu } from "${DEVICE}";
const gpu = await openGpu();
console.log(Deno.env.get("XDG_RUNTIME_DIR"));
gpu.device.destroy();`;
    const env: Record<string, string> = { NO_COLOR: "1" };
    for (const name of ["PATH", "HOME", "LP_NUM_THREADS", "TMPDIR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    assert.doesNotMatch(stderr, /XDG_RUNTIME_DIR/);
    const made = new TextDecoder().decode(run.stdout).trim();
    assert.match(made, /zipar-xdg-/);
    assert.throws(() => Deno.statSync(made), Deno.errors.NotFound, "the directory outlived it");
  },
});

Deno.test({
  name: "openGpu() requests shader-f16 when the adapter offers it",
  ...needs("WebGPU device tests", ["webgpu"]),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const gpu = await openGpu();
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    assert.equal(gpu.f16, adapter!.features.has("shader-f16"));
    assert.equal(gpu.f16, gpu.device.features.has("shader-f16"));
  },
});
