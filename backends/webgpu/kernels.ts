/**
 * WGSL kernels: sources imported as text, shape constants baked in as `const` declarations,
 * explicit bind group layouts (so bind groups work with every shape variant), pipelines cached
 * by kernel and constants.
 *
 * @module
 */

import attentionSrc from "./attention.wgsl" with { type: "text" };
import commonSrc from "./common.wgsl" with { type: "text" };
import embedSrc from "./embed.wgsl" with { type: "text" };
import matmulSrc from "./matmul.wgsl" with { type: "text" };
import rmsnormSrc from "./rmsnorm.wgsl" with { type: "text" };
import ropeKvSrc from "./rope_kv.wgsl" with { type: "text" };
import sampleSrc from "./sample.wgsl" with { type: "text" };
import swigluSrc from "./swiglu.wgsl" with { type: "text" };

/** Binding kinds, in binding order. */
type Binding = "uniform" | "read" | "rw";

/** Kernel name → [WGSL source, binding kinds]. */
const KERNELS = {
  embed: [embedSrc, ["uniform", "read", "read", "read", "read", "read", "rw"]],
  rmsnorm: [rmsnormSrc, ["uniform", "read", "read", "read", "rw"]],
  matmul: [matmulSrc, ["uniform", "read", "read", "rw"]],
  ropeKv: [ropeKvSrc, ["uniform", "read", "read", "read", "rw", "rw", "rw", "rw"]],
  attention: [attentionSrc, ["uniform", "read", "read", "read", "read", "read", "rw"]],
  swiglu: [swigluSrc, ["uniform", "rw", "read"]],
  sample: [sampleSrc, ["uniform", "uniform", "read", "read", "rw", "read", "rw"]],
} as const satisfies Record<string, readonly [string, readonly Binding[]]>;

/** Kernel names. */
export type KernelName = keyof typeof KERNELS;

/** Constant values: integers become `u32`, `true`/`false` bools, {f32: x} floats. */
export type Constants = Record<string, number | boolean | { f32: number }>;

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

/** The embedding kernel compares `token` (i32) with ROW0/ROWS: declare those as i32. */
const SIGNED = new Set(["ROW0", "ROWS"]);

/** Pipelines and layouts of one device. */
export class Kernels {
  readonly #device: GPUDevice;
  readonly #layouts = new Map<KernelName, GPUBindGroupLayout>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** The bind group layout of a kernel (shared by all its shape variants). */
  layout(kernel: KernelName): GPUBindGroupLayout {
    let layout = this.#layouts.get(kernel);
    if (!layout) {
      const kinds = KERNELS[kernel][1] as readonly Binding[];
      layout = this.#device.createBindGroupLayout({
        label: `${kernel}-layout`,
        entries: kinds.map((kind, binding) => ({
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
  pipeline(kernel: KernelName, constants: Constants): GPUComputePipeline {
    const names = Object.keys(constants).sort();
    const key = kernel + ":" + names.map((n) => `${n}=${JSON.stringify(constants[n])}`).join(",");
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      const header = names.map((n) => {
        const v = constants[n];
        return SIGNED.has(n) ? `const ${n}: i32 = ${v}i;` : declare(n, v);
      }).join("\n");
      const code = `${header}\n${commonSrc}\n${KERNELS[kernel][0]}`;
      const module = this.#device.createShaderModule({ label: key, code });
      pipeline = this.#device.createComputePipeline({
        label: key,
        layout: this.#device.createPipelineLayout({
          label: `${kernel}-pipeline-layout`,
          bindGroupLayouts: [this.layout(kernel)],
        }),
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** A bind group for `kernel` with `buffers` in binding order (whole buffers or ranges). */
  bindGroup(
    kernel: KernelName,
    label: string,
    buffers: (GPUBuffer | { buffer: GPUBuffer; offset: number; size: number })[],
  ): GPUBindGroup {
    return this.#device.createBindGroup({
      label,
      layout: this.layout(kernel),
      entries: buffers.map((b, binding) => ({
        binding,
        resource: b instanceof GPUBuffer ? { buffer: b } : b,
      })),
    });
  }
}
