// Linux "cooked" capture header v2 (LINKTYPE_LINUX_SLL2, 276), 20 bytes, big-endian:
//
//   0       2          4          8        10       11        12                   20
//   +-------+----------+----------+--------+--------+---------+--------------------+-----
//   | proto | reserved | ifindex  | ARPHRD | pkttype| addr len| link-layer address | payload
//   +-------+----------+----------+--------+--------+---------+--------------------+-----
//
// `proto` has the same meaning as in SLL v1 (sll.ts).

import { lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';
import { ARPHRD_NETLINK } from './sll.js';

export const SLL2_HEADER_LEN = 20;

export class Sll2View {
  constructor(readonly buf: Uint8Array, readonly off: number) {}
  get headerLen(): number { return SLL2_HEADER_LEN; }
  get protocol(): number { return (this.buf[this.off] << 8) | this.buf[this.off + 1]; }
  get ifIndex(): number {
    const b = this.buf, o = this.off + 4;
    return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  }
  get arphrd(): number { return (this.buf[this.off + 8] << 8) | this.buf[this.off + 9]; }
  get packetType(): number { return this.buf[this.off + 10]; }
  get addrLen(): number { return this.buf[this.off + 11]; }
  get addrOff(): number { return this.off + 12; }
  get protocolIsEtherType(): boolean { return this.arphrd !== ARPHRD_NETLINK; }
  get payloadStart(): number { return this.off + SLL2_HEADER_LEN; }
}

export function decodeSll2(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): Sll2View | DecodeError {
  const avail = readableEnd(buf, end) - off;
  if (avail < SLL2_HEADER_LEN) return lenError('sll2', SLL2_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  return new Sll2View(buf, off);
}
