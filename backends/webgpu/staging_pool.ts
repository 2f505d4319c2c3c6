/**
 * Readback (MAP_READ) buffers reused across readbacks: an interactive step reads its logits back
 * every pass, and creating a mappable buffer per readback costs an allocation (and on some
 * drivers a page-table update) each time. Buffers are sized in powers of two from 4 KiB, taken
 * from the smallest free one that fits, and returned after `unmap`; concurrent readbacks get
 * distinct buffers. At most `keep` buffers (and `maxFreeBytes`) stay free: beyond that the
 * smallest, then the largest, are destroyed.
 *
 * @module
 */

/** Smallest staging buffer, bytes. */
const MIN_BYTES = 4096;

/** Counters of a {@linkcode StagingPool}, for tests and benchmarks. */
export interface StagingStats {
  /** Buffers created so far. */
  created: number;
  /** Buffers currently free in the pool. */
  free: number;
  /** Bytes held by free buffers. */
  freeBytes: number;
}

/** A pool of mappable readback buffers on one device. */
export class StagingPool {
  readonly #device: GPUDevice;
  readonly #keep: number;
  readonly #maxFreeBytes: number;
  #free: GPUBuffer[] = []; // ascending size
  #created = 0;

  /** A pool on `device` keeping at most `keep` free buffers of `maxFreeBytes` in all. */
  constructor(device: GPUDevice, keep = 4, maxFreeBytes = 256 << 20) {
    this.#device = device;
    this.#keep = keep;
    this.#maxFreeBytes = maxFreeBytes;
  }

  /** A staging buffer of at least `bytes` bytes (MAP_READ | COPY_DST), unmapped. */
  acquire(bytes: number): GPUBuffer {
    const i = this.#free.findIndex((b) => b.size >= bytes);
    if (i >= 0) return this.#free.splice(i, 1)[0];
    let size = MIN_BYTES;
    while (size < bytes) size *= 2;
    this.#created++;
    return this.#device.createBuffer({
      label: `staging-${size}`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /** Give back a buffer from {@linkcode acquire}, unmapped (or destroy it if it failed to map). */
  release(buffer: GPUBuffer): void {
    if (buffer.mapState !== "unmapped") {
      buffer.destroy();
      return;
    }
    const at = this.#free.findIndex((b) => b.size >= buffer.size);
    this.#free.splice(at < 0 ? this.#free.length : at, 0, buffer);
    while (this.#free.length > this.#keep) this.#free.shift()!.destroy();
    while (this.stats().freeBytes > this.#maxFreeBytes) this.#free.pop()!.destroy();
  }

  /** Current counters. */
  stats(): StagingStats {
    return {
      created: this.#created,
      free: this.#free.length,
      freeBytes: this.#free.reduce((n, b) => n + b.size, 0),
    };
  }
}
