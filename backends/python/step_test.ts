/**
 * The KV-cache step gives the logits of a from-scratch recompute of exactly the visible tokens
 * (testing/python/references/llamagen.py, numpy float64), for raster and ZipAR steps with
 * proxies and corrections.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createLayout } from "../../core/layout.ts";
import { compilePlan } from "../../core/plan.ts";
import { createSchedule, type ScheduleOptions } from "../../core/schedule.ts";
import { cfgQueries } from "../../core/cfg.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "../../core/step.ts";
import {
  openTiny,
  PYTHON,
  PYTHON_TESTS,
  removeTinyModels,
  runPython,
  tinyModels,
} from "./test_helpers.ts";
import { classOf, sequencesFor } from "../../core/condition.ts";

const LAYOUT = createLayout({ height: 8, width: 8 });
const VOCAB = 256;

/** The steps of a schedule for one image and its CFG half (core/cfg), random cell tokens. */
function stepsOf(options: ScheduleOptions, seed: number): Query[][] {
  const plan = compilePlan(LAYOUT, createSchedule(LAYOUT, options));
  let state = seed;
  const tokens = Array.from(
    { length: 64 },
    () => (state = (state * 1103515245 + 12345) >>> 0) % VOCAB,
  );
  return plan.steps.map((queries) =>
    cfgQueries([
      queries.map((q) => ({
        slot: q.slot,
        token: q.input.kind === "cell"
          ? tokens[q.input.row * 8 + q.input.col]
          : QUERY_TOKEN_CONDITION,
        wantLogits: q.predicts !== null,
      })),
    ], true)
  );
}

/** Proxy writes and correction writes (no logits, image slot) of a schedule, per sequence. */
function proxiesAndCorrections(options: ScheduleOptions): [number, number] {
  const queries = compilePlan(LAYOUT, createSchedule(LAYOUT, options)).steps.flat();
  const proxies = queries.filter((q) => q.proxy).length;
  const corrections = queries.filter((q) => !q.predicts && q.slot >= LAYOUT.prefix).length;
  return [proxies, corrections];
}

async function maxDiffToReference(options: ScheduleOptions, file = "st"): Promise<number> {
  const conditions = sequencesFor([3], true); // a class and the null class
  const steps = stepsOf(options, 7);
  const backend = await openTiny({ file });
  const got: Float32Array[] = [];
  try {
    const session = await backend.open(conditions);
    for (const step of steps) got.push(await session.step(step));
    await session.close();
  } finally {
    await backend.close();
  }
  const dir = await tinyModels();
  const spec = {
    conditions: conditions.map((s) => classOf(s, 10)),
    steps: steps.map((s) => s.map((q) => [q.seq, q.slot, q.token, q.wantLogits ? 1 : 0])),
  };
  const stepsPath = join(dir, `steps-${options.window ?? "raster"}.json`);
  const outPath = `${stepsPath}.f64`;
  await Deno.writeTextFile(stepsPath, JSON.stringify(spec));
  await runPython(PYTHON!, "references.llamagen", [join(dir, file), stepsPath, outPath]);
  const want = new Float64Array((await Deno.readFile(outPath)).buffer);
  const flat = got.flatMap((a) => [...a]);
  assert.equal(flat.length, want.length);
  let max = 0;
  for (let i = 0; i < flat.length; i++) max = Math.max(max, Math.abs(flat[i] - want[i]));
  return max;
}

Deno.test({
  name: "step() logits equal a no-cache recompute for raster steps",
  ...PYTHON_TESTS,
  async fn() {
    const diff = await maxDiffToReference({ kind: "raster" });
    assert.ok(diff < 1e-4, `max abs diff ${diff}`);
  },
});

Deno.test({
  name: "step() logits equal a no-cache recompute for ZipAR steps with proxies and corrections",
  ...PYTHON_TESTS,
  async fn() {
    for (const options of [{ window: 2 }, { window: 3, variant: "paper" as const }]) {
      const [proxies, corrections] = proxiesAndCorrections(options);
      assert.ok(proxies > 0 && corrections === proxies, `${proxies} proxies, ${corrections} fixes`);
      const diff = await maxDiffToReference(options);
      assert.ok(diff < 1e-4, `window ${options.window}: max abs diff ${diff}`);
    }
  },
});

Deno.test({
  name: "step() logits equal a no-cache recompute with grouped K/V heads (n_kv_head < n_head)",
  ...PYTHON_TESTS,
  async fn() {
    for (const options of [{ kind: "raster" as const }, { window: 2 }]) {
      const diff = await maxDiffToReference(options, "gqa");
      assert.ok(diff < 1e-4, `${options.window ?? "raster"}: max abs diff ${diff}`);
    }
  },
});

Deno.test({
  name: "step() rejects a bad query with a one-line error and keeps the session usable",
  ...PYTHON_TESTS,
  async fn() {
    const backend = await openTiny();
    try {
      const session = await backend.open(sequencesFor([1], false));
      await assert.rejects(
        session.step([{ seq: 0, slot: 0, token: 5, wantLogits: true }]),
        /prefix slots take the condition token/,
      );
      await assert.rejects(
        session.step([{ seq: 3, slot: 0, token: -1, wantLogits: true }]),
        /query sequence outside 0..0/,
      );
      const logits = await session.step([{ seq: 0, slot: 0, token: -1, wantLogits: true }]);
      assert.equal(logits.length, VOCAB);
      await session.close();
    } finally {
      await backend.close();
      await removeTinyModels();
    }
  },
});
