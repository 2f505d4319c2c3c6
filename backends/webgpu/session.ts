/**
 * A WebGPU generation session: per-layer KV caches for a set of sequences, activation buffers
 * that grow with the largest step seen, and the two ways to drive it — `step` (interactive:
 * one forward, one logits readback) and `runPlan` (planned: the whole generation encoded as GPU
 * work, sampling on the device into a device-resident grid, one readback at the end).
 *
 * @module
 */

import { checkPlan } from "../../core/plan.ts";
import { resolveSampling } from "../../core/sampling.ts";
import type { PlanRun, Query, Session } from "../../core/step.ts";
import { kvDimOf, type LlamagenConfig } from "../llamagen_config.ts";
import { type Gpu, readBack, storageBuffer, uniformBuffer, withErrorScope } from "./device.ts";
import { packPlan, packStep, PARAMS_INTS, QUERY_INTS } from "./device_queries.ts";
import { type Activations, Forward } from "./forward.ts";
import type { Kernels } from "./kernels.ts";
import type { MatmulOptions } from "./matmul.ts";
import { DeviceSampler } from "./sampler.ts";
import type { GpuWeights } from "./weights.ts";

/** What a session needs from its backend. */
export interface SessionModel {
  gpu: Gpu;
  kernels: Kernels;
  config: LlamagenConfig;
  weights: GpuWeights;
  /** How the forward picks its matmul kernels. */
  matmul: MatmulOptions;
}

/** Capacities of the growable buffers. */
interface Capacity {
  m: number; // queries per step
  l: number; // logit rows per step
  q: number; // queries in the query buffer (a whole plan)
  cells: number; // grid ints
}

export class WebgpuSession implements Session {
  readonly #model: SessionModel;
  readonly #seqs: number;
  readonly #slots: number;
  readonly #fixed: GPUBuffer[];
  #act: Activations;
  #cap: Capacity = { m: 0, l: 0, q: 0, cells: 0 };
  #forward: Forward | null = null;
  #grown: GPUBuffer[] = [];
  #closed = false;

  constructor(model: SessionModel, conditions: readonly number[]) {
    const { gpu: { device }, config } = model;
    this.#model = model;
    this.#seqs = conditions.length;
    this.#slots = config.prefix + config.grid[0] * config.grid[1];
    const cacheBytes = this.#seqs * this.#slots * kvDimOf(config) * 4; // [seqs, slots, kvDim]
    const limit = device.limits.maxStorageBufferBindingSize;
    if (cacheBytes > limit) {
      throw new RangeError(
        `KV cache of ${this.#seqs} sequences needs ${cacheBytes} bytes per layer; this device binds at most ${limit}: use fewer images`,
      );
    }
    const cache = (kind: string) =>
      Array.from(
        { length: config.layers },
        (_, l) => storageBuffer(device, `${kind}-cache[${l}]`, cacheBytes),
      );
    const kc = cache("k"), vc = cache("v");
    const written = storageBuffer(device, "written", this.#seqs * this.#slots * 4);
    const conds = storageBuffer(device, "conditions", Int32Array.from(conditions));
    const params = uniformBuffer(device, "params", PARAMS_INTS * 4);
    this.#fixed = [...kc, ...vc, written, conds, params];
    this.#act = { kc, vc, written, conds, params } as Activations;
  }

  /** Grow the activation buffers to at least `need`, rebuilding the forward's bind groups. */
  #ensure(need: Capacity): void {
    const cap = this.#cap;
    if (
      need.m <= cap.m && need.l <= cap.l && need.q <= cap.q && need.cells <= cap.cells &&
      this.#forward
    ) return;
    const { gpu: { device }, config, kernels, weights, matmul } = this.#model;
    const grow = (have: number, want: number) => (want > have ? Math.max(want, 2 * have) : have);
    const next: Capacity = {
      m: grow(cap.m, Math.max(need.m, 4)),
      l: grow(cap.l, Math.max(need.l, 1)),
      q: grow(cap.q, Math.max(need.q, need.m, 4)),
      cells: grow(cap.cells, Math.max(need.cells, 1)),
    };
    const limit = device.limits.maxStorageBufferBindingSize;
    const qkvWidth = config.dim + 2 * kvDimOf(config);
    const widest = Math.max(qkvWidth, config.hidden) * 4;
    if (next.l * config.vocab * 4 > limit || next.m * widest > limit) {
      throw new RangeError(
        `A step of ${need.m} queries (${need.l} with logits) exceeds this device's ${limit}-byte storage binding`,
      );
    }
    for (const b of this.#grown) b.destroy();
    const make = (label: string, bytes: number) => storageBuffer(device, label, bytes);
    const { dim, hidden, vocab } = config;
    this.#act = {
      ...this.#act,
      queries: make("queries", next.q * QUERY_INTS * 4),
      grid: make("grid", next.cells * 4),
      x: make("x", next.m * dim * 4),
      n: make("n", next.m * dim * 4),
      qkv: make("qkv", next.m * qkvWidth * 4),
      q: make("q", next.m * dim * 4),
      att: make("att", next.m * dim * 4),
      a: make("a", next.m * hidden * 4),
      b: make("b", next.m * hidden * 4),
      nl: make("nl", next.l * dim * 4),
      logits: make("logits", next.l * vocab * 4),
    };
    const a = this.#act;
    this.#grown = [a.queries, a.grid, a.x, a.n, a.qkv, a.q, a.att, a.a, a.b, a.nl, a.logits];
    this.#cap = next;
    this.#forward = new Forward(kernels, config, weights, this.#act, matmul);
  }

  #check(): void {
    if (this.#closed) throw new Error("WebGPU session is closed");
    this.#model.gpu.check();
  }

  get #limits() {
    const { config } = this.#model;
    return { seqs: this.#seqs, slots: this.#slots, prefix: config.prefix, vocab: config.vocab };
  }

  /** One forward pass; returns logits: [queries with wantLogits, vocab] in query order. */
  async step(queries: readonly Query[]): Promise<Float32Array> {
    this.#check();
    const { gpu, config } = this.#model;
    const { device } = gpu;
    const { data, logits } = packStep(queries, this.#limits);
    const m = queries.length;
    if (m === 0) return new Float32Array(0);
    await withErrorScope(
      device,
      "step setup",
      () => this.#ensure({ m, l: logits, q: m, cells: 1 }),
    );
    device.queue.writeBuffer(this.#act.queries, 0, data);
    device.queue.writeBuffer(this.#act.params, 0, Uint32Array.of(m, 0, 0, 0, 1, logits, 0, 0));
    const encoder = device.createCommandEncoder({ label: "step" });
    const pass = encoder.beginComputePass({ label: "step" });
    this.#forward!.encode(pass, m, logits);
    pass.end();
    device.queue.submit([encoder.finish()]);
    if (logits === 0) {
      await device.queue.onSubmittedWorkDone();
      this.#check();
      return new Float32Array(0);
    }
    return new Float32Array(await readBack(gpu, this.#act.logits, logits * config.vocab * 4));
  }

  /** Planned mode: run the whole plan on the device; returns grids: [images, H, W]. */
  async runPlan(run: PlanRun, onProgress?: (stepsDone: number) => void): Promise<Int32Array> {
    this.#check();
    const { gpu, config, kernels } = this.#model;
    const { device } = gpu;
    const [height, width] = config.grid;
    checkPlan(run.plan, {
      family: "llamagen",
      height,
      width,
      prefix: config.prefix,
      eolToken: null,
    });
    const b = run.images.length;
    const seqs = run.cfgScale === 1 ? b : 2 * b;
    if (seqs !== this.#seqs) {
      throw new RangeError(
        `Plan needs ${seqs} sequences, this session was opened with ${this.#seqs}`,
      );
    }
    const sampling = resolveSampling(run.sampling);
    const conds = new Int32Array(seqs);
    const images = new Uint32Array(2 * b);
    run.images.forEach((image, i) => {
      const c = image.condition;
      if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c >= config.numClasses) {
        throw new RangeError(
          `Image ${i}: class ${JSON.stringify(c)} is not in 0..${config.numClasses - 1}`,
        );
      }
      for (const [name, v] of [["seed", image.seed], ["index", image.index]] as const) {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
          throw new RangeError(`Image ${i}: ${name} ${v} is not an unsigned 32-bit integer`);
        }
      }
      conds[i] = c;
      if (seqs > b) conds[b + i] = config.numClasses;
      images.set([image.seed, image.index], 2 * i);
    });
    const plan = packPlan(run);
    const cells = b * height * width;
    const temp: { destroy(): void }[] = []; // the plan's buffers and sampler, freed however it ends
    try {
      const { sampler, allParams } = await withErrorScope(device, "plan setup", () => {
        this.#ensure({
          m: plan.maxQueries,
          l: plan.maxLogits,
          q: plan.queries.length / QUERY_INTS,
          cells,
        });
        const allParams = storageBuffer(device, "plan-params", plan.params);
        const jobs = storageBuffer(device, "plan-jobs", plan.jobs);
        temp.push(allParams, jobs);
        const sampler = new DeviceSampler({
          kernels,
          device,
          vocab: config.vocab,
          height,
          width,
          maxJobs: plan.maxJobs,
          cfgScale: run.cfgScale,
          sampling,
          images,
          params: this.#act.params,
          jobs,
          logits: this.#act.logits,
          grid: this.#act.grid,
        });
        temp.push(sampler);
        return { sampler, allParams };
      });
      device.queue.writeBuffer(this.#act.conds, 0, conds);
      device.queue.writeBuffer(this.#act.queries, 0, plan.queries);
      let encoder = device.createCommandEncoder({ label: "plan" });
      encoder.clearBuffer(this.#act.written);
      encoder.clearBuffer(this.#act.grid);
      const every = run.progressEvery > 0 ? run.progressEvery : 0;
      const batch = every || 32; // steps per submitted command buffer
      for (let j = 0; j < plan.steps; j++) {
        const [m, , jobs, , , logits] = plan.params.subarray(
          j * PARAMS_INTS,
          (j + 1) * PARAMS_INTS,
        );
        encoder.copyBufferToBuffer(
          allParams,
          j * PARAMS_INTS * 4,
          this.#act.params,
          0,
          PARAMS_INTS * 4,
        );
        const pass = encoder.beginComputePass({ label: `plan-step-${j}` });
        this.#forward!.encode(pass, m, logits);
        if (jobs > 0) sampler.encode(pass, jobs);
        pass.end();
        if ((j + 1) % batch === 0 && j + 1 < plan.steps) {
          device.queue.submit([encoder.finish()]);
          encoder = device.createCommandEncoder({ label: "plan" });
          if (every && onProgress) {
            await device.queue.onSubmittedWorkDone();
            this.#check();
            onProgress(j + 1);
          }
        }
      }
      device.queue.submit([encoder.finish()]);
      const grid = new Int32Array(await readBack(gpu, this.#act.grid, cells * 4));
      onProgress?.(plan.steps);
      return grid;
    } finally {
      for (const t of temp) t.destroy();
    }
  }

  /** Free the caches and activations. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const b of [...this.#fixed, ...this.#grown]) b.destroy();
    }
    return Promise.resolve();
  }
}
