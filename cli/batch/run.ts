/**
 * Running batch jobs on an open backend: resume (a job whose output exists and was made by the
 * same job and model is skipped), stale temporary files of killed runs removed, images packed
 * into generate() calls (groups.ts), each job's grid written atomically under DIR as soon as
 * its last image is done. A failed call fails only the jobs that fail on their own (isolate.ts);
 * an output name holding a symlink or anything but a regular file fails its job (dir_output.ts).
 *
 * @module
 */

import { join } from "node:path";
import {
  type Backend,
  type Generation,
  type GenerationStats,
  layoutOf,
  type ModelInfo,
} from "../../core/mod.ts";
import { type BatchImage, packBatches } from "./groups.ts";
import { generateIsolating, openProbe } from "./isolate.ts";
import { outputNodeError } from "./dir_output.ts";
import { openGridOutput, readGrid } from "../formats/grid_file.ts";
import type { Io } from "../io/io.ts";
import { choiceOf } from "./job_schedule.ts";
import { type Job, type JobEntry, jobFiles, type ResolvedJob, resolveJob } from "./jobs.ts";
import { buildSchedule } from "../schedules.ts";
import { gridMeta } from "../generation/grid_meta.ts";
import { cycleConditions } from "../flags/condition_flags.ts";
import { runGeneration } from "../generation/run.ts";

/** Where a job ended. */
export type JobStatus = "done" | "skipped" | "failed";

/** The outcome of one job. */
export interface JobOutcome {
  /** The job file entry. */
  entry: JobEntry;
  /** Done (written now), skipped (already complete) or failed. */
  status: JobStatus;
  /** Why it failed. */
  reason?: string;
}

/** What a run did besides per-job outcomes. */
export interface RunTotals {
  /** Images generated. */
  images: number;
  /** generate() calls. */
  batches: number;
  /** Forward passes over all calls. */
  passes: number;
  /** Time generating and writing, ms. */
  generateMs: number;
}

/** How to run. */
export interface RunOptions {
  /** Output directory. */
  outDir: string;
  /** Most images per generate() call. */
  maxBatch: number;
  /** Output metadata from the backend spec (model path, device, mock options). */
  backendMeta: Record<string, unknown>;
  /** Progress callback: images done (fractional), jobs finished. */
  onProgress?: (images: number, jobs: number) => void;
  /** Yield to the event loop at least this often, ms, so signals are handled. @default 50 */
  yieldEvery?: number;
  /** I/O for reading existing outputs. */
  io: Io;
}

/** The key stored in an output's metadata: same key, same job on the same model. */
export function outputKey(job: Job, backend: string, info: ModelInfo, meta: object): string {
  const { name: model, vocab, height, width, prefix, eolToken } = info;
  return JSON.stringify({ job, backend, model, vocab, height, width, prefix, eolToken, ...meta });
}

/**
 * Remove temporary files (`.NAME.tmp-PID-RAND`) of this run's outputs left by a killed run
 * (whose process is gone, where /proc tells). Returns how many were removed.
 */
export async function removeStaleTemps(dir: string, files: Set<string>): Promise<number> {
  let removed = 0;
  const hasProc = await Deno.stat("/proc/self").then(() => true, () => false);
  for await (const entry of Deno.readDir(dir)) {
    const m = /^\.(.+)\.tmp-(\d+)-[0-9a-z]+$/.exec(entry.name);
    if (!m || !entry.isFile || !files.has(m[1])) continue;
    const pid = Number(m[2]);
    if (pid === Deno.pid) continue;
    if (hasProc && (await Deno.stat(`/proc/${pid}`).then(() => true, () => false))) continue;
    await Deno.remove(join(dir, entry.name)).then(() => removed++, () => {});
  }
  return removed;
}

/** Why a job's output files in `dir` cannot be written, never following a symlink; or null. */
async function nodeError(dir: string, job: Job): Promise<string | null> {
  for (const file of jobFiles(job)) {
    const why = await outputNodeError(dir, file);
    if (why) return why;
  }
  return null;
}

/** "complete", "absent", or why the existing output cannot be taken as this job's. */
async function existing(
  dir: string,
  job: ResolvedJob,
  key: string,
  h: number,
  w: number,
  io: Io,
): Promise<string> {
  const why = await nodeError(dir, job);
  if (why) return why;
  const file = jobFiles(job)[0], path = join(dir, file);
  const shape = [job.count, h, w];
  const info = await Deno.stat(path).catch(() => null);
  if (info === null) return "absent";
  let meta: Record<string, unknown>, got: number[];
  try {
    const read = await readGrid(path, io);
    meta = read.grid.meta;
    got = read.grid.shape;
  } catch (e) {
    return `${file} exists but is not a valid grid (${
      (e as Error).message
    }); remove it to regenerate`;
  }
  if (meta.batchKey !== key || JSON.stringify(got) !== JSON.stringify(shape)) {
    return `${file} exists but was made by another job or model; remove it or rename the job`;
  }
  return "complete";
}

/** Run the jobs of `entries` (all without errors) on `backend`. */
export async function runJobs(
  backend: Backend,
  entries: JobEntry[],
  options: RunOptions,
): Promise<{ outcomes: JobOutcome[]; totals: RunTotals }> {
  const { outDir, maxBatch, io } = options;
  const info = backend.info;
  const { height: h, width: w } = info;
  const outcomes: JobOutcome[] = entries.map((entry) => ({ entry, status: "done" }));
  // Sampling fields a job leaves out take the model family's defaults (Janus: CFG 5).
  const resolved = entries.map((e) => resolveJob(e.job!, info.defaults));
  const keys = resolved.map((job) => outputKey(job, backend.name, info, options.backendMeta));
  const todo: number[] = [];
  for (let k = 0; k < entries.length; k++) {
    const job = resolved[k];
    const state = await existing(outDir, job, keys[k], h, w, io);
    if (state === "complete") outcomes[k].status = "skipped";
    else if (state === "absent") todo.push(k);
    else Object.assign(outcomes[k], { status: "failed", reason: state });
  }
  await removeStaleTemps(outDir, new Set(todo.flatMap((k) => jobFiles(resolved[k]))));

  const totals: RunTotals = { images: 0, batches: 0, passes: 0, generateMs: 0 };
  const started = performance.now();
  let finished = outcomes.length - todo.length;
  const report = (images: number) => options.onProgress?.(images, finished);
  report(0);
  const jobs = todo.map((k) => resolved[k]);
  const buffers = new Map<
    number,
    { tokens: Int32Array; filled: number; wallMs: number; passes: number }
  >();
  const fail = (j: number, reason: string) => {
    const outcome = outcomes[todo[j]];
    if (outcome.status === "failed") return;
    Object.assign(outcome, { status: "failed", reason });
    buffers.delete(j);
    finished++;
  };
  /** Count a finished call and write every job whose last image it made. */
  const take = async (images: BatchImage[], { stats, grids }: Generation) => {
    totals.batches++;
    totals.passes += stats.passes;
    totals.images += images.length;
    const touched = new Set<number>();
    images.forEach((im, b) => {
      const job = jobs[im.job];
      let buf = buffers.get(im.job);
      if (!buf) {
        buf = { tokens: new Int32Array(job.count * h * w), filled: 0, wallMs: 0, passes: 0 };
        buffers.set(im.job, buf);
      }
      buf.tokens.set(grids.subarray(b * h * w, (b + 1) * h * w), im.index * h * w);
      buf.filled++;
      buf.wallMs += stats.wallMs / images.length;
      buf.passes = Math.max(buf.passes, stats.passes);
      touched.add(im.job);
    });
    for (const j of touched) {
      const buf = buffers.get(j)!;
      if (buf.filled < jobs[j].count) continue;
      buffers.delete(j);
      try {
        await writeJob(jobs[j], buf, stats, keys[todo[j]], backend, options);
        finished++;
      } catch (e) {
        fail(j, (e as Error).message);
      }
    }
  };
  const layout = layoutOf(info);
  for (const batch of packBatches(jobs, maxBatch)) {
    const images = batch.images.filter((im) => outcomes[todo[im.job]].status !== "failed");
    if (images.length === 0) continue;
    const { settings } = batch;
    /** Generate `images` in one call and write the jobs it completes; throws only if it fails. */
    const generate = async (images: BatchImage[]) => {
      const schedule = buildSchedule(layout, choiceOf(settings, w));
      const generation = await runGeneration(backend, {
        images: images.map(({ condition, seed, index }) => ({ condition, seed, index })),
        schedule,
        cfgScale: settings.cfg,
        sampling: { temperature: settings.temperature, topK: settings.topK, topP: settings.topP },
      }, {
        onStep: (event) =>
          report(totals.images + images.length * event.totalDecoded / event.totalTokens),
        yieldEveryMs: options.yieldEvery,
      });
      await take(images, generation);
    };
    // A failed call (a prompt too long for the context, say) fails only its bad jobs.
    await generateIsolating(images, {
      run: generate,
      probe: openProbe(backend, settings.cfg),
      fail: (j, e) => fail(j, `generation failed: ${(e as Error)?.message ?? e}`),
    });
    report(totals.images);
  }
  totals.generateMs = performance.now() - started;
  return { outcomes, totals };
}

async function writeJob(
  job: ResolvedJob,
  buf: { tokens: Int32Array; wallMs: number; passes: number },
  stats: GenerationStats,
  key: string,
  backend: Backend,
  options: RunOptions,
): Promise<void> {
  const info = backend.info;
  const meta = gridMeta({
    backend,
    backendMeta: options.backendMeta,
    origin: { job, batchKey: key },
    choice: choiceOf(job, info.width),
    sampling: { temperature: job.temperature, topK: job.topK, topP: job.topP, cfg: job.cfg },
    seed: job.seed,
    images: cycleConditions(job.conditions, job.count, job.seed),
    // A job's images may span several generate() calls: the slowest call's passes, and the
    // job's share of their time; schedule statistics are per call, so none are recorded.
    run: {
      schedule: stats.schedule,
      mode: stats.mode,
      passes: buf.passes,
      rasterPasses: stats.rasterPasses,
      wallMs: buf.wallMs,
    },
  });
  // Checked again now: a link made while generating is not followed either.
  const why = await nodeError(options.outDir, job);
  if (why) throw new Error(why);
  const output = await openGridOutput(
    join(options.outDir, jobFiles(job)[0]),
    job.format,
    options.io,
  );
  const shape: [number, number, number] = [job.count, info.height, info.width];
  await output.write({ shape, tokens: buf.tokens, meta });
}
