import assert from "node:assert/strict";
import {
  choiceFlag,
  intFlag,
  numberFlag,
  parseCommand,
  parseGrid,
  parseIntList,
  ValidationError,
} from "./args.ts";

const OPTIONS = { window: { type: "string" }, quiet: { type: "boolean" } } as const;

Deno.test("parseCommand() turns parseArgs errors into one-line ValidationErrors", () => {
  const cases: [string[], RegExp][] = [
    [["--foo"], /^unknown option --foo$/],
    [["--window"], /^option --window needs a value$/],
    [["--quiet=1"], /^option --quiet takes no value$/],
    [["extra"], /^unexpected argument 'extra'$/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseCommand(args, OPTIONS),
      (e) => e instanceof ValidationError && message.test(e.message),
    );
  }
  assert.throws(
    () => parseCommand(["--window", "-1"], OPTIONS),
    (e) => e instanceof ValidationError && e.hint!.includes("--window=-X"),
  );
});

Deno.test("parseCommand() allows up to maxPositionals positionals", () => {
  assert.deepEqual(parseCommand(["-"], OPTIONS, 1).positionals, ["-"]);
  assert.throws(() => parseCommand(["a", "b"], OPTIONS, 1), /unexpected argument 'b'/);
});

Deno.test("intFlag() accepts integers in range and rejects the rest", () => {
  assert.equal(intFlag({ n: "8" }, "n", 1, 24, 3), 8);
  assert.equal(intFlag({}, "n", 1, 24, 3), 3);
  assert.equal(intFlag({}, "n", 1, 24), undefined);
  for (const bad of ["0", "25", "1.5", "8x", "", "1e3"]) {
    assert.throws(() => intFlag({ n: bad }, "n", 1, 24, 3), ValidationError);
  }
});

Deno.test("numberFlag() and choiceFlag() validate values", () => {
  assert.equal(numberFlag({ cfg: "1.5" }, "cfg", (n) => n >= 0, "≥ 0", 1), 1.5);
  assert.throws(
    () => numberFlag({ cfg: "abc" }, "cfg", (n) => n >= 0, "≥ 0", 1),
    /--cfg must be a number ≥ 0/,
  );
  assert.throws(() => numberFlag({ cfg: "-1" }, "cfg", (n) => n >= 0, "≥ 0", 1), ValidationError);
  assert.equal(choiceFlag({ s: "paper" }, "s", ["ideal", "paper"], "ideal"), "paper");
  assert.throws(
    () => choiceFlag({ s: "x" }, "s", ["ideal", "paper"], "ideal"),
    /one of ideal, paper/,
  );
});

Deno.test("parseGrid() reads HxW and N", () => {
  assert.deepEqual(parseGrid("--grid", "24x16"), [24, 16]);
  assert.deepEqual(parseGrid("--grid", "8"), [8, 8]);
  for (const bad of ["0x4", "4x", "x4", "4096x4097", "a"]) {
    assert.throws(() => parseGrid("--grid", bad), ValidationError);
  }
});

Deno.test("parseIntList() reads comma-separated integers", () => {
  assert.deepEqual(parseIntList("--class", "3,207", 0, 999), [3, 207]);
  assert.throws(() => parseIntList("--class", "3,,4", 0, 999), ValidationError);
});
