/**
 * The VQ decoder's WGSL kernels: sources imported as text, shape constants baked in as `const`
 * declarations, one explicit bind group layout per kernel, pipelines cached by constants.
 *
 * @module
 */

import attentionSrc from "./vq_attention.wgsl" with { type: "text" };
import convSrc from "./vq_conv.wgsl" with { type: "text" };
import groupnormSrc from "./vq_groupnorm.wgsl" with { type: "text" };
import lookupSrc from "./vq_lookup.wgsl" with { type: "text" };
import pixelsSrc from "./vq_pixels.wgsl" with { type: "text" };
import type { Constants } from "./kernels.ts";

/** Binding kinds, in binding order. */
type Binding = "uniform" | "read" | "rw";

/**
 * Kernel name → [WGSL source, binding kinds]. Shapes travel in a uniform (binding 0) where they
 * can, so a whole decoder needs a handful of pipelines (lavapipe compiles each for seconds).
 */
const KERNELS = {
  lookup: [lookupSrc, ["uniform", "read", "read", "rw"]],
  conv: [convSrc, ["uniform", "read", "read", "read", "read", "rw"]],
  groupnorm: [groupnormSrc, ["uniform", "read", "read", "read", "rw"]],
  attention: [attentionSrc, ["read", "read", "read", "rw"]],
  pixels: [pixelsSrc, ["uniform", "read", "rw"]],
} as const satisfies Record<string, readonly [string, readonly Binding[]]>;

/** VQ kernel names. */
export type VqKernelName = keyof typeof KERNELS;

function declare(name: string, value: number | boolean | { f32: number }): string {
  if (typeof value === "boolean") return `const ${name}: bool = ${value};`;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`Shader constant ${name} must be a u32, got ${value}`);
    }
    return `const ${name}: u32 = ${value}u;`;
  }
  const f = Math.fround(value.f32);
  return `const ${name}: f32 = ${Number.isInteger(f) ? f.toFixed(1) : f.toExponential(9)};`;
}

const perDevice = new WeakMap<GPUDevice, VqKernels>();

/** The kernels of `device`, shared by every decoder on it (pipelines compile once). */
export function vqKernels(device: GPUDevice): VqKernels {
  let kernels = perDevice.get(device);
  if (!kernels) perDevice.set(device, kernels = new VqKernels(device));
  return kernels;
}

/** Pipelines and layouts of the VQ kernels on one device. */
export class VqKernels {
  readonly #device: GPUDevice;
  readonly #layouts = new Map<VqKernelName, GPUBindGroupLayout>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** The bind group layout of a kernel (shared by all its shape variants). */
  layout(kernel: VqKernelName): GPUBindGroupLayout {
    let layout = this.#layouts.get(kernel);
    if (!layout) {
      layout = this.#device.createBindGroupLayout({
        label: `vq-${kernel}-layout`,
        entries: (KERNELS[kernel][1] as readonly Binding[]).map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: {
            type: kind === "uniform"
              ? "uniform"
              : kind === "read"
              ? "read-only-storage"
              : "storage",
          },
        })),
      });
      this.#layouts.set(kernel, layout);
    }
    return layout;
  }

  /** The pipeline of `kernel` with `constants` baked in; cached. */
  pipeline(kernel: VqKernelName, constants: Constants): GPUComputePipeline {
    const names = Object.keys(constants).sort();
    const key = `vq-${kernel}:` +
      names.map((n) => `${n}=${JSON.stringify(constants[n])}`).join(",");
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      const header = names.map((n) => declare(n, constants[n])).join("\n");
      const module = this.#device.createShaderModule({
        label: key,
        code: `${header}\n${KERNELS[kernel][0]}`,
      });
      pipeline = this.#device.createComputePipeline({
        label: key,
        layout: this.#device.createPipelineLayout({
          label: `vq-${kernel}-pipeline-layout`,
          bindGroupLayouts: [this.layout(kernel)],
        }),
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** A bind group for `kernel` with whole `buffers` in binding order. */
  bindGroup(kernel: VqKernelName, label: string, buffers: GPUBuffer[]): GPUBindGroup {
    return this.#device.createBindGroup({
      label,
      layout: this.layout(kernel),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }
}
