/**
 * Atomic file output: write to a temporary file in the target's directory, then rename it over
 * the target. A failed or interrupted run (SIGINT, SIGTERM) leaves no partial file: failures
 * call {@linkcode AtomicFile.abort}, and the signals' owner (cli/io/interrupt.ts) calls
 * {@linkcode removePendingSync} for every temporary file still open when a signal arrives.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";

/** Temporary files not yet committed or aborted, for the signal handler. */
const pending = new Set<string>();

/** Options of {@linkcode AtomicFile.create}. */
export interface AtomicFileOptions {
  /** The path to name in messages (the symlink the user gave). @default the path written */
  shownAs?: string;
  /** Permission bits of the new file (an existing target's, to keep them). @default 0o644 */
  mode?: number;
}

/**
 * A one-line Error for a failed write of `path`: the cause in words (the directory does not
 * exist, permission denied, read-only file system, no space left on device, …), never the
 * temporary file's name nor Deno's `--allow-*` hints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeError } from "./atomic_write.ts";
 * const full = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * assert.equal(writeError("/dev/full", full).message, "cannot write /dev/full: No space left on device");
 * ```
 */
export function writeError(path: string, e: unknown, dir = dirname(resolve(path))): Error {
  const code = (e as { code?: string })?.code;
  const causes: Record<string, string> = {
    ENOENT: `directory ${dir} does not exist`,
    ENOTDIR: `${dir} is not a directory`,
    EACCES: `permission denied in ${dir}`,
    EPERM: `permission denied in ${dir}`,
    EROFS: `${dir} is on a read-only file system`,
    ENOSPC: "No space left on device",
    EDQUOT: "disk quota exceeded",
    EFBIG: "file too large for the file system",
    EPIPE: "its reader went away",
    EISDIR: "it is a directory",
    ELOOP: "too many levels of symbolic links",
    ENAMETOOLONG: "the file name is too long",
  };
  let cause = code !== undefined ? causes[code] : undefined;
  if (code === "ENOENT" && isDirectory(dir)) {
    cause = `${dir} does not let files be created in it (No such file or directory)`;
  }
  if (e instanceof Deno.errors.NotCapable) {
    cause = "zipar was started without write permission (deno run --allow-write)";
  }
  cause ??= String((e as Error)?.message ?? e).split("\n")[0].replace(/ \(os error \d+\).*$/, "");
  return new Error(`cannot write ${path}: ${cause}`);
}

/**
 * Whether `path` is an existing directory (false when it is anything else or missing; a
 * directory may still refuse new files: /proc, /sys).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDirectory } from "./atomic_write.ts";
 * assert.equal(isDirectory(Deno.cwd()), true);
 * assert.equal(isDirectory("/no/such/path"), false);
 * ```
 */
export function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * A regular file being written; it appears at its path only on {@linkcode AtomicFile.commit}.
 * Commands open outputs through cli/io/output_file.ts, which picks this for regular files.
 */
export class AtomicFile {
  /** The final path. */
  readonly path: string;
  /** The temporary path, `.NAME.tmp-PID-RANDOM` beside the final one. */
  readonly tempPath: string;
  /** Always `atomic` (output_file.ts's OutputFile). */
  readonly kind = "atomic";
  readonly #shownAs: string;
  #file: Deno.FsFile | null;

  private constructor(path: string, tempPath: string, file: Deno.FsFile, shownAs: string) {
    this.path = path;
    this.tempPath = tempPath;
    this.#file = file;
    this.#shownAs = shownAs;
  }

  /**
   * Create the temporary file now, so an unwritable target fails before any long work.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { AtomicFile } from "./atomic_write.ts";
   * const dir = await Deno.makeTempDir();
   * const out = await AtomicFile.create(`${dir}/a.txt`);
   * await out.write(new TextEncoder().encode("hi"));
   * await out.commit();
   * assert(await Deno.readTextFile(`${dir}/a.txt`) === "hi");
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async create(path: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    const shownAs = options.shownAs ?? path;
    const full = resolve(path);
    const dir = dirname(full);
    const info = await Deno.stat(full).catch(() => null);
    if (info?.isDirectory) throw new Error(`cannot write ${shownAs}: it is a directory`);
    const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
    const tempPath = join(dir, `.${basename(full)}.tmp-${Deno.pid}-${rand}`);
    const mode = (options.mode ?? 0o644) & 0o777;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(tempPath, { write: true, createNew: true, mode });
      if (options.mode !== undefined) await Deno.chmod(tempPath, mode); // past the umask
    } catch (e) {
      throw writeError(shownAs, e, dir);
    }
    pending.add(tempPath);
    return new AtomicFile(path, tempPath, file, shownAs);
  }

  /** Append bytes to the temporary file. */
  async write(data: Uint8Array): Promise<void> {
    if (!this.#file) throw new Error(`${this.#shownAs} is already committed or aborted`);
    try {
      let off = 0;
      while (off < data.length) off += await this.#file.write(data.subarray(off));
    } catch (e) {
      await this.abort();
      throw writeError(this.#shownAs, e);
    }
  }

  /** Flush, close and rename over the target; on failure the temporary file is removed. */
  async commit(): Promise<void> {
    if (!this.#file) throw new Error(`${this.#shownAs} is already committed or aborted`);
    try {
      await this.#file.sync();
      this.#file.close();
      this.#file = null;
      await Deno.rename(this.tempPath, this.path);
      pending.delete(this.tempPath);
    } catch (e) {
      await this.abort();
      throw writeError(this.#shownAs, e);
    }
  }

  /** Close and remove the temporary file; the target is left as it was. Safe to repeat. */
  async abort(): Promise<void> {
    try {
      this.#file?.close();
    } catch { /* already closed */ }
    this.#file = null;
    if (!pending.has(this.tempPath)) return;
    pending.delete(this.tempPath);
    await Deno.remove(this.tempPath).catch(() => {});
  }
}

/** Remove every temporary file not yet committed (synchronously, for signal handlers). */
export function removePendingSync(): void {
  for (const temp of pending) {
    try {
      Deno.removeSync(temp);
    } catch { /* gone already */ }
  }
  pending.clear();
}

/** The temporary files not yet committed or aborted (for tests). */
export function pendingTemps(): string[] {
  return [...pending];
}
