/**
 * zipar backends: the interface, the mock model and the host-side plan runner. The Python
 * (PyTorch) and WebGPU backends load lazily through the CLI's backend factory.
 *
 * @module
 */

export * from "./backend.ts";
export { MockBackend, type MockOptions } from "./mock/mock.ts";
export { runPlanOnHost } from "./host_plan.ts";
export { openPythonBackend, type PythonBackendOptions } from "./python/client.ts";
export { convertLlamagen } from "./python/convert.ts";
export { openWebgpuBackend, type WebgpuBackendOptions } from "./webgpu/backend.ts";
