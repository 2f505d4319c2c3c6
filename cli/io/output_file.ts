/**
 * The one way a command opens a file it writes (`generate --out`, `--png`, `decode -o`, batch
 * outputs and summaries, `plan --png`, `demo -o`). What happens depends on what the path is:
 *
 * - a regular file, or nothing yet: a temporary file beside it, renamed over it on commit
 *   (atomic_write.ts), so a failed or interrupted run leaves no partial file;
 * - a symlink: resolved, and its target written atomically beside the target, so the link
 *   stays a link (a dangling link creates its target, as a shell's `>` does);
 * - a character device (`/dev/null`, `/dev/full`, a terminal) or a FIFO: written through,
 *   never renamed over (which would replace the node);
 * - a directory, a socket or a block device: refused in one line.
 *
 * Every failure is one line naming the path and the cause ("No space left on device",
 * "permission denied in DIR", …), never the temporary file's name or Deno's flag hints.
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { AtomicFile, writeError } from "./atomic_write.ts";

/** A file being written: it appears (or is flushed) at its path on {@linkcode commit}. */
export interface OutputFile {
  /** The path as the user gave it. */
  readonly path: string;
  /** `atomic`: temp file + rename; `through`: written straight into a device or FIFO. */
  readonly kind: "atomic" | "through";
  /** Append bytes. */
  write(data: Uint8Array): Promise<void>;
  /** Finish: rename into place (atomic) or close (through). */
  commit(): Promise<void>;
  /** Drop what was prepared; an atomic target is left as it was. Safe to repeat. */
  abort(): Promise<void>;
}

/** Symlink hops followed before giving up, as the kernel's ELOOP limit. */
const MAX_LINKS = 40;

/** Where a path leads: the final node (null when missing) and its resolved path. */
async function follow(path: string): Promise<{ target: string; info: Deno.FileInfo | null }> {
  let current = resolve(path);
  for (let hop = 0; hop <= MAX_LINKS; hop++) {
    let link: Deno.FileInfo;
    try {
      link = await Deno.lstat(current);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { target: current, info: null };
      throw e;
    }
    if (!link.isSymlink) return { target: current, info: link };
    try {
      // The kernel's answer covers links through /proc (/dev/stdout) that readLink cannot.
      const info = await Deno.stat(current);
      return { target: info.isFile ? await Deno.realPath(current) : current, info };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const to = await Deno.readLink(current); // dangling: create what it points at
    current = isAbsolute(to) ? to : join(dirname(current), to);
  }
  throw new Error(`too many levels of symbolic links (more than ${MAX_LINKS})`);
}

/** Written straight into a character device or FIFO. */
class ThroughFile implements OutputFile {
  readonly kind = "through";
  #file: Deno.FsFile | null;

  constructor(readonly path: string, file: Deno.FsFile) {
    this.#file = file;
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.#file) throw new Error(`${this.path} is already committed or aborted`);
    try {
      let off = 0;
      while (off < data.length) off += await this.#file.write(data.subarray(off));
    } catch (e) {
      await this.abort();
      throw writeError(this.path, e);
    }
  }

  commit(): Promise<void> {
    if (!this.#file) throw new Error(`${this.path} is already committed or aborted`);
    return this.abort();
  }

  abort(): Promise<void> {
    try {
      this.#file?.close();
    } catch { /* already closed */ }
    this.#file = null;
    return Promise.resolve();
  }
}

/**
 * Open `path` for writing as its kind of node allows (see the module doc). Fails early, before
 * any long work, with a one-line Error naming the path and the cause.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openOutput } from "./output_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/target.txt`, "old");
 * await Deno.symlink(`${dir}/target.txt`, `${dir}/link.txt`);
 * const out = await openOutput(`${dir}/link.txt`);
 * await out.write(new TextEncoder().encode("new"));
 * await out.commit();
 * assert.equal((await Deno.lstat(`${dir}/link.txt`)).isSymlink, true); // still a link
 * assert.equal(await Deno.readTextFile(`${dir}/target.txt`), "new");
 * const sink = await openOutput("/dev/null"); // written through, never renamed over
 * assert.equal(sink.kind, "through");
 * await sink.abort();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openOutput(path: string): Promise<OutputFile> {
  let found: { target: string; info: Deno.FileInfo | null };
  try {
    found = await follow(path);
  } catch (e) {
    throw writeError(path, e);
  }
  const { target, info } = found;
  if (info === null || info.isFile) {
    return await AtomicFile.create(target, { shownAs: path, mode: info?.mode ?? undefined });
  }
  if (info.isDirectory) throw new Error(`cannot write ${path}: it is a directory`);
  if (info.isCharDevice || info.isFifo) {
    try {
      return new ThroughFile(path, await Deno.open(target, { write: true }));
    } catch (e) {
      throw writeError(path, e);
    }
  }
  const what = info.isSocket ? "a socket" : info.isBlockDevice ? "a block device" : "no file";
  throw new Error(
    `cannot write ${path}: it is ${what}; write to a regular file, a character device or a FIFO`,
  );
}
