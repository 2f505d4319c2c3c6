/**
 * `deno task setup`: make this checkout ready to run the demo and the tests, idempotently.
 *
 * 1. Debian packages (`.ci/packages.txt`: Mesa's software Vulkan adapter for WebGPU, Slurm for
 *    the scheduler test): installed with apt-get when missing and we are root on Debian/Ubuntu;
 *    otherwise the exact command is printed and setup continues with what is there.
 * 2. The Python backend's virtual environment `.venv/`, made from the one pinned requirements
 *    file (`backends/python/requirements.txt`) with the first `python3` ≥ 3.10 found. A stamp
 *    (`.venv/zipar-setup.json`: the requirements' SHA-256) makes a second run a no-op; changed
 *    requirements reinstall into the same venv, a broken venv is made again.
 *
 * Both `deno task demo` and `deno task test` run it first; when everything is in place it takes
 * well under a second and prints nothing.
 *
 * ```sh
 * deno task setup            # what the demo and the tests run first
 * deno task setup --no-apt   # only the venv (what the setup test runs)
 * ```
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";

/** Options of {@linkcode setup}. */
export interface SetupOptions {
  /** Repository root. */
  root: string;
  /** Install missing Debian packages when root on Debian/Ubuntu. @default true */
  apt?: boolean;
  /** Progress and notes, one line each. @default writes "zipar setup: …" to stderr */
  log?: (line: string) => void;
  /** The pinned requirements the venv is made from. @default backends/python/requirements.txt */
  requirements?: string;
  /** Modules the venv's python must import once installed. @default torch, numpy, transformers */
  imports?: readonly string[];
}

/** What {@linkcode setup} found and did. */
export interface SetupReport {
  /** Debian packages still missing (empty when all are there or the system is not Debian). */
  missingPackages: string[];
  /** The venv's python, or null when it could not be made. */
  python: string | null;
  /** What was installed this run: `apt`, `venv`, `requirements`. */
  installed: string[];
}

const STAMP = "zipar-setup.json";

function defaultLog(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`zipar setup: ${line}\n`));
}

async function run(
  cmd: string,
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    log?: (line: string) => void;
    filter?: RegExp;
  } = {},
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const child = new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const forward = async (stream: ReadableStream<Uint8Array>) => {
      let buffered = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        for (const line of parts) {
          lines.push(line);
          if (options.log && options.filter?.test(line)) options.log(`  ${line.trim()}`);
        }
      }
      if (buffered) lines.push(buffered);
      return lines.join("\n");
    };
    const [stdout, stderr, status] = await Promise.all([
      forward(child.stdout),
      forward(child.stderr),
      child.status,
    ]);
    return { ok: status.success, stdout, stderr };
  } catch (e) {
    return { ok: false, stdout: "", stderr: (e as Error).message };
  }
}

/** The package names of `.ci/packages.txt` (one a line, `#` comments). */
export function readPackageList(text: string): string[] {
  return text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
}

/** Missing Debian packages, or null when this is not a Debian-like system. */
async function missingPackages(packages: string[]): Promise<string[] | null> {
  if (!existsSync("/etc/debian_version")) return null;
  const out = await run("dpkg-query", ["-W", "-f=${Package} ${Status}\\n", ...packages]);
  const installed = new Set(
    out.stdout.split("\n").filter((l) => l.endsWith(" install ok installed")).map((l) =>
      l.split(" ")[0]
    ),
  );
  return packages.filter((p) => !installed.has(p));
}

async function ensurePackages(
  root: string,
  apt: boolean,
  log: (line: string) => void,
  installed: string[],
): Promise<string[]> {
  const listFile = join(root, ".ci", "packages.txt");
  if (!existsSync(listFile)) return [];
  const packages = readPackageList(await Deno.readTextFile(listFile));
  const missing = await missingPackages(packages);
  if (missing === null || missing.length === 0) return [];
  const command = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const isRoot = Deno.uid?.() === 0;
  if (!apt || !isRoot) {
    log(`missing Debian packages ${missing.join(", ")}; install them with: sudo ${command}`);
    log("continuing without them (the backends they serve will say what is missing)");
    return missing;
  }
  log(`installing Debian packages ${missing.join(", ")} (apt-get update, then install) …`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const update = await run("apt-get", ["update"], { env, log, filter: /^(Err|E:)/ });
  const install = update.ok
    ? await run("apt-get", ["install", "-y", "--no-install-recommends", ...missing], {
      env,
      log,
      filter: new RegExp(`^(E:|Setting up (${missing.join("|")})[: ])`),
    })
    : update;
  if (!install.ok) {
    const why = install.stderr.trim().split("\n").at(-1) ?? "";
    log(`apt-get failed (${why}); install them yourself: ${command}`);
    return missing;
  }
  installed.push("apt");
  return [];
}

async function sha256(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The first python3 ≥ 3.10 on this machine, with its version, or null. */
async function findBasePython(): Promise<{ python: string; version: string } | null> {
  const chosen = Deno.env.get("ZIPAR_SETUP_PYTHON");
  const candidates = chosen ? [chosen] : ["python3", "/usr/bin/python3"];
  for (const python of candidates) {
    const out = await run(python, [
      "-c",
      "import sys, venv; print('%d.%d.%d' % sys.version_info[:3]); sys.exit(sys.version_info < (3, 10))",
    ]);
    if (out.ok) return { python, version: out.stdout.trim() };
  }
  return null;
}

/** The modules {@linkcode SetupOptions.imports} defaults to. */
export const VENV_IMPORTS: readonly string[] = ["torch", "numpy", "transformers"];

async function ensureVenv(
  root: string,
  requirements: string,
  imports: readonly string[],
  log: (line: string) => void,
  installed: string[],
): Promise<string | null> {
  const venv = join(root, ".venv");
  const python = join(venv, "bin", "python");
  const stampPath = join(venv, STAMP);
  const want = await sha256(requirements);
  if (existsSync(python) && existsSync(stampPath)) {
    try {
      const stamp = JSON.parse(await Deno.readTextFile(stampPath));
      if (stamp.requirementsSha256 === want && (await run(python, ["-c", "pass"])).ok) {
        return python;
      }
    } catch { /* a bad stamp: reinstall below */ }
  }
  const rel = relative(root, requirements);
  if (!existsSync(python) || !(await run(python, ["-c", "pass"])).ok) {
    const base = await findBasePython();
    if (!base) {
      log(
        "no python3 ≥ 3.10 with the venv module: install Python 3.10+ (Debian: apt-get " +
          "install python3 python3-venv) and run deno task setup again; the Python backend is " +
          "unavailable until then",
      );
      return null;
    }
    log(`creating .venv with ${base.python} (Python ${base.version}) …`);
    await Deno.remove(venv, { recursive: true }).catch(() => {});
    const made = await run(base.python, ["-m", "venv", venv]);
    if (!made.ok) {
      log(`python3 -m venv failed: ${made.stderr.trim().split("\n").at(-1)}`);
      return null;
    }
    installed.push("venv");
  }
  log(`installing ${rel} into .venv (a minute or more the first time) …`);
  const pip = await run(
    python,
    [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--progress-bar",
      "off",
      "-r",
      requirements,
    ],
    { log, filter: /^(Collecting|Successfully installed|ERROR)/ },
  );
  if (!pip.ok) {
    const why = pip.stderr.trim().split("\n").filter((l) => l.startsWith("ERROR")).at(-1) ??
      pip.stderr.trim().split("\n").at(-1);
    log(`pip install -r ${rel} failed: ${why}`);
    return null;
  }
  const check = await run(python, ["-c", `import ${imports.join(", ")}`]);
  if (!check.ok) {
    log(`.venv cannot import ${imports.join(", ")}: ${check.stderr.trim().split("\n").at(-1)}`);
    return null;
  }
  await Deno.writeTextFile(stampPath, JSON.stringify({ requirementsSha256: want }) + "\n");
  installed.push("requirements");
  log("the Python backend's environment is ready (.venv)");
  return python;
}

/**
 * Make the checkout ready: Debian packages (when allowed), then the venv. Never throws for a
 * missing piece: it logs what to install and reports it.
 */
export async function setup(options: SetupOptions): Promise<SetupReport> {
  const { root, apt = true, log = defaultLog, imports = VENV_IMPORTS } = options;
  const requirements = options.requirements ?? join(root, "backends", "python", "requirements.txt");
  const installed: string[] = [];
  const missing = await ensurePackages(root, apt, log, installed);
  const python = await ensureVenv(root, requirements, imports, log, installed);
  return { missingPackages: missing, python, installed };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "no-apt": { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(
      "Usage: deno task setup [--no-apt]\n\nMakes .venv from " +
        "backends/python/requirements.txt and installs .ci/packages.txt (root on Debian).",
    );
    Deno.exit(0);
  }
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  await setup({ root, apt: !values["no-apt"] });
}
