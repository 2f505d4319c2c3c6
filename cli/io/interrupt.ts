/**
 * The one owner of SIGINT and SIGTERM for every command. `zipar` installs it once at start
 * ({@linkcode installSignalOwner}); on a signal it stops the child processes backends started
 * (backends/on_interrupt.ts: Python workers, the converter), removes every temporary output
 * file (cli/io/atomic_write.ts), prints one line and exits 130 (SIGINT) or 143 (SIGTERM). A
 * second signal while that runs exits at once.
 *
 * Commands word the line for what they are doing with {@linkcode installInterruptCleanup}
 * (`generate`: "no output written"; `batch`: "finished outputs are kept, rerun to resume").
 *
 * @module
 */

import { runInterruptCleanups } from "../../backends/on_interrupt.ts";
import { removePendingSync } from "./atomic_write.ts";
import type { Io } from "./io.ts";

/** Exit codes by signal: 128 + the signal number. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** Signals the owner handles. */
export type OwnedSignal = keyof typeof SIGNAL_EXIT_CODES;

/** The reports of the phases running now, innermost last. */
const reports: ((signal: OwnedSignal) => void)[] = [];
let interruptedBy: OwnedSignal | null = null;

/** The signal being handled, once one arrived (the command's own errors are then not reported). */
export function interrupted(): OwnedSignal | null {
  return interruptedBy;
}

/**
 * While the returned function is not called, an interrupt is reported by `report` (which
 * writes the one line) instead of the plain "zipar: interrupted (SIGNAL)".
 *
 * @example
 * ```ts
 * import { installInterruptCleanup } from "./interrupt.ts";
 * const uninstall = installInterruptCleanup(() => {});
 * uninstall();
 * ```
 */
export function installInterruptCleanup(report: (signal: OwnedSignal) => void): () => void {
  reports.push(report);
  return () => {
    const i = reports.lastIndexOf(report);
    if (i >= 0) reports.splice(i, 1);
  };
}

/**
 * Take ownership of SIGINT and SIGTERM for this process (the `zipar` command calls it once).
 * Returns the function that gives them back.
 */
export function installSignalOwner(io: Io): () => void {
  const handlers: [OwnedSignal, () => void][] = [];
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as OwnedSignal[]) {
    const handler = async () => {
      const code = SIGNAL_EXIT_CODES[signal];
      if (interruptedBy !== null) Deno.exit(code); // a second signal: no more waiting
      interruptedBy = signal;
      await runInterruptCleanups();
      removePendingSync();
      const report = reports.at(-1);
      if (report) report(signal);
      else io.writeStderr(`zipar: interrupted (${signal})\n`);
      Deno.exit(code);
    };
    try {
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    } catch { /* no such signal on this platform */ }
  }
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}
