// IPv4 header (RFC 791), with options (IHL > 5).
//
//   0       1       2               4               6               8       9       10
//   +-------+-------+---------------+---------------+---------------+-------+-------+---------
//   |ver|IHL| DSCP/ECN | total length | identification | flags|frag off | TTL | proto | checksum
//   +-------+-------+---------------+---------------+---------------+-------+-------+---------
//   12              16              20
//   | source addr   | dest addr     | options (IHL*4 - 20) | payload ...
//
// Lengths: the header is IHL*4 bytes (IHL >= 5). The packet ends at `total length`; the
// view's `payloadEnd` is clipped by that length, by the enclosing limit `end` and by the
// captured bytes. A total length of 0 is what TCP segmentation offload leaves in captures
// taken on the sending host: the packet is then taken to run to the enclosing limit (as
// Wireshark does). A total length shorter than the header is a LenError (ipv4.totalLen).

import { contentError, lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';

export const IPV4_MIN_HEADER_LEN = 20;

export class Ipv4View {
  constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    /** IHL * 4 */
    readonly headerLen: number,
    /** total length (TSO: the length up to the enclosing limit) */
    readonly totalLen: number,
    /** off + totalLen: where the length field says the packet ends (may be past the captured bytes) */
    readonly claimedEnd: number,
    /** claimedEnd clipped by the enclosing limit and the captured bytes */
    readonly payloadEnd: number,
  ) {}
  get version(): number { return this.buf[this.off] >> 4; }
  get ihl(): number { return this.buf[this.off] & 0x0f; }
  get dscp(): number { return this.buf[this.off + 1] >> 2; }
  get ecn(): number { return this.buf[this.off + 1] & 3; }
  get id(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  get dontFragment(): boolean { return (this.buf[this.off + 6] & 0x40) !== 0; }
  get moreFragments(): boolean { return (this.buf[this.off + 6] & 0x20) !== 0; }
  /** fragment offset in bytes */
  get fragmentOffset(): number { return (((this.buf[this.off + 6] & 0x1f) << 8) | this.buf[this.off + 7]) * 8; }
  /** true for any fragment of a fragmented datagram (MF set or offset > 0) */
  get isFragment(): boolean { return (this.buf[this.off + 6] & 0x3f) !== 0 || this.buf[this.off + 7] !== 0; }
  get ttl(): number { return this.buf[this.off + 8]; }
  get protocol(): number { return this.buf[this.off + 9]; }
  get checksum(): number { return (this.buf[this.off + 10] << 8) | this.buf[this.off + 11]; }
  get srcOff(): number { return this.off + 12; }
  get dstOff(): number { return this.off + 16; }
  get optionsStart(): number { return this.off + IPV4_MIN_HEADER_LEN; }
  get payloadStart(): number { return this.off + this.headerLen; }
  /** true when the length field claims more than the enclosing limit / captured bytes hold */
  get clipped(): boolean { return this.payloadEnd < this.claimedEnd; }
}

/**
 * The validity test of decodeIpv4 without allocating (the frame walker's hot path): the
 * header length when decodeIpv4(buf, off, end) returns a view, else -1 (decodeIpv4 says why).
 * `lim` is the readable end, min(end, buf.length).
 */
export function ipv4HeaderLenIfValid(buf: Uint8Array, off: number, lim: number): number {
  if (lim - off < IPV4_MIN_HEADER_LEN) return -1;
  const b0 = buf[off];
  const hl = (b0 & 0x0f) << 2;
  if ((b0 & 0xf0) !== 0x40 || hl < IPV4_MIN_HEADER_LEN || lim - off < hl) return -1;
  const tl = (buf[off + 2] << 8) | buf[off + 3];
  return tl !== 0 && tl < hl ? -1 : hl;
}

export function decodeIpv4(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): Ipv4View | DecodeError {
  const lim = readableEnd(buf, end);
  const avail = lim - off;
  if (avail < IPV4_MIN_HEADER_LEN) {
    return lenError('ipv4', IPV4_MIN_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  }
  const b0 = buf[off];
  if (b0 >> 4 !== 4) return contentError('IPV4_BAD_VERSION', 'ipv4', 'version', b0 >> 4, 0);
  const hdrLen = (b0 & 0x0f) * 4;
  if (hdrLen < IPV4_MIN_HEADER_LEN) return contentError('IPV4_BAD_HEADER_LENGTH', 'ipv4', 'ihl', b0 & 0x0f, 0);
  if (avail < hdrLen) return lenError('ipv4', hdrLen, avail, limitSource(buf, end, endSource));
  let totalLen = (buf[off + 2] << 8) | buf[off + 3];
  if (totalLen === 0) {
    // TSO: the length is filled in by the NIC after capture
    totalLen = end - off;
  } else if (totalLen < hdrLen) {
    return lenError('ipv4', hdrLen, totalLen, 'ipv4.totalLen');
  }
  const claimedEnd = off + totalLen;
  return new Ipv4View(buf, off, hdrLen, totalLen, claimedEnd, claimedEnd < lim ? claimedEnd : lim);
}

/** One's-complement checksum of an IPv4 header (0 when the stored checksum is right). */
export function ipv4HeaderChecksum(buf: Uint8Array, off: number, hdrLen: number): number {
  let sum = 0;
  for (let i = 0; i < hdrLen; i += 2) sum += (buf[off + i] << 8) | buf[off + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return (~sum) & 0xffff;
}
