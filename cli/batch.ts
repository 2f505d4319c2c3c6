/**
 * `zipar batch JOBS.jsonl --out-dir DIR`: run many generation jobs, one grid file per job,
 * resumable (finished outputs are skipped), shardable (`--shard i/n`), with a summary.
 *
 * @module
 */

import { join } from "node:path";
import { intFlag, type OptionSpec, parseCommand, ValidationError } from "./flags/args.ts";
import { installInterruptCleanup } from "./io/interrupt.ts";
import { openOutput } from "./io/output_file.ts";
import { openBackend } from "../backends/open.ts";
import { BACKEND_OPTIONS, BACKEND_USAGE, backendFlags } from "./flags/backend_flags.ts";
import { backendMeta } from "./generation/grid_meta.ts";
import { renderBatchProgress } from "./batch/progress.ts";
import { type JobOutcome, runJobs, type RunTotals } from "./batch/run.ts";
import { prettyJson } from "./formats/grid_json.ts";
import type { Io } from "./io/io.ts";
import { type JobEntry, modelError, parseJobs, parseShard } from "./batch/jobs.ts";
import { stderrProgress } from "./io/progress.ts";
import { VERSION } from "./generation/version.ts";
import { readTextInput } from "./io/text_file.ts";

/** Flags of `zipar batch`. */
export const BATCH_OPTIONS: OptionSpec = {
  "out-dir": { type: "string", short: "o" },
  shard: { type: "string" },
  "max-batch": { type: "string" },
  strict: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  ...BACKEND_OPTIONS,
  help: { type: "boolean", short: "h" },
};

/** `zipar batch --help`. */
export const BATCH_USAGE = `Usage: zipar batch JOBS.jsonl --out-dir DIR [options]

Run the generation jobs of a JSON Lines file (- for stdin), one grid file per job under DIR.
Images of jobs with the same schedule, window, proxy, cfg and sampling share generate() calls.
A rerun skips the jobs whose output is already complete, so an interrupted run resumes.

Options:
  -o, --out-dir DIR        output directory, created if missing (required)
  --shard i/n              run only the jobs whose index (among non-blank lines, from 0)
                           is i modulo n, e.g. --shard $SLURM_ARRAY_TASK_ID/8
  --max-batch N            most images per generate() call (default: 16)
  --strict                 any bad job line is a usage error (exit 2) before generating
  -q, --quiet              no progress, failures or summary line on stderr

${BACKEND_USAGE}

  -h, --help               show this help

Job line (only "name" is required):
  {"name": "cats", "class": 3, "seed": 0, "count": 8, "schedule": "ideal", "window": 8,
   "proxy": "r-2", "cfg": 1, "temperature": 1, "topK": 0, "topP": 1, "format": "json"}
  "class" may be a list: image i gets class[i mod length], count defaults to its length.
  Text-to-image models take "prompt" (a string or a list, cycled like "class") and an
  optional "negativePrompt" instead of "class". Sampling fields left out take the model
  family's defaults (Janus: cfg 5), else those shown.
  "schedule": raster | ideal | paper | adaptive ("window" is then the minimum window,
  "maxWindow" the maximum). Image i draws with the key (seed, i, row, col).

Writes DIR/<name>.json or DIR/<name>.npy (+ .npy.json) atomically, and DIR/summary.json
(DIR/summary.shard-i-of-n.json with --shard). Exit 0 when every job is done or skipped,
1 when any failed, 2 on usage errors.
`;

/** Largest job file read (64 MiB). */
export const MAX_JOBS_BYTES = 64 * 2 ** 20;

function readJobsText(path: string, io: Io): Promise<string> {
  return readTextInput(path, io, { what: "the job file", maxBytes: MAX_JOBS_BYTES });
}

function strictError(file: string, bad: JobEntry[]): ValidationError {
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more bad lines)` : "";
  return new ValidationError(
    `${file}:${bad[0].line}: ${bad[0].error}${more}`,
    "Fix the job file, or drop --strict to run the good jobs and report the bad ones.",
  );
}

/** Run `zipar batch`; returns the exit code. */
export async function batchCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(args, BATCH_OPTIONS, 1);
  if (values.help) {
    await io.writeStdout(new TextEncoder().encode(BATCH_USAGE));
    return 0;
  }
  const jobsPath = positionals[0];
  if (jobsPath === undefined) throw new ValidationError("missing the job file (JOBS.jsonl)");
  const outDir = values["out-dir"];
  if (typeof outDir !== "string" || outDir === "") {
    throw new ValidationError("--out-dir DIR is required");
  }
  const spec = backendFlags(values);
  let shard: [number, number] | null = null;
  if (typeof values.shard === "string") {
    shard = parseShard(values.shard);
    if (!shard) {
      throw new ValidationError(
        `--shard must be i/n with 0 ≤ i < n, got '${values.shard}'`,
        "Example: --shard 0/4 for the first of 4 shards.",
      );
    }
  }
  const maxBatch = intFlag(values, "max-batch", 1, 1 << 16, 16);
  const quiet = values.quiet === true, strict = values.strict === true;
  const file = jobsPath === "-" ? "stdin" : jobsPath;

  const entries = parseJobs(await readJobsText(jobsPath, io))
    .filter((e) => !shard || e.index % shard[1] === shard[0]);
  if (strict && entries.some((e) => e.error)) {
    throw strictError(
      file,
      entries.filter((e) => e.error),
    );
  }
  await Deno.mkdir(outDir, { recursive: true }).catch((e) => {
    throw new Error(`cannot create --out-dir ${outDir}: ${(e as Error).message}`);
  });

  const started = performance.now();
  const backend = await openBackend(spec);
  const loadMs = performance.now() - started;
  let outcomes: JobOutcome[], totals: RunTotals;
  const uninstall = installInterruptCleanup((signal) =>
    io.writeStderr(`zipar: interrupted (${signal}); finished outputs are kept, rerun to resume\n`)
  );
  try {
    for (const e of entries) {
      const why = e.job && modelError(e.job, backend.info);
      if (why) Object.assign(e, { job: null, error: why });
    }
    if (strict && entries.some((e) => e.error)) {
      throw strictError(
        file,
        entries.filter((e) => e.error),
      );
    }
    const good = entries.filter((e) => e.job);
    const totalImages = good.reduce((n, e) => n + e.job!.count, 0);
    const progress = stderrProgress(io, { quiet });
    const genStart = performance.now();
    const ran = await runJobs(backend, good, {
      outDir,
      maxBatch,
      backendMeta: backendMeta(spec),
      io,
      onProgress: (images, jobs) =>
        progress.updateLine((o) =>
          renderBatchProgress({
            images,
            totalImages,
            jobs,
            totalJobs: good.length,
            elapsedMs: performance.now() - genStart,
          }, o)
        ),
    });
    progress.finish();
    totals = ran.totals;
    outcomes = [
      ...ran.outcomes,
      ...entries.filter((e) => !e.job).map((entry): JobOutcome => ({
        entry,
        status: "failed",
        reason: entry.error!,
      })),
    ].sort((a, b) => a.entry.line - b.entry.line);
  } finally {
    uninstall();
    await backend.close();
  }

  const count = (s: string) => outcomes.filter((o) => o.status === s).length;
  const failures = outcomes.filter((o) => o.status === "failed");
  const summaryName = shard ? `summary.shard-${shard[0]}-of-${shard[1]}.json` : "summary.json";
  const summary = {
    format: "zipar.batch-summary/1",
    zipar: VERSION,
    jobsFile: file,
    outDir,
    shard: shard ? { index: shard[0], count: shard[1] } : null,
    backend: backend.name,
    model: backend.info.name,
    maxBatch,
    jobs: outcomes.length,
    done: count("done"),
    skipped: count("skipped"),
    failed: failures.length,
    images: totals.images,
    batches: totals.batches,
    passes: totals.passes,
    loadMs: Math.round(loadMs * 10) / 10,
    wallMs: Math.round((performance.now() - started) * 10) / 10,
    failures: failures.map((o) => ({
      line: o.entry.line,
      name: o.entry.name,
      reason: o.reason,
    })),
    outputs: outcomes.filter((o) => o.status !== "failed").map((o) => ({
      line: o.entry.line,
      name: o.entry.job!.name,
      status: o.status,
    })),
  };
  const out = await openOutput(join(outDir, summaryName));
  try {
    await out.write(new TextEncoder().encode(prettyJson(summary, "") + "\n"));
    await out.commit();
  } finally {
    await out.abort();
  }
  if (!quiet) {
    for (const f of summary.failures) io.writeStderr(`zipar: ${file}:${f.line}: ${f.reason}\n`);
    const secs = totals.generateMs / 1000;
    io.writeStderr(
      `zipar: batch ${summary.jobs} jobs: ${summary.done} done, ${summary.skipped} skipped, ${summary.failed} failed; ${totals.images} images in ${
        secs.toFixed(1)
      }s (${
        (secs > 0 ? totals.images / secs : 0).toFixed(1)
      } img/s, ${totals.passes} passes); summary ${join(outDir, summaryName)}\n`,
    );
  }
  return summary.failed > 0 ? 1 : 0;
}
