/**
 * Reading and writing grid files and pipes: format from magic bytes (reading) or from the
 * extension / `--format` (writing), size caps, the `.npy` metadata sidecar, stdin and stdout.
 *
 * `.npy` files carry metadata in a JSON sidecar `FILE.npy.json`:
 * `{ "format": "zipar.npy-meta/1", "shape": [B, H, W], "dtype": "<i4", "meta": {...} }`.
 * `.npy` written to stdout has no sidecar: its metadata is dropped.
 *
 * @module
 */

import { ValidationError } from "../flags/args.ts";
import { openOutput } from "../io/output_file.ts";
import { brief, GridFileError, MAX_GRID_TOKENS, type TokenGrid } from "./grid.ts";
import { decodeGridJson, encodeGridJson, prettyJson } from "./grid_json.ts";
import { decodeNpyData, encodeNpy, isNpy, npyHeaderSize, parseNpyHeader } from "./grid_npy.ts";
import type { Io } from "../io/io.ts";

/** Grid file formats. */
export type GridFormat = "json" | "npy";
/** The formats, for argument parsing. */
export const GRID_FORMATS: readonly GridFormat[] = ["json", "npy"];

/** Largest JSON grid file read (256 MiB). */
export const MAX_JSON_BYTES = 256 * 2 ** 20;
/** Largest `.npy` sidecar read (16 MiB). */
export const MAX_SIDECAR_BYTES = 16 * 2 ** 20;
/** Largest `.npy` file read: 2^28 tokens of 8 bytes plus a header. */
export const MAX_NPY_BYTES = MAX_GRID_TOKENS * 8 + (1 << 20);

/** A grid read from a file or stdin. */
export interface ReadGrid {
  /** The grid. */
  grid: TokenGrid;
  /** Its format. */
  format: GridFormat;
  /** Its size in bytes. */
  bytes: number;
  /** `.npy` dtype as stored (`<i4`, …); null for JSON. */
  dtype: string | null;
  /** Where the metadata came from: the file, the sidecar, or nowhere. */
  metaSource: "file" | "sidecar" | "none";
}

/** Buffered reads over a byte stream. */
class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #eof = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Buffer at least n bytes, or all that is left. Returns the bytes buffered. */
  async fill(n: number): Promise<number> {
    while (this.#buffered < n && !this.#eof) {
      const { value, done } = await this.#reader.read();
      if (done) this.#eof = true;
      else if (value.length > 0) {
        this.#chunks.push(value);
        this.#buffered += value.length;
      }
    }
    return this.#buffered;
  }

  /** The first n buffered bytes (n ≤ buffered). */
  peek(n: number): Uint8Array {
    if (this.#chunks.length !== 1) this.#chunks = [concat(this.#chunks, this.#buffered)];
    return this.#chunks[0]?.subarray(0, n) ?? new Uint8Array(0);
  }

  /** Everything up to EOF, or null when there is more than `cap` bytes. */
  async rest(cap: number): Promise<Uint8Array | null> {
    await this.fill(cap + 1);
    if (this.#buffered > cap) return null;
    return concat(this.#chunks, this.#buffered);
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * Read and validate a grid from a path, or stdin for `-`. Sniffs `.npy` by its magic bytes
 * (`\x93NUMPY`), anything else must be a JSON grid. Checks sizes before reading data.
 */
export async function readGrid(source: string, io: Io): Promise<ReadGrid> {
  const fromStdin = source === "-";
  const where = fromStdin ? "stdin" : source;
  let size: number | null = null;
  let stream: ReadableStream<Uint8Array>;
  if (fromStdin) stream = io.stdin();
  else {
    let file: Deno.FsFile;
    try {
      // stat first: opening a FIFO would block until some writer comes.
      if (!(await Deno.stat(source)).isFile) {
        throw new GridFileError(`${where}: not a regular file`);
      }
      file = await Deno.open(source, { read: true });
      const info = await file.stat();
      if (!info.isFile) {
        file.close();
        throw new GridFileError(`${where}: not a regular file`);
      }
      size = info.size;
    } catch (e) {
      if (e instanceof GridFileError) throw e;
      if (e instanceof Deno.errors.NotFound) throw new GridFileError(`${where}: no such file`);
      throw new GridFileError(`${where}: cannot read (${(e as Error).message})`);
    }
    stream = file.readable;
  }
  const reader = new ByteReader(stream);
  try {
    const got = await reader.fill(12);
    if (got === 0) throw new GridFileError(`${where}: empty input, expected a JSON or .npy grid`);
    const head = reader.peek(Math.min(got, 12));
    if (isNpy(head) || (head.length < 6 && head[0] === 0x93)) {
      return await readNpy(reader, head, where, size, fromStdin ? null : source);
    }
    if (size !== null && size > MAX_JSON_BYTES) {
      throw new GridFileError(
        `${where}: ${size} bytes is larger than the ${MAX_JSON_BYTES}-byte limit for JSON grids`,
      );
    }
    const first = head.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
    if (first !== undefined && first !== 0x7b) {
      throw new GridFileError(`${where}: not a grid file (neither a JSON object nor .npy data)`);
    }
    const bytes = await reader.rest(MAX_JSON_BYTES);
    if (!bytes) {
      throw new GridFileError(
        `${where}: larger than the ${MAX_JSON_BYTES}-byte limit for JSON grids`,
      );
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new GridFileError(`${where}: not valid UTF-8 text, and not .npy data`);
    }
    const grid = decodeGridJson(text, where);
    return { grid, format: "json", bytes: bytes.length, dtype: null, metaSource: "file" };
  } finally {
    await reader.cancel();
  }
}

async function readNpy(
  reader: ByteReader,
  head: Uint8Array,
  where: string,
  size: number | null,
  path: string | null,
): Promise<ReadGrid> {
  const headerSize = npyHeaderSize(head, where);
  if ((await reader.fill(headerSize)) < headerSize) {
    throw new GridFileError(`${where}: truncated .npy file (no complete header)`);
  }
  const header = parseNpyHeader(reader.peek(headerSize), where);
  const total = header.dataOffset + header.dataBytes;
  if (size !== null && size !== total) {
    throw new GridFileError(
      size < total
        ? `${where}: truncated .npy file: shape ${
          brief(header.shape)
        } × ${header.dtype.size} bytes needs ${total} bytes, file has ${size}`
        : `${where}: .npy file has ${size - total} bytes after the data its header declares`,
    );
  }
  const bytes = await reader.rest(total);
  if (!bytes) {
    throw new GridFileError(`${where}: .npy data continues past the size its header declares`);
  }
  if (bytes.length < total) {
    throw new GridFileError(
      `${where}: truncated .npy data: shape ${
        brief(header.shape)
      } needs ${total} bytes, got ${bytes.length}`,
    );
  }
  const tokens = decodeNpyData(header, bytes.subarray(header.dataOffset), where);
  const grid: TokenGrid = { shape: header.shape, tokens, meta: {} };
  let metaSource: ReadGrid["metaSource"] = "none";
  if (path !== null) {
    const meta = await readSidecar(path + ".json", header.shape);
    if (meta) {
      grid.meta = meta;
      metaSource = "sidecar";
    }
  }
  return { grid, format: "npy", bytes: total, dtype: header.dtype.descr, metaSource };
}

async function readSidecar(path: string, shape: number[]): Promise<Record<string, unknown> | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    return null;
  }
  if (!info.isFile || info.size > MAX_SIDECAR_BYTES) {
    throw new GridFileError(
      `${path}: metadata sidecar is not a file of at most ${MAX_SIDECAR_BYTES} bytes`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new GridFileError(
      `${path}: metadata sidecar is not valid JSON (${(e as Error).message.split("\n")[0]})`,
    );
  }
  const d = doc as Record<string, unknown> | null;
  if (
    typeof d !== "object" || d === null || typeof d.meta !== "object" || d.meta === null ||
    Array.isArray(d.meta)
  ) {
    throw new GridFileError(`${path}: metadata sidecar needs a "meta" object`);
  }
  if (d.shape !== undefined && JSON.stringify(d.shape) !== JSON.stringify(shape)) {
    throw new GridFileError(
      `${path}: sidecar shape ${brief(d.shape)} does not match the .npy shape ${brief(shape)}`,
    );
  }
  return d.meta as Record<string, unknown>;
}

/**
 * The output format: `--format` if given, else the extension (`.json`, `.npy`), else JSON for
 * stdout. A file with another extension needs `--format`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveFormat } from "./grid_file.ts";
 * assert(resolveFormat("a.npy", undefined) === "npy");
 * assert(resolveFormat("-", undefined) === "json");
 * ```
 */
export function resolveFormat(out: string, explicit: GridFormat | undefined): GridFormat {
  if (out === "-") return explicit ?? "json";
  const ext = /\.(json|npy)$/i.exec(out)?.[1]?.toLowerCase() as GridFormat | undefined;
  if (explicit && ext && explicit !== ext) {
    throw new ValidationError(
      `--format ${explicit} contradicts the extension of ${out}`,
      "Drop --format or rename the file.",
    );
  }
  const format = explicit ?? ext;
  if (!format) {
    throw new ValidationError(
      `cannot tell the format of ${out} from its extension`,
      "Use .json or .npy, or pass --format json|npy.",
    );
  }
  return format;
}

/** A grid output opened before the work, so an unwritable target fails early. */
export interface GridOutput {
  /** Write the grid and make it appear at its path (or on stdout). */
  write(grid: TokenGrid): Promise<void>;
  /** Drop whatever was prepared; no partial file is left. */
  abort(): Promise<void>;
}

/**
 * Open a grid output: `-` streams to stdout, a path goes through cli/io/output_file.ts (a
 * regular file is written atomically, a device or FIFO through), and a `.npy` written to a
 * regular file gets its metadata sidecar `PATH.json` (none beside `/dev/null` or a FIFO, as none
 * on stdout).
 */
export async function openGridOutput(out: string, format: GridFormat, io: Io): Promise<GridOutput> {
  if (out === "-") {
    return {
      write: (grid) => io.writeStdout(encodeGrid(grid, format)),
      abort: () => Promise.resolve(),
    };
  }
  const files = [await openOutput(out)];
  const sidecar = format === "npy" && files[0].kind === "atomic";
  if (sidecar) {
    try {
      files.push(await openOutput(out + ".json"));
    } catch (e) {
      await files[0].abort();
      throw e;
    }
  }
  const abort = async () => {
    for (const f of files) await f.abort();
  };
  return {
    async write(grid) {
      try {
        await files[0].write(encodeGrid(grid, format));
        if (sidecar) {
          const meta = {
            format: "zipar.npy-meta/1",
            shape: grid.shape,
            dtype: "<i4",
            meta: grid.meta,
          };
          await files[1].write(new TextEncoder().encode(prettyJson(meta, "") + "\n"));
        }
        // The sidecar first: whoever sees the .npy finds its metadata beside it.
        for (const f of [...files].reverse()) await f.commit();
      } catch (e) {
        await abort();
        throw e;
      }
    },
    abort,
  };
}

/**
 * Encode a grid in a format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGrid } from "./grid_file.ts";
 * const grid = { shape: [1, 1, 1] as [number, number, number], tokens: new Int32Array(1), meta: {} };
 * assert(encodeGrid(grid, "npy")[0] === 0x93);
 * ```
 */
export function encodeGrid(grid: TokenGrid, format: GridFormat): Uint8Array {
  return format === "npy"
    ? encodeNpy(grid.shape, grid.tokens)
    : new TextEncoder().encode(encodeGridJson(grid));
}
