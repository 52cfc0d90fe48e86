// ICMP (RFC 792) and ICMPv6 (RFC 4443) headers, and the offending packet that error
// messages quote.
//
//   0      1      2         4                      8
//   +------+------+---------+----------------------+----------------------------------
//   | type | code | checksum| rest of header       | data: for errors, the quoted packet
//   +------+------+---------+----------------------+----------------------------------
//
// Errors that quote (icmp-names.ts icmpQuotesPacket): ICMP destination unreachable (3),
// source quench (4), redirect (5), time exceeded (11), parameter problem (12); ICMPv6
// destination unreachable (1), packet too big (2), time exceeded (3), parameter problem (4).
// The quote is the offending packet's IP header followed by at least 8 bytes of it (ICMPv4;
// ICMPv6 quotes as much as fits in 1280 bytes). Its own length fields describe the original
// packet, not the quote, and are ignored: the quote ends where the ICMP message ends.

import type { QuotedPacket } from './packet.js';
import { contentError, lenError, type DecodeError, type Layer, type LenSource } from '../errors.js';
import { formatIPv4, formatIPv6 } from './addr.js';
import { limitSource, readableEnd } from './bounds.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './packet.js';
import { decodeIpv6ExtChain, IPV6_HEADER_LEN } from './ipv6.js';
import { isDecodeError } from './bounds.js';
import { icmpQuotesPacket } from './icmp-names.js';

export const ICMP_HEADER_LEN = 8;

export class IcmpView {
  constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly v6: boolean,
    readonly claimedEnd: number,
    readonly payloadEnd: number,
  ) {}
  get headerLen(): number { return ICMP_HEADER_LEN; }
  get type(): number { return this.buf[this.off]; }
  get code(): number { return this.buf[this.off + 1]; }
  get checksum(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  /** echo request / reply identifier (bytes 4-5) */
  get echoId(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  get echoSeq(): number { return (this.buf[this.off + 6] << 8) | this.buf[this.off + 7]; }
  /** ICMPv4 fragmentation needed (3/4) / ICMPv6 packet too big: the next-hop MTU */
  get mtu(): number {
    const b = this.buf, o = this.off;
    return this.v6 ? ((b[o + 4] << 24) >>> 0) + ((b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) : (b[o + 6] << 8) | b[o + 7];
  }
  /** true for error messages that carry the offending packet at payloadStart */
  get quotesPacket(): boolean { return icmpQuotesPacket(this.type, this.v6); }
  get payloadStart(): number { return this.off + ICMP_HEADER_LEN; }
}

export function decodeIcmp(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture', v6 = false): IcmpView | DecodeError {
  const lim = readableEnd(buf, end);
  const avail = lim - off;
  if (avail < ICMP_HEADER_LEN) {
    return lenError(v6 ? 'icmpv6' : 'icmp', ICMP_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  }
  return new IcmpView(buf, off, v6, end, end < lim ? end : lim);
}

/**
 * Decode the packet quoted inside an ICMP error: the bytes [off, end) (end = end of the ICMP
 * message). `v6` says which ICMP carries it (ICMPv6 quotes IPv6, ICMP quotes IPv4; the
 * version nibble must agree). Ports need 4 quoted transport bytes, the TCP sequence 8, the
 * DNS id 10 (UDP header + 2). A non-first IPv4 fragment has no transport header to show.
 * Errors are relative to `off`; a quote shorter than the IP header is a LenError with
 * lenSource 'icmp.quoted' (or 'capture' when the captured bytes ran out first).
 */
export function decodeQuotedPacket(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'icmp.quoted', v6 = false): QuotedPacket | DecodeError {
  const layer: Layer = v6 ? 'icmpv6' : 'icmp';
  const lim = readableEnd(buf, end);
  const avail = lim - off;
  const need = v6 ? IPV6_HEADER_LEN : 20;
  if (avail < 1) return lenError(layer, need, 0, limitSource(buf, end, endSource));
  const ver = buf[off] >> 4;
  if (ver !== (v6 ? 6 : 4)) {
    return contentError(v6 ? 'ICMPV6_QUOTED_BAD_VERSION' : 'ICMP_QUOTED_BAD_VERSION', layer, 'quoted.version', ver, 0);
  }
  let hdrLen = need;
  if (!v6) {
    hdrLen = (buf[off] & 0x0f) * 4;
    if (hdrLen < 20) return contentError('ICMP_QUOTED_BAD_HEADER_LENGTH', layer, 'quoted.ihl', buf[off] & 0x0f, 0);
  }
  if (avail < hdrLen) return lenError(layer, hdrLen, avail, limitSource(buf, end, endSource));

  let proto: number;
  let l4 = off + hdrLen;
  let firstFragment = true;
  let src: string, dst: string, ttl: number;
  if (v6) {
    src = formatIPv6(buf, off + 8);
    dst = formatIPv6(buf, off + 24);
    ttl = buf[off + 7];
    const chain = decodeIpv6ExtChain(buf, l4, buf[off + 6], lim);
    if (isDecodeError(chain)) {
      proto = -1;
      firstFragment = false;
    } else {
      proto = chain.protocol;
      l4 = chain.payloadStart;
      if (chain.fragmentHeaderOff >= 0) {
        const fo = chain.fragmentHeaderOff;
        firstFragment = buf[fo + 2] === 0 && (buf[fo + 3] & 0xf8) === 0;
      }
    }
  } else {
    src = formatIPv4(buf, off + 12);
    dst = formatIPv4(buf, off + 16);
    ttl = buf[off + 8];
    proto = buf[off + 9];
    firstFragment = (buf[off + 6] & 0x1f) === 0 && buf[off + 7] === 0;
  }
  const q: QuotedPacket = {
    ipVersion: v6 ? 6 : 4, src, dst, proto, srcPort: -1, dstPort: -1, ttl, dnsId: -1, tcpSeq: -1,
  };
  const l4avail = lim - l4;
  if (firstFragment && (proto === IPPROTO_TCP || proto === IPPROTO_UDP) && l4avail >= 4) {
    q.srcPort = (buf[l4] << 8) | buf[l4 + 1];
    q.dstPort = (buf[l4 + 2] << 8) | buf[l4 + 3];
    if (proto === IPPROTO_TCP && l4avail >= 8) {
      q.tcpSeq = ((buf[l4 + 4] << 24) >>> 0) + ((buf[l4 + 5] << 16) | (buf[l4 + 6] << 8) | buf[l4 + 7]);
    } else if (proto === IPPROTO_UDP && l4avail >= 10) {
      q.dnsId = (buf[l4 + 8] << 8) | buf[l4 + 9];
    }
  }
  return q;
}
