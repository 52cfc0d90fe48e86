// Unit tests of the dns-protection check, fed with synthetic flow events (FlowRecords,
// DnsTransactions, ICMP error refs) as the flow stage's DNS service hands them over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsProtectionCheck, FINDING_IDS, CHECK, icmpName } from '../../src/detect/dns-protection.js';
import type { DnsTargetSummary, OtherDnsSummary } from '../../src/detect/dns-protection.js';
import type { CheckContext, Finding } from '../../src/detect/types.js';
import { defaultConfig } from '../../src/config.js';
import { CidrSet } from '../../src/decode/addr.js';
import { isoTime } from '../../src/report/time.js';
import type { NameCache } from '../../src/flow/names.js';
import type { DnsOutcome, DnsResponseEvent, DnsTransaction, FlowRecord, IcmpErrorRef } from '../../src/flow/types.js';
import { WANT_DNS } from '../../src/flow/types.js';

// ---- factories -------------------------------------------------------------------------------

const T0 = 1_724_728_063; // 2024-08-27T03:07:43Z, the seed's log time

const noNames: NameCache = {
  learn() {}, namesFor: () => [], addressesOf: () => [], cnameChain: () => [], findNames: () => [], size: 0,
};

function makeCtx(opts: { clients?: string[]; early?: Finding[]; resolvers?: string[] } = {}): CheckContext {
  const config = defaultConfig();
  if (opts.resolvers) config.resolvers.addresses = opts.resolvers;
  const cs = new CidrSet(opts.clients ?? []);
  const ctx: CheckContext = {
    config, names: noNames,
    clientAllowed: (ip) => cs.size === 0 || cs.has(ip),
    isoTime: (s, n) => isoTime(s, n, 6),
  };
  if (opts.early) { const early = opts.early; ctx.emitEarly = (f) => early.push(f); }
  return ctx;
}

let uidN = 0;
function flow(p: Partial<FlowRecord> & { orig_h: string; resp_h: string; resp_p: number; proto: 'udp' | 'tcp'; orig_p?: number }): FlowRecord {
  const { orig_h, resp_h, resp_p, proto, orig_p, ...rest } = p;
  const dir = () => ({ pkts: 0, bytes: 0, payloadBytes: 0, ttlMin: -1, ttlMax: -1, firstTtl: -1, firstFrame: -1, lastFrame: -1 });
  const f: FlowRecord = {
    uid: `C${++uidN}`, id: { orig_h, orig_p: orig_p ?? 40000 + uidN, resp_h, resp_p, proto },
    tsSec: T0, tsNsec: 0, lastTsSec: T0, lastTsNsec: 0, lastMs: T0 * 1000, firstMs: T0 * 1000, duration: 0,
    dir: [dir(), dir()], history: '', conn_state: null, ipVersion: resp_h.includes(':') ? 6 : 4,
    synFrames: [], synTimesMs: [], synCount: 0, synIsn: -1, synTtl: -1, synAckFrame: -1, synAckTtl: -1,
    synToSynAckMs: -1, rstFrame: -1, rstDir: -1, rstTtl: -1, rstAfterSynMs: -1, finFrame: [-1, -1],
    firstDataFrame: [-1, -1], firstDataMs: [-1, -1], icmpErrors: [], streams: null, watchers: 0, ext: null,
    ...rest,
  };
  return f;
}

interface TxSpec {
  client?: string; server: string; port: number; transport?: 'udp' | 'tcp';
  frame: number; sec?: number; retransmits?: number; retransFrames?: number[];
  name?: string | null; type?: string; outcome: DnsOutcome; rcode?: string | null; rttMs?: number;
  responseFrame?: number; icmp?: IcmpErrorRef | null; encrypted?: boolean; tcpReset?: boolean; id?: number;
  flow?: FlowRecord;
}

function tx(s: TxSpec): DnsTransaction {
  const client = s.client ?? '192.168.0.57';
  const transport = s.transport ?? 'udp';
  const sec = s.sec ?? T0 + s.frame;   // one frame per second unless told otherwise
  const frames = [s.frame, ...(s.retransFrames ?? [])];
  const lastSec = sec + (frames.length - 1);
  const fl = s.flow ?? flow({ orig_h: client, resp_h: s.server, resp_p: s.port, proto: transport });
  const answeredLike = s.outcome === 'answered' || s.outcome === 'late' || s.outcome === 'error';
  return {
    flow: fl, transport, client, clientPort: fl.id.orig_p, server: s.server, serverPort: s.port, id: s.id ?? s.frame,
    question: s.name === null ? null : { name: s.name ?? 'debug.opendns.com', type: s.type ?? 'TXT', class: 'IN' },
    queryFrames: frames, retransmits: s.retransmits ?? frames.length - 1,
    firstQueryMs: sec * 1000, firstQueryTsSec: sec, firstQueryTsNsec: 0, lastQueryTsSec: lastSec, lastQueryTsNsec: 0,
    outcome: s.outcome,
    responseFrame: answeredLike ? (s.responseFrame ?? s.frame + 1) : -1,
    rttMs: answeredLike ? (s.rttMs ?? 20) : -1,
    rcode: answeredLike ? (s.rcode ?? 'NOERROR') : null,
    answers: [], encrypted: s.encrypted ?? false, truncated: false,
    icmp: s.icmp ?? null, tcpReset: s.tcpReset ?? false, umbrellaEdns: false,
  };
}

/** What the DNS service does: a response event (when one came) first, then the judged transaction. */
function send(c: { onDnsResponse?(ev: DnsResponseEvent): void; onDnsTransaction?(tx: DnsTransaction): void }, s: TxSpec): DnsTransaction {
  const t = tx(s);
  if (t.responseFrame > 0) {
    c.onDnsResponse!({ flow: t.flow, frameNo: t.responseFrame, tsMs: t.firstQueryMs + t.rttMs, server: t.server, client: t.client,
      id: t.id, rcode: t.rcode ?? 'NOERROR', question: t.question, answers: [] });
  }
  c.onDnsTransaction!(t);
  return t;
}

function icmpRef(frameNo: number, code: number, opts: { v6?: boolean; sender?: string; dst?: string; dport?: number } = {}): IcmpErrorRef {
  const v6 = opts.v6 ?? false;
  return {
    frameNo, tsMs: (T0 + frameNo) * 1000, type: v6 ? 1 : 3, code, ipVersion: v6 ? 6 : 4,
    sender: opts.sender ?? (v6 ? 'fd00:31::1' : '10.31.1.1'), ttl: 63,
    quoted: { ipVersion: v6 ? 6 : 4, src: '192.168.0.57', dst: opts.dst ?? '208.67.222.222', proto: 17,
      srcPort: 40000, dstPort: opts.dport ?? 53, ttl: 1, dnsId: 1, tcpSeq: -1 },
  };
}

function run(ctx: CheckContext, feed: (c: ReturnType<typeof createDnsProtectionCheck>) => void) {
  const c = createDnsProtectionCheck(ctx);
  feed(c);
  const out = c.finish();
  return { ...out, targets: out.result.targets as DnsTargetSummary[], otherDns: out.result.otherDns as OtherDnsSummary[] };
}

const R1 = '208.67.222.222', R2 = '208.67.220.220', R6 = '2620:119:35::35';

// ---- tests -------------------------------------------------------------------------------------

test('exports the check name and its finding ids', () => {
  assert.equal(CHECK, 'dns-protection');
  assert.deepEqual([...FINDING_IDS], ['dns-unanswered', 'dns-rejected', 'dns-error']);
});

test('no resolver traffic: not-observed, says no verdict, LAN DNS summarized', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { server: '192.168.0.65', port: 53, frame: 1, name: 'example.com', type: 'A', outcome: 'answered' });
    send(c, { server: '192.168.0.65', port: 53, frame: 3, name: 'example.com', type: 'AAAA', outcome: 'answered', rcode: 'NXDOMAIN' });
    send(c, { server: '192.168.0.65', port: 53, frame: 5, name: 'x.example', type: 'A', outcome: 'unanswered' });
  });
  assert.equal(r.result.status, 'not-observed');
  assert.match(r.result.summary, /No traffic to the Umbrella resolvers .*no verdict/);
  assert.deepEqual(r.targets, []);
  assert.deepEqual(r.findings, []);
  assert.deepEqual(r.otherDns, [{ ip: '192.168.0.65', port: 53, transport: 'udp', queries: 3, retransmits: 0, answered: 2,
    unanswered: 1, rejected: 0, pending: 0, errors: 0, rcodes: { NOERROR: 1, NXDOMAIN: 1 } }]);
});

test('unprotected: UDP 443 and 53 TXT probes to both resolvers unanswered -> fail, 4 error findings', () => {
  let f = 10;
  const r = run(makeCtx(), (c) => {
    for (let round = 0; round < 3; round++) {
      for (const port of [443, 53]) {
        for (const ip of [R1, R2]) {
          const name = port === 443 ? '2.dnscrypt-cert.opendns.com' : 'debug.opendns.com';
          send(c, { server: ip, port, frame: f, retransFrames: [f + 1], name, outcome: 'unanswered' });
          f += 2;
        }
      }
    }
    // the LAN resolver answers normal queries
    send(c, { server: '192.168.0.65', port: 53, frame: 2, name: 'www.cisco.com', type: 'A', outcome: 'answered' });
  });
  assert.equal(r.result.status, 'fail');
  assert.match(r.result.summary, /^Unprotected: none of 12 DNS queries .* UDP was answered/);
  assert.match(r.result.summary, /\(208\.67\.222\.222 and 208\.67\.220\.220 on UDP 53 and 443: 12 unanswered\)/);
  assert.equal(r.findings.length, 4);
  for (const fd of r.findings) {
    assert.equal(fd.id, 'dns-unanswered');
    assert.equal(fd.severity, 'error');
    assert.equal(fd.check, 'dns-protection');
    assert.equal(fd.attempts, 3);
    assert.equal(fd.count, 6);
    assert.equal(fd.frames.length, 6);
    assert.deepEqual(fd.frames, [...fd.frames].sort((a, b) => a - b));
    assert.deepEqual(fd.clients, [{ ip: '192.168.0.57', count: 6, firstFrame: fd.firstFrame }]);
    assert.equal(fd.lastFrame, fd.frames[fd.frames.length - 1]);
  }
  // order: by first frame (same severity)
  assert.deepEqual(r.findings.map((x) => `${x.target.ip}:${x.target.port}`),
    [`${R1}:443`, `${R2}:443`, `${R1}:53`, `${R2}:53`]);
  const a = r.findings[0];
  assert.equal(a.message, '3 DNS TXT queries (6 packets with retransmissions) to 208.67.222.222 on UDP/443 got no answer');
  assert.equal(a.wiresharkFilter, 'ip.addr == 208.67.222.222 && udp.port == 443');
  assert.equal(a.decodeAs, 'udp.port==443,dns');
  assert.deepEqual(a.target, { ip: R1, port: 443, ports: [443], transport: 'udp', names: ['2.dnscrypt-cert.opendns.com'] });
  assert.deepEqual(a.frames, [10, 11, 18, 19, 26, 27]);
  assert.equal(a.firstSeen, isoTime(T0 + 10, 0, 6));
  assert.equal(a.lastSeen, isoTime(T0 + 27, 0, 6));
  assert.match(a.explanation, /Unprotected/);
  assert.match(a.remedy, /UDP and TCP 53 and 443 to the Umbrella/);
  assert.match(a.remedy, /224762/);
  assert.match(a.remedy, /network-requirements-for-secure-access/);
  const c = r.findings[2];
  assert.equal(c.wiresharkFilter, 'ip.addr == 208.67.222.222 && udp.port == 53');
  assert.equal(c.decodeAs, undefined);
  // targets: per resolver x transport x port, configured order (resolver, udp before tcp, port 53 before 443)
  assert.deepEqual(r.targets.map((t) => `${t.ip} ${t.transport}/${t.port}`),
    [`${R1} udp/53`, `${R1} udp/443`, `${R2} udp/53`, `${R2} udp/443`]);
  const t = r.targets[1];
  assert.equal(t.verdict, 'unreachable');
  assert.equal(t.queries, 3);
  assert.equal(t.retransmits, 3);
  assert.equal(t.txtQueries, 3);
  assert.deepEqual(t.qnames, ['2.dnscrypt-cert.opendns.com']);
  assert.equal(t.answered, 0);
  assert.equal(t.unanswered, 3);
  assert.equal(t.medianRttMs, null);
  assert.equal(t.firstFrame, 10);
  assert.equal(t.lastFrame, 27);
  assert.equal(r.otherDns.length, 1);
});

test('rejected by ICMP port unreachable and admin prohibited: dns-rejected with ICMP evidence and filter', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { server: R1, port: 53, frame: 1, outcome: 'rejected', icmp: icmpRef(2, 3) });
    send(c, { server: R1, port: 53, frame: 5, outcome: 'rejected', icmp: icmpRef(6, 3) });
    send(c, { server: R2, port: 443, frame: 3, outcome: 'rejected', icmp: icmpRef(4, 13, { dst: R2, dport: 443, sender: '10.31.9.1' }) });
  });
  assert.equal(r.result.status, 'fail');
  assert.equal(r.findings.length, 2);
  const [a, b] = r.findings;
  assert.equal(a.id, 'dns-rejected');
  assert.equal(a.target.ip, R1);
  assert.deepEqual(a.frames, [1, 2, 5, 6]);
  assert.equal(a.count, 4);
  assert.equal(a.attempts, 2);
  assert.equal(a.message, '2 DNS TXT queries to 208.67.222.222 on UDP/53 were rejected by ICMP port unreachable (type 3 code 3) from 10.31.1.1');
  assert.equal(a.wiresharkFilter, 'ip.addr == 208.67.222.222 && udp.port == 53 && ((icmp.type == 3 && icmp.code == 3) || (!icmp && udp.dstport == 53))');
  assert.deepEqual(a.icmp, [{ type: 3, code: 3, from: '10.31.1.1', name: 'port unreachable', count: 2 }]);
  assert.match(a.remedy, /on 10\.31\.1\.1/);
  assert.equal(b.target.ip, R2);
  assert.match(b.message, /communication administratively prohibited \(type 3 code 13\) from 10\.31\.9\.1/);
  assert.equal(b.decodeAs, 'udp.port==443,dns');
  const t = r.targets.find((x) => x.ip === R1)!;
  assert.equal(t.rejected, 2);
  assert.deepEqual(t.icmp.map((i) => [i.type, i.code, i.from, i.count]), [[3, 3, '10.31.1.1', 2]]);
  assert.equal(t.lastFrame, 6);
});

test('all answered: pass, median RTT, rcodes (NXDOMAIN is an answer), late counted as answered', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { server: R1, port: 443, frame: 1, outcome: 'answered', rttMs: 10 });
    send(c, { server: R1, port: 443, frame: 3, outcome: 'answered', rttMs: 30 });
    send(c, { server: R1, port: 443, frame: 5, outcome: 'late', rttMs: 6000 });
    send(c, { server: R1, port: 53, frame: 7, outcome: 'answered', rttMs: 12, rcode: 'NXDOMAIN', name: 'nope.opendns.com', type: 'A' });
    send(c, { server: R1, port: 53, frame: 9, outcome: 'answered', rttMs: 14 });
  });
  assert.equal(r.result.status, 'pass');
  assert.match(r.result.summary, /answered: 5 DNS queries answered on 208\.67\.222\.222 UDP\/53 and 208\.67\.222\.222 UDP\/443/);
  assert.deepEqual(r.findings, []);
  const t443 = r.targets.find((t) => t.port === 443)!;
  assert.equal(t443.answered, 3);
  assert.equal(t443.late, 1);
  assert.equal(t443.medianRttMs, 30);
  assert.deepEqual(t443.rcodes, { NOERROR: 3 });
  const t53 = r.targets.find((t) => t.port === 53)!;
  assert.equal(t53.medianRttMs, 13);
  assert.deepEqual(t53.rcodes, { NOERROR: 1, NXDOMAIN: 1 });
  assert.equal(t53.txtQueries, 1);
  assert.deepEqual(t53.qnames, ['nope.opendns.com', 'debug.opendns.com']);
  assert.equal(t53.lastFrame, 10);
});

test('UDP/53 answered, UDP/443 dropped: warn, "unencrypted", warning findings', () => {
  const r = run(makeCtx(), (c) => {
    for (const ip of [R1, R2]) {
      send(c, { server: ip, port: 53, frame: ip === R1 ? 1 : 3, outcome: 'answered' });
      send(c, { server: ip, port: 443, frame: ip === R1 ? 5 : 7, outcome: 'unanswered' });
    }
  });
  assert.equal(r.result.status, 'warn');
  assert.match(r.result.summary, /^Unencrypted: UDP\/53 .* answered but UDP\/443 is not \(208\.67\.222\.222 and 208\.67\.220\.220 on UDP 443: 2 unanswered\)/);
  assert.match(r.result.summary, /"unencrypted"/);
  assert.deepEqual(r.findings.map((f) => [f.id, f.severity, f.target.ip, f.target.port]),
    [['dns-unanswered', 'warning', R1, 443], ['dns-unanswered', 'warning', R2, 443]]);
  assert.equal(r.findings[0].message, '1 DNS TXT query to 208.67.222.222 on UDP/443 got no answer');
});

test('only TCP fails: S0 attempts (deferred until the end) and a refused connection -> warn', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { server: R1, port: 53, frame: 1, outcome: 'answered' });
    const s0 = flow({ orig_h: '192.168.0.57', resp_h: R1, resp_p: 53, proto: 'tcp', conn_state: 'S0', history: 'S',
      synFrames: [3, 4, 6], synTimesMs: [(T0 + 3) * 1000, (T0 + 4) * 1000, (T0 + 6) * 1000], synCount: 3,
      tsSec: T0 + 3, lastTsSec: T0 + 6, firstMs: (T0 + 3) * 1000, lastMs: (T0 + 6) * 1000 });
    s0.dir[0].firstFrame = 3; s0.dir[0].lastFrame = 6;
    assert.equal(c.onFlowStart!(s0, null as never), WANT_DNS);
    c.onFlowEnd!(s0);
    const rej = flow({ orig_h: '192.168.0.57', resp_h: R1, resp_p: 443, proto: 'tcp', conn_state: 'REJ', history: 'Sr',
      synFrames: [7], synTimesMs: [(T0 + 7) * 1000], synCount: 1, rstFrame: 8, rstDir: 1,
      tsSec: T0 + 7, lastTsSec: T0 + 8, firstMs: (T0 + 7) * 1000, lastMs: (T0 + 8) * 1000 });
    c.onFlowEnd!(rej);
    // the capture goes on for 20 s: the S0 attempt is judged unanswered
    const late = flow({ orig_h: '192.168.0.57', resp_h: '192.168.0.65', resp_p: 53, proto: 'udp', lastMs: (T0 + 30) * 1000 });
    c.onFlowEnd!(late);
  });
  assert.equal(r.result.status, 'warn');
  assert.match(r.result.summary, /^Only DNS over TCP to the Umbrella resolvers fails/);
  assert.equal(r.findings.length, 2);
  const [u, j] = [r.findings.find((f) => f.id === 'dns-unanswered')!, r.findings.find((f) => f.id === 'dns-rejected')!];
  assert.equal(u.severity, 'warning');
  assert.equal(u.target.transport, 'tcp');
  assert.equal(u.message, '1 TCP connection attempt to 208.67.222.222 on TCP/53 got no SYN-ACK (3 SYNs)');
  assert.deepEqual(u.frames, [3, 4, 6]);
  assert.equal(u.count, 3);
  assert.equal(u.attempts, 1);
  assert.equal(u.lastSeen, isoTime(T0 + 6, 0, 6));
  assert.equal(u.wiresharkFilter, 'ip.addr == 208.67.222.222 && tcp.port == 53');
  assert.deepEqual(j.frames, [7, 8]);
  assert.equal(j.resets, 1);
  assert.match(j.message, /^1 TCP connection attempt to 208\.67\.222\.222 on TCP\/443 was rejected by a TCP reset/);
  assert.equal(j.wiresharkFilter, 'ip.addr == 208.67.222.222 && tcp.port == 443 && ((tcp.flags.reset == 1) || (tcp.flags.syn == 1 && tcp.flags.ack == 0))');
  assert.equal(j.decodeAs, 'tcp.port==443,dns');
  const tt = r.targets.find((t) => t.transport === 'tcp' && t.port === 53)!;
  assert.equal(tt.tcpConnections, 1);
  assert.equal(tt.unanswered, 1);
  assert.equal(tt.queries, 0);
});

test('a SYN-only attempt within the DNS timeout at the end of the capture is pending, not judged', () => {
  const r = run(makeCtx(), (c) => {
    const s0 = flow({ orig_h: '192.168.0.57', resp_h: R2, resp_p: 53, proto: 'tcp', conn_state: 'S0',
      synFrames: [3], synTimesMs: [(T0 + 3) * 1000], synCount: 1, firstMs: (T0 + 3) * 1000, lastMs: (T0 + 3) * 1000 });
    c.onFlowEnd!(s0);
    send(c, { server: R1, port: 53, frame: 4, outcome: 'pending' });
  });
  assert.equal(r.result.status, 'not-observed');
  assert.match(r.result.summary, /2 queries to the Umbrella resolvers were still waiting .* no verdict/);
  assert.deepEqual(r.findings, []);
  assert.deepEqual(r.targets.map((t) => [t.ip, t.transport, t.verdict, t.pending]), [[R1, 'udp', 'pending', 1], [R2, 'tcp', 'pending', 1]]);
});

test('TCP handshakes answered without a query, and TCP flows that carried data, are not judged by the flow rule', () => {
  const r = run(makeCtx(), (c) => {
    c.onFlowEnd!(flow({ orig_h: '192.168.0.57', resp_h: R1, resp_p: 53, proto: 'tcp', conn_state: 'SF',
      synFrames: [1], synCount: 1, synAckFrame: 2 }));
    c.onFlowEnd!(flow({ orig_h: '192.168.0.57', resp_h: R1, resp_p: 443, proto: 'tcp', conn_state: 'RSTR',
      synFrames: [5], synCount: 1, synAckFrame: 6, firstDataFrame: [7, -1], rstFrame: 8, rstDir: 1 }));
    c.onFlowEnd!(flow({ orig_h: '192.168.0.57', resp_h: '93.184.216.34', resp_p: 53, proto: 'tcp', conn_state: 'S0', synFrames: [9], synCount: 1 }));
  });
  assert.equal(r.result.status, 'pass');
  assert.deepEqual(r.findings, []);
  assert.deepEqual(r.targets.map((t) => [t.ip, t.transport, t.port, t.tcpConnections, t.verdict]), [[R1, 'tcp', 53, 1, 'answered']]);
});

test('TCP query refused by a reset after the handshake (transaction tcpReset) and a SYN rejected by ICMP', () => {
  const r = run(makeCtx(), (c) => {
    const fl = flow({ orig_h: '192.168.0.57', resp_h: R1, resp_p: 53, proto: 'tcp', conn_state: 'RSTR', rstFrame: 5, rstDir: 1,
      lastTsSec: T0 + 5 });
    send(c, { server: R1, port: 53, transport: 'tcp', frame: 4, outcome: 'rejected', tcpReset: true, flow: fl });
    const syn = flow({ orig_h: '192.168.0.57', resp_h: R2, resp_p: 53, proto: 'tcp', conn_state: 'S0', synFrames: [10], synCount: 1,
      icmpErrors: [icmpRef(11, 10, { dst: R2 })] });
    c.onFlowEnd!(syn);
    send(c, { server: R1, port: 53, frame: 1, outcome: 'answered' });
  });
  assert.equal(r.result.status, 'warn');
  const f1 = r.findings.find((f) => f.target.ip === R1)!;
  assert.equal(f1.id, 'dns-rejected');
  assert.deepEqual(f1.frames, [4, 5]);
  assert.match(f1.message, /1 DNS TXT query to 208\.67\.222\.222 on TCP\/53 was rejected by a TCP reset/);
  const f2 = r.findings.find((f) => f.target.ip === R2)!;
  assert.deepEqual(f2.frames, [10, 11]);
  assert.match(f2.message, /host administratively prohibited \(type 3 code 10\)/);
  assert.equal(f2.wiresharkFilter, 'ip.addr == 208.67.220.220 && tcp.port == 53 && ((icmp.type == 3 && icmp.code == 10) || (tcp.flags.reset == 1) || (tcp.flags.syn == 1 && tcp.flags.ack == 0))');
});

test('error rcodes: dns-error warning; status warn when the resolvers only answered errors', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { server: R1, port: 53, frame: 1, outcome: 'error', rcode: 'REFUSED', responseFrame: 2 });
    send(c, { server: R1, port: 53, frame: 3, outcome: 'error', rcode: 'REFUSED', responseFrame: 4 });
    send(c, { server: R1, port: 53, frame: 5, outcome: 'error', rcode: 'SERVFAIL', responseFrame: 6 });
  });
  assert.equal(r.result.status, 'warn');
  assert.match(r.result.summary, /^208\.67\.222\.222 UDP\/53 \(REFUSED 2, SERVFAIL 1\) answered only with errors: /);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0];
  assert.equal(f.id, 'dns-error');
  assert.equal(f.severity, 'warning');
  assert.equal(f.message, '3 DNS TXT queries to 208.67.222.222 on UDP/53 were answered with REFUSED (2) and SERVFAIL (1)');
  assert.deepEqual(f.frames, [1, 2, 3, 4, 5, 6]);
  assert.equal(f.count, 6);
  assert.equal(f.wiresharkFilter, 'ip.addr == 208.67.222.222 && udp.port == 53 && dns && !icmp && (dns.flags.response == 0 || dns.flags.rcode in {2 5})');
  assert.equal(r.targets[0].verdict, 'error');
  assert.deepEqual(r.targets[0].rcodes, { REFUSED: 2, SERVFAIL: 1 });
});

test('error responses do not count as answered: no UDP answer + one unanswered target -> fail', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { server: R1, port: 53, frame: 1, outcome: 'error', rcode: 'SERVFAIL' });
    send(c, { server: R1, port: 443, frame: 3, outcome: 'unanswered' });
  });
  assert.equal(r.result.status, 'fail');
  assert.deepEqual(r.findings.map((f) => [f.id, f.severity]), [['dns-unanswered', 'error'], ['dns-error', 'warning']]);
});

test('a partly answered target: info finding with a filter for the unanswered queries only, status pass', () => {
  const r = run(makeCtx(), (c) => {
    for (let i = 0; i < 10; i++) send(c, { server: R1, port: 443, frame: 1 + 2 * i, outcome: i === 4 ? 'unanswered' : 'answered' });
  });
  assert.equal(r.result.status, 'pass');
  assert.equal(r.result.summary, 'The Umbrella resolvers answered: 9 DNS queries answered on 208.67.222.222 UDP/443 (1 unanswered on 208.67.222.222 UDP/443); DNS protection can work on this network.');
  assert.equal(r.findings.length, 1);
  const f = r.findings[0];
  assert.equal(f.severity, 'info');
  assert.deepEqual(f.frames, [9]);
  assert.match(f.message, /got no answer while 9 other queries to it were answered$/);
  assert.equal(f.wiresharkFilter, 'ip.addr == 208.67.222.222 && udp.port == 443 && ((dns.flags.response == 0 && !dns.response_in)) && !icmp');
  assert.equal(r.targets[0].verdict, 'partial');
});

test('IPv6 resolvers: ipv6.addr filters, ICMPv6 rejects', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { client: 'fd00:31::57', server: R6, port: 443, frame: 1, outcome: 'unanswered' });
    send(c, { client: 'fd00:31::57', server: R6, port: 53, frame: 2, outcome: 'rejected', icmp: icmpRef(3, 1, { v6: true, dst: R6 }) });
  });
  assert.equal(r.result.status, 'fail');
  const [a, b] = r.findings;
  assert.equal(a.wiresharkFilter, 'ipv6.addr == 2620:119:35::35 && udp.port == 443');
  assert.equal(b.id, 'dns-rejected');
  assert.equal(b.wiresharkFilter, 'ipv6.addr == 2620:119:35::35 && udp.port == 53 && ((icmpv6.type == 1 && icmpv6.code == 1) || (!icmpv6 && udp.dstport == 53))');
  assert.match(b.message, /ICMPv6 communication administratively prohibited \(type 1 code 1\) from fd00:31::1/);
});

test('onFlowStart: WANT_DNS only for flows to (or from) a resolver on a resolver port', () => {
  const c = createDnsProtectionCheck(makeCtx());
  const pkt = null as never;
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: R1, resp_p: 443, proto: 'udp' }), pkt), WANT_DNS);
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: R6, resp_p: 53, proto: 'tcp' }), pkt), WANT_DNS);
  assert.equal(c.onFlowStart!(flow({ orig_h: R2, orig_p: 53, resp_h: '10.0.0.1', resp_p: 5353, proto: 'udp' }), pkt), WANT_DNS);
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: R1, resp_p: 80, proto: 'tcp' }), pkt), 0);
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: '8.8.8.8', resp_p: 53, proto: 'udp' }), pkt), 0);
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: '1.2.3.4', resp_p: 443, proto: 'tcp' }), pkt), 0);
});

test('configured resolvers only: an unconfigured public resolver is other DNS, never a finding', () => {
  const r = run(makeCtx(), (c) => {
    for (let i = 0; i < 5; i++) send(c, { server: '8.8.8.8', port: 53, frame: 1 + i, outcome: 'unanswered' });
  });
  assert.equal(r.result.status, 'not-observed');
  assert.deepEqual(r.findings, []);
  assert.equal(r.otherDns[0].ip, '8.8.8.8');
  assert.equal(r.otherDns[0].unanswered, 5);
  // --resolver adds one: then it is judged
  const r2 = run(makeCtx({ resolvers: ['8.8.8.8'] }), (c) => {
    for (let i = 0; i < 5; i++) send(c, { server: '8.8.8.8', port: 53, frame: 1 + i, outcome: 'unanswered' });
  });
  assert.equal(r2.result.status, 'fail');
  assert.equal(r2.findings.length, 1);
});

test('bounds: 100 queries from 30 clients -> 20 frames (the first), 20 clients by first frame; otherDns capped', () => {
  const r = run(makeCtx(), (c) => {
    // judged out of order (as flow expiry may hand them over)
    for (let i = 99; i >= 0; i--) {
      send(c, { client: `10.31.2.${(i % 30) + 1}`, server: R1, port: 53, frame: 100 + 3 * i, outcome: 'unanswered' });
    }
    for (let i = 0; i < 50; i++) send(c, { server: `192.168.1.${i + 1}`, port: 53, frame: 1000 + i, outcome: 'answered', name: 'a.example', type: 'A' });
  });
  const f = r.findings[0];
  assert.equal(f.frames.length, 20);
  assert.deepEqual(f.frames, Array.from({ length: 20 }, (_, i) => 100 + 3 * i));
  assert.equal(f.firstFrame, 100);
  assert.equal(f.lastFrame, 100 + 3 * 99);
  assert.equal(f.clients.length, 20);
  assert.deepEqual(f.clients.map((c) => c.firstFrame), Array.from({ length: 20 }, (_, i) => 100 + 3 * i));
  assert.equal(f.clients[0].ip, '10.31.2.1');
  assert.equal(f.clients[0].count, 4);   // i = 0, 30, 60, 90
  assert.equal(f.count, 100);
  assert.equal(r.otherDns.length, 32);
  assert.deepEqual(r.result.otherDnsOmitted, { servers: 18, queries: 18 });
});

test('--client: only allowed clients are counted and listed', () => {
  const r = run(makeCtx({ clients: ['10.31.2.0/24'] }), (c) => {
    send(c, { client: '10.31.2.7', server: R1, port: 53, frame: 5, outcome: 'unanswered' });
    send(c, { client: '10.99.0.1', server: R1, port: 53, frame: 1, outcome: 'unanswered' });
    send(c, { client: '10.99.0.1', server: R2, port: 53, frame: 2, outcome: 'unanswered' });
  });
  assert.equal(r.findings.length, 1);
  assert.deepEqual(r.findings[0].clients, [{ ip: '10.31.2.7', count: 1, firstFrame: 5 }]);
  assert.deepEqual(r.targets.map((t) => [t.ip, t.queries]), [[R1, 1]]);
});

test('encrypted (DNSCrypt) datagrams with nothing back count as unanswered and encrypted', () => {
  const r = run(makeCtx(), (c) => {
    send(c, { server: R2, port: 443, frame: 1, name: null, encrypted: true, outcome: 'unanswered' });
    send(c, { server: R2, port: 443, frame: 2, name: null, encrypted: true, outcome: 'unanswered' });
  });
  assert.equal(r.result.summary, 'Unprotected: none of 2 DNS queries to the Umbrella resolvers over UDP was answered (2 unanswered on 208.67.220.220 UDP/443); the roaming module reports DNS protection "Unprotected".');
  assert.equal(r.targets[0].encrypted, 2);
  assert.equal(r.targets[0].unanswered, 2);
  assert.equal(r.findings[0].message, '2 encrypted DNS (DNSCrypt) queries to 208.67.220.220 on UDP/443 got no answer');
  assert.equal(r.findings[0].encrypted, 2);
});

test('live mode: emitEarly once per target and id, final list still has each finding once', () => {
  const early: Finding[] = [];
  const r = run(makeCtx({ early }), (c) => {
    for (let i = 0; i < 4; i++) send(c, { server: R1, port: 443, frame: 1 + i, outcome: 'unanswered' });
    for (let i = 0; i < 3; i++) send(c, { server: R1, port: 53, frame: 10 + i, outcome: 'rejected', icmp: icmpRef(20 + i, 3) });
  });
  assert.deepEqual(early.map((f) => [f.id, f.target.port, f.severity, f.attempts]), [['dns-unanswered', 443, 'error', 1], ['dns-rejected', 53, 'error', 1]]);
  assert.deepEqual(r.findings.map((f) => [f.id, f.target.port, f.attempts]), [['dns-unanswered', 443, 4], ['dns-rejected', 53, 3]]);
});

test('icmpName covers ICMP and ICMPv6 unreachable codes', () => {
  assert.equal(icmpName(4, 3, 3), 'port unreachable');
  assert.equal(icmpName(4, 3, 13), 'communication administratively prohibited');
  assert.equal(icmpName(6, 1, 4), 'port unreachable');
  assert.equal(icmpName(6, 1, 1), 'communication administratively prohibited');
  assert.equal(icmpName(4, 3, 99), 'destination unreachable (code 99)');
});

test('a finding whose clients are all excluded is not emitted', () => {
  const r = run(makeCtx({ clients: ['10.0.0.0/8'] }), (c) => {
    send(c, { client: '192.168.0.57', server: R1, port: 53, frame: 1, outcome: 'unanswered' });
  });
  assert.deepEqual(r.findings, []);
  assert.equal(r.result.status, 'not-observed');
});

test('every error response is evidence, also those answering retransmissions; rcodes count response packets', () => {
  const r = run(makeCtx(), (c) => {
    const t = tx({ server: R1, port: 53, frame: 1, retransFrames: [2, 3], outcome: 'error', rcode: 'SERVFAIL', responseFrame: 4, rttMs: 3000 });
    const resp = (frameNo: number) => c.onDnsResponse!({ flow: t.flow, frameNo, tsMs: (T0 + frameNo) * 1000, server: R1,
      client: t.client, id: t.id, rcode: 'SERVFAIL', question: t.question, answers: [] });
    resp(4);
    c.onDnsTransaction!(t);
    resp(5);   // answers to the retransmissions: no waiting query left, still evidence
    resp(6);
  });
  assert.equal(r.result.status, 'warn');
  const tg = r.targets[0];
  assert.equal(tg.responses, 3);
  assert.deepEqual(tg.rcodes, { SERVFAIL: 3 });
  assert.equal(tg.errors, 1);
  assert.equal(tg.lastFrame, 6);
  const f = r.findings[0];
  assert.equal(f.id, 'dns-error');
  assert.deepEqual(f.frames, [1, 2, 3, 4, 5, 6]);
  assert.equal(f.count, 6);
  assert.equal(f.attempts, 1);
  assert.deepEqual(f.clients, [{ ip: '192.168.0.57', count: 6, firstFrame: 1 }]);
  assert.equal(f.message, '1 DNS TXT query (3 packets with retransmissions) to 208.67.222.222 on UDP/53 was answered with SERVFAIL (3)');
  assert.equal(f.lastSeen, isoTime(T0 + 6, 0, 6));
});

test('only responses (the capture started after the queries): reached, errors still reported', () => {
  const r = run(makeCtx(), (c) => {
    const fl = flow({ orig_h: '192.168.0.57', resp_h: R2, resp_p: 443, proto: 'udp' });
    c.onDnsResponse!({ flow: fl, frameNo: 1, tsMs: (T0 + 1) * 1000, server: R2, client: '192.168.0.57', id: 7, rcode: 'NOERROR', question: null, answers: [] });
    const fl2 = flow({ orig_h: '192.168.0.57', resp_h: R2, resp_p: 53, proto: 'udp' });
    c.onDnsResponse!({ flow: fl2, frameNo: 2, tsMs: (T0 + 2) * 1000, server: R2, client: '192.168.0.57', id: 8, rcode: 'REFUSED', question: null, answers: [] });
  });
  assert.equal(r.result.status, 'warn');
  assert.deepEqual(r.targets.map((t) => [t.port, t.verdict, t.responses]), [[53, 'error', 1], [443, 'answered', 1]]);
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0].message, '1 DNS response from 208.67.220.220 on UDP/53 carried REFUSED (1)');
  assert.equal(r.findings[0].attempts, 0);
});

test('resolvers given as a range or in a non-canonical IPv6 form still match', () => {
  const c = createDnsProtectionCheck(makeCtx({ resolvers: ['198.51.100.0/24', '2620:0119:0035:0000::0035'] }));
  const pkt = null as never;
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: '198.51.100.77', resp_p: 443, proto: 'udp' }), pkt), WANT_DNS);
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: '198.51.101.77', resp_p: 443, proto: 'udp' }), pkt), 0);
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: R6, resp_p: 53, proto: 'udp' }), pkt), WANT_DNS);
  assert.equal(c.onFlowStart!(flow({ orig_h: '10.0.0.1', resp_h: R1, resp_p: 53, proto: 'udp' }), pkt), 0, 'replaced list');
  send(c, { server: '198.51.100.77', port: 53, frame: 1, outcome: 'unanswered' });
  const out = c.finish();
  assert.equal(out.result.status, 'fail');
  assert.deepEqual((out.result.targets as DnsTargetSummary[]).map((t) => t.ip), ['198.51.100.77']);
  assert.match(out.result.summary, /198\.51\.100\.77 UDP\/53/);
});
