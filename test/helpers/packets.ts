// Test helper: builds real IP packets (IPv4/IPv6 + TCP/UDP/ICMP bytes, checksums filled)
// and the `Packet` the decoder would hand over for them, with srcOff/dstOff/l4Off/payloadOff
// pointing into the bytes. Used by the flow tests (and anyone who needs Packets without a
// capture file). Times are given in ms since the epoch; frame numbers count from 1.
//
// Byte layout produced (no link layer; `data` starts at the IP header, ipOff = 0):
//   IPv4: 20-byte header (no options), TTL, proto, total length, checksum
//   IPv6: 40-byte header, next header = transport, hop limit
//   TCP:  20-byte header (no options): ports, seq, ack, data offset 5, flags, window
//   UDP:  8-byte header: ports, length
//   ICMP: 8-byte header (type, code, checksum, rest of header) + quoted IP packet for errors

import dnsPacket from 'dns-packet';
import type { Packet, QuotedPacket } from '../../src/decode/packet.js';
import { TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN } from '../../src/decode/packet.js';
import { formatAddr, parseIp } from '../../src/decode/addr.js';

export { TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN };

export interface L3Opts {
  src: string;
  dst: string;
  ttl?: number;
  /** ms since the epoch */
  ms: number;
  frameNo: number;
  ipId?: number;
}

export interface TcpOpts extends L3Opts {
  sport: number;
  dport: number;
  flags: number;
  seq?: number;
  ack?: number;
  window?: number;
  payload?: Uint8Array;
  /** capture only the first `snap` bytes of the IP packet (snap length) */
  snap?: number;
}

export interface UdpOpts extends L3Opts {
  sport: number;
  dport: number;
  payload?: Uint8Array;
  snap?: number;
}

export interface IcmpOpts extends L3Opts {
  type: number;
  code: number;
  /** id/seq word for echo, unused for errors */
  rest?: number;
  /** for errors: the offending packet (its IP bytes are quoted, up to `quoteLen` bytes) */
  quote?: Packet;
  quoteLen?: number;
}

function ipBytes(text: string): Uint8Array {
  const b = parseIp(text);
  if (!b) throw new Error(`bad address ${text}`);
  return b;
}

function csum(buf: Uint8Array, off: number, len: number, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < len; i += 2) s += (buf[off + i] << 8) | buf[off + i + 1];
  if (len & 1) s += buf[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudoSum(src: Uint8Array, dst: Uint8Array, proto: number, l4len: number): number {
  let s = 0;
  const add = (b: Uint8Array) => { for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | b[i + 1]; };
  add(src); add(dst);
  s += proto;
  s += l4len & 0xffff;
  s += l4len >>> 16;
  return s;
}

/** Build IP header + transport bytes; returns the whole IP packet and offsets. */
function buildIp(o: L3Opts, proto: number, l4: Uint8Array, checksumAt: number | null): {
  data: Buffer; ipVersion: 4 | 6; srcOff: number; dstOff: number; l4Off: number; ipLen: number;
} {
  const src = ipBytes(o.src), dst = ipBytes(o.dst);
  if (src.length !== dst.length) throw new Error('mixed address families');
  const v6 = src.length === 16;
  const hl = v6 ? 40 : 20;
  const data = Buffer.alloc(hl + l4.length);
  if (!v6) {
    data[0] = 0x45;
    data.writeUInt16BE(20 + l4.length, 2);
    data.writeUInt16BE((o.ipId ?? o.frameNo) & 0xffff, 4);
    data[8] = o.ttl ?? 64;
    data[9] = proto;
    data.set(src, 12);
    data.set(dst, 16);
    data.writeUInt16BE((~csum(data, 0, 20)) & 0xffff, 10);
  } else {
    data[0] = 0x60;
    data.writeUInt16BE(l4.length, 4);
    data[6] = proto;
    data[7] = o.ttl ?? 64;
    data.set(src, 8);
    data.set(dst, 24);
  }
  data.set(l4, hl);
  if (checksumAt !== null) {
    const init = proto === 1 ? 0 : pseudoSum(src, dst, proto, l4.length);
    const c = (~csum(data, hl, l4.length, init)) & 0xffff;
    data.writeUInt16BE(proto === 17 && c === 0 ? 0xffff : c, hl + checksumAt);
  }
  return { data, ipVersion: v6 ? 6 : 4, srcOff: v6 ? 8 : 12, dstOff: v6 ? 24 : 16, l4Off: hl, ipLen: data.length };
}

function basePacket(o: L3Opts, b: ReturnType<typeof buildIp>, proto: number): Packet {
  const sec = Math.floor(o.ms / 1000);
  return {
    frameNo: o.frameNo,
    tsSec: sec,
    tsNsec: Math.round((o.ms - sec * 1000) * 1e6),
    data: b.data,
    snapTruncated: false,
    stop: null,
    vlans: [],
    ipVersion: b.ipVersion,
    ipOff: 0,
    srcOff: b.srcOff,
    dstOff: b.dstOff,
    ttl: o.ttl ?? 64,
    ipId: b.ipVersion === 4 ? (o.ipId ?? o.frameNo) & 0xffff : -1,
    reassembled: false,
    ipLen: b.ipLen,
    proto,
    l4Off: b.l4Off,
    l4End: b.data.length,
    srcPort: -1,
    dstPort: -1,
    tcpFlags: 0,
    seq: 0,
    ack: 0,
    window: 0,
    tcpHdrLen: 0,
    payloadOff: b.data.length,
    payloadEnd: b.data.length,
    payloadLen: 0,
    icmpType: -1,
    icmpCode: -1,
    quoted: null,
  };
}

/** Cut the packet's bytes to `snap` bytes as a snap length would (a copy). */
function applySnap(p: Packet, snap: number | undefined): Packet {
  if (snap === undefined || snap >= p.data.length) return p;
  p.data = Buffer.from(p.data.subarray(0, snap));
  p.snapTruncated = true;
  p.l4End = Math.min(p.l4End, snap);
  p.payloadOff = Math.min(p.payloadOff, snap);
  p.payloadEnd = Math.min(p.payloadEnd, snap);
  return p;
}

export function tcpPacket(o: TcpOpts): Packet {
  const payload = o.payload ?? new Uint8Array(0);
  const l4 = Buffer.alloc(20 + payload.length);
  l4.writeUInt16BE(o.sport, 0);
  l4.writeUInt16BE(o.dport, 2);
  l4.writeUInt32BE((o.seq ?? 0) >>> 0, 4);
  l4.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  l4[12] = 5 << 4;
  l4[13] = o.flags & 0xff;
  l4.writeUInt16BE(o.window ?? 65535, 14);
  l4.set(payload, 20);
  const b = buildIp(o, 6, l4, 16);
  const p = basePacket(o, b, 6);
  p.srcPort = o.sport;
  p.dstPort = o.dport;
  p.tcpFlags = o.flags & 0xff;
  p.seq = (o.seq ?? 0) >>> 0;
  p.ack = (o.ack ?? 0) >>> 0;
  p.window = o.window ?? 65535;
  p.tcpHdrLen = 20;
  p.payloadOff = b.l4Off + 20;
  p.payloadEnd = b.data.length;
  p.payloadLen = payload.length;
  return applySnap(p, o.snap);
}

export function udpPacket(o: UdpOpts): Packet {
  const payload = o.payload ?? new Uint8Array(0);
  const l4 = Buffer.alloc(8 + payload.length);
  l4.writeUInt16BE(o.sport, 0);
  l4.writeUInt16BE(o.dport, 2);
  l4.writeUInt16BE(8 + payload.length, 4);
  l4.set(payload, 8);
  const b = buildIp(o, 17, l4, 6);
  const p = basePacket(o, b, 17);
  p.srcPort = o.sport;
  p.dstPort = o.dport;
  p.payloadOff = b.l4Off + 8;
  p.payloadEnd = b.data.length;
  p.payloadLen = payload.length;
  return applySnap(p, o.snap);
}

/** ICMP (v4 or v6 by the address family). For errors, `quote` is the offending packet. */
export function icmpPacket(o: IcmpOpts): Packet {
  const v6 = o.src.includes(':');
  let quotedBytes: Uint8Array = new Uint8Array(0);
  let quoted: QuotedPacket | null = null;
  if (o.quote) {
    const q = o.quote;
    const n = Math.min(q.data.length, o.quoteLen ?? (v6 ? 1232 : 548));
    quotedBytes = q.data.subarray(q.ipOff, q.ipOff + n);
    const l4 = q.l4Off - q.ipOff;
    const havePorts = (q.proto === 6 || q.proto === 17) && n >= l4 + 4;
    const dnsOff = q.payloadOff - q.ipOff;
    quoted = {
      ipVersion: q.ipVersion as 4 | 6,
      src: formatAddr(q.data, q.srcOff, q.ipVersion as 4 | 6),
      dst: formatAddr(q.data, q.dstOff, q.ipVersion as 4 | 6),
      proto: q.proto,
      srcPort: havePorts ? q.srcPort : -1,
      dstPort: havePorts ? q.dstPort : -1,
      ttl: q.ttl,
      dnsId: q.proto === 17 && n >= dnsOff + 2 ? q.data.readUInt16BE(q.payloadOff) : -1,
      tcpSeq: q.proto === 6 && n >= l4 + 8 ? q.seq : -1,
    };
  }
  const l4 = Buffer.alloc(8 + quotedBytes.length);
  l4[0] = o.type;
  l4[1] = o.code;
  l4.writeUInt32BE((o.rest ?? 0) >>> 0, 4);
  l4.set(quotedBytes, 8);
  const proto = v6 ? 58 : 1;
  const b = buildIp(o, proto, l4, 2);
  const p = basePacket(o, b, proto);
  p.icmpType = o.type;
  p.icmpCode = o.code;
  p.quoted = quoted;
  p.payloadOff = b.l4Off + 8;
  p.payloadEnd = b.data.length;
  p.payloadLen = quotedBytes.length;
  return p;
}

// ---------------------------------------------------------------------------------------
// DNS messages

export interface DnsQueryOpts {
  id: number;
  name: string;
  type?: dnsPacket.RecordType;
  /** add an EDNS0 OPT record with this option code (e.g. 0x6942 Umbrella device id) */
  ednsOption?: number;
}

export function dnsQuery(o: DnsQueryOpts): Buffer {
  const pkt: dnsPacket.Packet = {
    type: 'query', id: o.id, flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: o.type ?? 'A', name: o.name, class: 'IN' }],
  };
  if (o.ednsOption !== undefined) {
    pkt.additionals = [{
      type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false,
      options: [{ code: o.ednsOption, data: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]) } as never],
    } as dnsPacket.Answer];
  }
  return dnsPacket.encode(pkt);
}

export interface DnsResponseOpts {
  id: number;
  name: string;
  type?: dnsPacket.RecordType;
  rcode?: number;          // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED ...
  answers?: dnsPacket.Answer[];
}

export function dnsResponse(o: DnsResponseOpts): Buffer {
  const buf = dnsPacket.encode({
    type: 'response', id: o.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: o.type ?? 'A', name: o.name, class: 'IN' }],
    answers: o.answers ?? [],
  });
  if (o.rcode) buf[3] = (buf[3] & 0xf0) | (o.rcode & 0x0f);
  return buf;
}

/** Two-byte length prefix (DNS over TCP). */
export function tcpFramed(...msgs: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of msgs) {
    const l = Buffer.alloc(2);
    l.writeUInt16BE(m.length, 0);
    parts.push(l, m);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------
// A tiny sequencer: frame numbers and time advance by themselves.

export class PacketSeq {
  frameNo = 0;
  constructor(public ms: number = Date.UTC(2024, 4, 1, 12, 0, 0)) {}

  /** advance time by `dt` ms and return the next frame's { frameNo, ms } */
  at(dt = 0): { frameNo: number; ms: number } {
    this.ms += dt;
    return { frameNo: ++this.frameNo, ms: this.ms };
  }

  tcp(dt: number, o: Omit<TcpOpts, 'frameNo' | 'ms'>): Packet {
    return tcpPacket({ ...o, ...this.at(dt) });
  }

  udp(dt: number, o: Omit<UdpOpts, 'frameNo' | 'ms'>): Packet {
    return udpPacket({ ...o, ...this.at(dt) });
  }

  icmp(dt: number, o: Omit<IcmpOpts, 'frameNo' | 'ms'>): Packet {
    return icmpPacket({ ...o, ...this.at(dt) });
  }
}
