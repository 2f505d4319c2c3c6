/**
 * Batch and collect write only inside their directory. The names they write there (a job's
 * grid files, the summaries) are theirs, so what already sits at such a name is never followed
 * out of the directory:
 *
 * - a job's output name holding a symlink, a FIFO, a device, a socket or a directory fails that
 *   job (as an output made by another job does): nothing is read through it, written through
 *   it or replaced;
 * - a symlink at a summary's name is replaced by the new summary, never followed (as `install`
 *   and `cp --remove-destination` do); a FIFO or a device there is written through, as
 *   cli/io/output_file.ts writes any output.
 *
 * @module
 */

import { join } from "node:path";
import { AtomicFile, writeError } from "../io/atomic_write.ts";
import { openOutput, type OutputFile } from "../io/output_file.ts";

/** What a file system node that is not a regular file is, in words. */
function nodeKind(info: Deno.FileInfo): string {
  if (info.isSymlink) return "a symbolic link";
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Why a job cannot have its output `file` in `dir`, or null when nothing or a regular file is
 * there. Never follows a symlink.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outputNodeError } from "./dir_output.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.symlink("/etc/hostname", `${dir}/a.json`);
 * assert.equal(await outputNodeError(dir, "b.json"), null);
 * assert.match((await outputNodeError(dir, "a.json"))!, /^a\.json is a symbolic link/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function outputNodeError(dir: string, file: string): Promise<string | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(join(dir, file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    return writeError(join(dir, file), e).message;
  }
  if (info.isFile) return null;
  return `${file} is ${
    nodeKind(info)
  }; batch writes only regular files inside ${dir}: remove it or rename the job`;
}

/**
 * Open the summary `path` (inside the batch directory) for writing: a symlink there is replaced
 * by the new file on commit, never followed; anything else opens as cli/io/output_file.ts opens
 * any output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openSummary } from "./dir_output.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/outside.json`, "kept");
 * await Deno.symlink(`${dir}/outside.json`, `${dir}/summary.json`);
 * const out = await openSummary(`${dir}/summary.json`);
 * await out.write(new TextEncoder().encode("{}"));
 * await out.commit();
 * assert.equal((await Deno.lstat(`${dir}/summary.json`)).isFile, true);
 * assert.equal(await Deno.readTextFile(`${dir}/outside.json`), "kept");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openSummary(path: string): Promise<OutputFile> {
  const info = await Deno.lstat(path).catch(() => null);
  if (info?.isSymlink) return await AtomicFile.create(path);
  return await openOutput(path);
}
