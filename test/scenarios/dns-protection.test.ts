// Scenario captures of the dns-protection check (captures/dns-protection/, recorded by
// record.sh in network namespaces and rewritten to the real resolver addresses) through the
// full pipeline: exact status, summary, targets and findings; every Wireshark filter checked
// with tshark (it must show exactly the finding's frames); per-target query/response/rcode
// counts and evidence times checked against tshark; --client, --resolver and --dns-timeout;
// the CLI's exit code. Then the public corpus: no finding about resolvers that are not
// configured, nothing crashes, and with a corpus file's own resolver configured the findings
// match what tshark shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePath } from '../../src/pipeline.js';
import { defaultConfig, type EffectiveConfig } from '../../src/config.js';
import type { DnsTargetSummary, OtherDnsSummary } from '../../src/detect/dns-protection.js';
import type { CheckResult, Finding } from '../../src/detect/types.js';
import type { Report } from '../../src/report/types.js';
import { capturesDir, need, publicCapturesDir } from '../helpers/env.js';
import { runCli } from '../helpers/cli.js';

const DIR = join(capturesDir, 'dns-protection');
const CLIENT4 = '192.168.0.57';
const CLIENT6 = 'fd12:3456:789a:1::57';
const LAN_DNS = '192.168.0.1';
const R1 = '208.67.222.222', R2 = '208.67.220.220', R6A = '2620:119:35::35', R6B = '2620:119:53::53';
const RESOLVERS = [R1, R2, R6A, R6B];

interface Run { report: Report; result: CheckResult; findings: Finding[]; targets: DnsTargetSummary[]; otherDns: OtherDnsSummary[] }

async function analyze(file: string, tweak?: (c: EffectiveConfig) => void): Promise<Run> {
  const config = defaultConfig();
  config.checks = ['dns-protection'];
  if (tweak) tweak(config);
  const report = await analyzePath(file, config);
  assert.equal(report.error, undefined, `${file}: ${JSON.stringify(report.error)}`);
  const result = report.checks.find((c) => c.check === 'dns-protection');
  assert.ok(result, 'dns-protection result present');
  return {
    report, result, findings: report.findings.filter((f) => f.check === 'dns-protection'),
    targets: result.targets as DnsTargetSummary[], otherDns: (result.otherDns ?? []) as OtherDnsSummary[],
  };
}

// ---- tshark oracle -------------------------------------------------------------------------

function tshark(file: string, filter: string, fields: string[], decodeAs: string[] = []): string[][] {
  const args = ['-n', '-r', file];
  for (const d of decodeAs) args.push('-d', d);
  args.push('-Y', filter, '-T', 'fields');
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `tshark failed for filter ${filter}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
}

function tsharkFrames(file: string, filter: string, decodeAs?: string): number[] {
  return tshark(file, filter, ['frame.number'], decodeAs ? [decodeAs] : []).map((r) => Number(r[0]));
}

/** One tshark pass per capture (tshark's start-up is slow): the outer header fields of every frame. */
interface Row {
  frame: number; epoch: string; src: string; dst: string; proto: 'udp' | 'tcp' | ''; sport: number; dport: number;
  response: string; rcode: string; icmp: boolean;
}
const dumps = new Map<string, Row[]>();
function dump(file: string): Row[] {
  let rows = dumps.get(file);
  if (rows !== undefined) return rows;
  const args = ['-n', '-r', file, '-d', 'udp.port==443,dns', '-d', 'tcp.port==443,dns', '-E', 'occurrence=f', '-T', 'fields'];
  for (const f of ['frame.number', 'frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'udp.srcport', 'udp.dstport',
    'tcp.srcport', 'tcp.dstport', 'dns.flags.response', 'dns.flags.rcode', 'icmp.type', 'icmpv6.type']) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  rows = r.stdout.split('\n').filter((l) => l !== '').map((l) => {
    const c = l.split('\t');
    const udp = c[6] !== '';
    const tcp = c[8] !== '';
    return {
      frame: Number(c[0]), epoch: c[1], src: c[2] || c[4], dst: c[3] || c[5], proto: udp ? 'udp' : tcp ? 'tcp' : '',
      sport: Number(udp ? c[6] : c[8]), dport: Number(udp ? c[7] : c[9]), response: c[10], rcode: c[11],
      icmp: c[12] !== '' || (c[13] !== '' && Number(c[13]) < 128),
    };
  });
  dumps.set(file, rows);
  return rows;
}

/** frame time as the report writes it for a µs capture: '2024-08-27T03:07:40.052117Z' */
function tsharkIso(file: string, frame: number): string {
  const row = dump(file).find((x) => x.frame === frame);
  assert.ok(row, `frame ${frame} in tshark's dump`);
  const [sec, frac = ''] = row.epoch.split('.');
  return new Date(Number(sec) * 1000).toISOString().slice(0, 19) + '.' + frac.padEnd(9, '0').slice(0, 6) + 'Z';
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** Checks every finding against tshark: filter shows exactly the frames, times, shape. */
function checkFindings(file: string, findings: Finding[], client: string): void {
  for (const f of findings) {
    const what = `${f.id} ${f.target.ip} ${f.target.transport}/${f.target.port}`;
    assert.ok(f.frames.length > 0 && f.frames.length <= 20, `${what}: 1..20 frames`);
    assert.deepEqual(f.frames, [...new Set(f.frames)].sort((a, b) => a - b), `${what}: frames ascending, unique`);
    assert.equal(f.firstFrame, f.frames[0]);
    if (f.count <= 20) assert.equal(f.lastFrame, f.frames[f.frames.length - 1]);
    assert.deepEqual(f.clients, [{ ip: client, count: f.count, firstFrame: f.frames[0] }], `${what}: clients`);
    assert.equal(f.firstSeen, tsharkIso(file, f.firstFrame), `${what}: firstSeen`);
    assert.equal(f.lastSeen, tsharkIso(file, f.lastFrame), `${what}: lastSeen`);
    const port = f.target.port as number;
    if (port === 53) assert.equal(f.decodeAs, undefined);
    else assert.equal(f.decodeAs, `${f.target.transport}.port==${port},dns`);
    const shown = tsharkFrames(file, f.wiresharkFilter, f.decodeAs);
    assert.deepEqual(shown, f.frames, `${what}: "${f.wiresharkFilter}" shows exactly the evidence`);
    assert.match(f.explanation, /roaming module|DNSCrypt|Umbrella/);
    assert.match(f.remedy, /224762/);
    assert.match(f.remedy, /network-requirements-for-secure-access/);
    for (const r of RESOLVERS) assert.ok(f.remedy.includes(r), `${what}: remedy names ${r}`);
  }
}

/** Per-target DNS facts against tshark: query packets, response packets, rcodes. */
function checkTargets(file: string, targets: DnsTargetSummary[]): void {
  // tshark decodes 443 as DNS here (-d), as the check does for the resolvers
  const rows = dump(file);
  for (const t of targets) {
    const q = rows.filter((x) => !x.icmp && x.dst === t.ip && x.proto === t.transport && x.dport === t.port && x.response === '0');
    assert.equal(t.queries + t.retransmits, q.length, `${t.ip} ${t.transport}/${t.port}: query packets vs tshark`);
    const resp = rows.filter((x) => !x.icmp && x.src === t.ip && x.proto === t.transport && x.sport === t.port && x.response === '1');
    assert.equal(t.responses, resp.length, `${t.ip} ${t.transport}/${t.port}: responses vs tshark`);
    const rc: Record<string, number> = {};
    for (const { rcode } of resp) { const n = RCODE_NAMES[Number(rcode)] ?? `RCODE_${rcode}`; rc[n] = (rc[n] ?? 0) + 1; }
    assert.deepEqual(t.rcodes, Object.fromEntries(Object.entries(rc).sort(([a], [b]) => (a < b ? -1 : 1))), `${t.ip} ${t.transport}/${t.port}: rcodes`);
    if (t.queries > 0) assert.ok(t.firstFrame > 0 && t.lastFrame >= t.firstFrame);
  }
}

// ---- expectations (per capture) -------------------------------------------------------------

// [ip, transport, port, verdict, queries, answered, unanswered, rejected, errors, tcpConnections]
type TargetRow = [string, string, number, string, number, number, number, number, number, number];
// [id, severity, ip, transport, port, count, attempts, frames, message]
type FindingRow = [string, string, string, string, number, number, number, number[], string];

interface Scenario { status: string; summary: string; client: string; lanQueries: number; targets: TargetRow[]; findings: FindingRow[] }

const ICMP_PU = 'ICMP port unreachable (type 3 code 3) from 192.168.0.1';
const ICMP_AP = 'ICMP communication administratively prohibited (type 3 code 13) from 192.168.0.1';

const SCENARIOS: Record<string, Scenario> = {
  // the seed's picture: TXT probes on UDP 443 and 53 to both resolvers, no answer; the LAN resolver answers
  unprotected: {
    status: 'fail', client: CLIENT4, lanQueries: 14,
    summary: 'Unprotected: none of 12 DNS queries to the Umbrella resolvers over UDP was answered (208.67.222.222 and 208.67.220.220 on UDP 53 and 443: 12 unanswered); the roaming module reports DNS protection "Unprotected".',
    targets: [
      [R1, 'udp', 53, 'unreachable', 3, 0, 3, 0, 0, 0],
      [R1, 'udp', 443, 'unreachable', 3, 0, 3, 0, 0, 0],
      [R2, 'udp', 53, 'unreachable', 3, 0, 3, 0, 0, 0],
      [R2, 'udp', 443, 'unreachable', 3, 0, 3, 0, 0, 0],
    ],
    findings: [
      ['dns-unanswered', 'error', R1, 'udp', 443, 3, 3, [5, 24, 47], '3 DNS TXT queries to 208.67.222.222 on UDP/443 got no answer'],
      ['dns-unanswered', 'error', R2, 'udp', 443, 3, 3, [6, 25, 49], '3 DNS TXT queries to 208.67.220.220 on UDP/443 got no answer'],
      ['dns-unanswered', 'error', R2, 'udp', 53, 3, 3, [22, 45, 66], '3 DNS TXT queries to 208.67.220.220 on UDP/53 got no answer'],
      ['dns-unanswered', 'error', R1, 'udp', 53, 3, 3, [23, 44, 65], '3 DNS TXT queries to 208.67.222.222 on UDP/53 got no answer'],
    ],
  },
  'rejected-port-unreachable': {
    status: 'fail', client: CLIENT4, lanQueries: 14,
    summary: 'Unprotected: none of 12 DNS queries to the Umbrella resolvers over UDP was answered (208.67.222.222 and 208.67.220.220 on UDP 53 and 443: 12 rejected); the roaming module reports DNS protection "Unprotected".',
    targets: [
      [R1, 'udp', 53, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R1, 'udp', 443, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R2, 'udp', 53, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R2, 'udp', 443, 'unreachable', 3, 0, 0, 3, 0, 0],
    ],
    findings: [
      ['dns-rejected', 'error', R1, 'udp', 443, 6, 3, [7, 8, 30, 31, 60, 61], `3 DNS TXT queries to 208.67.222.222 on UDP/443 were rejected by ${ICMP_PU}`],
      ['dns-rejected', 'error', R2, 'udp', 443, 6, 3, [9, 10, 32, 33, 58, 59], `3 DNS TXT queries to 208.67.220.220 on UDP/443 were rejected by ${ICMP_PU}`],
      ['dns-rejected', 'error', R2, 'udp', 53, 6, 3, [26, 27, 52, 53, 76, 77], `3 DNS TXT queries to 208.67.220.220 on UDP/53 were rejected by ${ICMP_PU}`],
      ['dns-rejected', 'error', R1, 'udp', 53, 6, 3, [28, 29, 54, 55, 78, 79], `3 DNS TXT queries to 208.67.222.222 on UDP/53 were rejected by ${ICMP_PU}`],
    ],
  },
  'rejected-admin-prohibited': {
    status: 'fail', client: CLIENT4, lanQueries: 14,
    summary: 'Unprotected: none of 12 DNS queries to the Umbrella resolvers over UDP was answered (208.67.222.222 and 208.67.220.220 on UDP 53 and 443: 12 rejected); the roaming module reports DNS protection "Unprotected".',
    targets: [
      [R1, 'udp', 53, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R1, 'udp', 443, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R2, 'udp', 53, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R2, 'udp', 443, 'unreachable', 3, 0, 0, 3, 0, 0],
    ],
    findings: [
      ['dns-rejected', 'error', R2, 'udp', 443, 6, 3, [4, 5, 30, 31, 56, 57], `3 DNS TXT queries to 208.67.220.220 on UDP/443 were rejected by ${ICMP_AP}`],
      ['dns-rejected', 'error', R1, 'udp', 443, 6, 3, [8, 9, 34, 35, 58, 59], `3 DNS TXT queries to 208.67.222.222 on UDP/443 were rejected by ${ICMP_AP}`],
      ['dns-rejected', 'error', R2, 'udp', 53, 6, 3, [25, 26, 54, 55, 78, 79], `3 DNS TXT queries to 208.67.220.220 on UDP/53 were rejected by ${ICMP_AP}`],
      ['dns-rejected', 'error', R1, 'udp', 53, 6, 3, [27, 28, 52, 53, 76, 77], `3 DNS TXT queries to 208.67.222.222 on UDP/53 were rejected by ${ICMP_AP}`],
    ],
  },
  'all-answered': {
    status: 'pass', client: CLIENT4, lanQueries: 14,
    summary: 'The Umbrella resolvers answered: 12 DNS queries answered on 208.67.222.222 UDP/53, 208.67.222.222 UDP/443, 208.67.220.220 UDP/53 and 208.67.220.220 UDP/443; DNS protection can work on this network.',
    targets: [
      [R1, 'udp', 53, 'answered', 3, 3, 0, 0, 0, 0],
      [R1, 'udp', 443, 'answered', 3, 3, 0, 0, 0, 0],
      [R2, 'udp', 53, 'answered', 3, 3, 0, 0, 0, 0],
      [R2, 'udp', 443, 'answered', 3, 3, 0, 0, 0, 0],
    ],
    findings: [],
  },
  unencrypted: {
    status: 'warn', client: CLIENT4, lanQueries: 14,
    summary: 'Unencrypted: UDP/53 to the Umbrella resolvers is answered but UDP/443 is not (208.67.222.222 and 208.67.220.220 on UDP 443: 6 unanswered); the roaming module can only use plain DNS and reports DNS protection "unencrypted" (DNSCrypt needs UDP 443).',
    targets: [
      [R1, 'udp', 53, 'answered', 3, 3, 0, 0, 0, 0],
      [R1, 'udp', 443, 'unreachable', 3, 0, 3, 0, 0, 0],
      [R2, 'udp', 53, 'answered', 3, 3, 0, 0, 0, 0],
      [R2, 'udp', 443, 'unreachable', 3, 0, 3, 0, 0, 0],
    ],
    findings: [
      ['dns-unanswered', 'warning', R1, 'udp', 443, 3, 3, [3, 29, 53], '3 DNS TXT queries to 208.67.222.222 on UDP/443 got no answer'],
      ['dns-unanswered', 'warning', R2, 'udp', 443, 3, 3, [6, 28, 50], '3 DNS TXT queries to 208.67.220.220 on UDP/443 got no answer'],
    ],
  },
  ipv6: {
    status: 'fail', client: CLIENT6, lanQueries: 14,
    summary: 'Unprotected: none of 12 DNS queries to the Umbrella resolvers over UDP was answered (2620:119:35::35 and 2620:119:53::53 on UDP 53 and 443: 6 unanswered, 6 rejected); the roaming module reports DNS protection "Unprotected".',
    targets: [
      [R6A, 'udp', 53, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R6A, 'udp', 443, 'unreachable', 3, 0, 3, 0, 0, 0],
      [R6B, 'udp', 53, 'unreachable', 3, 0, 0, 3, 0, 0],
      [R6B, 'udp', 443, 'unreachable', 3, 0, 3, 0, 0, 0],
    ],
    findings: [
      ['dns-unanswered', 'error', R6B, 'udp', 443, 3, 3, [7, 30, 54], '3 DNS TXT queries to 2620:119:53::53 on UDP/443 got no answer'],
      ['dns-unanswered', 'error', R6A, 'udp', 443, 3, 3, [8, 31, 55], '3 DNS TXT queries to 2620:119:35::35 on UDP/443 got no answer'],
      ['dns-rejected', 'error', R6A, 'udp', 53, 6, 3, [24, 25, 52, 53, 74, 75], '3 DNS TXT queries to 2620:119:35::35 on UDP/53 were rejected by ICMPv6 port unreachable (type 1 code 4) from fd12:3456:789a:1::1'],
      ['dns-rejected', 'error', R6B, 'udp', 53, 6, 3, [26, 27, 50, 51, 72, 73], '3 DNS TXT queries to 2620:119:53::53 on UDP/53 were rejected by ICMPv6 communication administratively prohibited (type 1 code 1) from fd12:3456:789a:1::1'],
    ],
  },
  tcp: {
    status: 'warn', client: CLIENT4, lanQueries: 12,
    summary: 'Only DNS over TCP to the Umbrella resolvers fails (208.67.222.222 on TCP 53 and 443: 2 unanswered, 2 rejected); UDP is answered, so the roaming module stays protected, but answers that need TCP will fail.',
    targets: [
      [R1, 'udp', 443, 'answered', 2, 2, 0, 0, 0, 0],
      [R1, 'tcp', 53, 'unreachable', 0, 0, 2, 0, 0, 2],
      [R1, 'tcp', 443, 'unreachable', 0, 0, 0, 2, 0, 2],
      [R2, 'udp', 53, 'answered', 2, 2, 0, 0, 0, 0],
      [R2, 'tcp', 53, 'answered', 2, 2, 0, 0, 0, 0],
    ],
    findings: [
      ['dns-rejected', 'warning', R1, 'tcp', 443, 4, 2, [23, 24, 66, 67], '2 TCP connection attempts to 208.67.222.222 on TCP/443 were rejected by TCP resets from 208.67.222.222'],
      ['dns-unanswered', 'warning', R1, 'tcp', 53, 4, 2, [28, 37, 73, 74], '2 TCP connection attempts to 208.67.222.222 on TCP/53 got no SYN-ACK (4 SYNs)'],
    ],
  },
  // a firewall DNATs UDP/53 to the resolvers to its own DNS server, which answers REFUSED
  intercepted: {
    status: 'warn', client: CLIENT4, lanQueries: 14,
    summary: '208.67.222.222 UDP/53 (REFUSED 3) and 208.67.220.220 UDP/53 (REFUSED 3) answered only with errors: a firewall or DNS proxy on the path may intercept DNS to the Umbrella resolvers, and the roaming module treats such answers like failed probes.',
    targets: [
      [R1, 'udp', 53, 'error', 3, 0, 0, 0, 3, 0],
      [R1, 'udp', 443, 'answered', 3, 3, 0, 0, 0, 0],
      [R2, 'udp', 53, 'error', 3, 0, 0, 0, 3, 0],
      [R2, 'udp', 443, 'answered', 3, 3, 0, 0, 0, 0],
    ],
    findings: [
      ['dns-error', 'warning', R1, 'udp', 53, 6, 3, [24, 25, 51, 52, 75, 76], '3 DNS TXT queries to 208.67.222.222 on UDP/53 were answered with REFUSED (3)'],
      ['dns-error', 'warning', R2, 'udp', 53, 6, 3, [26, 27, 53, 54, 77, 78], '3 DNS TXT queries to 208.67.220.220 on UDP/53 were answered with REFUSED (3)'],
    ],
  },
};

for (const [name, exp] of Object.entries(SCENARIOS)) {
  test(`scenario ${name}: exact status, targets and findings`, async () => {
    const file = join(DIR, name + '.pcap');
    const r = await analyze(file);
    assert.deepEqual(r.report.anomalies, [], 'no anomalies in a clean lab capture');
    assert.equal(r.result.status, exp.status);
    assert.equal(r.result.summary, exp.summary);
    assert.deepEqual(r.targets.map((t): TargetRow => [t.ip, t.transport, t.port, t.verdict, t.queries, t.answered, t.unanswered,
      t.rejected, t.errors, t.tcpConnections]), exp.targets);
    for (const t of r.targets) {
      assert.equal(t.pending, 0);
      assert.equal(t.clients, 1);
      if (t.transport === 'udp') assert.equal(t.txtQueries, t.queries, 'every UDP probe is a TXT query');
      assert.deepEqual(t.qnames, t.port === 443 && t.queries > 0 ? ['2.dnscrypt-cert.opendns.com'] : t.queries > 0 ? ['debug.opendns.com'] : []);
      if (t.answered > 0) assert.ok(t.medianRttMs !== null && t.medianRttMs >= 0 && t.medianRttMs < 1000);
      else assert.equal(t.medianRttMs, t.errors > 0 ? t.medianRttMs : null);
    }
    assert.deepEqual(r.findings.map((f): FindingRow => [f.id, f.severity, f.target.ip, f.target.transport as string,
      f.target.port as number, f.count, f.attempts, f.frames, f.message]), exp.findings);
    for (const f of r.findings) {
      assert.equal(f.check, 'dns-protection');
      assert.deepEqual(f.target.ports, [f.target.port]);
    }
    // the LAN resolver is summarized, not judged
    assert.deepEqual(r.otherDns.map((o) => [o.ip, o.port, o.transport, o.queries, o.answered]),
      [[LAN_DNS, 53, 'udp', exp.lanQueries, exp.lanQueries]]);
    assert.ok(!r.findings.some((f) => f.target.ip === LAN_DNS));
  });

  test(`scenario ${name}: filters, times and counts agree with tshark`, { skip: need('tshark') }, async () => {
    const file = join(DIR, name + '.pcap');
    const r = await analyze(file);
    checkFindings(file, r.findings, exp.client);
    checkTargets(file, r.targets);
    const lan = dump(file).filter((x) => !x.icmp && x.dst === LAN_DNS && x.proto === 'udp' && x.dport === 53 && x.response === '0');
    assert.equal(r.otherDns[0].queries, lan.length);
  });
}

test('ICMP details of a rejection are reported per target (type, code, sender)', async () => {
  const r = await analyze(join(DIR, 'rejected-admin-prohibited.pcap'));
  for (const t of r.targets) {
    assert.deepEqual(t.icmp.map((i) => [i.type, i.code, i.from, i.count, i.name]), [[3, 13, LAN_DNS, 3, 'communication administratively prohibited']]);
  }
  const f = r.findings[0];
  assert.deepEqual(f.icmp, [{ type: 3, code: 13, from: LAN_DNS, name: 'communication administratively prohibited', count: 3 }]);
  assert.equal(f.wiresharkFilter, 'ip.addr == 208.67.220.220 && udp.port == 443 && ((icmp.type == 3 && icmp.code == 13) || (!icmp && udp.dstport == 443))');
  assert.match(f.remedy, /^Change the rule that rejects this traffic on 192\.168\.0\.1: /);
});

test('--client: findings only for allowed clients; an excluded client gives no verdict', async () => {
  const file = join(DIR, 'unprotected.pcap');
  const other = await analyze(file, (c) => { c.clients = ['10.0.0.0/8']; });
  assert.deepEqual(other.findings, []);
  assert.equal(other.result.status, 'not-observed');
  const same = await analyze(file, (c) => { c.clients = ['192.168.0.0/24']; });
  assert.equal(same.findings.length, 4);
  assert.equal(same.result.status, 'fail');
});

test('resolvers from the configuration: replacing the list judges only those; the others become other DNS', async () => {
  const r = await analyze(join(DIR, 'unprotected.pcap'), (c) => { c.resolvers.addresses = [R2]; });
  assert.equal(r.result.status, 'fail');
  assert.deepEqual(r.targets.map((t) => [t.ip, t.port]), [[R2, 53], [R2, 443]]);
  assert.deepEqual(r.findings.map((f) => [f.target.ip, f.target.port]), [[R2, 443], [R2, 53]]);
  // port 53 to the no longer configured resolver is still DNS (port 53), summarized; its UDP/443 is not DNS then
  assert.deepEqual(r.otherDns.map((o) => [o.ip, o.port, o.queries, o.answered, o.unanswered]),
    [[LAN_DNS, 53, 14, 14, 0], [R1, 53, 3, 0, 3]]);
});

test('--dns-timeout longer than the capture: every probe is still pending, no verdict', async () => {
  const r = await analyze(join(DIR, 'unprotected.pcap'), (c) => { c.timeouts.dnsAnswerMs = 60_000; });
  assert.equal(r.result.status, 'not-observed');
  assert.deepEqual(r.findings, []);
  assert.deepEqual(r.targets.map((t) => [t.verdict, t.pending]), [['pending', 3], ['pending', 3], ['pending', 3], ['pending', 3]]);
  assert.match(r.result.summary, /^12 queries to the Umbrella resolvers were still waiting for an answer when the capture ended .*no verdict\.$/);
});

test('the README\'s first command: wirecheck analyze on the unprotected capture exits 1 and shows the findings', async () => {
  const res = await runCli(['analyze', join(DIR, 'unprotected.pcap'), '--format', 'json', '--checks', 'dns-protection']);
  assert.equal(res.code, 1, res.stderr);
  const reports = JSON.parse(res.stdout) as Report[];
  assert.equal(reports.length, 1);
  assert.equal(reports[0].checks[0].status, 'fail');
  assert.deepEqual(reports[0].findings.map((f) => f.id), ['dns-unanswered', 'dns-unanswered', 'dns-unanswered', 'dns-unanswered']);
  const pass = await runCli(['analyze', join(DIR, 'all-answered.pcap'), '--checks', 'dns-protection']);
  assert.equal(pass.code, 0, pass.stderr);
  assert.match(pass.stdout, /dns-protection/);
});

// ---- public corpus ---------------------------------------------------------------------------

function publicFiles(): string[] {
  return readdirSync(publicCapturesDir).filter((f) => f !== 'MANIFEST.md').sort();
}

test('public corpus: nothing crashes, no finding about resolvers that are not configured', { skip: need('public-captures') }, async () => {
  let analysed = 0;
  for (const name of publicFiles()) {
    const config = defaultConfig();
    config.checks = ['dns-protection'];
    const report = await analyzePath(join(publicCapturesDir, name), config);
    if (report.error) continue;            // not a capture / unsupported: the readers' business
    analysed++;
    const res = report.checks.find((c) => c.check === 'dns-protection');
    assert.ok(res, `${name}: result present`);
    for (const f of report.findings) assert.ok(RESOLVERS.includes(f.target.ip), `${name}: finding about ${f.target.ip}`);
    // the corpus holds no traffic to the Umbrella resolvers (MANIFEST.md)
    assert.equal(res.status, 'not-observed', `${name}: ${res.summary}`);
    assert.deepEqual(res.targets, []);
    assert.ok(((res.otherDns ?? []) as unknown[]).length <= 32);
  }
  assert.ok(analysed > 100, `analysed ${analysed} public captures`);
});

test('public corpus with its own resolvers configured: findings match what tshark shows', { skip: need('public-captures') || need('tshark') }, async () => {
  // seven retransmissions of one query to 4.2.2.2 / 4.2.2.1, nothing back (MANIFEST: "DNS queries with no response")
  const f1 = join(publicCapturesDir, 'chrissanders__nowebaccess1.pcapng');
  const a = await analyze(f1, (c) => { c.resolvers.addresses.push('4.2.2.2', '4.2.2.1'); });
  assert.equal(a.result.status, 'fail');
  assert.deepEqual(a.findings.map((f) => [f.id, f.target.ip, f.count, f.attempts, f.frames, f.message]), [
    ['dns-unanswered', '4.2.2.2', 4, 1, [3, 5, 7, 9], '1 DNS query (4 packets with retransmissions) to 4.2.2.2 on UDP/53 got no answer'],
    ['dns-unanswered', '4.2.2.1', 3, 1, [4, 6, 8], '1 DNS query (3 packets with retransmissions) to 4.2.2.1 on UDP/53 got no answer'],
  ]);
  for (const f of a.findings) {
    assert.deepEqual(tsharkFrames(f1, f.wiresharkFilter), f.frames);
    assert.deepEqual(tsharkFrames(f1, `${f.wiresharkFilter} && dns.flags.response == 0 && !dns.response_in`), f.frames);
  }
  checkTargets(f1, a.targets);

  // a query retransmitted twice, three SERVFAIL answers, then an ICMP port unreachable quoting one
  const f2 = join(publicCapturesDir, 'suricata-verify__flow-drop-iponly-02.pcap');
  const b = await analyze(f2, (c) => { c.resolvers.addresses.push('192.168.10.10'); });
  assert.equal(b.result.status, 'warn');
  assert.deepEqual(b.findings.map((f) => [f.id, f.target.ip, f.count, f.attempts, f.frames, f.message]), [
    ['dns-error', '192.168.10.10', 6, 1, [1, 2, 3, 4, 5, 6], '1 DNS query (3 packets with retransmissions) to 192.168.10.10 on UDP/53 was answered with SERVFAIL (3)'],
  ]);
  assert.deepEqual(tsharkFrames(f2, b.findings[0].wiresharkFilter), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(tsharkFrames(f2, 'dns.flags.rcode == 2 && !icmp'), [4, 5, 6]);
  checkTargets(f2, b.targets);
});
