/**
 * The GPT's WGSL kernels: sources imported as text, served by a {@linkcode KernelCache}
 * (shape constants baked in, explicit bind group layouts, pipelines cached).
 *
 * @module
 */

import attentionSrc from "./attention.wgsl" with { type: "text" };
import biasActSrc from "./bias_act.wgsl" with { type: "text" };
import commonSrc from "./common.wgsl" with { type: "text" };
import embedSrc from "./embed.wgsl" with { type: "text" };
import matmulSrc from "./matmul.wgsl" with { type: "text" };
import matmulTiledSrc from "./matmul_tiled.wgsl" with { type: "text" };
import rmsnormSrc from "./rmsnorm.wgsl" with { type: "text" };
import ropeKvSrc from "./rope_kv.wgsl" with { type: "text" };
import sampleSrc from "./sample.wgsl" with { type: "text" };
import swigluSrc from "./swiglu.wgsl" with { type: "text" };
import { type Binding, KernelCache } from "./kernel_cache.ts";

export type { Constants } from "./kernel_cache.ts";

/** Kernel name → [WGSL source, binding kinds]. */
export const KERNELS = {
  embed: [embedSrc, ["uniform", "read", "read", "read", "read", "read", "rw"]],
  rmsnorm: [rmsnormSrc, ["uniform", "read", "read", "read", "rw"]],
  matmul: [matmulSrc, ["uniform", "read", "read", "rw"]],
  matmulTiled: [matmulTiledSrc, ["uniform", "read", "read", "rw"]],
  ropeKv: [ropeKvSrc, ["uniform", "read", "read", "read", "rw", "rw", "rw", "rw", "read"]],
  attention: [attentionSrc, ["uniform", "read", "read", "read", "read", "read", "rw", "read"]],
  swiglu: [swigluSrc, ["uniform", "rw", "read"]],
  biasAct: [biasActSrc, ["uniform", "rw", "read"]],
  sample: [sampleSrc, ["uniform", "uniform", "read", "read", "rw", "read", "rw"]],
} as const satisfies Record<string, readonly [string, readonly Binding[]]>;

/** Kernel names. */
export type KernelName = keyof typeof KERNELS;

/** The embedding kernel compares `token` (i32) with ROW0/ROWS: declare those as i32. */
const SIGNED = new Set(["ROW0", "ROWS"]);

/** Pipelines and layouts of the GPT kernels on one device. */
export class Kernels extends KernelCache<typeof KERNELS> {
  /** The GPT kernels of `device`. */
  constructor(device: GPUDevice) {
    super(device, KERNELS, { preamble: commonSrc, signed: SIGNED });
  }
}
