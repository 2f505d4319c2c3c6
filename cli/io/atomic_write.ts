/**
 * Atomic file output: write to a temporary file in the target's directory, then rename it over
 * the target. A failed or interrupted run (SIGINT, SIGTERM) leaves no partial file: failures
 * call {@linkcode AtomicFile.abort}, and {@linkcode installInterruptCleanup} removes every
 * temporary file still open when a signal arrives.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";

/** Temporary files not yet committed or aborted, for the signal handler. */
const pending = new Set<string>();

/** A file being written; it appears at its path only on {@linkcode AtomicFile.commit}. */
export class AtomicFile {
  /** The final path. */
  readonly path: string;
  /** The temporary path, `.NAME.tmp-PID-RANDOM` beside the final one. */
  readonly tempPath: string;
  #file: Deno.FsFile | null;

  private constructor(path: string, tempPath: string, file: Deno.FsFile) {
    this.path = path;
    this.tempPath = tempPath;
    this.#file = file;
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
  static async create(path: string): Promise<AtomicFile> {
    const full = resolve(path);
    const dir = dirname(full);
    const info = await Deno.stat(full).catch(() => null);
    if (info?.isDirectory) throw new Error(`cannot write ${path}: it is a directory`);
    const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
    const tempPath = join(dir, `.${basename(full)}.tmp-${Deno.pid}-${rand}`);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(tempPath, { write: true, createNew: true, mode: 0o644 });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(`cannot write ${path}: directory ${dir} does not exist`);
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new Error(`cannot write ${path}: permission denied in ${dir}`);
      }
      throw new Error(`cannot write ${path}: ${(e as Error).message}`);
    }
    pending.add(tempPath);
    return new AtomicFile(path, tempPath, file);
  }

  /** Append bytes to the temporary file. */
  async write(data: Uint8Array): Promise<void> {
    if (!this.#file) throw new Error(`${this.path} is already committed or aborted`);
    let off = 0;
    while (off < data.length) off += await this.#file.write(data.subarray(off));
  }

  /** Flush, close and rename over the target; on failure the temporary file is removed. */
  async commit(): Promise<void> {
    if (!this.#file) throw new Error(`${this.path} is already committed or aborted`);
    try {
      await this.#file.sync();
      this.#file.close();
      this.#file = null;
      await Deno.rename(this.tempPath, this.path);
      pending.delete(this.tempPath);
    } catch (e) {
      await this.abort();
      throw new Error(`cannot write ${this.path}: ${(e as Error).message}`);
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

/**
 * On SIGINT or SIGTERM: remove pending temporary files, call `report`, exit 130 or 143.
 * Returns a function that uninstalls the handlers.
 *
 * @example
 * ```ts
 * import { installInterruptCleanup } from "./atomic_write.ts";
 * const uninstall = installInterruptCleanup(() => {});
 * uninstall();
 * ```
 */
export function installInterruptCleanup(report: (signal: string) => void): () => void {
  const handlers: [Deno.Signal, () => void][] = [];
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    const handler = () => {
      removePendingSync();
      report(signal);
      Deno.exit(code);
    };
    try {
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    } catch { /* signal not supported on this platform */ }
  }
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}
