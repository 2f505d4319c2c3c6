/**
 * zipar backends: the step contract (backend.ts), the deterministic mock model, the host-side
 * plan runner, the Python (PyTorch worker over stdio) and WebGPU backends, and
 * {@linkcode openBackend} / {@linkcode openImageDecoder} (open.ts), which open any backend or
 * image decoder from a typed spec. Every backend here is a static import.
 *
 * @module
 */

export * from "./backend.ts";
export { MockBackend, type MockOptions } from "./mock/mock.ts";
export { runPlanOnHost } from "./host_plan.ts";
export {
  type BackendName,
  BACKENDS,
  type BackendSpec,
  type ImageBatch,
  type ImageDecoder,
  type ImageDecoderSpec,
  openBackend,
  openImageDecoder,
} from "./open.ts";
export { openPythonBackend, type PythonBackendOptions } from "./python/client.ts";
export { convertLlamagen } from "./python/convert.ts";
export { openWebgpuBackend, type WebgpuBackendOptions } from "./webgpu/backend.ts";
