/**
 * One definition of a valid LlamaGen model directory, proven on both sides: every case of
 * fixtures/model_dirs/cases.json is built as a directory here, then loaded by the TypeScript
 * reader (what WebGPU runs: backends/llamagen_config.ts + the safetensors reader) and by the
 * Python worker (`inspect`: the family registry, worker/checkpoint.py, config.py,
 * safetensors_io.py). Both must give the case's verdict, an error with the case's words.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { llamagenShapes, loadLlamagen } from "./llamagen_config.ts";
import { openOracleBackend } from "../testing/worker_oracles.ts";
import { needs, PYTHON } from "../testing/runtimes.ts";

const CASES = new URL("../fixtures/model_dirs/cases.json", import.meta.url);

/** An edit of the safetensors header (see the file's `about`). */
type HeaderEdit =
  | { op: "set"; tensor: string; field?: string; value: unknown }
  | { op: "alias"; tensor: string; as: string }
  | { op: "add"; tensor: string; dtype: string; shape: number[]; data_offsets?: number[] }
  | { op: "remove"; tensor: string }
  | { op: "metadata"; value: unknown }
  | { op: "deep"; depth: number }
  | { op: "text"; value: string }
  | { op: "headerLength"; value: number }
  | { op: "truncate"; bytes: number }
  | { op: "trail"; bytes: number }
  | { op: "nonfinite"; tensor: string; value: "nan" | "inf" };

interface Case {
  name: string;
  ok?: true;
  error?: string;
  config?: Record<string, unknown>;
  unset?: string[];
  textReplace?: [string, string];
  configText?: string;
  configDeep?: number;
  weights?: Record<string, unknown>;
  header?: HeaderEdit[];
}

interface Table {
  base: Record<string, unknown>;
  cases: Case[];
}

const table: Table = JSON.parse(await Deno.readTextFile(CASES));

/** The config.json text of a case. */
function configText(c: Case): string {
  if (c.configText !== undefined) return c.configText;
  const config: Record<string, unknown> = { ...table.base, ...c.config };
  for (const key of c.unset ?? []) delete config[key];
  let text = JSON.stringify(config);
  if (c.configDeep !== undefined) {
    const deep = "[".repeat(c.configDeep) + "]".repeat(c.configDeep);
    text = text.replace(/}$/, `,"deep":${deep}}`);
  }
  if (c.textReplace) {
    assert(text.includes(c.textReplace[0]), `${c.name}: ${c.textReplace[0]} not in the config`);
    text = text.replace(c.textReplace[0], c.textReplace[1]);
  }
  return text;
}

/** model.safetensors of a case: weights for `base` + `weights`, then the header edits. */
function weightsFile(c: Case): Uint8Array {
  const shapes = llamagenShapes({ ...table.base, ...c.weights } as never);
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let offset = 0, seed = 1;
  const append = (name: string, dtype: string, shape: number[]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from(
      { length: count },
      () => ((seed = (seed * 48271) % 2147483647) / 2147483647) - 0.5,
    );
    const bytes = new Uint8Array(data.buffer);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  };
  for (const [name, shape] of shapes) append(name, "F32", shape);
  let text: string | null = null;
  let length: number | null = null;
  let truncate = 0, trail = 0;
  for (const edit of c.header ?? []) {
    const entry = (name: string) => header[name] as Record<string, unknown>;
    switch (edit.op) {
      case "set":
        if (edit.field === undefined) header[edit.tensor] = edit.value;
        else entry(edit.tensor)[edit.field] = edit.value;
        break;
      case "alias":
        entry(edit.tensor).data_offsets = entry(edit.as).data_offsets;
        break;
      case "add":
        if (edit.data_offsets) {
          header[edit.tensor] = {
            dtype: edit.dtype,
            shape: edit.shape,
            data_offsets: edit.data_offsets,
          };
        } else append(edit.tensor, edit.dtype, edit.shape);
        break;
      case "remove":
        delete header[edit.tensor];
        break;
      case "metadata":
        header.__metadata__ = edit.value;
        break;
      case "deep":
        text = JSON.stringify(header).replace(
          /}$/,
          `,"deep":${"[".repeat(edit.depth)}${"]".repeat(edit.depth)}}`,
        );
        break;
      case "text":
        text = edit.value;
        break;
      case "headerLength":
        length = edit.value;
        break;
      case "truncate":
        truncate = edit.bytes;
        break;
      case "trail":
        trail = edit.bytes;
        break;
      case "nonfinite": {
        const [begin] = entry(edit.tensor).data_offsets as number[];
        const at = blobs.findIndex((_, i) =>
          blobs.slice(0, i).reduce((n, b) => n + b.length, 0) === begin
        );
        new Float32Array(blobs[at].buffer)[0] = edit.value === "nan" ? NaN : Infinity;
        break;
      }
    }
  }
  let json = new TextEncoder().encode(text ?? JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  json = padded;
  const data = blobs.reduce((n, b) => n + b.length, 0);
  const file = new Uint8Array(8 + json.length + data + trail);
  new DataView(file.buffer).setBigUint64(0, BigInt(length ?? json.length), true);
  file.set(json, 8);
  let at = 8 + json.length;
  for (const b of blobs) {
    file.set(b, at);
    at += b.length;
  }
  return file.subarray(0, file.length - truncate);
}

/** Build every case's directory under a fresh temp dir: name → path. */
async function buildCases(): Promise<{ root: string; dirs: Map<Case, string> }> {
  const root = await Deno.makeTempDir({ prefix: "zipar_model_dirs_" });
  const dirs = new Map<Case, string>();
  for (const [i, c] of table.cases.entries()) {
    const dir = join(root, `case${i}`);
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "config.json"), configText(c));
    await Deno.writeFile(join(dir, "model.safetensors"), weightsFile(c));
    dirs.set(c, dir);
  }
  return { root, dirs };
}

/** Why one side's outcome disagrees with a case's verdict, or null when it agrees. */
function disagreement(side: string, c: Case, outcome: Error | null): string | null {
  const where = `${side}, "${c.name}"`;
  if (c.ok) return outcome === null ? null : `${where}: expected ok, got: ${outcome.message}`;
  if (outcome === null) return `${where}: expected an error with "${c.error}", got ok`;
  const message = outcome.message;
  if (!message.includes(c.error!)) return `${where}: expected "${c.error}" in: ${message}`;
  if (message.includes("\n")) return `${where}: not one line: ${message}`;
  const raw = /Traceback|\b(Type|Value|Key|Attribute|Index|Recursion|Memory|Runtime|OS)Error\b/;
  return raw.test(message) ? `${where}: a raw exception: ${message}` : null;
}

/** Run `load` for every case; assert that every verdict holds, listing all that do not. */
async function check(
  side: string,
  dirs: Map<Case, string>,
  load: (dir: string) => Promise<unknown>,
) {
  const wrong: string[] = [];
  for (const [c, dir] of dirs) {
    const why = disagreement(side, c, await outcome(() => load(dir)));
    if (why) wrong.push(why);
  }
  assert.deepEqual(
    wrong,
    [],
    `${wrong.length} of ${dirs.size} cases disagree:\n${wrong.join("\n")}`,
  );
}

async function outcome(load: () => Promise<unknown>): Promise<Error | null> {
  try {
    await load();
    return null;
  } catch (e) {
    return e as Error;
  }
}

Deno.test("cases.json has both verdicts and unique names", () => {
  const names = new Set(table.cases.map((c) => c.name));
  assert.equal(names.size, table.cases.length);
  for (const c of table.cases) assert((c.ok === true) !== (c.error !== undefined), c.name);
  assert(table.cases.filter((c) => c.ok).length >= 5);
  assert(table.cases.filter((c) => c.error).length >= 40);
});

Deno.test("the TypeScript model reader gives every verdict of cases.json", async () => {
  const { root, dirs } = await buildCases();
  try {
    await check("TypeScript", dirs, loadLlamagen);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "the Python worker gives every verdict of cases.json",
  ...needs("the Python model-directory cases", ["python"]),
  fn: async () => {
    const { root, dirs } = await buildCases();
    const base = [...dirs].find(([c]) => c.name === "the base directory")![1];
    const backend = await openOracleBackend({
      model: base,
      python: PYTHON!,
      onLog: () => {},
      handleSigint: false,
    });
    try {
      await check("Python", dirs, (dir) => backend.inspectCheckpoint(dir));
    } finally {
      await backend.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});
