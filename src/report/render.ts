// Renderers: the same Report objects as a table for people, JSON / NDJSON for scripts.

import Table from 'cli-table3';
import type { Report } from './types.js';
import type { Finding } from '../detect/types.js';

export function renderJson(reports: readonly Report[]): string {
  return JSON.stringify(reports, null, 2) + '\n';
}

/** One line of NDJSON (a report, or a live finding with "type": "finding"). */
export function ndjsonLine(obj: unknown): string {
  return JSON.stringify(obj) + '\n';
}

export function findingLine(f: Finding): Record<string, unknown> {
  return { type: 'finding', ...f };
}

/** Exit code for a set of reports (design.md): 2 if any input unreadable, else 1 if any check failed, else 0. */
export function exitCodeFor(reports: readonly Report[]): 0 | 1 | 2 {
  if (reports.some((r) => r.error !== undefined)) return 2;
  if (reports.some((r) => r.checks.some((c) => c.status === 'fail'))) return 1;
  return 0;
}

const STATUS_MARK: Record<string, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', 'not-observed': '--' };

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

function framesText(f: Finding): string {
  const shown = f.frames.slice(0, 10).join(', ');
  return f.frames.length > 10 || f.count > f.frames.length ? `${shown}, … (${f.count} packets)` : shown;
}

function targetText(f: Finding): string {
  const t = f.target;
  const port = t.ports && t.ports.length > 0 ? t.ports.join('/') : t.port !== undefined ? String(t.port) : '';
  const tr = t.transport ? `${t.transport.toUpperCase()}/` : '';
  return port ? `${t.ip} ${tr}${port}` : t.ip;
}

/** A report as text for a terminal. `width` bounds wrapped columns. */
export function renderTable(r: Report, width = process.stdout.columns || 120): string {
  const out: string[] = [];
  const i = r.input;
  out.push(`wirecheck ${r.tool.version} — ${i.path}`);
  if (r.error) {
    out.push(`  error: ${r.error.code}: ${r.error.message}`);
    return out.join('\n') + '\n';
  }
  const info = new Table({ style: { head: [], border: [] } });
  info.push(
    { format: i.live !== undefined ? 'live capture (arrival timestamps)' : `${i.format ?? '?'}${i.compression ? ` (${i.compression})` : ''}` },
    { 'link types': i.linkTypes.join(', ') || '-' },
    { packets: `${i.packets}  (${fmtBytes(i.bytes)} on the wire${i.snaplenTruncatedFrames ? `, ${i.snaplenTruncatedFrames} cut by snap length` : ''})` },
    { time: i.firstTimestamp ? `${i.firstTimestamp} … ${i.lastTimestamp}` : '-' },
    { flows: `${r.flows.total}  ${Object.entries(r.flows.byConnState).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' ')}` },
  );
  if (i.truncated) info.push({ truncated: 'yes — the capture ends inside a record; every complete frame before it was analysed' });
  out.push(info.toString());

  if (r.checks.length > 0) {
    const t = new Table({ head: ['check', 'status', 'summary'], wordWrap: true, colWidths: [17, 8, Math.max(40, width - 31)], style: { head: [], border: [] } });
    for (const c of r.checks) t.push([c.check, STATUS_MARK[c.status] ?? c.status, c.summary]);
    out.push(t.toString());
  }

  if (r.findings.length > 0) {
    out.push('Findings:');
    let prevWhy = '', prevFix = '';
    for (const f of r.findings) {
      out.push(`  [${f.severity}] ${f.id}  ${targetText(f)}${f.target.names && f.target.names.length ? `  (${f.target.names.slice(0, 3).join(', ')})` : ''}`);
      out.push(`    ${f.message}`);
      out.push(`    frames: ${framesText(f)}`);
      if (f.clients.length) out.push(`    clients: ${f.clients.slice(0, 5).map((c) => `${c.ip} (${c.count})`).join(', ')}${f.clients.length > 5 ? ', …' : ''}`);
      if (f.signals && f.signals.length) {
        for (const s of f.signals.slice(0, 8)) out.push(`    signal: ${s.kind} on port ${s.port}, frame ${s.frame}: ${s.value}`);
      }
      out.push(`    Wireshark: ${f.wiresharkFilter}${f.decodeAs ? `   (Decode As: ${f.decodeAs})` : ''}`);
      // the same explanation and remedy for several targets are printed once
      if (f.explanation === prevWhy && f.remedy === prevFix) {
        out.push('    why / fix: as above');
      } else {
        out.push(`    why: ${f.explanation}`);
        out.push(`    fix: ${f.remedy}`);
      }
      prevWhy = f.explanation;
      prevFix = f.remedy;
    }
  }

  if (r.anomalies.length > 0) {
    const t = new Table({ head: ['anomaly', 'count', 'first frame', 'example'], wordWrap: true, colWidths: [30, 8, 12, Math.max(30, width - 56)], style: { head: [], border: [] } });
    for (const a of r.anomalies) t.push([`${a.layer}/${a.code}`, String(a.count), a.firstFrame === null ? '-' : String(a.firstFrame), a.message]);
    out.push(t.toString());
  }
  return out.join('\n') + '\n';
}
