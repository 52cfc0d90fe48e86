// Scenario captures of the web-protection check (captures/web-protection/, recorded by
// record.sh in network namespaces and rewritten to real-looking addresses) through the full
// pipeline: exact status, targets and findings; every Wireshark filter checked with tshark;
// and the public corpus, where no SWG is configured or resolved, gives no SWG finding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePath } from '../../src/pipeline.js';
import { defaultConfig } from '../../src/config.js';
import type { CheckResult, Finding } from '../../src/detect/types.js';
import type { Report } from '../../src/report/types.js';
import { capturesDir, need, publicCapturesDir } from '../helpers/env.js';

const DIR = join(capturesDir, 'web-protection');
const SWG_NAME = 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com';
const SWG_ALIAS = 'swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com';
const SWG_ELB = 'k8s-sigproxy-sigproxy-c8f482b42a-ddf1929ae349b3e5.elb.eu-west-2.amazonaws.com';
const CHAIN = [SWG_NAME, SWG_ALIAS, SWG_ELB];
const CLIENT = '192.168.0.57';

interface Run { report: Report; result: CheckResult; findings: Finding[]; targets: Record<string, unknown>[] }

async function analyze(name: string, checks = ['web-protection']): Promise<Run> {
  const config = defaultConfig();
  config.checks = checks;
  const report = await analyzePath(join(DIR, name + '.pcap'), config);
  assert.equal(report.error, undefined, `${name}: ${JSON.stringify(report.error)}`);
  const result = report.checks.find((c) => c.check === 'web-protection');
  assert.ok(result, 'web-protection result present');
  return { report, result, findings: report.findings.filter((f) => f.check === 'web-protection'), targets: result.targets as Record<string, unknown>[] };
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = o[k];
  return out;
}

/** frames tshark shows for a display filter */
function tsharkFrames(file: string, filter: string): number[] {
  const r = spawnSync('tshark', ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tshark failed for filter ${filter}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map(Number);
}

/** every finding's filter is valid and shows the finding's frames (and, when given, exactly these). */
function checkFilters(name: string, findings: Finding[], exact = true): void {
  const file = join(DIR, name + '.pcap');
  for (const f of findings) {
    const shown = tsharkFrames(file, f.wiresharkFilter);
    for (const fr of f.frames) assert.ok(shown.includes(fr), `${name}: frame ${fr} of ${f.id} not shown by "${f.wiresharkFilter}"`);
    if (exact && f.count <= 20) assert.deepEqual(shown, f.frames, `${name}: ${f.wiresharkFilter} shows exactly the evidence`);
  }
}

const TARGET_KEYS = ['ip', 'port', 'names', 'learnedFrom', 'configured', 'attempts', 'synRetransmits', 'established',
  'reset', 'unanswered', 'icmpRejected', 'pending', 'rstTtl', 'rstHops', 'pathHops', 'pathTtl', 'rstSource'];
const FINDING_KEYS = ['id', 'check', 'severity', 'target', 'clients', 'count', 'attempts', 'frames', 'firstFrame', 'lastFrame',
  'firstSeen', 'lastSeen'];

test('drop-linear: SYNs to the SWG from the CNAME chain dropped, default kernel back-off -> fail', async () => {
  const { result, findings, targets } = await analyze('drop-linear');
  assert.equal(result.status, 'fail');
  assert.equal(result.summary, 'No connection to the Secure Web Gateway succeeded: 1 attempt to 18.135.112.200:443 failed (1 unanswered), ' +
    'so the SWG agent fails open and web traffic bypasses the gateway.');
  assert.equal(targets.length, 1);
  assert.deepEqual(pick(targets[0], TARGET_KEYS), {
    ip: '18.135.112.200', port: 443, names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 41 }, configured: null,
    attempts: 1, synRetransmits: 8, established: 0, reset: 0, unanswered: 1, icmpRejected: 0, pending: 0,
    rstTtl: null, rstHops: null, pathHops: 3, pathTtl: 61, rstSource: null,
  });
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.deepEqual(pick(f, FINDING_KEYS), {
    id: 'swg-syn-unanswered', check: 'web-protection', severity: 'error',
    target: { ip: '18.135.112.200', port: 443, transport: 'tcp', names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 41 }, configured: null },
    clients: [{ ip: CLIENT, count: 9, firstFrame: 44 }], count: 9, attempts: 1,
    frames: [44, 45, 46, 47, 48, 49, 50, 51, 52], firstFrame: 44, lastFrame: 52,
    firstSeen: '2024-08-27T06:41:22.589010Z', lastSeen: '2024-08-27T06:41:42.136707Z',
  });
  assert.equal(f.message, `1 connection attempt from ${CLIENT} to the Secure Web Gateway 18.135.112.200 on TCP/443 (resolved from ${SWG_NAME} in frame 41) ` +
    'got no answer: 9 SYNs sent (8 retransmissions, the last 19.5 s after the first), no SYN-ACK, no reset.');
  assert.equal(f.wiresharkFilter, 'ip.addr == 18.135.112.200 && tcp.port == 443 && tcp.flags.syn == 1 && tcp.flags.ack == 0');
  assert.equal(f.backoff, 'linear-then-exponential');
  assert.deepEqual((f.synOffsetsMs as number[]).map(Math.round), [0, 1020, 2044, 3068, 4092, 5116, 7132, 11356, 19548]);
  assert.match(f.explanation, /fail-open/);
  assert.match(f.remedy, /Network Requirements for Secure Access/);
});

test('drop-linear: the filter shows exactly the SYNs', { skip: need('tshark') }, async () => {
  checkFilters('drop-linear', (await analyze('drop-linear')).findings);
});

test('drop-exponential: anycast 146.112.255.50 (configured default) on 443 and 80, exponential back-off -> fail, two findings', async () => {
  const { result, findings, targets } = await analyze('drop-exponential');
  assert.equal(result.status, 'fail');
  assert.equal(result.summary, 'No connection to the Secure Web Gateway succeeded: 2 attempts to 146.112.255.50:443, 146.112.255.50:80 failed (2 unanswered), ' +
    'so the SWG agent fails open and web traffic bypasses the gateway.');
  assert.deepEqual(targets.map((t) => pick(t, TARGET_KEYS)), [443, 80].map((port) => ({
    ip: '146.112.255.50', port, names: [], learnedFrom: null, configured: '146.112.255.50',
    attempts: 1, synRetransmits: 4, established: 0, reset: 0, unanswered: 1, icmpRejected: 0, pending: 0,
    rstTtl: null, rstHops: null, pathHops: null, pathTtl: null, rstSource: null,
  })));
  assert.deepEqual(findings.map((f) => pick(f, FINDING_KEYS)), [
    { id: 'swg-syn-unanswered', check: 'web-protection', severity: 'error',
      target: { ip: '146.112.255.50', port: 443, transport: 'tcp', names: [], learnedFrom: null, configured: '146.112.255.50' },
      clients: [{ ip: CLIENT, count: 5, firstFrame: 41 }], count: 5, attempts: 1, frames: [41, 44, 46, 48, 50], firstFrame: 41, lastFrame: 50,
      firstSeen: '2024-08-27T06:41:22.578428Z', lastSeen: '2024-08-27T06:41:37.971720Z' },
    { id: 'swg-syn-unanswered', check: 'web-protection', severity: 'error',
      target: { ip: '146.112.255.50', port: 80, transport: 'tcp', names: [], learnedFrom: null, configured: '146.112.255.50' },
      clients: [{ ip: CLIENT, count: 5, firstFrame: 43 }], count: 5, attempts: 1, frames: [43, 45, 47, 49, 51], firstFrame: 43, lastFrame: 51,
      firstSeen: '2024-08-27T06:41:22.884573Z', lastSeen: '2024-08-27T06:41:38.227689Z' },
  ]);
  assert.deepEqual(findings.map((f) => f.backoff), ['exponential', 'exponential']);
  assert.equal(findings[0].message, `1 connection attempt from ${CLIENT} to the Secure Web Gateway 146.112.255.50 on TCP/443 (configured SWG address 146.112.255.50) ` +
    'got no answer: 5 SYNs sent (4 retransmissions, the last 15.4 s after the first), no SYN-ACK, no reset.');
});

test('drop-exponential: the filters show exactly the SYNs', { skip: need('tshark') }, async () => {
  checkFilters('drop-exponential', (await analyze('drop-exponential')).findings);
});

test('reset: firewall refuses 443 with a TCP reset from 3 hops closer than the gateway -> fail, swg-reset, middlebox', async () => {
  const { result, findings, targets } = await analyze('reset');
  assert.equal(result.status, 'fail');
  assert.equal(result.summary, 'No connection to the Secure Web Gateway succeeded: 3 attempts to 18.135.112.200:443 failed (3 refused), ' +
    'so the SWG agent fails open and web traffic bypasses the gateway.');
  assert.equal(targets.length, 1);
  assert.deepEqual(pick(targets[0], TARGET_KEYS), {
    ip: '18.135.112.200', port: 443, names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 40 }, configured: null,
    attempts: 3, synRetransmits: 0, established: 0, reset: 3, unanswered: 0, icmpRejected: 0, pending: 0,
    rstTtl: 64, rstHops: 0, pathHops: 3, pathTtl: 61, rstSource: 'middlebox',
  });
  const rstMs = targets[0].synToRstMs as number;
  assert.ok(Math.abs(rstMs - 0.039) < 0.002, `synToRstMs ${rstMs}`);
  assert.ok(Math.abs((targets[0].pathRttMs as number) - 40.727) < 0.002, `pathRttMs ${targets[0].pathRttMs}`);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.deepEqual(pick(f, FINDING_KEYS), {
    id: 'swg-reset', check: 'web-protection', severity: 'error',
    target: { ip: '18.135.112.200', port: 443, transport: 'tcp', names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 40 }, configured: null },
    clients: [{ ip: CLIENT, count: 6, firstFrame: 43 }], count: 6, attempts: 3,
    frames: [43, 44, 49, 50, 55, 56], firstFrame: 43, lastFrame: 56,
    firstSeen: '2024-08-27T06:41:22.496512Z', lastSeen: '2024-08-27T06:41:24.759758Z',
  });
  assert.match(f.message, new RegExp(`^3 connection attempts from ${CLIENT} to the Secure Web Gateway 18\\.135\\.112\\.200 on TCP/443 \\(resolved from ${SWG_NAME.replace(/\./g, '\\.')} in frame 40\\) were refused: 3 attempts answered by a TCP reset after \\d+ µs\\. `));
  assert.match(f.message, /The reset came from a device on the client's own network segment \(0 router hops\), not from the gateway \(3 hops away, judged by packets from its network \(18\.135\.112\.17\), e\.g\. frame 6\)\.$/);
  assert.equal(f.wiresharkFilter, 'ip.addr == 18.135.112.200 && tcp.port == 443 && (tcp.flags.syn == 1 || tcp.flags.reset == 1)');
  const rst = f.rst as Record<string, unknown>;
  assert.deepEqual(pick(rst, ['source', 'ttl', 'hops', 'pathTtl', 'pathHops', 'pathBasis', 'pathFrom', 'pathFrame']),
    { source: 'middlebox', ttl: 64, hops: 0, pathTtl: 61, pathHops: 3, pathBasis: 'network', pathFrom: '18.135.112.17', pathFrame: 6 });
  assert.deepEqual(f.signals, [
    { kind: 'ttl-differs', port: 443, frame: 44, value: 'RST TTL 64 (0 hops) vs 61 (3 hops) from 18.135.112.17 in frame 6' },
    { kind: 'rtt-differs', port: 443, frame: 44, value: 'RST after 39 µs vs SYN-ACK after 41 ms from 18.135.112.17' },
  ]);
  assert.match(f.remedy, /^Allow outbound TCP 443 and 80 from the clients/);
});

test('reset: the filter shows exactly the SYNs and resets', { skip: need('tshark') }, async () => {
  checkFilters('reset', (await analyze('reset')).findings);
});

test('reset-gateway: the gateway host itself refuses 443 (same hops and delay as its port 80) -> warn, swg-reset, gateway', async () => {
  const { result, findings, targets } = await analyze('reset-gateway');
  assert.equal(result.status, 'warn');
  assert.equal(result.summary, '1 of 2 connection attempts to the Secure Web Gateway failed (1 refused; to 18.135.112.200:443), 1 succeeded.');
  assert.deepEqual(targets.map((t) => pick(t, TARGET_KEYS)), [
    { ip: '18.135.112.200', port: 443, names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 40 }, configured: null,
      attempts: 1, synRetransmits: 0, established: 0, reset: 1, unanswered: 0, icmpRejected: 0, pending: 0,
      rstTtl: 61, rstHops: 3, pathHops: 3, pathTtl: 61, rstSource: 'gateway' },
    { ip: '18.135.112.200', port: 80, names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 40 }, configured: null,
      attempts: 1, synRetransmits: 0, established: 1, reset: 0, unanswered: 0, icmpRejected: 0, pending: 0,
      rstTtl: null, rstHops: null, pathHops: 3, pathTtl: 61, rstSource: null },
  ]);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.deepEqual(pick(f, FINDING_KEYS), {
    id: 'swg-reset', check: 'web-protection', severity: 'error',
    target: { ip: '18.135.112.200', port: 443, transport: 'tcp', names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 40 }, configured: null },
    clients: [{ ip: CLIENT, count: 2, firstFrame: 43 }], count: 2, attempts: 1, frames: [43, 44], firstFrame: 43, lastFrame: 44,
    firstSeen: '2024-08-27T06:41:22.702591Z', lastSeen: '2024-08-27T06:41:22.762487Z',
  });
  assert.match(f.message, /was refused: 1 attempt answered by a TCP reset after 60 ms\. The reset has the same hop count \(3\) as packets from 18\.135\.112\.200 itself and a similar delay, so it likely came from the gateway's side/);
  assert.equal(f.signals, undefined);
  assert.deepEqual(pick(f.rst as Record<string, unknown>, ['source', 'ttl', 'hops', 'pathTtl', 'pathHops', 'pathBasis', 'pathFrom']),
    { source: 'gateway', ttl: 61, hops: 3, pathTtl: 61, pathHops: 3, pathBasis: 'address', pathFrom: '18.135.112.200' });
  assert.match(f.remedy, /^The refusal comes from the gateway's side/);
});

test('reset-gateway: the filter shows the SYN and the reset (and the working port-80 handshake is not evidence)', { skip: need('tshark') }, async () => {
  checkFilters('reset-gateway', (await analyze('reset-gateway')).findings);
});

test('pass: the SWG (a real TLS server) answers on 443 and 80 -> pass, no finding', async () => {
  const { result, findings, targets } = await analyze('pass');
  assert.equal(result.status, 'pass');
  assert.equal(result.summary, 'All 2 connections to the Secure Web Gateway (18.135.112.200:443, 18.135.112.200:80) completed the TCP handshake.');
  assert.equal(findings.length, 0);
  assert.deepEqual(targets.map((t) => pick(t, TARGET_KEYS)), [443, 80].map((port) => ({
    ip: '18.135.112.200', port, names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 39 }, configured: null,
    attempts: 1, synRetransmits: 0, established: 1, reset: 0, unanswered: 0, icmpRejected: 0, pending: 0,
    rstTtl: null, rstHops: null, pathHops: 3, pathTtl: 61, rstSource: null,
  })));
});

test('mixed: 443 to the SWG dropped, 80 answered -> warn, one finding for 443', async () => {
  const { result, findings, targets } = await analyze('mixed');
  assert.equal(result.status, 'warn');
  assert.equal(result.summary, '1 of 2 connection attempts to the Secure Web Gateway failed (1 unanswered; to 18.135.112.200:443), 1 succeeded.');
  assert.deepEqual(targets.map((t) => pick(t, ['port', 'attempts', 'synRetransmits', 'established', 'unanswered'])), [
    { port: 443, attempts: 1, synRetransmits: 4, established: 0, unanswered: 1 },
    { port: 80, attempts: 1, synRetransmits: 0, established: 1, unanswered: 0 },
  ]);
  assert.equal(findings.length, 1);
  assert.deepEqual(pick(findings[0], ['id', 'severity', 'frames', 'count', 'attempts']),
    { id: 'swg-syn-unanswered', severity: 'error', frames: [44, 45, 46, 47, 48], count: 5, attempts: 1 });
  assert.equal(findings[0].backoff, 'linear');
});

test('mixed: the filter shows exactly the SYNs to 443', { skip: need('tshark') }, async () => {
  checkFilters('mixed', (await analyze('mixed')).findings);
});

test('nxdomain: the SWG name does not resolve -> warn, no finding', async () => {
  const { result, findings, targets } = await analyze('nxdomain');
  assert.equal(result.status, 'warn');
  assert.equal(result.summary, `The Secure Web Gateway cannot be reached by name: the SWG name ${SWG_NAME} did not resolve (NXDOMAIN, frame 3).`);
  assert.equal(findings.length, 0);
  assert.equal(targets.length, 0);
  const names = result.names as Record<string, unknown>[];
  assert.deepEqual(names.map((n) => pick(n, ['name', 'queries', 'resolved', 'rcodes'])),
    [{ name: SWG_NAME, queries: 2, resolved: false, rcodes: { NXDOMAIN: 2 } }]);
});

test('ipv6-refused: dual stack, IPv6 to the SWG refused by ICMPv6 from the firewall, IPv4 works -> warn', async () => {
  const { result, findings, targets } = await analyze('ipv6-refused');
  const SWG6 = '2a05:d01c:95a:6c01::c8';
  const CLIENT6 = '2a02:8010:6b5c:1::57';
  assert.equal(result.status, 'warn');
  assert.equal(result.summary, `1 of 2 connection attempts to the Secure Web Gateway failed (1 refused; to ${SWG6}:443), 1 succeeded.`);
  assert.deepEqual(targets.map((t) => pick(t, TARGET_KEYS)), [
    { ip: SWG6, port: 443, names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 44 }, configured: null,
      attempts: 1, synRetransmits: 0, established: 0, reset: 0, unanswered: 0, icmpRejected: 1, pending: 0,
      rstTtl: null, rstHops: null, pathHops: 3, pathTtl: 61, rstSource: null },
    { ip: '18.135.112.200', port: 443, names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 42 }, configured: null,
      attempts: 1, synRetransmits: 0, established: 1, reset: 0, unanswered: 0, icmpRejected: 0, pending: 0,
      rstTtl: null, rstHops: null, pathHops: 3, pathTtl: 61, rstSource: null },
  ]);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.deepEqual(pick(f, FINDING_KEYS), {
    id: 'swg-reset', check: 'web-protection', severity: 'error',
    target: { ip: SWG6, port: 443, transport: 'tcp', names: CHAIN, learnedFrom: { name: SWG_NAME, frame: 44 }, configured: null },
    clients: [{ ip: CLIENT6, count: 2, firstFrame: 45 }], count: 2, attempts: 1, frames: [45, 46], firstFrame: 45, lastFrame: 46,
    firstSeen: '2024-08-27T06:41:22.539430Z', lastSeen: '2024-08-27T06:41:22.539490Z',
  });
  assert.equal(f.message, `1 connection attempt from ${CLIENT6} to the Secure Web Gateway ${SWG6} on TCP/443 (resolved from ${SWG_NAME} in frame 44) ` +
    'was refused: 1 attempt answered by ICMPv6 administratively prohibited from 2a02:8010:6b5c:1::1. ' +
    'The ICMP error came from 2a02:8010:6b5c:1::1, not from the gateway.');
  assert.equal(f.wiresharkFilter, `ipv6.addr == ${SWG6} && tcp.port == 443 && (tcp.flags.syn == 1 || tcp.flags.reset == 1 || icmpv6)`);
});

test('ipv6-refused: the filter shows exactly the SYN and the ICMPv6 error', { skip: need('tshark') }, async () => {
  checkFilters('ipv6-refused', (await analyze('ipv6-refused')).findings);
});

test('all checks enabled: the web-protection result is the same as alone', async () => {
  for (const name of ['reset', 'drop-linear', 'ipv6-refused']) {
    const alone = await analyze(name);
    const all = await analyze(name, defaultConfig().checks);
    assert.deepEqual(all.result, alone.result, name);
    assert.deepEqual(all.findings, alone.findings, name);
  }
});

test('public corpus: nothing crashes and no SWG finding where no SWG is configured or resolved', { skip: need('public-captures') }, async () => {
  const files = readdirSync(publicCapturesDir).filter((f) => !f.endsWith('.md') && statSync(join(publicCapturesDir, f)).isFile()).sort();
  assert.ok(files.length > 50, 'corpus present');
  let analysed = 0;
  for (const file of files) {
    const config = defaultConfig();
    config.checks = ['web-protection'];
    const report = await analyzePath(join(publicCapturesDir, file), config);
    if (report.error) continue;   // unreadable on purpose (invalid versions, empty files)
    analysed++;
    const r = report.checks.find((c) => c.check === 'web-protection');
    assert.ok(r, file);
    assert.deepEqual(report.findings.filter((f) => f.check === 'web-protection'), [], file);
    for (const t of r.targets as Record<string, unknown>[]) {
      assert.ok(t.configured !== null || t.learnedFrom !== null, `${file}: target ${t.ip} neither configured nor resolved`);
    }
    assert.equal(r.status, 'not-observed', `${file}: ${r.summary}`);
  }
  assert.ok(analysed > 50, `analysed ${analysed}`);
});
