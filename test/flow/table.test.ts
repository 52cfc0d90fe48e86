// The flow table: identity, orientation, timeouts, eviction, observers, ICMP errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeTable, Recorder } from './recorder.js';
import { PacketSeq, TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN, tcpPacket, udpPacket } from '../helpers/packets.js';
import { WANT_PACKETS, type FlowRecord } from '../../src/flow/types.js';

const CL = { src: '10.0.0.1', dst: '18.135.112.200', sport: 40000, dport: 443 };
const SV = { src: '18.135.112.200', dst: '10.0.0.1', sport: 443, dport: 40000 };

test('SYN retransmissions with the same ISN stay one flow (Linux backoff 1,2,4,...,32 s)', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const gaps = [0, 1000, 2000, 4000, 8000, 16000, 32000];
  for (const g of gaps) t.feed(s.tcp(g, { ...CL, flags: TH_SYN, seq: 12345, ttl: 128 }));
  t.table.flushAll();
  assert.equal(t.rec.ends.length, 1);
  const f = t.rec.ends[0];
  assert.equal(f.conn_state, 'S0');
  assert.equal(f.history, 'S');
  assert.equal(f.synCount, 7);
  assert.deepEqual(f.synFrames, [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(f.synTimesMs.map((x) => x - f.firstMs), [0, 1000, 3000, 7000, 15000, 31000, 63000]);
  assert.equal(f.synIsn, 12345);
  assert.equal(f.synTtl, 128);
  assert.equal(f.synAckFrame, -1);
  assert.equal(f.synToSynAckMs, -1);
  assert.equal(f.dir[0].pkts, 7);
  assert.equal(f.dir[1].pkts, 0);
  assert.equal(f.dir[1].firstFrame, -1);
  assert.equal(f.duration, 63000);
  assert.deepEqual(t.table.stats(), { total: 1, live: 0, byConnState: { S0: 1 }, evicted: 0, dns: t.table.stats().dns });
});

test('synFrames is bounded to 32, synCount is not', () => {
  const t = makeTable();
  const s = new PacketSeq();
  for (let i = 0; i < 50; i++) t.feed(s.tcp(100, { ...CL, flags: TH_SYN, seq: 1 }));
  t.table.flushAll();
  assert.equal(t.rec.ends[0].synCount, 50);
  assert.equal(t.rec.ends[0].synFrames.length, 32);
  assert.equal(t.rec.ends[0].synTimesMs.length, 32);
});

test('an attempt silent for longer than tcpAttemptMs ends; the next SYN starts a new flow', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(s.tcp(0, { ...CL, flags: TH_SYN, seq: 1 }), s.tcp(75_001, { ...CL, flags: TH_SYN, seq: 1 }));
  // the first flow was finalized by the second packet, before the end of input
  assert.equal(t.rec.ends.length, 1);
  t.table.flushAll();
  assert.equal(t.rec.ends.length, 2);
  assert.notEqual(t.rec.ends[0].uid, t.rec.ends[1].uid);
  assert.deepEqual(t.rec.ends.map((f) => f.synCount), [1, 1]);
});

test('port reuse: a SYN with a new ISN after RST (or FIN both ways) starts a new flow; same ISN stays', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1000 }),
    s.tcp(30, { ...SV, flags: TH_RST | TH_ACK, seq: 0, ack: 1001, ttl: 61 }),
    s.tcp(500, { ...CL, flags: TH_SYN, seq: 1000 }),                 // same ISN: retry of the same attempt
    s.tcp(30, { ...SV, flags: TH_RST | TH_ACK, seq: 0, ack: 1001, ttl: 61 }),
    s.tcp(500, { ...CL, flags: TH_SYN, seq: 9000 }),                 // new ISN: new connection
    s.tcp(30, { ...SV, flags: TH_SYN | TH_ACK, seq: 5, ack: 9001 }),
    s.tcp(1, { ...CL, flags: TH_ACK, seq: 9001, ack: 6 }),
    s.tcp(1, { ...CL, flags: TH_FIN | TH_ACK, seq: 9001, ack: 6 }),
    s.tcp(1, { ...SV, flags: TH_FIN | TH_ACK, seq: 6, ack: 9002 }),
    s.tcp(1, { ...CL, flags: TH_ACK, seq: 9002, ack: 7 }),
    s.tcp(100, { ...CL, flags: TH_SYN, seq: 20000 }),                // reuse after FIN both ways
  );
  t.table.flushAll();
  assert.deepEqual(t.rec.ends.map((f) => f.conn_state), ['REJ', 'SF', 'S0']);
  const rej = t.rec.ends[0];
  assert.equal(rej.synCount, 2);
  assert.equal(rej.history, 'Sr');
  assert.equal(rej.rstFrame, 2);
  assert.equal(rej.rstDir, 1);
  assert.equal(rej.rstTtl, 61);
  assert.equal(rej.rstAfterSynMs, 30);
  assert.equal(t.rec.ends[1].history, 'ShAFf');
  assert.equal(t.rec.ends[1].synToSynAckMs, 30);
  assert.deepEqual(t.rec.ends[1].finFrame, [8, 9]);
});

test('closed flows linger 5 s: a late ACK stays in the flow, a packet after the linger starts a new one', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1 }),
    s.tcp(10, { ...SV, flags: TH_RST | TH_ACK, seq: 0, ack: 2 }),
    s.tcp(4000, { ...SV, flags: TH_RST | TH_ACK, seq: 0, ack: 2 }),   // within linger
  );
  assert.equal(t.rec.ends.length, 0);
  t.feed(s.tcp(5001, { ...CL, flags: TH_ACK, seq: 2, ack: 1 }));     // 5.001 s after the last packet
  assert.equal(t.rec.ends.length, 1);
  assert.equal(t.rec.ends[0].dir[1].pkts, 2);
  t.table.flushAll();
  assert.deepEqual(t.rec.ends.map((f) => f.conn_state), ['REJ', 'OTH']);
});

test('timeouts by packet time: UDP idle 60 s, established TCP idle 300 s; sweeps deliver onFlowEnd early', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.udp(0, { src: '10.0.0.1', dst: '10.0.0.9', sport: 5000, dport: 7000, payload: Buffer.from('x') }),
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1 }),
    s.tcp(10, { ...SV, flags: TH_SYN | TH_ACK, seq: 1, ack: 2 }),
    s.tcp(10, { ...CL, flags: TH_ACK, seq: 2, ack: 2 }),
  );
  // unrelated traffic moves packet time on (a new ICMP flow each time: distinct echo ids do
  // not matter, the flows expire themselves; only the first two flows are looked at)
  const tick = (dt: number) => t.feed(s.icmp(dt, { src: '10.1.0.1', dst: '10.1.0.2', type: 8, code: 0 }));
  const mine = () => t.rec.ends.filter((f) => f.id.proto !== 'icmp').map((f) => f.id.proto + '/' + f.conn_state);
  tick(59_000);
  assert.deepEqual(mine(), [], 'nothing idle long enough yet');
  tick(2_000);
  assert.deepEqual(mine(), ['udp/S0']);
  tick(50_000); tick(50_000); tick(50_000); tick(50_000);            // 261 s after the TCP flow's last packet
  assert.deepEqual(mine(), ['udp/S0'], 'established TCP lives 300 s');
  tick(40_000);
  assert.deepEqual(mine(), ['udp/S0', 'tcp/S1']);
  assert.equal(t.table.size, 1);
  // live mode: a wall-clock tick expires flows without packets
  t.table.expire(s.ms + 60_001);
  assert.equal(t.table.size, 0);
});

test('eviction when full: LRU flow finalized, flow/TABLE_FULL counted once with a count, nothing lost', () => {
  const t = makeTable({ maxFlows: 4 });
  const s = new PacketSeq();
  for (let i = 0; i < 10; i++) {
    t.feed(s.udp(10, { src: '10.0.0.1', dst: '10.0.0.2', sport: 21000 + i, dport: 9999, payload: Buffer.from('q') }));
    // keep flow 21000 busy: it must never be the one evicted
    t.feed(s.udp(1, { src: '10.0.0.1', dst: '10.0.0.2', sport: 21000, dport: 9999, payload: Buffer.from('q') }));
  }
  assert.equal(t.table.size, 4);
  assert.deepEqual(t.rec.ends.map((f) => f.id.orig_p), [21001, 21002, 21003, 21004, 21005, 21006]);
  t.table.flushAll();
  assert.equal(t.rec.ends.length, 10);
  assert.equal(t.rec.starts.length, 10);
  const st = t.table.stats();
  assert.equal(st.total, 10);
  assert.equal(st.evicted, 6);
  assert.equal(st.live, 0);
  const a = t.anomalies.list().filter((x) => x.layer === 'flow' && x.code === 'TABLE_FULL');
  assert.equal(a.length, 1);
  assert.equal(a[0].count, 6);
  assert.equal(a[0].firstFrame, 9);
  assert.equal(t.rec.endByPort(21000).dir[0].pkts, 11);
});

test('orientation: SYN-ACK first flips (^), UDP answer from a server port flips, SYN from a low port does not', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...SV, flags: TH_SYN | TH_ACK, seq: 5, ack: 1001 }),
    s.tcp(1, { ...CL, flags: TH_ACK, seq: 1001, ack: 6 }),
    s.udp(1, { src: '10.0.0.53', dst: '10.0.0.1', sport: 53, dport: 33333, payload: Buffer.from('zzzz') }),
    s.tcp(1, { src: '10.0.0.1', dst: '10.0.0.2', sport: 80, dport: 50000, flags: TH_SYN, seq: 1 }),
    // midstream: data from the server port first
    s.tcp(1, { src: '10.0.0.7', dst: '10.0.0.1', sport: 8080, dport: 51000, flags: TH_ACK | TH_PSH, seq: 1, ack: 1, payload: Buffer.from('x') }),
  );
  t.table.flushAll();
  const [a, b, c, d] = t.rec.ends;
  assert.deepEqual(a.id, { orig_h: '10.0.0.1', orig_p: 40000, resp_h: '18.135.112.200', resp_p: 443, proto: 'tcp' });
  assert.equal(a.history, '^hA');
  assert.equal(a.dir[0].pkts, 1);
  assert.equal(a.dir[1].pkts, 1);
  assert.equal(a.synAckFrame, 1);
  assert.equal(a.conn_state, 'S1');        // Zeek: missed SYN; SYN-ACK and the ACK establish both sides
  assert.deepEqual(b.id, { orig_h: '10.0.0.1', orig_p: 33333, resp_h: '10.0.0.53', resp_p: 53, proto: 'udp' });
  assert.equal(b.history, '^d');
  assert.equal(c.id.orig_p, 80);
  assert.equal(d.id.orig_h, '10.0.0.1');
  assert.equal(d.history, '^d');
});

test('per-direction facts: packets, IP bytes, payload bytes, TTL min/max/first, frames, first data', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 100, ttl: 64 }),
    s.tcp(40, { ...SV, flags: TH_SYN | TH_ACK, seq: 900, ack: 101, ttl: 52 }),
    s.tcp(1, { ...CL, flags: TH_ACK, seq: 101, ack: 901, ttl: 64 }),
    s.tcp(1, { ...CL, flags: TH_ACK | TH_PSH, seq: 101, ack: 901, ttl: 63, payload: Buffer.alloc(300) }),
    s.tcp(40, { ...SV, flags: TH_ACK | TH_PSH, seq: 901, ack: 401, ttl: 57, payload: Buffer.alloc(1000) }),
  );
  t.table.flushAll();
  const f = t.rec.ends[0];
  assert.deepEqual(f.dir[0], { pkts: 3, bytes: 40 + 40 + 340, payloadBytes: 300, ttlMin: 63, ttlMax: 64, firstTtl: 64, firstFrame: 1, lastFrame: 4 });
  assert.deepEqual(f.dir[1], { pkts: 2, bytes: 40 + 1040, payloadBytes: 1000, ttlMin: 52, ttlMax: 57, firstTtl: 52, firstFrame: 2, lastFrame: 5 });
  assert.deepEqual(f.firstDataFrame, [4, 5]);
  assert.deepEqual(f.firstDataMs.map((x) => x - f.firstMs), [42, 82]);
  assert.equal(f.synAckTtl, 52);
  assert.equal(f.synToSynAckMs, 40);
  assert.equal(f.tsSec * 1000 + f.tsNsec / 1e6, f.firstMs);
  assert.equal(f.lastTsSec * 1000 + f.lastTsNsec / 1e6, f.lastMs);
  assert.equal(f.ipVersion, 4);
});

test('IPv6 flows: keyed by all 16 bytes, addresses in RFC 5952 text', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const a = { src: '2001:db8::1', dst: '2620:119:35::35', sport: 50000, dport: 443 };
  const b = { src: '2001:db8::1:1', dst: '2620:119:35::35', sport: 50000, dport: 443 };   // differs in one word
  t.feed(
    s.tcp(0, { ...a, flags: TH_SYN, seq: 1 }),
    s.tcp(0, { ...b, flags: TH_SYN, seq: 1 }),
    s.tcp(5, { src: a.dst, dst: a.src, sport: 443, dport: 50000, flags: TH_SYN | TH_ACK, seq: 7, ack: 2 }),
  );
  t.table.flushAll();
  assert.equal(t.rec.ends.length, 2);
  const [fa, fb] = t.rec.ends;
  assert.deepEqual(fa.id, { orig_h: '2001:db8::1', orig_p: 50000, resp_h: '2620:119:35::35', resp_p: 443, proto: 'tcp' });
  assert.equal(fa.ipVersion, 6);
  assert.equal(fa.history, 'Sh');
  assert.equal(fb.id.orig_h, '2001:db8::1:1');
  assert.equal(fb.history, 'S');
});

test('observers: WANT_PACKETS gives every packet (first included) with direction; record identity kept', () => {
  const watched = new Recorder((f) => (f.id.resp_p === 443 ? WANT_PACKETS : 0), 'watch');
  const t = makeTable({}, watched);
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1 }),
    s.tcp(1, { src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 80, flags: TH_SYN, seq: 1 }),
    s.tcp(1, { ...SV, flags: TH_SYN | TH_ACK, seq: 1, ack: 2 }),
    s.tcp(1, { ...CL, flags: TH_ACK, seq: 2, ack: 2 }),
  );
  t.table.flushAll();
  assert.deepEqual(watched.packets.map((p) => [p.frameNo, p.dir, p.pkts]), [[1, 0, 1], [3, 1, 2], [4, 0, 3]]);
  const start443 = watched.starts.find((f) => f.id.resp_p === 443) as FlowRecord;
  assert.equal(watched.endsRaw.find((f) => f.id.resp_p === 443), start443, 'same object from start to end');
  assert.equal(start443.watchers, 1);
  // onFlowStart sees the flow before its first packet is counted
  assert.equal(watched.log[0].startsWith('start '), true);
  // uids: one per flow, distinct, 'C' + 11 base62
  const uids = watched.ends.map((f) => f.uid);
  assert.equal(new Set(uids).size, 2);
  for (const u of uids) assert.match(u, /^C[0-9A-Za-z]{11}$/);
});

test('observers that set ext keep their record; cold flows get a reused record, valid during onFlowEnd', () => {
  const rec = new Recorder((f) => { if (f.id.resp_p === 80) f.ext = { mine: 1 }; return 0; });
  const t = makeTable({}, rec);
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 80, flags: TH_SYN, seq: 1 }),
    s.tcp(0, { src: '10.0.0.1', dst: '10.0.0.2', sport: 2, dport: 81, flags: TH_SYN, seq: 1 }),
  );
  t.table.flushAll();
  const i80 = rec.ends.findIndex((f) => f.id.resp_p === 80);
  const i81 = rec.ends.findIndex((f) => f.id.resp_p === 81);
  assert.equal(rec.endsRaw[i80], rec.starts[0], 'the kept record is the one onFlowStart saw');
  assert.deepEqual(rec.ends[i80].ext, { mine: 1 });
  // the cold flow's end record shows that flow (uid as logged at its start), whatever object it is
  const startUid81 = rec.log[1].split(' ')[1];
  assert.equal(rec.ends[i81].uid, startUid81);
  assert.notEqual(rec.ends[i81].uid, rec.ends[i80].uid);
  assert.equal(rec.ends[i81].dir[0].pkts, 1);
  assert.equal(rec.ends[i81].id.resp_p, 81);
});

test('uids are deterministic for a seed and differ between seeds', () => {
  const uidsFor = (seed: number) => {
    const t = makeTable({ uidSeed: seed });
    const s = new PacketSeq();
    for (let i = 0; i < 5; i++) t.feed(s.udp(1, { src: '10.0.0.1', dst: '10.0.0.2', sport: 2000 + i, dport: 9 }));
    t.table.flushAll();
    return t.rec.ends.map((f) => f.uid);
  };
  assert.deepEqual(uidsFor(1), uidsFor(1));
  assert.notDeepEqual(uidsFor(1), uidsFor(2));
});

test('ICMP errors are tied to the flow they quote (bounded to 8), observers get them', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const syn = s.tcp(0, { ...CL, flags: TH_SYN, seq: 77 });
  t.feed(syn);
  for (let i = 0; i < 10; i++) t.feed(s.icmp(5, { src: '192.0.2.1', dst: '10.0.0.1', type: 3, code: 13, ttl: 250, quote: syn }));
  // an error quoting a flow we never saw
  const other = tcpPacket({ src: '10.0.0.1', dst: '10.9.9.9', sport: 1, dport: 2, flags: TH_SYN, seq: 1, ms: s.ms, frameNo: 999 });
  t.feed(s.icmp(5, { src: '192.0.2.1', dst: '10.0.0.1', type: 3, code: 1, quote: other }));
  t.table.flushAll();
  const fi = t.rec.ends.findIndex((x) => x.id.proto === 'tcp');
  const f = t.rec.ends[fi];
  assert.equal(f.icmpErrors.length, 8);
  assert.deepEqual(f.icmpErrors[0], {
    frameNo: 2, tsMs: f.firstMs + 5, type: 3, code: 13, ipVersion: 4, sender: '192.0.2.1', ttl: 250,
    quoted: f.icmpErrors[0].quoted,
  });
  assert.equal(f.icmpErrors[0].quoted.tcpSeq, 77);
  assert.equal(t.rec.icmp.length, 11);
  assert.equal(t.rec.icmp[0].flow, t.rec.endsRaw[fi], 'an ICMP error keeps the record: the same object to the end');
  assert.equal(t.rec.icmp[10].flow, null);
  // the ICMP messages are flows of their own too (Zeek: orig_p = type, resp_p = code)
  const icmpFlows = t.rec.ends.filter((x) => x.id.proto === 'icmp').map((x) => `${x.id.orig_p}/${x.id.resp_p}`).sort();
  assert.deepEqual(icmpFlows, ['3/1', '3/13']);
});

test('packets without a usable transport are ignored without harm', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const p = s.udp(0, { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 });
  t.feed({ ...p, ipVersion: 0 }, { ...p, srcPort: -1, dstPort: -1 }, { ...p, proto: 47 }, { ...p, proto: 6, tcpHdrLen: 0 });
  t.table.flushAll();
  assert.equal(t.table.stats().total, 0);
});

test('slot table: flows stay findable after neighbours in their probe chains are deleted', () => {
  for (let round = 0; round < 20; round++) {
    const t = makeTable({ initialFlows: 16, maxFlows: 16 });
    const s = new PacketSeq();
    const ports = Array.from({ length: 16 }, (_, i) => 20000 + round * 100 + i);
    const pkt = (p: number, dt: number) => s.udp(dt, { src: '10.0.0.1', dst: '10.0.0.2', sport: p, dport: 30000 });
    for (const p of ports) t.feed(pkt(p, 0));
    // keep every other flow alive, let the rest expire
    for (let i = 0; i < ports.length; i += 2) t.feed(pkt(ports[i], i === 0 ? 50_000 : 0));
    t.feed(s.icmp(11_000, { src: '10.9.0.1', dst: '10.9.0.2', type: 8, code: 0 }));   // time moves: sweep
    assert.equal(t.rec.ends.length, 8, 'half expired');
    for (let i = 0; i < ports.length; i += 2) t.feed(pkt(ports[i], 0));
    assert.equal(t.table.stats().total, 17, 'the kept flows were found again, none created twice');
    assert.equal(t.table.stats().evicted, 0);
  }
});

test('randomized: flow identity matches a reference model (hash collisions, deletions, reuse of slots)', () => {
  // A small address/port space so that flows repeat, time jumps so that they expire, and a
  // tiny maxFlows-free table so slots are reused. Reference: a string-keyed map with the
  // same idle rule (UDP 60 s).
  fc.assert(fc.property(
    fc.array(fc.record({
      a: fc.integer({ min: 0, max: 2 }), b: fc.integer({ min: 0, max: 2 }),
      pa: fc.integer({ min: 1000, max: 1001 }), pb: fc.integer({ min: 1000, max: 1001 }),
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 20_000, max: 61_000 })),
      v6: fc.boolean(),
    }), { minLength: 1, maxLength: 300 }),
    (steps) => {
      const watch = new Recorder(WANT_PACKETS);
      // start tiny: 2 flows, 16 slots -> collisions, growth with rehash, slot reuse
      const t = makeTable({ maxFlows: 100_000, initialFlows: 2 }, watch);
      let ms = Date.UTC(2024, 0, 1);
      const ref = new Map<string, { last: number; n: number }>();
      let serial = 0;
      const refIds: number[] = [];
      let frame = 0;
      for (const st of steps) {
        ms += st.dt;
        const src = st.v6 ? `2001:db8::${st.a}` : `10.0.0.${st.a}`;
        const dst = st.v6 ? `2001:db8::${st.b}` : `10.0.0.${st.b}`;
        // 1000..1003 are not likely server ports, so the first sender is always the originator
        const k1 = `${st.v6}|${src}|${st.pa}|${dst}|${st.pb}`, k2 = `${st.v6}|${dst}|${st.pb}|${src}|${st.pa}`;
        const key = ref.has(k1) ? k1 : ref.has(k2) ? k2 : k1;
        const cur = ref.get(key);
        if (cur && ms - cur.last <= 60_000) { cur.last = Math.max(cur.last, ms); refIds.push(cur.n); }
        else { ref.set(key, { last: ms, n: serial }); refIds.push(serial++); }
        t.table.process(udpPacket({ src, dst, sport: st.pa, dport: st.pb, ms, frameNo: ++frame }));
      }
      t.table.flushAll();
      // map uids to first-seen order and compare the per-packet flow sequence
      const order = new Map<string, number>();
      const got = watch.packets.map((p) => { if (!order.has(p.uid)) order.set(p.uid, order.size); return order.get(p.uid)!; });
      assert.deepEqual(got, refIds);
      assert.equal(t.table.stats().total, serial);
      assert.equal(watch.ends.length, serial);
    },
  ), { numRuns: 200, seed: 42 });
});

test('onFlowStart: a record nobody keeps (mask 0, no ext) is reused for the next flow; kept ones are not', () => {
  const seen: { rec: FlowRecord; uid: string; port: number }[] = [];
  const rec = new Recorder((f) => { seen.push({ rec: f, uid: f.uid, port: f.id.resp_p }); return f.id.resp_p === 443 ? WANT_PACKETS : 0; });
  const t = makeTable({}, rec);
  const s = new PacketSeq();
  for (const port of [80, 81, 443, 82]) t.feed(s.tcp(1, { src: '10.0.0.1', dst: '10.0.0.2', sport: 30000 + port, dport: port, flags: TH_SYN, seq: 1 }));
  assert.equal(seen[0].rec, seen[1].rec, 'cold: the same scratch record');
  assert.equal(seen[1].rec, seen[2].rec, 'handed out again, then kept by the 443 flow');
  assert.notEqual(seen[2].rec, seen[3].rec, 'the kept record left the pool');
  assert.equal(seen[2].rec.id.resp_p, 443, 'and was not overwritten');
  assert.deepEqual(seen.map((x) => x.uid).length, new Set(seen.map((x) => x.uid)).size);
  t.table.flushAll();
  assert.deepEqual(rec.ends.map((f) => f.id.resp_p).sort(), [443, 80, 81, 82]);
  for (const f of rec.ends) assert.equal(f.synCount, 1);
});

test('a released table hands its arrays to the next one: same results as a fresh table, a used one is empty', () => {
  // traffic that leaves garbage behind in every array: many flows (the table grows past its
  // start), closed and expired ones, a flow still open at the end
  const run = (initialFlows: number) => {
    const t = makeTable({ initialFlows, maxFlows: 4096 });
    const s = new PacketSeq();
    for (let i = 0; i < 300; i++) {
      const c = { src: `10.0.${i >> 8}.${i & 255}`, dst: '18.135.112.200', sport: 30000 + i, dport: 443 };
      const v = { src: c.dst, dst: c.src, sport: 443, dport: c.sport };
      t.feed(s.tcp(1, { ...c, flags: TH_SYN, seq: 10 }), s.tcp(1, { ...v, flags: TH_SYN | TH_ACK, seq: 50, ack: 11 }));
      if (i % 3 === 0) t.feed(s.tcp(1, { ...c, flags: TH_RST, seq: 11 }));
      t.feed(s.udp(1, { src: c.src, dst: '10.0.0.53', sport: 40000 + i, dport: 53 }));
    }
    t.feed(s.udp(200_000, { src: '10.9.9.9', dst: '10.0.0.53', sport: 5555, dport: 53 }));   // expires the rest
    t.table.flushAll();
    const out = { log: t.rec.log.join('\n'), ends: JSON.stringify(t.rec.ends), stats: JSON.stringify(t.table.stats()) };
    t.table.release();
    assert.equal(t.table.size, 0);
    return out;
  };
  const fresh = run(256);
  for (let k = 0; k < 3; k++) assert.deepEqual(run(256), fresh, `run ${k + 2} (pooled arrays)`);
  assert.deepEqual(run(64), fresh, 'a smaller table takes the pooled larger one');
});
