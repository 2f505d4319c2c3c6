/**
 * The on-device sampler of planned mode: CFG mixing and the keyed draw of docs/sampling.md
 * (sample.wgsl, its WGSL implementation; sampler_test.ts holds it to the golden table
 * testing/golden/sampling.json), one workgroup per sampling job, the token written into the
 * device-resident grid.
 * The session owns the logits, jobs, params and grid buffers; the sampler owns its scratch
 * (mixed logits: [jobs, V]), the images and the sampling uniform.
 *
 * @module
 */

import type { Sampling } from "../../core/sampling.ts";
import { storageBuffer, uniformBuffer } from "./device.ts";
import type { Constants } from "./kernel_cache.ts";

/** What the sampler needs of a kernel cache (the GPT's `Kernels`, or a bench's own source). */
export interface SampleKernels {
  pipeline(kernel: "sample", constants: Constants): GPUComputePipeline;
  bindGroup(kernel: "sample", label: string, buffers: GPUBuffer[]): GPUBindGroup;
}

/** Everything one plan's sampler needs. */
export interface DeviceSamplerOptions {
  /** The kernel cache holding `sample`. */
  kernels: SampleKernels;
  device: GPUDevice;
  vocab: number;
  /** Grid height and width (a job's cell is r·W + c). */
  height: number;
  width: number;
  /** Most jobs any one dispatch samples (sizes the scratch). */
  maxJobs: number;
  /** CFG scale g; 1 = the conditional logits as they are. */
  cfgScale: number;
  sampling: Sampling;
  /** images: [B, 2] u32 — (seed, index) of each image, the draw's key. */
  images: Uint32Array<ArrayBuffer>;
  /** Per-step Params (uniform; `jobs`, `jobStart` read here). */
  params: GPUBuffer;
  /** jobs: [total, 4] u32 — condRow, uncondRow, image, cell. */
  jobs: GPUBuffer;
  /** logits: [rows, V] f32. */
  logits: GPUBuffer;
  /** grid: [B, H·W] i32, written at each job's cell. */
  grid: GPUBuffer;
}

/** Bytes of scratch per job and vocabulary entry: the mixed logit, f32. */
export const SCRATCH_BYTES_PER_VOCAB = 4;

/** The sample kernel bound to one plan's buffers. */
export class DeviceSampler {
  readonly #pipeline: GPUComputePipeline;
  readonly #group: GPUBindGroup;
  readonly #owned: GPUBuffer[];

  /** Throws a RangeError when `maxJobs` jobs' scratch exceeds the device's storage binding. */
  constructor(o: DeviceSamplerOptions) {
    const { device } = o;
    const limit = device.limits.maxStorageBufferBindingSize;
    if (o.maxJobs * o.vocab * SCRATCH_BYTES_PER_VOCAB > limit) {
      throw new RangeError(`A step samples ${o.maxJobs} tokens: too many images for this device`);
    }
    const scratch = storageBuffer(
      device,
      "sample-scratch",
      Math.max(1, o.maxJobs) * o.vocab * SCRATCH_BYTES_PER_VOCAB,
    );
    const images = storageBuffer(device, "images", o.images);
    const uniform = uniformBuffer(device, "sampling", 16);
    const s = new DataView(new ArrayBuffer(16));
    s.setFloat32(0, o.cfgScale, true);
    s.setFloat32(4, o.sampling.temperature, true);
    s.setUint32(8, o.sampling.topK, true);
    s.setFloat32(12, o.sampling.topP, true);
    device.queue.writeBuffer(uniform, 0, s.buffer);
    this.#owned = [scratch, images, uniform];
    this.#group = o.kernels.bindGroup("sample", "sample", [
      o.params,
      uniform,
      o.jobs,
      o.logits,
      scratch,
      images,
      o.grid,
    ]);
    this.#pipeline = o.kernels.pipeline("sample", {
      V: o.vocab,
      HW: o.height * o.width,
      W: o.width,
    });
  }

  /** Sample `jobs` tokens (params.jobStart onwards) in `pass`. */
  encode(pass: GPUComputePassEncoder, jobs: number): void {
    pass.setPipeline(this.#pipeline);
    pass.setBindGroup(0, this.#group);
    pass.dispatchWorkgroups(jobs);
  }

  /** Free the scratch, images and uniform. */
  destroy(): void {
    for (const b of this.#owned) b.destroy();
  }
}
