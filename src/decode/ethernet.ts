// Ethernet II / IEEE 802.3 header (LINKTYPE_ETHERNET).
//
//   0                   6                  12      14
//   +-------------------+-------------------+-------+----------
//   | destination MAC   | source MAC        | type  | payload
//   +-------------------+-------------------+-------+----------
//
// type > 1500: an EtherType (ethertypes.ts); type <= 1500: an 802.3 length, an LLC header
// follows (not IP: the walker hands such frames on as "no IP", which is not damage).

import { lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';
import { ETHERTYPE_MAX_LENGTH } from './ethertypes.js';

export const ETHERNET_HEADER_LEN = 14;

export class EthernetView {
  constructor(readonly buf: Uint8Array, readonly off: number) {}
  get headerLen(): number { return ETHERNET_HEADER_LEN; }
  get dstOff(): number { return this.off; }
  get srcOff(): number { return this.off + 6; }
  /** EtherType, or the 802.3 length when `isLength`. */
  get etherType(): number { return (this.buf[this.off + 12] << 8) | this.buf[this.off + 13]; }
  /** true when the type field is an IEEE 802.3 length (<= 1500) */
  get isLength(): boolean { return this.etherType <= ETHERTYPE_MAX_LENGTH; }
  get payloadStart(): number { return this.off + ETHERNET_HEADER_LEN; }
}

export function decodeEthernet(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): EthernetView | DecodeError {
  const avail = readableEnd(buf, end) - off;
  if (avail < ETHERNET_HEADER_LEN) {
    return lenError('ethernet', ETHERNET_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  }
  return new EthernetView(buf, off);
}
