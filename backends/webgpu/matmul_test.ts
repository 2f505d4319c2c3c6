import assert from "node:assert/strict";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import { referenceLogits } from "../llamagen_reference.ts";
import { needs } from "../../testing/runtimes.ts";
import { createWebgpuBackend } from "./backend.ts";
import { type Gpu, openGpu, readBack, storageBuffer, uniformBuffer } from "./device.ts";
import { KERNELS, Kernels } from "./kernels.ts";
import { type MatrixDtype, uploadMatrix } from "./matrix_upload.ts";
import {
  BLOCKED_MAX_ROWS,
  matmulLaunch,
  type MatmulPolicy,
  type MatmulShape,
  MAX_TILE_ROWS,
} from "./matmul.ts";
import { mulberry32, randomLlamagenWeights, tinyConfig } from "./random_weights.ts";
import { maxAbsDiff } from "./test_helpers.ts";
import { classOf, sequencesFor } from "../../core/condition.ts";

const gpuTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ...needs("WebGPU matmul tests", ["webgpu"]),
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });

const f16Test = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ...needs("WebGPU f16 matmul tests", ["webgpu", "webgpu-f16"]),
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });

const uniform = (count: number, rand: () => number) =>
  Float32Array.from({ length: count }, () => 2 * rand() - 1);

/** The float64 reference: y0 with y[m, col0 + n] (+)= Σ_k x[m, k] · w[n, k]. */
function reference(
  x: Float32Array,
  w: Float32Array,
  y0: Float32Array,
  rows: number,
  shape: MatmulShape,
): Float64Array {
  const y = Float64Array.from(y0);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < shape.n; n++) {
      let s = 0;
      for (let k = 0; k < shape.k; k++) s += x[m * shape.k + k] * w[n * shape.k + k];
      const at = m * shape.ldy + shape.col0 + n;
      y[at] = shape.accum ? y[at] + s : s;
    }
  }
  return y;
}

/** How {@linkcode runMatmul} stores the weights. */
interface Storage {
  /** Element type of the weight chunks. @default "f32" */
  dtype?: MatrixDtype;
  /** Bytes per chunk (small: the matrix is split into chunks of rows). @default Infinity */
  maxBytes?: number;
}

/**
 * Run the matmul of `policy` over random data, one launch per weight chunk; returns the largest
 * error against the float64 reference (of the weights as stored: f16-rounded for f16) and the
 * launches.
 */
async function runMatmul(
  gpu: Gpu,
  kernels: Kernels,
  rows: number,
  shape: MatmulShape,
  policy: MatmulPolicy,
  seed: number,
  { dtype = "f32", maxBytes = Infinity }: Storage = {},
) {
  const { device } = gpu;
  const rand = mulberry32(seed);
  const capacity = rows + 3; // x holds more rows than the pass: the kernel must stop at `rows`
  const x = uniform(capacity * shape.k, rand), w = uniform(shape.n * shape.k, rand); // w: [N, K]
  const y0 = uniform(capacity * shape.ldy, rand);
  const params = uniformBuffer(device, "params", 32);
  // Params: m, qStart, jobs, jobStart, images, logits, 0, 0; the wrong count in the unused field.
  const counts = shape.logitRows ? [rows + 2, rows] : [rows, rows + 2];
  device.queue.writeBuffer(params, 0, Uint32Array.of(counts[0], 0, 0, 0, 1, counts[1], 0, 0));
  const xb = storageBuffer(device, "x", x), yb = storageBuffer(device, "y", y0);
  const chunks = uploadMatrix(device, "w", w, shape.n, shape.k, maxBytes, dtype);
  try {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    const launches = chunks.map((chunk) => {
      const launch = matmulLaunch(
        rows,
        { ...shape, n: chunk.rows, col0: shape.col0 + chunk.row0, f16: chunk.dtype === "f16" },
        { policy, workgroupBytes: device.limits.maxComputeWorkgroupStorageSize },
      );
      const buffers = [params, xb, chunk.buffer, yb];
      pass.setPipeline(kernels.pipeline(launch.kernel, launch.constants));
      pass.setBindGroup(0, kernels.bindGroup(launch.kernel, "matmul-test", buffers));
      pass.dispatchWorkgroups(...launch.groups);
      return launch;
    });
    pass.end();
    device.queue.submit([encoder.finish()]);
    const got = new Float32Array(await readBack(gpu, yb, y0.byteLength));
    gpu.check();
    const stored = dtype === "f16" ? w.map(Math.f16round) : w;
    const want = reference(x, stored, y0, rows, shape);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    return { worst, launches };
  } finally {
    for (const b of [params, xb, yb, ...chunks.map((c) => c.buffer)]) b.destroy();
  }
}

/** Float32 summation error allowed over K products of values in [−1, 1]. */
const tolerance = (k: number) => 2e-5 * Math.sqrt(k) + 1e-6;

gpuTest("every matmul kernel matches the float64 reference over awkward shapes", async () => {
  const gpu = await openGpu();
  const kernels = new Kernels(gpu.device);
  const shapes: MatmulShape[] = [
    { k: 36, n: 13, ldy: 13, col0: 0, accum: false, logitRows: false },
    { k: 100, n: 70, ldy: 83, col0: 9, accum: true, logitRows: false }, // a chunk inside y
    { k: 772, n: 200, ldy: 200, col0: 0, accum: false, logitRows: true }, // rows = params.logits
    { k: 4, n: 1, ldy: 1, col0: 0, accum: true, logitRows: false },
  ];
  let seed = 1, runs = 0;
  const kinds = new Set<string>();
  for (const shape of shapes) {
    for (const rows of [1, 3, 8, 9, 17, 64, 65, 130]) {
      for (const policy of ["auto", "blocked", "tiled"] as const) {
        const { worst, launches: [launch] } = await runMatmul(
          gpu,
          kernels,
          rows,
          shape,
          policy,
          seed++,
        );
        kinds.add(`${launch.kernel}:${JSON.stringify(launch.constants.R ?? launch.constants.RT)}`);
        runs++;
        assert(
          worst < tolerance(shape.k),
          `${policy} ${rows}×${shape.k} · ${shape.n}: max abs error ${worst}`,
        );
      }
    }
  }
  assert.equal(runs, 96);
  // Every variant ran: blocked R = 1, 2, 4, 8 and tiled RT = 1 (4 rows) up to 16 (64 rows).
  for (const kind of ["matmul:1", "matmul:2", "matmul:4", "matmul:8"]) {
    assert(kinds.has(kind), kind);
  }
  for (const rt of [1, 2, 4, 8, 16]) assert(kinds.has(`matmulTiled:${rt}`), `tiled RT ${rt}`);
});

f16Test("the f16-weight kernels match the float64 reference of the rounded weights", async () => {
  const gpu = await openGpu();
  const kernels = new Kernels(gpu.device);
  // [shape, maxBytes]: small maxBytes split w into chunks of rows (multiples of 8), one launch
  // each, writing their columns of y at col0 + row0.
  const cases: [MatmulShape, number][] = [
    [{ k: 36, n: 13, ldy: 13, col0: 0, accum: false, logitRows: false }, Infinity],
    [{ k: 100, n: 70, ldy: 83, col0: 9, accum: true, logitRows: false }, 32 * 100 * 2], // 3 chunks
    [{ k: 772, n: 200, ldy: 200, col0: 0, accum: false, logitRows: true }, 135 * 772 * 2], // 2
    [{ k: 4, n: 1, ldy: 1, col0: 0, accum: true, logitRows: false }, Infinity], // 8-byte w
  ];
  let seed = 1000, runs = 0;
  const kinds = new Set<string>(), chunkCounts = new Set<number>();
  for (const [shape, maxBytes] of cases) {
    for (const rows of [1, 3, 9, 17, 64, 65]) {
      for (const policy of ["auto", "blocked", "tiled"] as const) {
        const { worst, launches } = await runMatmul(gpu, kernels, rows, shape, policy, seed++, {
          dtype: "f16",
          maxBytes,
        });
        for (const launch of launches) kinds.add(launch.kernel);
        chunkCounts.add(launches.length);
        runs++;
        assert(
          worst < tolerance(shape.k),
          `f16 ${policy} ${rows}×${shape.k} · ${shape.n}: max abs error ${worst}`,
        );
      }
    }
  }
  assert.equal(runs, 72);
  assert.deepEqual([...kinds].sort(), ["matmulF16", "matmulTiledF16"]);
  assert.deepEqual([...chunkCounts].sort(), [1, 2, 3]);
});

gpuTest(
  "the f16 kernels share the f32 ones' source and bindings, and need shader-f16",
  async () => {
    for (
      const [f32, f16] of [["matmul", "matmulF16"], ["matmulTiled", "matmulTiledF16"]] as const
    ) {
      assert.equal(KERNELS[f16][0], KERNELS[f32][0], "one WGSL source");
      assert.equal(KERNELS[f16][1], KERNELS[f32][1], "one binding list");
    }
    // A device opened without shader-f16: the f16 kernels refuse to compile, the f32 ones do.
    const adapter = await navigator.gpu.requestAdapter();
    const plain = await adapter!.requestDevice({ label: "no-f16" });
    try {
      const kernels = new Kernels(plain);
      const launch = matmulLaunch(
        2,
        { k: 8, n: 8, ldy: 8, col0: 0, accum: false, logitRows: false },
        {
          workgroupBytes: plain.limits.maxComputeWorkgroupStorageSize,
        },
      );
      kernels.pipeline(launch.kernel, launch.constants);
      assert.throws(
        () => kernels.pipeline("matmulF16", launch.constants),
        TypeError,
        "lacks the shader-f16 feature",
      );
    } finally {
      plain.destroy();
    }
  },
);

gpuTest("the forward matches the float64 recompute with every matmul policy", async () => {
  const config = tinyConfig();
  const weights = randomLlamagenWeights(config, 5);
  const conditions = sequencesFor([3], true);
  // Passes of 2, 40 and 66 rows (two 64-row tiles); some rows want no logits.
  const pass = (first: number, count: number, logitsEvery: number): Query[] =>
    Array.from({ length: count }, (_, i) =>
      conditions.map((_, seq) => ({
        seq,
        slot: first + i,
        token: (first + 7 * i + 3 * seq) % config.vocab,
        wantLogits: i % logitsEvery === 0,
      }))).flat();
  const prefill = conditions.map((_, seq) => ({
    seq,
    slot: 0,
    token: QUERY_TOKEN_CONDITION,
    wantLogits: true,
  }));
  const steps = [prefill, pass(1, 20, 1), pass(21, 33, 3)];
  const want = referenceLogits(
    config,
    weights,
    conditions.map((s) => classOf(s, config.numClasses)),
    steps,
  );
  for (const policy of ["auto", "blocked", "tiled"] as const) {
    const backend = await createWebgpuBackend(config, weights, { matmul: policy });
    const session = await backend.open(conditions);
    for (const [j, queries] of steps.entries()) {
      const got = await session.step(queries);
      const worst = maxAbsDiff(got, want[j]);
      assert(worst < 1e-3, `${policy}, pass ${j} (${queries.length} rows): max abs diff ${worst}`);
    }
    await session.close();
    await backend.close();
  }
});

Deno.test("matmulLaunch() reads each weight once per pass of up to 64 rows", () => {
  const shapes: MatmulShape[] = [
    { k: 768, n: 2304, ldy: 2304, col0: 0, accum: false, logitRows: false },
    { k: 2048, n: 768, ldy: 768, col0: 0, accum: true, logitRows: false },
    { k: 768, n: 16384, ldy: 16384, col0: 0, accum: false, logitRows: true },
  ];
  for (const workgroupBytes of [16384, 32768]) {
    for (const shape of shapes) {
      for (let rows = 1; rows <= 200; rows++) {
        const launch = matmulLaunch(rows, shape, { workgroupBytes });
        const c = launch.constants as Record<string, number>;
        // One workgroup row ⇔ every weight element is loaded by exactly one workgroup.
        const rowTiles = Math.ceil(rows / MAX_TILE_ROWS);
        assert.equal(launch.groups[1], rowTiles, `rows ${rows}: ${launch.groups[1]} row tiles`);
        assert.equal(launch.kernel, rows <= BLOCKED_MAX_ROWS ? "matmul" : "matmulTiled");
        if (launch.kernel === "matmulTiled") {
          const tm = 4 * c.RT, tn = 8 * c.CT;
          assert(tm >= Math.min(rows, MAX_TILE_ROWS), `rows ${rows}: tile of ${tm}`);
          assert(c.CT * c.RT <= 256, `${c.CT * c.RT} invocations`);
          assert((tn + tm) * (c.TK4 + 1) * 16 <= workgroupBytes, "workgroup memory");
          assert.equal(launch.groups[0], Math.ceil(shape.n / tn));
        } else {
          assert(c.R >= rows);
        }
      }
    }
  }
  // A software adapter stays on the blocked kernel, 8 rows per block.
  for (const rows of [1, 5, 9, 64, 65]) {
    const cpu = matmulLaunch(rows, shapes[0], { workgroupBytes: 32768, software: true });
    assert.equal(cpu.kernel, "matmul");
    assert.equal(cpu.constants.R, Math.min(8, 2 ** Math.ceil(Math.log2(rows))));
    assert.equal(cpu.groups[1], Math.ceil(rows / 8));
  }
  // The kernel before tiling, kept for benchmarks: 4 rows per block, ⌈rows/4⌉ weight reads.
  const legacy = matmulLaunch(32, shapes[0], { policy: "blocked", workgroupBytes: 16384 });
  assert.deepEqual([legacy.kernel, legacy.constants.R, legacy.groups[1]], ["matmul", 4, 8]);
  assert.throws(() => matmulLaunch(0, shapes[0], { workgroupBytes: 16384 }), /rows 0/);
  assert.throws(
    () => matmulLaunch(9, { ...shapes[0], k: 30 }, { workgroupBytes: 16384 }),
    /multiple of 4/,
  );
  assert.throws(() => matmulLaunch(64, shapes[0], { workgroupBytes: 1024 }), /workgroup memory/);
});

Deno.test("matmulLaunch() runs f16 weights on the f16 kernels, constants and groups unchanged", () => {
  const shape = { k: 2048, n: 768, ldy: 768, col0: 64, accum: true, logitRows: false };
  const twin = { matmul: "matmulF16", matmulTiled: "matmulTiledF16" } as const;
  for (const software of [false, true]) {
    for (const policy of ["auto", "blocked", "tiled"] as const) {
      for (const rows of [1, 2, 5, 8, 9, 33, 64, 65, 200]) {
        const options = { policy, software, workgroupBytes: 16384 };
        const f32 = matmulLaunch(rows, shape, options);
        const f16 = matmulLaunch(rows, { ...shape, f16: true }, options);
        assert.deepEqual(f16, { ...f32, kernel: twin[f32.kernel] });
        assert.deepEqual(matmulLaunch(rows, { ...shape, f16: false }, options), f32);
      }
    }
  }
});
