import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnomalySink } from '../../src/errors.js';
import { FrameDecoder } from '../../src/decode/walk.js';
import { decodeIpv4, ipv4HeaderChecksum } from '../../src/decode/ipv4.js';
import { decodeIpv6 } from '../../src/decode/ipv6.js';
import { formatIPv6 } from '../../src/decode/addr.js';
import { dnsQuery, ether, frag6, frame, ipv4, ipv6, ok, udp } from './helpers.js';

const T0 = 1_700_000_000;

/** Split an IPv4 datagram's payload into fragments of at most `size` bytes (multiple of 8). */
function fragment4(payload: number[], size: number, id = 0x4242, opts: { proto?: number; src?: string; dst?: string } = {}): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const piece = payload.slice(off, off + size);
    out.push(ether(0x0800, ipv4(piece, {
      id, proto: opts.proto ?? 17, src: opts.src ?? '208.67.222.222', dst: opts.dst ?? '10.20.1.57',
      mf: off + size < payload.length, fragOffset: off, options: off === 0 ? [0x94, 0x04, 0x00, 0x00] : [],
    })));
  }
  return out;
}

function fragment6(payload: number[], size: number, id = 7, next = 17): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const piece = payload.slice(off, off + size);
    out.push(ether(0x86dd, ipv6([...frag6(next, off, off + size < payload.length, id), ...piece],
      { next: 44, src: '2620:119:35::35', dst: '2001:db8::57', hop: 57 })));
  }
  return out;
}

/** a DNS answer-sized UDP datagram from 208.67.222.222:53 to 10.20.1.57:53000 */
function bigUdp(n = 3000): number[] {
  const dns = [...dnsQuery(0x9f91, 'txtpadding.example.org')];
  while (dns.length < n) dns.push(dns.length & 0xff);
  return udp(dns, 53, 53000);
}

function run(frames: Buffer[], d = new FrameDecoder(new AnomalySink()), gapMs = 1) {
  const out = [];
  for (let i = 0; i < frames.length; i++) {
    const p = d.decode(frame(frames[i], 1, { frameNo: i + 1, tsSec: T0 + Math.floor((i * gapMs) / 1000), tsNsec: ((i * gapMs) % 1000) * 1e6 }));
    out.push(p === null ? null : { ...p, data: Buffer.from(p.data) });
  }
  return out;
}

test('fragments: an IPv4 datagram in 3 fragments arrives whole on the last frame', () => {
  const payload = bigUdp();
  const frames = fragment4(payload, 1480);
  assert.equal(frames.length, 3);
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  const got = run(frames, d);
  assert.equal(got[0], null);
  assert.equal(got[1], null);
  const p = got[2]!;
  assert.equal(p.reassembled, true);
  assert.equal(p.frameNo, 3);
  assert.equal(p.ipVersion, 4);
  assert.equal(p.ipOff, 0);
  // layout: the first fragment's 24-byte header (with its option), then the payload
  assert.equal(p.l4Off, 24);
  assert.equal(p.ipLen, 24 + payload.length);
  assert.equal(p.data.length, 24 + payload.length);
  const ip = ok(decodeIpv4(p.data, 0));
  assert.equal(ip.totalLen, 24 + payload.length);
  assert.equal(ip.isFragment, false);
  assert.equal(ip.id, 0x4242);
  assert.equal(ipv4HeaderChecksum(p.data, 0, 24), 0);
  assert.deepEqual([...p.data.subarray(24)], payload);
  assert.equal(p.proto, 17);
  assert.equal(p.srcPort, 53);
  assert.equal(p.dstPort, 53000);
  assert.equal(p.payloadOff, 32);
  assert.equal(p.payloadEnd, p.data.length);
  assert.equal(p.payloadLen, payload.length - 8);
  assert.equal(p.data.readUInt16BE(p.payloadOff), 0x9f91);   // the DNS id
  assert.deepEqual(an.list(), []);
  assert.deepEqual(d.fragmentStats, { datagrams: 0, bytes: 0 });
});

test('fragments: out of order, with an exact duplicate, still reassembles once', () => {
  const frames = fragment4(bigUdp(), 1480);
  const an = new AnomalySink();
  const got = run([frames[2], frames[0], frames[0], frames[1]], new FrameDecoder(an));
  assert.deepEqual(got.slice(0, 3), [null, null, null]);
  assert.equal(got[3]!.reassembled, true);
  assert.equal(got[3]!.dstPort, 53000);
  assert.deepEqual(an.list(), []);
});

test('fragments: teardrop-style overlap is anomaly fragment/OVERLAP, the datagram is dropped, later pieces swallowed', () => {
  const payload = bigUdp(200);
  const a = ether(0x0800, ipv4(payload.slice(0, 48), { id: 1, proto: 17, mf: true, fragOffset: 0 }));
  // second piece claims offset 24: overlaps [24, 48) with different bytes
  const b = ether(0x0800, ipv4(payload.slice(24, 40).map((x) => x ^ 0xff), { id: 1, proto: 17, mf: true, fragOffset: 24 }));
  const c = ether(0x0800, ipv4(payload.slice(48), { id: 1, proto: 17, mf: false, fragOffset: 48 }));
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  const got = run([a, b, c], d);
  assert.deepEqual(got, [null, null, null]);
  const list = an.list();
  assert.equal(list.length, 1);
  assert.equal(list[0].layer, 'fragment');
  assert.equal(list[0].code, 'OVERLAP');
  assert.equal(list[0].firstFrame, 2);
  assert.equal(d.fragmentStats.bytes, 0);
});

test('fragments: pieces disagreeing on the end are fragment/INCONSISTENT', () => {
  const p = bigUdp(200);
  const a = ether(0x0800, ipv4(p.slice(0, 64), { id: 2, proto: 17, mf: true }));
  const last1 = ether(0x0800, ipv4(p.slice(64, 128), { id: 2, proto: 17, mf: false, fragOffset: 64 }));
  const last2 = ether(0x0800, ipv4(p.slice(128, 136), { id: 2, proto: 17, mf: false, fragOffset: 128 }));
  const an = new AnomalySink();
  assert.deepEqual(run([last1, last2, a], new FrameDecoder(an)), [null, null, null]);
  assert.deepEqual(an.list().map((x) => x.code), ['INCONSISTENT']);
});

test('fragments: a datagram beyond 65535 bytes (ping of death) is fragment/TOO_LARGE', () => {
  const last = ether(0x0800, ipv4(new Array(100).fill(0), { id: 3, proto: 1, mf: false, fragOffset: 65528 }));
  const an = new AnomalySink();
  assert.deepEqual(run([last], new FrameDecoder(an)), [null]);
  assert.deepEqual(an.list().map((x) => x.code), ['TOO_LARGE']);
});

test('fragments: incomplete datagrams time out by packet time (fragment/INCOMPLETE)', () => {
  const frames = fragment4(bigUdp(), 1480);
  const an = new AnomalySink();
  const d = new FrameDecoder(an, { fragTimeoutMs: 30_000 });
  assert.equal(d.decode(frame(frames[0], 1, { frameNo: 1, tsSec: T0 })), null);
  assert.equal(d.fragmentStats.datagrams, 1);
  // 31 s later: the first piece has expired, so the rest cannot complete it
  const unrelated = ether(0x0800, ipv4(udp([1, 2]), { proto: 17 }));
  assert.notEqual(d.decode(frame(unrelated, 1, { frameNo: 2, tsSec: T0 + 31 })), null);
  assert.deepEqual(d.fragmentStats, { datagrams: 0, bytes: 0 });
  assert.deepEqual(an.list().map((x) => [x.code, x.firstFrame]), [['INCOMPLETE', 1]]);
  assert.equal(d.decode(frame(frames[1], 1, { frameNo: 3, tsSec: T0 + 31 })), null);
  assert.equal(d.decode(frame(frames[2], 1, { frameNo: 4, tsSec: T0 + 31 })), null);
  d.finish();
  assert.equal(an.list().find((x) => x.code === 'INCOMPLETE')!.count, 2);
});

test('fragments: bounded in datagrams and bytes (oldest dropped, fragment/TABLE_FULL)', () => {
  const an = new AnomalySink();
  const d = new FrameDecoder(an, { maxFragDatagrams: 4, maxFragBytes: 5000 });
  let n = 0;
  for (let id = 1; id <= 10; id++) {
    const first = fragment4(bigUdp(), 1480, id)[0];
    assert.equal(d.decode(frame(first, 1, { frameNo: ++n, tsSec: T0 })), null);
    const st = d.fragmentStats;
    assert.ok(st.datagrams <= 4, `datagrams ${st.datagrams}`);
    assert.ok(st.bytes <= 5000, `bytes ${st.bytes}`);
  }
  const codes = an.list().map((x) => x.code).sort();
  assert.deepEqual(codes, ['INCOMPLETE', 'TABLE_FULL']);
  // the newest datagram still completes
  const frames = fragment4(bigUdp(), 1480, 10);
  assert.equal(d.decode(frame(frames[1], 1, { frameNo: ++n, tsSec: T0 })), null);
  assert.equal(d.decode(frame(frames[2], 1, { frameNo: ++n, tsSec: T0 }))?.reassembled, true);
});

test('fragments: a piece cut by the snap length cannot be reassembled; no anomaly', () => {
  const frames = fragment4(bigUdp(), 1480);
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  const cut = frames[1].subarray(0, 200);
  assert.equal(d.decode(frame(frames[0], 1, { frameNo: 1 })), null);
  assert.equal(d.fragmentStats.bytes, 1480);
  assert.equal(d.decode(frame(cut, 1, { frameNo: 2, origLen: frames[1].length })), null);
  assert.equal(d.fragmentStats.bytes, 0);                  // dropped, nothing held
  assert.equal(d.decode(frame(frames[2], 1, { frameNo: 3 })), null);
  assert.equal(d.fragmentStats.bytes, 0);                  // later pieces swallowed
  assert.deepEqual(an.list(), []);
  assert.equal(d.snaplenTruncatedFrames, 1);
});

test('fragments: IPv6 fragments (zeek ipv6-fragmented-dns style) arrive whole', () => {
  const payload = bigUdp(3000);
  const frames = fragment6(payload, 1432, 2);
  assert.equal(frames.length, 3);
  const an = new AnomalySink();
  const got = run(frames, new FrameDecoder(an));
  assert.equal(got[0], null);
  assert.equal(got[1], null);
  const p = got[2]!;
  assert.equal(p.reassembled, true);
  assert.equal(p.ipVersion, 6);
  assert.equal(p.ipId, 2);
  assert.equal(p.ttl, 57);
  assert.equal(p.proto, 17);
  assert.equal(p.l4Off, 40);
  assert.equal(p.srcPort, 53);
  assert.equal(p.dstPort, 53000);
  assert.equal(p.data.length, 40 + payload.length);
  assert.equal(p.ipLen, 40 + payload.length);
  const ip = ok(decodeIpv6(p.data, 0));
  assert.equal(ip.payloadLength, payload.length);
  assert.equal(ip.nextHeader, 17);
  assert.equal(formatIPv6(p.data, p.srcOff), '2620:119:35::35');
  assert.deepEqual([...p.data.subarray(40)], payload);
  assert.deepEqual(an.list(), []);
});

test('fragments: a held fragment still shows its outer IP on decoder.last', () => {
  const frames = fragment6(bigUdp(3000), 1432, 9);
  const d = new FrameDecoder(new AnomalySink());
  assert.equal(d.decode(frame(frames[0], 1)), null);
  assert.equal(d.lastHeld, true);
  assert.equal(d.last.ipVersion, 6);
  assert.equal(d.last.ipId, 9);
  assert.equal(formatIPv6(d.last.data, d.last.srcOff), '2620:119:35::35');
});

test('fragments: IPv4 and IPv6 with the same addresses and id are different datagrams; so are different protocols', () => {
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  const udpFr = fragment4(bigUdp(), 1480, 5, { proto: 17 });
  const icmpFr = fragment4(bigUdp(), 1480, 5, { proto: 1 });
  const got = run([udpFr[0], icmpFr[0], udpFr[1], icmpFr[1], udpFr[2], icmpFr[2]], d);
  assert.equal(got[4]!.proto, 17);
  assert.equal(got[5]!.proto, 1);
  assert.deepEqual(an.list(), []);
});
