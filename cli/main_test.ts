import assert from "node:assert/strict";
import { CONVERT_OPTIONS, CONVERT_USAGE } from "./convert.ts";
import { DECODE_OPTIONS, DECODE_USAGE } from "./decode.ts";
import { DEMO_OPTIONS, DEMO_USAGE } from "./demo.ts";
import { EVAL_OPTIONS, EVAL_USAGE } from "./eval.ts";
import { GENERATE_OPTIONS, GENERATE_USAGE } from "./generate.ts";
import { INSPECT_OPTIONS, INSPECT_USAGE } from "./inspect.ts";
import { memoryIo } from "./io/io.ts";
import { main, MAIN_USAGE } from "./main.ts";
import { PLAN_OPTIONS, PLAN_USAGE } from "./plan.ts";
import { VERSION } from "./generation/version.ts";

Deno.test("main() prints help and the version", async () => {
  const help = memoryIo();
  assert.equal(await main(["--help"], help), 0);
  assert.equal(help.stdoutText(), MAIN_USAGE);
  const version = memoryIo();
  assert.equal(await main(["--version"], version), 0);
  assert.equal(version.stdoutText(), `zipar ${VERSION}\n`);
  for (
    const [name, usage] of [["plan", PLAN_USAGE], ["generate", GENERATE_USAGE], [
      "inspect",
      INSPECT_USAGE,
    ]]
  ) {
    const io = memoryIo();
    assert.equal(await main([name, "--help"], io), 0);
    assert.equal(io.stdoutText(), usage);
    const viaHelp = memoryIo();
    assert.equal(await main(["help", name], viaHelp), 0);
    assert.equal(viaHelp.stdoutText(), usage);
  }
  const bare = memoryIo();
  assert.equal(await main([], bare), 2);
  assert.equal(bare.stderrText(), MAIN_USAGE);
});

Deno.test("main() prints usage errors in one line and exits 2", async () => {
  const cases: [string[], string][] = [
    [["frob"], "zipar: unknown command 'frob'. Run 'zipar --help' for the commands.\n"],
    [["--frob"], "zipar: unknown option --frob. Run 'zipar --help' for the commands.\n"],
    [
      ["plan", "--grid", "4x4", "--window", "9"],
      "zipar: --window must be an integer in 1..4, got '9'. Run 'zipar plan --help' for usage.\n",
    ],
    [
      ["generate", "--nope"],
      "zipar: unknown option --nope. Run 'zipar generate --help' for usage.\n",
    ],
    [["help", "frob"], "zipar: unknown command 'frob'. Run 'zipar --help' for the commands.\n"],
  ];
  for (const [args, message] of cases) {
    const io = memoryIo();
    assert.equal(await main(args, io), 2, args.join(" "));
    assert.equal(io.stderrText(), message);
    assert.equal(io.stdoutText(), "");
  }
});

Deno.test("main() prints runtime errors in one line, exits 1, and shows stacks with ZIPAR_DEBUG=1", async () => {
  const io = memoryIo();
  assert.equal(await main(["inspect", "/no/such/grid.json"], io), 1);
  assert.equal(io.stderrText(), "zipar: /no/such/grid.json: no such file\n");
  const demo = memoryIo();
  assert.equal(await main(["demo", "--model", "/no/such/model"], demo), 1);
  assert.match(
    demo.stderrText(),
    /^zipar: demo model missing: \/no\/such\/model\/model\.safetensors .*\n$/,
  );
  const debug = memoryIo({ env: { ZIPAR_DEBUG: "1" } });
  assert.equal(await main(["inspect", "/no/such/grid.json"], debug), 1);
  assert.match(debug.stderrText(), /^zipar: .*no such file\nGridFileError: .*\n {4}at /);
});

/** Every `--flag` a usage text mentions. */
function usageFlags(usage: string): Set<string> {
  return new Set([...usage.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
}

Deno.test("each command's --help lists exactly the options its parser accepts", () => {
  for (
    const [usage, options] of [
      [PLAN_USAGE, PLAN_OPTIONS],
      [GENERATE_USAGE, GENERATE_OPTIONS],
      [INSPECT_USAGE, INSPECT_OPTIONS],
      [DECODE_USAGE, DECODE_OPTIONS],
      [CONVERT_USAGE, CONVERT_OPTIONS],
      [DEMO_USAGE, DEMO_OPTIONS],
      [EVAL_USAGE, EVAL_OPTIONS],
    ] as const
  ) {
    const documented = usageFlags(usage.split("\nExample")[0].split("\nImage i")[0]);
    assert.deepEqual([...documented].sort(), Object.keys(options).sort());
    for (const [name, spec] of Object.entries(options)) {
      if (spec.short) {
        assert.ok(usage.includes(`-${spec.short}, --${name}`), `-${spec.short} of --${name}`);
      }
    }
  }
});
