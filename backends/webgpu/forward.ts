/**
 * The forward of one step as a list of dispatches, in three stages:
 * - embed: LlamaGen's token and class tables; Janus's generation embedding and aligner MLP,
 *   the condition slot taking its sequence's row of the session's table (the prompt's last
 *   token);
 * - decoder, per layer: RMSNorm, wqkv, RoPE + KV write at base[seq] + slot, attention, wo +
 *   residual, RMSNorm, w1/w3, SwiGLU, w2 + residual;
 * - head, over the rows that want logits: final norm, then LlamaGen's output matmul or Janus's
 *   generation head (proj_out, GELU, vision_head).
 *
 * A prompt's prefill runs the decoder alone over rows the host embedded. Bind groups are made
 * once per set of buffers.
 *
 * @module
 */

import { kvDimOf } from "../llamagen_config.ts";
import type { Kernels } from "./kernels.ts";
import { matmulLaunch, type MatmulOptions } from "./matmul.ts";
import type { Chunk, GpuLinear, GpuWeights } from "./weights.ts";

/** The buffers one step reads and writes (capacity M queries, L logit rows). */
export interface Activations {
  params: GPUBuffer; // Params uniform
  queries: GPUBuffer; // [queries, 5] i32
  grid: GPUBuffer; // [images, H·W] i32
  conds: GPUBuffer; // [seqs] i32: each sequence's row of `table`
  table: GPUBuffer; // [rows, dim] what a condition slot embeds (LlamaGen's class table)
  base: GPUBuffer; // [seqs] i32: cache position of slot 0 (0; Janus: prompt length − 1)
  x: GPUBuffer; // [M, dim] residual stream
  n: GPUBuffer; // [M, dim] normed
  qkv: GPUBuffer; // [M, dim + 2·kvDim]
  q: GPUBuffer; // [M, dim] rotated queries
  att: GPUBuffer; // [M, dim] attention output
  a: GPUBuffer; // [M, hidden] w1 output, then the gate
  b: GPUBuffer; // [M, hidden] w3 output
  nl: GPUBuffer; // [L, dim] final-normed rows that want logits
  logits: GPUBuffer; // [L, vocab]
  ge: GPUBuffer | null; // [M, embedDim] Janus: generation embeddings of the step's tokens
  hh: GPUBuffer | null; // [L, headDim] Janus: the generation head's inner rows
  kc: GPUBuffer[]; // per layer [seqs, slots, kvDim]
  vc: GPUBuffer[]; // per layer [seqs, slots, kvDim]
  written: GPUBuffer; // [seqs, slots] u32
}

/** The decoder a forward runs: a Llama of these sizes over a cache of `slots` positions. */
export interface DecoderShape {
  dim: number;
  hidden: number;
  heads: number;
  kvHeads?: number;
  layers: number;
  normEps: number;
  /** Logit width (the image-token vocabulary). */
  vocab: number;
  /** Grid cells H·W of an image. */
  hw: number;
  /** Cache positions per sequence. */
  slots: number;
}

type Dispatch = (pass: GPUComputePassEncoder, m: number, l: number) => void;

/** What {@linkcode Forward.encode} runs of the forward. */
export interface EncodeOptions {
  /** Run the embedding (false: x was written by the host, a prompt's prefill). @default true */
  embed?: boolean;
}

/** The encoded forward of a model over one set of activation buffers. */
export class Forward {
  readonly #embed: Dispatch[] = [];
  readonly #decoder: Dispatch[] = [];
  readonly #head: Dispatch[] = [];

  constructor(
    kernels: Kernels,
    shape: DecoderShape,
    weights: GpuWeights,
    act: Activations,
    matmulOptions: MatmulOptions,
  ) {
    const { dim, hidden, heads, vocab, hw, slots } = shape;
    const headDim = dim / heads;
    const kvDim = kvDimOf(shape); // grouped K/V heads: kvHeads · headDim
    const group = dim / kvDim; // query heads per K/V head
    let stage = this.#embed;
    const add = (d: Dispatch) => stage.push(d);
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
        const bindGroups = new Map<string, GPUBindGroup>();
        const f16 = chunk.dtype === "f16";
        const shape = { k, n: chunk.rows, ldy, col0: chunk.row0, accum, logitRows, f16 };
        add((pass, m, l) => {
          const rows = logitRows ? l : m;
          if (rows === 0) return;
          const launch = matmulLaunch(rows, shape, matmulOptions);
          let group = bindGroups.get(launch.kernel);
          if (!group) {
            bindGroups.set(launch.kernel, group = kernels.bindGroup(launch.kernel, label, buffers));
          }
          pass.setPipeline(kernels.pipeline(launch.kernel, launch.constants));
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(...launch.groups);
        });
      }
    };
    const linear = (
      label: string,
      x: GPUBuffer,
      w: GpuLinear,
      y: GPUBuffer,
      gelu: boolean,
      logitRows: boolean,
    ) => {
      matmul(label, x, w.weight, w.k, y, w.n, false, logitRows);
      const group = kernels.bindGroup("biasAct", `${label}.bias`, [act.params, y, w.bias]);
      const pipeline = kernels.pipeline("biasAct", { N: w.n, GELU: gelu, LOGIT_ROWS: logitRows });
      add((pass, m, l) => {
        const rows = logitRows ? l : m;
        if (rows === 0) return;
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(groups(w.n), rows);
      });
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
        EPS: { f32: shape.normEps },
        COMPACT: compact,
      });
      add((pass, m) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(m);
      });
    };
    /** The embedding gather of rows [row0, row0 + rows) of `tok` (width `width`) into `out`. */
    const gather = (
      label: string,
      tok: GPUBuffer,
      row0: number,
      rows: number,
      width: number,
      out: GPUBuffer,
      cls: boolean,
    ) => {
      const group = kernels.bindGroup("embed", label, [
        act.params,
        act.queries,
        act.grid,
        act.conds,
        tok,
        act.table,
        out,
      ]);
      const pipeline = kernels.pipeline("embed", {
        DIM: width,
        ROW0: row0,
        ROWS: rows,
        HW: hw,
        HAS_CLS: cls,
      });
      add((pass, m) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(groups(width), m);
      });
    };

    const io = weights.io;
    if (io.kind === "class") {
      io.tok.forEach((chunk, i) =>
        gather(`embed[${i}]`, chunk.buffer, chunk.row0, chunk.rows, dim, act.x, i === 0)
      );
    } else {
      // Image tokens: generation embedding → aligner (fc1, then GELU + linear per hidden layer);
      // the condition slot then takes its sequence's row of the table (the prompt's last token).
      gather("gen-embed", io.genEmbed, 0, io.codebook, io.embedDim, act.ge!, false);
      const aligner = io.aligner;
      let input = act.ge!;
      aligner.forEach((w, i) => {
        const last = i === aligner.length - 1;
        const out = last ? act.x : i % 2 === 0 ? act.n : act.att;
        linear(`aligner[${i}]`, input, w, out, !last, false);
        input = out;
      });
      gather("condition", io.genEmbed, 0, 0, dim, act.x, true);
    }
    stage = this.#decoder;
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
        act.base,
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
        act.base,
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

    stage = this.#head;
    rmsnorm("norm", weights.norm, act.nl, true);
    if (io.kind === "class") {
      matmul("output", act.nl, io.output, dim, act.logits, vocab, false, true);
    } else {
      const [proj, head] = io.head; // proj_out, GELU, vision_head: codebook logits
      linear("generation_head.proj_out", act.nl, proj, act.hh!, true, true);
      linear("generation_head.vision_head", act.hh!, head, act.logits, false, true);
    }
  }

  /** Record the step's dispatches for `m` queries of which `l` want logits. */
  encode(pass: GPUComputePassEncoder, m: number, l: number, options: EncodeOptions = {}): void {
    if (m === 0) return;
    if (options.embed ?? true) { for (const dispatch of this.#embed) dispatch(pass, m, l); }
    for (const dispatch of this.#decoder) dispatch(pass, m, l);
    if (l > 0) { for (const dispatch of this.#head) dispatch(pass, m, l); }
  }
}
