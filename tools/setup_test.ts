/**
 * The setup step. Its logic (make the venv, install, stamp, a no-op second run, reinstall on
 * changed requirements, repair a broken venv) is tested on a stub requirements file that names
 * one tiny package from a wheel made here, installed offline (`--no-index`): seconds, not the
 * minutes of a real torch install. The real install is what `deno task test` itself runs first
 * (tools/test.ts calls setup before any test), and the last test checks what it made.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { needs } from "../testing/runtimes.ts";
import { readPackageList, setup, type SetupReport } from "./setup.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PROBE = "zipar_setup_probe";

/**
 * A wheel of one pure-Python package `zipar_setup_probe` 1.0 in `dir` (written by the base
 * python3's zipfile, with its RECORD), and a requirements file that installs it offline.
 */
async function stubRequirements(dir: string): Promise<string> {
  const wheels = join(dir, "wheels");
  await Deno.mkdir(wheels, { recursive: true });
  const script = `
import base64, hashlib, sys, zipfile
name, out = "${PROBE}", sys.argv[1]
info = f"{name}-1.0.dist-info"
files = {
    f"{name}/__init__.py": b"VERSION = '1.0'\\n",
    f"{info}/METADATA": b"Metadata-Version: 2.1\\nName: zipar-setup-probe\\nVersion: 1.0\\n",
    f"{info}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: zipar-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
record = "".join(f"{p},{digest(d)},{len(d)}\\n" for p, d in files.items()) + f"{info}/RECORD,,\\n"
with zipfile.ZipFile(f"{out}/{name}-1.0-py3-none-any.whl", "w") as z:
    for p, d in files.items():
        z.writestr(p, d)
    z.writestr(f"{info}/RECORD", record)
`;
  const made = await new Deno.Command("python3", {
    args: ["-c", script, wheels],
    stderr: "piped",
  }).output();
  assert(made.success, new TextDecoder().decode(made.stderr));
  const requirements = join(dir, "requirements.txt");
  await Deno.writeTextFile(
    requirements,
    `--no-index\n--find-links ${wheels}\nzipar-setup-probe==1.0\n`,
  );
  return requirements;
}

/** Run setup on the checkout `root` with the stub requirements; its log lines and report. */
async function stubSetup(
  root: string,
  requirements: string,
): Promise<{ report: SetupReport; lines: string[] }> {
  const lines: string[] = [];
  const report = await setup({
    root,
    apt: false,
    requirements,
    imports: [PROBE],
    log: (line) => lines.push(line),
  });
  return { report, lines };
}

/** A checkout folder `repo`, the stub requirements and where its venv's python will be. */
interface Sandbox {
  tmp: string;
  root: string;
  requirements: string;
  python: string;
}

/** Run `fn` in a fresh sandbox (removed after). */
async function withSandbox(fn: (box: Sandbox) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "zipar-setup-" });
  try {
    const root = join(tmp, "repo");
    await Deno.mkdir(root);
    const requirements = await stubRequirements(tmp);
    await fn({ tmp, root, requirements, python: join(root, ".venv", "bin", "python") });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function probeVersion(python: string): Promise<string> {
  const out = await new Deno.Command(python, {
    args: ["-c", `import ${PROBE}; print(${PROBE}.VERSION)`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("readPackageList() reads one package a line and drops comments", () => {
  assert.deepEqual(readPackageList("# c\nmesa-vulkan-drivers\n\n  munge # auth\n"), [
    "mesa-vulkan-drivers",
    "munge",
  ]);
});

Deno.test({
  name: "setup makes a missing venv, a second run is a no-op, changed requirements reinstall",
  // The python it needs is the base python3 that makes the venv; "python" stands for it here.
  ...needs("the setup step (making .venv)", ["python"]),
  fn: () =>
    withSandbox(async ({ root, requirements, python }) => {
      const first = await stubSetup(root, requirements);
      assert.equal(first.report.python, python, first.lines.join("\n"));
      assert.deepEqual(first.report.installed, ["venv", "requirements"]);
      assert.match(first.lines.join("\n"), /creating \.venv with/);
      assert.match(first.lines.join("\n"), /the Python backend's environment is ready/);
      assert.equal(await probeVersion(python), "1.0");
      const stampPath = join(root, ".venv", "zipar-setup.json");
      const stamp = JSON.parse(await Deno.readTextFile(stampPath));
      assert.match(stamp.requirementsSha256, /^[0-9a-f]{64}$/);

      // A second run finds everything in place: it installs nothing and prints nothing.
      const stampTime = (await Deno.stat(stampPath)).mtime?.getTime();
      const second = await stubSetup(root, requirements);
      assert.equal(second.report.python, python);
      assert.deepEqual(second.report.installed, [], "a second run installs nothing");
      assert.deepEqual(second.lines, [], "a second run prints nothing");
      assert.equal((await Deno.stat(stampPath)).mtime?.getTime(), stampTime, "stamp rewritten");

      // Changed requirements reinstall into the same venv (no new venv).
      await Deno.writeTextFile(requirements, (await Deno.readTextFile(requirements)) + "# c\n");
      const third = await stubSetup(root, requirements);
      assert.deepEqual(third.report.installed, ["requirements"]);
      assert.doesNotMatch(third.lines.join("\n"), /creating \.venv/);
      assert.match(third.lines.join("\n"), /installing .*requirements\.txt into \.venv/);
      const restamped = JSON.parse(await Deno.readTextFile(stampPath)).requirementsSha256;
      assert.notEqual(restamped, stamp.requirementsSha256, "the stamp follows the requirements");
    }),
});

Deno.test({
  name: "setup makes a broken venv again, and a bad stamp reinstalls",
  ...needs("the setup step (making .venv)", ["python"]),
  fn: () =>
    withSandbox(async ({ tmp, root, requirements, python }) => {
      assert.equal((await stubSetup(root, requirements)).report.python, python);

      // A venv whose python no longer runs (its interpreter link points nowhere).
      await Deno.remove(python);
      await Deno.symlink(join(tmp, "gone", "python3"), python);
      const repaired = await stubSetup(root, requirements);
      assert.deepEqual(repaired.report.installed, ["venv", "requirements"]);
      assert.match(repaired.lines.join("\n"), /creating \.venv with/);
      assert.equal(await probeVersion(python), "1.0");

      // A stamp that is not JSON: reinstall into the same venv.
      await Deno.writeTextFile(join(root, ".venv", "zipar-setup.json"), "{oops");
      const restamped = await stubSetup(root, requirements);
      assert.deepEqual(restamped.report.installed, ["requirements"]);
      assert.equal(await probeVersion(python), "1.0");
    }),
});

Deno.test({
  name: "the project venv that `deno task test` set up holds the pinned torch and transformers",
  ...needs("the project venv", ["python"]),
  fn: async () => {
    const python = join(ROOT, ".venv", "bin", "python");
    const requirements = await Deno.readTextFile(
      join(ROOT, "backends", "python", "requirements.txt"),
    );
    const pin = (name: string) => requirements.match(new RegExp(`^${name}==(\\S+)`, "m"))?.[1];
    assert.ok(pin("torch") && pin("transformers"), "requirements.txt pins torch and transformers");
    const out = await new Deno.Command(python, {
      args: [
        "-c",
        "import torch, transformers, numpy; print(torch.__version__, transformers.__version__)",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const [torch, transformers] = new TextDecoder().decode(out.stdout).trim().split(" ");
    assert.equal(torch.replace(/\+.*$/, ""), pin("torch"));
    assert.equal(transformers, pin("transformers"));
    // Its stamp names today's requirements: a second setup would be a no-op.
    const stamp = JSON.parse(await Deno.readTextFile(join(ROOT, ".venv", "zipar-setup.json")));
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(requirements)),
    );
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(stamp.requirementsSha256, hex);
  },
});
