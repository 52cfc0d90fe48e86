// Unit tests of the gotomeeting check, fed with synthetic connections (FlowRecords with
// first bytes, and the packets a candidate flow asks for) and DNS responses: which
// connections count as GoToMeeting, the per-port measurements, the verdicts and their
// precedence, proxy-intercepted on other destinations (and what must not become one), status,
// summary, findings, --client, live early findings and bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config.js';
import type { CheckContext, Finding } from '../../src/detect/types.js';
import type { AddressFact, NameCache, NameFact } from '../../src/flow/names.js';
import type { ConnState, DirStats, DnsResponseEvent, FlowRecord, StreamCapture } from '../../src/flow/types.js';
import { WANT_PACKETS, WANT_STREAMS } from '../../src/flow/types.js';
import { TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN, type Packet } from '../../src/decode/packet.js';
import { CidrSet } from '../../src/decode/addr.js';
import { isoTime } from '../../src/report/time.js';
import { CHECK, FINDING_IDS, createGotomeetingCheck, type GotomeetingOptions } from '../../src/detect/gotomeeting.js';
import { classifyVia, hopsOf, isProxyIssuer, authSchemes, hostOnly } from '../../src/detect/proxy-signals.js';
import {
  CA_PEM, LEAF_PEM, WSA_CA_PEM, WSA_LEAF_PEM, clientHello, pemToDer, record, handshake, serverHelloBody, serverFlight12,
} from '../decode/tls-fixtures.js';

const T0 = 1_790_000_000;
const GTM = '216.115.208.10';
const CLIENT = '10.20.1.57';
const GOTO_CHAIN = [pemToDer(LEAF_PEM), pemToDer(CA_PEM)];
const WSA_CHAIN = [pemToDer(WSA_LEAF_PEM), pemToDer(WSA_CA_PEM)];

const WSA_307 = 'HTTP/1.1 307 Temporary Redirect\r\nLocation: http://wsa.lab.test/auth?url=http%3A%2F%2Fegw.gotomeeting.com%2F\r\n' +
  'Via: 1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const GET_EGW = 'GET / HTTP/1.1\r\nHost: egw.gotomeeting.com\r\nUser-Agent: G2M\r\n\r\n';
const OK_200 = 'HTTP/1.1 200 OK\r\nServer: GoTo-EGW\r\nContent-Length: 2\r\n\r\nok';

// ---------------------------------------------------------------------------------------
// factories

function fakeNames(addrs: Record<string, string> = {}): NameCache {
  return {
    learn() { /* unused */ },
    namesFor: (a: string): NameFact[] => Object.entries(addrs).filter(([, ip]) => ip === a).map(([name]) => ({ name, frameNo: 1 })),
    addressesOf: (n: string): AddressFact[] => addrs[n] !== undefined ? [{ name: n, frameNo: 1, address: addrs[n] }] : [],
    cnameChain: (): NameFact[] => [],
    findNames: (): NameFact[] => [],
    size: Object.keys(addrs).length,
  };
}

interface Ctx extends CheckContext { early: Finding[] }

function mkCtx(o: { clients?: string[]; names?: Record<string, string>; live?: boolean; timing?: 'capture' | 'arrival' } = {}): Ctx {
  const set = new CidrSet(o.clients ?? []);
  const ctx: Ctx = {
    config: defaultConfig(),
    names: fakeNames(o.names),
    clientAllowed: (ip) => set.size === 0 || set.has(ip),
    isoTime: (s, n) => isoTime(s, n, 6),
    early: [],
  };
  if (o.live) ctx.emitEarly = (f) => { ctx.early.push(f); };
  if (o.timing) ctx.timing = o.timing;
  return ctx;
}

interface ConnSpec {
  client?: string;
  server: string;
  port: number;
  /** start, seconds after T0, and frame of the first SYN */
  t: number;
  f: number;
  /** SYNs sent (retransmissions 1 s, then 2 s apart) */
  syns?: number;
  synAck?: { ms: number; ttl: number };
  /** client bytes then server segments (each a frame) */
  cdata?: Buffer;
  sdata?: Buffer[];
  /** ms after the client's data */
  rst?: { dir: 0 | 1; ms: number; ttl?: number };
  fin?: { dir: 0 | 1 };
  state: ConnState;
  v6?: boolean;
}

interface Built { flow: FlowRecord; frames: number[] }

let sport = 40000;

/** Drive one connection through the check like the flow table does; returns the frames used. */
function conn(check: ReturnType<typeof createGotomeetingCheck>, s: ConnSpec): Built {
  const ms = (sec: number) => (T0 + sec) * 1000;
  let frame = s.f;
  let now = s.t;
  const syns = s.syns ?? 1;
  const synFrames: number[] = [];
  const synTimes: number[] = [];
  for (let k = 0; k < syns; k++) {
    synFrames.push(frame++);
    synTimes.push(ms(now));
    now += k === 0 ? 1 : 2;
  }
  const firstSynT = s.t;
  const lastSynT = synTimes.length > 0 ? (synTimes[synTimes.length - 1] / 1000 - T0) : s.t;
  now = lastSynT;
  const pk: { dir: 0 | 1; flags: number; seq: number; len: number; frame: number; ttl: number; t: number }[] = [];
  const isn = [1000, 5000];
  for (const f of synFrames) pk.push({ dir: 0, flags: TH_SYN, seq: isn[0], len: 0, frame: f, ttl: 64, t: firstSynT });
  let synAckFrame = -1;
  const respTtl = s.synAck?.ttl ?? s.rst?.ttl ?? 60;
  if (s.synAck) {
    now += s.synAck.ms / 1000;
    synAckFrame = frame++;
    pk.push({ dir: 1, flags: TH_SYN | TH_ACK, seq: isn[1], len: 0, frame: synAckFrame, ttl: s.synAck.ttl, t: now });
    pk.push({ dir: 0, flags: TH_ACK, seq: isn[0] + 1, len: 0, frame: frame++, ttl: 64, t: now });
  }
  let cdFrame = -1, cdMs = -1, sdFrame = -1, sdMs = -1;
  let off = [0, 0];
  if (s.cdata) {
    now += 0.0001;
    cdFrame = frame++; cdMs = ms(now);
    pk.push({ dir: 0, flags: TH_ACK | TH_PSH, seq: isn[0] + 1, len: s.cdata.length, frame: cdFrame, ttl: 64, t: now });
    off[0] = s.cdata.length;
  }
  for (const seg of s.sdata ?? []) {
    now += 0.0002;
    const f = frame++;
    if (sdFrame < 0) { sdFrame = f; sdMs = ms(now); }
    pk.push({ dir: 1, flags: TH_ACK | TH_PSH, seq: isn[1] + 1 + off[1], len: seg.length, frame: f, ttl: respTtl, t: now });
    off[1] += seg.length;
  }
  let rstFrame = -1, rstDir = -1, rstT = 0;
  if (s.rst) {
    now += s.rst.ms / 1000;
    rstFrame = frame++; rstDir = s.rst.dir; rstT = now;
    pk.push({ dir: s.rst.dir, flags: TH_RST | TH_ACK, seq: isn[s.rst.dir] + 1 + off[s.rst.dir], len: 0, frame: rstFrame, ttl: s.rst.ttl ?? respTtl, t: now });
  }
  const finFrame: [number, number] = [-1, -1];
  if (s.fin) {
    now += 0.0001;
    finFrame[s.fin.dir] = frame++;
    pk.push({ dir: s.fin.dir, flags: TH_FIN | TH_ACK, seq: isn[s.fin.dir] + 1 + off[s.fin.dir], len: 0, frame: finFrame[s.fin.dir], ttl: s.fin.dir === 1 ? respTtl : 64, t: now });
  }
  const frames = pk.map((p) => p.frame);
  const lastFrame = Math.max(...frames);
  const dirStats = (d: 0 | 1): DirStats => {
    const ps = pk.filter((p) => p.dir === d);
    return {
      pkts: ps.length, bytes: ps.length * 60, payloadBytes: ps.reduce((n, p) => n + p.len, 0),
      ttlMin: ps.length ? Math.min(...ps.map((p) => p.ttl)) : -1, ttlMax: ps.length ? Math.max(...ps.map((p) => p.ttl)) : -1,
      firstTtl: ps.length ? ps[0].ttl : -1, firstFrame: ps.length ? ps[0].frame : -1, lastFrame: ps.length ? ps[ps.length - 1].frame : -1,
    };
  };
  const flow: FlowRecord = {
    uid: 'C' + sport, id: { orig_h: s.client ?? CLIENT, orig_p: sport++, resp_h: s.server, resp_p: s.port, proto: 'tcp' },
    tsSec: Math.floor(T0 + s.t), tsNsec: Math.round((s.t % 1) * 1e9),
    lastTsSec: Math.floor(T0 + now), lastTsNsec: Math.round((now % 1) * 1e9),
    firstMs: ms(s.t), lastMs: ms(now), duration: (now - s.t) * 1000,
    dir: [dirStats(0), dirStats(1)], history: '', conn_state: null, ipVersion: s.v6 ? 6 : 4,
    synFrames, synTimesMs: synTimes, synCount: syns, synIsn: isn[0], synTtl: 64,
    synAckFrame, synAckTtl: s.synAck?.ttl ?? -1,
    synToSynAckMs: s.synAck ? (ms(lastSynT) + s.synAck.ms) - ms(firstSynT) : -1,
    rstFrame, rstDir, rstTtl: s.rst ? (s.rst.ttl ?? respTtl) : -1, rstAfterSynMs: s.rst ? ms(rstT) - ms(firstSynT) : -1,
    finFrame, firstDataFrame: [cdFrame, sdFrame], firstDataMs: [cdMs, sdMs],
    icmpErrors: [], streams: null, watchers: 0, ext: null,
  };
  const first = pk[0];
  const pkt = (p: typeof first): Packet => ({ proto: 6, tcpFlags: p.flags, seq: p.seq >>> 0, payloadLen: p.len, frameNo: p.frame, ttl: p.ttl } as unknown as Packet);
  const mask = check.onFlowStart!(flow, pkt(first));
  if ((mask & WANT_STREAMS) !== 0) {
    const mk = (b: Buffer | null, fr: number[]): StreamCapture => ({ bytes: b ?? Buffer.alloc(0), length: b?.length ?? 0, frames: fr, complete: true, gap: false });
    flow.streams = [
      mk(s.cdata ?? null, cdFrame > 0 ? [cdFrame] : []),
      mk(s.sdata ? Buffer.concat(s.sdata) : null, pk.filter((p) => p.dir === 1 && p.len > 0).map((p) => p.frame)),
    ];
  }
  if ((mask & WANT_PACKETS) !== 0) for (const p of pk) check.onPacket!(flow, pkt(p), p.dir);
  flow.conn_state = s.state;
  check.onFlowEnd!(flow);
  return { flow, frames };
}

function dnsAnswer(check: ReturnType<typeof createGotomeetingCheck>, name: string, ip: string, cname?: string): void {
  const answers = cname
    ? [{ name, type: 'CNAME', ttl: 60, data: cname }, { name: cname, type: 'A', ttl: 60, data: ip }]
    : [{ name, type: 'A', ttl: 60, data: ip }];
  const ev = { flow: null as unknown as FlowRecord, frameNo: 2, tsMs: T0 * 1000, server: '10.0.0.1', client: CLIENT, id: 1,
    rcode: 'NOERROR', question: { name, type: 'A', class: 'IN' }, answers } as DnsResponseEvent;
  check.onDnsResponse!(ev);
}

/** A WSA in transparent mode between the client and GTM: 8200 real (4 hops, 70 ms), 443/80 the proxy. */
function interceptedRace(check: ReturnType<typeof createGotomeetingCheck>, t = 0, f0 = 10, withRef = true): void {
  if (withRef) {
    conn(check, { server: GTM, port: 8200, t, f: f0, synAck: { ms: 70, ttl: 60 }, cdata: clientHello('egw.gotomeeting.com'),
      sdata: [serverFlight12(GOTO_CHAIN)], fin: { dir: 0 }, state: 'SF' });
  } else {
    conn(check, { server: GTM, port: 8200, t, f: f0, syns: 3, state: 'S0' });
  }
  conn(check, { server: GTM, port: 443, t, f: f0 + 20, synAck: { ms: 0.2, ttl: 64 }, cdata: clientHello('egw.gotomeeting.com'),
    sdata: [serverFlight12(WSA_CHAIN)], fin: { dir: 0 }, state: 'SF' });
  conn(check, { server: GTM, port: 80, t, f: f0 + 40, synAck: { ms: 0.2, ttl: 64 }, cdata: Buffer.from(GET_EGW),
    sdata: [Buffer.from(WSA_307)], fin: { dir: 1 }, state: 'SF' });
}

function run(opts: Parameters<typeof mkCtx>[0] = {}, over: Partial<GotomeetingOptions> = {}) {
  const ctx = mkCtx(opts);
  const check = createGotomeetingCheck(ctx, over);
  return { ctx, check };
}

// ---------------------------------------------------------------------------------------

test('module exports: check name and finding ids', () => {
  assert.equal(CHECK, 'gotomeeting');
  assert.deepEqual([...FINDING_IDS], ['gtm-intercepted', 'gtm-blocked', 'proxy-intercepted']);
});

test('helpers: hops, Via classes, proxy issuers, auth schemes, host without port', () => {
  assert.equal(hopsOf(64), 0); assert.equal(hopsOf(60), 4); assert.equal(hopsOf(113), 15); assert.equal(hopsOf(250), 5); assert.equal(hopsOf(-1), -1);
  assert.equal(classifyVia('1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)'), 'forward');
  assert.equal(classifyVia('1.1 proxy (IronPort-WSA/7.1.3-013)'), 'forward');
  assert.equal(classifyVia('1.1 fw.unx.ca (squid/3.3.8)'), 'dual');
  assert.equal(classifyVia('1.1 varnish, 1.1 cbv4-nc'), null);
  assert.equal(classifyVia('1.1 dfa2.cloudfront.net (CloudFront)'), null);
  assert.equal(classifyVia('1.1 ICS_SERVER (iChain 2.3.327)'), null);
  assert.equal(isProxyIssuer('CN=Cisco WSA Lab CA, OU=Web Security, O=Lab'), true);
  assert.equal(isProxyIssuer('CN=Zscaler Intermediate Root CA (zscaler.net)'), true);
  assert.equal(isProxyIssuer('CN=COMODO High-Assurance Secure Server CA, O=COMODO CA Limited'), false);
  assert.equal(isProxyIssuer("CN=R3, O=Let's Encrypt, C=US"), false);
  assert.deepEqual(authSchemes(['Negotiate', 'NTLM', 'Basic realm="WSA"']), ['Negotiate', 'NTLM', 'Basic']);
  assert.equal(hostOnly('EGW.gotomeeting.com:80'), 'egw.gotomeeting.com');
  assert.equal(hostOnly('[2001:db8::1]:443'), '2001:db8::1');
});

test('onFlowStart is cheap and selective: UDP, other ports, in-range candidates, bounded sampling', () => {
  const { check } = run({}, { sampleFlowsPerDest: 2, maxSampledDests: 3, maxSampledLive: 3 });
  const rec = (server: string, port: number): FlowRecord => ({
    uid: 'x', id: { orig_h: CLIENT, orig_p: 1, resp_h: server, resp_p: port, proto: 'tcp' }, tsSec: T0, tsNsec: 0,
    lastTsSec: T0, lastTsNsec: 0, lastMs: T0 * 1000, firstMs: T0 * 1000, duration: 0,
    dir: [0, 1].map(() => ({ pkts: 0, bytes: 0, payloadBytes: 0, ttlMin: -1, ttlMax: -1, firstTtl: -1, firstFrame: -1, lastFrame: -1 })) as [DirStats, DirStats],
    history: 'S', conn_state: 'S0', ipVersion: 4, synFrames: [1], synTimesMs: [T0 * 1000], synCount: 1, synIsn: 1, synTtl: 64,
    synAckFrame: -1, synAckTtl: -1, synToSynAckMs: -1, rstFrame: -1, rstDir: -1, rstTtl: -1, rstAfterSynMs: -1,
    finFrame: [-1, -1], firstDataFrame: [-1, -1], firstDataMs: [-1, -1], icmpErrors: [], streams: null, watchers: 0, ext: null,
  });
  const tcp = { proto: 6 } as Packet;
  assert.equal(check.onFlowStart!(rec(GTM, 8200), { proto: 17 } as Packet), 0);
  assert.equal(check.onFlowStart!(rec(GTM, 22), tcp), 0);
  const r = rec(GTM, 443);
  assert.equal(check.onFlowStart!(r, tcp), WANT_PACKETS | WANT_STREAMS, 'in the GoTo ranges: a candidate');
  assert.ok(r.ext !== null && r.ext[CHECK] !== undefined);
  assert.equal(check.onFlowStart!(rec('217.0.0.1', 443), tcp), WANT_STREAMS, 'first octet in no range: sampled, not a candidate');
  // other destinations: at most 2 flows per destination, at most 3 sampled flows alive at once
  const a = rec('93.184.216.34', 80);
  assert.equal(check.onFlowStart!(a, tcp), WANT_STREAMS);
  assert.equal(check.onFlowStart!(rec('93.184.216.34', 443), tcp), WANT_STREAMS);
  assert.equal(check.onFlowStart!(rec('1.1.1.1', 3128), tcp), 0, 'three sampled flows alive');
  check.onFlowEnd!(a);
  assert.equal(check.onFlowStart!(rec('93.184.216.34', 80), tcp), 0, 'two flows to this destination already');
  assert.equal(check.onFlowStart!(rec('1.1.1.1', 3128), tcp), WANT_STREAMS, 'a slot was freed');
  // the per-destination counts start afresh when maxSampledDests addresses are counted
  const b = rec('8.8.8.8', 443);
  assert.equal(check.onFlowStart!(b, tcp), 0, 'live cap again');
  check.onFlowEnd!(rec('1.1.1.1', 3128));   // not sampled: does not free a slot
  assert.equal(check.onFlowStart!(b, tcp), 0);
});

test('transparent WSA: 8200 reaches the server, 443/80 answered by the proxy -> gtm-intercepted with every signal', () => {
  const { check } = run({ names: { 'egw.gotomeeting.com': GTM } });
  dnsAnswer(check, 'egw.gotomeeting.com', GTM);
  interceptedRace(check);
  const { result, findings } = check.finish();
  assert.equal(result.status, 'fail');
  assert.match(result.summary, /GoToMeeting server 216\.115\.208\.10 \(egw\.gotomeeting\.com\) is intercepted by a transparent proxy on TCP 443 and 80/);
  assert.equal(result.targets.length, 1);
  const t = result.targets[0] as Record<string, any>;
  assert.equal(t.ip, GTM);
  assert.equal(t.verdict, 'intercepted');
  assert.deepEqual(t.names, ['egw.gotomeeting.com']);
  assert.equal(t.range, '216.115.208.0/20');
  assert.deepEqual(Object.keys(t.ports), ['80', '443', '8200']);   // JSON objects list integer keys in ascending order
  const p8200 = t.ports['8200'], p443 = t.ports['443'], p80 = t.ports['80'];
  assert.deepEqual([p8200.connections, p8200.state, p8200.synAckTtl, p8200.hops, p8200.rttMs], [1, 'SF', 60, 4, 70]);
  assert.equal(p8200.reference, true);
  assert.equal(p8200.intercepted, false);
  assert.equal(p8200.tlsIssuer, 'CN=GoTo Test CA, O=GoTo Test, C=US');
  assert.equal(p8200.tlsVersion, 'TLS 1.2');
  assert.equal(p8200.sni, 'egw.gotomeeting.com');
  assert.deepEqual([p443.synAckTtl, p443.hops, p443.rttMs, p443.intercepted], [64, 0, 0.2, true]);
  assert.equal(p443.tlsIssuer, 'CN=Cisco WSA Lab CA, OU=Web Security, O=Lab');
  assert.equal(p80.httpStatus, 307);
  assert.equal(p80.via, '1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)');
  assert.deepEqual(p443.signals.map((s: any) => s.kind).sort(), ['cert-issuer-differs', 'cert-issuer-proxy', 'rtt-differs', 'ttl-differs']);
  assert.deepEqual(p80.signals.map((s: any) => s.kind).sort(), ['http-redirect', 'rtt-differs', 'ttl-differs', 'via-proxy']);

  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f.id, 'gtm-intercepted');
  assert.equal(f.severity, 'error');
  assert.deepEqual(f.target.ports, [443, 80]);
  assert.equal(f.target.ip, GTM);
  assert.deepEqual(f.clients, [{ ip: CLIENT, count: 2, firstFrame: 30 }]);
  assert.equal(f.attempts, 2);
  // SYN-ACKs of 443 (31) and 80 (51), the certificate (34) and the redirect (54), and the
  // reference on 8200: its SYN-ACK (11) and its certificate (14)
  assert.deepEqual(f.frames, [11, 14, 31, 34, 51, 54]);
  assert.equal(f.count, 2 + 2 + 2);
  assert.equal(f.firstFrame, 30);
  assert.ok(f.lastFrame >= 54);
  const sig = (k: string, port: number) => f.signals!.find((s) => s.kind === k && s.port === port)!;
  assert.deepEqual(sig('ttl-differs', 443), { kind: 'ttl-differs', port: 443, frame: 31, value: 'TTL 64 (0 hops) vs 60 (4 hops) on port 8200' });
  assert.deepEqual(sig('rtt-differs', 80), { kind: 'rtt-differs', port: 80, frame: 51, value: 'handshake 0.2 ms vs 70 ms on port 8200' });
  assert.equal(sig('cert-issuer-proxy', 443).frame, 34);
  assert.equal(sig('cert-issuer-differs', 443).value, 'Cisco WSA Lab CA vs GoTo Test CA on port 8200');
  assert.equal(sig('http-redirect', 80).value.startsWith('307 to wsa.lab.test (http://wsa.lab.test/auth?'), true);
  assert.equal(sig('via-proxy', 80).frame, 54);
  assert.match(f.message, /^GoToMeeting server 216\.115\.208\.10 \(egw\.gotomeeting\.com\): TCP 443 and 80 were answered by a transparent proxy \(answered from 0 hops in 0\.2 ms\), while TCP 8200 reached the server 4 hops and 70 ms away: /);
  assert.match(f.message, /HTTP 307 to wsa\.lab\.test/);
  assert.match(f.message, /Via Cisco-WSA\/12\.5\.1-011/);
  assert.match(f.remedy, /custom URL category/);
  assert.match(f.remedy, /216\.115\.208\.0\/20/);
  assert.match(f.remedy, /explicit/);
  assert.match(f.explanation, /8200, 443 and 80/);
  assert.equal(f.wiresharkFilter, 'ip.src == 216.115.208.10 && ((tcp.srcport == 8200 && (tcp.flags.syn == 1 || tls.handshake.type == 11)) || ' +
    '(tcp.srcport in {443, 80} && (tcp.flags.syn == 1 || tcp.len > 0 || tcp.flags.reset == 1 || tcp.flags.fin == 1)))');
  assert.equal(f.decodeAs, 'tcp.port==8200,tls');
  assert.equal(f.firstSeen, isoTime(T0, 0, 6));
});

test('interception takes precedence: 8200 dropped while 443/80 are answered by the proxy', () => {
  const { check } = run();
  interceptedRace(check, 0, 10, false);
  const { result, findings } = check.finish();
  assert.equal(result.status, 'fail');
  const t = result.targets[0] as Record<string, any>;
  assert.equal(t.verdict, 'intercepted');
  assert.equal(t.ports['8200'].state, 'S0');
  assert.equal(t.ports['8200'].reference, false);
  assert.deepEqual(findings.map((f) => f.id), ['gtm-intercepted']);
  const f = findings[0];
  assert.deepEqual(f.target.ports, [443, 80]);
  assert.deepEqual(f.signals!.map((s) => s.kind).sort(), ['cert-issuer-proxy', 'http-redirect', 'via-proxy']);
  assert.equal(f.wiresharkFilter, 'ip.src == 216.115.208.10 && ((tcp.srcport in {443, 80} && (tcp.flags.syn == 1 || tcp.len > 0 || tcp.flags.reset == 1 || tcp.flags.fin == 1)))');
  assert.equal(f.decodeAs, undefined);
});

test('direct: the same far server on every port -> pass, no findings', () => {
  const { check } = run();
  for (const [port, f] of [[8200, 10], [443, 30], [80, 50]] as const) {
    conn(check, { server: GTM, port, t: 0, f, synAck: { ms: 68 + port / 1000, ttl: 57 },
      cdata: port === 80 ? Buffer.from(GET_EGW) : clientHello('egw.gotomeeting.com'),
      sdata: [port === 80 ? Buffer.from(OK_200) : serverFlight12(GOTO_CHAIN)], fin: { dir: 0 }, state: 'SF' });
  }
  const { result, findings } = check.finish();
  assert.equal(result.status, 'pass');
  assert.equal(findings.length, 0);
  const t = result.targets[0] as Record<string, any>;
  assert.equal(t.verdict, 'direct');
  assert.equal(t.ports['443'].hops, 7);
  assert.equal(t.ports['80'].httpStatus, 200);
  assert.equal(t.ports['80'].server, 'GoTo-EGW');
  assert.deepEqual(t.ports['443'].signals, []);
  assert.match(result.summary, /^GoToMeeting works: 1 server reached directly\.$/);
});

test('direct on 443 only with TLS 1.3: certificate not visible, still direct', () => {
  const { check } = run();
  const tls13 = Buffer.concat([record(22, handshake(2, serverHelloBody(0x0304))), record(20, Buffer.from([1])), record(23, Buffer.alloc(200, 7))]);
  conn(check, { server: GTM, port: 443, t: 0, f: 5, synAck: { ms: 40, ttl: 52 }, cdata: clientHello('egw.gotomeeting.com'), sdata: [tls13], state: 'SF', fin: { dir: 0 } });
  const { result } = check.finish();
  const p = (result.targets[0] as any).ports['443'];
  assert.equal(p.tlsVersion, 'TLS 1.3');
  assert.equal(p.tlsEncrypted, true);
  assert.equal(p.tlsIssuer, null);
  assert.equal(result.status, 'pass');
});

test('blocked: every port dropped (SYNs retransmitted) -> gtm-blocked', () => {
  const { check } = run();
  conn(check, { server: GTM, port: 8200, t: 0, f: 10, syns: 3, state: 'S0' });
  conn(check, { server: GTM, port: 443, t: 0, f: 20, syns: 3, state: 'S0' });
  conn(check, { server: GTM, port: 80, t: 0, f: 30, rst: { dir: 1, ms: 0.5, ttl: 63 }, state: 'REJ' });
  const { result, findings } = check.finish();
  assert.equal(result.status, 'fail');
  assert.equal((result.targets[0] as any).verdict, 'blocked');
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f.id, 'gtm-blocked');
  assert.deepEqual(f.target.ports, [8200, 443, 80]);
  assert.deepEqual(f.frames, [10, 11, 12, 20, 21, 22, 30, 31]);
  assert.equal(f.count, 3 + 3 + 2);
  assert.equal(f.attempts, 3);
  assert.match(f.message, /could not be reached on any port: TCP 8200: 1 attempt unanswered \(3 SYNs, no SYN-ACK\); TCP 443: 1 attempt unanswered \(3 SYNs, no SYN-ACK\); TCP 80: 1 attempt refused\./);
  assert.equal(f.wiresharkFilter, 'ip.addr == 216.115.208.10 && tcp.port in {8200, 443, 80} && (tcp.flags.syn == 1 || tcp.flags.reset == 1 || tcp.flags.fin == 1)');
  assert.match(result.summary, /cannot be reached on TCP 8200, 443 and 80/);
});

test('a single unanswered SYN right at the end of the capture is pending, not blocked', () => {
  const { check } = run();
  conn(check, { server: GTM, port: 8200, t: 0, f: 10, state: 'S0' });
  const { result, findings } = check.finish();
  assert.equal(result.status, 'not-observed');
  assert.equal(findings.length, 0);
  // ... but with enough capture after it, it is a failure
  const b = run();
  conn(b.check, { server: GTM, port: 8200, t: 0, f: 10, state: 'S0' });
  conn(b.check, { server: '192.0.2.7', port: 22, t: 10, f: 90, synAck: { ms: 1, ttl: 60 }, state: 'SF' });
  assert.equal(b.check.finish().result.status, 'fail');
});

test('explicit proxy: CONNECT egw.gotomeeting.com:443 through 10.20.0.1:3128 -> explicit-proxy, pass', () => {
  const { check } = run({ names: { 'egw.gotomeeting.com': GTM } });
  const req = Buffer.concat([Buffer.from('CONNECT egw.gotomeeting.com:443 HTTP/1.1\r\nHost: egw.gotomeeting.com:443\r\n\r\n'), clientHello('egw.gotomeeting.com')]);
  const resp = Buffer.concat([Buffer.from('HTTP/1.1 200 Connection established\r\nVia: 1.1 wsa.lab.test (Cisco-WSA/12.5.1-011)\r\n\r\n'), serverFlight12(GOTO_CHAIN)]);
  conn(check, { server: '10.20.0.1', port: 3128, t: 0, f: 10, synAck: { ms: 0.3, ttl: 64 }, cdata: req, sdata: [resp], fin: { dir: 0 }, state: 'SF' });
  // the client's 8200 attempt goes direct and is dropped by the firewall
  conn(check, { server: GTM, port: 8200, t: 0, f: 30, syns: 3, state: 'S0' });
  const { result, findings } = check.finish();
  assert.equal(findings.length, 0);
  assert.equal(result.status, 'pass');
  const t = result.targets[0] as any;
  assert.equal(t.ip, GTM);
  assert.equal(t.verdict, 'explicit-proxy');
  assert.deepEqual(t.identifiedBy, ['range', 'connect']);
  assert.deepEqual(t.ports['443'].explicitProxy, ['10.20.0.1:3128']);
  assert.equal(t.ports['443'].httpStatus, 200);
  assert.equal(t.ports['443'].tlsIssuer, 'CN=GoTo Test CA, O=GoTo Test, C=US');
  assert.match(result.summary, /1 server reached through an explicit proxy/);
});

test('named only by SNI (address outside the ranges, no DNS seen) -> identified and judged', () => {
  const { check } = run();
  const ip = '3.120.7.9';
  conn(check, { server: ip, port: 443, t: 0, f: 10, synAck: { ms: 0.2, ttl: 64 }, cdata: clientHello('egw.gotomeeting.com'), sdata: [serverFlight12(WSA_CHAIN)], state: 'SF', fin: { dir: 0 } });
  const { result, findings } = check.finish();
  const t = result.targets[0] as any;
  assert.equal(t.ip, ip);
  assert.deepEqual(t.identifiedBy, ['sni']);
  assert.equal(t.range, null);
  assert.equal(t.verdict, 'intercepted');
  assert.deepEqual(findings.map((f) => f.id), ['gtm-intercepted']);
});

test('DNS answers teach GoTo addresses through CNAME chains; later flows to them are candidates', () => {
  const { check } = run();
  dnsAnswer(check, 'meet.example.org', '52.1.2.3', 'egw3.gotomeeting.com');
  const rec = { id: { orig_h: CLIENT, orig_p: 1, resp_h: '52.1.2.3', resp_p: 8200, proto: 'tcp' }, ext: null } as unknown as FlowRecord;
  assert.equal(check.onFlowStart!(rec, { proto: 6 } as Packet), WANT_PACKETS | WANT_STREAMS);
  const { result } = check.finish();
  assert.match(result.summary, /DNS answers for egw3\.gotomeeting\.com were seen, but no connection/);
  assert.equal(result.status, 'not-observed');
});

test('proxy-intercepted: a transparent proxy on ordinary web traffic (Via Cisco-WSA, redirect) -> info, status not-observed', () => {
  const { check } = run();
  const web = '93.184.216.34';
  conn(check, { server: web, port: 80, t: 0, f: 10, synAck: { ms: 0.2, ttl: 64 }, cdata: Buffer.from('GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n'),
    sdata: [Buffer.from(WSA_307)], fin: { dir: 1 }, state: 'SF' });
  const { result, findings } = check.finish();
  assert.equal(result.status, 'not-observed');
  assert.match(result.summary, /A transparent web proxy intercepts traffic to 1 other destination \(see proxy-intercepted\)\./);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f.id, 'proxy-intercepted');
  assert.equal(f.severity, 'info');
  assert.deepEqual(f.target.ports, [80]);
  assert.deepEqual(f.target.names, ['www.example.com']);
  assert.deepEqual(f.frames, [11, 14]);
  assert.deepEqual(f.signals!.map((s) => s.kind), ['http-redirect', 'via-proxy']);
  assert.equal(f.wiresharkFilter, 'ip.src == 93.184.216.34 && tcp.srcport == 80 && (tcp.flags.syn == 1 || tcp.len > 0)');
  assert.match(f.message, /^Web traffic to 93\.184\.216\.34 \(www\.example\.com\) on TCP 80 was answered by a transparent proxy, answered from 0 hops in 0\.2 ms: /);
});

test('proxy-intercepted is not raised for server-side proxies, origin 401s, synthetic 407s, or explicit proxies', () => {
  const { check } = run();
  const resp = (via: string) => Buffer.from(`HTTP/1.1 200 OK\r\nVia: ${via}\r\nContent-Length: 0\r\n\r\n`);
  const get = Buffer.from('GET / HTTP/1.1\r\nHost: site.example\r\n\r\n');
  let f = 10;
  const c = (server: string, sdata: Buffer, ttl = 50, cdata = get) => {
    conn(check, { server, port: 80, t: 0, f, synAck: { ms: 30, ttl }, cdata, sdata: [sdata], fin: { dir: 0 }, state: 'SF' });
    f += 20;
  };
  c('198.51.100.1', resp('1.1 varnish, 1.1 cbv4-nc'), 64);                // CDN cache, even from near
  c('198.51.100.2', resp('1.1 dfa2.cloudfront.net (CloudFront)'));
  c('198.51.100.3', resp('1.1 ICS_SERVER (iChain 2.3.327)'));
  c('198.51.100.4', resp('1.1 cache.example (squid/4.1)'), 50);           // squid far away: a reverse proxy
  c('198.51.100.5', Buffer.from('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="x"\r\n\r\n'));
  c('198.51.100.6', Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n'));   // no challenge (test tool)
  c('198.51.100.7', Buffer.from('HTTP/1.1 301 Moved\r\nLocation: https://site.example/\r\n\r\n'));
  c('198.51.100.8', Buffer.from('HTTP/1.1 302 Found\r\nLocation: https://www.site.example/\r\n\r\n'), 64);  // one site redirecting elsewhere
  // an explicit proxy: absolute-form request, Via squid from near
  c('10.20.0.1', resp('1.1 proxy.corp (squid/3.5)'), 64, Buffer.from('GET http://site.example/ HTTP/1.1\r\nHost: site.example\r\n\r\n'));
  const { result, findings } = check.finish();
  assert.deepEqual(findings, []);
  assert.equal(result.proxyIntercepted, 0);
});

test('proxy-intercepted: squid from 0 hops, 407 with Proxy-Authenticate, a proxy CA, one redirect host shared by near answers', () => {
  const { check } = run();
  let f = 10;
  const c = (server: string, port: number, sdata: Buffer, ttl: number, host = 'site.example') => {
    const cdata = port === 443 ? clientHello(host) : Buffer.from(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    conn(check, { server, port, t: f / 100, f, synAck: { ms: 0.4, ttl }, cdata, sdata: [sdata], fin: { dir: 0 }, state: 'SF' });
    f += 20;
  };
  c('104.131.202.103', 80, Buffer.from('HTTP/1.1 200 OK\r\nVia: 1.1 fw.unx.ca (squid/3.3.8)\r\n\r\n'), 64, 'codemonkey.net');
  c('198.51.100.9', 80, Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\n\r\n'), 64);
  c('198.51.100.10', 443, serverFlight12(WSA_CHAIN), 64, 'bank.example');
  c('203.0.113.1', 80, Buffer.from('HTTP/1.1 302 Found\r\nLocation: http://auth.corp.lab/login\r\n\r\n'), 64, 'a.example');
  c('203.0.113.2', 80, Buffer.from('HTTP/1.1 302 Found\r\nLocation: http://auth.corp.lab/login\r\n\r\n'), 64, 'b.example');
  const { result, findings } = check.finish();
  assert.deepEqual(findings.map((x) => [x.id, x.target.ip, x.signals!.map((s) => s.kind).join(',')]), [
    ['proxy-intercepted', '104.131.202.103', 'via-proxy'],
    ['proxy-intercepted', '198.51.100.9', 'http-auth'],
    ['proxy-intercepted', '198.51.100.10', 'cert-issuer-proxy'],
    ['proxy-intercepted', '203.0.113.1', 'http-redirect'],
    ['proxy-intercepted', '203.0.113.2', 'http-redirect'],
  ]);
  assert.equal(result.proxyIntercepted, 5);
  assert.equal(result.status, 'not-observed');
});

test('GoTo web pages are not interception: redirect to another GoTo name, Basic 401 on a GoTo API outside the ranges', () => {
  const { check } = run();
  conn(check, { server: '13.32.1.1', port: 80, t: 0, f: 10, synAck: { ms: 20, ttl: 240 }, cdata: Buffer.from('GET / HTTP/1.1\r\nHost: global.goto.com\r\n\r\n'),
    sdata: [Buffer.from('HTTP/1.1 301 Moved Permanently\r\nLocation: https://www.goto.com/\r\nVia: 1.1 abc.cloudfront.net (CloudFront)\r\n\r\n')], fin: { dir: 0 }, state: 'SF' });
  conn(check, { server: '13.32.1.2', port: 80, t: 0, f: 30, synAck: { ms: 20, ttl: 240 }, cdata: Buffer.from('GET /api HTTP/1.1\r\nHost: api.logmeininc.com\r\n\r\n'),
    sdata: [Buffer.from('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n\r\n')], fin: { dir: 0 }, state: 'SF' });
  const { result, findings } = check.finish();
  assert.deepEqual(findings, []);
  assert.deepEqual(result.targets.map((t: any) => [t.ip, t.verdict, t.identifiedBy.join()]), [['13.32.1.1', 'direct', 'host'], ['13.32.1.2', 'direct', 'host']]);
  const api = (result.targets[1] as any).ports['80'];
  assert.deepEqual([api.httpStatus, api.wwwAuthenticate, api.proxyAuthenticate, api.signals.map((x: any) => x.kind)], [401, ['Bearer'], null, ['http-auth']]);
  assert.equal(api.intercepted, false, 'a Bearer 401 outside the GoTo ranges is only supporting');
  assert.equal(result.status, 'pass');
});

test('RTT alone: intercepted with capture timestamps when 10x and 20 ms apart; supporting only with arrival timing', () => {
  for (const timing of ['capture', 'arrival'] as const) {
    const { check } = run({ timing });
    conn(check, { server: GTM, port: 8200, t: 0, f: 10, synAck: { ms: 70, ttl: 58 }, state: 'SF', fin: { dir: 0 } });
    conn(check, { server: GTM, port: 443, t: 0, f: 20, synAck: { ms: 0.3, ttl: 58 }, state: 'SF', fin: { dir: 0 } });
    const { result } = check.finish();
    const t = result.targets[0] as any;
    assert.equal(t.verdict, timing === 'capture' ? 'intercepted' : 'direct', timing);
    assert.deepEqual(t.ports['443'].signals.map((s: any) => s.kind), ['rtt-differs']);
  }
  // a small difference is only supporting, even with capture timestamps
  const { check } = run();
  conn(check, { server: GTM, port: 8200, t: 0, f: 10, synAck: { ms: 12, ttl: 58 }, state: 'SF', fin: { dir: 0 } });
  conn(check, { server: GTM, port: 443, t: 0, f: 20, synAck: { ms: 3, ttl: 58 }, state: 'SF', fin: { dir: 0 } });
  assert.equal((check.finish().result.targets[0] as any).verdict, 'direct');
});

test('a reset right after the first bytes: supporting; with a 1-hop TTL difference it makes two kinds -> intercepted', () => {
  for (const ttl443 of [58, 59]) {
    const { check } = run();
    conn(check, { server: GTM, port: 8200, t: 0, f: 10, synAck: { ms: 30, ttl: 58 }, cdata: clientHello('egw.gotomeeting.com'), sdata: [serverFlight12(GOTO_CHAIN)], state: 'SF', fin: { dir: 0 } });
    conn(check, { server: GTM, port: 443, t: 0, f: 30, synAck: { ms: 29, ttl: ttl443 }, cdata: clientHello('egw.gotomeeting.com'), rst: { dir: 1, ms: 0.4 }, state: 'RSTR' });
    const { result } = check.finish();
    const t = result.targets[0] as any;
    const kinds = t.ports['443'].signals.map((s: any) => s.kind);
    if (ttl443 === 58) {
      assert.deepEqual(kinds, ['reset-after-data']);
      assert.equal(t.verdict, 'direct');
    } else {
      assert.deepEqual(kinds.sort(), ['reset-after-data', 'ttl-differs']);
      assert.equal(t.verdict, 'intercepted');
    }
  }
});

test('only resets after the first bytes on every port -> blocked', () => {
  const { check } = run();
  conn(check, { server: GTM, port: 443, t: 0, f: 10, synAck: { ms: 30, ttl: 58 }, cdata: clientHello('egw.gotomeeting.com'), rst: { dir: 1, ms: 0.4 }, state: 'RSTR' });
  const { result, findings } = check.finish();
  assert.equal((result.targets[0] as any).verdict, 'blocked');
  assert.equal(findings[0].id, 'gtm-blocked');
  assert.deepEqual(findings[0].frames, [14]);
  assert.match(findings[0].message, /1 connection reset right after the client's first bytes/);
});

test('--client: connections of other clients are not counted', () => {
  const { check } = run({ clients: ['10.99.0.0/16'] });
  interceptedRace(check);
  const { result, findings } = check.finish();
  assert.equal(findings.length, 0);
  assert.equal(result.status, 'not-observed');
  const b = run({ clients: [CLIENT] });
  interceptedRace(b.check);
  assert.equal(b.check.finish().findings.length, 1);
});

test('live: the interception finding is emitted early once, and is in the final list once', () => {
  const { ctx, check } = run({ live: true });
  interceptedRace(check);
  interceptedRace(check, 5, 100);
  assert.equal(ctx.early.length, 1);
  assert.equal(ctx.early[0].id, 'gtm-intercepted');
  const { findings } = check.finish();
  assert.equal(findings.filter((f) => f.id === 'gtm-intercepted').length, 1);
  assert.equal(findings[0].attempts, 4);
});

test('bounds: targets, other destinations and proxy findings are capped; order is by first frame', () => {
  const { check } = run({}, { maxOtherTargets: 3, maxProxyFindings: 2, maxSampledDests: 100 });
  for (let i = 0; i < 6; i++) {
    conn(check, { server: `198.51.100.${50 - i}`, port: 80, t: i, f: 1000 - i * 100, synAck: { ms: 0.2, ttl: 64 },
      cdata: Buffer.from('GET / HTTP/1.1\r\nHost: x.example\r\n\r\n'), sdata: [Buffer.from(WSA_307)], fin: { dir: 0 }, state: 'SF' });
  }
  const { result, findings } = check.finish();
  assert.equal(result.proxyIntercepted, 3);
  assert.equal(result.otherDestinationsDropped, 3);
  assert.deepEqual(findings.map((f) => f.target.ip), ['198.51.100.48', '198.51.100.49']);
});

test('IPv6 server: filters use ipv6 fields', () => {
  const { check } = run({}, { ranges: ['2001:db8:100::/48'] });
  const ip = '2001:db8:100::10';
  conn(check, { server: ip, port: 8200, t: 0, f: 10, syns: 2, state: 'S0', v6: true });
  conn(check, { server: ip, port: 443, t: 0, f: 20, syns: 2, state: 'S0', v6: true });
  const { findings } = check.finish();
  assert.equal(findings[0].id, 'gtm-blocked');
  assert.match(findings[0].wiresharkFilter, /^ipv6\.addr == 2001:db8:100::10 && tcp\.port in \{8200, 443\}/);
});

test('live: early proxy-intercepted findings are capped like the final list, and the final list holds each emitted one', () => {
  const { ctx, check } = run({ live: true }, { maxProxyFindings: 1 });
  for (const [i, ip] of ['198.51.100.70', '198.51.100.60'].entries()) {
    conn(check, { server: ip, port: 80, t: i, f: 500 - i * 100, synAck: { ms: 0.2, ttl: 64 },
      cdata: Buffer.from('GET / HTTP/1.1\r\nHost: x.example\r\n\r\n'), sdata: [Buffer.from(WSA_307)], fin: { dir: 0 }, state: 'SF' });
  }
  assert.deepEqual(ctx.early.map((f) => f.target.ip), ['198.51.100.70']);
  const { findings, result } = check.finish();
  // the later destination has the smaller first frame, but the emitted one stays listed
  assert.deepEqual(findings.map((f) => f.target.ip), ['198.51.100.70']);
  assert.equal(result.proxyIntercepted, 2);
});
