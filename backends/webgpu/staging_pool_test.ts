import assert from "node:assert/strict";
import { needs } from "../../testing/runtimes.ts";
import { openGpu, readBack, storageBuffer } from "./device.ts";
import { StagingPool } from "./staging_pool.ts";

const gpuTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({
    name,
    ...needs("WebGPU staging pool tests", ["webgpu"]),
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });

gpuTest("readBack() reuses one staging buffer across readbacks of the same size", async () => {
  const gpu = await openGpu();
  const source = storageBuffer(gpu.device, "source", Float32Array.from([1, 2, 3, 4, 5]));
  try {
    await readBack(gpu, source, 20); // the pool may already hold one from another test
    const before = gpu.staging.stats().created;
    for (let i = 0; i < 10; i++) {
      const got = new Float32Array(await readBack(gpu, source, 20));
      assert.deepEqual([...got], [1, 2, 3, 4, 5]);
    }
    const odd = new Uint8Array(await readBack(gpu, source, 7, 4)); // unaligned length and offset
    assert.deepEqual([...odd], [...new Uint8Array(Float32Array.from([2, 3]).buffer)].slice(0, 7));
    assert.equal(gpu.staging.stats().created, before);
  } finally {
    source.destroy();
  }
});

gpuTest("concurrent readbacks get distinct staging buffers and their own data", async () => {
  const gpu = await openGpu();
  const a = storageBuffer(gpu.device, "a", Int32Array.from({ length: 300 }, (_, i) => i));
  const b = storageBuffer(gpu.device, "b", Int32Array.from({ length: 300 }, (_, i) => -i));
  try {
    const [ga, gb] = await Promise.all([readBack(gpu, a, 1200), readBack(gpu, b, 1200)]);
    assert.equal(new Int32Array(ga)[299], 299);
    assert.equal(new Int32Array(gb)[299], -299);
  } finally {
    a.destroy();
    b.destroy();
  }
});

gpuTest("StagingPool sizes in powers of two and bounds what it keeps", async () => {
  const { device } = await openGpu();
  const pool = new StagingPool(device, 2, 1 << 20);
  const small = pool.acquire(100), mid = pool.acquire(5000), big = pool.acquire(70_000);
  assert.deepEqual([small.size, mid.size, big.size], [4096, 8192, 131072]);
  assert.equal(pool.stats().created, 3);
  for (const buffer of [small, mid, big]) pool.release(buffer);
  assert.deepEqual(pool.stats(), { created: 3, free: 2, freeBytes: 8192 + 131072 });
  assert.equal(pool.acquire(6000), mid, "the smallest free buffer that fits");
  assert.equal(pool.acquire(6000), big, "then the next that fits");
  assert.equal(pool.acquire(6000).size, 8192, "a new one when none is free");
  assert.equal(pool.stats().created, 4);
  const huge = pool.acquire(2 << 20);
  pool.release(huge);
  assert.equal(pool.stats().free, 0, "more than maxFreeBytes is not kept");
  const mapped = pool.acquire(16);
  await mapped.mapAsync(GPUMapMode.READ);
  pool.release(mapped);
  assert.equal(pool.stats().free, 0, "a buffer still mapped is destroyed, not pooled");
  const kept = pool.acquire(16);
  pool.release(kept);
  assert.equal(pool.acquire(16), kept, "an unmapped buffer comes back");
});
