/**
 * `zipar batch JOBS.jsonl --collect DIR`, the pure part: merge the summaries the shards wrote
 * into DIR into one summary of the whole job file — every job done, skipped, failed or
 * missing (no summary reports it, or its output file is gone), and which shards to rerun.
 *
 * The job file is the authority on which jobs exist; the summaries say what happened to them.
 * When several summaries report a job (a shard rerun after a crash, an earlier collect), the
 * newest one (by modification time) wins; a job reported complete counts as missing when its
 * output file is not in DIR.
 *
 * @module
 */

import { type JobEntry, jobFiles } from "./jobs.ts";

/** The `format` of batch summaries, per shard and collected. */
export const SUMMARY_FORMAT = "zipar.batch-summary/1";

/** A summary file read from DIR. */
export interface SummarySource {
  /** File name in DIR. */
  file: string;
  /** Modification time, ms since the epoch (newer reports win). */
  mtimeMs: number;
  /** The parsed JSON. */
  doc: unknown;
}

/** What happened to one job of the job file. */
export type CollectedStatus = "done" | "skipped" | "failed" | "missing";

/** The merged result (the fields of summary.json that collect computes). */
export interface Collected {
  /** Jobs in the job file (non-blank lines). */
  jobs: number;
  /** Jobs written by the run that reported them. */
  done: number;
  /** Jobs found complete by the run that reported them. */
  skipped: number;
  /** Jobs that failed (bad lines included). */
  failed: number;
  /** Jobs no summary reports, or whose output is gone. */
  missing: number;
  /** Sums over the shard summaries read (each shard's latest run). */
  images: number;
  /** generate() calls, summed. */
  batches: number;
  /** Forward passes, summed. */
  passes: number;
  /** Model loading, summed over shards, ms. */
  loadMs: number;
  /** The slowest shard's wall time, ms. */
  wallMs: number;
  /** Backend and model the summaries name (null when none or they differ). */
  backend: string | null;
  /** Model name, as `backend`. */
  model: string | null;
  /** How the shards were read. */
  collected: {
    /** Shard count (--shard-count, else the one the shard summaries agree on), or null. */
    shards: number | null;
    /** Summary files used, oldest first. */
    summaries: string[];
    /** Summary files ignored, with why. */
    ignored: { file: string; reason: string }[];
    /** Shards (index mod `shards`) holding missing jobs: the ones to rerun. */
    missingShards: number[];
  };
  /** Failed jobs. */
  failures: { line: number; name: string | null; reason: string }[];
  /**
   * Missing jobs, with their shard when the count is known, and whether the output is there
   * anyway (written by a shard killed before its summary: the rerun checks and skips it).
   */
  missingJobs: { line: number; name: string | null; shard: number | null; written: boolean }[];
  /** Complete jobs. */
  outputs: { line: number; name: string; status: "done" | "skipped" }[];
}

interface Report {
  status: "done" | "skipped" | "failed";
  reason?: string;
  mtimeMs: number;
}

const SHARD_FILE = /^summary\.shard-(\d+)-of-(\d+)\.json$/;

/** Whether `file` is a name batch writes summaries under (`summary.json`, `summary.shard-i-of-n.json`). */
export function isSummaryFile(file: string): boolean {
  return file === "summary.json" || SHARD_FILE.test(file);
}

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Most shards a summary may name (as `--shard-count`). */
export const MAX_SHARDS = 999_999;

/** Why `doc` (read from `file`) is not a batch summary, or null. */
function summaryError(file: string, doc: unknown): string | null {
  if (!isObject(doc) || doc.format !== SUMMARY_FORMAT) return `not a ${SUMMARY_FORMAT} file`;
  const rows = (v: unknown) =>
    Array.isArray(v) && v.every((r) => isObject(r) && Number.isSafeInteger(r.line));
  if (!rows(doc.outputs) || !rows(doc.failures)) return "its outputs or failures are malformed";
  // A shard's count names the shards to rerun: only i of n, 0 ≤ i < n, the shard of its name.
  const named = SHARD_FILE.exec(file);
  const { index, count } = isObject(doc.shard) ? doc.shard : { index: null, count: null };
  const shard = Number.isSafeInteger(index) && Number.isSafeInteger(count) &&
      (index as number) >= 0 && (index as number) < (count as number) &&
      (count as number) <= MAX_SHARDS
    ? [index as number, count as number]
    : null;
  const wellFormed = named
    ? shard !== null && shard[0] === Number(named[1]) && shard[1] === Number(named[2])
    : doc.shard === null || doc.shard === undefined || shard !== null;
  if (!wellFormed) {
    const which = named ? ", the shard its name says" : "";
    return `its shard is not i of n with 0 ≤ i < n ≤ ${MAX_SHARDS}${which}`;
  }
  return null;
}

/** The one value all of `values` share, else null. */
function agreed(values: unknown[]): string | null {
  const set = new Set(values.filter((v) => typeof v === "string"));
  return set.size === 1 ? [...set][0] as string : null;
}

/**
 * Merge `sources` (summary files of DIR) over the job file's `entries`; `present(files)` says
 * whether all of a job's output files are in DIR; `shardCount` is `--shard-count` when given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJobs } from "./jobs.ts";
 * import { mergeSummaries } from "./collect.ts";
 * const entries = parseJobs('{"name":"a","window":2}\n{"name":"b","window":2}\n');
 * const doc = {
 *   format: "zipar.batch-summary/1", shard: { index: 0, count: 2 }, images: 1, wallMs: 5,
 *   outputs: [{ line: 1, name: "a", status: "done" }], failures: [],
 * };
 * const got = mergeSummaries(entries, [{ file: "summary.shard-0-of-2.json", mtimeMs: 1, doc }], () => true);
 * assert.deepEqual([got.done, got.missing, got.collected.missingShards], [1, 1, [1]]);
 * ```
 */
export function mergeSummaries(
  entries: readonly JobEntry[],
  sources: readonly SummarySource[],
  present: (files: string[]) => boolean,
  shardCount?: number,
): Collected {
  const byLine = new Map(entries.map((e) => [e.line, e]));
  const reports = new Map<number, Report>();
  const used: SummarySource[] = [], ignored: Collected["collected"]["ignored"] = [];
  const ordered = [...sources].sort((a, b) => a.mtimeMs - b.mtimeMs || (a.file < b.file ? -1 : 1));
  for (const source of ordered) {
    const why = summaryError(source.file, source.doc);
    if (why) {
      ignored.push({ file: source.file, reason: why });
      continue;
    }
    used.push(source);
    const doc = source.doc as Doc;
    const claim = (row: Doc, report: Omit<Report, "mtimeMs">) => {
      const entry = byLine.get(row.line as number);
      // A row of another version of the job file (the line now holds another job) says nothing.
      if (!entry || (entry.name ?? null) !== (row.name ?? null)) return;
      const old = reports.get(entry.line);
      if (!old || old.mtimeMs <= source.mtimeMs) {
        reports.set(entry.line, { ...report, mtimeMs: source.mtimeMs });
      }
    };
    for (const row of doc.outputs as Doc[]) {
      claim(row, { status: row.status === "skipped" ? "skipped" : "done" });
    }
    for (const row of doc.failures as Doc[]) {
      claim(row, { status: "failed", reason: String(row.reason ?? "failed") });
    }
  }
  const shardDocs = used.filter((s) => SHARD_FILE.test(s.file)).map((s) => s.doc as Doc);
  const counts = new Set(shardDocs.map((d) => (isObject(d.shard) ? d.shard.count : null)));
  const shards = shardCount ??
    (counts.size === 1 && typeof [...counts][0] === "number" ? [...counts][0] as number : null);

  const out: Collected = {
    jobs: entries.length,
    done: 0,
    skipped: 0,
    failed: 0,
    missing: 0,
    images: 0,
    batches: 0,
    passes: 0,
    loadMs: 0,
    wallMs: 0,
    backend: agreed(used.map((s) => (s.doc as Doc).backend)),
    model: agreed(used.map((s) => (s.doc as Doc).model)),
    collected: { shards, summaries: used.map((s) => s.file), ignored, missingShards: [] },
    failures: [],
    missingJobs: [],
    outputs: [],
  };
  // Totals: each shard's latest run (an unsharded summary counts as one shard).
  for (const doc of used.map((s) => s.doc as Doc).filter((d) => !isObject(d.collected))) {
    out.images += num(doc.images);
    out.batches += num(doc.batches);
    out.passes += num(doc.passes);
    out.loadMs += num(doc.loadMs);
    out.wallMs = Math.max(out.wallMs, num(doc.wallMs));
  }
  out.loadMs = Math.round(out.loadMs * 10) / 10;
  const missingShards = new Set<number>();
  for (const entry of entries) {
    const report = reports.get(entry.line);
    if (entry.error !== null || report?.status === "failed") {
      out.failed++;
      out.failures.push({
        line: entry.line,
        name: entry.name,
        reason: entry.error ?? report!.reason!,
      });
    } else if (report && present(jobFiles(entry.job!))) {
      out[report.status]++;
      out.outputs.push({ line: entry.line, name: entry.job!.name, status: report.status });
    } else {
      out.missing++;
      const shard = shards === null ? null : entry.index % shards;
      if (shard !== null) missingShards.add(shard);
      const written = present(jobFiles(entry.job!));
      out.missingJobs.push({ line: entry.line, name: entry.name, shard, written });
    }
  }
  out.collected.missingShards = [...missingShards].sort((a, b) => a - b);
  return out;
}
