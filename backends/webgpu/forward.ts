/**
 * The GPT forward of one step as a list of dispatches: embed → per layer (RMSNorm, wqkv, RoPE +
 * KV write, attention, wo + residual, RMSNorm, w1/w3, SwiGLU, w2 + residual) → final norm of
 * the rows that want logits → output head. Bind groups are made once per set of buffers.
 *
 * @module
 */

import { kvDimOf, type LlamagenConfig } from "../llamagen_config.ts";
import type { Kernels } from "./kernels.ts";
import { matmulLaunch, type MatmulOptions } from "./matmul.ts";
import type { Chunk, GpuWeights } from "./weights.ts";

/** The buffers one step reads and writes (capacity M queries, L logit rows). */
export interface Activations {
  params: GPUBuffer; // Params uniform
  queries: GPUBuffer; // [queries, 5] i32
  grid: GPUBuffer; // [images, H·W] i32
  conds: GPUBuffer; // [seqs] i32
  x: GPUBuffer; // [M, dim] residual stream
  n: GPUBuffer; // [M, dim] normed
  qkv: GPUBuffer; // [M, dim + 2·kvDim]
  q: GPUBuffer; // [M, dim] rotated queries
  att: GPUBuffer; // [M, dim] attention output
  a: GPUBuffer; // [M, hidden] w1 output, then the gate
  b: GPUBuffer; // [M, hidden] w3 output
  nl: GPUBuffer; // [L, dim] final-normed rows that want logits
  logits: GPUBuffer; // [L, vocab]
  kc: GPUBuffer[]; // per layer [seqs, slots, kvDim]
  vc: GPUBuffer[]; // per layer [seqs, slots, kvDim]
  written: GPUBuffer; // [seqs, slots] u32
}

type Dispatch = (pass: GPUComputePassEncoder, m: number, l: number) => void;

/** The encoded forward of a model over one set of activation buffers. */
export class Forward {
  readonly #dispatches: Dispatch[] = [];

  constructor(
    kernels: Kernels,
    config: LlamagenConfig,
    weights: GpuWeights,
    act: Activations,
    matmulOptions: MatmulOptions,
  ) {
    const { dim, hidden, heads, vocab } = config;
    const headDim = dim / heads;
    const kvDim = kvDimOf(config); // grouped K/V heads: kvHeads · headDim
    const group = dim / kvDim; // query heads per K/V head
    const slots = config.prefix + config.grid[0] * config.grid[1];
    const hw = config.grid[0] * config.grid[1];
    const add = (d: Dispatch) => this.#dispatches.push(d);
    const groups = (n: number, size = 64) => Math.ceil(n / size);

    const matmul = (
      label: string,
      x: GPUBuffer,
      w: Chunk[],
      k: number,
      y: GPUBuffer,
      ldy: number,
      accum: boolean,
      logitRows = false,
    ) => {
      for (const chunk of w) {
        const buffers = [act.params, x, chunk.buffer, y];
        const bindGroups = {
          matmul: kernels.bindGroup("matmul", label, buffers),
          matmulTiled: kernels.bindGroup("matmulTiled", label, buffers),
        };
        const shape = { k, n: chunk.rows, ldy, col0: chunk.row0, accum, logitRows };
        add((pass, m, l) => {
          const rows = logitRows ? l : m;
          if (rows === 0) return;
          const launch = matmulLaunch(rows, shape, matmulOptions);
          pass.setPipeline(kernels.pipeline(launch.kernel, launch.constants));
          pass.setBindGroup(0, bindGroups[launch.kernel]);
          pass.dispatchWorkgroups(...launch.groups);
        });
      }
    };
    const rmsnorm = (label: string, weight: GPUBuffer, out: GPUBuffer, compact: boolean) => {
      const group = kernels.bindGroup("rmsnorm", label, [
        act.params,
        act.queries,
        act.x,
        weight,
        out,
      ]);
      const pipeline = kernels.pipeline("rmsnorm", {
        DIM: dim,
        EPS: { f32: config.normEps },
        COMPACT: compact,
      });
      add((pass, m) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(m);
      });
    };

    weights.tok.forEach((chunk, i) => {
      const group = kernels.bindGroup("embed", `embed[${i}]`, [
        act.params,
        act.queries,
        act.grid,
        act.conds,
        chunk.buffer,
        weights.cls,
        act.x,
      ]);
      const pipeline = kernels.pipeline("embed", {
        DIM: dim,
        ROW0: chunk.row0,
        ROWS: chunk.rows,
        HW: hw,
        HAS_CLS: i === 0,
      });
      add((pass, m) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(groups(dim), m);
      });
    });

    weights.layers.forEach((layer, l) => {
      const p = `layers.${l}`;
      rmsnorm(`${p}.attention_norm`, layer.attentionNorm, act.n, false);
      matmul(`${p}.wqkv`, act.n, layer.wqkv, dim, act.qkv, dim + 2 * kvDim, false);
      const rope = kernels.bindGroup("ropeKv", `${p}.rope_kv`, [
        act.params,
        act.queries,
        act.qkv,
        weights.rope,
        act.q,
        act.kc[l],
        act.vc[l],
        act.written,
      ]);
      const ropePipeline = kernels.pipeline("ropeKv", {
        DIM: dim,
        KVDIM: kvDim,
        HD: headDim,
        SLOTS: slots,
      });
      add((pass, m) => {
        pass.setPipeline(ropePipeline);
        pass.setBindGroup(0, rope);
        pass.dispatchWorkgroups(groups(dim / 2), m);
      });
      const attention = kernels.bindGroup("attention", `${p}.attention`, [
        act.params,
        act.queries,
        act.q,
        act.kc[l],
        act.vc[l],
        act.written,
        act.att,
      ]);
      const attentionPipeline = kernels.pipeline("attention", {
        DIM: dim,
        KVDIM: kvDim,
        GROUP: group,
        HD: headDim,
        SLOTS: slots,
        SCALE: { f32: 1 / Math.sqrt(headDim) },
      });
      add((pass, m) => {
        pass.setPipeline(attentionPipeline);
        pass.setBindGroup(0, attention);
        pass.dispatchWorkgroups(heads, m);
      });
      matmul(`${p}.wo`, act.att, layer.wo, dim, act.x, dim, true);
      rmsnorm(`${p}.ffn_norm`, layer.ffnNorm, act.n, false);
      matmul(`${p}.w1`, act.n, layer.w1, dim, act.a, hidden, false);
      matmul(`${p}.w3`, act.n, layer.w3, dim, act.b, hidden, false);
      const swiglu = kernels.bindGroup("swiglu", `${p}.swiglu`, [act.params, act.a, act.b]);
      const swigluPipeline = kernels.pipeline("swiglu", { HIDDEN: hidden });
      add((pass, m) => {
        pass.setPipeline(swigluPipeline);
        pass.setBindGroup(0, swiglu);
        pass.dispatchWorkgroups(groups(hidden), m);
      });
      matmul(`${p}.w2`, act.a, layer.w2, hidden, act.x, dim, true);
    });

    rmsnorm("norm", weights.norm, act.nl, true);
    matmul("output", act.nl, weights.output, dim, act.logits, vocab, false, true);
  }

  /** Record the step's dispatches for `m` queries of which `l` want logits. */
  encode(pass: GPUComputePassEncoder, m: number, l: number): void {
    if (m === 0) return;
    for (const dispatch of this.#dispatches) dispatch(pass, m, l);
  }
}
