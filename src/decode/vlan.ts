// IEEE 802.1Q / 802.1ad VLAN tag, as it follows a TPID (0x8100, 0x88a8, 0x9100) in the
// EtherType position. The decoder starts at the TCI, i.e. after the TPID:
//
//   0     2     4
//   +-----+-----+-----
//   | TCI | type| payload       TCI = PCP(3) DEI(1) VID(12)
//   +-----+-----+-----
//
// Tags nest (QinQ): the inner type may be another TPID. The walker bounds the nesting.

import { lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';

export const VLAN_TAG_LEN = 4;
/** deepest tag stack the walker follows (802.1ad needs 2; a few more for odd captures) */
export const VLAN_MAX_TAGS = 8;

export class VlanView {
  constructor(readonly buf: Uint8Array, readonly off: number) {}
  get headerLen(): number { return VLAN_TAG_LEN; }
  get tci(): number { return (this.buf[this.off] << 8) | this.buf[this.off + 1]; }
  get pcp(): number { return this.buf[this.off] >> 5; }
  get dei(): boolean { return (this.buf[this.off] & 0x10) !== 0; }
  get vid(): number { return ((this.buf[this.off] & 0x0f) << 8) | this.buf[this.off + 1]; }
  get etherType(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  get payloadStart(): number { return this.off + VLAN_TAG_LEN; }
}

export function decodeVlan(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): VlanView | DecodeError {
  const avail = readableEnd(buf, end) - off;
  if (avail < VLAN_TAG_LEN) return lenError('vlan', VLAN_TAG_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  return new VlanView(buf, off);
}
