// UDP header (RFC 768):
//
//   0       2       4       6       8
//   +-------+-------+-------+-------+---------
//   | sport | dport | length| cksum | payload
//   +-------+-------+-------+-------+---------
//
// `length` covers header + payload, >= 8. The datagram ends at min(length, enclosing
// limit); a length beyond the enclosing IP packet is damage the walker reports (the view
// keeps both ends). Length 0 is allowed only over IPv6, where a jumbogram (RFC 2675) or an
// offloaded segment leaves it 0: the datagram then runs to the enclosing limit.

import { contentError, lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';

export const UDP_HEADER_LEN = 8;

export class UdpView {
  constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    /** off + length field (jumbo: the enclosing limit) */
    readonly claimedEnd: number,
    /** min(claimedEnd, enclosing limit, captured bytes) */
    readonly payloadEnd: number,
  ) {}
  get headerLen(): number { return UDP_HEADER_LEN; }
  get srcPort(): number { return (this.buf[this.off] << 8) | this.buf[this.off + 1]; }
  get dstPort(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  get length(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  get checksum(): number { return (this.buf[this.off + 6] << 8) | this.buf[this.off + 7]; }
  get payloadStart(): number { return this.off + UDP_HEADER_LEN; }
}

/**
 * The validity test of decodeUdp without allocating (the walker's hot path): the length
 * field when decodeUdp returns a view (0 for an IPv6 jumbogram), else -1. `lim` = min(end, buf.length).
 */
export function udpLengthIfValid(buf: Uint8Array, off: number, lim: number, ipv6: boolean): number {
  if (lim - off < UDP_HEADER_LEN) return -1;
  const len = (buf[off + 4] << 8) | buf[off + 5];
  return len >= UDP_HEADER_LEN || (len === 0 && ipv6) ? len : -1;
}

export function decodeUdp(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture', ipv6 = false): UdpView | DecodeError {
  const lim = readableEnd(buf, end);
  const avail = lim - off;
  if (avail < UDP_HEADER_LEN) {
    return lenError('udp', UDP_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  }
  const len = (buf[off + 4] << 8) | buf[off + 5];
  let claimedEnd: number;
  if (len >= UDP_HEADER_LEN) claimedEnd = off + len;
  else if (len === 0 && ipv6) claimedEnd = end;
  else return contentError('UDP_BAD_LENGTH', 'udp', 'length', len, 4);
  const stop = claimedEnd < end ? claimedEnd : end;
  return new UdpView(buf, off, claimedEnd, stop < lim ? stop : lim);
}
