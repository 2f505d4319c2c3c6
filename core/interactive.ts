/**
 * The interactive loop: one backend step per pass; logits come back, the engine (or a reactive
 * schedule) samples in TypeScript, and the trackers referee every step.
 *
 * @module
 */

import { cellKey } from "./random.ts";
import { mixCfg, sample } from "./sampling.ts";
import { CONDITION_TOKEN, type Query } from "./step.ts";
import { type CellDecode, Tracker } from "./tracker.ts";
import { countTokens, emptyStats, type GenerateEvent, type RunContext } from "./generation.ts";

/**
 * Run a generation step by step; core/engine's generateStream calls it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generate, layoutOf } from "./engine.ts";
 * import { createSchedule } from "./schedule.ts";
 * import { MockBackend } from "../backends/mock/mock.ts";
 * const backend = new MockBackend({ height: 3, width: 3 });
 * const schedule = createSchedule(layoutOf(backend.info), { window: 1 });
 * const { stats } = await generate(backend, { images: [{ condition: 0, seed: 0, index: 0 }], schedule, mode: "interactive" });
 * assert.equal(stats.mode, "interactive");
 * ```
 */
export async function* runInteractive(
  ctx: RunContext,
): AsyncGenerator<GenerateEvent, void, undefined> {
  const { backend, session, options, layout, sampling, cfgScale, now } = ctx;
  const { images, schedule } = options;
  const { vocab, eolToken } = backend.info;
  const batch = images.length, cfg = cfgScale !== 1;
  const rewrites = schedule.rewrites ?? false;
  const trackers = images.map(() => new Tracker(layout, schedule.window, { rewrites }));
  const stats = emptyStats(ctx, "interactive");
  const totalTokens = batch * layout.height * layout.width;
  let totalDecoded = 0;
  while (trackers.some((t) => !t.done)) {
    const t0 = now();
    const perImage = trackers.map((t) => (t.done ? [] : schedule.nextStep(t)));
    const queries: Query[] = [];
    for (let i = 0; i < batch; i++) {
      const tracker = trackers[i];
      if (!tracker.done && perImage[i].length === 0) {
        throw new Error(`Schedule ${schedule.name} stalled on image ${i}`);
      }
      for (const q of perImage[i]) {
        const token = q.input.kind === "condition"
          ? CONDITION_TOKEN
          : q.input.kind === "eol"
          ? eolToken!
          : tracker.tokenAt(q.input.row, q.input.col);
        const wantLogits = q.predicts !== null;
        queries.push({ seq: i, slot: q.slot, token, wantLogits });
        if (cfg) queries.push({ seq: batch + i, slot: q.slot, token, wantLogits });
      }
    }
    const t1 = now();
    const logits = await session.step(queries); // logits: [queries with wantLogits, vocab]
    const t2 = now();
    const rows = queries.reduce((n, q) => n + (q.wantLogits ? 1 : 0), 0);
    if (!(logits instanceof Float32Array) || logits.length !== rows * vocab) {
      throw new TypeError(
        `Backend ${backend.name} returned ${logits?.length} logits, expected ${rows} × ${vocab}`,
      );
    }
    const decodes: CellDecode[][] = [];
    let row = 0;
    for (let i = 0; i < batch; i++) {
      const mixedRows: (Float32Array | null)[] = perImage[i].map((q) => {
        if (!q.predicts) return null;
        const cond = logits.subarray(row * vocab, (row + 1) * vocab);
        row++;
        if (!cfg) return cond;
        const uncond = logits.subarray(row * vocab, (row + 1) * vocab);
        row++;
        return mixCfg(cond, uncond, cfgScale);
      });
      const { seed, index } = images[i];
      if (schedule.resolve) {
        const ctx = { sampling, seed, index };
        decodes.push(schedule.resolve(trackers[i], perImage[i], mixedRows, ctx));
        continue;
      }
      decodes.push(perImage[i].flatMap((q, k) => {
        if (!q.predicts) return [];
        const { row: r, col: c } = q.predicts;
        return [{
          row: r,
          col: c,
          token: sample(mixedRows[k]!, cellKey(seed, index, r, c), sampling),
        }];
      }));
    }
    const t3 = now();
    let decodedNow = 0;
    for (let i = 0; i < batch; i++) {
      const before = trackers[i].decoded;
      trackers[i].applyStep(perImage[i], decodes[i]);
      decodedNow += trackers[i].decoded - before;
    }
    if (perImage[0].length > 0) {
      countTokens(stats, decodes[0].filter((d) => !d.replace).length);
      stats.queries += perImage[0].length;
    }
    stats.scheduleMs += t1 - t0 + (now() - t3);
    stats.backendMs += t2 - t1;
    stats.sampleMs += t3 - t2;
    stats.passes++;
    totalDecoded += decodedNow;
    yield {
      type: "step",
      step: stats.passes,
      totalSteps: null,
      queries: queries.length,
      decoded: decodedNow,
      totalDecoded,
      totalTokens,
      backendMs: t2 - t1,
    };
  }
  for (const t of trackers) t.finish();
  const grids = new Int32Array(totalTokens);
  trackers.forEach((t, i) => grids.set(t.tokens, i * t.tokens.length));
  if (schedule.stats) stats.scheduleStats = schedule.stats(trackers);
  stats.proxies = trackers[0].proxiesWritten;
  stats.corrections = trackers[0].corrections;
  stats.wallMs = now() - ctx.start;
  yield { type: "done", generation: { grids, shape: [batch, layout.height, layout.width], stats } };
}
