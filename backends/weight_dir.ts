/**
 * The safetensors weights of a Hugging Face model directory, as transformers saves them: one
 * `model.safetensors`, or shards named by `model.safetensors.index.json`'s `weight_map`. Every
 * header is read and validated when the directory opens (safetensors_format.ts); tensors are read
 * later by their declared ranges only, whole or a few rows at a time (a prompt's rows of a text
 * embedding), never a whole file.
 *
 * A shard name must be a plain file name in the directory (no path separators, no `..`), every
 * tensor of the index must be in its shard's header, and no tensor may be in two shards.
 *
 * @module
 */

import { join } from "node:path";
import { readConfigObject } from "./model_dir.ts";
import {
  DTYPE_BYTES,
  type SafetensorsHeader,
  type Tensor,
  type TensorEntry,
  toFloat32,
} from "./safetensors_format.ts";
import {
  type ByteSource,
  openFileSource,
  readCheckedTensors,
  readHeader,
} from "./safetensors_reader.ts";

/** The single-file name transformers writes. */
export const SINGLE_FILE = "model.safetensors";
/** The shard index transformers writes beside sharded weights. */
export const SHARD_INDEX = "model.safetensors.index.json";
/** Most shards read (Janus-Pro-7B has 2; 70B-class models under 100). */
const MAX_SHARDS = 1024;

interface Shard {
  path: string;
  source: ByteSource;
  header: SafetensorsHeader;
}

/** An open directory of safetensors weights. */
export interface WeightDir {
  /** The directory. */
  readonly dir: string;
  /** Every tensor's header entry (dtype, shape, offsets), by name. */
  readonly entries: ReadonlyMap<string, TensorEntry>;
  /** Bytes of all tensors as stored (for memory checks before anything is read). */
  readonly storedBytes: number;
  /**
   * Read tensors, each checked against its expected shape first (`want`: name → shape), as
   * float32; non-finite values are refused.
   */
  read(want: Map<string, number[]>, configName?: string): Promise<Map<string, Tensor>>;
  /** rows: [rows.length, cols] of a 2-D tensor, read row by row. */
  readRows(name: string, rows: readonly number[]): Promise<Float32Array>;
  /** Close every shard. */
  close(): void;
}

/**
 * Open the weights of `dir`: the shard index when there is one, else `model.safetensors`.
 * Throws a one-line Error naming the file and the fix.
 *
 * @example
 * ```ts ignore
 * import { openWeightDir } from "./weight_dir.ts";
 * const weights = await openWeightDir("models/Janus-Pro-1B");
 * const rows = await weights.readRows("model.language_model.embed_tokens.weight", [1, 5]);
 * weights.close();
 * ```
 */
export async function openWeightDir(dir: string): Promise<WeightDir> {
  const indexPath = join(dir, SHARD_INDEX);
  const hasIndex = await Deno.stat(indexPath).then((s) => s.isFile, () => false);
  const files = hasIndex ? shardFiles(await readConfigObject(indexPath), indexPath) : null;
  const shards: Shard[] = [];
  const owner = new Map<string, Shard>();
  try {
    for (const file of files ? new Set(files.values()) : [SINGLE_FILE]) {
      const path = join(dir, file);
      const source = await openFileSource(path).catch((e) => {
        const why = (e as Error).message.split("\n")[0];
        throw new Error(
          `Cannot read ${path}: ${why}: download the model's safetensors files into ${dir}`,
        );
      });
      const shard = {
        path,
        source,
        header: await readHeader(source, path).catch((e) => {
          source.close();
          throw e;
        }),
      };
      shards.push(shard);
      for (const name of shard.header.tensors.keys()) {
        if (files && files.get(name) !== file) continue; // the index names its own shard
        if (owner.has(name)) {
          throw new Error(`${path}: tensor ${name} is also in ${owner.get(name)!.path}`);
        }
        owner.set(name, shard);
      }
    }
    for (const [name, file] of files ?? []) {
      if (!owner.has(name)) {
        throw new Error(
          `${
            join(dir, file)
          }: has no tensor ${name}, which ${SHARD_INDEX} puts there; download the shards again`,
        );
      }
    }
  } catch (e) {
    for (const s of shards) s.source.close();
    throw e;
  }
  const entries = new Map<string, TensorEntry>();
  let storedBytes = 0;
  for (const [name, shard] of owner) {
    const entry = shard.header.tensors.get(name)!;
    entries.set(name, entry);
    storedBytes += entry.offsets[1] - entry.offsets[0];
  }
  return {
    dir,
    entries,
    storedBytes,
    async read(want, configName = "config.json") {
      const byShard = new Map<Shard, Map<string, number[]>>();
      for (const [name, shape] of want) {
        const shard = owner.get(name);
        if (!shard) {
          throw new Error(
            `${dir}: the weights lack ${name} (expected ${
              JSON.stringify(shape)
            } from ${configName}); download the model's safetensors files again`,
          );
        }
        if (!byShard.has(shard)) byShard.set(shard, new Map());
        byShard.get(shard)!.set(name, shape);
      }
      const out = new Map<string, Tensor>();
      for (const [shard, some] of byShard) {
        const got = await readCheckedTensors(
          shard.source,
          shard.header,
          some,
          shard.path,
          configName,
        );
        for (const [name, tensor] of got) out.set(name, tensor);
      }
      return out;
    },
    async readRows(name, rows) {
      const shard = owner.get(name);
      const entry = entries.get(name);
      if (!shard || !entry || entry.shape.length !== 2) {
        throw new Error(`${dir}: the weights have no 2-D tensor ${name}`);
      }
      const [count, cols] = entry.shape;
      const rowBytes = cols * DTYPE_BYTES[entry.dtype];
      const out = new Float32Array(rows.length * cols); // [rows, cols]
      const raw = new Uint8Array(rowBytes);
      for (const [i, row] of rows.entries()) {
        if (!Number.isInteger(row) || row < 0 || row >= count) {
          throw new RangeError(`${name}: row ${row} is not in 0..${count - 1}`);
        }
        await shard.source.read(shard.header.dataStart + entry.offsets[0] + row * rowBytes, raw);
        const values = toFloat32(entry.dtype, raw);
        const at = values.findIndex((v) => !Number.isFinite(v));
        if (at >= 0) throw new RangeError(`${shard.path}: ${name} row ${row} is not finite`);
        out.set(values, i * cols);
      }
      return out;
    },
    close() {
      for (const s of shards) s.source.close();
    },
  };
}

/** weight_map of a shard index: tensor → plain file name in the directory. */
function shardFiles(index: Record<string, unknown>, path: string): Map<string, string> {
  const map = index.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new Error(`${path}: no weight_map object; download the model's index file again`);
  }
  const files = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    if (
      typeof file !== "string" || !file.endsWith(".safetensors") || /[/\\]/.test(file) ||
      file.startsWith(".")
    ) {
      throw new Error(
        `${path}: weight_map puts ${name} in ${
          JSON.stringify(file)
        }, not a .safetensors file of this directory`,
      );
    }
    files.set(name, file);
  }
  if (new Set(files.values()).size > MAX_SHARDS) {
    throw new Error(`${path}: names more than ${MAX_SHARDS} shards`);
  }
  if (files.size === 0) throw new Error(`${path}: weight_map is empty`);
  return files;
}
