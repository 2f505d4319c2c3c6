/**
 * The client of testing/python_runner.py: run a test-scaffolding module of testing/python/
 * (`peers.emu3`, `references.prompt`, `tiny_models.janus`) as `python -m MODULE ARGS…`
 * would, without paying Python's and torch's start for each job. One runner per test file,
 * started on first use; each job still runs in a fresh forked process.
 *
 * ```ts ignore
 * import { runModule } from "../../testing/python_runner.ts";
 * const json = await runModule(PYTHON!, "peers.emu3", [dir, "--prompt", "a fox"]);
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The worker's directory: the scaffolding imports the worker's modules from it. */
export const WORKER_DIR: string = fileURLToPath(
  new URL("../backends/python/worker/", import.meta.url),
);

/** The test scaffolding's Python (testing/python/): imported after the worker's modules. */
export const CHECKS_DIR: string = fileURLToPath(new URL("./python/", import.meta.url));

const RUNNER: string = fileURLToPath(new URL("./python_runner.py", import.meta.url));

/** Options of a {@linkcode PythonRunner}. */
export interface PythonRunnerOptions {
  /** The python that runs it (with torch). */
  python: string;
  /** Folders to import modules from. @default [WORKER_DIR, CHECKS_DIR] */
  path?: readonly string[];
}

/** What one job gave: its exit code, stdout and stderr. */
export interface JobResult {
  /** The exit code, as `python -m MODULE` would end with. */
  code: number;
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/**
 * One python_runner.py process: jobs one at a time, in order, each in a forked child. Not kept
 * alive by itself: a test file that is done ends even while its runner waits for work.
 */
export class PythonRunner {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<string>;
  readonly python: string;
  #buffered = "";
  #queue: Promise<unknown>;
  #busy = 0;

  constructor(options: PythonRunnerOptions) {
    this.python = options.python;
    this.#child = new Deno.Command(options.python, {
      args: [RUNNER],
      env: {
        PYTHONDONTWRITEBYTECODE: "1",
        PYTHONPATH: (options.path ?? [WORKER_DIR, CHECKS_DIR]).join(":"),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#queue = this.#line().then((line) => {
      if (!JSON.parse(line).ready) throw new Error(`python_runner.py did not start: ${line}`);
    });
  }

  async #line(): Promise<string> {
    while (!this.#buffered.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`python_runner.py (${this.python}) exited`);
      this.#buffered += value;
    }
    const at = this.#buffered.indexOf("\n");
    const line = this.#buffered.slice(0, at);
    this.#buffered = this.#buffered.slice(at + 1);
    return line;
  }

  /** Run `module.main(args)` in a fresh child of the runner. */
  run(module: string, args: readonly string[]): Promise<JobResult> {
    const job = this.#queue.then(async () => {
      // Keep the process from holding a finished test file open, except while it works.
      if (this.#busy++ === 0) this.#child.ref();
      try {
        const request = JSON.stringify({ module, args }) + "\n";
        await this.#writer.write(new TextEncoder().encode(request));
        return JSON.parse(await this.#line()) as JobResult;
      } finally {
        if (--this.#busy === 0) this.#child.unref();
      }
    });
    this.#queue = job.catch(() => {});
    return job;
  }

  /** End the runner now (a job in progress fails). */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone already */ }
  }
}

const runners = new Map<string, PythonRunner>();
let unloadHooked = false;

function runnerFor(python: string): PythonRunner {
  let runner = runners.get(python);
  if (!runner) {
    runner = new PythonRunner({ python });
    runners.set(python, runner);
    if (!unloadHooked) {
      unloadHooked = true;
      globalThis.addEventListener("unload", () => runners.forEach((r) => r.kill()));
    }
  }
  return runner;
}

/**
 * Run `python -m module args…` (worker/ and testing/python/ on PYTHONPATH) through this file's
 * runner and return its stdout; throws `module failed: <last stderr line>` when it exits with a
 * code other than 0.
 */
export async function runModule(
  python: string,
  module: string,
  args: readonly string[],
): Promise<string> {
  const answer = await runnerFor(python).run(module, args);
  if (answer.code !== 0) {
    const last = answer.stderr.trim().split("\n").at(-1)?.trim() || `exit code ${answer.code}`;
    throw new Error(`${module} failed: ${last}`);
  }
  return answer.stdout;
}
