/**
 * Tiny test models built once per test run, not once per test or file. A model is keyed by
 * what builds it (the builder's module and arguments, and a hash of the builder's sources), built
 * into one shared temporary folder, and handed to every test file that asks for the same key —
 * also to files running at the same time (one builds, the others wait for it).
 *
 * tools/test.ts makes the folder and names it in `ZIPAR_TEST_CACHE`; a test file run on its own
 * gets a folder of its own, removed when it ends. Entries are shared: a test that needs a broken
 * or changed model copies the entry first ({@linkcode copyTree}) and corrupts the copy.
 *
 * ```ts ignore
 * import { cachedModel } from "../../testing/model_cache.ts";
 * const dir = await cachedModel({
 *   name: "test-64", // the entry's file or folder name (some families read the size from it)
 *   key: ["tiny_models.lumina", "--preset", "test"],
 *   sources: [WORKER_DIR, CHECKS_DIR],
 *   build: (out) => runPython(PYTHON!, "tiny_models.lumina", [out, "--preset", "test"]),
 * });
 * ```
 *
 * @module
 */

import { join } from "node:path";

/** The environment variable that names the run's model folder (set by tools/test.ts). */
export const CACHE_ENV = "ZIPAR_TEST_CACHE";

/** What {@linkcode cachedModel} builds and under which key. */
export interface CachedModelOptions {
  /** The entry's file or folder name, as the builder writes it (`test-64`, `st`). */
  name: string;
  /** What makes the entry what it is (a builder's module and arguments); any JSON. */
  key: unknown;
  /** Files or folders whose contents are part of the key (the builder's sources). @default [] */
  sources?: readonly string[];
  /** Write the entry at `out` (a path that does not exist yet). */
  build: (out: string) => Promise<unknown>;
  /** The folder of the entries. @default the run's (`ZIPAR_TEST_CACHE`), else the file's own */
  root?: string;
}

/** How long a file waits for another file's build of the same entry. */
const WAIT_MS = 15 * 60_000;

let ownRoot: string | null = null;

/** The run's folder, or (a file run alone) a folder of this file's own, removed at its end. */
function root(): string {
  const shared = Deno.env.get(CACHE_ENV);
  if (shared) return shared;
  if (!ownRoot) {
    ownRoot = Deno.makeTempDirSync({ prefix: "zipar-models-" });
    const dir = ownRoot;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone already */ }
    });
  }
  return ownRoot;
}

async function hashText(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const sourceHashes = new Map<string, Promise<string>>();

/**
 * SHA-256 over the contents of every file under `path` (with their paths relative to it), or of
 * the file itself; once per path and process (sources do not change during a run).
 */
function hashSources(path: string): Promise<string> {
  let hash = sourceHashes.get(path);
  if (!hash) {
    hash = (async () => {
      const parts: string[] = [];
      const walk = async (p: string, rel: string) => {
        const info = await Deno.stat(p);
        if (info.isFile) {
          parts.push(`${rel}\n${await Deno.readTextFile(p)}`);
          return;
        }
        const names: string[] = [];
        for await (const e of Deno.readDir(p)) if (e.name !== "__pycache__") names.push(e.name);
        for (const name of names.sort()) await walk(join(p, name), `${rel}/${name}`);
      };
      await walk(path, ".");
      return await hashText(parts.join("\0"));
    })();
    sourceHashes.set(path, hash);
  }
  return hash;
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const made = new Map<string, Promise<string>>();

/**
 * The path of the entry for `options.key`: built by this call when no file of the run has built
 * it yet, else the one already there (waiting while another file builds it).
 */
export function cachedModel(options: CachedModelOptions): Promise<string> {
  const id = JSON.stringify([options.root, options.name, options.key, options.sources ?? []]);
  let path = made.get(id);
  if (!path) {
    path = buildOnce(options);
    made.set(id, path);
    path.catch(() => made.delete(id));
  }
  return path;
}

async function buildOnce(options: CachedModelOptions): Promise<string> {
  const sources = await Promise.all((options.sources ?? []).map(hashSources));
  const hash = (await hashText(JSON.stringify([options.key, sources]))).slice(0, 16);
  const dir = options.root ?? root();
  const entry = join(dir, `${options.name}-${hash}`);
  const result = join(entry, options.name);
  const lock = `${entry}.lock`;
  const deadline = Date.now() + WAIT_MS;
  while (!(await exists(entry))) {
    let owned: Deno.FsFile | null = null;
    try {
      owned = await Deno.open(lock, { createNew: true, write: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    if (!owned) { // another file builds it: wait for the entry, or for its lock to go
      if (Date.now() > deadline) {
        throw new Error(`waited ${WAIT_MS / 60_000} min for ${lock} to go: remove it`);
      }
      await pause(100);
      continue;
    }
    owned.close();
    const staging = await Deno.makeTempDir({ dir, prefix: ".staging-" });
    try {
      await options.build(join(staging, options.name));
      if (!(await exists(join(staging, options.name)))) {
        throw new Error(`the build of ${options.name} wrote nothing at its path`);
      }
      await Deno.rename(staging, entry);
    } catch (e) {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
      throw e;
    } finally {
      await Deno.remove(lock).catch(() => {});
    }
  }
  return result;
}

/** Copy the file or folder `from` to `to` (a folder's whole tree), for a test that changes it. */
export async function copyTree(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) {
    await Deno.copyFile(from, to);
    return;
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) await copyTree(join(from, e.name), join(to, e.name));
}
