// --out and --resume: the NDJSON output file of a batch.
//
// Every report is written as one whole line with one write(2) on a descriptor opened for
// appending, so a batch killed at any moment leaves complete lines plus at most one
// unterminated last line. `--resume` drops that partial line (truncating the file after the
// last newline), reads the reports already there, and the batch skips the files they cover
// (same root, path, size and modification time), so running the same command again
// finishes the job with every file reported exactly once.

import { closeSync, createReadStream, ftruncateSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Report } from '../report/types.js';
import { digestReport, type FileDigest } from '../report/summary.js';

export interface PreviousReport {
  size: number | null;
  mtimeMs: number | null;
  error: boolean;
}

export interface PreviousRun {
  /** root + '\0' + path -> what was reported (the last report of that file) */
  reported: Map<string, PreviousReport>;
  /** report lines read */
  reports: number;
  /** bytes of an unterminated last line that were dropped */
  droppedBytes: number;
  /** lines that were not JSON reports (ignored) */
  badLines: number;
}

export function fileKey(root: string | null | undefined, path: string): string {
  return (root ?? '') + '\0' + path;
}

/**
 * Truncate `fd` after its last newline (dropping a line a kill left unterminated). Returns
 * the number of bytes dropped.
 */
export function dropPartialLine(fd: number): number {
  const size = fstatSync(fd).size;
  if (size === 0) return 0;
  const chunk = Buffer.allocUnsafe(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    for (let i = n - 1; i >= 0; i--) {
      if (chunk[i] === 0x0a) {
        const keep = start + i + 1;
        if (keep < size) ftruncateSync(fd, keep);
        return size - keep;
      }
    }
    end = start;
  }
  ftruncateSync(fd, 0);
  return size;
}

/**
 * Read the reports of an existing output file (after dropping a partial last line). Each
 * report is also handed to `onReport` as a digest (the batch summary counts them). A
 * missing file is an empty previous run.
 */
export async function loadPreviousRun(outPath: string, onReport?: (d: FileDigest) => void): Promise<PreviousRun> {
  const run: PreviousRun = { reported: new Map(), reports: 0, droppedBytes: 0, badLines: 0 };
  let fd: number;
  try {
    fd = openSync(outPath, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return run;
    throw e;
  }
  try {
    run.droppedBytes = dropPartialLine(fd);
  } finally {
    closeSync(fd);
  }
  const rl = createInterface({ input: createReadStream(outPath, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    let r: Report;
    try {
      r = JSON.parse(line) as Report;
    } catch {
      run.badLines++;
      continue;
    }
    if (r === null || typeof r !== 'object' || r.type !== 'report' || typeof r.input !== 'object' || r.input === null) {
      run.badLines++;
      continue;
    }
    const d = digestReport(r);
    run.reports++;
    run.reported.set(fileKey(d.root, d.path), { size: d.size, mtimeMs: d.mtimeMs, error: d.error !== null });
    onReport?.(d);
  }
  return run;
}

/** An NDJSON output file: whole lines, appended with one write each. */
export class NdjsonFile {
  private fd: number;

  /** `append`: keep what is there (resume), else start empty. */
  constructor(readonly path: string, append: boolean) {
    if (!append) closeSync(openSync(path, 'w'));
    this.fd = openSync(path, 'a');
  }

  writeLine(line: string): void {
    const b = Buffer.from(line.endsWith('\n') ? line : line + '\n', 'utf8');
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
