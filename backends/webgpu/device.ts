/**
 * WebGPU device acquisition and buffer helpers: adapter → device (null checks that say what to
 * install), device errors captured and surfaced as rejections rather than hangs, readbacks
 * through a pool of reused staging buffers.
 *
 * @module
 */

import { StagingPool } from "./staging_pool.ts";

/** A device plus the first uncaptured error / loss, if any. */
export interface Gpu {
  /** The device. */
  device: GPUDevice;
  /** Adapter description, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  description: string;
  /** Whether this is a software (fallback) adapter. */
  isFallback: boolean;
  /** Whether the device has `shader-f16` (requested when the adapter offers it): f16 weights. */
  f16: boolean;
  /** Readback buffers reused by {@linkcode readBack} (and the VQ decoder). */
  staging: StagingPool;
  /** Throws the first uncaptured validation error or the loss of the device, if any. */
  check(): void;
}

/** The message when no adapter exists. */
export const NO_ADAPTER =
  "no WebGPU adapter: install a GPU driver, or `apt-get install mesa-vulkan-drivers` for the software adapter";

/** Cache of the process-wide device: lavapipe is slow to start, tests open many backends. */
let shared: Promise<Gpu> | null = null;

/**
 * Give the GPU drivers a runtime directory when the environment has none: Mesa's Vulkan loader
 * prints "error: XDG_RUNTIME_DIR is invalid or not set" twice on a fresh machine (a container,
 * a CI job) otherwise. A private directory of this process's own, removed when it exits; nothing
 * changes when XDG_RUNTIME_DIR names a directory, or without permission to read the environment.
 */
export function ensureRuntimeDir(): void {
  try {
    const dir = Deno.env.get("XDG_RUNTIME_DIR");
    if (dir && Deno.statSync(dir).isDirectory) return;
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) return;
  }
  try {
    const made = Deno.makeTempDirSync({ prefix: "zipar-xdg-" });
    Deno.chmodSync(made, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", made);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(made, { recursive: true });
      } catch { /* gone already */ }
    });
  } catch { /* no permission: the drivers print their line, nothing worse */ }
}

/** Whether a WebGPU adapter exists (without throwing). */
export async function hasWebgpuAdapter(): Promise<boolean> {
  try {
    ensureRuntimeDir();
    return !!(await navigator.gpu?.requestAdapter());
  } catch {
    return false;
  }
}

/**
 * Open (once per process) a device with the adapter's storage-buffer limits, and `shader-f16`
 * when the adapter offers it.
 * Throws a one-line Error naming the fix when there is no adapter.
 */
export function openGpu(): Promise<Gpu> {
  if (!shared) {
    shared = createGpu();
    shared.catch(() => (shared = null));
  }
  return shared;
}

async function createGpu(): Promise<Gpu> {
  if (!("gpu" in navigator) || !navigator.gpu) throw new Error(NO_ADAPTER);
  ensureRuntimeDir();
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error(NO_ADAPTER);
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    label: "zipar-webgpu",
    requiredFeatures: adapter.features.has("shader-f16") ? ["shader-f16"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: Math.min(limits.maxComputeInvocationsPerWorkgroup, 256),
      maxComputeWorkgroupSizeX: Math.min(limits.maxComputeWorkgroupSizeX, 256),
    },
  });
  let failure: Error | null = null;
  device.addEventListener("uncapturederror", (event) => {
    const message = (event as GPUUncapturedErrorEvent).error.message.split("\n")[0];
    failure ??= new Error(`WebGPU error: ${message}`);
  });
  device.lost.then((info) => {
    failure ??= new Error(`WebGPU device lost (${info.reason}): ${info.message}`);
    shared = null;
  });
  const info = adapter.info;
  return {
    device,
    description: info.description || info.vendor || "unknown adapter",
    isFallback: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    f16: device.features.has("shader-f16"),
    staging: new StagingPool(device),
    check() {
      if (failure) throw failure;
    },
  };
}

/** What {@linkcode withErrorScope} does when the device reports an error. */
export interface ErrorScopeOptions<T> {
  /** The fix, appended to the one-line message. */
  fix?: string;
  /** Free what `setup` made before the error is thrown (buffers). */
  discard?: (result: T) => void;
}

/**
 * Run `setup` (sync, or async to its end) inside validation and out-of-memory error scopes; a
 * captured error rejects with a one-line message naming `what` (and the fix, when given).
 */
export async function withErrorScope<T>(
  device: GPUDevice,
  what: string,
  setup: () => T | Promise<T>,
  options: ErrorScopeOptions<T> = {},
): Promise<T> {
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let result: T | undefined, thrown: unknown = null;
  try {
    result = await setup();
  } catch (e) {
    thrown = e;
  }
  const validation = await device.popErrorScope();
  const memory = await device.popErrorScope();
  if (thrown) throw thrown;
  const error = validation ?? memory;
  if (error) {
    options.discard?.(result as T);
    const fix = options.fix ? `: ${options.fix}` : "";
    throw new Error(`WebGPU ${what} failed: ${error.message.split("\n")[0]}${fix}`);
  }
  return result as T;
}

/** Create a storage buffer (optionally with initial data); size rounded up to 16 bytes. */
export function storageBuffer(
  device: GPUDevice,
  label: string,
  sizeOrData: number | ArrayBufferView,
  extraUsage = 0,
): GPUBuffer {
  const data = typeof sizeOrData === "number" ? null : sizeOrData;
  const bytes = data ? data.byteLength : (sizeOrData as number);
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  const buffer = device.createBuffer({
    label,
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extraUsage,
    mappedAtCreation: !!data,
  });
  if (data) {
    new Uint8Array(buffer.getMappedRange()).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    buffer.unmap();
  }
  return buffer;
}

/** Create a uniform buffer of `size` bytes (rounded up to 16). */
export function uniformBuffer(device: GPUDevice, label: string, size: number): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(size / 16) * 16),
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
}

/** Copy `bytes` from `source` (at `offset`) to the host: one mapAsync, a pooled staging buffer. */
export async function readBack(
  gpu: Gpu,
  source: GPUBuffer,
  bytes: number,
  offset = 0,
): Promise<ArrayBuffer> {
  const { device } = gpu;
  const copyBytes = Math.ceil(bytes / 4) * 4;
  const staging = gpu.staging.acquire(copyBytes);
  try {
    const encoder = device.createCommandEncoder({ label: `${source.label}-readback` });
    encoder.copyBufferToBuffer(source, offset, staging, 0, copyBytes);
    device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, copyBytes);
    } catch (e) {
      gpu.check();
      throw new Error(`WebGPU readback failed: ${(e as Error).message.split("\n")[0]}`);
    }
    gpu.check();
    const copy = staging.getMappedRange(0, copyBytes).slice(0, bytes);
    staging.unmap();
    return copy;
  } finally {
    gpu.staging.release(staging);
  }
}
