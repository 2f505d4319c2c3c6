import assert from "node:assert/strict";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import { referenceLogits } from "../llamagen_reference.ts";
import { needs } from "../../testing/runtimes.ts";
import { createWebgpuBackend } from "./backend.ts";
import { type Gpu, openGpu, readBack, storageBuffer, uniformBuffer } from "./device.ts";
import { Kernels } from "./kernels.ts";
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

/** Run one matmul launch of `policy` over random data; returns the largest error and the launch. */
async function runMatmul(
  gpu: Gpu,
  kernels: Kernels,
  rows: number,
  shape: MatmulShape,
  policy: MatmulPolicy,
  seed: number,
) {
  const { device } = gpu;
  const rand = mulberry32(seed);
  const capacity = rows + 3; // x holds more rows than the pass: the kernel must stop at `rows`
  const x = uniform(capacity * shape.k, rand), w = uniform(shape.n * shape.k, rand);
  const y0 = uniform(capacity * shape.ldy, rand);
  const launch = matmulLaunch(rows, shape, {
    policy,
    workgroupBytes: device.limits.maxComputeWorkgroupStorageSize,
  });
  const params = uniformBuffer(device, "params", 32);
  // Params: m, qStart, jobs, jobStart, images, logits, 0, 0; the wrong count in the unused field.
  const counts = shape.logitRows ? [rows + 2, rows] : [rows, rows + 2];
  device.queue.writeBuffer(params, 0, Uint32Array.of(counts[0], 0, 0, 0, 1, counts[1], 0, 0));
  const xb = storageBuffer(device, "x", x), wb = storageBuffer(device, "w", w);
  const yb = storageBuffer(device, "y", y0);
  try {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(kernels.pipeline(launch.kernel, launch.constants));
    pass.setBindGroup(0, kernels.bindGroup(launch.kernel, "matmul-test", [params, xb, wb, yb]));
    pass.dispatchWorkgroups(...launch.groups);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const got = new Float32Array(await readBack(gpu, yb, y0.byteLength));
    gpu.check();
    const want = reference(x, w, y0, rows, shape);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    return { worst, launch };
  } finally {
    for (const b of [params, xb, wb, yb]) b.destroy();
  }
}

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
        const { worst, launch } = await runMatmul(gpu, kernels, rows, shape, policy, seed++);
        kinds.add(`${launch.kernel}:${JSON.stringify(launch.constants.R ?? launch.constants.RT)}`);
        runs++;
        assert(
          worst < 2e-5 * Math.sqrt(shape.k) + 1e-6,
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
