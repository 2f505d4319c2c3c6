/**
 * The device sampler alone, on logits from the host: what sampler_test.ts checks against
 * core/sampling and sample_bench.ts times. No GPT runs; one dispatch samples every job.
 *
 * @module
 */

import type { Sampling } from "../../core/sampling.ts";
import { type Gpu, readBack, storageBuffer, uniformBuffer } from "./device.ts";
import { PARAMS_INTS } from "./device_queries.ts";
import { DeviceSampler, type SampleKernels } from "./sampler.ts";

/** One sampling job: mix rows `cond` and `uncond`, draw the token of `cell` of `image`. */
export interface HarnessJob {
  cond: number;
  uncond: number;
  image: number;
  cell: number;
}

/** Inputs of {@linkcode SamplerHarness}. */
export interface HarnessOptions {
  gpu: Gpu;
  kernels: SampleKernels;
  /** logits: [rows, vocab]. */
  logits: Float32Array<ArrayBuffer>;
  vocab: number;
  /** Grid [H, W] of every image. */
  grid: readonly [number, number];
  /** (seed, index) per image. */
  images: readonly { seed: number; index: number }[];
  jobs: readonly HarnessJob[];
  cfgScale: number;
  sampling: Sampling;
}

/** The device sampler bound to host-made logits and jobs. */
export class SamplerHarness {
  readonly #gpu: Gpu;
  readonly #sampler: DeviceSampler;
  readonly #buffers: GPUBuffer[];
  readonly #grid: GPUBuffer;
  readonly #jobs: readonly HarnessJob[];
  readonly #cells: number;
  readonly #images: number;

  constructor(o: HarnessOptions) {
    const { device } = o.gpu;
    const [h, w] = o.grid;
    this.#gpu = o.gpu;
    this.#jobs = o.jobs;
    this.#cells = h * w;
    this.#images = o.images.length;
    const params = uniformBuffer(device, "harness-params", PARAMS_INTS * 4);
    device.queue.writeBuffer(params, 0, Uint32Array.of(0, 0, o.jobs.length, 0, 0, 0, 0, 0));
    const jobs = storageBuffer(
      device,
      "harness-jobs",
      Uint32Array.from(o.jobs.flatMap((j) => [j.cond, j.uncond, j.image, j.cell])),
    );
    const logits = storageBuffer(device, "harness-logits", o.logits);
    this.#grid = storageBuffer(device, "harness-grid", o.images.length * h * w * 4);
    this.#buffers = [params, jobs, logits, this.#grid];
    this.#sampler = new DeviceSampler({
      kernels: o.kernels,
      device,
      vocab: o.vocab,
      height: h,
      width: w,
      maxJobs: o.jobs.length,
      cfgScale: o.cfgScale,
      sampling: o.sampling,
      images: Uint32Array.from(o.images.flatMap((i) => [i.seed, i.index])),
      params,
      jobs,
      logits,
      grid: this.#grid,
    });
  }

  /** Submit `repeats` dispatches of all jobs in one command buffer and wait for them. */
  async run(repeats = 1): Promise<void> {
    const { device } = this.#gpu;
    const encoder = device.createCommandEncoder({ label: "harness" });
    for (let r = 0; r < repeats; r++) {
      const pass = encoder.beginComputePass({ label: "harness-sample" });
      this.#sampler.encode(pass, this.#jobs.length);
      pass.end();
    }
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    this.#gpu.check();
  }

  /** The token each job drew (in job order), read from the device grid. */
  async tokens(): Promise<Int32Array> {
    const bytes = this.#images * this.#cells * 4;
    const grid = new Int32Array(await readBack(this.#gpu, this.#grid, bytes));
    return Int32Array.from(this.#jobs, (j) => grid[j.image * this.#cells + j.cell]);
  }

  /** Free the buffers. */
  destroy(): void {
    this.#sampler.destroy();
    for (const b of this.#buffers) b.destroy();
  }
}
