// TCP header (RFC 9293) and its options.
//
//   0       2       4               8               12      13      14      16      18      20
//   +-------+-------+---------------+---------------+-------+-------+-------+-------+-------+------
//   | sport | dport | sequence      | acknowledgment|off|rsv| flags | window| cksum | urgent| options
//   +-------+-------+---------------+---------------+-------+-------+-------+-------+-------+------
//
// data offset (upper 4 bits of byte 12) * 4 = header length, >= 20. Flags: the byte at 13
// (CWR ECE URG ACK PSH RST SYN FIN; packet.ts TH_*); the NS/AE bit in byte 12 is not kept.
// Options (kind, length, data; kinds 0 = end and 1 = no-op are one byte) are parsed only on
// demand: decodeTcpOptions is strict (a typed error on a malformed list), parseTcpOptions is
// lax (what parsed before the first malformed option).

import { contentError, lenError, type DecodeError, type LenSource } from '../errors.js';
import { limitSource, readableEnd } from './bounds.js';
import type { TcpOptions } from './packet.js';

export const TCP_MIN_HEADER_LEN = 20;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

export class TcpView {
  constructor(
    readonly buf: Uint8Array,
    readonly off: number,
    readonly headerLen: number,
    /** end of the segment as the enclosing header claims it (may be past the captured bytes) */
    readonly claimedEnd: number,
    /** claimedEnd clipped by the captured bytes */
    readonly payloadEnd: number,
  ) {}
  get srcPort(): number { return (this.buf[this.off] << 8) | this.buf[this.off + 1]; }
  get dstPort(): number { return (this.buf[this.off + 2] << 8) | this.buf[this.off + 3]; }
  get seq(): number { return readU32(this.buf, this.off + 4); }
  get ack(): number { return readU32(this.buf, this.off + 8); }
  get dataOffset(): number { return this.buf[this.off + 12] >> 4; }
  get flags(): number { return this.buf[this.off + 13]; }
  get window(): number { return (this.buf[this.off + 14] << 8) | this.buf[this.off + 15]; }
  get checksum(): number { return (this.buf[this.off + 16] << 8) | this.buf[this.off + 17]; }
  get urgentPointer(): number { return (this.buf[this.off + 18] << 8) | this.buf[this.off + 19]; }
  get optionsStart(): number { return this.off + TCP_MIN_HEADER_LEN; }
  get payloadStart(): number { return this.off + this.headerLen; }
  /** payload length the enclosing header claims */
  get payloadLen(): number { return this.claimedEnd - this.off - this.headerLen; }
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

/**
 * The validity test of decodeTcp without allocating (the walker's hot path): the header
 * length when decodeTcp returns a view, else -1. `lim` = min(end, buf.length).
 */
export function tcpHeaderLenIfValid(buf: Uint8Array, off: number, lim: number): number {
  if (lim - off < TCP_MIN_HEADER_LEN) return -1;
  const hl = (buf[off + 12] >> 4) << 2;
  return hl < TCP_MIN_HEADER_LEN || lim - off < hl ? -1 : hl;
}

export function decodeTcp(buf: Uint8Array, off: number, end: number = buf.length,
  endSource: LenSource = 'capture'): TcpView | DecodeError {
  const lim = readableEnd(buf, end);
  const avail = lim - off;
  if (avail < TCP_MIN_HEADER_LEN) {
    return lenError('tcp', TCP_MIN_HEADER_LEN, avail > 0 ? avail : 0, limitSource(buf, end, endSource));
  }
  const doff = buf[off + 12] >> 4;
  if (doff < 5) return contentError('TCP_DATA_OFFSET_TOO_SMALL', 'tcp', 'dataOffset', doff, 12);
  const hdrLen = doff * 4;
  if (avail < hdrLen) return lenError('tcp', hdrLen, avail, limitSource(buf, end, endSource));
  return new TcpView(buf, off, hdrLen, end, lim);
}

function noOptions(): TcpOptions {
  return { mss: -1, wscale: -1, sackOk: false, tsVal: -1, tsEcr: -1 };
}

/**
 * Strict option parse of the TCP header at `off` whose length is `hdrLen` (data offset * 4).
 * `capEnd`: where the captured bytes end (a Packet's `l4End`: its `data` holds other frames
 * after it; default `buf.length`). Errors (relative to `off`): LenError 'tcp.dataOffset' when
 * an option runs past the header, 'capture' when the captured bytes end first; ContentError
 * TCP_OPTION_BAD_LENGTH for a length below 2 or wrong for its kind (MSS 4, window scale 3,
 * SACK-permitted 2, timestamps 10).
 */
export function decodeTcpOptions(buf: Uint8Array, off: number, hdrLen: number, capEnd = buf.length): TcpOptions | DecodeError {
  const out = noOptions();
  const r = walkOptions(buf, off, hdrLen, capEnd < buf.length ? capEnd : buf.length, out);
  return r === null ? out : r;
}

/** Lax option parse: the options before the first malformed one (never an error). `capEnd` as above. */
export function parseTcpOptions(buf: Uint8Array, off: number, hdrLen: number, capEnd = buf.length): TcpOptions {
  const out = noOptions();
  walkOptions(buf, off, hdrLen, capEnd < buf.length ? capEnd : buf.length, out);
  return out;
}

function walkOptions(buf: Uint8Array, off: number, hdrLen: number, capEnd: number, out: TcpOptions): DecodeError | null {
  const hdrEnd = off + hdrLen;
  const end = hdrEnd < capEnd ? hdrEnd : capEnd;
  const src: LenSource = hdrEnd <= capEnd ? 'tcp.dataOffset' : 'capture';
  let p = off + TCP_MIN_HEADER_LEN;
  while (p < end) {
    const kind = buf[p];
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) { p++; continue; }
    if (end - p < 2) return lenError('tcp', p - off + 2, end - off, src, 0);
    const len = buf[p + 1];
    if (len < 2) return contentError('TCP_OPTION_BAD_LENGTH', 'tcp', 'option' + kind + '.length', len, p + 1 - off);
    if (end - p < len) return lenError('tcp', p - off + len, end - off, src, 0);
    switch (kind) {
      case TCPOPT_MSS:
        if (len !== 4) return contentError('TCP_OPTION_BAD_LENGTH', 'tcp', 'mss.length', len, p + 1 - off);
        out.mss = (buf[p + 2] << 8) | buf[p + 3];
        break;
      case TCPOPT_WSCALE:
        if (len !== 3) return contentError('TCP_OPTION_BAD_LENGTH', 'tcp', 'wscale.length', len, p + 1 - off);
        out.wscale = buf[p + 2];
        break;
      case TCPOPT_SACK_PERMITTED:
        if (len !== 2) return contentError('TCP_OPTION_BAD_LENGTH', 'tcp', 'sackOk.length', len, p + 1 - off);
        out.sackOk = true;
        break;
      case TCPOPT_TIMESTAMP:
        if (len !== 10) return contentError('TCP_OPTION_BAD_LENGTH', 'tcp', 'timestamp.length', len, p + 1 - off);
        out.tsVal = readU32(buf, p + 2);
        out.tsEcr = readU32(buf, p + 6);
        break;
      default:
        break;
    }
    p += len;
  }
  return null;
}
