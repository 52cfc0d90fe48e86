// Test helpers for the decoders: annotated hex, embedding at an offset, frames, and small
// packet builders (lengths filled in, checksums right) for walker and property tests.

import assert from 'node:assert/strict';
import type { Frame } from '../../src/source/types.js';
import type { DecodeError, LenSource } from '../../src/errors.js';
import type { Packet } from '../../src/decode/packet.js';

/**
 * Hex with annotations: `#` starts a comment that runs to the end of the line; an offset
 * column like `0x0010:` (tcpdump -XX) is dropped; everything else must be hex digits and
 * whitespace.
 */
export function hex(text: string): Buffer {
  const digits = text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').replace(/^\s*0x[0-9a-f]+:/i, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}

export interface Embedded {
  buf: Buffer;
  off: number;
  end: number;
}

/**
 * `b` placed at offset `pre` inside a larger buffer (junk before and after). Decoders get
 * `end` so the trailing junk is out of bounds, as it is for a header inside a frame.
 */
export function embed(b: Uint8Array, pre = 10, post = 7): Embedded {
  const buf = Buffer.alloc(pre + b.length + post, 0xa5);
  buf.set(b, pre);
  return { buf, off: pre, end: pre + b.length };
}

/** Both placements every decoder test runs at: offset 0 (buffer = bytes) and offset 10 inside a larger buffer. */
export function placements(b: Uint8Array): Array<{ name: string } & Embedded> {
  return [
    { name: 'offset 0', buf: Buffer.from(b), off: 0, end: b.length },
    { name: 'offset 10', ...embed(b, 10, 7) },
  ];
}

/** A frame whose bytes are a Buffer of their own (`buf` = `data`, `off` 0). */
export function frame(data: Uint8Array, linkType = 1, opts: Partial<Omit<Frame, 'buf' | 'off' | 'data'>> = {}): Frame {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return {
    frameNo: 1, tsSec: 1_700_000_000, tsNsec: 0, linkType, buf, off: 0, data: buf,
    capLen: buf.length, origLen: buf.length, ifIndex: 0, ...opts,
  };
}

/**
 * The same frame as the file readers hand it out: its bytes at `pre` inside a larger buffer
 * (a chunk), with `before` in front and `after` behind (other records; by default junk).
 * Decoding it must give what `frame(data)` gives, offsets shifted by `pre`.
 */
export function frameInChunk(data: Uint8Array, linkType = 1, opts: Partial<Omit<Frame, 'buf' | 'off' | 'data'>> = {},
  pre = 10, after: Uint8Array = Buffer.alloc(64, 0xff)): Frame {
  const buf = Buffer.alloc(pre + data.length + after.length, 0xa5);
  buf.set(data, pre);
  buf.set(after, pre + data.length);
  const f = {
    frameNo: 1, tsSec: 1_700_000_000, tsNsec: 0, linkType, buf, off: pre,
    capLen: data.length, origLen: data.length, ifIndex: 0, ...opts,
    get data(): Buffer { return buf.subarray(pre, pre + data.length); },
  };
  return f;
}

export function assertLen(e: unknown, layer: string, required: number, available: number, lenSource: LenSource, offset = 0): void {
  assert.deepEqual(e, { code: 'LEN', layer, required, available, lenSource, offset });
}

export function assertContent(e: unknown, code: string, layer: string, field: string, value: number | string, offset: number): void {
  assert.deepEqual(e, { code, layer, field, value, offset });
}

/** Throws unless `x` is not a DecodeError; returns it typed. */
export function ok<T extends object>(x: T | DecodeError): T {
  if (typeof (x as { code?: unknown }).code === 'string') {
    throw new assert.AssertionError({ message: `expected a view, got ${JSON.stringify(x)}` });
  }
  return x as T;
}

// ---------------------------------------------------------------------------------------
// Builders. Addresses are given as byte arrays or text.

export function ip4(text: string): number[] {
  return text.split('.').map(Number);
}

export function ip6(text: string): number[] {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

function u16(n: number): number[] { return [(n >> 8) & 0xff, n & 0xff]; }
function u32(n: number): number[] { return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]; }

function checksum(bytes: number[] | Uint8Array, init = 0): number {
  let sum = init;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return (~sum) & 0xffff;
}

export const MAC_A = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
export const MAC_B = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];

export function ether(type: number, payload: number[] | Uint8Array, dst = MAC_B, src = MAC_A): Buffer {
  return Buffer.from([...dst, ...src, ...u16(type), ...payload]);
}

export function vlanTag(tpid: number, vid: number, pcp = 0): number[] {
  return [...u16(tpid), ...u16((pcp << 13) | vid)];
}

/** Ethernet with tags: tags = [[tpid, vid], ...] outermost first. */
export function etherTagged(tags: Array<[number, number]>, type: number, payload: number[] | Uint8Array): Buffer {
  const head = tags.flatMap(([tpid, vid]) => vlanTag(tpid, vid));
  // first tag's TPID takes the EtherType position
  const bytes = [...MAC_B, ...MAC_A, ...head, ...u16(type), ...payload];
  return Buffer.from(bytes);
}

export interface Ipv4Opts {
  src?: string; dst?: string; proto?: number; ttl?: number; id?: number;
  df?: boolean; mf?: boolean; fragOffset?: number; options?: number[]; totalLen?: number;
}

export function ipv4(payload: number[] | Uint8Array, o: Ipv4Opts = {}): number[] {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const total = o.totalLen ?? hl + payload.length;
  const flags = (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3);
  const h = [
    0x40 | (hl / 4), 0, ...u16(total), ...u16(o.id ?? 0x1234), ...u16(flags), o.ttl ?? 64, o.proto ?? 6, 0, 0,
    ...ip4(o.src ?? '10.0.0.1'), ...ip4(o.dst ?? '10.0.0.2'), ...opts,
  ];
  const c = checksum(h);
  h[10] = c >> 8; h[11] = c & 0xff;
  return [...h, ...payload];
}

export interface Ipv6Opts {
  src?: string; dst?: string; next?: number; hop?: number; payloadLen?: number;
}

export function ipv6(payload: number[] | Uint8Array, o: Ipv6Opts = {}): number[] {
  return [
    0x60, 0, 0, 0, ...u16(o.payloadLen ?? payload.length), o.next ?? 6, o.hop ?? 64,
    ...ip6(o.src ?? '2001:db8::1'), ...ip6(o.dst ?? '2001:db8::2'), ...payload,
  ];
}

/** A generic IPv6 extension header (hop-by-hop, routing, destination options) padded to 8n bytes. */
export function ext6(next: number, body: number[] = []): number[] {
  const total = Math.max(8, Math.ceil((body.length + 2) / 8) * 8);
  const b = [next, total / 8 - 1, ...body];
  while (b.length < total) b.push(0);
  return b;
}

export function frag6(next: number, offset: number, more: boolean, id: number): number[] {
  return [next, 0, ...u16(offset | (more ? 1 : 0)), ...u32(id)];
}

export interface TcpOpts {
  sport?: number; dport?: number; seq?: number; ack?: number; flags?: number; window?: number; options?: number[];
}

export function tcp(payload: number[] | Uint8Array = [], o: TcpOpts = {}): number[] {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  if (hl % 4 !== 0) throw new Error('tcp options must pad to 4');
  return [
    ...u16(o.sport ?? 40000), ...u16(o.dport ?? 443), ...u32(o.seq ?? 1000), ...u32(o.ack ?? 0),
    (hl / 4) << 4, o.flags ?? 0x02, ...u16(o.window ?? 64240), 0, 0, 0, 0, ...opts, ...payload,
  ];
}

export function udp(payload: number[] | Uint8Array = [], sport = 53000, dport = 53, len?: number): number[] {
  return [...u16(sport), ...u16(dport), ...u16(len ?? 8 + payload.length), 0, 0, ...payload];
}

export function icmp(type: number, code: number, rest: number[], payload: number[] | Uint8Array = []): number[] {
  const b = [type, code, 0, 0, ...rest, ...payload];
  const c = checksum(b);
  b[2] = c >> 8; b[3] = c & 0xff;
  return b;
}

/** A DNS query message for `name` (type TXT by default) with transaction id `id`. */
export function dnsQuery(id: number, name = 'debug.opendns.com', qtype = 16): number[] {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l, 'ascii')]);
  return [...u16(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, ...u16(qtype), 0, 1];
}

export { u16, u32 };

// ---------------------------------------------------------------------------------------
// Invariants every decode result must keep, whatever the input (property and regression tests)

const LAYERS = new Set([
  'capture', 'pcap', 'pcapng', 'gzip', 'zstd', 'link', 'ethernet', 'vlan', 'sll', 'sll2', 'null', 'pppoe',
  'ipv4', 'ipv6', 'ipv6-ext', 'fragment', 'tcp', 'udp', 'icmp', 'icmpv6', 'dns', 'tls', 'http', 'flow', 'live',
]);

/** A typed DecodeError: one of the two shapes, a known layer, sane numbers. */
export function assertDecodeError(e: unknown, dataLen: number): void {
  assert.ok(e !== null && typeof e === 'object', 'error is an object');
  const x = e as Record<string, unknown>;
  assert.equal(typeof x.code, 'string');
  assert.ok(LAYERS.has(x.layer as string), `layer ${String(x.layer)}`);
  assert.ok(Number.isInteger(x.offset) && (x.offset as number) >= 0 && (x.offset as number) <= dataLen,
    `offset ${String(x.offset)} within 0..${dataLen}`);
  if (x.code === 'LEN') {
    assert.deepEqual(Object.keys(x).sort(), ['available', 'code', 'layer', 'lenSource', 'offset', 'required']);
    assert.ok(Number.isInteger(x.required) && Number.isInteger(x.available));
    assert.ok((x.available as number) >= 0 && (x.required as number) > (x.available as number), `required ${String(x.required)} > available ${String(x.available)}`);
  } else {
    assert.deepEqual(Object.keys(x).sort(), ['code', 'field', 'layer', 'offset', 'value']);
    assert.match(x.code as string, /^[A-Z0-9_]+$/);
  }
}

function inRange(v: number, lo: number, hi: number, what: string): void {
  assert.ok(Number.isInteger(v) && v >= lo && v <= hi, `${what} = ${v} not in ${lo}..${hi}`);
}

/** Every offset of a Packet lies inside its data; every field has a sane value. */
/**
 * Invariants of a handed-on Packet. `lo`/`hi`: where the frame's bytes lie in `p.data` (a
 * frame inside a chunk: [frame.off, frame.off + capLen); default all of `data`, as for a
 * frame of its own or a reassembled datagram). Every offset stays inside them.
 */
export function assertPacketSane(p: Packet, lo = 0, hi = p.data.length): void {
  if (p.reassembled) { lo = 0; hi = p.data.length; }
  const n = hi;
  assert.ok(Buffer.isBuffer(p.data));
  if (p.stop !== null) assertDecodeError(p.stop, hi - lo);
  assert.ok(p.ipVersion === 4 || p.ipVersion === 6, 'a handed-on packet has an IP layer');
  const alen = p.ipVersion === 4 ? 4 : 16;
  inRange(p.ipOff, lo, n, 'ipOff');
  inRange(p.srcOff, p.ipOff, n - alen, 'srcOff');
  inRange(p.dstOff, p.ipOff, n - alen, 'dstOff');
  inRange(p.ttl, 0, 255, 'ttl');
  inRange(p.ipId, -1, 0xffffffff, 'ipId');
  inRange(p.ipLen, 0, Number.MAX_SAFE_INTEGER, 'ipLen');
  for (const v of p.vlans) inRange(v, 0, 4095, 'vlan');
  inRange(p.proto, -1, 255, 'proto');
  if (p.proto >= 0) {
    inRange(p.l4Off, p.ipOff, n, 'l4Off');
    inRange(p.l4End, p.l4Off, n, 'l4End');
  }
  if (p.payloadOff >= 0) {
    inRange(p.payloadOff, p.l4Off, n, 'payloadOff');
    inRange(p.payloadEnd, p.payloadOff, n, 'payloadEnd');
  } else {
    assert.equal(p.payloadEnd, -1);
  }
  inRange(p.payloadLen, 0, Number.MAX_SAFE_INTEGER, 'payloadLen');
  inRange(p.srcPort, -1, 65535, 'srcPort');
  inRange(p.dstPort, -1, 65535, 'dstPort');
  inRange(p.tcpFlags, 0, 255, 'tcpFlags');
  inRange(p.seq, 0, 0xffffffff, 'seq');
  inRange(p.ack, 0, 0xffffffff, 'ack');
  inRange(p.window, 0, 65535, 'window');
  inRange(p.tcpHdrLen, 0, 60, 'tcpHdrLen');
  inRange(p.icmpType, -1, 255, 'icmpType');
  inRange(p.icmpCode, -1, 255, 'icmpCode');
  if (p.quoted !== null) {
    const q = p.quoted;
    assert.ok(q.ipVersion === 4 || q.ipVersion === 6);
    assert.equal(typeof q.src, 'string');
    assert.equal(typeof q.dst, 'string');
    inRange(q.proto, -1, 255, 'quoted.proto');
    inRange(q.srcPort, -1, 65535, 'quoted.srcPort');
    inRange(q.dnsId, -1, 65535, 'quoted.dnsId');
    inRange(q.tcpSeq, -1, 0xffffffff, 'quoted.tcpSeq');
  }
}

const OFFSET_FIELDS: ReadonlySet<string> = new Set(['ipOff', 'srcOff', 'dstOff', 'l4Off', 'l4End', 'payloadOff', 'payloadEnd']);

/**
 * `b` is what a decoder made of the frame `a` came from, laid `shift` bytes into a larger
 * buffer (frameInChunk): every field the same, offsets shifted (-1 stays -1; a reassembled
 * datagram is a buffer of its own, unshifted), the same bytes at them, the stop offset
 * unchanged (it counts from the frame's first byte).
 */
export function assertSameDecode(a: Packet, b: Packet, shift: number, what: string): void {
  const s = a.reassembled ? 0 : shift;
  for (const k of Object.keys(a) as (keyof Packet)[]) {
    if (k === 'data') continue;
    const va = a[k];
    if (OFFSET_FIELDS.has(k)) assert.equal(b[k], (va as number) < 0 ? va : (va as number) + s, `${what}: ${k}`);
    else assert.deepEqual(b[k], va, `${what}: ${k}`);
  }
  if (a.reassembled) assert.ok(b.data.equals(a.data), `${what}: reassembled bytes`);
  else assert.ok(b.data.subarray(shift, shift + a.data.length).equals(a.data), `${what}: frame bytes`);
}
