// The DNS service: pairing, outcomes, retransmissions, rejections, TCP reassembly, DNSCrypt,
// malformed and snap-truncated messages, the pending cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeTable, Recorder } from './recorder.js';
import {
  dnsQuery, dnsResponse, PacketSeq, tcpFramed, TH_ACK, TH_PSH, TH_RST, TH_SYN,
} from '../helpers/packets.js';
import { WANT_DNS } from '../../src/flow/types.js';

const C = '10.20.1.57';
const R = '208.67.222.222';
const q = (sport: number, dport = 53, dst = R) => ({ src: C, dst, sport, dport });
const a = (sport: number, dport = 53, src = R) => ({ src, dst: C, sport: dport, dport: sport });

function outcomes(txs: { outcome: string }[]): string[] {
  return txs.map((x) => x.outcome);
}

test('answered within dnsAnswerMs, rtt from the first query, answers and name cache, onDnsResponse', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.udp(0, { ...q(40001), payload: dnsQuery({ id: 7, name: 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com' }) }),
    s.udp(23, { ...a(40001), payload: dnsResponse({ id: 7, name: 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com', answers: [
      { type: 'CNAME', name: 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com', data: 'swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com', ttl: 60 },
      { type: 'CNAME', name: 'swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com', data: 'k8s-x.elb.eu-west-2.amazonaws.com.', ttl: 60 },
      { type: 'A', name: 'K8S-x.elb.eu-west-2.amazonaws.com', data: '18.135.112.200', ttl: 60 },
    ] }) }),
  );
  assert.equal(t.rec.txs.length, 1, 'delivered when decided, not at flow end');
  const tx = t.rec.txs[0];
  assert.equal(tx.outcome, 'answered');
  assert.equal(tx.rttMs, 23);
  assert.equal(tx.responseFrame, 2);
  assert.equal(tx.rcode, 'NOERROR');
  assert.equal(tx.transport, 'udp');
  assert.deepEqual([tx.client, tx.clientPort, tx.server, tx.serverPort, tx.id], [C, 40001, R, 53, 7]);
  assert.deepEqual(tx.question, { name: 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com', type: 'A', class: 'IN' });
  assert.deepEqual(tx.answers.map((x) => [x.type, x.name, x.data]), [
    ['CNAME', 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com', 'swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com'],
    ['CNAME', 'swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com', 'k8s-x.elb.eu-west-2.amazonaws.com'],
    ['A', 'k8s-x.elb.eu-west-2.amazonaws.com', '18.135.112.200'],
  ]);
  assert.equal(tx.flow.id.resp_h, R);
  assert.deepEqual(t.names.namesFor('18.135.112.200').map((n) => [n.name, n.frameNo]), [
    ['swg-url-proxy-https-sse.sigproxy.qq.opendns.com', 2],
    ['swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com', 2],
    ['k8s-x.elb.eu-west-2.amazonaws.com', 2],
  ]);
  assert.equal(t.rec.responses.length, 1);
  assert.equal(t.rec.responses[0].server, R);
  assert.deepEqual(t.rec.log.slice(-2), ['resp 2', 'tx 1 answered'], 'the response event comes before the transaction');
  t.table.flushAll();
  assert.equal(t.rec.txs.length, 1, 'nothing more at flow end');
});

test('late: a response after dnsAnswerMs of the first query', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.udp(0, { ...q(40002), payload: dnsQuery({ id: 1, name: 'a.example' }) }),
    s.udp(5001, { ...a(40002), payload: dnsResponse({ id: 1, name: 'a.example' }) }),
  );
  assert.deepEqual(outcomes(t.rec.txs), ['late']);
  assert.equal(t.rec.txs[0].rttMs, 5001);
});

test('retransmitted query (same id and question) is one transaction; frames bounded to 16', () => {
  const t = makeTable();
  const s = new PacketSeq();
  for (let i = 0; i < 20; i++) {
    t.feed(s.udp(1000, { ...q(40003, 443), payload: dnsQuery({ id: 99, name: 'debug.opendns.com', type: 'TXT', ednsOption: 0x6942 }) }));
  }
  t.table.flushAll();
  assert.equal(t.rec.txs.length, 1);
  const tx = t.rec.txs[0];
  assert.equal(tx.outcome, 'unanswered');
  assert.equal(tx.retransmits, 19);
  assert.equal(tx.queryFrames.length, 16);
  assert.deepEqual(tx.queryFrames.slice(0, 3), [1, 2, 3]);
  assert.equal(tx.serverPort, 443, 'UDP/443 to a resolver is plain DNS');
  assert.equal(tx.umbrellaEdns, true);
  assert.equal(tx.question?.type, 'TXT');
  assert.equal(tx.lastQueryTsSec * 1000 + tx.lastQueryTsNsec / 1e6 - tx.firstQueryMs, 19000);
  assert.equal(t.table.stats().dns.retransmits, 19);
});

test('unanswered vs pending at the end of input: judged by dnsAnswerMs at the last packet time', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.udp(0, { ...q(40004), payload: dnsQuery({ id: 1, name: 'old.example' }) }),
    s.udp(6000, { ...q(40005), payload: dnsQuery({ id: 2, name: 'new.example' }) }),
    s.udp(1000, { src: '10.0.0.5', dst: '10.0.0.6', sport: 7000, dport: 7001 }),   // last packet of the capture
  );
  assert.equal(t.rec.txs.length, 0);
  t.table.flushAll();
  const by = new Map(t.rec.txs.map((x) => [x.question?.name, x.outcome]));
  assert.equal(by.get('old.example'), 'unanswered');   // 7000 ms old
  assert.equal(by.get('new.example'), 'pending');      // 1000 ms old
});

test('rcodes: SERVFAIL, REFUSED, NOTIMP, FORMERR are errors; NXDOMAIN is an answer', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const codes = [[2, 'SERVFAIL'], [5, 'REFUSED'], [4, 'NOTIMP'], [1, 'FORMERR'], [3, 'NXDOMAIN'], [0, 'NOERROR']] as const;
  codes.forEach(([rc], i) => t.feed(
    s.udp(1, { ...q(41000 + i), payload: dnsQuery({ id: 10 + i, name: `n${i}.example` }) }),
    s.udp(5, { ...a(41000 + i), payload: dnsResponse({ id: 10 + i, name: `n${i}.example`, rcode: rc }) }),
  ));
  assert.deepEqual(t.rec.txs.map((x) => [x.rcode, x.outcome]),
    [['SERVFAIL', 'error'], ['REFUSED', 'error'], ['NOTIMP', 'error'], ['FORMERR', 'error'], ['NXDOMAIN', 'answered'], ['NOERROR', 'answered']]);
});

test('pairing needs the same id and question; a response nobody asked for is only counted', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.udp(0, { ...q(40006), payload: dnsQuery({ id: 5, name: 'one.example' }) }),
    s.udp(1, { ...q(40006), payload: dnsQuery({ id: 5, name: 'two.example' }) }),   // same id, other question: a new query
    s.udp(10, { ...a(40006), payload: dnsResponse({ id: 5, name: 'two.example' }) }),
    s.udp(10, { ...a(40006), payload: dnsResponse({ id: 6, name: 'zzz.example', answers: [{ type: 'A', name: 'zzz.example', data: '192.0.2.9' }] }) }),
  );
  assert.deepEqual(t.rec.txs.map((x) => [x.question?.name, x.outcome]), [['two.example', 'answered']]);
  assert.equal(t.table.stats().dns.unsolicited, 1);
  assert.equal(t.rec.responses.length, 2, 'observers still see every response');
  assert.deepEqual(t.names.addressesOf('zzz.example').map((x) => x.address), ['192.0.2.9']);
  assert.equal(t.anomalies.size, 0, 'no anomaly for an unsolicited response');
  t.table.flushAll();
  assert.deepEqual(t.rec.txs.map((x) => [x.question?.name, x.outcome]), [['two.example', 'answered'], ['one.example', 'pending']]);
});

test('ICMP port unreachable quoting the query: rejected, by DNS id; short quotes take the oldest', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const q1 = s.udp(0, { ...q(40007), payload: dnsQuery({ id: 0x1111, name: 'a.example' }) });
  const q2 = s.udp(1, { ...q(40007), payload: dnsQuery({ id: 0x2222, name: 'b.example' }) });
  t.feed(q1, q2);
  t.feed(s.icmp(2, { src: '192.0.2.254', dst: C, type: 3, code: 3, quote: q2 }));
  assert.deepEqual(t.rec.txs.map((x) => [x.id, x.outcome]), [[0x2222, 'rejected']]);
  const tx = t.rec.txs[0];
  assert.equal(tx.icmp?.frameNo, 3);
  assert.equal(tx.icmp?.sender, '192.0.2.254');
  assert.equal(tx.flow.icmpErrors.length, 1);
  // a quote of only IP + UDP header (8 bytes): no DNS id, the oldest waiting query is taken
  t.feed(s.icmp(2, { src: '192.0.2.254', dst: C, type: 3, code: 3, quote: q1, quoteLen: 28 }));
  assert.deepEqual(t.rec.txs.map((x) => [x.id, x.outcome]), [[0x2222, 'rejected'], [0x1111, 'rejected']]);
  // fragmentation-needed is not a rejection
  const q3 = s.udp(1, { ...q(40007), payload: dnsQuery({ id: 0x3333, name: 'c.example' }) });
  t.feed(q3, s.icmp(1, { src: '192.0.2.254', dst: C, type: 3, code: 4, quote: q3 }));
  assert.equal(t.rec.txs.length, 2);
});

test('ICMPv6 unreachable rejects a query to an IPv6 resolver', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const qq = s.udp(0, { src: '2001:db8::57', dst: '2620:119:53::53', sport: 5353, dport: 443, payload: dnsQuery({ id: 42, name: 'x.example', type: 'TXT' }) });
  t.feed(qq, s.icmp(3, { src: '2001:db8::1', dst: '2001:db8::57', type: 1, code: 1, quote: qq }));
  assert.deepEqual(t.rec.txs.map((x) => [x.server, x.serverPort, x.outcome]), [['2620:119:53::53', 443, 'rejected']]);
});

test('TCP: length prefix across segments, two messages in one segment, retransmitted segment ignored', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const c = { src: C, dst: R, sport: 40100, dport: 53 };
  const r = { src: R, dst: C, sport: 53, dport: 40100 };
  const queries = tcpFramed(dnsQuery({ id: 1, name: 'one.example' }), dnsQuery({ id: 2, name: 'two.example' }));
  const resp = tcpFramed(dnsResponse({ id: 1, name: 'one.example', answers: [{ type: 'A', name: 'one.example', data: '192.0.2.1' }] }),
    dnsResponse({ id: 2, name: 'two.example', rcode: 3 }));
  t.feed(
    s.tcp(0, { ...c, flags: TH_SYN, seq: 100 }),
    s.tcp(5, { ...r, flags: TH_SYN | TH_ACK, seq: 900, ack: 101 }),
    s.tcp(1, { ...c, flags: TH_ACK, seq: 101, ack: 901 }),
    s.tcp(1, { ...c, flags: TH_ACK | TH_PSH, seq: 101, ack: 901, payload: queries }),            // two queries in one segment
    s.tcp(10, { ...r, flags: TH_ACK | TH_PSH, seq: 901, ack: 101 + queries.length, payload: resp.subarray(0, 1) }),   // half a length prefix
    s.tcp(1, { ...r, flags: TH_ACK | TH_PSH, seq: 902, ack: 101 + queries.length, payload: resp.subarray(1, 20) }),
    s.tcp(1, { ...r, flags: TH_ACK | TH_PSH, seq: 902, ack: 101 + queries.length, payload: resp.subarray(1, 20) }),    // retransmission
    s.tcp(1, { ...r, flags: TH_ACK | TH_PSH, seq: 920, ack: 101 + queries.length, payload: resp.subarray(19) }),      // overlaps by one byte
  );
  assert.deepEqual(t.rec.txs.map((x) => [x.transport, x.id, x.outcome, x.rcode]), [['tcp', 1, 'answered', 'NOERROR'], ['tcp', 2, 'answered', 'NXDOMAIN']]);
  assert.deepEqual(t.rec.txs[0].answers.map((x) => x.data), ['192.0.2.1']);
  assert.equal(t.anomalies.size, 0);
});

test('TCP: a gap drops the direction (dns/TCP_GAP); a reset from the server rejects waiting queries', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const c = { src: C, dst: R, sport: 40101, dport: 443 };
  const r = { src: R, dst: C, sport: 443, dport: 40101 };
  const q1 = tcpFramed(dnsQuery({ id: 1, name: 'one.example' }));
  const q2 = tcpFramed(dnsQuery({ id: 2, name: 'two.example' }));
  t.feed(
    s.tcp(0, { ...c, flags: TH_SYN, seq: 100 }),
    s.tcp(5, { ...r, flags: TH_SYN | TH_ACK, seq: 900, ack: 101 }),
    s.tcp(1, { ...c, flags: TH_ACK | TH_PSH, seq: 101, ack: 901, payload: q1 }),
    s.tcp(1, { ...c, flags: TH_ACK | TH_PSH, seq: 101 + q1.length + 50, ack: 901, payload: q2 }),   // 50 bytes missing
    s.tcp(5, { ...r, flags: TH_RST | TH_ACK, seq: 901, ack: 101 + q1.length }),
  );
  assert.deepEqual(t.rec.txs.map((x) => [x.id, x.outcome, x.tcpReset, x.serverPort]), [[1, 'rejected', true, 443]]);
  const gap = t.anomalies.list().find((x) => x.layer === 'dns' && x.code === 'TCP_GAP');
  assert.equal(gap?.firstFrame, 4);
});

test('DNSCrypt on UDP/443: encrypted queries are transactions, paired in order with encrypted responses', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const rnd = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + 7) & 0xff));
  const magic = Buffer.from('r6fnvWj8', 'latin1');
  const eq = (seed: number) => { const b = rnd(320, seed); b[4] = 0xff; b[5] = 0xff; return b; };   // qdcount 65535: not DNS
  t.feed(
    s.udp(0, { ...q(40200, 443), payload: eq(1) }),
    s.udp(1, { ...q(40200, 443), payload: eq(2) }),
    s.udp(30, { ...a(40200, 443), payload: Buffer.concat([magic, rnd(200, 3)]) }),
  );
  assert.deepEqual(t.rec.txs.map((x) => [x.encrypted, x.id, x.question, x.outcome, x.queryFrames[0]]), [[true, -1, null, 'answered', 1]]);
  t.table.flushAll();
  assert.deepEqual(t.rec.txs.map((x) => [x.encrypted, x.outcome]), [[true, 'answered'], [true, 'pending']]);
  assert.equal(t.anomalies.size, 0, 'encrypted traffic is not malformed DNS');
  assert.equal(t.table.stats().dns.encryptedQueries, 2);
});

test('malformed DNS: anomaly with the frame, no transaction, no crash (fuzzed)', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(s.udp(0, { ...q(40300), payload: Buffer.from('not dns at all, sorry') }));
  const m = t.anomalies.list().find((x) => x.layer === 'dns' && x.code === 'MALFORMED');
  assert.equal(m?.firstFrame, 1);
  assert.equal(t.rec.txs.length, 0);
  // random bytes, and random mutations of real messages, never throw out of the table
  const real = [dnsQuery({ id: 1, name: 'a.b.example', ednsOption: 0x6942 }),
    dnsResponse({ id: 1, name: 'a.b.example', answers: [{ type: 'TXT', name: 'a.b.example', data: ['x', 'y'] }] })];
  fc.assert(fc.property(
    fc.oneof(fc.uint8Array({ maxLength: 600 }),
      fc.tuple(fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat())
        .map(([w, muts, cut]) => { const b = Buffer.from(real[w]); for (const [i, v] of muts) b[i % b.length] = v; return b.subarray(0, 1 + (cut % b.length)); })),
    fc.boolean(), fc.boolean(),
    (payload, fromServer, tcp) => {
      const tt = makeTable({ initialFlows: 4 });
      const ss = new PacketSeq();
      if (tcp) {
        const c = { src: C, dst: R, sport: 40301, dport: 53 };
        tt.feed(ss.tcp(0, { ...(fromServer ? { src: R, dst: C, sport: 53, dport: 40301 } : c), flags: TH_ACK | TH_PSH, seq: 1, ack: 1, payload: tcpFramed(Buffer.from(payload)) }));
      } else {
        tt.feed(ss.udp(0, { ...(fromServer ? a(40301) : q(40301)), payload }));
      }
      tt.table.flushAll();
      for (const tx of tt.rec.txs) assert.ok(['pending', 'unanswered'].includes(tx.outcome));
    },
  ), { numRuns: 1500, seed: 7 });
});

test('snap-truncated query: id from the header, question null, truncated; still paired by id', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const full = dnsQuery({ id: 0xbeef, name: 'a-rather-long-name.that-is-cut.example', type: 'TXT' });
  // IPv4 20 + UDP 8 + 10 bytes of DNS captured
  t.feed(s.udp(0, { ...q(40400), payload: full, snap: 38 }));
  t.feed(s.udp(5, { ...a(40400), payload: dnsResponse({ id: 0xbeef, name: 'a-rather-long-name.that-is-cut.example', type: 'TXT' }) }));
  assert.deepEqual(t.rec.txs.map((x) => [x.id, x.truncated, x.question, x.outcome]), [[0xbeef, true, null, 'answered']]);
  assert.equal(t.anomalies.size, 0, 'the snap length is not damage');
  // a cut response is paired by id but not decoded
  t.feed(s.udp(1, { ...q(40401), payload: dnsQuery({ id: 3, name: 'z.example' }) }));
  t.feed(s.udp(1, { ...a(40401), payload: dnsResponse({ id: 3, name: 'z.example', rcode: 2 }), snap: 20 + 8 + 6 }));
  assert.deepEqual(t.rec.txs.slice(1).map((x) => [x.id, x.rcode, x.outcome, x.answers.length]), [[3, 'SERVFAIL', 'error', 0]]);
});

test('pending cap: more than 50 waiting queries judge the oldest early (dns/PENDING_OVERFLOW); none lost', () => {
  const t = makeTable();
  const s = new PacketSeq();
  for (let i = 0; i < 55; i++) t.feed(s.udp(100, { ...q(40500), payload: dnsQuery({ id: i, name: `n${i}.example` }) }));
  assert.equal(t.rec.txs.length, 5);
  assert.deepEqual(t.rec.txs.map((x) => x.id), [0, 1, 2, 3, 4]);
  assert.deepEqual(outcomes(t.rec.txs), ['pending', 'pending', 'pending', 'pending', 'pending']);   // all < 5 s old then
  const ov = t.anomalies.list().find((x) => x.code === 'PENDING_OVERFLOW');
  assert.equal(ov?.count, 5);
  assert.equal(ov?.firstFrame, 51);
  t.table.flushAll();
  assert.equal(t.rec.txs.length, 55);
  assert.equal(new Set(t.rec.txs.map((x) => x.id)).size, 55);
});

test('eviction and expiry judge pending queries at that moment', () => {
  const t = makeTable({ maxFlows: 1 });
  const s = new PacketSeq();
  t.feed(s.udp(0, { ...q(40600), payload: dnsQuery({ id: 1, name: 'a.example' }) }));
  t.feed(s.udp(6000, { src: '10.0.0.1', dst: '10.0.0.2', sport: 9000, dport: 9001 }));   // evicts the DNS flow
  assert.deepEqual(outcomes(t.rec.txs), ['unanswered']);
  assert.equal(t.table.stats().evicted, 1);
});

test('DNS is decoded only where it belongs: port 53, resolver x dnsPorts, or WANT_DNS', () => {
  const rec = new Recorder((f) => (f.id.resp_p === 5300 ? WANT_DNS : 0));
  const t = makeTable({}, rec);
  const s = new PacketSeq();
  const qry = () => dnsQuery({ id: 9, name: 'x.example' });
  t.feed(
    s.udp(0, { ...q(40700, 443, '192.0.2.80'), payload: qry() }),     // 443 to a non-resolver: not DNS
    s.udp(0, { ...q(40701, 8443, R), payload: qry() }),               // resolver, port not configured
    s.udp(0, { ...q(40702, 5300, '192.0.2.80'), payload: qry() }),    // an observer asked
    s.udp(0, { ...q(40703, 53, '192.0.2.53'), payload: qry() }),      // port 53 anywhere
  );
  t.table.flushAll();
  assert.deepEqual(rec.txs.map((x) => x.serverPort).sort(), [53, 5300]);
});

test('a DNS flow nobody else watches drops its record between transactions; watched ones keep it', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const lan = { src: C, dst: '10.20.0.53', sport: 40800, dport: 53 };
  const back = { src: '10.20.0.53', dst: C, sport: 53, dport: 40800 };
  t.feed(
    s.udp(0, { ...lan, payload: dnsQuery({ id: 1, name: 'a.example' }) }),
    s.udp(5, { ...back, payload: dnsResponse({ id: 1, name: 'a.example' }) }),
    s.udp(1000, { ...lan, payload: dnsQuery({ id: 2, name: 'b.example' }) }),
    s.udp(5, { ...back, payload: dnsResponse({ id: 2, name: 'b.example', rcode: 3 }) }),
  );
  t.table.flushAll();
  const [t1, t2] = t.rec.txs;
  assert.deepEqual([t1.outcome, t2.outcome, t2.rcode], ['answered', 'answered', 'NXDOMAIN']);
  const end = t.rec.ends[0];
  assert.equal(t1.flow.uid, end.uid);
  assert.equal(t2.flow.uid, end.uid);
  assert.notEqual(t1.flow, end, 'a snapshot, not the record the flow ended with');
  assert.equal(t2.flow.dir[0].pkts, 2, 'the snapshot is current when the transaction is decided');
  assert.equal(end.dir[0].pkts, 2);
  assert.equal(end.dir[1].pkts, 2);
  assert.equal(end.conn_state, 'SF');

  // a flow an observer asked for (WANT_DNS) keeps one record from start to end
  const rec = new Recorder((f) => (f.id.resp_h === R ? WANT_DNS : 0));
  const t3 = makeTable({}, rec);
  const s3 = new PacketSeq();
  t3.feed(
    s3.udp(0, { ...q(40801), payload: dnsQuery({ id: 1, name: 'a.example' }) }),
    s3.udp(5, { ...a(40801), payload: dnsResponse({ id: 1, name: 'a.example' }) }),
  );
  t3.table.flushAll();
  assert.equal(rec.txs[0].flow, rec.endsRaw[0]);
  assert.equal(rec.txs[0].flow, rec.starts[0]);
});
