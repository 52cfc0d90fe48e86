// Scenario captures of the gotomeeting check (captures/gotomeeting/, recorded by record.sh
// with real network stacks in network namespaces and rewritten to real-looking addresses)
// through the full pipeline: exact status, summary, targets and findings; every Wireshark
// filter run through tshark (it must show the finding's frames), and the evidence itself
// checked against tshark's dissection (TTLs and handshake RTTs of the SYN-ACKs, the HTTP
// redirect and Via, the certificates). Then the public corpus: no GoToMeeting finding, and
// proxy-intercepted only where a transparent proxy really answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyzePath } from '../../src/pipeline.js';
import { defaultConfig } from '../../src/config.js';
import type { CheckResult, Finding, Signal } from '../../src/detect/types.js';
import { capturesDir, need, publicCapturesDir } from '../helpers/env.js';

const DIR = join(capturesDir, 'gotomeeting');
const GTM = '216.115.208.10';
const WEB = '93.184.215.14';
const CLIENT = '192.168.10.57';
const NAME = 'egw.gotomeeting.com';
const WSA_ISSUER = 'CN=Cisco WSA Lab CA, OU=Web Security, O=Lab';
const GOTO_ISSUER = 'CN=GoTo Test CA, O=GoTo Test, C=US';
const VIA = '1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)';
const LOC_EGW = 'http://wsa.lab.test/auth?url=http%3A%2F%2Fegw.gotomeeting.com%2Fegw%2Fv1%2Fping';
const LOC_WEB = 'http://wsa.lab.test/auth?url=http%3A%2F%2Fwww.example.com%2F';
const PROXY_NOTE = ' A transparent web proxy intercepts traffic to 1 other destination (see proxy-intercepted).';

type Port = Record<string, any>;
interface Run { result: CheckResult; findings: Finding[]; targets: Record<string, any>[] }

async function analyze(name: string): Promise<Run> {
  const config = defaultConfig();
  config.checks = ['gotomeeting'];
  const report = await analyzePath(join(DIR, name + '.pcap'), config);
  assert.equal(report.error, undefined, `${name}: ${JSON.stringify(report.error)}`);
  assert.deepEqual(report.anomalies, [], `${name}: no anomalies in a clean recording`);
  const result = report.checks.find((c) => c.check === 'gotomeeting');
  assert.ok(result);
  return { result, findings: report.findings, targets: result.targets as Record<string, any>[] };
}

function pick(o: Record<string, any>, keys: string[]): Record<string, any> {
  const out: Record<string, any> = {};
  for (const k of keys) out[k] = o[k];
  return out;
}

const PORT_KEYS = ['connections', 'state', 'answered', 'synAckTtl', 'hops', 'tlsVersion', 'tlsIssuer', 'sni', 'httpStatus',
  'httpLocation', 'via', 'intercepted', 'reference'];

function portView(p: Port): Record<string, any> {
  return { ...pick(p, PORT_KEYS), signals: (p.signals as Signal[]).map((s) => s.kind) };
}

function sig(kind: string, port: number, frame: number, value: string): Signal {
  return { kind, port, frame, value };
}

// --- tshark as the oracle ---------------------------------------------------------------

function tshark(file: string, args: string[]): string {
  const r = spawnSync('tshark', ['-n', '-r', file, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tshark ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function shownFrames(file: string, filter: string, decodeAs?: string): number[] {
  const d = decodeAs !== undefined ? ['-d', decodeAs] : [];
  return tshark(file, [...d, '-Y', filter, '-T', 'fields', '-e', 'frame.number']).split('\n').filter(Boolean).map(Number);
}

/** fields of one frame (all occurrences joined by ',') */
function frameFields(file: string, frame: number, fields: string[], decodeAs?: string): string[] {
  const d = decodeAs !== undefined ? ['-d', decodeAs] : [];
  const out = tshark(file, [...d, '-Y', `frame.number == ${frame}`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    ...fields.flatMap((f) => ['-e', f])]);
  return out.replace(/\n$/, '').split('\t');
}

/** every finding's filter is valid and shows its frames; every signal is what tshark sees at its frame */
function checkEvidence(name: string, findings: Finding[], targets: Record<string, any>[]): void {
  const file = join(DIR, name + '.pcap');
  for (const f of findings) {
    const shown = shownFrames(file, f.wiresharkFilter, f.decodeAs);
    for (const fr of f.frames) assert.ok(shown.includes(fr), `${name}: frame ${fr} of ${f.id} not shown by "${f.wiresharkFilter}"`);
    for (const s of f.signals ?? []) {
      const da = s.port === 8200 ? 'tcp.port==8200,tls' : undefined;
      const [src, sport, ttl, flags, code, loc, lines, hs, strings] = frameFields(file, s.frame,
        ['ip.src', 'tcp.srcport', 'ip.ttl', 'tcp.flags', 'http.response.code', 'http.location', 'http.response.line',
          'tls.handshake.type', 'x509sat.uTF8String'], da);
      assert.equal(src, f.target.ip, `${name}: signal ${s.kind} frame ${s.frame} comes from the target`);
      assert.equal(Number(sport), s.port);
      switch (s.kind) {
        case 'ttl-differs':
        case 'rtt-differs':
          assert.equal(flags, '0x0012', `${name}: ${s.kind} frame ${s.frame} is a SYN-ACK`);
          if (s.kind === 'ttl-differs') assert.ok(s.value.startsWith(`TTL ${ttl} `), `${s.value} vs tshark TTL ${ttl}`);
          break;
        case 'http-redirect':
          assert.ok(s.value.startsWith(`${code} to `), `${s.value} vs ${code}`);
          assert.ok(s.value.includes(`(${loc})`), `${s.value} vs ${loc}`);
          break;
        case 'via-proxy':
          assert.ok(lines.includes(`Via: ${s.value}\\r\\n`), `${lines} has Via ${s.value}`);
          break;
        case 'cert-issuer-proxy':
        case 'cert-issuer-differs':
          assert.ok(hs.split(',').includes('11'), `${name}: frame ${s.frame} holds the Certificate message`);
          assert.ok(strings.includes('Cisco WSA Lab CA'), strings);
          break;
        default:
          assert.fail(`unexpected signal ${s.kind}`);
      }
    }
  }
  // handshake RTT and TTL of every answered port, against tshark's SYN-ACK
  for (const t of targets) {
    for (const [port, p] of Object.entries(t.ports as Record<string, Port>)) {
      if (!p.answered) continue;
      const synAck = tshark(file, ['-Y', `ip.src == ${t.ip} && tcp.srcport == ${port} && tcp.flags == 0x012`, '-T', 'fields',
        '-e', 'ip.ttl', '-e', 'tcp.analysis.ack_rtt']).split('\n')[0].split('\t');
      assert.equal(Number(synAck[0]), p.synAckTtl, `${name}: ${port} SYN-ACK TTL`);
      assert.ok(Math.abs(Number(synAck[1]) * 1000 - p.rttMs) < 0.002, `${name}: ${port} RTT ${p.rttMs} vs tshark ${synAck[1]} s`);
    }
  }
}

// --- scenarios ----------------------------------------------------------------------------

test('intercepted: WSA answers 443/80 from 0 hops, 8200 reaches the server 4 hops and 70+ ms away -> fail', async () => {
  const { result, findings, targets } = await analyze('intercepted');
  assert.equal(result.status, 'fail');
  assert.equal(result.summary, `GoToMeeting fails: GoToMeeting server ${GTM} (${NAME}) is intercepted by a transparent proxy on TCP 443 and 80.` + PROXY_NOTE);
  assert.equal(targets.length, 1);
  const t = targets[0];
  assert.deepEqual(pick(t, ['ip', 'names', 'verdict', 'range', 'identifiedBy']),
    { ip: GTM, names: [NAME], verdict: 'intercepted', range: '216.115.208.0/20', identifiedBy: ['range', 'dns', 'sni', 'host'] });
  assert.deepEqual(portView(t.ports['8200']), {
    connections: 1, state: 'SF', answered: 1, synAckTtl: 60, hops: 4, tlsVersion: 'TLS 1.2', tlsIssuer: GOTO_ISSUER, sni: NAME,
    httpStatus: null, httpLocation: null, via: null, intercepted: false, reference: true, signals: [],
  });
  assert.deepEqual(portView(t.ports['443']), {
    connections: 1, state: 'SF', answered: 1, synAckTtl: 64, hops: 0, tlsVersion: 'TLS 1.2', tlsIssuer: WSA_ISSUER, sni: NAME,
    httpStatus: null, httpLocation: null, via: null, intercepted: true, reference: false,
    signals: ['ttl-differs', 'rtt-differs', 'cert-issuer-proxy', 'cert-issuer-differs'],
  });
  assert.deepEqual(portView(t.ports['80']), {
    connections: 1, state: 'SF', answered: 1, synAckTtl: 64, hops: 0, tlsVersion: null, tlsIssuer: null, sni: null,
    httpStatus: 307, httpLocation: LOC_EGW, via: VIA, intercepted: true, reference: false,
    signals: ['ttl-differs', 'rtt-differs', 'http-redirect', 'via-proxy'],
  });
  assert.deepEqual([t.ports['8200'].rttMs, t.ports['443'].rttMs, t.ports['80'].rttMs], [93.664, 0.054, 0.02]);
  for (const port of ['8200', '443', '80']) assert.match(t.ports[port].history, /^ShAD/, `${port}: ${t.ports[port].history}`);

  assert.deepEqual(findings.map((f) => f.id), ['gtm-intercepted', 'proxy-intercepted']);
  const [g, p] = findings;
  assert.deepEqual(pick(g, ['severity', 'clients', 'count', 'attempts', 'frames', 'firstFrame', 'lastFrame', 'firstSeen', 'lastSeen', 'decodeAs']), {
    severity: 'error', clients: [{ ip: CLIENT, count: 2, firstFrame: 40 }], count: 6, attempts: 2,
    frames: [41, 44, 50, 52, 66, 70], firstFrame: 40, lastFrame: 65,
    firstSeen: '2025-03-04T09:15:00.803775Z', lastSeen: '2025-03-04T09:15:00.845550Z', decodeAs: 'tcp.port==8200,tls',
  });
  assert.deepEqual(g.target, {
    ip: GTM, ports: [443, 80], transport: 'tcp', names: [NAME], verdict: 'intercepted', range: '216.115.208.0/20', signals: g.signals,
  });
  assert.deepEqual(g.signals, [
    sig('ttl-differs', 443, 41, 'TTL 64 (0 hops) vs 60 (4 hops) on port 8200'),
    sig('rtt-differs', 443, 41, 'handshake 0.054 ms vs 94 ms on port 8200'),
    sig('cert-issuer-proxy', 443, 50, WSA_ISSUER),
    sig('cert-issuer-differs', 443, 50, 'Cisco WSA Lab CA vs GoTo Test CA on port 8200'),
    sig('ttl-differs', 80, 44, 'TTL 64 (0 hops) vs 60 (4 hops) on port 8200'),
    sig('rtt-differs', 80, 44, 'handshake 0.02 ms vs 94 ms on port 8200'),
    sig('http-redirect', 80, 52, `307 to wsa.lab.test (${LOC_EGW})`),
    sig('via-proxy', 80, 52, VIA),
  ]);
  assert.equal(g.message, `GoToMeeting server ${GTM} (${NAME}): TCP 443 and 80 were answered by a transparent proxy (answered from 0 hops in 0.054 ms), ` +
    'while TCP 8200 reached the server 4 hops and 94 ms away: TTL 64 (0 hops) vs 60 (4 hops) on port 8200; handshake 0.054 ms vs 94 ms on port 8200; ' +
    `certificate issued by "${WSA_ISSUER}"; certificate issuer Cisco WSA Lab CA vs GoTo Test CA on port 8200; HTTP 307 to wsa.lab.test; Via Cisco-WSA/12.5.1-011.`);
  assert.equal(g.wiresharkFilter, `ip.src == ${GTM} && ((tcp.srcport == 8200 && (tcp.flags.syn == 1 || tls.handshake.type == 11)) || ` +
    '(tcp.srcport in {443, 80} && (tcp.flags.syn == 1 || tcp.len > 0 || tcp.flags.reset == 1 || tcp.flags.fin == 1)))');
  assert.match(g.remedy, /custom URL category/);
  assert.match(g.remedy, /this server is in 216\.115\.208\.0\/20/);

  // the background web traffic is intercepted too
  assert.deepEqual(pick(p, ['severity', 'clients', 'count', 'attempts', 'frames', 'firstFrame', 'lastFrame']), {
    severity: 'info', clients: [{ ip: CLIENT, count: 4, firstFrame: 7 }], count: 7, attempts: 4,
    frames: [8, 12, 22, 26, 88, 92, 102], firstFrame: 7, lastFrame: 115,
  });
  assert.deepEqual(p.target, { ip: WEB, ports: [443, 80], transport: 'tcp', names: ['www.example.com'], signals: p.signals });
  assert.deepEqual(p.signals, [
    sig('cert-issuer-proxy', 443, 26, WSA_ISSUER),
    sig('http-redirect', 80, 12, `307 to wsa.lab.test (${LOC_WEB})`),
    sig('via-proxy', 80, 12, VIA),
  ]);
  assert.equal(p.wiresharkFilter, `ip.src == ${WEB} && tcp.srcport in {443, 80} && (tcp.flags.syn == 1 || tcp.len > 0)`);
  if (!need('tshark')) checkEvidence('intercepted', findings, targets);
});

test('intercepted-8200-dropped: interception takes precedence over the dropped 8200', async () => {
  const { result, findings, targets } = await analyze('intercepted-8200-dropped');
  assert.equal(result.status, 'fail');
  assert.equal(result.summary, `GoToMeeting fails: GoToMeeting server ${GTM} (${NAME}) is intercepted by a transparent proxy on TCP 443 and 80.` + PROXY_NOTE);
  const t = targets[0];
  assert.equal(t.verdict, 'intercepted');
  assert.deepEqual(pick(t.ports['8200'], ['connections', 'state', 'answered', 'intercepted', 'reference']),
    { connections: 1, state: 'S0', answered: 0, intercepted: false, reference: false });
  assert.deepEqual(portView(t.ports['443']).signals, ['cert-issuer-proxy']);
  assert.deepEqual(portView(t.ports['80']).signals, ['http-redirect', 'via-proxy']);
  assert.deepEqual(findings.map((f) => f.id), ['gtm-intercepted', 'proxy-intercepted']);
  const g = findings[0];
  assert.deepEqual(pick(g, ['clients', 'count', 'attempts', 'frames', 'firstFrame', 'lastFrame', 'decodeAs']), {
    clients: [{ ip: CLIENT, count: 2, firstFrame: 39 }], count: 4, attempts: 2, frames: [40, 43, 47, 51], firstFrame: 39, lastFrame: 64,
    decodeAs: undefined,
  });
  assert.deepEqual(g.target.ports, [443, 80]);
  assert.deepEqual(g.signals, [
    sig('cert-issuer-proxy', 443, 47, WSA_ISSUER),
    sig('http-redirect', 80, 51, `307 to wsa.lab.test (${LOC_EGW})`),
    sig('via-proxy', 80, 51, VIA),
  ]);
  assert.equal(g.message, `GoToMeeting server ${GTM} (${NAME}): TCP 443 and 80 were answered by a transparent proxy (answered from 0 hops in 0.03 ms): ` +
    `certificate issued by "${WSA_ISSUER}"; HTTP 307 to wsa.lab.test; Via Cisco-WSA/12.5.1-011.`);
  assert.equal(g.wiresharkFilter, `ip.src == ${GTM} && ((tcp.srcport in {443, 80} && (tcp.flags.syn == 1 || tcp.len > 0 || tcp.flags.reset == 1 || tcp.flags.fin == 1)))`);
  if (!need('tshark')) checkEvidence('intercepted-8200-dropped', findings, targets);
});

test('direct: every port reaches the same far server -> pass, no findings', async () => {
  const { result, findings, targets } = await analyze('direct');
  assert.equal(result.status, 'pass');
  assert.equal(result.summary, 'GoToMeeting works: 1 server reached directly.');
  assert.deepEqual(findings, []);
  const t = targets[0];
  assert.deepEqual(pick(t, ['ip', 'names', 'verdict', 'identifiedBy']), { ip: GTM, names: [NAME], verdict: 'direct', identifiedBy: ['range', 'dns', 'sni', 'host'] });
  for (const port of ['8200', '443', '80']) {
    assert.deepEqual(pick(t.ports[port], ['state', 'synAckTtl', 'hops', 'intercepted', 'signals']),
      { state: 'SF', synAckTtl: 60, hops: 4, intercepted: false, signals: [] }, port);
    assert.ok(t.ports[port].rttMs > 70 && t.ports[port].rttMs < 120, `${port}: ${t.ports[port].rttMs}`);
  }
  assert.equal(t.ports['8200'].tlsIssuer, GOTO_ISSUER);
  assert.equal(t.ports['443'].tlsIssuer, GOTO_ISSUER);
  assert.equal(t.ports['80'].httpStatus, 200);
  assert.equal(t.ports['80'].server, 'GoTo-EGW-lab');
  if (!need('tshark')) checkEvidence('direct', findings, targets);
});

test('explicit-proxy: CONNECT egw.gotomeeting.com:443 through the WSA, direct 8200/80 dropped -> pass', async () => {
  const { result, findings, targets } = await analyze('explicit-proxy');
  assert.equal(result.status, 'pass');
  assert.equal(result.summary, 'GoToMeeting works: 1 server reached through an explicit proxy.');
  assert.deepEqual(findings, []);
  const t = targets[0];
  assert.deepEqual(pick(t, ['ip', 'names', 'verdict', 'identifiedBy']), { ip: GTM, names: [NAME], verdict: 'explicit-proxy', identifiedBy: ['range', 'dns', 'connect'] });
  assert.deepEqual(t.ports['443'], {
    connections: 1, state: 'SF', explicitProxy: ['192.168.10.1:3128'], httpStatus: 200, tlsVersion: 'TLS 1.2', tlsIssuer: GOTO_ISSUER, signals: [],
  });
  assert.equal(t.ports['8200'].state, 'S0');
  assert.equal(t.ports['80'].state, 'S0');
});

test('blocked: 8200, 443 and 80 dropped -> gtm-blocked with every SYN', async () => {
  const { result, findings, targets } = await analyze('blocked');
  assert.equal(result.status, 'fail');
  assert.equal(result.summary, `GoToMeeting fails: GoToMeeting server ${GTM} cannot be reached on TCP 8200, 443 and 80.`);
  assert.equal(targets[0].verdict, 'blocked');
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.deepEqual(pick(f, ['id', 'severity', 'target', 'clients', 'count', 'attempts', 'frames', 'firstFrame', 'lastFrame', 'firstSeen', 'lastSeen', 'wiresharkFilter']), {
    id: 'gtm-blocked', severity: 'error',
    target: { ip: GTM, ports: [8200, 443, 80], transport: 'tcp', names: [NAME], verdict: 'blocked', range: '216.115.208.0/20' },
    clients: [{ ip: CLIENT, count: 3, firstFrame: 40 }], count: 18, attempts: 3,
    frames: [40, 41, 42, 43, 44, 45, 46, 47, 48, 51, 52, 53, 54, 55, 56, 57, 58, 59], firstFrame: 40, lastFrame: 59,
    firstSeen: '2025-03-04T09:15:01.002068Z', lastSeen: '2025-03-04T09:15:06.134679Z',
    wiresharkFilter: `ip.addr == ${GTM} && tcp.port in {8200, 443, 80} && (tcp.flags.syn == 1 || tcp.flags.reset == 1 || tcp.flags.fin == 1)`,
  });
  assert.equal(f.message, `GoToMeeting server ${GTM} (${NAME}) could not be reached on any port: TCP 8200: 1 attempt unanswered (6 SYNs, no SYN-ACK); ` +
    'TCP 443: 1 attempt unanswered (6 SYNs, no SYN-ACK); TCP 80: 1 attempt unanswered (6 SYNs, no SYN-ACK).');
  if (!need('tshark')) {
    const file = join(DIR, 'blocked.pcap');
    // the filter shows exactly the evidence: the 18 SYNs, all to the server, none answered
    assert.deepEqual(shownFrames(file, f.wiresharkFilter), f.frames);
    assert.deepEqual(shownFrames(file, `ip.src == ${GTM}`), []);
    assert.deepEqual(shownFrames(file, `ip.dst == ${GTM} && tcp.flags == 0x002`), f.frames);
  }
});

test('web-intercepted: no GoToMeeting, a transparent proxy on ordinary web traffic -> proxy-intercepted (info), not-observed', async () => {
  const { result, findings, targets } = await analyze('web-intercepted');
  assert.equal(result.status, 'not-observed');
  assert.equal(result.summary, 'No GoToMeeting connections (TCP 8200/443/80 to the GoTo ranges or names) in the capture.' + PROXY_NOTE);
  assert.deepEqual(targets, []);
  assert.deepEqual(findings.map((f) => [f.id, f.severity, f.target.ip, f.target.ports]), [['proxy-intercepted', 'info', WEB, [443, 80]]]);
  const f = findings[0];
  assert.deepEqual(pick(f, ['clients', 'count', 'attempts', 'frames', 'firstFrame', 'lastFrame']), {
    clients: [{ ip: CLIENT, count: 6, firstFrame: 7 }], count: 9, attempts: 6, frames: [8, 12, 22, 26, 44, 48, 58, 80, 94], firstFrame: 7, lastFrame: 108,
  });
  assert.equal(f.message, `Web traffic to ${WEB} (www.example.com) on TCP 443 and 80 was answered by a transparent proxy, answered from 0 hops in 0.033 ms: ` +
    `certificate issued by "${WSA_ISSUER}"; HTTP 307 to wsa.lab.test; Via Cisco-WSA/12.5.1-011.`);
  assert.match(f.explanation, /not GoToMeeting traffic/);
  if (!need('tshark')) checkEvidence('web-intercepted', findings, targets);
});

test('the whole pipeline with every check: the gotomeeting results do not change', async () => {
  for (const name of ['intercepted', 'blocked']) {
    const only = await analyze(name);
    const report = await analyzePath(join(DIR, name + '.pcap'), defaultConfig());
    const res = report.checks.find((c) => c.check === 'gotomeeting')!;
    assert.deepEqual(res, only.result);
    assert.deepEqual(report.findings.filter((f) => f.check === 'gotomeeting'), only.findings);
  }
});

// --- public corpus ----------------------------------------------------------------------------

// Public captures with proxies in them (MANIFEST.md): explicit proxies (Zscaler and Apache
// CONNECT, squid with absolute-form requests), server-side caches (varnish, CloudFront, Novell
// iChain Via headers) and a synthetic 407. None is GoToMeeting, so none may give a gtm-*
// finding. proxy-intercepted is raised on exactly one: suricata-verify__lua-output-http.pcap,
// where a plain origin-form GET to 104.131.202.103:80 (a DigitalOcean address) is answered
// with a SYN-ACK of TTL 64 (0 hops) after 0.44 ms and a response carrying
// "Via: 1.1 fw.unx.ca (squid/3.3.8)" and "X-Cache: HIT from fw.unx.ca": a squid on the
// client's own segment ("fw") answering in the web server's name, i.e. a transparent proxy.
const EXPECTED_PROXY = new Map([['suricata-verify__lua-output-http.pcap', ['104.131.202.103']]]);

test('public corpus: nothing crashes, no GoToMeeting finding, proxy-intercepted only where justified', { skip: need('public-captures') }, async () => {
  const files = readdirSync(publicCapturesDir).filter((f) => !f.endsWith('.md') && statSync(join(publicCapturesDir, f)).isFile()).sort();
  assert.ok(files.length > 100);
  const seen = new Map<string, string[]>();
  for (const file of files) {
    const config = defaultConfig();
    config.checks = ['gotomeeting'];
    const report = await analyzePath(join(publicCapturesDir, file), config);
    if (report.error !== undefined) continue;       // unreadable on purpose (bad versions, not captures)
    const res = report.checks.find((c) => c.check === 'gotomeeting')!;
    assert.equal(res.status, 'not-observed', `${file}: ${res.summary}`);
    assert.deepEqual(res.targets, [], file);
    for (const f of report.findings) {
      assert.equal(f.id, 'proxy-intercepted', `${file}: ${f.id} ${f.message}`);
      assert.equal(f.severity, 'info');
      seen.set(file, [...(seen.get(file) ?? []), f.target.ip]);
    }
  }
  assert.deepEqual(seen, EXPECTED_PROXY);
});

test('public corpus: the squid answer in lua-output-http is what tshark shows', { skip: need('public-captures') || need('tshark') }, async () => {
  const file = join(publicCapturesDir, 'suricata-verify__lua-output-http.pcap');
  const config = defaultConfig();
  config.checks = ['gotomeeting'];
  const report = await analyzePath(file, config);
  const f = report.findings[0];
  assert.deepEqual(f.signals, [sig('via-proxy', 80, 6, '1.1 fw.unx.ca (squid/3.3.8)')]);
  assert.deepEqual(f.frames, [2, 6]);
  assert.equal(f.message, 'Web traffic to 104.131.202.103 (codemonkey.net) on TCP 80 was answered by a transparent proxy, answered from 0 hops in 0.437 ms: Via squid/3.3.8.');
  const [ttl] = frameFields(file, 2, ['ip.ttl']);
  assert.equal(ttl, '64');
  const [uri] = frameFields(file, 4, ['http.request.uri']);
  assert.equal(uri, '/base64-hello-world.txt', 'origin-form request: the client did not address a proxy');
  for (const fr of f.frames) assert.ok(shownFrames(file, f.wiresharkFilter).includes(fr));
});
