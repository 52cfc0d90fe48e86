// PPPoE session stage (EtherType 0x8864, RFC 2516) and the PPP protocol field after it:
//
//   0         1      2            4          6             8
//   +---------+------+------------+----------+-------------+---------
//   | ver|type| code | session id | length   | PPP protocol| payload
//   +---------+------+------------+----------+-------------+---------
//
// ver|type is 0x11 and code 0x00 in session packets; `length` counts the PPP protocol
// field and the payload. The PPP protocol is 0x0021 for IPv4 and 0x0057 for IPv6 (other
// values: LCP, IPCP, ... not IP). A protocol field whose first byte is odd is the 1-byte
// compressed form (PFC, RFC 1661 §6.5), tolerated although RFC 2516 discourages it.

import { contentError, lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';

export const PPPOE_HEADER_LEN = 6;
export const PPP_IPV4 = 0x0021;
export const PPP_IPV6 = 0x0057;

export class PppoeView {
  constructor(readonly buf: Uint8Array, readonly off: number, readonly pppHeaderLen: number) {}
  /** PPPoE header + PPP protocol field */
  get headerLen(): number { return PPPOE_HEADER_LEN + this.pppHeaderLen; }
  get version(): number { return this.buf[this.off] >> 4; }
  get type(): number { return this.buf[this.off] & 0x0f; }
  get code(): number { return this.buf[this.off + 1]; }
  get sessionId(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  /** PPPoE payload length (PPP protocol field + data) */
  get length(): number { return (this.buf[this.off + 4] << 8) | this.buf[this.off + 5]; }
  get pppProtocol(): number {
    return this.pppHeaderLen === 1 ? this.buf[this.off + 6] : (this.buf[this.off + 6] << 8) | this.buf[this.off + 7];
  }
  /** 4 or 6 for IP payloads, 0 otherwise */
  get ipVersion(): 0 | 4 | 6 {
    const p = this.pppProtocol;
    return p === PPP_IPV4 ? 4 : p === PPP_IPV6 ? 6 : 0;
  }
  get payloadStart(): number { return this.off + PPPOE_HEADER_LEN + this.pppHeaderLen; }
  /** end of the payload as the length field claims it (may lie beyond the captured bytes) */
  get claimedEnd(): number { return this.off + PPPOE_HEADER_LEN + this.length; }
}

export function decodePppoe(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): PppoeView | DecodeError {
  const avail = readableEnd(buf, end) - off;
  const src = limitSource(buf, end, endSource);
  if (avail < PPPOE_HEADER_LEN + 1) return lenError('pppoe', PPPOE_HEADER_LEN + 2, avail > 0 ? avail : 0, src);
  if (buf[off] !== 0x11) return contentError('PPPOE_BAD_VERSION_TYPE', 'pppoe', 'versionType', buf[off], 0);
  if (buf[off + 1] !== 0) return contentError('PPPOE_BAD_CODE', 'pppoe', 'code', buf[off + 1], 1);
  const pppLen = (buf[off + 6] & 1) === 1 ? 1 : 2;
  if (avail < PPPOE_HEADER_LEN + pppLen) return lenError('pppoe', PPPOE_HEADER_LEN + pppLen, avail, src);
  const length = (buf[off + 4] << 8) | buf[off + 5];
  if (length < pppLen) return lenError('pppoe', PPPOE_HEADER_LEN + pppLen, PPPOE_HEADER_LEN + length, 'pppoe.len');
  return new PppoeView(buf, off, pppLen);
}
