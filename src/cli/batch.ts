// `wirecheck batch` and `wirecheck summarize` (issue 7).
//
// batch: parse the options, then src/batch/run.ts discovers the files and runs them on a
// pool of worker threads. This module is also the workers' task module: each worker imports
// it and calls `createTask(init)`, which analyses one file with the same pipeline as
// `analyze` (src/cli sees every stage; src/batch does not import the pipeline).
//
// Error codes in batch reports: those of design.md, plus `INTERNAL` when the analysis of a
// file threw or its worker died (e.g. ran out of its heap limit); that file's report says
// why, the worker is replaced, and the batch goes on (exit code 2, as for any unreadable
// file).
//
// summarize: reads the NDJSON of batch runs or shards and prints the same summary table
// (and exit code) as one batch over the same files.

import { availableParallelism } from 'node:os';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { CaptureError, UsageError } from '../errors.js';
import type { EffectiveConfig } from '../config.js';
import { analyzePath, errorReport } from '../pipeline.js';
import type { Report } from '../report/types.js';
import { ndjsonLine } from '../report/render.js';
import { digestReport, renderSummaryJson, renderSummaryTable, SummaryBuilder, type BatchSummary } from '../report/summary.js';
import { runBatch, type FailedFile, type FileTask, type TaskOutput } from '../batch/run.js';
import { parseShard } from '../batch/shard.js';
import { VERSION } from '../version.js';
import { addAnalysisOptions, buildConfig, parseFormat, type AnalysisOptionValues } from './options.js';
import { writeOut } from './io.js';

/** V8 heap limit of each batch worker (MiB): a runaway analysis fails its file, not the machine. */
export const WORKER_HEAP_LIMIT_MB = 2048;
export const MAX_JOBS = 256;

interface BatchOptionValues extends AnalysisOptionValues {
  jobs?: string;
  out?: string;
  resume?: boolean;
  shard?: string;
  verbose?: boolean;
  progress?: boolean;
  stats?: boolean;
}

/** A report as the batch needs it: its NDJSON line (only when some output wants it) and digest. */
function outputOf(r: Report, lines = true): TaskOutput {
  return { line: lines ? ndjsonLine(r) : '', digest: digestReport(r) };
}

/** The report of a file that was not analysed (or whose analysis failed). */
export function failedFileReport(config: EffectiveConfig, f: FailedFile): Report {
  const r = errorReport(config, f.path, new CaptureError('NOT_A_CAPTURE', f.message),
    { root: f.root, size: f.size, mtimeMs: f.mtimeMs });
  r.error = { code: f.code, message: f.message };
  return r;
}

/** Worker side: the task that analyses one file (called by src/batch/worker.ts). */
export function createTask(init: { config: EffectiveConfig; lines?: boolean }): (t: FileTask) => Promise<TaskOutput> {
  const config = init.config;
  const lines = init.lines !== false;
  return async (t: FileTask): Promise<TaskOutput> => {
    let r: Report;
    try {
      r = await analyzePath(t.file, config, { displayPath: t.path, root: t.root });
    } catch (e) {
      const message = `internal error while analysing: ${(e as Error).message}${process.env.WIRECHECK_DEBUG ? '\n' + (e as Error).stack : ''}`;
      r = failedFileReport(config, { ...t, code: 'INTERNAL', message });
    }
    return outputOf(r, lines);
  };
}

export function parseJobs(s: string | undefined): number {
  if (s === undefined) return Math.max(1, Math.min(MAX_JOBS, availableParallelism()));
  if (!/^\s*\d+\s*$/.test(s)) throw new UsageError(`--jobs: expected a number of worker threads, got '${s}'`);
  const n = Number(s);
  if (n < 1 || n > MAX_JOBS) throw new UsageError(`--jobs: expected 1 to ${MAX_JOBS}, got '${s}'`);
  return n;
}

function renderSummaryFor(s: BatchSummary): string {
  return renderSummaryTable(s, VERSION);
}

async function batchCommand(inputs: string[], o: BatchOptionValues): Promise<void> {
  const format = parseFormat(o.format);
  const jobs = parseJobs(o.jobs);
  const shard = o.shard !== undefined ? parseShard(o.shard) : null;
  if (o.resume && !o.out) throw new UsageError('--resume needs --out <file> (the NDJSON file of the run to finish)');
  const config = await buildConfig(o);
  const res = await runBatch({
    args: inputs,
    jobs,
    shard,
    out: o.out ?? null,
    resume: o.resume === true,
    verbose: o.verbose === true,
    format,
    taskModule: import.meta.url,
    // the table format without --out needs no report lines: the workers skip the JSON
    init: { config, lines: format !== 'table' || o.out !== undefined },
    errorOutput: (f) => outputOf(failedFileReport(config, f)),
    renderSummary: renderSummaryFor,
    stdout: writeOut,
    stderr: process.stderr,
    progress: o.progress === false ? false : undefined,
    maxOldGenerationSizeMb: WORKER_HEAP_LIMIT_MB,
    handleSigint: true,
  });
  if (o.stats) {
    const ru = process.resourceUsage();
    process.stderr.write(`wirecheck: stats ${JSON.stringify({
      files: res.scanned,
      bytes: res.bytes,
      elapsedMs: res.elapsedMs,
      jobs,
      workersStarted: res.pool.workersStarted,
      workersLost: res.pool.workersLost,
      maxRssKiB: ru.maxRSS,
      workers: res.pool.slots.map((s) => ({ files: s.tasks, peakHeapKiB: Math.round(s.peakHeap / 1024) })),
    })}\n`);
  }
  // interrupted: the summary covers what was scanned; 130 as for any run stopped by Ctrl-C
  process.exitCode = res.interrupted ? 130 : res.summary.exitCode;
}

/** Read NDJSON report files into a summary. Lines that are not reports are counted. */
export async function summarizeFiles(files: readonly string[], warn: (s: string) => void): Promise<{ summary: BatchSummary; badLines: number; missing: number }> {
  const b = new SummaryBuilder();
  let badLines = 0, missing = 0;
  for (const file of files) {
    const stream = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    let lineNo = 0;
    try {
      for await (const line of rl) {
        lineNo++;
        if (line.trim() === '') continue;
        let r: Report;
        try {
          r = JSON.parse(line) as Report;
        } catch {
          badLines++;
          warn(`${file}:${lineNo}: not a JSON line (a run killed mid-write?), ignored`);
          continue;
        }
        if (r === null || typeof r !== 'object' || typeof r.input !== 'object' || r.input === null) {
          badLines++;
          warn(`${file}:${lineNo}: not a report, ignored`);
          continue;
        }
        if (r.type !== 'report') continue;     // e.g. live "finding" lines
        b.add(digestReport(r));
      }
    } catch (e) {
      missing++;
      warn(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return { summary: b.build(), badLines, missing };
}

async function summarizeCommand(files: string[], o: { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  const { summary, missing } = await summarizeFiles(files, (s) => process.stderr.write(`wirecheck: ${s}\n`));
  if (format === 'table') await writeOut(renderSummaryFor(summary));
  else if (format === 'json') await writeOut(renderSummaryJson(summary));
  else await writeOut(ndjsonLine(summary));
  process.exitCode = missing > 0 ? 2 : summary.exitCode;
}

export function registerBatchCommands(program: Command): void {
  addAnalysisOptions(
    program.command('batch')
      .description('scan folders of captures (recursively), files or glob patterns in parallel; one report per capture file')
      .argument('<dir|file|glob...>', 'folders (walked recursively), capture files, or quoted glob patterns (*, ?, [..], **)'),
  )
    .option('-j, --jobs <n>', 'worker threads (default: number of cores)')
    .option('-o, --out <file>', 'also write every report as NDJSON to this file (one line per capture)')
    .option('--resume', 'with --out: skip files whose report is already in that file (same path, size, mtime); finishes a killed run')
    .option('--shard <i/n>', 'scan only shard i (from 0) of n, by a hash of each relative path; auto/n takes i from JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN')
    .option('-v, --verbose', 'list skipped files and a run summary on stderr')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal anyway)')
    .addOption(new Option('--stats', 'print run statistics (files, bytes, time, peak memory) as JSON on stderr').hideHelp())
    .action(batchCommand);

  program.command('summarize')
    .description('merge the NDJSON output of batch runs or shards into one summary (same table and exit code as one batch)')
    .argument('<file.ndjson...>', 'NDJSON files written by batch --out or --format ndjson (- for stdin)')
    .option('-f, --format <format>', 'output format: table, json or ndjson (the summary object)', 'table')
    .action(summarizeCommand);
}
