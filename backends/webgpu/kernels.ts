/**
 * The GPT's WGSL kernels: sources imported as text, served by a {@linkcode KernelCache}
 * (shape constants baked in, explicit bind group layouts, pipelines cached). The matmuls come in
 * two variants of one source each: f32 weights, and f16 weights (`…F16`) for a device with
 * `shader-f16`.
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
import { KernelCache, type KernelTable, type KernelVariant } from "./kernel_cache.ts";

export type { Constants } from "./kernel_cache.ts";

/** The matmuls' bindings: params, x, w, y (the f16 kernels' too: one bind group fits both). */
const MATMUL_BINDINGS = ["uniform", "read", "read", "rw"] as const;

/** The matmuls read weights as `WeightVec4`: f32 … */
const F32_WEIGHTS: KernelVariant = { declarations: "alias WeightVec4 = vec4f;" };

/** … or f16 (storage only: widened to vec4f as read), on a device with `shader-f16`. */
const F16_WEIGHTS: KernelVariant = {
  directives: "enable f16;",
  declarations: "alias WeightVec4 = vec4<f16>;",
  feature: "shader-f16",
};

/** Kernel name → [WGSL source, binding kinds, optional variant]. */
export const KERNELS = {
  embed: [embedSrc, ["uniform", "read", "read", "read", "read", "read", "rw"]],
  rmsnorm: [rmsnormSrc, ["uniform", "read", "read", "read", "rw"]],
  matmul: [matmulSrc, MATMUL_BINDINGS, F32_WEIGHTS],
  matmulTiled: [matmulTiledSrc, MATMUL_BINDINGS, F32_WEIGHTS],
  matmulF16: [matmulSrc, MATMUL_BINDINGS, F16_WEIGHTS],
  matmulTiledF16: [matmulTiledSrc, MATMUL_BINDINGS, F16_WEIGHTS],
  ropeKv: [ropeKvSrc, ["uniform", "read", "read", "read", "rw", "rw", "rw", "rw", "read"]],
  attention: [attentionSrc, ["uniform", "read", "read", "read", "read", "read", "rw", "read"]],
  swiglu: [swigluSrc, ["uniform", "rw", "read"]],
  biasAct: [biasActSrc, ["uniform", "rw", "read"]],
  sample: [sampleSrc, ["uniform", "uniform", "read", "read", "rw", "read", "rw"]],
} as const satisfies KernelTable;

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
