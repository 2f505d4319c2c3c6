/**
 * One bad job never takes a batch down, on the mock text model: the mock has no context limit
 * and takes any prompt the job file takes, so a wrapper refuses what a real family refuses (a
 * prompt too long for its context, one that is empty once tokenized) when a session opens, or
 * fails a step of a session that holds a given prompt. The jobs of one settings group share a
 * generate() call; the call's failure must fail only the bad jobs, each with its own reason,
 * and the others' grids must equal a run without the bad jobs.
 */

import assert from "node:assert/strict";
import { MockBackend } from "../../backends/mock/mock.ts";
import type { Backend, PromptCondition, Sequence, Session } from "../../core/mod.ts";
import { readGrid } from "../formats/grid_file.ts";
import { memoryIo } from "../io/io.ts";
import { parseJobs } from "./jobs.ts";
import { runJobs } from "./run.ts";

const CONTEXT = 40; // characters the wrapper's "context" leaves for a prompt

/** The mock text model, refusing as a real family would; counts the sessions it opened. */
class Refusing implements Backend {
  readonly name = "mock";
  readonly mock = new MockBackend({ height: 4, width: 4, conditioning: "text" });
  readonly info = this.mock.info;
  opened = 0;

  /** `failStep`: a prompt whose sessions open but fail their first step (a crash mid-run). */
  constructor(readonly failStep = "") {}

  async open(sequences: readonly Sequence[]): Promise<Session> {
    for (const { condition } of sequences) {
      const { prompt } = condition as PromptCondition;
      if (prompt.length > CONTEXT) {
        throw new Error(`the prompt is ${prompt.length} tokens, but the context leaves ${CONTEXT}`);
      }
      // No word to tokenize: empty to this "tokenizer", though not to the job file.
      if (!/[\p{L}\p{N}]/u.test(prompt)) throw new Error("empty prompt: give a text prompt");
    }
    this.opened++;
    const session = await this.mock.open(sequences);
    const bad = this.failStep !== "" &&
      sequences.some((s) => (s.condition as PromptCondition).prompt === this.failStep);
    if (!bad) return session;
    return {
      step: () => Promise.reject(new Error("step failed: the worker ran out of memory")),
      close: () => session.close(),
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const line = (name: string, prompt: string | string[]) =>
  JSON.stringify({ name, prompt, window: 2, seed: 3 });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zipar_isolate_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function tokens(dir: string, name: string): Promise<number[]> {
  return [...(await readGrid(`${dir}/${name}.json`, memoryIo())).grid.tokens];
}

Deno.test("a prompt the model refuses at open fails its job alone; the group's other jobs are written", async () => {
  await withDir(async (dir) => {
    const text = [
      line("fox", "a red fox"),
      line("long", "a fox ".repeat(20)),
      line("bird", ["a small bird", "a big bird"]),
      line("empty", "-"),
      line("cat", "a cat"),
    ].join("\n");
    const backend = new Refusing();
    const options = { outDir: `${dir}/out`, maxBatch: 16, backendMeta: {}, io: memoryIo() };
    await Deno.mkdir(options.outDir);
    const { outcomes, totals } = await runJobs(backend, parseJobs(text), options);
    assert.deepEqual(outcomes.map((o) => o.status), ["done", "failed", "done", "failed", "done"]);
    assert.match(outcomes[1].reason!, /^generation failed: the prompt is 120 tokens, .*leaves 40$/);
    assert.match(outcomes[3].reason!, /^generation failed: empty prompt/);
    assert.equal(totals.images, 4); // fox, bird ×2, cat: once each
    // Bad jobs leave no file; the good ones equal a run without the bad jobs.
    const names = [...Deno.readDirSync(options.outDir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["bird.json", "cat.json", "fox.json"]);
    const alone = { ...options, outDir: `${dir}/alone` };
    await Deno.mkdir(alone.outDir);
    const good = [line("fox", "a red fox"), line("bird", ["a small bird", "a big bird"])];
    await runJobs(backend.mock, parseJobs([...good, line("cat", "a cat")].join("\n")), alone);
    for (const name of ["fox", "bird", "cat"]) {
      assert.deepEqual(await tokens(options.outDir, name), await tokens(alone.outDir, name));
    }
  });
});

Deno.test("a job whose generation fails after opening fails alone; the others are still generated", async () => {
  await withDir(async (dir) => {
    const text = [line("a", "a red fox"), line("b", "a crash"), line("c", "a cat")].join("\n");
    const backend = new Refusing("a crash");
    const options = { outDir: dir, maxBatch: 16, backendMeta: {}, io: memoryIo() };
    const { outcomes } = await runJobs(backend, parseJobs(text), options);
    assert.deepEqual(outcomes.map((o) => o.status), ["done", "failed", "done"]);
    assert.equal(
      outcomes[1].reason,
      "generation failed: step failed: the worker ran out of memory",
    );
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["a.json", "c.json"]);
  });
});

Deno.test("a backend that refuses every session fails each job with the reason, a bounded number of tries", async () => {
  await withDir(async (dir) => {
    const backend = new Refusing();
    let tries = 0;
    backend.open = () => {
      tries++;
      return Promise.reject(new Error("The Python worker is closed"));
    };
    const text = [line("a", "x"), line("b", "y"), line("c", "z")].join("\n");
    const options = { outDir: dir, maxBatch: 16, backendMeta: {}, io: memoryIo() };
    const { outcomes } = await runJobs(backend, parseJobs(text), options);
    assert.deepEqual(outcomes.map((o) => o.reason), [
      "generation failed: The Python worker is closed",
      "generation failed: The Python worker is closed",
      "generation failed: The Python worker is closed",
    ]);
    assert.ok(tries <= 1 + 3, `${tries} tries`); // the group's call, then each job once
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});
