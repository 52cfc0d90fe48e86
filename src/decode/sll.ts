// Linux "cooked" capture header v1 (LINKTYPE_LINUX_SLL, 113), 16 bytes, big-endian:
//
//   0        2        4          6                    14       16
//   +--------+--------+----------+--------------------+--------+-----
//   | pkttype| ARPHRD | addr len | link-layer address | proto  | payload
//   +--------+--------+----------+--------------------+--------+-----
//
// `proto` is an EtherType for most ARPHRD types (values 1, 4, ... <= 1500 are Linux
// pseudo-protocols such as ETH_P_802_3 / ETH_P_802_2: not IP). For ARPHRD_NETLINK (824)
// `proto` is a netlink family, never IP.

import { lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';

export const SLL_HEADER_LEN = 16;
export const ARPHRD_NETLINK = 824;

export class SllView {
  constructor(readonly buf: Uint8Array, readonly off: number) {}
  get headerLen(): number { return SLL_HEADER_LEN; }
  /** 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us */
  get packetType(): number { return (this.buf[this.off] << 8) | this.buf[this.off + 1]; }
  get arphrd(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  get addrLen(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  get addrOff(): number { return this.off + 6; }
  get protocol(): number { return (this.buf[this.off + 14] << 8) | this.buf[this.off + 15]; }
  /** true when `protocol` is an EtherType (not a netlink family) */
  get protocolIsEtherType(): boolean { return this.arphrd !== ARPHRD_NETLINK; }
  get payloadStart(): number { return this.off + SLL_HEADER_LEN; }
}

export function decodeSll(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): SllView | DecodeError {
  const avail = readableEnd(buf, end) - off;
  if (avail < SLL_HEADER_LEN) return lenError('sll', SLL_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  return new SllView(buf, off);
}
