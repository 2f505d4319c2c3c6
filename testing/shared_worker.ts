/**
 * One open backend per test file: the tests of a file that only generate, step or decode
 * through an open model share its worker instead of starting one each (a Python worker's start
 * is seconds of importing torch and transformers). Opened on first use, closed when the file's
 * tests are done (`Deno.test.afterAll`). A test that checks what happens at a worker's start or
 * end (its logs, its errors, a crash, a kill) opens its own and says so.
 *
 * ```ts ignore
 * import { sharedWorker } from "../../testing/shared_worker.ts";
 * const backend = await sharedWorker(`emu3 ${dir}`, () => openEmu3(dir));
 * ```
 *
 * @module
 */

/** What can be shared: anything with an async close. */
export interface Closable {
  /** Release it (for a backend: end its worker). */
  close(): Promise<void>;
}

const open = new Map<string, Promise<Closable>>();

/**
 * The file's one `T` for `key`, made by `make` on first use; a failed `make` is not kept, so
 * the next test tries again and reports its own failure.
 */
export function sharedWorker<T extends Closable>(key: string, make: () => Promise<T>): Promise<T> {
  let made = open.get(key) as Promise<T> | undefined;
  if (!made) {
    made = make();
    open.set(key, made);
    made.catch(() => open.delete(key));
  }
  return made;
}

/** Close every shared worker of this file (the afterAll hook below; tests need not call it). */
export async function closeSharedWorkers(): Promise<void> {
  const all = [...open.values()];
  open.clear();
  await Promise.all(all.map(async (p) => {
    const it = await p.catch(() => null);
    await it?.close();
  }));
}

Deno.test.afterAll?.(closeSharedWorkers);
