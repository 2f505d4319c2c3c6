/**
 * The setup step on a checkout without a venv: in an empty HOME and a copy of the repository
 * (the files git tracks or would, so no .venv), `tools/setup.ts --no-apt` makes .venv from the pinned
 * requirements, its python imports torch and transformers, and a second run is a quiet no-op
 * that takes under a second. Needs a python3 ≥ 3.10 and the package index (CI has both).
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { needs } from "../backends/test_runtimes.ts";
import { readPackageList } from "./setup.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function copyTrackedFiles(to: string): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
  }).output();
  assert(out.success, "git ls-files failed");
  const files = new TextDecoder().decode(out.stdout).split("\0").filter(Boolean);
  for (const file of files) {
    await Deno.mkdir(join(to, dirname(file)), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(to, file)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted but not yet committed
    });
  }
}

async function runSetup(repo: string, home: string) {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(repo, "tools", "setup.ts"), "--no-apt"],
    cwd: repo,
    env: { HOME: home, XDG_CACHE_HOME: join(home, ".cache") },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: out.success,
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - t0,
  };
}

Deno.test("readPackageList() reads one package a line and drops comments", () => {
  assert.deepEqual(readPackageList("# c\nmesa-vulkan-drivers\n\n  munge # auth\n"), [
    "mesa-vulkan-drivers",
    "munge",
  ]);
});

Deno.test({
  name: "setup restores a removed venv in an empty HOME, and a second run is a no-op",
  // The python it needs is the base python3 that makes the venv; "python" stands for it here.
  ...needs("the setup step (making .venv)", ["python"]),
  sanitizeResources: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "zipar-setup-" });
    try {
      const repo = join(tmp, "repo"), home = join(tmp, "home");
      await Deno.mkdir(home);
      await copyTrackedFiles(repo);
      assert(!(await Deno.stat(join(repo, ".venv")).catch(() => null)), "the copy has no venv");

      const first = await runSetup(repo, home);
      assert(first.ok, first.stderr);
      assert.match(first.stderr, /creating \.venv with/);
      assert.match(first.stderr, /the Python backend's environment is ready/);
      const python = join(repo, ".venv", "bin", "python");
      const check = await new Deno.Command(python, {
        args: ["-c", "import torch, transformers, numpy; print(torch.__version__)"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(check.success, new TextDecoder().decode(check.stderr));
      assert.match(new TextDecoder().decode(check.stdout), /^2\.13\.0/);
      const stamp = JSON.parse(await Deno.readTextFile(join(repo, ".venv", "zipar-setup.json")));
      assert.match(stamp.requirementsSha256, /^[0-9a-f]{64}$/);

      const second = await runSetup(repo, home);
      assert(second.ok, second.stderr);
      assert.equal(second.stderr, "", "a second run prints nothing");
      assert(second.ms < 1000, `a second run took ${second.ms.toFixed(0)} ms`);

      // Changed requirements reinstall into the same venv (no new venv).
      const req = join(repo, "backends", "python", "requirements.txt");
      await Deno.writeTextFile(req, (await Deno.readTextFile(req)) + "# changed\n");
      const third = await runSetup(repo, home);
      assert(third.ok, third.stderr);
      assert.doesNotMatch(third.stderr, /creating \.venv/);
      assert.match(third.stderr, /installing backends\/python\/requirements\.txt/);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
