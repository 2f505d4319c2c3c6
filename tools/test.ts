/**
 * `deno task test`: set up (tools/setup.ts), then run every test and doc example on every core,
 * and end with the slowest files and a loud list of the suites that were skipped for a missing
 * runtime. Under CI (`CI` set, or `ZIPAR_REQUIRE_ALL=1`) nothing may skip: a missing runtime
 * fails its test file instead.
 *
 * - The files run side by side (`deno test --parallel`, one file per core; `--jobs N` to choose),
 *   each with one torch and one lavapipe thread (`OMP_NUM_THREADS`, `LP_NUM_THREADS`).
 * - The runtimes (a python with torch, a WebGPU adapter, Slurm) are probed once here and handed
 *   to every file through `ZIPAR_TEST_RUNTIMES`, instead of once per file.
 * - Tiny test models are built once per run into one temporary folder (`ZIPAR_TEST_CACHE`,
 *   testing/model_cache.ts), shared by every file, removed at the end.
 * - The 15 slowest files (the sum of their tests' times) are printed after the summary, so the
 *   next slow file is seen.
 *
 * Other arguments go to `deno test` (`deno task test core/` runs only core/'s tests).
 *
 * @module
 */

import { setup } from "./setup.ts";
import { probeRuntimes, RUNTIMES_ENV } from "../testing/probe.ts";
import { CACHE_ENV } from "../testing/model_cache.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The `deno test` arguments of the suite (permissions as tight as the tests allow). */
export const TEST_ARGS = [
  "test",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-net=127.0.0.1",
  "--allow-sys",
  "--doc",
];

/** How many slow files the run reports at its end. */
export const SLOWEST = 15;

/** The "!!! SKIPPING what: why !!!" lines of a test run's output, de-duplicated. */
export function skippedSuites(output: string): string[] {
  const found = new Set<string>();
  for (const m of output.matchAll(/!!! SKIPPING (.+?) !!!/g)) found.add(m[1]);
  return [...found];
}

/** One file's share of a run: the sum of its tests' times. */
export interface FileTime {
  /** The file as `deno test` names it (`./core/tracker_test.ts`; doc examples of a file as `file#doc`). */
  file: string;
  /** Seconds, summed over its tests. */
  seconds: number;
}

/**
 * The `n` slowest files of a JUnit report written by `deno test --junit-path`, slowest first:
 * each file's test times summed (a file's doc examples count as one entry, `file#doc`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slowestFiles } from "./test.ts";
 * const xml = `<testcase name="a" classname="./x_test.ts" time="1.5"></testcase>
 * <testcase name="b" classname="./x_test.ts" time="2.000"></testcase>
 * <testcase name="c" classname="./y_test.ts" time="0.25"></testcase>`;
 * assert.deepEqual(slowestFiles(xml, 1), [{ file: "./x_test.ts", seconds: 3.5 }]);
 * ```
 */
export function slowestFiles(junit: string, n: number = SLOWEST): FileTime[] {
  const sums = new Map<string, number>();
  for (const m of junit.matchAll(/<testcase\b([^>]*)>/g)) {
    const attr = (name: string) => m[1].match(new RegExp(`\\b${name}="([^"]*)"`))?.[1];
    const file = attr("classname")?.replace(/#.*$/, "#doc");
    const seconds = Number(attr("time"));
    if (file === undefined || !Number.isFinite(seconds)) continue;
    sums.set(file, (sums.get(file) ?? 0) + seconds);
  }
  return [...sums].map(([file, seconds]) => ({ file, seconds }))
    .sort((a, b) => b.seconds - a.seconds || (a.file < b.file ? -1 : 1))
    .slice(0, n);
}

/** The lines that report {@linkcode slowestFiles}: a heading, then `  12.3 s  ./file`. */
export function renderSlowest(files: FileTime[]): string {
  const lines = files.map((f) => `${f.seconds.toFixed(1).padStart(7)} s  ${f.file}`);
  return [`the ${files.length} slowest test files (their tests' times summed):`, ...lines]
    .join("\n");
}

/**
 * Split this command's own flags (`--jobs N`, `--jobs=N`) from those it passes to `deno test`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitArgs } from "./test.ts";
 * assert.deepEqual(splitArgs(["--jobs", "1", "core/"], 2), { jobs: 1, rest: ["core/"] });
 * assert.deepEqual(splitArgs(["core/"], 2), { jobs: 2, rest: ["core/"] });
 * ```
 */
export function splitArgs(args: string[], cores: number): { jobs: number; rest: string[] } {
  let jobs = Math.max(1, cores);
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = args[i].match(/^--jobs(?:=(.*))?$/);
    if (!m) {
      rest.push(args[i]);
      continue;
    }
    const value = m[1] ?? args[++i];
    if (!/^[1-9][0-9]{0,2}$/.test(value ?? "")) {
      throw new RangeError(
        `--jobs takes a whole number of test files at once (1..999), not ${value}`,
      );
    }
    jobs = Number(value);
  }
  return { jobs, rest };
}

async function relayAll(
  child: Deno.ChildProcess,
): Promise<{ status: Deno.CommandStatus; output: string }> {
  let output = "";
  const relay = async (
    from: ReadableStream<Uint8Array>,
    to: { write(p: Uint8Array): Promise<number> },
  ) => {
    const decoder = new TextDecoder();
    for await (const chunk of from) {
      output += decoder.decode(chunk, { stream: true });
      let off = 0;
      while (off < chunk.length) off += await to.write(chunk.subarray(off));
    }
  };
  const [status] = await Promise.all([
    child.status,
    relay(child.stdout, Deno.stdout),
    relay(child.stderr, Deno.stderr),
  ]);
  return { status, output };
}

if (import.meta.main) {
  let split;
  try {
    split = splitArgs(Deno.args, navigator.hardwareConcurrency ?? 1);
  } catch (e) {
    console.error(`deno task test: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const ci = Deno.env.get("ZIPAR_REQUIRE_ALL") === "1" || !!Deno.env.get("CI");
  const scratch = await Deno.makeTempDir({ prefix: "zipar-test-run-" });
  const env: Record<string, string> = { NO_COLOR: Deno.env.get("NO_COLOR") ?? (ci ? "1" : "") };
  if (ci) env.ZIPAR_REQUIRE_ALL = "1";
  if (!env.NO_COLOR) delete env.NO_COLOR;
  let code = 1;
  try {
    if (!Deno.env.get("XDG_RUNTIME_DIR")) {
      // The Vulkan loader (WebGPU on lavapipe) warns on every start without a runtime dir.
      const dir = `${scratch}/xdg`;
      await Deno.mkdir(dir, { mode: 0o700 });
      env.XDG_RUNTIME_DIR = dir;
    }
    await setup({ root: ROOT });
    env.DENO_JOBS = String(split.jobs);
    if (split.jobs > 1) {
      // One file per core, one thread per file: torch's and lavapipe's (WebGPU on the CPU)
      // thread pools would otherwise each take every core and fight (measured: 20% more CPU
      // time for the same tests). Settings of the caller's own win.
      for (const name of ["OMP_NUM_THREADS", "LP_NUM_THREADS"]) {
        env[name] = Deno.env.get(name) ?? "1";
      }
    }
    env[CACHE_ENV] = `${scratch}/models`;
    await Deno.mkdir(env[CACHE_ENV]);
    // Probed once, in the environment the files will see (ZIPAR_PYTHON, XDG_RUNTIME_DIR).
    if (env.XDG_RUNTIME_DIR) Deno.env.set("XDG_RUNTIME_DIR", env.XDG_RUNTIME_DIR);
    env[RUNTIMES_ENV] = JSON.stringify(await probeRuntimes());
    const junit = `${scratch}/junit.xml`;
    const parallel = split.jobs > 1 ? ["--parallel"] : [];
    const child = new Deno.Command(Deno.execPath(), {
      args: [...TEST_ARGS, ...parallel, `--junit-path=${junit}`, ...split.rest],
      cwd: ROOT,
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const { status, output } = await relayAll(child);
    code = status.code;
    const report = await Deno.readTextFile(junit).catch(() => "");
    if (report) console.error(`\n${renderSlowest(slowestFiles(report))}`);
    const skipped = skippedSuites(output);
    if (skipped.length > 0) {
      const lines = skipped.map((s) => `!!!   ${s}`).join("\n");
      console.error(`\n!!! ${skipped.length} suite(s) SKIPPED for a missing runtime:\n${lines}`);
      console.error("!!! run `deno task setup` (as root on Debian it installs everything)\n");
    }
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
  Deno.exit(code);
}
