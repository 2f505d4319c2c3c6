/**
 * What must be stopped if the process is interrupted: the child processes backends start
 * (Python workers, the converter). A backend registers each child while it runs; the one owner
 * of SIGINT and SIGTERM (the CLI's cli/io/interrupt.ts) runs every registered cleanup before it
 * removes temporary files and exits. Backends never install signal listeners of their own, so
 * no backend can exit the process before the command has cleaned up.
 *
 * @module
 */

/** A cleanup: stop a child (synchronously, or by a promise that settles once it is gone). */
export type InterruptCleanup = () => void | Promise<void>;

const cleanups = new Set<InterruptCleanup>();

/**
 * Register `cleanup` to run on an interrupt; returns the function that unregisters it (call it
 * once the child is gone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { onInterrupt, runInterruptCleanups } from "./on_interrupt.ts";
 * let stopped = 0;
 * const done = onInterrupt(() => void stopped++);
 * await runInterruptCleanups();
 * done();
 * await runInterruptCleanups();
 * assert.equal(stopped, 1);
 * ```
 */
export function onInterrupt(cleanup: InterruptCleanup): () => void {
  const entry: InterruptCleanup = () => cleanup();
  cleanups.add(entry);
  return () => void cleanups.delete(entry);
}

/**
 * Run every registered cleanup at once and wait for them, at most `timeoutMs`; a cleanup that
 * throws does not stop the others.
 */
export async function runInterruptCleanups(timeoutMs = 5000): Promise<void> {
  const all = [...cleanups].map(async (cleanup) => {
    try {
      await cleanup();
    } catch { /* the child is gone or going; nothing better to do */ }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
  await Promise.race([Promise.all(all), late]);
  clearTimeout(timer);
}
