/**
 * `deno task test`: set up (tools/setup.ts), then run every test and doc example, and end with a
 * loud list of the suites that were skipped for a missing runtime. Under CI (`CI` set, or
 * `ZIPAR_REQUIRE_ALL=1`) nothing may skip: a missing runtime fails its test file instead.
 *
 * Extra arguments go to `deno test` (`deno task test core/` runs only core/'s tests).
 *
 * @module
 */

import { setup } from "./setup.ts";

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

/** The "!!! SKIPPING what: why !!!" lines of a test run's output, de-duplicated. */
export function skippedSuites(output: string): string[] {
  const found = new Set<string>();
  for (const m of output.matchAll(/!!! SKIPPING (.+?) !!!/g)) found.add(m[1]);
  return [...found];
}

if (import.meta.main) {
  const ci = Deno.env.get("ZIPAR_REQUIRE_ALL") === "1" || !!Deno.env.get("CI");
  const env: Record<string, string> = { NO_COLOR: Deno.env.get("NO_COLOR") ?? (ci ? "1" : "") };
  if (ci) env.ZIPAR_REQUIRE_ALL = "1";
  if (!env.NO_COLOR) delete env.NO_COLOR;
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    // The Vulkan loader (WebGPU on lavapipe) warns on every start without a runtime dir.
    const dir = await Deno.makeTempDir({ prefix: "zipar-xdg-" });
    await Deno.chmod(dir, 0o700);
    env.XDG_RUNTIME_DIR = dir;
  }
  await setup({ root: ROOT });
  const child = new Deno.Command(Deno.execPath(), {
    args: [...TEST_ARGS, ...Deno.args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let seen = "";
  const relay = async (
    from: ReadableStream<Uint8Array>,
    to: { write(p: Uint8Array): Promise<number> },
  ) => {
    for await (const chunk of from) {
      seen += new TextDecoder().decode(chunk, { stream: true });
      let off = 0;
      while (off < chunk.length) off += await to.write(chunk.subarray(off));
    }
  };
  const [status] = await Promise.all([
    child.status,
    relay(child.stdout, Deno.stdout),
    relay(child.stderr, Deno.stderr),
  ]);
  const skipped = skippedSuites(seen);
  if (skipped.length > 0) {
    const lines = skipped.map((s) => `!!!   ${s}`).join("\n");
    console.error(`\n!!! ${skipped.length} suite(s) SKIPPED for a missing runtime:\n${lines}`);
    console.error("!!! run `deno task setup` (as root on Debian it installs everything)\n");
  }
  Deno.exit(status.code);
}
