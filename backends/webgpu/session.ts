/**
 * A WebGPU generation session: per-layer KV caches for a set of sequences, activation buffers
 * that grow with the largest step seen, and the two ways to drive it — `step` (interactive:
 * one forward, one logits readback) and `runPlan` (planned: the whole generation encoded as GPU
 * work, sampling on the device into a device-resident grid, one readback at the end).
 *
 * A text model's prompt (Janus) is prefilled once before the first step or plan: its tokens but
 * the last go through the decoder at cache positions 0..P−2; the condition slot is the last
 * token (position P − 1 = base[seq]), so image slot s sits at position P − 1 + s.
 *
 * @module
 */

import { checkPlan } from "../../core/plan.ts";
import { resolveSampling } from "../../core/sampling.ts";
import type { PlanRun, Query, Session } from "../../core/step.ts";
import { kvDimOf } from "../llamagen_config.ts";
import { type Gpu, readBack, storageBuffer, uniformBuffer, withErrorScope } from "./device.ts";
import { packPlan, packStep, PARAMS_INTS, QUERY_INTS } from "./device_queries.ts";
import { type Activations, type DecoderShape, Forward } from "./forward.ts";
import type { Kernels } from "./kernels.ts";
import type { MatmulOptions } from "./matmul.ts";
import { DeviceSampler } from "./sampler.ts";
import type { GpuWeights } from "./weights.ts";

/** Most prompt rows one prefill pass carries. */
export const PREFILL_ROWS = 256;

/** What a session needs from its backend. */
export interface SessionModel {
  gpu: Gpu;
  kernels: Kernels;
  /** The decoder's sizes (the cache size is the session's). */
  decoder: Omit<DecoderShape, "slots">;
  /** The model as the engine addresses it: family, grid [H, W], condition slots. */
  family: string;
  grid: [number, number];
  prefix: number;
  weights: GpuWeights;
  /** How the forward picks its matmul kernels. */
  matmul: MatmulOptions;
}

/** What a session starts from: its sequences' conditions, as the backend built them. */
export interface SessionOpening {
  /** Cache positions per sequence. */
  slots: number;
  /** conds: [seqs] the row of the condition table each sequence's condition slot embeds. */
  conds: Int32Array<ArrayBuffer>;
  /** base: [seqs] the cache position of each sequence's slot 0. */
  base: Int32Array<ArrayBuffer>;
  /** table: [rows, dim] a per-session condition table (Janus), else the model's class table. */
  table?: Float32Array<ArrayBuffer>;
  /** A prompt's tokens before its condition slot: x rows [rows, dim], device queries [rows, 5]. */
  prefill?: { x: Float32Array<ArrayBuffer>; queries: Int32Array<ArrayBuffer>; rows: number };
  /** conds: [seqs] of a plan's images (LlamaGen: their classes), checked against the model. */
  planConds(run: PlanRun, seqs: number): Int32Array<ArrayBuffer>;
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
  readonly #opening: SessionOpening;
  readonly #fixed: GPUBuffer[];
  #prefilled = false;
  #act: Activations;
  #cap: Capacity = { m: 0, l: 0, q: 0, cells: 0 };
  #forward: Forward | null = null;
  #grown: GPUBuffer[] = [];
  #closed = false;

  constructor(model: SessionModel, opening: SessionOpening) {
    const { gpu: { device }, decoder } = model;
    this.#model = model;
    this.#opening = opening;
    this.#seqs = opening.conds.length;
    this.#slots = opening.slots;
    const cacheBytes = this.#seqs * this.#slots * kvDimOf(decoder) * 4; // [seqs, slots, kvDim]
    const limit = device.limits.maxStorageBufferBindingSize;
    if (cacheBytes > limit) {
      throw new RangeError(
        `KV cache of ${this.#seqs} sequences needs ${cacheBytes} bytes per layer; this device binds at most ${limit}: use fewer images`,
      );
    }
    const cache = (kind: string) =>
      Array.from(
        { length: decoder.layers },
        (_, l) => storageBuffer(device, `${kind}-cache[${l}]`, cacheBytes),
      );
    const kc = cache("k"), vc = cache("v");
    const written = storageBuffer(device, "written", this.#seqs * this.#slots * 4);
    const conds = storageBuffer(device, "conditions", opening.conds);
    const base = storageBuffer(device, "positions", opening.base);
    const params = uniformBuffer(device, "params", PARAMS_INTS * 4);
    this.#fixed = [...kc, ...vc, written, conds, base, params];
    let table: GPUBuffer;
    if (opening.table) {
      table = storageBuffer(device, "condition-table", opening.table);
      this.#fixed.push(table);
    } else if (model.weights.io.kind === "class") {
      table = model.weights.io.cls;
    } else {
      throw new Error("a Janus session needs its condition table");
    }
    this.#act = { kc, vc, written, conds, base, params, table } as Activations;
  }

  /** Grow the activation buffers to at least `need`, rebuilding the forward's bind groups. */
  #ensure(need: Capacity): void {
    const cap = this.#cap;
    if (
      need.m <= cap.m && need.l <= cap.l && need.q <= cap.q && need.cells <= cap.cells &&
      this.#forward
    ) return;
    const { gpu: { device }, decoder, kernels, weights, matmul } = this.#model;
    const grow = (have: number, want: number) => (want > have ? Math.max(want, 2 * have) : have);
    const next: Capacity = {
      m: grow(cap.m, Math.max(need.m, 4)),
      l: grow(cap.l, Math.max(need.l, 1)),
      q: grow(cap.q, Math.max(need.q, need.m, 4)),
      cells: grow(cap.cells, Math.max(need.cells, 1)),
    };
    const limit = device.limits.maxStorageBufferBindingSize;
    const qkvWidth = decoder.dim + 2 * kvDimOf(decoder);
    const widest = Math.max(qkvWidth, decoder.hidden) * 4;
    if (next.l * decoder.vocab * 4 > limit || next.m * widest > limit) {
      throw new RangeError(
        `A step of ${need.m} queries (${need.l} with logits) exceeds this device's ${limit}-byte storage binding`,
      );
    }
    for (const b of this.#grown) b.destroy();
    const make = (label: string, bytes: number) => storageBuffer(device, label, bytes);
    const { dim, hidden, vocab } = decoder;
    const io = weights.io;
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
      ge: io.kind === "janus" ? make("gen-embed", next.m * io.embedDim * 4) : null,
      hh: io.kind === "janus" ? make("head-inner", next.l * io.head[0].n * 4) : null,
    };
    const a = this.#act;
    this.#grown = [a.queries, a.grid, a.x, a.n, a.qkv, a.q, a.att, a.a, a.b, a.nl, a.logits];
    for (const b of [a.ge, a.hh]) if (b) this.#grown.push(b);
    this.#cap = next;
    const shape = { ...decoder, hw: this.#model.grid[0] * this.#model.grid[1], slots: this.#slots };
    this.#forward = new Forward(kernels, shape, weights, this.#act, matmul);
  }

  #check(): void {
    if (this.#closed) throw new Error("WebGPU session is closed");
    this.#model.gpu.check();
  }

  get #limits() {
    const { grid: [height, width], prefix, decoder } = this.#model;
    return { seqs: this.#seqs, slots: prefix + height * width, prefix, vocab: decoder.vocab };
  }

  /** Rows of the prompt prefill (0 when there is none or it ran). */
  get #prefillRows(): number {
    return this.#prefilled ? 0 : this.#opening.prefill?.rows ?? 0;
  }

  /**
   * Submit the prompt prefill (the capacity ensured for {@linkcode PREFILL_ROWS} rows), once per
   * session state, in passes of at most that many rows: a long prompt batch never needs
   * activations, or workgroup counts, beyond one pass's.
   */
  #submitPrefill(): void {
    const prefill = this.#opening.prefill;
    const rows = this.#prefillRows;
    this.#prefilled = true;
    if (!prefill || rows === 0) return;
    const { device } = this.#model.gpu;
    const dim = this.#model.decoder.dim;
    for (let row0 = 0; row0 < rows; row0 += PREFILL_ROWS) {
      const m = Math.min(PREFILL_ROWS, rows - row0);
      device.queue.writeBuffer(this.#act.x, 0, prefill.x, row0 * dim, m * dim);
      device.queue.writeBuffer(
        this.#act.queries,
        0,
        prefill.queries,
        row0 * QUERY_INTS,
        m * QUERY_INTS,
      );
      device.queue.writeBuffer(this.#act.params, 0, Uint32Array.of(m, 0, 0, 0, 1, 0, 0, 0));
      const encoder = device.createCommandEncoder({ label: "prefill" });
      const pass = encoder.beginComputePass({ label: "prefill" });
      this.#forward!.encode(pass, m, 0, { embed: false });
      pass.end();
      device.queue.submit([encoder.finish()]);
    }
  }

  /** One forward pass; returns logits: [queries with wantLogits, vocab] in query order. */
  async step(queries: readonly Query[]): Promise<Float32Array> {
    this.#check();
    const { gpu, decoder } = this.#model;
    const { device } = gpu;
    const { data, logits } = packStep(queries, this.#limits);
    const m = queries.length;
    if (m === 0) return new Float32Array(0);
    const rows = Math.min(this.#prefillRows, PREFILL_ROWS);
    await withErrorScope(
      device,
      "step setup",
      () => this.#ensure({ m: Math.max(m, rows), l: logits, q: Math.max(m, rows), cells: 1 }),
    );
    this.#submitPrefill();
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
    return new Float32Array(await readBack(gpu, this.#act.logits, logits * decoder.vocab * 4));
  }

  /** Planned mode: run the whole plan on the device; returns grids: [images, H, W]. */
  async runPlan(run: PlanRun, onProgress?: (stepsDone: number) => void): Promise<Int32Array> {
    this.#check();
    const { gpu, decoder, kernels, family, grid: [height, width], prefix } = this.#model;
    const { device } = gpu;
    checkPlan(run.plan, { family, height, width, prefix, eolToken: null });
    if (run.cfgScales !== undefined) {
      // No plansCfgScales: the engine runs a model's per-cell scales interactive, never here.
      throw new TypeError(
        "WebGPU plans mix one CFG scale at every cell, not a scale per cell (PlanRun.cfgScales): run interactive",
      );
    }
    const b = run.images.length;
    const seqs = run.cfgScale === 1 ? b : 2 * b;
    if (seqs !== this.#seqs) {
      throw new RangeError(
        `Plan needs ${seqs} sequences, this session was opened with ${this.#seqs}`,
      );
    }
    const sampling = resolveSampling(run.sampling);
    const images = new Uint32Array(2 * b);
    run.images.forEach((image, i) => {
      for (const [name, v] of [["seed", image.seed], ["index", image.index]] as const) {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
          throw new RangeError(`Image ${i}: ${name} ${v} is not an unsigned 32-bit integer`);
        }
      }
      images.set([image.seed, image.index], 2 * i);
    });
    const conds = this.#opening.planConds(run, seqs);
    const plan = packPlan(run);
    const cells = b * height * width;
    const temp: { destroy(): void }[] = []; // the plan's buffers and sampler, freed however it ends
    try {
      const { sampler, allParams } = await withErrorScope(device, "plan setup", () => {
        // a plan prefills the prompt again
        const rows = Math.min(this.#opening.prefill?.rows ?? 0, PREFILL_ROWS);
        this.#ensure({
          m: Math.max(plan.maxQueries, rows),
          l: plan.maxLogits,
          q: Math.max(plan.queries.length / QUERY_INTS, rows),
          cells,
        });
        const allParams = storageBuffer(device, "plan-params", plan.params);
        const jobs = storageBuffer(device, "plan-jobs", plan.jobs);
        temp.push(allParams, jobs);
        const sampler = new DeviceSampler({
          kernels,
          device,
          vocab: decoder.vocab,
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
      const start = device.createCommandEncoder({ label: "plan-start" });
      start.clearBuffer(this.#act.written);
      start.clearBuffer(this.#act.grid);
      device.queue.submit([start.finish()]);
      this.#prefilled = false;
      this.#submitPrefill();
      device.queue.writeBuffer(this.#act.conds, 0, conds);
      device.queue.writeBuffer(this.#act.queries, 0, plan.queries);
      let encoder = device.createCommandEncoder({ label: "plan" });
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
