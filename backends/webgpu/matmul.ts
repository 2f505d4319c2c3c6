/**
 * Which matmul kernel a pass of `rows` rows runs, with its constants and workgroup counts.
 *
 * Two kernels compute y[m, COL0 + n] (+)= Σ_k x[m, k] · w[n, k] for one weight chunk:
 * - `matmul` (matmul.wgsl, "blocked"): each invocation reads its 8 weight rows straight from
 *   the buffer and applies them to R ≤ 8 rows of x held in registers. One row block covers the
 *   pass when rows ≤ R, so small passes read each weight once with no workgroup memory.
 * - `matmulTiled` (matmul_tiled.wgsl): a workgroup loads a K-slice of TN weight rows and of TM
 *   rows of x into workgroup memory once and applies it to all TM rows (TM ≤ 64), so a pass of
 *   up to 64 rows (the ZipAR case: ⌈W/s⌉ + 1 tokens × CFG × batch) reads each weight once.
 *
 * The `auto` policy runs `blocked` up to {@linkcode BLOCKED_MAX_ROWS} rows and `tiled` above.
 * On a software adapter (a CPU: Mesa's llvmpipe) `auto` stays on `blocked` (R = 8) at every
 * size: there re-reads hit the CPU caches, the pass is compute-bound, and workgroup memory and
 * barriers only add work (backends/webgpu/pass_bench.ts measures both). `blocked` is the kernel
 * choice before tiling existed (R = 4, 2 or 1: a pass of k > 4 rows reads every weight ⌈k/4⌉
 * times), kept for benchmarks; `tiled` forces the tiled kernel (tests, benchmarks).
 *
 * A chunk stored as f16 (`shape.f16`, on a device with `shader-f16`) runs `matmulF16` or
 * `matmulTiledF16`: the same sources, bindings, constants and workgroup counts, with w read as
 * vec4<f16> and widened to f32 (activations and sums stay f32).
 *
 * @module
 */

import type { Constants } from "./kernel_cache.ts";

/** Which kernels a forward may use. */
export type MatmulPolicy = "auto" | "blocked" | "tiled";

/** Largest pass that `auto` runs on the blocked kernel (one row block of R = 8). */
export const BLOCKED_MAX_ROWS = 8;

/** Largest row tile of the tiled kernel. */
export const MAX_TILE_ROWS = 64;

/** Invocations per workgroup the kernels stay within (the device is opened with ≥ 256). */
const MAX_INVOCATIONS = 256;

/**
 * The matmul kernels: `matmul`, `matmulTiled`, and their f16-weight twins. `MatmulKernel<false>`
 * is the f32 pair, `MatmulKernel<true>` the f16 pair.
 */
export type MatmulKernel<F16 extends boolean = boolean> = F16 extends true
  ? "matmulF16" | "matmulTiledF16"
  : "matmul" | "matmulTiled";

/**
 * One matmul of a forward: the weight chunk's shape and where its output goes. `F16` is the
 * type of `f16`, so that a shape without it types its launch's kernel as an f32 one.
 */
export interface MatmulShape<F16 extends boolean = boolean> {
  /** Inner dimension K (a multiple of 4). */
  k: number;
  /** Output columns N of this chunk (its weight rows). */
  n: number;
  /** Row stride of y, in floats. */
  ldy: number;
  /** First output column of this chunk in y. */
  col0: number;
  /** Add to y instead of overwriting it (residual connections). */
  accum: boolean;
  /** The kernel reads its row count from params.logits instead of params.m (output head). */
  logitRows: boolean;
  /** The chunk is stored as f16 (needs `shader-f16`): run the f16-weight kernels. @default false */
  f16?: F16;
}

/** Device facts and the policy a launch is chosen under. */
export interface MatmulOptions {
  /** Kernel choice. @default "auto" */
  policy?: MatmulPolicy;
  /** The device's maxComputeWorkgroupStorageSize, bytes. */
  workgroupBytes: number;
  /** Whether the adapter is a software one (`auto` then stays on the blocked kernel). */
  software?: boolean;
}

/** A kernel launch: which pipeline, its constants, and the workgroup counts [x, y]. */
export interface MatmulLaunch<F16 extends boolean = boolean> {
  /** The kernel: its bind group is `kernels.bindGroup(kernel, …)` (f16 ones share the layout). */
  kernel: MatmulKernel<F16>;
  /** Shape constants of the pipeline. */
  constants: Constants;
  /** Workgroup counts [x, y]. */
  groups: [number, number];
}

/** The smallest power of two ≥ n (n ≥ 1). */
function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The launch of one matmul over `rows` rows (> 0). The f16 kernels (`shape.f16`) get the same
 * constants and workgroup counts as the f32 ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matmulLaunch } from "./matmul.ts";
 * const shape = { k: 768, n: 2304, ldy: 2304, col0: 0, accum: false, logitRows: false };
 * const small = matmulLaunch(3, shape, { workgroupBytes: 16384 });
 * assert.equal(small.kernel, "matmul");
 * assert.deepEqual(small.groups, [5, 1]); // one row block: each weight read once
 * const pass = matmulLaunch(34, shape, { workgroupBytes: 16384 });
 * assert.equal(pass.kernel, "matmulTiled");
 * assert.deepEqual(pass.groups, [36, 1]); // 64-row tiles of 64 columns, one row tile
 * const cpu = matmulLaunch(34, shape, { workgroupBytes: 32768, software: true });
 * assert.deepEqual([cpu.kernel, cpu.groups[1]], ["matmul", 5]); // blocks of 8 rows
 * const half = matmulLaunch(34, { ...shape, f16: true }, { workgroupBytes: 16384 });
 * assert.deepEqual([half.kernel, half.groups], ["matmulTiledF16", [36, 1]]); // f16 weights
 * ```
 */
export function matmulLaunch<F16 extends boolean = false>(
  rows: number,
  shape: MatmulShape<F16>,
  options: MatmulOptions,
): MatmulLaunch<F16> {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`matmul rows ${rows} < 1`);
  if (shape.k % 4 !== 0) throw new RangeError(`matmul K ${shape.k} is not a multiple of 4`);
  const policy = options.policy ?? "auto";
  const common = {
    K4: shape.k / 4,
    N: shape.n,
    LDY: shape.ldy,
    COL0: shape.col0,
    ACCUM: shape.accum,
    LOGIT_ROWS: shape.logitRows,
  };
  if (
    policy === "blocked" ||
    (policy === "auto" && (options.software || rows <= BLOCKED_MAX_ROWS))
  ) {
    const r = policy === "blocked"
      ? (rows >= 4 ? 4 : rows >= 2 ? 2 : 1)
      : Math.min(BLOCKED_MAX_ROWS, pow2(rows));
    return {
      kernel: (shape.f16 ? "matmulF16" : "matmul") as MatmulKernel<F16>,
      constants: { ...common, R: r },
      groups: [Math.ceil(shape.n / (8 * 64)), Math.ceil(rows / r)],
    };
  }
  const tm = Math.min(MAX_TILE_ROWS, Math.max(4, pow2(rows)));
  const rt = tm / 4;
  // Column threads: 64 invocations from TM = 8 up, TN ≤ 256 so that a tile fits 16 KiB.
  const ct = Math.max(8, Math.min(32, 64 / rt, MAX_INVOCATIONS / rt));
  const tn = 8 * ct;
  const k4 = shape.k / 4;
  const tk4 = [8, 6, 4, 2, 1].find((t) => (tn + tm) * (t + 1) * 16 <= options.workgroupBytes);
  if (tk4 === undefined) {
    throw new RangeError(
      `A ${tm}-row matmul tile needs more than this device's ${options.workgroupBytes} bytes of workgroup memory`,
    );
  }
  return {
    kernel: (shape.f16 ? "matmulTiledF16" : "matmulTiled") as MatmulKernel<F16>,
    constants: { ...common, CT: ct, RT: rt, TK4: Math.min(tk4, k4) },
    groups: [Math.ceil(shape.n / tn), Math.ceil(rows / tm)],
  };
}
