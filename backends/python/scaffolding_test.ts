/**
 * Test scaffolding stays out of the product (issue 27, item 3). The worker (worker/) holds no
 * tiny-model builder, peer loop, reference, check or probe, and none of its modules imports one:
 * every import of a worker module names a worker module or a third-party package, never a module
 * of testing/python/, and every relative import resolves inside worker/. The worker's dispatch
 * answers the product's requests only: the tests' oracles (`raster`, `sample`, `inspect`) are
 * refused by worker/main.py and answered by the worker in its test mode
 * (testing/python/oracle_worker.py, through testing/worker_oracles.ts).
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { startPythonBackend } from "./client.ts";
import {
  oneLine,
  openTiny,
  PYTHON,
  PYTHON_TESTS,
  pythonFiles,
  removeTinyModels,
  tinyModels,
} from "./test_helpers.ts";

const WORKER = fileURLToPath(new URL("./worker/", import.meta.url));
const TESTING = fileURLToPath(new URL("../../testing/python/", import.meta.url));

/** The top-level names a folder on PYTHONPATH provides: its modules and packages. */
async function topLevelNames(dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".py")) names.add(e.name.slice(0, -3));
    if (e.isDirectory && e.name !== "__pycache__") names.add(e.name);
  }
  return names;
}

/** One import statement: `module` as written (leading dots for relative ones) and its names. */
interface Import {
  module: string;
  names: string[];
  line: number;
}

/**
 * The import statements of a Python source (`import a.b as c, d`, `from .x import (y, z)`),
 * docstrings and comments left out.
 */
export function importsOf(source: string): Import[] {
  const code = source
    .replace(/("""|''')[\s\S]*?\1/g, (s) => s.replace(/[^\n]/g, " "))
    .replace(/#[^\n]*/g, "");
  const found: Import[] = [];
  const lineOf = (index: number) => code.slice(0, index).split("\n").length;
  const names = (list: string) =>
    list.replace(/[()\\\n]/g, " ").split(",").map((n) => n.trim().split(/\s+/)[0]).filter(Boolean);
  for (
    const m of code.matchAll(/^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)/gm)
  ) {
    found.push({ module: m[1], names: names(m[2]), line: lineOf(m.index!) });
  }
  for (const m of code.matchAll(/^[ \t]*import[ \t]+([^\n]*)/gm)) {
    for (const name of names(m[1])) found.push({ module: name, names: [], line: lineOf(m.index!) });
  }
  return found;
}

/** The names the scaffolding had in worker/ (a family's tiny.py, peer.py, reference.py, …). */
const OLD_NAMES = new Set(["tiny", "peer", "reference", "vqgan_reference", "hf_tiny", "raster"]);

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** Whether `dotted` (a.b.c, from folder `base`) is a module or package there. */
async function resolves(base: string, dotted: string): Promise<boolean> {
  const path = join(base, ...dotted.split("."));
  return await exists(`${path}.py`) || await exists(join(path, "__init__.py"));
}

Deno.test("importsOf() reads every form of import, and not the ones in docs or comments", () => {
  const source = `"""Usage: from peers import janus
import tiny_models
"""
import os, sys as system
from families.janus import (Janus,
    tiny)  # import peers
from . import official
from ..x.y import z as w
    import torch  # inside a function
`;
  assert.deepEqual(importsOf(source).map((i) => [i.module, i.names, i.line]), [
    ["families.janus", ["Janus", "tiny"], 5],
    [".", ["official"], 7],
    ["..x.y", ["z"], 8],
    ["os", [], 4],
    ["sys", [], 4],
    ["torch", [], 9],
  ]);
});

Deno.test("no module of the worker is test scaffolding or imports any", async () => {
  const files = await pythonFiles(WORKER);
  assert.ok(files.includes("server.py") && files.includes("families/janus/__init__.py"));
  const scaffolding = /(^|\/)(tiny|peer|hf_tiny|raster)\.py$|(reference|_check|_probe)\.py$/;
  assert.deepEqual(files.filter((f) => scaffolding.test(f)), [], "scaffolding in worker/");

  const testing = await topLevelNames(TESTING);
  assert.ok(testing.has("tiny_models") && testing.has("peers") && testing.has("oracle_worker"));
  const worker = await topLevelNames(WORKER);
  for (const name of worker) assert.ok(!testing.has(name), `testing/python shadows worker ${name}`);

  const problems: string[] = [];
  for (const file of files) {
    const source = await Deno.readTextFile(join(WORKER, file));
    for (const { module, names, line } of importsOf(source)) {
      const where = `worker/${file}:${line}`;
      if (module.startsWith(".")) { // relative: must resolve inside worker/
        const dots = module.match(/^\.+/)![0].length;
        let base = dirname(join(WORKER, file));
        for (let i = 1; i < dots; i++) base = dirname(base);
        const rest = module.slice(dots);
        const inside = !relative(WORKER, base).startsWith("..");
        if (!inside || (rest && !(await resolves(base, rest)))) {
          problems.push(`${where}: ${module} is not a worker module`);
        }
        // `from .x import name` / `from . import name`: a name, or a module beside it
        for (const name of names) {
          if (OLD_NAMES.has(name) || (testing.has(name) && !worker.has(name))) {
            problems.push(`${where}: imports ${name} from ${module}`);
          }
        }
        continue;
      }
      const top = module.split(".")[0];
      if (testing.has(top) && !worker.has(top)) {
        problems.push(`${where}: imports ${module} from testing/python/`);
      }
      if (worker.has(top) && !(await resolves(WORKER, module))) {
        problems.push(`${where}: ${module} is no worker module`);
      }
      const parts = [...module.split("."), ...(worker.has(top) ? names : [])];
      if (parts.slice(1).some((part) => OLD_NAMES.has(part))) {
        problems.push(`${where}: imports ${parts.join(".")}`);
      }
    }
    if (
      /sys\.path[^\n]*testing|["']testing[/"']/.test(source.replace(/("""|''')[\s\S]*?\1/g, ""))
    ) {
      problems.push(`worker/${file}: names testing/ in its code`);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test({
  name: "the product's worker refuses the test oracles; the worker in its test mode answers them",
  ...PYTHON_TESTS,
  fn: async () => {
    const model = join(await tinyModels(), "st");
    const quiet = { python: PYTHON!, onLog: () => {}, handleSigint: false };
    const { backend, process } = await startPythonBackend({ model, ...quiet });
    try {
      const sampling = { temperature: 0, topK: 0, topP: 1 };
      const requests = [
        { type: "raster", images: [{ condition: 1, seed: 1, index: 0 }], cfgScale: 1, sampling },
        { type: "sample", vocab: backend.info.vocab, sampling },
        { type: "inspect", model },
      ];
      for (const request of requests) {
        await assert.rejects(
          process.request(request, {}, { timeoutMs: 60_000 }),
          oneLine(new RegExp(`unknown request type ${request.type}$`)),
        );
      }
      // The product's requests still work after the refusals.
      const session = await backend.open([{ condition: 1, unconditional: false }]);
      await session.close();
    } finally {
      await backend.close();
    }
    const oracle = await openTiny();
    try {
      const { config } = await oracle.inspectCheckpoint(model);
      assert.deepEqual(config, oracle.worker.config);
      const grids = await oracle.rasterInWorker(
        [{ condition: 1, seed: 1, index: 0 }],
        1,
        { temperature: 0, topK: 0, topP: 1 },
      );
      assert.equal(grids.length, oracle.info.height * oracle.info.width);
    } finally {
      await oracle.close();
      await removeTinyModels();
    }
  },
});
