/**
 * The CLI's view of the process: stdout, stderr, stdin, environment. Commands take an
 * {@linkcode Io} so tests can run them in memory; {@linkcode denoIo} is the real one.
 *
 * @module
 */

/** Thrown when stdout's reader went away (`zipar generate … | head -c 10`). */
export class StdoutClosedError extends Error {
  constructor() {
    super("stdout was closed by its reader");
    this.name = "StdoutClosedError";
  }
}

/** What a command may touch besides files. */
export interface Io {
  /** Write data bytes to stdout; throws {@linkcode StdoutClosedError} on a broken pipe. */
  writeStdout(data: Uint8Array): Promise<void>;
  /** Write text to stderr (logs, progress, errors). */
  writeStderr(text: string): void;
  /** Stdin as a byte stream. */
  stdin(): ReadableStream<Uint8Array>;
  /** Whether stdout / stderr is a terminal. */
  stdoutIsTerminal: boolean;
  /** Whether stderr is a terminal. */
  stderrIsTerminal: boolean;
  /** Terminal columns for progress lines (80 when unknown). */
  columns: number;
  /** An environment variable, or undefined. */
  env(name: string): string | undefined;
}

const encoder = new TextEncoder();

/**
 * The real process I/O.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoIo } from "./io.ts";
 * const io = denoIo();
 * assert(typeof io.stdoutIsTerminal === "boolean");
 * ```
 */
export function denoIo(): Io {
  return {
    async writeStdout(data: Uint8Array): Promise<void> {
      try {
        let off = 0;
        while (off < data.length) off += await Deno.stdout.write(data.subarray(off));
      } catch (e) {
        if (e instanceof Deno.errors.BrokenPipe) throw new StdoutClosedError();
        throw e;
      }
    },
    writeStderr(text: string): void {
      try {
        const bytes = encoder.encode(text);
        let off = 0;
        while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
      } catch {
        // stderr gone: nothing useful left to do with the message.
      }
    },
    stdin: () => Deno.stdin.readable,
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    columns: terminalColumns(),
    env: (name: string) => Deno.env.get(name),
  };
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/** An in-memory {@linkcode Io} for tests, with what was written. */
export interface MemoryIo extends Io {
  /** Bytes written to stdout. */
  stdoutBytes(): Uint8Array;
  /** Stdout decoded as UTF-8. */
  stdoutText(): string;
  /** Text written to stderr. */
  stderrText(): string;
}

/**
 * An in-memory {@linkcode Io}: stdin from `input`, stdout and stderr captured.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryIo } from "./io.ts";
 * const io = memoryIo({ env: { NO_COLOR: "1" } });
 * await io.writeStdout(new TextEncoder().encode("hi"));
 * assert(io.stdoutText() === "hi" && io.env("NO_COLOR") === "1");
 * ```
 */
export function memoryIo(
  options: { input?: Uint8Array; env?: Record<string, string>; tty?: boolean } = {},
): MemoryIo {
  const out: Uint8Array[] = [];
  let err = "";
  const env = options.env ?? {};
  return {
    writeStdout(data: Uint8Array): Promise<void> {
      out.push(data.slice());
      return Promise.resolve();
    },
    writeStderr(text: string): void {
      err += text;
    },
    stdin: () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          if (options.input) controller.enqueue(options.input);
          controller.close();
        },
      }),
    stdoutIsTerminal: options.tty ?? false,
    stderrIsTerminal: options.tty ?? false,
    columns: 80,
    env: (name: string) => env[name],
    stdoutBytes() {
      const total = out.reduce((n, b) => n + b.length, 0);
      const all = new Uint8Array(total);
      let off = 0;
      for (const b of out) {
        all.set(b, off);
        off += b.length;
      }
      return all;
    },
    stdoutText() {
      return new TextDecoder().decode(this.stdoutBytes());
    },
    stderrText: () => err,
  };
}
