// Unit tests of the web-protection check, fed with synthetic flow and DNS events (no
// capture, no flow table): learning SWG addresses from DNS chains, classification of
// attempts, the reset-origin verdict, status rules, bounds and --client.
import { nameMatcher } from '../../src/decode/addr.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config.js';
import type { EffectiveConfig } from '../../src/config.js';
import type { CheckContext, Finding } from '../../src/detect/types.js';
import { createNameCache } from '../../src/flow/names.js';
import type { NameCache } from '../../src/flow/names.js';
import type {
  ConnState, DirStats, DnsAnswerRecord, DnsResponseEvent, DnsTransaction, FlowRecord, IcmpErrorRef,
} from '../../src/flow/types.js';
import { CidrSet } from '../../src/decode/addr.js';
import { isoTime } from '../../src/report/time.js';
import {
  AddrMatcher, CHECK, FINDING_IDS, classifyBackoff, createWebProtectionCheck, hopsOf, initialTtl, nearNetworkOf,
} from '../../src/detect/web-protection.js';

// ---------------------------------------------------------------------------------------
// factories

const T0 = 1_724_728_000; // 2024-08-27T03:06:40Z

interface Ctx extends CheckContext { early: Finding[] }

function mkCtx(opts: { config?: EffectiveConfig; clients?: string[]; names?: NameCache; live?: boolean } = {}): Ctx {
  const config = opts.config ?? defaultConfig();
  const set = new CidrSet(opts.clients ?? []);
  const early: Finding[] = [];
  const ctx: Ctx = {
    config,
    names: opts.names ?? createNameCache(),
    clientAllowed: (ip) => set.size === 0 || set.has(ip),
    isoTime: (s, n) => isoTime(s, n, 6),
    early,
  };
  if (opts.live) ctx.emitEarly = (f) => { early.push(f); };
  return ctx;
}

function dir(pkts: number, firstFrame: number, lastFrame: number, ttl = 64): DirStats {
  return { pkts, bytes: pkts * 60, payloadBytes: 0, ttlMin: pkts ? ttl : -1, ttlMax: pkts ? ttl : -1,
    firstTtl: pkts ? ttl : -1, firstFrame: pkts ? firstFrame : -1, lastFrame: pkts ? lastFrame : -1 };
}

let uidSeq = 0;
interface FlowSpec {
  client?: string; server: string; port?: number; sport?: number; proto?: 'tcp' | 'udp' | 'icmp';
  /** SYN frames and their times in seconds from T0 */
  syns?: [number, number][];
  synAck?: { frame: number; t: number; ttl: number };
  rst?: { frame: number; t: number; ttl: number; dir?: 0 | 1 };
  /** extra responder packets (after the handshake) */
  respPkts?: number;
  lastFrame?: number;
  lastT?: number;
  state: ConnState;
  icmp?: IcmpErrorRef[];
  v6?: boolean;
  respTtl?: number;
}

function mkFlow(s: FlowSpec): FlowRecord {
  const syns = s.syns ?? [];
  const ms = (t: number) => (T0 + t) * 1000;
  const firstT = syns.length ? syns[0][1] : s.synAck?.t ?? s.rst?.t ?? 0;
  const firstFrame = syns.length ? syns[0][0] : s.synAck?.frame ?? s.rst?.frame ?? 1;
  const rstFar = s.rst && (s.rst.dir ?? 1) === 1;
  const respFrames: number[] = [];
  if (s.synAck) respFrames.push(s.synAck.frame);
  if (rstFar) respFrames.push(s.rst!.frame);
  const respPkts = respFrames.length + (s.respPkts ?? 0);
  const origFrames = syns.map((x) => x[0]);
  if (s.rst && !rstFar) origFrames.push(s.rst.frame);
  const lastFrame = s.lastFrame ?? Math.max(...origFrames, ...respFrames);
  const lastT = s.lastT ?? Math.max(...syns.map((x) => x[1]), s.synAck?.t ?? 0, s.rst?.t ?? 0);
  const respTtl = s.respTtl ?? s.synAck?.ttl ?? s.rst?.ttl ?? 64;
  const lastSec = Math.floor(T0 + lastT);
  return {
    uid: 'C' + (++uidSeq),
    id: { orig_h: s.client ?? '10.0.0.5', orig_p: s.sport ?? 40000 + uidSeq, resp_h: s.server, resp_p: s.port ?? 443, proto: s.proto ?? 'tcp' },
    tsSec: Math.floor(T0 + firstT), tsNsec: Math.round(((T0 + firstT) % 1) * 1e9),
    lastTsSec: lastSec, lastTsNsec: Math.round(((T0 + lastT) % 1) * 1e9),
    lastMs: ms(lastT), firstMs: ms(firstT), duration: (lastT - firstT) * 1000,
    dir: [
      dir(origFrames.length || 1, origFrames[0] ?? firstFrame, Math.max(...origFrames, firstFrame)),
      respPkts ? dir(respPkts, Math.min(...respFrames, lastFrame), Math.max(...respFrames, lastFrame), respTtl) : dir(0, -1, -1),
    ],
    history: '', conn_state: s.state, ipVersion: s.v6 ? 6 : 4,
    synFrames: syns.map((x) => x[0]), synTimesMs: syns.map((x) => ms(x[1])), synCount: syns.length,
    synIsn: syns.length ? 1000 : -1, synTtl: syns.length ? 64 : -1,
    synAckFrame: s.synAck?.frame ?? -1, synAckTtl: s.synAck?.ttl ?? -1,
    synToSynAckMs: s.synAck && syns.length ? (s.synAck.t - syns[0][1]) * 1000 : -1,
    rstFrame: s.rst?.frame ?? -1, rstDir: s.rst ? (s.rst.dir ?? 1) : -1, rstTtl: s.rst?.ttl ?? -1,
    rstAfterSynMs: s.rst && syns.length ? (s.rst.t - syns[0][1]) * 1000 : -1,
    finFrame: [-1, -1], firstDataFrame: [-1, -1], firstDataMs: [-1, -1],
    icmpErrors: s.icmp ?? [], streams: null, watchers: 0, ext: null,
  };
}

function rr(name: string, type: string, data: string): DnsAnswerRecord {
  return { name, type, ttl: 60, data };
}

const SWG_NAME = 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com';
const SWG_ALIAS = 'swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com';
const SWG_ELB = 'k8s-sigproxy-sigproxy-c8f482b42a-ddf1929ae349b3e5.elb.eu-west-2.amazonaws.com';
const SWG_IP = '18.135.112.200';

/** the seed's answer: CNAME, CNAME, A */
const SEED_ANSWERS = [rr(SWG_NAME, 'CNAME', SWG_ALIAS), rr(SWG_ALIAS, 'CNAME', SWG_ELB), rr(SWG_ELB, 'A', SWG_IP)];

function resp(frameNo: number, answers: DnsAnswerRecord[], qname = SWG_NAME, rcode = 'NOERROR'): DnsResponseEvent {
  return { flow: mkFlow({ server: '10.0.0.1', port: 53, proto: 'udp', state: 'SF', respPkts: 1 }), frameNo, tsMs: T0 * 1000,
    server: '10.0.0.1', client: '10.0.0.5', id: 1, rcode, question: { name: qname, type: 'A', class: 'IN' }, answers };
}

function tx(o: { name?: string; type?: string; outcome: DnsTransaction['outcome']; rcode?: string | null; answers?: DnsAnswerRecord[];
  queryFrame: number; responseFrame?: number; client?: string }): DnsTransaction {
  return {
    flow: mkFlow({ server: '10.0.0.1', port: 53, proto: 'udp', state: 'SF' }), transport: 'udp',
    client: o.client ?? '10.0.0.5', clientPort: 5353, server: '10.0.0.1', serverPort: 53, id: 7,
    question: { name: o.name ?? SWG_NAME, type: o.type ?? 'A', class: 'IN' },
    queryFrames: [o.queryFrame], retransmits: 0, firstQueryMs: T0 * 1000,
    firstQueryTsSec: T0, firstQueryTsNsec: 0, lastQueryTsSec: T0, lastQueryTsNsec: 0,
    outcome: o.outcome, responseFrame: o.responseFrame ?? -1, rttMs: o.responseFrame ? 2 : -1,
    rcode: o.rcode === undefined ? (o.outcome === 'answered' ? 'NOERROR' : null) : o.rcode,
    answers: o.answers ?? [], encrypted: false, truncated: false, icmp: null, tcpReset: false, umbrellaEdns: false,
  };
}

/** the kernel's classic exponential SYN back-off: 0, 1, 3, 7, 15 s */
function expSyns(firstFrame: number, t0: number, n = 5, step = 10): [number, number][] {
  const offs = [0, 1, 3, 7, 15, 31, 63];
  return offs.slice(0, n).map((o, i) => [firstFrame + i * step, t0 + o]);
}

type Target = Record<string, unknown>;

/** the check, with responses taught to the shared name cache first, as the DNS service does */
function mkCheck(ctx: CheckContext, over: Parameters<typeof createWebProtectionCheck>[1] = {}) {
  const c = createWebProtectionCheck(ctx, over);
  const orig = c.onDnsResponse!.bind(c);
  c.onDnsResponse = (ev: DnsResponseEvent) => { ctx.names.learn(ev.frameNo, ev.answers); orig(ev); };
  return c;
}

function run(ctx: CheckContext, feed: (c: ReturnType<typeof createWebProtectionCheck>) => void) {
  const c = mkCheck(ctx);
  feed(c);
  const out = c.finish();
  return { ...out, targets: out.result.targets as Target[] };
}

// ---------------------------------------------------------------------------------------
// helpers

test('exports the check name and its finding ids', () => {
  assert.equal(CHECK, 'web-protection');
  assert.deepEqual([...FINDING_IDS], ['swg-syn-unanswered', 'swg-reset']);
});

test('initial TTL and hop counts', () => {
  assert.equal(initialTtl(64), 64);
  assert.equal(initialTtl(50), 64);
  assert.equal(initialTtl(65), 128);
  assert.equal(initialTtl(128), 128);
  assert.equal(initialTtl(200), 255);
  assert.equal(hopsOf(64), 0);
  assert.equal(hopsOf(52), 12);
  assert.equal(hopsOf(117), 11);
  assert.equal(hopsOf(250), 5);
  assert.equal(hopsOf(-1), -1);
});

test('near network of an address: /24 or /48; ranges wider than that stay as they are', () => {
  assert.equal(nearNetworkOf('18.135.112.200'), '18.135.112.0/24');
  assert.equal(nearNetworkOf('146.112.0.0/16'), '146.112.0.0/16');
  assert.equal(nearNetworkOf('146.112.255.48/30'), '146.112.255.0/24');
  assert.equal(nearNetworkOf('2620:119:35::35'), '2620:119:35::/48');
  assert.equal(nearNetworkOf('nonsense'), null);
});

test('AddrMatcher: exact addresses, octet-aligned and odd prefixes, IPv6 with and without a text prefilter', () => {
  const m = new AddrMatcher();
  const a = m.add('146.112.255.50');
  const b = m.add('18.135.112.0/24');
  const c = m.add('151.186.0.0/15');
  const d = m.add('2620:119:35::/48');
  const e = m.add('::/1');
  assert.equal(m.add('bogus'), -1);
  assert.equal(m.add('146.112.255.50'), a, 'adding twice gives the same id');
  assert.equal(m.match('146.112.255.50'), a);
  assert.equal(m.match('146.112.255.51'), -1);
  assert.equal(m.match('18.135.112.7'), b);
  assert.equal(m.match('18.135.113.7'), -1);
  assert.equal(m.match('118.135.112.7'), -1, 'text prefix must start the string');
  assert.equal(m.match('151.187.4.4'), c, '/15 covers 151.186-151.187');
  assert.equal(m.match('151.188.4.4'), -1);
  assert.equal(m.match('2620:119:35::35'), d);
  assert.equal(m.match('2620:119:36::35'), e, '2620:: is in ::/1');
  assert.equal(m.match('::1'), e);
  assert.equal(m.match('8000::1'), -1);
  assert.equal(m.text(b), '18.135.112.0/24');
});

test('SYN back-off classification', () => {
  assert.equal(classifyBackoff([0, 1000, 3000, 7000, 15000]), 'exponential');
  assert.equal(classifyBackoff([0, 1000, 2000, 3000, 4000]), 'linear');
  assert.equal(classifyBackoff([0, 1000, 2000, 3000, 4000, 5000, 7000, 11000, 19000]), 'linear-then-exponential');
  assert.equal(classifyBackoff([0, 1000, 3000, 4000, 8000]), 'mixed');
  assert.equal(classifyBackoff([0, 1000]), null);
});

// ---------------------------------------------------------------------------------------
// the seed's case: SYNs to the SWG retransmitted, never answered

test('seed: SWG learned from a CNAME chain, SYNs retransmitted with no answer -> fail, swg-syn-unanswered', () => {
  const { result, findings, targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1), state: 'S0' }));
    // background web traffic, not to the SWG
    c.onFlowEnd!(mkFlow({ server: '93.184.216.34', syns: [[6, 0.5]], synAck: { frame: 7, t: 0.52, ttl: 52 }, respPkts: 5, state: 'SF' }));
  });
  assert.equal(result.status, 'fail');
  assert.match(result.summary, /No connection to the Secure Web Gateway succeeded: 1 attempt to 18\.135\.112\.200:443 failed \(1 unanswered\)/);
  assert.equal(targets.length, 1);
  const t = targets[0];
  assert.deepEqual(t.names, [SWG_NAME, SWG_ALIAS, SWG_ELB]);
  assert.deepEqual(t.learnedFrom, { name: SWG_NAME, frame: 4 });
  assert.equal(t.ip, SWG_IP);
  assert.equal(t.port, 443);
  assert.equal(t.attempts, 1);
  assert.equal(t.synRetransmits, 4);
  assert.equal(t.unanswered, 1);
  assert.equal(t.established, 0);
  assert.equal(t.reset, 0);
  assert.equal(t.synToRstMs, null);
  assert.deepEqual(t.synOffsetsMs, [0, 1000, 3000, 7000, 15000]);

  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f.id, 'swg-syn-unanswered');
  assert.equal(f.check, 'web-protection');
  assert.equal(f.severity, 'error');
  assert.equal(f.count, 5);
  assert.equal(f.attempts, 1);
  assert.deepEqual(f.frames, [10, 20, 30, 40, 50]);
  assert.equal(f.firstFrame, 10);
  assert.equal(f.lastFrame, 50);
  assert.equal(f.firstSeen, '2024-08-27T03:06:41.000000Z');
  assert.equal(f.lastSeen, '2024-08-27T03:06:56.000000Z');
  assert.deepEqual(f.clients, [{ ip: '10.0.0.5', count: 5, firstFrame: 10 }]);
  assert.deepEqual(f.target.names, [SWG_NAME, SWG_ALIAS, SWG_ELB]);
  assert.deepEqual(f.target.learnedFrom, { name: SWG_NAME, frame: 4 });
  assert.equal(f.target.transport, 'tcp');
  assert.equal(f.wiresharkFilter, 'ip.addr == 18.135.112.200 && tcp.port == 443 && tcp.flags.syn == 1 && tcp.flags.ack == 0');
  assert.equal(f.backoff, 'exponential');
  assert.equal(f.synRetransmits, 4);
  assert.equal(f.message, '1 connection attempt from 10.0.0.5 to the Secure Web Gateway 18.135.112.200 on TCP/443 ' +
    `(resolved from ${SWG_NAME} in frame 4) got no answer: 5 SYNs sent (4 retransmissions, the last 15.0 s after the first), no SYN-ACK, no reset.`);
  assert.match(f.explanation, /fail-open/);
  assert.match(f.explanation, /bypasses the gateway/);
  assert.match(f.remedy, /TCP 443 and 80/);
  assert.match(f.remedy, /network-requirements-for-secure-access/);
});

test('a chain split over two responses (CNAME first, A later) still leads to the SWG', () => {
  const { targets, findings } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(3, SEED_ANSWERS.slice(0, 2)));
    c.onDnsResponse!(resp(5, [rr(SWG_ELB, 'A', SWG_IP)], SWG_ELB));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1, 3), state: 'S0' }));
  });
  assert.equal(targets.length, 1);
  assert.deepEqual(targets[0].names, [SWG_NAME, SWG_ALIAS, SWG_ELB]);
  assert.deepEqual(targets[0].learnedFrom, { name: SWG_NAME, frame: 5 }, 'the frame that taught the address');
  assert.equal(findings.length, 1);
});

test('a name matching only in the middle of the chain (*.sigproxy.aws.umbrella.com) counts', () => {
  const { targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(3, [rr('corp-proxy.example.com', 'CNAME', SWG_ALIAS), rr(SWG_ALIAS, 'CNAME', SWG_ELB), rr(SWG_ELB, 'A', SWG_IP)], 'corp-proxy.example.com'));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1, 3), state: 'S0' }));
  });
  assert.deepEqual(targets[0].names, ['corp-proxy.example.com', SWG_ALIAS, SWG_ELB]);
  assert.deepEqual(targets[0].learnedFrom, { name: SWG_ALIAS, frame: 3 });
});

test('the shared name cache joins answers from different responses in any order', () => {
  const { targets } = run(mkCtx(), (c) => {
    // the address of the ELB name is answered first, before anything names the SWG
    c.onDnsResponse!(resp(2, [rr(SWG_ELB, 'A', SWG_IP)], SWG_ELB));
    // then the SWG name's chain, without the A record
    c.onDnsResponse!(resp(6, SEED_ANSWERS.slice(0, 2)));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1, 3), state: 'S0' }));
  });
  assert.deepEqual(targets[0].names, [SWG_NAME, SWG_ALIAS, SWG_ELB]);
  assert.deepEqual(targets[0].learnedFrom, { name: SWG_NAME, frame: 2 });
});

test('the SWG name globs (addr.ts nameMatcher): one regex, case-insensitive, * across dots, trailing dot ignored', () => {
  const m = nameMatcher(defaultConfig().swg.names);
  assert.equal(m(SWG_NAME), true);
  assert.equal(m('swg-url-proxy-https.sigproxy.qq.opendns.com.'), true);
  assert.equal(m('SWG-URL-PROXY-HTTPS-1234.SIGPROXY.QQ.OPENDNS.COM'), true);
  assert.equal(m('swg-url-proxy-https-8a7b.sseproxy.qq.opendns.com'), true);
  assert.equal(m(SWG_ALIAS), true);
  assert.equal(m('proxy.sig.umbrella.com'), true);
  assert.equal(m('xproxy.sig.umbrella.com'), false);
  assert.equal(m('sigproxy.aws.umbrella.com'), false);
  assert.equal(m('swg-url-proxy-https.sigproxy.qq.opendns.com.evil.test'), false);
  assert.equal(m(SWG_ELB), false);
  assert.equal(nameMatcher([])('anything'), false);
});

test('answers for names that are not SWG names teach nothing: no target, no finding', () => {
  const { result, findings, targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(3, [rr('www.example.com', 'CNAME', 'edge.example.net'), rr('edge.example.net', 'A', '93.184.216.34')], 'www.example.com'));
    c.onFlowEnd!(mkFlow({ server: '93.184.216.34', syns: expSyns(10, 1, 4), state: 'S0' }));
    c.onFlowEnd!(mkFlow({ server: '93.184.216.35', syns: [[60, 2]], rst: { frame: 61, t: 2.001, ttl: 64 }, state: 'REJ' }));
  });
  assert.equal(result.status, 'not-observed');
  assert.equal(result.summary, 'No Secure Web Gateway traffic and no lookup of an SWG name in this capture.');
  assert.equal(targets.length, 0);
  assert.equal(findings.length, 0);
});

test('only the SWG ports count: 8443 to the SWG address is not an attempt', () => {
  const { result, targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(3, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, port: 8443, syns: expSyns(10, 1, 4), state: 'S0' }));
  });
  assert.equal(targets.length, 0);
  assert.equal(result.status, 'pass');
  assert.match(result.summary, /resolved to 18\.135\.112\.200 \(frame 3\), but no connection to the Secure Web Gateway followed/);
});

// ---------------------------------------------------------------------------------------
// resets and who sent them

test('reset from a firewall closer than the gateway: middlebox verdict with hop counts', () => {
  const { findings, targets, result } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    // port 80 to the same address is let through: the genuine path (TTL 52 = 12 hops, 40 ms)
    c.onFlowEnd!(mkFlow({ server: SWG_IP, port: 80, syns: [[6, 0.5]], synAck: { frame: 7, t: 0.54, ttl: 52 }, respPkts: 3, state: 'SF' }));
    // three attempts on 443 refused at once by TTL-64 resets
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], rst: { frame: 11, t: 1.0004, ttl: 64 }, state: 'REJ' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[12, 2]], rst: { frame: 13, t: 2.0004, ttl: 64 }, state: 'REJ' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, client: '10.0.0.9', syns: [[14, 3]], rst: { frame: 15, t: 3.0004, ttl: 64 }, state: 'REJ' }));
  });
  assert.equal(result.status, 'warn', 'port 80 worked, 443 did not');
  const t443 = targets.find((t) => t.port === 443)!;
  const t80 = targets.find((t) => t.port === 80)!;
  assert.deepEqual([targets[0].port, targets[1].port], [80, 443], 'targets ordered by first frame');
  assert.equal(t80.established, 1);
  assert.equal(t443.reset, 3);
  assert.equal(t443.attempts, 3);
  assert.equal(t443.rstHops, 0);
  assert.equal(t443.pathHops, 12);
  assert.equal(t443.rstTtl, 64);
  assert.equal(t443.pathTtl, 52);
  assert.equal(t443.synToRstMs, 0.4);
  assert.equal(t443.rstSource, 'middlebox');
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f.id, 'swg-reset');
  assert.equal(f.severity, 'error', 'no connection to this address x port succeeded');
  assert.equal(f.attempts, 3);
  assert.equal(f.count, 6);
  assert.deepEqual(f.frames, [10, 11, 12, 13, 14, 15]);
  assert.deepEqual(f.clients, [{ ip: '10.0.0.5', count: 4, firstFrame: 10 }, { ip: '10.0.0.9', count: 2, firstFrame: 14 }]);
  assert.equal(f.wiresharkFilter, 'ip.addr == 18.135.112.200 && tcp.port == 443 && (tcp.flags.syn == 1 || tcp.flags.reset == 1)');
  assert.match(f.message, /^3 connection attempts from 2 clients to the Secure Web Gateway 18\.135\.112\.200 on TCP\/443 \(resolved from .* in frame 4\) were refused: 3 attempts answered by a TCP reset after 400 µs\./);
  assert.match(f.message, /The reset came from a device on the client's own network segment \(0 router hops\), not from the gateway \(12 hops away, judged by packets from 18\.135\.112\.200 itself, e\.g\. frame 7\)\./);
  const rst = f.rst as Record<string, unknown>;
  assert.equal(rst.source, 'middlebox');
  assert.equal(rst.pathBasis, 'address');
  assert.deepEqual(f.signals!.map((s) => s.kind), ['ttl-differs', 'rtt-differs']);
  assert.equal(f.signals![0].frame, 11);
});

test('reset compared with the same /24 when the address itself answered nothing; N hops phrasing', () => {
  const { findings, targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], rst: { frame: 11, t: 1.002, ttl: 62 }, state: 'REJ' }));
    // a neighbour in 18.135.112.0/24 answered (any port, here UDP)
    c.onFlowEnd!(mkFlow({ server: '18.135.112.17', proto: 'udp', port: 3478, syns: [], respPkts: 1, respTtl: 49, lastFrame: 21, state: 'SF' }));
  });
  const t = targets[0];
  assert.equal(t.rstHops, 2);
  assert.equal(t.pathHops, 15);
  assert.equal(t.rstSource, 'middlebox');
  assert.match(findings[0].message, /The reset came from a device 2 hops from the client, not from the gateway \(15 hops away, judged by packets from its network \(18\.135\.112\.17\)/);
  assert.equal((findings[0].rst as Record<string, unknown>).pathBasis, 'network');
});

test('reset with the same hop count and delay as the genuine path: gateway', () => {
  const { findings, targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, port: 80, syns: [[6, 0.5]], synAck: { frame: 7, t: 0.53, ttl: 52 }, respPkts: 3, state: 'SF' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], rst: { frame: 11, t: 1.031, ttl: 52 }, state: 'REJ' }));
  });
  assert.equal(targets.find((t) => t.port === 443)!.rstSource, 'gateway');
  assert.match(findings[0].message, /same hop count \(12\) as packets from 18\.135\.112\.200 itself and a similar delay/);
  assert.equal(findings[0].signals, undefined);
});

test('reset with the same hop count but far sooner than the path RTT: middlebox by delay', () => {
  const { targets, findings } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, port: 80, syns: [[6, 0.5]], synAck: { frame: 7, t: 0.58, ttl: 52 }, respPkts: 3, state: 'SF' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], rst: { frame: 11, t: 1.003, ttl: 52 }, state: 'REJ' }));
  });
  assert.equal(targets.find((t) => t.port === 443)!.rstSource, 'middlebox');
  assert.match(findings[0].message, /The reset came after 3\.0 ms, much sooner than the gateway's 80 ms round trip/);
});

test('live timing (stamped on arrival): a delay difference alone does not make a middlebox', () => {
  const ctx = mkCtx();
  ctx.timing = 'arrival';
  const { targets, findings } = run(ctx, (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, port: 80, syns: [[6, 0.5]], synAck: { frame: 7, t: 0.58, ttl: 52 }, respPkts: 3, state: 'SF' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], rst: { frame: 11, t: 1.003, ttl: 52 }, state: 'REJ' }));
  });
  assert.equal(targets.find((t) => t.port === 443)!.rstSource, 'gateway');
  assert.deepEqual(findings[0].signals!.map((s) => s.kind), ['rtt-differs'], 'still shown as a signal');
});

test('reset with nothing to compare: unknown', () => {
  const { findings, targets, result } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], rst: { frame: 11, t: 1.001, ttl: 64 }, state: 'REJ' }));
  });
  assert.equal(result.status, 'fail');
  assert.equal(targets[0].rstSource, 'unknown');
  assert.equal(targets[0].pathHops, null);
  assert.match(findings[0].message, /Nothing else from 18\.135\.112\.200 or its network was captured to compare the reset with, so its sender is unknown \(reset TTL 64, 0 hops from the client\)\./);
});

test('the reset delay is measured from the SYN it answered', () => {
  const { targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1], [12, 2]], rst: { frame: 13, t: 2.0005, ttl: 64 }, state: 'REJ' }));
  });
  assert.equal(targets[0].synToRstMs, 0.5);
  assert.equal(targets[0].synRetransmits, 1);
});

test('an ICMP error refusing the SYN is reported under swg-reset with the ICMP frame', () => {
  const icmp: IcmpErrorRef = { frameNo: 11, tsMs: (T0 + 1.001) * 1000, type: 3, code: 13, ipVersion: 4, sender: '10.32.1.1', ttl: 64,
    quoted: { ipVersion: 4, src: '10.0.0.5', dst: SWG_IP, proto: 6, srcPort: 40000, dstPort: 443, ttl: 63, dnsId: -1, tcpSeq: 1000 } };
  const { findings, targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], icmp: [icmp], lastFrame: 11, state: 'S0' }));
  });
  assert.equal(targets[0].icmpRejected, 1);
  assert.equal(targets[0].unanswered, 0);
  const f = findings[0];
  assert.equal(f.id, 'swg-reset');
  assert.deepEqual(f.frames, [10, 11]);
  assert.equal(f.count, 2);
  assert.match(f.message, /1 attempt answered by ICMP communication administratively prohibited from 10\.32\.1\.1\. The ICMP error came from 10\.32\.1\.1, not from the gateway\.$/);
  assert.equal(f.lastFrame, 11);
  assert.equal(f.lastSeen, '2024-08-27T03:06:41.001000Z', 'the ICMP error time, not the SYN time');
  assert.deepEqual(f.icmpFrom, ['10.32.1.1']);
  assert.equal(f.rst, undefined, 'no reset facts without a reset');
  assert.equal(f.wiresharkFilter, 'ip.addr == 18.135.112.200 && tcp.port == 443 && (tcp.flags.syn == 1 || tcp.flags.reset == 1 || icmp)');
});

// ---------------------------------------------------------------------------------------
// status rules

test('all attempts succeed: pass', () => {
  const { result, findings, targets } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], synAck: { frame: 11, t: 1.03, ttl: 52 }, respPkts: 9, state: 'SF' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[20, 2]], synAck: { frame: 21, t: 2.03, ttl: 52 }, respPkts: 9, state: 'SF' }));
  });
  assert.equal(result.status, 'pass');
  assert.equal(result.summary, 'All 2 connections to the Secure Web Gateway (18.135.112.200:443) completed the TCP handshake.');
  assert.equal(findings.length, 0);
  assert.equal(targets[0].established, 2);
  assert.equal(targets[0].pathHops, 12);
  assert.equal(targets[0].rstSource, null);
});

test('some attempts fail, some succeed: warn, and the finding is a warning', () => {
  const { result, findings } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1, 3), state: 'S0' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[90, 20]], synAck: { frame: 91, t: 20.03, ttl: 52 }, respPkts: 9, state: 'SF' }));
  });
  assert.equal(result.status, 'warn');
  assert.equal(result.summary, '1 of 2 connection attempts to the Secure Web Gateway failed (1 unanswered; to 18.135.112.200:443), 1 succeeded.');
  assert.equal(findings[0].severity, 'warning');
});

test('the SWG name did not resolve (NXDOMAIN): warn', () => {
  const { result, findings } = run(mkCtx(), (c) => {
    c.onDnsTransaction!(tx({ outcome: 'answered', rcode: 'NXDOMAIN', queryFrame: 3, responseFrame: 4 }));
  });
  assert.equal(result.status, 'warn');
  assert.equal(result.summary, `The Secure Web Gateway cannot be reached by name: the SWG name ${SWG_NAME} did not resolve (NXDOMAIN, frame 4).`);
  assert.equal(findings.length, 0);
  const names = result.names as Record<string, unknown>[];
  assert.equal(names[0].resolved, false);
  assert.equal(names[0].failFrame, 4);
  assert.equal(names[0].resolvedFrame, null);
  assert.deepEqual(names[0].rcodes, { NXDOMAIN: 1 });
});

test('the SWG name got no answer at all: warn', () => {
  const { result } = run(mkCtx(), (c) => {
    c.onDnsTransaction!(tx({ outcome: 'unanswered', rcode: null, queryFrame: 3 }));
  });
  assert.equal(result.status, 'warn');
  assert.match(result.summary, /did not resolve \(no answer, frame 3\)/);
});

test('AAAA without data beside a resolving A is not a resolution failure; a pending query is not judged', () => {
  const { result } = run(mkCtx(), (c) => {
    c.onDnsTransaction!(tx({ type: 'AAAA', outcome: 'answered', rcode: 'NOERROR', answers: SEED_ANSWERS.slice(0, 2), queryFrame: 3, responseFrame: 5 }));
    c.onDnsTransaction!(tx({ outcome: 'answered', answers: SEED_ANSWERS, queryFrame: 2, responseFrame: 4 }));
    c.onDnsTransaction!(tx({ name: 'swg-url-proxy-https.sigproxy.qq.opendns.com', outcome: 'pending', queryFrame: 8 }));
  });
  assert.equal(result.status, 'pass');
  assert.match(result.summary, /^The SWG name swg-url-proxy-https-sse\.sigproxy\.qq\.opendns\.com resolved to 18\.135\.112\.200 \(frame 4\), but no connection to the Secure Web Gateway followed in this capture\.$/);
});

test('configured anycast address 146.112.255.50 (default) is the SWG without any DNS', () => {
  const { result, findings, targets } = run(mkCtx(), (c) => {
    c.onFlowEnd!(mkFlow({ server: '146.112.255.50', port: 80, syns: expSyns(30, 1, 4), state: 'S0' }));
  });
  assert.equal(result.status, 'fail');
  assert.equal(targets[0].configured, '146.112.255.50');
  assert.deepEqual(targets[0].names, []);
  assert.equal(targets[0].learnedFrom, null);
  assert.match(findings[0].message, /\(configured SWG address 146\.112\.255\.50\)/);
});

test('configured ranges and IPv6 SWG addresses: filter uses ipv6.addr', () => {
  const config = defaultConfig();
  config.swg.addresses.push('2001:db8:5::/48');
  const { findings } = run(mkCtx({ config }), (c) => {
    c.onFlowEnd!(mkFlow({ server: '2001:db8:5::80', client: 'fd00:32::5', v6: true, syns: expSyns(30, 1, 3), state: 'S0' }));
  });
  assert.equal(findings.length, 1);
  assert.equal(findings[0].target.configured, '2001:db8:5::/48');
  assert.equal(findings[0].wiresharkFilter, 'ipv6.addr == 2001:db8:5::80 && tcp.port == 443 && tcp.flags.syn == 1 && tcp.flags.ack == 0');
});

test('a single SYN at the very end of the capture is pending, not a failure; earlier single SYNs are failures', () => {
  const { result, targets, findings } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    // flows end in no particular order at the end of input: the pending one first
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[99, 29.5]], state: 'S0' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[10, 1]], state: 'S0' }));
    c.onFlowEnd!(mkFlow({ server: '93.184.216.34', syns: [[5, 0.5]], synAck: { frame: 6, t: 0.52, ttl: 52 }, lastT: 30, lastFrame: 100, respPkts: 20, state: 'SF' }));
  });
  assert.equal(targets[0].pending, 1);
  assert.equal(targets[0].unanswered, 1);
  assert.equal(targets[0].attempts, 2);
  assert.equal(result.status, 'fail');
  assert.deepEqual(findings[0].frames, [10]);
  assert.equal(findings[0].message.includes('1 SYN sent (0 retransmissions)'), true);
});

test('only a pending attempt: not-observed, and said so', () => {
  const { result } = run(mkCtx(), (c) => {
    c.onFlowEnd!(mkFlow({ server: '146.112.255.50', syns: [[10, 1]], state: 'S0' }));
  });
  assert.equal(result.status, 'not-observed');
  assert.match(result.summary, /1 connection attempt to the Secure Web Gateway had no answer yet when the capture ended/);
});

test('--client: other clients give no finding and do not count', () => {
  const { result, findings, targets } = run(mkCtx({ clients: ['10.0.0.9'] }), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1, 3), state: 'S0' }));
  });
  assert.equal(findings.length, 0);
  assert.equal(targets.length, 0);
  assert.equal(result.status, 'pass', 'the name resolved, no attempt by the selected client followed');
  const r2 = run(mkCtx({ clients: ['10.0.0.0/24'] }), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1, 3), state: 'S0' }));
  });
  assert.equal(r2.findings.length, 1);
});

test('evidence frames are the first 20 in ascending order whatever order flows end in; lastFrame is the true last', () => {
  const { findings } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    for (let i = 9; i >= 0; i--) c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(100 + i * 3, 1 + i * 0.1, 3, 100), state: 'S0' }));
  });
  const f = findings[0];
  assert.equal(f.attempts, 10);
  assert.equal(f.count, 30);
  assert.equal(f.frames.length, 20);
  assert.deepEqual(f.frames, [...f.frames].sort((a, b) => a - b));
  assert.equal(f.frames[0], 100);
  assert.equal(f.firstFrame, 100);
  assert.equal(f.lastFrame, 100 + 9 * 3 + 200);
  assert.equal(f.clients.length, 1);
});

test('many clients: at most 20 listed, sorted by first frame; per-check state is bounded', () => {
  const { findings } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    for (let i = 30; i >= 1; i--) c.onFlowEnd!(mkFlow({ server: SWG_IP, client: `10.0.1.${i}`, syns: expSyns(100 + i, 1, 2, 50), state: 'S0' }));
  });
  assert.equal(findings[0].clients.length, 20);
  assert.equal(findings[0].clients[0].ip, '10.0.1.1');
  assert.equal(findings[0].clients[19].ip, '10.0.1.20');
  assert.match(findings[0].message, /from 30 clients/);

  const ctx = mkCtx();
  ctx.config.swg.addresses.push('100.64.0.0/10');
  const c = mkCheck(ctx, { maxTargets: 8 });
  for (let i = 0; i < 50; i++) c.onFlowEnd!(mkFlow({ server: `100.64.0.${i}`, syns: expSyns(10 + i, 1, 2), state: 'S0' }));
  const out = c.finish();
  assert.equal(out.result.targets.length, 8);
  assert.deepEqual(out.result.dropped, { targets: 42, learned: 0, names: 0 });
});

test('live mode: each finding is emitted early once, and the final list holds it once', () => {
  const ctx = mkCtx({ live: true });
  const { findings } = run(ctx, (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(10, 1, 3), state: 'S0' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: expSyns(11, 2, 3), state: 'S0' }));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: [[80, 5]], rst: { frame: 81, t: 5.001, ttl: 64 }, state: 'REJ' }));
  });
  assert.deepEqual(ctx.early.map((f) => f.id), ['swg-syn-unanswered', 'swg-reset']);
  assert.deepEqual(findings.map((f) => f.id), ['swg-syn-unanswered', 'swg-reset']);
  assert.equal(findings[0].attempts, 2);
});

test('midstream SWG traffic (capture began after the handshake) counts as working', () => {
  const { result } = run(mkCtx(), (c) => {
    c.onFlowEnd!(mkFlow({ server: '146.112.255.50', syns: [], respPkts: 4, lastFrame: 9, state: 'OTH' }));
  });
  assert.equal(result.status, 'pass');
});

test('reversed linear back-off schedule is classified on the finding', () => {
  const lin: [number, number][] = [0, 1, 2, 3, 4, 5].map((o, i) => [10 + i, 1 + o]);
  const { findings } = run(mkCtx(), (c) => {
    c.onDnsResponse!(resp(4, SEED_ANSWERS));
    c.onFlowEnd!(mkFlow({ server: SWG_IP, syns: lin, state: 'S0' }));
  });
  assert.equal(findings[0].backoff, 'linear');
  assert.deepEqual(findings[0].synOffsetsMs, [0, 1000, 2000, 3000, 4000, 5000]);
});
