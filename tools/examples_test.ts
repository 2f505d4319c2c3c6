/**
 * Every example and test can fail: no `console.assert` (under `deno test --doc` it only prints)
 * in any TypeScript file, examples included, and no test skipped other than through `ignore:`
 * with a reason (testing/runtimes.ts).
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

async function* typescriptFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* typescriptFiles(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

/** Lines of `text` that call console.assert, as "file:line". */
function consoleAsserts(file: string, text: string): string[] {
  const call = ["console", "assert("].join(".");
  return text.split("\n").flatMap((line, i) => (line.includes(call) ? [`${file}:${i + 1}`] : []));
}

Deno.test("no TypeScript file or doc example uses console.assert, which cannot fail", async () => {
  const found: string[] = [];
  for await (const path of typescriptFiles(ROOT)) {
    found.push(...consoleAsserts(relative(ROOT, path), await Deno.readTextFile(path)));
  }
  assert.deepEqual(found, [], 'use `import assert from "node:assert/strict"` instead');
});

Deno.test("consoleAsserts() finds a console.assert in a doc example", () => {
  const example = [
    "/**",
    " * ```ts",
    ` * ${["console", "assert"].join(".")}(1 === 2);`,
    " * ```",
    " */",
  ];
  assert.deepEqual(consoleAsserts("x.ts", example.join("\n")), ["x.ts:3"]);
});

Deno.test("no test is always ignored or skips by returning early", async () => {
  const found: string[] = [];
  for await (const path of typescriptFiles(ROOT)) {
    if (!path.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(path);
    text.split("\n").forEach((line, i) => {
      if (/ignore:\s*true\b|Deno\.test\.ignore|\bif \(skip\(/.test(line)) {
        found.push(`${relative(ROOT, path)}:${i + 1}`);
      }
    });
  }
  assert.deepEqual(found, [], "skip only through needs() from testing/runtimes.ts");
});
