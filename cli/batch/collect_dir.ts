/**
 * `zipar batch JOBS.jsonl --collect DIR`, the I/O part: read the summaries in DIR, check which
 * outputs exist, merge (collect.ts), write DIR/summary.json atomically and report on stderr.
 * What a follow-up job (`sbatch --dependency=afterany:ARRAY`) runs: exit 0 when every job is
 * complete, 1 while any failed or is missing.
 *
 * @module
 */

import { join } from "node:path";
import type { Io } from "../io/io.ts";
import { printable } from "../io/printable.ts";
import { openSummary } from "./dir_output.ts";
import { prettyJson } from "../formats/grid_json.ts";
import { VERSION } from "../generation/version.ts";
import { parseJobs } from "./jobs.ts";
import {
  type Collected,
  isSummaryFile,
  mergeSummaries,
  SUMMARY_FORMAT,
  type SummarySource,
} from "./collect.ts";

/** What to collect. */
export interface CollectOptions {
  /** The job file's text. */
  jobsText: string;
  /** The job file as named in messages and the summary. */
  jobsFile: string;
  /** The batch output directory. */
  dir: string;
  /** `--shard-count N`, when given. */
  shardCount?: number;
  /** No report on stderr. */
  quiet: boolean;
  /** Where the report goes. */
  io: Io;
}

/** Largest summary file read (256 MiB: a 50,000-job summary is a few MiB). */
const MAX_SUMMARY_BYTES = 256 * 2 ** 20;

async function readSources(dir: string): Promise<SummarySource[]> {
  const sources: SummarySource[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !isSummaryFile(entry.name)) continue;
      const path = join(dir, entry.name);
      const info = await Deno.stat(path);
      let doc: unknown;
      if (info.size > MAX_SUMMARY_BYTES) doc = null;
      else {
        try {
          doc = JSON.parse(await Deno.readTextFile(path));
        } catch {
          doc = null; // reported as ignored: not a summary
        }
      }
      sources.push({ file: entry.name, mtimeMs: info.mtime?.getTime() ?? 0, doc });
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`cannot collect ${dir}: the directory does not exist`);
    }
    if (e instanceof Deno.errors.NotADirectory) {
      throw new Error(`cannot collect ${dir}: it is not a directory`);
    }
    throw new Error(`cannot collect ${dir}: ${(e as Error).message.split("\n")[0]}`);
  }
  return sources;
}

/** The names of the regular files in `dir`. */
async function filesIn(dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.add(entry.name);
  return names;
}

/** `2, 5, 7` or `0-3, 6`: shard lists as a Slurm `--array` value takes them. */
export function shardRanges(shards: readonly number[]): string {
  const parts: string[] = [];
  for (let k = 0; k < shards.length;) {
    let j = k;
    while (j + 1 < shards.length && shards[j + 1] === shards[j] + 1) j++;
    parts.push(
      j > k + 1
        ? `${shards[k]}-${shards[j]}`
        : j === k
        ? `${shards[k]}`
        : `${shards[k]},${shards[j]}`,
    );
    k = j + 1;
  }
  return parts.join(",");
}

/** The stderr report of a collect, one line each. */
export function collectReport(c: Collected, jobsFile: string, summaryPath: string): string[] {
  const lines = c.failures.map((f) => `zipar: ${jobsFile}:${f.line}: ${f.reason}`);
  for (const s of c.collected.ignored) {
    lines.push(`zipar: ignored ${s.file}: ${s.reason}`);
  }
  const complete = c.done + c.skipped;
  lines.push(
    `zipar: collect ${c.jobs} jobs: ${complete} complete (${c.done} done, ${c.skipped} skipped), ${c.failed} failed, ${c.missing} missing; summary ${summaryPath}`,
  );
  if (c.missing > 0) {
    const { shards, missingShards } = c.collected;
    const names = c.missingJobs.slice(0, 3).map((m) => m.name ?? `line ${m.line}`).join(", ");
    const written = c.missingJobs.filter((m) => m.written).length;
    const unreported = written > 0 ? `; ${written} written but unreported, rechecked on rerun` : "";
    const jobs = `${c.missing} ${c.missing === 1 ? "job" : "jobs"} missing (${names}${
      c.missing > 3 ? ", …" : ""
    }${unreported})`;
    if (shards === null) lines.push(`zipar: ${jobs}: rerun the batch (it resumes)`);
    else {
      const list = shardRanges(missingShards);
      const one = missingShards.length === 1 ? `--shard ${missingShards[0]}/${shards}, or ` : "";
      lines.push(
        `zipar: ${jobs}, in shards ${list} of ${shards}: rerun them (they resume): ${one}sbatch --array=${list} with --shard auto --shard-count ${shards}`,
      );
    }
  }
  return lines;
}

/** Collect DIR; returns the exit code (0 complete, 1 failed or missing jobs). */
export async function collectBatch(options: CollectOptions): Promise<number> {
  const { dir, io } = options;
  const entries = parseJobs(options.jobsText);
  const sources = await readSources(dir);
  const files = await filesIn(dir);
  const merged = mergeSummaries(
    entries,
    sources,
    (names) => names.every((n) => files.has(n)),
    options.shardCount,
  );
  const summary = {
    format: SUMMARY_FORMAT,
    zipar: VERSION,
    jobsFile: options.jobsFile,
    outDir: dir,
    shard: null,
    ...merged,
  };
  const path = join(dir, "summary.json");
  const out = await openSummary(path); // a symlink there is replaced, never followed
  try {
    await out.write(new TextEncoder().encode(prettyJson(summary, "") + "\n"));
    await out.commit();
  } finally {
    await out.abort();
  }
  if (!options.quiet) {
    // Reasons come from summary files anyone may have written: escaped, as every error line.
    for (const line of collectReport(merged, options.jobsFile, path)) {
      io.writeStderr(printable(line) + "\n");
    }
  }
  return merged.failed > 0 || merged.missing > 0 ? 1 : 0;
}
