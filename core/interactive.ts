/**
 * The interactive loop, shaped like gpt-fast's `generate`. Every step runs five small functions:
 *
 * ```
 * nextQueries → backendQueries → step → sample → apply
 * ```
 *
 * - `nextQueries`: the schedule names each image's queries (core/schedule). The first step is
 *   the prefill: it writes the prefix slots, and its last query predicts (0, 0).
 * - `backendQueries`: each query's input becomes a token (the tracker's decoded cell, the
 *   conditioning sentinel or the EOL token), and core/cfg puts it on the image's conditional
 *   sequence i and, with CFG, its unconditional sequence B + i.
 * - `step`: `session.step`, one forward pass of the backend; logits: [predicting queries (× 2
 *   with CFG), vocab], their shape checked by `checkLogits`.
 * - `sample`: core/cfg mixes the guidance rows, each with the scale of the cell it predicts
 *   (`cfgScale`, or the model's per-cell scales); the schedule's `resolve` turns them into tokens
 *   (one keyed draw per cell, or the adaptive window's draft verification).
 * - `apply`: each image's tracker referees the step (window rule, slot writes) and records it.
 *
 * @module
 */

import { cfgGuides, cfgQueries, guidedLogits } from "./cfg.ts";
import { countTokens, emptyStats, type GenerateEvent, type RunContext } from "./generation.ts";
import type { ImageQuery, Schedule, ScheduleImage, TokenInput } from "./schedule.ts";
import { type Query, QUERY_TOKEN_CONDITION } from "./step.ts";
import type { CellDecode, Tracker } from "./tracker.ts";

/**
 * Run a generation step by step; core/engine's generateStream calls it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generate } from "./engine.ts";
 * import { layoutOf } from "./layout.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { MockBackend } from "../backends/mock/mock.ts";
 * const backend = new MockBackend({ height: 3, width: 3 });
 * const schedule = createSchedule(layoutOf(backend.info), { window: 1 });
 * const { stats } = await generate(backend, { images: [{ condition: 0, seed: 0, index: 0 }], schedule, mode: "interactive" });
 * assert.equal(stats.mode, "interactive");
 * assert.equal(stats.passes, 3 + 2 * 1);
 * ```
 */
export async function* runInteractive(
  ctx: RunContext,
): AsyncGenerator<GenerateEvent, void, undefined> {
  const { layout, now } = ctx;
  const { images, schedule } = ctx.options;
  const states = images.map(() => schedule.begin());
  const trackers = states.map((s) => s.tracker);
  const stats = emptyStats(ctx, "interactive");
  const totalTokens = images.length * layout.height * layout.width;
  const complete = schedule.complete
    ? (s: ScheduleImage) => schedule.complete!(s)
    : (s: ScheduleImage) => s.tracker.done;
  let totalDecoded = 0;
  while (states.some((s) => !complete(s))) {
    const t0 = now();
    const perImage = nextQueries(schedule, states, complete);
    const queries = backendQueries(ctx, perImage, trackers);
    const t1 = now();
    const logits = await ctx.session.step(queries); // logits: [predicting queries, vocab]
    checkLogits(ctx, queries, logits);
    const t2 = now();
    const decodes = sample(ctx, perImage, states, logits);
    const t3 = now();
    const decoded = apply(trackers, perImage, decodes);
    if (perImage[0].length > 0) {
      countTokens(stats, decodes[0].filter((d) => !d.replace).length);
      stats.queries += perImage[0].length;
    }
    stats.scheduleMs += t1 - t0 + (now() - t3);
    stats.backendMs += t2 - t1;
    stats.sampleMs += t3 - t2;
    stats.passes++;
    totalDecoded += decoded;
    yield {
      type: "step",
      step: stats.passes,
      totalSteps: null,
      queries: queries.length,
      decoded,
      totalDecoded,
      totalTokens,
      backendMs: t2 - t1,
    };
  }
  for (const t of trackers) t.finish();
  const grids = new Int32Array(totalTokens); // grids: [B, H·W]
  trackers.forEach((t, i) => grids.set(t.tokens, i * t.tokens.length));
  if (schedule.stats) stats.scheduleStats = schedule.stats(states);
  stats.proxies = trackers[0].proxiesWritten;
  stats.corrections = trackers[0].corrections;
  stats.wallMs = now() - ctx.start;
  yield {
    type: "done",
    generation: { grids, shape: [images.length, layout.height, layout.width], stats },
  };
}

/** The schedule's queries of the next step, per image; none for a complete image. */
function nextQueries(
  schedule: Schedule,
  states: readonly ScheduleImage[],
  complete: (s: ScheduleImage) => boolean,
): ImageQuery[][] {
  return states.map((state, i) => {
    if (complete(state)) return [];
    const queries = schedule.nextStep(state);
    if (queries.length === 0) throw new Error(`Schedule ${schedule.name} stalled on image ${i}`);
    return queries;
  });
}

/** The step's backend queries: inputs resolved to tokens, then doubled over the CFG halves. */
function backendQueries(
  ctx: RunContext,
  perImage: readonly ImageQuery[][],
  trackers: readonly Tracker[],
): Query[] {
  const { eolToken } = ctx.backend.info;
  return cfgQueries(perImage, ctx.cfgScale !== 1, (q, i) => ({
    slot: q.slot,
    token: q.draft ?? inputToken(q.input, trackers[i], eolToken),
    wantLogits: q.predicts !== null,
  }));
}

/** The token a query writes: the decoded (or proxy) cell, the condition sentinel, or EOL. */
function inputToken(input: TokenInput, tracker: Tracker, eolToken: number | null): number {
  if (input.kind === "cell") return tracker.tokenAt(input.row, input.col);
  return input.kind === "condition" ? QUERY_TOKEN_CONDITION : eolToken!;
}

/** The backend's side of `step`: one logits row of `vocab` per predicting query. */
function checkLogits(ctx: RunContext, queries: readonly Query[], logits: Float32Array): void {
  const { name, info: { vocab } } = ctx.backend;
  let rows = 0;
  for (const q of queries) if (q.wantLogits) rows++;
  if (!(logits instanceof Float32Array) || logits.length !== rows * vocab) {
    throw new TypeError(
      `Backend ${name} returned ${logits?.length} logits, expected ${rows} × ${vocab}`,
    );
  }
}

/** The step's tokens per image: guided logits per predicting query, resolved by the schedule. */
function sample(
  ctx: RunContext,
  perImage: readonly ImageQuery[][],
  states: readonly ScheduleImage[],
  logits: Float32Array,
): CellDecode[][] {
  const { images, schedule } = ctx.options;
  const { vocab } = ctx.backend.info;
  const { width } = ctx.layout;
  let k = 0; // index of the predicting query across the step, as core/cfg laid them out
  return perImage.map((queries, i) => {
    if (queries.length === 0) return [];
    // rows[j]: [vocab] for queries[j], or null when it predicts nothing
    const rows = queries.map((q) => {
      if (!q.predicts) return null;
      const cell = q.predicts.row * width + q.predicts.col;
      const guided = cfgGuides(cell, ctx.cfgInterval);
      const scale = ctx.cfgScales?.[cell] ?? ctx.cfgScale; // the cell's own g, if the model has one
      return guidedLogits(logits, k++, vocab, ctx.cfgScale, guided, scale);
    });
    const { seed, index } = images[i];
    return schedule.resolve(states[i], queries, rows, { sampling: ctx.sampling, seed, index });
  });
}

/**
 * Let every tracker referee and record its image's step; returns the tokens newly decoded. A
 * complete image takes no part, so `tracker.steps` counts the steps its image needed.
 */
function apply(
  trackers: readonly Tracker[],
  perImage: readonly ImageQuery[][],
  decodes: readonly CellDecode[][],
): number {
  let decoded = 0;
  trackers.forEach((tracker, i) => {
    if (perImage[i].length === 0) return;
    const before = tracker.decoded;
    tracker.applyStep(perImage[i], decodes[i]);
    decoded += tracker.decoded - before;
  });
  return decoded;
}
