// Batch summary: what `wirecheck batch` prints at the end in table format, and what
// `wirecheck summarize <file.ndjson...>` prints from the NDJSON of one or more runs.
//
// Both build it the same way: every Report is reduced to a small FileDigest (batch workers
// do that next to the analysis, summarize does it per parsed line), the digests are merged
// by SummaryBuilder, and the summary is rendered. The result depends only on the set of
// digests, never on their order, so three shards merged by `summarize` print exactly what
// one unsharded batch prints.
//
// A file reported twice (same root and path: e.g. a resumed batch rescanned a file that had
// changed since) counts once, with its last report.

import Table from 'cli-table3';
import type { Report } from './types.js';
import type { Finding } from '../detect/types.js';

/** What the summary needs from one Report. Plain data (it crosses worker threads). */
export interface FileDigest {
  root: string | null;
  path: string;
  size: number | null;
  mtimeMs: number | null;
  error: { code: string; message: string } | null;
  packets: number;
  bytes: number;
  /** check name -> status */
  checks: Record<string, string>;
  findings: FindingDigest[];
}

export interface FindingDigest {
  id: string;
  check: string;
  severity: string;
  /** the finding's target as text, e.g. '208.67.222.222 UDP/443' */
  target: string;
  /** evidence packets */
  count: number;
}

export interface CheckSummary {
  check: string;
  fail: number;
  warn: number;
  pass: number;
  notObserved: number;
  /** files whose status for this check is `fail`, sorted */
  failingFiles: string[];
}

export interface FrequentFinding {
  id: string;
  check: string;
  /** the worst severity it had in any file */
  severity: string;
  target: string;
  /** files in which it was found */
  files: number;
  /** evidence packets over all those files */
  count: number;
}

export interface BatchSummary {
  type: 'batch-summary';
  files: number;
  /** files that could not be read (reports with `error`) */
  unreadable: number;
  /** files with at least one finding */
  withFindings: number;
  /** files with at least one check in status `fail` */
  failing: number;
  packets: number;
  bytes: number;
  roots: string[];
  errorsByCode: Record<string, number>;
  unreadableFiles: { path: string; code: string; message: string }[];
  checks: CheckSummary[];
  topFindings: FrequentFinding[];
  exitCode: 0 | 1 | 2;
}

export function targetText(t: Finding['target'] | undefined): string {
  if (!t || typeof t.ip !== 'string') return '?';
  const port = Array.isArray(t.ports) && t.ports.length > 0 ? t.ports.join('/') : t.port !== undefined ? String(t.port) : '';
  const tr = t.transport ? `${String(t.transport).toUpperCase()}/` : '';
  return port ? `${t.ip} ${tr}${port}` : t.ip;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Reduce a Report to what the summary needs. Tolerates reports written by other versions
 * (missing or odd fields become neutral values), since summarize reads files from anywhere.
 */
export function digestReport(r: Report): FileDigest {
  const input = (r.input ?? {}) as Partial<Report['input']>;
  const checks: Record<string, string> = {};
  if (Array.isArray(r.checks)) {
    for (const c of r.checks) if (c && typeof c.check === 'string') checks[c.check] = String(c.status);
  }
  const findings: FindingDigest[] = [];
  if (Array.isArray(r.findings)) {
    for (const f of r.findings) {
      if (!f || typeof f.id !== 'string') continue;
      findings.push({ id: f.id, check: String(f.check), severity: String(f.severity), target: targetText(f.target), count: num(f.count) });
    }
  }
  const err = r.error && typeof r.error === 'object'
    ? { code: String(r.error.code), message: String(r.error.message) } : null;
  return {
    root: typeof input.root === 'string' ? input.root : null,
    path: typeof input.path === 'string' ? input.path : '?',
    size: numOrNull(input.size),
    mtimeMs: numOrNull(input.mtimeMs),
    error: err,
    packets: num(input.packets),
    bytes: num(input.bytes),
    checks,
    findings,
  };
}

const CHECK_ORDER = ['dns-protection', 'web-protection', 'gotomeeting'];

function severityRank(s: string): number {
  return s === 'error' ? 3 : s === 'warning' ? 2 : s === 'info' ? 1 : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function joinPosix(root: string, path: string): string {
  if (root === '' || root === '.') return path;
  return root.endsWith('/') ? root + path : `${root}/${path}`;
}

/** Merges FileDigests (order-independent; the last digest of a root+path wins). */
export class SummaryBuilder {
  private readonly byFile = new Map<string, FileDigest>();
  /** one copy of each repeated string (check names, statuses, finding ids and targets, roots) */
  private readonly strings = new Map<string, string>();

  private intern(s: string): string {
    const hit = this.strings.get(s);
    if (hit !== undefined) return hit;
    if (this.strings.size < 100_000) this.strings.set(s, s);
    return s;
  }

  /** Add a file's digest (the builder keeps it, and may rewrite its strings). */
  add(d: FileDigest): void {
    // digests of a big archive are kept until the end: share their repeated strings
    if (d.root !== null) d.root = this.intern(d.root);
    const checks: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.checks)) checks[this.intern(k)] = this.intern(v);
    d.checks = checks;
    for (const f of d.findings) {
      f.id = this.intern(f.id);
      f.check = this.intern(f.check);
      f.severity = this.intern(f.severity);
      f.target = this.intern(f.target);
    }
    const key = (d.root ?? '') + '\0' + d.path;
    // delete first so that Map order stays "last added last" (not needed for the result,
    // which is sorted, but keeps iteration predictable)
    this.byFile.delete(key);
    this.byFile.set(key, d);
  }

  get size(): number {
    return this.byFile.size;
  }

  build(): BatchSummary {
    const roots = new Set<string>();
    for (const d of this.byFile.values()) roots.add(d.root ?? '');
    const showRoot = roots.size > 1;
    const display = (d: FileDigest): string => (showRoot && d.root !== null ? joinPosix(d.root, d.path) : d.path);

    let unreadable = 0, withFindings = 0, failing = 0, packets = 0, bytes = 0;
    const errorsByCode: Record<string, number> = {};
    const unreadableFiles: BatchSummary['unreadableFiles'] = [];
    const checks = new Map<string, CheckSummary>();
    const freq = new Map<string, FrequentFinding & { seenIn: number }>();
    let fileNo = 0;
    for (const d of this.byFile.values()) {
      fileNo++;
      packets += d.packets;
      bytes += d.bytes;
      if (d.error) {
        unreadable++;
        errorsByCode[d.error.code] = (errorsByCode[d.error.code] ?? 0) + 1;
        unreadableFiles.push({ path: display(d), code: d.error.code, message: d.error.message });
      }
      if (d.findings.length > 0) withFindings++;
      let anyFail = false;
      for (const [name, status] of Object.entries(d.checks)) {
        let c = checks.get(name);
        if (!c) { c = { check: name, fail: 0, warn: 0, pass: 0, notObserved: 0, failingFiles: [] }; checks.set(name, c); }
        if (status === 'fail') { c.fail++; c.failingFiles.push(display(d)); anyFail = true; }
        else if (status === 'warn') c.warn++;
        else if (status === 'pass') c.pass++;
        else c.notObserved++;
      }
      if (anyFail) failing++;
      for (const f of d.findings) {
        const key = f.id + '\0' + f.target;
        let e = freq.get(key);
        if (!e) { e = { id: f.id, check: f.check, severity: f.severity, target: f.target, files: 0, count: 0, seenIn: 0 }; freq.set(key, e); }
        if (e.seenIn !== fileNo) { e.files++; e.seenIn = fileNo; }
        e.count += f.count;
        // the same finding may be an error in one file and a warning in another: show the
        // worst, so that the result does not depend on the order of the files
        if (severityRank(f.severity) > severityRank(e.severity)) e.severity = f.severity;
      }
    }
    unreadableFiles.sort((a, b) => cmp(a.path, b.path));
    const checkList = [...checks.values()].sort((a, b) => {
      const ia = CHECK_ORDER.indexOf(a.check), ib = CHECK_ORDER.indexOf(b.check);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || cmp(a.check, b.check);
    });
    for (const c of checkList) c.failingFiles.sort(cmp);
    const topFindings = [...freq.values()]
      .sort((a, b) => b.files - a.files || b.count - a.count || cmp(a.id, b.id) || cmp(a.target, b.target))
      .slice(0, 10)
      .map(({ seenIn: _seenIn, ...f }) => f);
    const sortedErrors: Record<string, number> = {};
    for (const k of Object.keys(errorsByCode).sort(cmp)) sortedErrors[k] = errorsByCode[k];
    return {
      type: 'batch-summary',
      files: this.byFile.size,
      unreadable,
      withFindings,
      failing,
      packets,
      bytes,
      roots: [...roots].filter((r) => r !== '').sort(cmp),
      errorsByCode: sortedErrors,
      unreadableFiles,
      checks: checkList,
      topFindings,
      exitCode: unreadable > 0 ? 2 : failing > 0 ? 1 : 0,
    };
  }
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** The summary as text for a terminal. `maxListed` bounds the file lists. */
export function renderSummaryTable(s: BatchSummary, version: string, width = process.stdout.columns || 120, maxListed = 20): string {
  const out: string[] = [];
  out.push(`wirecheck ${version} — batch summary${s.roots.length ? ` (${s.roots.join(', ')})` : ''}`);
  const info = new Table({ style: { head: [], border: [] } });
  info.push(
    { 'files scanned': String(s.files) },
    { 'unreadable': s.unreadable === 0 ? '0' : `${s.unreadable}  (${Object.entries(s.errorsByCode).map(([k, v]) => `${k}:${v}`).join(' ')})` },
    { 'with a failing check': String(s.failing) },
    { 'with findings': String(s.withFindings) },
    { 'packets': `${s.packets}  (${fmtBytes(s.bytes)} on the wire)` },
  );
  out.push(info.toString());

  if (s.checks.length > 0) {
    const t = new Table({ head: ['check', 'fail', 'warn', 'pass', 'not observed'], style: { head: [], border: [] } });
    for (const c of s.checks) t.push([c.check, String(c.fail), String(c.warn), String(c.pass), String(c.notObserved)]);
    out.push(t.toString());
    for (const c of s.checks) {
      if (c.fail === 0) continue;
      out.push(`Files failing ${c.check} (${c.fail}):`);
      for (const f of c.failingFiles.slice(0, maxListed)) out.push(`  ${f}`);
      if (c.failingFiles.length > maxListed) out.push(`  … and ${c.failingFiles.length - maxListed} more`);
    }
  }

  if (s.topFindings.length > 0) {
    out.push('Most frequent findings:');
    const t = new Table({
      head: ['finding', 'target', 'severity', 'files', 'packets'], wordWrap: true,
      colWidths: [20, Math.max(24, Math.min(48, width - 52)), 10, 8, 10], style: { head: [], border: [] },
    });
    for (const f of s.topFindings) t.push([f.id, f.target, f.severity, String(f.files), String(f.count)]);
    out.push(t.toString());
  }

  if (s.unreadableFiles.length > 0) {
    out.push(`Unreadable files (${s.unreadable}):`);
    for (const u of s.unreadableFiles.slice(0, maxListed)) out.push(`  ${u.path}: ${u.code}: ${u.message}`);
    if (s.unreadableFiles.length > maxListed) out.push(`  … and ${s.unreadableFiles.length - maxListed} more`);
  }
  return out.join('\n') + '\n';
}

/** The summary as one JSON document (summarize --format json). */
export function renderSummaryJson(s: BatchSummary): string {
  return JSON.stringify(s, null, 2) + '\n';
}
