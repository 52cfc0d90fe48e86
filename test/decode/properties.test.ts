// Property tests (conventions.md rule 12): every prefix and every random mutation of valid
// frames gives a Packet (or null) and at most a typed DecodeError -- never a throw, never an
// offset outside the data -- and the same result when the frame lies inside a larger buffer
// (as the file readers hand frames out), with the bytes a cut removed right behind it. fast-check runs a fixed number of times from a fixed seed, so a
// failure reproduces; shrunk failures are kept in test/regressions/ as hex.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AnomalySink } from '../../src/errors.js';
import { FrameDecoder } from '../../src/decode/walk.js';
import { decodeEthernet } from '../../src/decode/ethernet.js';
import { decodeVlan } from '../../src/decode/vlan.js';
import { decodeSll } from '../../src/decode/sll.js';
import { decodeSll2 } from '../../src/decode/sll2.js';
import { decodeNull } from '../../src/decode/null.js';
import { decodePppoe } from '../../src/decode/pppoe.js';
import { decodeIpv4, ipv4HeaderLenIfValid } from '../../src/decode/ipv4.js';
import { decodeIpv6, decodeIpv6ExtChain, decodeIpv6Fragment } from '../../src/decode/ipv6.js';
import { decodeTcp, decodeTcpOptions, parseTcpOptions, tcpHeaderLenIfValid } from '../../src/decode/tcp.js';
import { decodeUdp, udpLengthIfValid } from '../../src/decode/udp.js';
import { decodeIcmp, decodeQuotedPacket } from '../../src/decode/icmp.js';
import { isDecodeError } from '../../src/decode/bounds.js';
import type { LenSource } from '../../src/errors.js';
import {
  assertDecodeError, assertPacketSane, assertSameDecode, dnsQuery, ether, etherTagged, ext6, frag6, frame, frameInChunk,
  icmp, ipv4, ipv6, tcp, u16, udp, MAC_A,
} from './helpers.js';

const SEED = 20240611;

interface Sample {
  name: string;
  linkType: number;
  /** frames fed in order into one decoder (fragments); the last one is the one cut / mutated by default */
  frames: Buffer[];
}

function fragments4(payload: number[], size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += size) {
    out.push(ether(0x0800, ipv4(payload.slice(off, off + size), { id: 77, proto: 17, mf: off + size < payload.length, fragOffset: off })));
  }
  return out;
}

function fragments6(payload: number[], size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += size) {
    out.push(ether(0x86dd, ipv6([...frag6(17, off, off + size < payload.length, 99), ...payload.slice(off, off + size)], { next: 44 })));
  }
  return out;
}

const DNS_BIG = udp([...dnsQuery(0x1111), ...new Array(300).fill(7)], 53, 40000);
const QUOTED4 = ipv4(udp(dnsQuery(0xbeef), 53000, 443), { proto: 17, dst: '208.67.222.222' }).slice(0, 38);
const QUOTED6 = ipv6([...ext6(17), ...udp(dnsQuery(0x0102), 53001, 53)], { next: 60, dst: '2620:119:35::35' });
const SYN_OPTS = [0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x03, 0x03, 0x07];

const SAMPLES: Sample[] = [
  { name: 'ethernet/ipv4/tcp-syn', linkType: 1, frames: [ether(0x0800, ipv4(tcp([], { options: SYN_OPTS }), { df: true, options: [1, 1, 1, 0] }))] },
  { name: 'vlan/ipv4/udp-dns', linkType: 1, frames: [etherTagged([[0x8100, 10]], 0x0800, ipv4(udp(dnsQuery(5)), { proto: 17 }))] },
  { name: 'qinq/ipv6/udp', linkType: 1, frames: [etherTagged([[0x88a8, 1], [0x8100, 2]], 0x86dd, ipv6(udp([1, 2, 3]), { next: 17 }))] },
  { name: 'ethernet/ipv6-ext/tcp', linkType: 1, frames: [ether(0x86dd, ipv6([...ext6(43), ...ext6(51, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).map((b, i) => (i === 0 ? 60 : b)), ...ext6(6), ...tcp([1, 2, 3], { flags: 0x18 })], { next: 0 }))] },
  { name: 'ethernet/ipv4/icmp-unreachable-quote', linkType: 1, frames: [ether(0x0800, ipv4(icmp(3, 3, [0, 0, 0, 0], QUOTED4), { proto: 1 }))] },
  { name: 'ethernet/ipv6/icmpv6-unreachable-quote', linkType: 1, frames: [ether(0x86dd, ipv6(icmp(1, 4, [0, 0, 0, 0], QUOTED6), { next: 58 }))] },
  { name: 'ipv4 fragments', linkType: 1, frames: fragments4(DNS_BIG, 128) },
  { name: 'ipv6 fragments', linkType: 1, frames: fragments6(DNS_BIG, 136) },
  { name: 'pppoe/ipv4/tcp', linkType: 1, frames: [ether(0x8864, [0x11, 0, 0, 1, ...u16(2 + 40), 0, 0x21, ...ipv4(tcp())])] },
  { name: 'sll/ipv4/udp', linkType: 113, frames: [Buffer.from([0, 0, 0, 1, 0, 6, ...MAC_A, 0, 0, 8, 0, ...ipv4(udp([9]), { proto: 17 })])] },
  { name: 'sll2/ipv6/tcp', linkType: 276, frames: [Buffer.from([0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, ...MAC_A, 0, 0, ...ipv6(tcp(), { next: 6 })])] },
  { name: 'null/ipv4/tcp', linkType: 0, frames: [Buffer.from([2, 0, 0, 0, ...ipv4(tcp())])] },
  { name: 'raw/ipv6/udp', linkType: 101, frames: [Buffer.from(ipv6(udp([1, 2]), { next: 17 }))] },
];

const PRE = 10;

/**
 * Feed a sample's frames (the last one replaced by `last`, with `origLen`) into a fresh
 * decoder. A second decoder gets the same frames as the file readers hand them out: inside a
 * larger buffer, followed by the bytes a cut took away (then junk), so that reading past the
 * frame's end would show. Both must agree on everything (offsets shifted).
 */
function feed(s: Sample, last: Buffer, origLen: number, mutateIndex = s.frames.length - 1) {
  const anomalies = new AnomalySink();
  const d = new FrameDecoder(anomalies);
  const anomalies2 = new AnomalySink();
  const d2 = new FrameDecoder(anomalies2);
  const results = [];
  for (let i = 0; i < s.frames.length; i++) {
    const data = i === mutateIndex ? last : s.frames[i];
    const ol = i === mutateIndex ? origLen : data.length;
    const opts = { frameNo: i + 1, tsSec: 1_700_000_000 + i, origLen: ol };
    const p = d.decode(frame(data, s.linkType, opts));
    if (p !== null) assertPacketSane(p);
    if (d.lastStop !== null) assertDecodeError(d.lastStop, data.length);
    const after = Buffer.concat([s.frames[i].subarray(Math.min(data.length, s.frames[i].length)), Buffer.alloc(32, 0x45)]);
    const p2 = d2.decode(frameInChunk(data, s.linkType, opts, PRE, after));
    const what = `${s.name} frame ${i + 1} in a chunk`;
    assert.equal(p2 === null, p === null, what);
    if (p2 !== null) assertPacketSane(p2, PRE, PRE + data.length);
    assertSameDecode(d.last, d2.last, PRE, what);
    assert.deepEqual(d2.lastStop, d.lastStop, what);
    assert.equal(d2.lastHeld, d.lastHeld, what);
    results.push(p);
  }
  assert.deepEqual(anomalies2.list(), anomalies.list(), `${s.name}: anomalies of the frames in a chunk`);
  assert.equal(d2.snaplenTruncatedFrames, d.snaplenTruncatedFrames);
  return { anomalies, d, results };
}

test('properties: the samples themselves decode cleanly (sanity for the properties below)', () => {
  for (const s of SAMPLES) {
    const { anomalies, results, d } = feed(s, s.frames[s.frames.length - 1], s.frames[s.frames.length - 1].length);
    assert.deepEqual(anomalies.list(), [], s.name);
    const p = results[results.length - 1];
    assert.ok(p, s.name);
    assert.equal(d.lastStop, null, s.name);
  }
});

test('properties: every prefix of every sample decodes without a throw, and a snap-length cut is never an anomaly', () => {
  for (const s of SAMPLES) {
    const full = s.frames[s.frames.length - 1];
    for (let len = 0; len < full.length; len++) {
      const { anomalies, d } = feed(s, full.subarray(0, len), full.length);
      assert.deepEqual(anomalies.list(), [], `${s.name} cut at ${len}`);
      assert.equal(d.snaplenTruncatedFrames, 1);
      const st = d.lastStop;
      if (st !== null) assert.equal(st.code === 'LEN' && 'lenSource' in st ? st.lenSource : st.code, 'capture', `${s.name} cut at ${len}`);
    }
  }
});

test('properties: every prefix presented as a whole frame (capLen = origLen) is damage at most once per frame', () => {
  for (const s of SAMPLES) {
    const full = s.frames[s.frames.length - 1];
    for (let len = 0; len < full.length; len++) {
      const { anomalies } = feed(s, full.subarray(0, len), len);
      const decodeAnomalies = anomalies.list().filter((a) => a.layer !== 'fragment');
      assert.ok(decodeAnomalies.reduce((n, a) => n + a.count, 0) <= 1, `${s.name} cut at ${len}: ${JSON.stringify(decodeAnomalies)}`);
    }
  }
});

test('properties: random mutations of valid frames give a Packet or a typed error, never a throw', () => {
  const arb = fc.record({
    sample: fc.integer({ min: 0, max: SAMPLES.length - 1 }),
    which: fc.nat(),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    extra: fc.uint8Array({ maxLength: 16 }),
  });
  fc.assert(fc.property(arb, ({ sample, which, edits, cut, extra }) => {
    const s = SAMPLES[sample];
    const idx = which % s.frames.length;
    let b = Buffer.concat([s.frames[idx], Buffer.from(extra)]);
    for (const [pos, val] of edits) b[pos % b.length] = val;
    if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
    feed(s, b, b.length, idx);
  }), { seed: SEED, numRuns: 4000 });
});

test('properties: random bytes under every link type never throw', () => {
  const arb = fc.tuple(fc.constantFrom(0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 239), fc.uint8Array({ maxLength: 160 }), fc.nat());
  fc.assert(fc.property(arb, ([lt, bytes, slack]) => {
    const an = new AnomalySink();
    const d = new FrameDecoder(an);
    const data = Buffer.from(bytes);
    const opts = { origLen: data.length + (slack % 3) };
    const p = d.decode(frame(data, lt, opts));
    if (p !== null) assertPacketSane(p);
    if (d.lastStop !== null) assertDecodeError(d.lastStop, data.length);
    // the same bytes inside a chunk, followed by more random bytes
    const an2 = new AnomalySink();
    const d2 = new FrameDecoder(an2);
    const p2 = d2.decode(frameInChunk(data, lt, opts, PRE, Buffer.from(bytes).reverse()));
    assert.equal(p2 === null, p === null);
    assertSameDecode(d.last, d2.last, PRE, `link type ${lt}`);
    assert.deepEqual(an2.list(), an.list());
  }), { seed: SEED + 1, numRuns: 3000 });
});

test('properties: random fragment streams keep reassembly within its bounds and never throw', () => {
  const piece = fc.record({
    v6: fc.boolean(),
    id: fc.integer({ min: 0, max: 3 }),
    off: fc.integer({ min: 0, max: 8200 }).map((x) => x & ~7),
    len: fc.integer({ min: 0, max: 1500 }),
    more: fc.boolean(),
    dt: fc.integer({ min: 0, max: 20_000 }),
  });
  fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
    const an = new AnomalySink();
    const d = new FrameDecoder(an, { maxFragDatagrams: 3, maxFragBytes: 6000, fragTimeoutMs: 30_000 });
    let ms = 0;
    pieces.forEach((x, i) => {
      ms += x.dt;
      const body = new Array(x.len).fill(i & 0xff);
      const f = x.v6
        ? ether(0x86dd, ipv6([...frag6(17, x.off, x.more, x.id), ...body], { next: 44 }))
        : ether(0x0800, ipv4(body, { id: x.id, proto: 17, mf: x.more, fragOffset: x.off }));
      const p = d.decode(frame(f, 1, { frameNo: i + 1, tsSec: Math.floor(ms / 1000), tsNsec: (ms % 1000) * 1e6 }));
      if (p !== null) {
        assertPacketSane(p);
        // offset 0 without MF is no fragment at all (IPv6: an atomic fragment)
        assert.equal(p.reassembled, x.off !== 0 || x.more);
      }
      const st = d.fragmentStats;
      assert.ok(st.datagrams <= 3 && st.bytes <= 6000, JSON.stringify(st));
    });
  }), { seed: SEED + 2, numRuns: 1500 });
});

// Every decoder, straight: random bytes at a random offset with a random enclosing limit.
type Dec = (b: Buffer, off: number, end: number, src: LenSource) => object;
const DECODERS: Array<[string, Dec]> = [
  ['ethernet', decodeEthernet], ['vlan', decodeVlan], ['sll', decodeSll], ['sll2', decodeSll2], ['null', decodeNull],
  ['pppoe', decodePppoe], ['ipv4', decodeIpv4], ['ipv6', decodeIpv6], ['ipv6-frag', decodeIpv6Fragment],
  ['ipv6-ext', (b, o, e, s) => decodeIpv6ExtChain(b, o, b.length > o ? b[o] % 64 : 0, e, s)],
  ['tcp', decodeTcp], ['udp', (b, o, e, s) => decodeUdp(b, o, e, s, (o & 1) === 1)],
  ['icmp', (b, o, e, s) => decodeIcmp(b, o, e, s, (o & 1) === 1)],
  ['quoted', (b, o, e, s) => decodeQuotedPacket(b, o, e, s, (o & 1) === 1)],
  ['tcp-options', (b, o) => decodeTcpOptions(b, o, 20 + ((b[o] ?? 0) % 41))],
  ['tcp-options-lax', (b, o) => parseTcpOptions(b, o, 20 + ((b[o] ?? 0) % 41))],
];

function assertViewReadable(v: object, name: string): void {
  // every getter of the view must read inside the buffer: a number, never NaN / undefined
  let proto = Object.getPrototypeOf(v);
  while (proto && proto !== Object.prototype) {
    for (const [k, desc] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (typeof desc.get !== 'function') continue;
      const val = (v as Record<string, unknown>)[k];
      assert.ok(typeof val === 'boolean' || (typeof val === 'number' && Number.isFinite(val)), `${name}.${k} = ${String(val)}`);
    }
    proto = Object.getPrototypeOf(proto);
  }
}

test('properties: every decoder returns a readable view or a typed error for any bytes, offset and limit', () => {
  const arb = fc.tuple(fc.integer({ min: 0, max: DECODERS.length - 1 }), fc.uint8Array({ maxLength: 96 }), fc.nat(), fc.nat(),
    fc.constantFrom<LenSource>('capture', 'ipv4.totalLen', 'ipv6.payloadLen', 'pppoe.len'));
  fc.assert(fc.property(arb, ([i, bytes, o, e, src]) => {
    const b = Buffer.from(bytes);
    const off = o % (b.length + 2);
    const end = off + (e % (b.length + 8));
    const [name, dec] = DECODERS[i];
    const r = dec(b, off, end, src);
    if (isDecodeError(r)) assertDecodeError(r, b.length + 2);
    else if (name === 'quoted' || name.startsWith('tcp-options')) assert.equal(typeof r, 'object');
    else assertViewReadable(r, name);
  }), { seed: SEED + 3, numRuns: 6000 });
});

test('properties: the walker\'s non-allocating validity tests agree with the decoders', () => {
  const arb = fc.tuple(fc.uint8Array({ maxLength: 72 }), fc.nat(), fc.nat(), fc.boolean());
  fc.assert(fc.property(arb, ([bytes, o, e, v6]) => {
    const b = Buffer.from(bytes);
    // bias toward plausible headers so that both outcomes are common
    if (b.length > 0 && (o & 1) === 0) b[0] = 0x45 + (b[0] & 3);
    if (b.length > 12 && (o & 2) === 0) b[12] = 0x50 + (b[12] & 0x30);
    const off = o % (b.length + 1);
    const end = off + (e % (b.length + 4));
    const lim = Math.min(end, b.length);
    const ip = decodeIpv4(b, off, end);
    const hl = ipv4HeaderLenIfValid(b, off, lim);
    assert.equal(hl >= 0, !isDecodeError(ip));
    if (!isDecodeError(ip)) assert.equal(hl, ip.headerLen);
    const t = decodeTcp(b, off, end);
    const th = tcpHeaderLenIfValid(b, off, lim);
    assert.equal(th >= 0, !isDecodeError(t));
    if (!isDecodeError(t)) assert.equal(th, t.headerLen);
    const u = decodeUdp(b, off, end, 'capture', v6);
    const ul = udpLengthIfValid(b, off, lim, v6);
    assert.equal(ul >= 0, !isDecodeError(u));
    if (!isDecodeError(u)) assert.equal(ul, u.length);
  }), { seed: SEED + 4, numRuns: 6000 });
});
