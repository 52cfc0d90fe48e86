// src/report/summary.ts (owned by the batch issue, tested here with the rest of batch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestReport, renderSummaryTable, SummaryBuilder, targetText, type FileDigest } from '../../src/report/summary.js';
import type { Report } from '../../src/report/types.js';
import type { Finding } from '../../src/detect/types.js';

function finding(id: Finding['id'], ip: string, port: number, count: number): Finding {
  return {
    id, check: id.startsWith('dns') ? 'dns-protection' : 'web-protection', severity: 'error',
    target: { ip, port, transport: id.startsWith('dns') ? 'udp' : 'tcp' }, clients: [], count, attempts: count,
    frames: [1], firstFrame: 1, lastFrame: 1, firstSeen: 'x', lastSeen: 'x', message: 'm', explanation: 'e', remedy: 'r', wiresharkFilter: 'f',
  };
}

function report(path: string, o: { error?: string; dns?: string; web?: string; findings?: Finding[]; root?: string; packets?: number }): Report {
  return {
    type: 'report', tool: { name: 'wirecheck', version: '0' }, config: {},
    input: { path, root: o.root ?? '/archive', size: 10, mtimeMs: 5, format: 'pcap', compression: null, linkTypes: [], packets: o.packets ?? 3, bytes: 300, snaplenTruncatedFrames: 0, firstTimestamp: null, lastTimestamp: null, truncated: false },
    ...(o.error ? { error: { code: o.error, message: 'bad' } } : {}),
    flows: { total: 0, byConnState: {} }, anomalies: [],
    checks: o.error ? [] : [
      { check: 'dns-protection', status: (o.dns ?? 'pass') as 'pass', summary: '', targets: [] },
      { check: 'web-protection', status: (o.web ?? 'not-observed') as 'pass', summary: '', targets: [] },
    ],
    findings: o.findings ?? [],
  };
}

const reports = [
  report('a.pcap', { dns: 'fail', findings: [finding('dns-unanswered', '208.67.222.222', 443, 6)] }),
  report('b.pcap', { dns: 'fail', web: 'fail', findings: [finding('dns-unanswered', '208.67.222.222', 443, 2), finding('swg-syn-unanswered', '146.112.255.50', 443, 4)] }),
  report('c.pcap', { dns: 'warn' }),
  report('d.pcap', { error: 'NOT_A_CAPTURE' }),
  report('sub/e.pcap', { web: 'fail', findings: [finding('swg-syn-unanswered', '146.112.255.50', 443, 1)] }),
];

test('targetText', () => {
  assert.equal(targetText({ ip: '1.2.3.4', port: 443, transport: 'udp' }), '1.2.3.4 UDP/443');
  assert.equal(targetText({ ip: '1.2.3.4', ports: [443, 80] }), '1.2.3.4 443/80');
  assert.equal(targetText({ ip: '1.2.3.4' }), '1.2.3.4');
});

test('counts: scanned, unreadable, failing, with findings, per check, most frequent findings', () => {
  const b = new SummaryBuilder();
  for (const r of reports) b.add(digestReport(r));
  const s = b.build();
  assert.equal(s.files, 5);
  assert.equal(s.unreadable, 1);
  assert.equal(s.failing, 3);
  assert.equal(s.withFindings, 3);
  assert.equal(s.packets, 15);
  assert.deepEqual(s.errorsByCode, { NOT_A_CAPTURE: 1 });
  assert.deepEqual(s.checks.map((c) => [c.check, c.fail, c.warn, c.pass, c.notObserved]), [
    ['dns-protection', 2, 1, 1, 0], ['web-protection', 2, 0, 0, 2]]);
  assert.deepEqual(s.checks[0].failingFiles, ['a.pcap', 'b.pcap']);
  assert.deepEqual(s.checks[1].failingFiles, ['b.pcap', 'sub/e.pcap']);
  assert.deepEqual(s.topFindings.map((f) => [f.id, f.target, f.files, f.count]), [
    ['dns-unanswered', '208.67.222.222 UDP/443', 2, 8],
    ['swg-syn-unanswered', '146.112.255.50 TCP/443', 2, 5]]);
  assert.equal(s.exitCode, 2);
  assert.deepEqual(s.roots, ['/archive']);
});

test('exit code: 1 when a check failed and all were read, 0 when none failed', () => {
  const b = new SummaryBuilder();
  for (const r of reports.filter((r) => !r.error)) b.add(digestReport(r));
  assert.equal(b.build().exitCode, 1);
  const c = new SummaryBuilder();
  c.add(digestReport(reports[2]));
  assert.equal(c.build().exitCode, 0);
  assert.equal(new SummaryBuilder().build().exitCode, 0);
});

test('order does not matter; a file reported again counts once, with its last report', () => {
  const render = (ds: FileDigest[]): string => {
    const b = new SummaryBuilder();
    for (const d of ds) b.add(d);
    return renderSummaryTable(b.build(), '0', 100);
  };
  const ds = reports.map(digestReport);
  const forward = render(ds);
  assert.equal(render([...ds].reverse()), forward);
  assert.equal(render([ds[3], ds[0], ds[4], ds[2], ds[1]]), forward);
  const fixedD = digestReport(report('d.pcap', { dns: 'pass' }));
  const b = new SummaryBuilder();
  for (const d of [...ds, fixedD]) b.add(d);
  const s = b.build();
  assert.equal(s.files, 5);
  assert.equal(s.unreadable, 0);
  assert.equal(s.exitCode, 1);
});

test('a finding with different severities in different files: the worst is shown, whatever the order', () => {
  const warn = { ...finding('dns-unanswered', '208.67.222.222', 443, 1), severity: 'warning' as const };
  const err = finding('dns-unanswered', '208.67.222.222', 443, 2);
  const info = { ...finding('dns-unanswered', '208.67.222.222', 443, 1), severity: 'info' as const };
  const ds = [report('a', { findings: [warn] }), report('b', { findings: [err] }), report('c', { findings: [info] })].map(digestReport);
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
    const b = new SummaryBuilder();
    for (const i of order) b.add(ds[i]);
    assert.deepEqual(b.build().topFindings.map((f) => [f.severity, f.files, f.count]), [['error', 3, 4]]);
  }
});

test('several roots: files are shown with their root', () => {
  const b = new SummaryBuilder();
  b.add(digestReport(report('a.pcap', { dns: 'fail', root: '/x' })));
  b.add(digestReport(report('a.pcap', { dns: 'fail', root: '/y' })));
  const s = b.build();
  assert.equal(s.files, 2);
  assert.deepEqual(s.checks[0].failingFiles, ['/x/a.pcap', '/y/a.pcap']);
});

test('the table names the numbers, the failing files and the unreadable ones', () => {
  const b = new SummaryBuilder();
  for (const r of reports) b.add(digestReport(r));
  const t = renderSummaryTable(b.build(), '9.9.9', 120);
  assert.match(t, /wirecheck 9\.9\.9 — batch summary \(\/archive\)/);
  assert.match(t, /files scanned\s+│ 5/);
  assert.match(t, /unreadable\s+│ 1 {2}\(NOT_A_CAPTURE:1\)/);
  assert.match(t, /Files failing dns-protection \(2\):\n {2}a\.pcap\n {2}b\.pcap/);
  assert.match(t, /Most frequent findings:/);
  assert.match(t, /dns-unanswered.*208\.67\.222\.222 UDP\/443.*│ 2 .*│ 8/);
  assert.match(t, /Unreadable files \(1\):\n {2}d\.pcap: NOT_A_CAPTURE: bad/);
});

test('long lists are cut with a count', () => {
  const b = new SummaryBuilder();
  for (let i = 0; i < 30; i++) b.add(digestReport(report(`f${String(i).padStart(2, '0')}.pcap`, { dns: 'fail' })));
  const t = renderSummaryTable(b.build(), '0', 120, 20);
  assert.match(t, / {2}f19\.pcap\n {2}… and 10 more/);
  assert.doesNotMatch(t, /f20\.pcap/);
});

test('digestReport tolerates odd reports (from other versions)', () => {
  const d = digestReport({ type: 'report', input: { path: 'x' } } as unknown as Report);
  assert.deepEqual(d, { root: null, path: 'x', size: null, mtimeMs: null, error: null, packets: 0, bytes: 0, checks: {}, findings: [] });
});
