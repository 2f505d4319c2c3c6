/**
 * Read safetensors files from disk by their declared ranges, never the whole file: open,
 * read the 8-byte length and the (capped) header, validate every tensor against the file's
 * size (safetensors_format.ts), then seek to and read only the tensors asked for, straight into
 * their typed arrays. A valid small model padded to gigabytes costs its header and its tensors.
 *
 * The file is reached through a {@linkcode ByteSource} so tests can count what is read.
 *
 * @module
 */

import {
  checkExpected,
  DTYPE_BYTES,
  headerLength,
  type SafetensorsHeader,
  type Tensor,
  toFloat32,
  validateHeader,
} from "./safetensors_format.ts";

/** Random access to a file's bytes. */
export interface ByteSource {
  /** Size in bytes. */
  readonly size: number;
  /** Fill `into` with the bytes at `offset`; rejects when the source ends first. */
  read(offset: number, into: Uint8Array): Promise<void>;
  /** Release the file. */
  close(): void;
}

/**
 * Open a regular file for ranged reads. FIFOs, devices and directories are refused before
 * `open` (which would block on a FIFO or read a device without end).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openFileSource } from "./safetensors_reader.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, Uint8Array.of(1, 2, 3, 4));
 * const source = await openFileSource(path);
 * const into = new Uint8Array(2);
 * await source.read(1, into);
 * source.close();
 * assert.deepEqual([source.size, ...into], [4, 2, 3]);
 * await Deno.remove(path);
 * ```
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new Error(`${path}: not a regular file: point at a .safetensors file`);
  const file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  return {
    size,
    async read(offset: number, into: Uint8Array): Promise<void> {
      await file.seek(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < into.length) {
        const n = await file.read(into.subarray(done));
        if (n === null) {
          throw new Error(
            `${path}: ended at byte ${
              offset + done
            } while reading ${into.length} bytes at ${offset}: the file changed or is truncated`,
          );
        }
        done += n;
      }
    },
    close: () => file.close(),
  };
}

/**
 * Read and validate the header of `source` (`name` in error messages).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { readHeader } from "./safetensors_reader.ts";
 * const bytes = encodeSafetensors({ w: { shape: [3], data: new Float32Array(3) } });
 * const source = { size: bytes.length, read: async (at: number, into: Uint8Array) => { into.set(bytes.subarray(at, at + into.length)); }, close() {} };
 * assert.deepEqual((await readHeader(source, "w.safetensors")).tensors.get("w")!.shape, [3]);
 * ```
 */
export async function readHeader(source: ByteSource, name: string): Promise<SafetensorsHeader> {
  const prefix = new Uint8Array(8);
  if (source.size >= 8) await source.read(0, prefix);
  const length = headerLength(prefix, source.size, name);
  const json = new Uint8Array(length);
  await source.read(8, json);
  return validateHeader(json, 8 + length, source.size, name);
}

/**
 * Read the tensors `names` of a validated header from `source`, each from its own range only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { readHeader, readTensors } from "./safetensors_reader.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: Float32Array.of(5, 6) } });
 * const source = { size: bytes.length, read: async (at: number, into: Uint8Array) => { into.set(bytes.subarray(at, at + into.length)); }, close() {} };
 * const header = await readHeader(source, "w.safetensors");
 * assert.deepEqual([...(await readTensors(source, header, ["w"])).get("w")!.data], [5, 6]);
 * ```
 */
export async function readTensors(
  source: ByteSource,
  header: SafetensorsHeader,
  names: Iterable<string>,
): Promise<Map<string, Tensor>> {
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const tensors = new Map<string, Tensor>();
  for (const name of names) {
    const entry = header.tensors.get(name);
    if (!entry) throw new RangeError(`No tensor named ${name}`);
    const [begin, end] = entry.offsets;
    const at = header.dataStart + begin;
    let data: Float32Array;
    if (entry.dtype === "F32" && littleEndian) {
      data = new Float32Array((end - begin) / DTYPE_BYTES.F32);
      await source.read(at, new Uint8Array(data.buffer)); // straight into the tensor
    } else {
      const raw = new Uint8Array(end - begin);
      await source.read(at, raw);
      data = toFloat32(entry.dtype, raw);
    }
    tensors.set(name, { shape: [...entry.shape], data });
  }
  return tensors;
}

/**
 * Check that `source` holds every tensor `want` names (name → shape), then read exactly those.
 * Errors are one line naming the file (`name`), the tensor and `configName`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSafetensors } from "./safetensors.ts";
 * import { readExpectedTensors } from "./safetensors_reader.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: Float32Array.of(1, 2) } });
 * const source = { size: bytes.length, read: async (at: number, into: Uint8Array) => { into.set(bytes.subarray(at, at + into.length)); }, close() {} };
 * const want = (shape: number[]) => new Map([["w", shape]]);
 * assert.equal((await readExpectedTensors(source, want([2]), "m")).get("w")!.data[1], 2);
 * await assert.rejects(readExpectedTensors(source, want([3]), "m"), /expected \[3\]/);
 * ```
 */
export async function readExpectedTensors(
  source: ByteSource,
  want: Map<string, number[]>,
  name: string,
  configName = "the config",
): Promise<Map<string, Tensor>> {
  return await readCheckedTensors(source, await readHeader(source, name), want, name, configName);
}

/**
 * {@linkcode readExpectedTensors} for a header already read: check that it holds every tensor
 * `want` names with its shape, read them, and refuse non-finite values, in one line each.
 */
export async function readCheckedTensors(
  source: ByteSource,
  header: SafetensorsHeader,
  want: Map<string, number[]>,
  name: string,
  configName = "the config",
): Promise<Map<string, Tensor>> {
  checkExpected(header, want, name, configName);
  const tensors = await readTensors(source, header, want.keys());
  for (const [key, tensor] of tensors) {
    const at = tensor.data.findIndex((v) => !Number.isFinite(v));
    if (at >= 0) {
      throw new RangeError(
        `${name}: tensor ${key} holds ${tensor.data[at]} at index ${at}: weights must be finite ` +
          "numbers; the file is corrupt or was saved from a diverged run: get the weights again",
      );
    }
  }
  return tensors;
}

/**
 * Open `path`, read the tensors `want` names by their ranges ({@linkcode readExpectedTensors}),
 * close it. A file that cannot be opened gives "Cannot read PATH: why".
 *
 * @example
 * ```ts ignore
 * import { readExpectedTensorsFile } from "./safetensors_reader.ts";
 * const weights = await readExpectedTensorsFile("m/model.safetensors", shapes, "config.json");
 * ```
 */
export async function readExpectedTensorsFile(
  path: string,
  want: Map<string, number[]>,
  configName = "the config",
): Promise<Map<string, Tensor>> {
  const source = await openOrExplain(path);
  try {
    return await readExpectedTensors(source, want, path, configName);
  } finally {
    source.close();
  }
}

/**
 * Open `path` and read every tensor and the metadata by their ranges.
 *
 * @example
 * ```ts ignore
 * import { readSafetensorsFile } from "./safetensors_reader.ts";
 * const { tensors } = await readSafetensorsFile("model/model.safetensors");
 * ```
 */
export async function readSafetensorsFile(
  path: string,
): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const source = await openOrExplain(path);
  try {
    const header = await readHeader(source, path);
    const tensors = await readTensors(source, header, header.tensors.keys());
    return { tensors, metadata: header.metadata };
  } finally {
    source.close();
  }
}

async function openOrExplain(path: string): Promise<ByteSource> {
  try {
    return await openFileSource(path);
  } catch (e) {
    const message = (e as Error).message.split("\n")[0];
    throw new Error(message.startsWith(path) ? message : `Cannot read ${path}: ${message}`);
  }
}
