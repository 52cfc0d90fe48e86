// IPv6 fixed header (RFC 8200) and the extension header chain.
//
//   0       1       2       3       4               6       7       8
//   +-------+-------+-------+-------+---------------+-------+-------+----------------
//   |ver| traffic class | flow label| payload length| next  | hop   | source (16) ...
//   +-------+-------+-------+-------+---------------+-------+-------+----------------
//   24                              40
//   | destination (16)              | extension headers ... | upper layer
//
// Extension headers in the generic layout (hop-by-hop 0, routing 43, destination options 60,
// mobility 135, HIP 139, shim6 140) are (next header, length in 8-octet units not counting
// the first 8) -- AH (51) counts 4-octet units not counting the first 2. The fragment header
// (44) is always 8 bytes:
//
//   0      1         2                   4
//   +------+---------+-------------------+-----------------+
//   | next | reserved| offset(13) res M  | identification  |
//   +------+---------+-------------------+-----------------+
//
// The chain walk stops at an upper-layer protocol, at ESP (50: the rest is encrypted) and at
// No Next Header (59), without error; at a fragment header other than an atomic one
// (offset 0, M clear, RFC 6946) it stops too and reports where the fragment header is, so
// the walker can reassemble. Payload length 0 (a jumbogram, RFC 2675, or an offloaded
// segment captured on the sender) makes the packet run to the enclosing limit.

import { contentError, lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';
import {
  IPPROTO_AH, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HIP, IPPROTO_HOPOPTS, IPPROTO_MOBILITY,
  IPPROTO_ROUTING, IPPROTO_SHIM6,
} from './ipprotos.js';

export const IPV6_HEADER_LEN = 40;
export const IPV6_FRAGMENT_HEADER_LEN = 8;
/**
 * longest extension chain followed. Real traffic has a handful; test traffic (libpcap's
 * ipv6_ext_headers.pcap) has about a hundred. The bytes bound the walk anyway (each header is
 * at least 8 of at most 65535); this only caps pathological chains.
 */
export const IPV6_MAX_EXT_HEADERS = 256;

export class Ipv6View {
  constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    /** 40 + payload length (jumbo / offload: up to the enclosing limit) */
    readonly totalLen: number,
    readonly claimedEnd: number,
    readonly payloadEnd: number,
  ) {}
  get headerLen(): number { return IPV6_HEADER_LEN; }
  get version(): number { return this.buf[this.off] >> 4; }
  get trafficClass(): number { return ((this.buf[this.off] & 0x0f) << 4) | (this.buf[this.off + 1] >> 4); }
  get flowLabel(): number {
    return ((this.buf[this.off + 1] & 0x0f) << 16) | (this.buf[this.off + 2] << 8) | this.buf[this.off + 3];
  }
  /** the payload length field as stored */
  get payloadLength(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  get nextHeader(): number { return this.buf[this.off + 6]; }
  get hopLimit(): number { return this.buf[this.off + 7]; }
  get srcOff(): number { return this.off + 8; }
  get dstOff(): number { return this.off + 24; }
  get payloadStart(): number { return this.off + IPV6_HEADER_LEN; }
  get clipped(): boolean { return this.payloadEnd < this.claimedEnd; }
}

export function decodeIpv6(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): Ipv6View | DecodeError {
  const lim = readableEnd(buf, end);
  const avail = lim - off;
  if (avail < IPV6_HEADER_LEN) {
    return lenError('ipv6', IPV6_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  }
  if (buf[off] >> 4 !== 6) return contentError('IPV6_BAD_VERSION', 'ipv6', 'version', buf[off] >> 4, 0);
  const plen = (buf[off + 4] << 8) | buf[off + 5];
  const totalLen = plen === 0 ? end - off : IPV6_HEADER_LEN + plen;
  const claimedEnd = off + totalLen;
  return new Ipv6View(buf, off, totalLen, claimedEnd, claimedEnd < lim ? claimedEnd : lim);
}

export class Ipv6FragmentView {
  constructor(readonly buf: Uint8Array, readonly off: number) {}
  get headerLen(): number { return IPV6_FRAGMENT_HEADER_LEN; }
  get nextHeader(): number { return this.buf[this.off]; }
  /** fragment offset in bytes */
  get fragmentOffset(): number { return (((this.buf[this.off + 2] << 8) | this.buf[this.off + 3]) >> 3) * 8; }
  get moreFragments(): boolean { return (this.buf[this.off + 3] & 1) !== 0; }
  get id(): number {
    const b = this.buf, o = this.off + 4;
    return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  }
  /** offset 0 and M clear: not really fragmented (RFC 6946) */
  get isAtomic(): boolean { return this.fragmentOffset === 0 && !this.moreFragments; }
  get payloadStart(): number { return this.off + IPV6_FRAGMENT_HEADER_LEN; }
}

export function decodeIpv6Fragment(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): Ipv6FragmentView | DecodeError {
  const avail = readableEnd(buf, end) - off;
  if (avail < IPV6_FRAGMENT_HEADER_LEN) {
    return lenError('ipv6-ext', IPV6_FRAGMENT_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  }
  return new Ipv6FragmentView(buf, off);
}

/** Result of walking the extension headers that follow the fixed header. */
export class Ipv6ExtChain {
  constructor(
    /** upper-layer protocol (or 50 ESP / 59 No Next Header, or the fragment header's next header) */
    readonly protocol: number,
    /** where that protocol's header starts */
    readonly payloadStart: number,
    /** offset of a (non-atomic) fragment header, -1 when none */
    readonly fragmentHeaderOff: number,
    /** extension headers walked */
    readonly count: number,
  ) {}
}

/**
 * Walk the extension headers starting at `off` (the first one's type is `nextHeader`, from
 * the fixed header). Errors are relative to `off`.
 */
export function decodeIpv6ExtChain(buf: Uint8Array, off: number, nextHeader: number, end: number = buf.length,
  endSource: LenSource = 'capture'): Ipv6ExtChain | DecodeError {
  const lim = readableEnd(buf, end);
  let nh = nextHeader;
  let p = off;
  for (let n = 0; ; n++) {
    let len: number;
    switch (nh) {
      case IPPROTO_HOPOPTS: case IPPROTO_ROUTING: case IPPROTO_DSTOPTS:
      case IPPROTO_MOBILITY: case IPPROTO_HIP: case IPPROTO_SHIM6:
        if (lim - p < 2) return lenError('ipv6-ext', 8, lim - p > 0 ? lim - p : 0, limitSource(buf, end, endSource), p - off);
        len = (buf[p + 1] + 1) * 8;
        break;
      case IPPROTO_AH:
        if (lim - p < 2) return lenError('ipv6-ext', 8, lim - p > 0 ? lim - p : 0, limitSource(buf, end, endSource), p - off);
        len = (buf[p + 1] + 2) * 4;
        break;
      case IPPROTO_FRAGMENT: {
        if (lim - p < IPV6_FRAGMENT_HEADER_LEN) {
          return lenError('ipv6-ext', IPV6_FRAGMENT_HEADER_LEN, lim - p > 0 ? lim - p : 0, limitSource(buf, end, endSource), p - off);
        }
        const atomic = buf[p + 2] === 0 && (buf[p + 3] & 0xf9) === 0;
        if (!atomic) return new Ipv6ExtChain(buf[p], p + IPV6_FRAGMENT_HEADER_LEN, p, n + 1);
        len = IPV6_FRAGMENT_HEADER_LEN;
        break;
      }
      default:
        // upper layer, ESP (50), No Next Header (59) or anything unknown: the chain ends here
        return new Ipv6ExtChain(nh, p, -1, n);
    }
    if (n >= IPV6_MAX_EXT_HEADERS) return contentError('IPV6_EXT_TOO_MANY_HEADERS', 'ipv6-ext', 'count', n + 1, p - off);
    if (lim - p < len) return lenError('ipv6-ext', len, lim - p, limitSource(buf, end, endSource), p - off);
    nh = buf[p];
    p += len;
  }
}
