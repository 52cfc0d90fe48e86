// Small helpers shared by the per-protocol decoders: how many bytes a decoder may read, and
// which length field ran out when there are too few (conventions.md rule 4).
//
// Every decoder takes `(buf, off, end, endSource)`: `end` is the limit an enclosing header
// claims (IPv4 total length, PPPoE length, ...; default: the captured bytes) and `endSource`
// names that field. The bytes actually readable stop at min(end, buf.length); when a header
// does not fit, the LenError names `endSource` if the claimed limit was the binding one and
// 'capture' if the captured bytes ran out first. (`end === buf.length` names `endSource`:
// when the enclosing header's length matches the capture exactly, its claim is what fell
// short.)

import type { DecodeError, LenSource } from '../errors.js';

/** The readable end: min(end, buf.length). */
export function readableEnd(buf: Uint8Array, end: number): number {
  return end < buf.length ? end : buf.length;
}

/** Which limit is binding for a read that stops at min(end, buf.length). */
export function limitSource(buf: Uint8Array, end: number, endSource: LenSource): LenSource {
  return end <= buf.length ? endSource : 'capture';
}

/** Narrowing helper: decoders return a view or one of the two DecodeError shapes (plain objects with `code`). */
export function isDecodeError(x: object): x is DecodeError {
  return typeof (x as { code?: unknown }).code === 'string';
}
