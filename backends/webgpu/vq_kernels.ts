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
import { type Binding, KernelCache } from "./kernel_cache.ts";

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

const perDevice = new WeakMap<GPUDevice, VqKernels>();

/** The kernels of `device`, shared by every decoder on it (pipelines compile once). */
export function vqKernels(device: GPUDevice): VqKernels {
  let kernels = perDevice.get(device);
  if (!kernels) perDevice.set(device, kernels = new VqKernels(device));
  return kernels;
}

/** Pipelines and layouts of the VQ kernels on one device. */
export class VqKernels extends KernelCache<typeof KERNELS> {
  /** The VQ kernels of `device`. */
  constructor(device: GPUDevice) {
    super(device, KERNELS, { prefix: "vq-" });
  }
}
