/**
 * A device's compute pipelines for a table of WGSL kernels: shape constants baked in as `const`
 * declarations, one explicit bind group layout per kernel (so bind groups work with every shape
 * variant), pipelines cached by kernel and constants. The GPT kernels (kernels.ts) and the VQ
 * decoder's (vq_kernels.ts) are two tables over this one cache. A kernel's optional
 * {@linkcode KernelVariant} compiles one WGSL source more than one way (the GPT's matmuls with
 * f32 or f16 weights): directives first, declarations (an `alias` the source leaves open) after
 * the table's preamble.
 *
 * @module
 */

/** Binding kinds, in binding order. */
export type Binding = "uniform" | "read" | "rw";

/**
 * What one kernel of a table adds to its source, so that kernels can share one WGSL file: the
 * GPT's `matmul` and `matmulF16` are one source whose weight type `WeightVec4` each declares.
 *
 * A pipeline's code is, in order: `directives`, the shape constants, the table's preamble,
 * `declarations`, the kernel's source (a kernel without a variant: constants, preamble, source).
 */
export interface KernelVariant {
  /**
   * WGSL directives such as `enable f16;`, put first: WGSL wants them before any declaration.
   * @default ""
   */
  directives?: string;
  /**
   * WGSL declarations put between the preamble and the source, e.g. `alias WeightVec4 = vec4f;`.
   * @default ""
   */
  declarations?: string;
  /** A device feature the kernel needs (`shader-f16` for `enable f16;`), checked first. */
  feature?: GPUFeatureName;
}

/** Kernel name → [WGSL source, binding kinds, optional variant]. */
export type KernelTable = Record<
  string,
  readonly [string, readonly Binding[]] | readonly [string, readonly Binding[], KernelVariant]
>;

/** Constant values: integers become `u32` (or `i32` when named signed), booleans `bool`, {f32: x} floats. */
export type Constants = Record<string, number | boolean | { f32: number }>;

/**
 * The WGSL declaration of one shape constant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declareConstant } from "./kernel_cache.ts";
 * assert.equal(declareConstant("N", 4), "const N: u32 = 4u;");
 * assert.equal(declareConstant("S", { f32: 0.5 }), "const S: f32 = 5.000000000e-1;");
 * ```
 */
export function declareConstant(
  name: string,
  value: number | boolean | { f32: number },
  signed = false,
): string {
  if (typeof value === "boolean") return `const ${name}: bool = ${value};`;
  if (typeof value === "number") {
    if (signed) return `const ${name}: i32 = ${value}i;`;
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`Shader constant ${name} must be a u32, got ${value}`);
    }
    return `const ${name}: u32 = ${value}u;`;
  }
  const f = Math.fround(value.f32);
  return `const ${name}: f32 = ${Number.isInteger(f) ? f.toFixed(1) : f.toExponential(9)};`;
}

/** Options of a {@linkcode KernelCache}. */
export interface KernelCacheOptions {
  /** Label prefix of every GPU object, e.g. `vq-`. @default "" */
  prefix?: string;
  /** WGSL put between the constants and every kernel's source (shared helpers). @default "" */
  preamble?: string;
  /** Constants declared as `i32` instead of `u32`. */
  signed?: ReadonlySet<string>;
}

/** Pipelines and layouts of one table of kernels on one device. */
export class KernelCache<T extends KernelTable> {
  readonly #device: GPUDevice;
  readonly #table: T;
  readonly #prefix: string;
  readonly #preamble: string;
  readonly #signed: ReadonlySet<string>;
  readonly #layouts = new Map<keyof T, GPUBindGroupLayout>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();

  /** A cache for `table` on `device`. */
  constructor(device: GPUDevice, table: T, options: KernelCacheOptions = {}) {
    this.#device = device;
    this.#table = table;
    this.#prefix = options.prefix ?? "";
    this.#preamble = options.preamble ?? "";
    this.#signed = options.signed ?? new Set();
  }

  /** The bind group layout of a kernel (shared by all its shape variants). */
  layout(kernel: keyof T & string): GPUBindGroupLayout {
    let layout = this.#layouts.get(kernel);
    if (!layout) {
      layout = this.#device.createBindGroupLayout({
        label: `${this.#prefix}${kernel}-layout`,
        entries: this.#table[kernel][1].map((kind, binding) => ({
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

  /**
   * The pipeline of `kernel` with `constants` baked in; cached. Throws a TypeError when the
   * kernel's variant needs a feature the device lacks.
   */
  pipeline(kernel: keyof T & string, constants: Constants): GPUComputePipeline {
    const names = Object.keys(constants).sort();
    const key = `${this.#prefix}${kernel}:` +
      names.map((n) => `${n}=${JSON.stringify(constants[n])}`).join(",");
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      const [source, , variant = {}] = this.#table[kernel];
      if (variant.feature && !this.#device.features.has(variant.feature)) {
        throw new TypeError(
          `Cannot compile kernel ${kernel}: the device lacks the ${variant.feature} feature`,
        );
      }
      const header = names.map((n) => declareConstant(n, constants[n], this.#signed.has(n)))
        .join("\n");
      const code = [variant.directives, header, this.#preamble, variant.declarations, source]
        .filter((part) => part !== undefined).join("\n");
      const module = this.#device.createShaderModule({ label: key, code });
      pipeline = this.#device.createComputePipeline({
        label: key,
        layout: this.#device.createPipelineLayout({
          label: `${this.#prefix}${kernel}-pipeline-layout`,
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
    kernel: keyof T & string,
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
