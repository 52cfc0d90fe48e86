// BSD loopback encapsulation: LINKTYPE_NULL (0) and LINKTYPE_LOOP (108). A 4-byte address
// family precedes the IP packet:
//
//   0          4
//   +----------+-----------
//   | AF (u32) | IP packet
//   +----------+-----------
//
// NULL writes the family in the capturing host's byte order, LOOP (OpenBSD) in network
// order; files move between machines, so both are read in either order: a value with any of
// the upper 16 bits set is byte-swapped (families are small numbers). AF_INET is 2 everywhere;
// AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD, DragonFly), 30 (Darwin).
// Other families (e.g. 7 = OSI) are not IP: not damage.

import { lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';

export const NULL_HEADER_LEN = 4;
export const AF_INET = 2;
export const AF_INET6_VALUES: readonly number[] = Object.freeze([10, 24, 28, 30]);

export class NullView {
  constructor(readonly buf: Uint8Array, readonly off: number) {}
  get headerLen(): number { return NULL_HEADER_LEN; }
  /** the address family, byte order normalised */
  get family(): number {
    const b = this.buf, o = this.off;
    const le = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
    if ((le & 0xffff0000) === 0) return le;
    return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  }
  /** 4, 6, or 0 when the family is not IP */
  get ipVersion(): 0 | 4 | 6 {
    const f = this.family;
    if (f === AF_INET) return 4;
    if (f === 10 || f === 24 || f === 28 || f === 30) return 6;
    return 0;
  }
  get payloadStart(): number { return this.off + NULL_HEADER_LEN; }
}

export function decodeNull(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): NullView | DecodeError {
  const avail = readableEnd(buf, end) - off;
  if (avail < NULL_HEADER_LEN) return lenError('null', NULL_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  return new NullView(buf, off);
}
