// `wirecheck batch` orchestration: discovery -> (resume filter) -> worker pool -> outputs
// (stdout in the chosen format, the --out NDJSON file, the summary, the progress bar).
//
// This module does not analyse anything itself: the pool runs `taskModule`'s task on each
// file (the CLI passes a module that calls the pipeline), and `errorOutput` makes the
// report of a file that could not be handed to it (discovery errors, crashed workers).
// That keeps it testable with any task.

import { join } from 'node:path';
import { discover, type FoundError } from './discover.js';
import type { Shard } from './shard.js';
import { fileKey, loadPreviousRun, NdjsonFile, type PreviousRun } from './resume.js';
import { WorkerPool, type PoolStats } from './pool.js';
import { Progress, type ProgressStream } from './progress.js';
import { SummaryBuilder, type BatchSummary, type FileDigest } from '../report/summary.js';
import { UsageError } from '../errors.js';

/** What a worker is asked to do: analyse one file. */
export interface FileTask {
  /** path to open */
  file: string;
  root: string;
  /** POSIX path relative to root (the report's input.path) */
  path: string;
  size: number;
  mtimeMs: number;
}

/** What comes back: the report as an NDJSON line, and its digest for the summary. */
export interface TaskOutput {
  /** the report as one NDJSON line ('' when neither --out nor the format needs it) */
  line: string;
  digest: FileDigest;
}

/** A file that gets an error report without being analysed. */
export interface FailedFile {
  file: string;
  root: string;
  path: string;
  size: number | null;
  mtimeMs: number | null;
  code: string;
  message: string;
}

/** files discovery may run ahead of the workers (bounds the main thread's memory) */
export const LOOKAHEAD = 100_000;
/** a worker gets its next file early only while its current one is at most this big */
export const PREFETCH_MAX_BYTES = 16 << 20;

export type BatchFormat = 'table' | 'json' | 'ndjson';

export interface BatchRunOptions {
  args: readonly string[];
  jobs: number;
  shard?: Shard | null;
  out?: string | null;
  resume?: boolean;
  verbose?: boolean;
  format: BatchFormat;
  /** module (file:// URL) exporting createTask(init) -> (task: FileTask) => TaskOutput */
  taskModule: string;
  init: unknown;
  errorOutput(f: FailedFile): TaskOutput;
  /** summary as text (table format) */
  renderSummary(s: BatchSummary): string;
  stdout(s: string): Promise<void>;
  stderr: ProgressStream;
  /** show the progress bar (default: when stderr is a TTY) */
  progress?: boolean;
  maxOldGenerationSizeMb?: number;
  /** worker host module override (tests) */
  workerUrl?: URL;
  /**
   * Handle Ctrl-C: the first SIGINT lets the files in progress finish (their reports are
   * written), starts no more and ends the run with `interrupted` set; a second one ends the
   * process at once.
   */
  handleSigint?: boolean;
}

export interface BatchRunResult {
  summary: BatchSummary;
  /** files analysed by this run */
  scanned: number;
  /** files skipped because the --out file already had their report */
  alreadyReported: number;
  /** error reports made without analysis (discovery problems) */
  discoveryErrors: number;
  bytes: number;
  elapsedMs: number;
  previous: PreviousRun | null;
  pool: PoolStats;
  /** stopped early by SIGINT: some files were not scanned */
  interrupted: boolean;
}

/** The error report of a discovery problem. */
function failedFromDiscovery(d: FoundError): FailedFile {
  return { file: d.file, root: d.root, path: d.path, size: null, mtimeMs: null, code: d.code, message: d.message };
}

export async function runBatch(o: BatchRunOptions): Promise<BatchRunResult> {
  const started = Date.now();
  const summary = new SummaryBuilder();
  const outError = (e: unknown): UsageError =>
    new UsageError(`--out: cannot ${o.resume ? 'resume from' : 'write'} ${o.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  let previous: PreviousRun | null = null;
  if (o.resume && o.out) {
    try {
      previous = await loadPreviousRun(o.out, (d) => summary.add(d));
    } catch (e) {
      throw outError(e);
    }
  }
  const progress = new Progress(o.stderr, o.progress ?? o.stderr.isTTY === true);
  if (previous && o.verbose) {
    progress.log(`wirecheck: resuming: ${previous.reports} reports already in ${o.out}` +
      `${previous.droppedBytes ? `; dropped an unterminated last line (${previous.droppedBytes} bytes)` : ''}` +
      `${previous.badLines ? `; ignored ${previous.badLines} lines that are not reports` : ''}`);
  }
  let outFile: NdjsonFile | null = null;
  try {
    if (o.out) outFile = new NdjsonFile(o.out, previous !== null);
  } catch (e) {
    progress.finish();
    throw outError(e);
  }
  let jsonFirst = true;
  let scanned = 0, alreadyReported = 0, discoveryErrors = 0, bytes = 0;

  const emit = async (out: TaskOutput, shownPath: string): Promise<void> => {
    outFile?.writeLine(out.line);
    summary.add(out.digest);
    if (out.digest.error) progress.log(`wirecheck: ${out.digest.error.message}: ${shownPath}`);
    if (o.format === 'ndjson') {
      await o.stdout(out.line);
    } else if (o.format === 'json') {
      const body = out.line.endsWith('\n') ? out.line.slice(0, -1) : out.line;
      const text = (jsonFirst ? '' : ',\n') + body;
      jsonFirst = false;
      await o.stdout(text);
    }
  };

  const isDone = (root: string, path: string, size: number | null, mtimeMs: number | null, error: boolean): boolean => {
    if (!previous) return false;
    const p = previous.reported.get(fileKey(root, path));
    if (!p) return false;
    if (error) return p.error;
    return p.size === size && p.mtimeMs === mtimeMs;
  };

  // Discovery runs ahead of the workers (so the progress bar knows the totals and its ETA,
  // and reading directories overlaps analysis), at most LOOKAHEAD files ahead.
  const queue: FileTask[] = [];
  let qHead = 0;
  let discovering = true;
  let discoveryError: unknown = null;
  let stopped = false;
  let wakeConsumer: (() => void) | null = null;
  let wakeProducer: (() => void) | null = null;
  const wake = (w: (() => void) | null): null => { w?.(); return null; };

  const produce = async (): Promise<void> => {
    try {
      for await (const d of discover(o.args, { shard: o.shard ?? null, withSkipped: o.verbose === true })) {
        if (stopped) break;
        if (d.kind === 'skip') {
          progress.log(`wirecheck: skipped (${d.reason}): ${d.file}`);
        } else if (d.kind === 'error') {
          if (isDone(d.root, d.path, null, null, true)) { alreadyReported++; continue; }
          discoveryErrors++;
          await emit(o.errorOutput(failedFromDiscovery(d)), d.file);
        } else {
          if (isDone(d.root, d.path, d.size, d.mtimeMs, false)) { alreadyReported++; continue; }
          progress.found(d.size);
          queue.push({ file: d.file, root: d.root, path: d.path, size: d.size, mtimeMs: d.mtimeMs });
          wakeConsumer = wake(wakeConsumer);
          if (queue.length - qHead >= LOOKAHEAD) await new Promise<void>((r) => { wakeProducer = r; });
        }
      }
    } catch (e) {
      discoveryError = e;
    } finally {
      discovering = false;
      progress.discoveryDone();
      wakeConsumer = wake(wakeConsumer);
    }
  };

  async function* tasks(): AsyncGenerator<FileTask> {
    for (;;) {
      if (qHead < queue.length) {
        const t = queue[qHead];
        queue[qHead++] = undefined as unknown as FileTask;
        if (qHead > 4096 && qHead * 2 > queue.length) { queue.splice(0, qHead); qHead = 0; }
        wakeProducer = wake(wakeProducer);
        yield t;
      } else if (discovering) {
        await new Promise<void>((r) => { wakeConsumer = r; });
      } else {
        if (discoveryError !== null) throw discoveryError;
        return;
      }
    }
  }

  const pool = new WorkerPool<FileTask, TaskOutput>({
    size: o.jobs,
    taskModule: o.taskModule,
    init: o.init,
    maxOldGenerationSizeMb: o.maxOldGenerationSizeMb,
    workerUrl: o.workerUrl,
    onFailure: (t, message) => o.errorOutput({ ...t, code: 'INTERNAL', message }),
    // queue the next file behind a small one (a few ms of work), never behind a big one
    prefetchable: (t) => t.size <= PREFETCH_MAX_BYTES,
  });

  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) {
      // second Ctrl-C: quit now, the default way
      process.removeListener('SIGINT', onSigint);
      progress.finish();
      process.kill(process.pid, 'SIGINT');
      return;
    }
    interrupted = true;
    stopped = true;
    pool.stop();
    wakeProducer = wake(wakeProducer);
    progress.log(`wirecheck: interrupted: finishing the files in progress (Ctrl-C again to quit now)${o.out ? `; run the same command with --resume to scan the rest` : ''}`);
  };
  if (o.handleSigint) process.on('SIGINT', onSigint);

  if (o.format === 'json') await o.stdout('[\n');
  const producing = produce();
  try {
    await pool.run(tasks(), async (t, out) => {
      scanned++;
      bytes += t.size;
      progress.done(t.size);
      await emit(out, t.file);
    });
    await producing;
  } finally {
    if (o.handleSigint) process.removeListener('SIGINT', onSigint);
    stopped = true;
    wakeProducer = wake(wakeProducer);
    progress.finish();
    outFile?.close();
  }
  const s = summary.build();
  if (o.format === 'json') await o.stdout(jsonFirst ? ']\n' : '\n]\n');
  else if (o.format === 'table') await o.stdout(o.renderSummary(s));
  const elapsedMs = Date.now() - started;
  if (o.verbose) {
    progress.log(`wirecheck: batch: ${scanned} files analysed (${(bytes / 1048576).toFixed(1)} MiB) in ${(elapsedMs / 1000).toFixed(1)} s` +
      `${alreadyReported ? `, ${alreadyReported} already reported` : ''}${discoveryErrors ? `, ${discoveryErrors} could not be opened` : ''}` +
      `${pool.stats.workersLost ? `, ${pool.stats.workersLost} workers crashed and were replaced` : ''}`);
  }
  return { summary: s, scanned, alreadyReported, discoveryErrors, bytes, elapsedMs, previous, pool: pool.stats, interrupted };
}

/** root + POSIX path as a path to show (for messages). */
export function shownPath(root: string, path: string): string {
  return root === '' || root === '.' ? path : join(root, path);
}
