// TLS from the first bytes of a TCP direction (RFC 5246 TLS 1.2, RFC 8446 TLS 1.3): records,
// the handshake messages in them (reassembled across records), the ClientHello's server name
// (SNI), ALPN and offered versions, the ServerHello's negotiated version, and the server's
// Certificate message split into DER certificates; `describeCertificate` reads subject,
// issuer and SAN of one certificate with node:crypto's X509Certificate.
//
//   record    = type(1) version(2) length(2) fragment(length)           length <= 2^14 + 2048
//   handshake = msg_type(1) length(3) body(length)                       may span records
//   Certificate (TLS <= 1.2) = certificate_list length(3) { cert length(3) DER }*
//
// Limits of what a passive observer can see:
// - TLS 1.3 encrypts everything after the ServerHello, the Certificate included: `encrypted`
//   is set and `certificates` stays empty. Only TLS <= 1.2 handshakes show the certificate.
// - After a ChangeCipherSpec (or the first application_data record) the handshake is
//   encrypted; decoding stops there (not an error).
//
// Lax and bounded (conventions.md rule 5): records and handshake messages are read while
// they fit in [off, end); a message cut by the end of the captured bytes is listed with
// `complete: false` and `stop` says why decoding ended. Handshake bytes are reassembled only
// from what is present (never allocated from a length field), at most `maxHandshakeBytes`
// (default 64 KiB); at most 32 handshake messages and 16 certificates are kept. A stream that
// does not start with a TLS record gives a DecodeError. Never throws.

import { X509Certificate } from 'node:crypto';
import { contentError, lenError, type DecodeError } from '../errors.js';

export const TLS_CT_CHANGE_CIPHER_SPEC = 20;
export const TLS_CT_ALERT = 21;
export const TLS_CT_HANDSHAKE = 22;
export const TLS_CT_APPLICATION_DATA = 23;
export const TLS_CT_HEARTBEAT = 24;

export const TLS_HS_CLIENT_HELLO = 1;
export const TLS_HS_SERVER_HELLO = 2;
export const TLS_HS_CERTIFICATE = 11;

export const TLS_RECORD_HEADER_LEN = 5;
export const TLS_MAX_RECORD_LEN = 16384 + 2048;
const MAX_HANDSHAKES = 32;
const MAX_CERTS = 16;

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

export interface TlsClientHello {
  /** legacy_version field (0x0303 also for TLS 1.3) */
  legacyVersion: number;
  /** server_name host_name, lower case; null when absent */
  sni: string | null;
  alpn: string[];
  /** supported_versions extension (TLS 1.3 clients), empty when absent */
  supportedVersions: number[];
  cipherSuites: number;
}

export interface TlsServerHello {
  legacyVersion: number;
  /** negotiated version: supported_versions when present (TLS 1.3), else legacy_version */
  version: number;
  cipherSuite: number;
}

export interface TlsHandshakeMsg {
  type: number;
  /** offset of the 4-byte handshake header in the input */
  offset: number;
  /** body length the header claims */
  length: number;
  /** offset just after the message (meaningful when complete) */
  end: number;
  complete: boolean;
}

export interface TlsAlert {
  level: number;
  description: number;
  offset: number;
}

export interface TlsStream {
  /** version field of the first record */
  recordVersion: number;
  records: number;
  handshakes: TlsHandshakeMsg[];
  clientHello: TlsClientHello | null;
  serverHello: TlsServerHello | null;
  /** the server's certificate chain, leaf first, as DER views into the input (TLS <= 1.2) */
  certificates: Buffer[];
  /** input offsets where the Certificate message starts and ends, -1 when none */
  certificateOffset: number;
  certificateEnd: number;
  /** first unencrypted alert */
  alert: TlsAlert | null;
  changeCipherSpec: boolean;
  /** the rest of the handshake is encrypted (TLS 1.3 after ServerHello, or after ChangeCipherSpec) */
  encrypted: boolean;
  /** why decoding stopped before the end of the input (null: everything present decoded) */
  stop: DecodeError | null;
}

export interface TlsDecodeOptions {
  maxHandshakeBytes?: number;
}

/** Does a TLS record header (type 20..24, version 3.x) start at `off`? Cheap, no allocation. */
export function sniffTls(buf: Uint8Array, off: number, end: number = buf.length): boolean {
  const lim = end < buf.length ? end : buf.length;
  if (lim - off < 3) return false;
  const t = buf[off];
  return t >= TLS_CT_CHANGE_CIPHER_SPEC && t <= TLS_CT_HEARTBEAT && buf[off + 1] === 3 && buf[off + 2] <= 4;
}

/** Decode the TLS records of one direction's first bytes. */
export function decodeTlsStream(buf: Buffer, off: number, end: number = buf.length,
  opts: TlsDecodeOptions = {}): TlsStream | DecodeError {
  const lim = end < buf.length ? end : buf.length;
  if (lim - off < TLS_RECORD_HEADER_LEN) {
    if (lim - off >= 3 && !sniffTls(buf, off, lim)) return notTls(buf, off);
    return lenError('tls', TLS_RECORD_HEADER_LEN, lim > off ? lim - off : 0, 'capture', 0);
  }
  if (!sniffTls(buf, off, lim)) return notTls(buf, off);
  const maxHs = opts.maxHandshakeBytes ?? 64 * 1024;
  const out: TlsStream = {
    recordVersion: (buf[off + 1] << 8) | buf[off + 2], records: 0, handshakes: [], clientHello: null,
    serverHello: null, certificates: [], certificateOffset: -1, certificateEnd: -1, alert: null,
    changeCipherSpec: false, encrypted: false, stop: null,
  };
  // handshake fragments: [input offset, length]
  const pieces: number[] = [];
  let hsBytes = 0;
  let p = off;
  while (p < lim) {
    if (lim - p < TLS_RECORD_HEADER_LEN) {
      out.stop = lenError('tls', TLS_RECORD_HEADER_LEN, lim - p, 'capture', p - off);
      break;
    }
    const type = buf[p];
    const len = (buf[p + 3] << 8) | buf[p + 4];
    if (!sniffTls(buf, p, lim)) {
      out.stop = contentError('TLS_BAD_RECORD', 'tls', 'record.type', type, p - off);
      break;
    }
    if (len > TLS_MAX_RECORD_LEN) {
      out.stop = contentError('TLS_RECORD_OVERFLOW', 'tls', 'record.length', len, p - off + 3);
      break;
    }
    out.records++;
    const body = p + TLS_RECORD_HEADER_LEN;
    const bodyEnd = body + len;
    const have = (bodyEnd < lim ? bodyEnd : lim) - body;
    if (type === TLS_CT_CHANGE_CIPHER_SPEC || type === TLS_CT_APPLICATION_DATA) {
      out.changeCipherSpec ||= type === TLS_CT_CHANGE_CIPHER_SPEC;
      out.encrypted = true;
      break;
    }
    if (type === TLS_CT_ALERT && out.alert === null && have >= 2) {
      out.alert = { level: buf[body], description: buf[body + 1], offset: body };
    } else if (type === TLS_CT_HANDSHAKE && have > 0) {
      const take = Math.min(have, maxHs - hsBytes);
      if (take > 0) { pieces.push(body, take); hsBytes += take; }
    }
    if (bodyEnd > lim) {
      out.stop = lenError('tls', TLS_RECORD_HEADER_LEN + len, lim - p, 'capture', p - off);
      break;
    }
    p = bodyEnd;
  }
  if (hsBytes > 0) readHandshakes(buf, off, pieces, hsBytes, out);
  if (out.serverHello !== null && out.serverHello.version === 0x0304) out.encrypted = true;
  return out;
}

function notTls(buf: Uint8Array, off: number): DecodeError {
  return contentError('TLS_NOT_TLS', 'tls', 'record.type', buf[off], 0);
}

/** Walk the handshake messages in the reassembled handshake bytes. */
function readHandshakes(buf: Buffer, base: number, pieces: number[], total: number, out: TlsStream): void {
  // reassemble: a view when the handshake bytes are in one record, else one bounded copy
  const hs = pieces.length === 2 ? buf.subarray(pieces[0], pieces[0] + pieces[1]) : concatPieces(buf, pieces, total);
  const toInput = (hsOff: number): number => {
    let acc = 0;
    for (let i = 0; i < pieces.length; i += 2) {
      if (hsOff < acc + pieces[i + 1]) return pieces[i] + (hsOff - acc);
      acc += pieces[i + 1];
    }
    return pieces[pieces.length - 2] + pieces[pieces.length - 1];
  };
  let q = 0;
  while (q < hs.length) {
    if (out.handshakes.length >= MAX_HANDSHAKES) break;
    if (hs.length - q < 4) {
      out.stop ??= lenError('tls', 4, hs.length - q, 'capture', toInput(q) - base);
      break;
    }
    const type = hs[q];
    const len = (hs[q + 1] << 16) | (hs[q + 2] << 8) | hs[q + 3];
    const bodyStart = q + 4;
    const complete = bodyStart + len <= hs.length;
    const msg: TlsHandshakeMsg = {
      type, offset: toInput(q), length: len,
      end: complete ? toInput(bodyStart + len - 1) + 1 : -1, complete,
    };
    out.handshakes.push(msg);
    if (!complete) {
      out.stop ??= lenError('tls', 4 + len, hs.length - q, 'capture', msg.offset - base);
      break;
    }
    const bEnd = bodyStart + len;
    let err: DecodeError | null = null;
    if (type === TLS_HS_CLIENT_HELLO && out.clientHello === null) {
      const r = parseClientHello(hs, bodyStart, bEnd);
      if ('code' in r) err = r; else out.clientHello = r;
    } else if (type === TLS_HS_SERVER_HELLO && out.serverHello === null) {
      const r = parseServerHello(hs, bodyStart, bEnd);
      if ('code' in r) err = r; else out.serverHello = r;
    } else if (type === TLS_HS_CERTIFICATE && out.certificateOffset < 0) {
      // in TLS 1.3 a cleartext Certificate cannot occur; its layout differs (context byte)
      const r = parseCertificateList(hs, bodyStart, bEnd);
      if ('code' in r) err = r;
      else { out.certificates = r; out.certificateOffset = msg.offset; out.certificateEnd = msg.end; }
    }
    if (err !== null) {
      out.stop ??= { ...err, offset: toInput(Math.min(bodyStart + err.offset, hs.length - 1)) - base };
      break;
    }
    q = bEnd;
  }
}

function concatPieces(buf: Buffer, pieces: number[], total: number): Buffer {
  const hs = Buffer.allocUnsafe(total);
  let w = 0;
  for (let i = 0; i < pieces.length; i += 2) {
    buf.copy(hs, w, pieces[i], pieces[i] + pieces[i + 1]);
    w += pieces[i + 1];
  }
  return hs;
}

// ---------------------------------------------------------------------------------------
// Handshake bodies. Offsets in errors are relative to the body start.

/** ClientHello body [off, end): version, random, session id, cipher suites, compression, extensions. */
export function parseClientHello(b: Uint8Array, off: number, end: number): TlsClientHello | DecodeError {
  let p = off;
  if (end - p < 35) return lenError('tls', 35, end - p, 'capture', 0);
  const legacyVersion = (b[p] << 8) | b[p + 1];
  p += 34;                                      // version + random
  const sid = b[p];
  if (p + 1 + sid > end) return lenError('tls', p + 1 + sid - off, end - off, 'capture', p - off);
  p += 1 + sid;
  if (end - p < 2) return lenError('tls', p + 2 - off, end - off, 'capture', p - off);
  const csLen = (b[p] << 8) | b[p + 1];
  if (p + 2 + csLen > end) return lenError('tls', p + 2 + csLen - off, end - off, 'capture', p - off);
  p += 2 + csLen;
  if (end - p < 1) return lenError('tls', p + 1 - off, end - off, 'capture', p - off);
  const compLen = b[p];
  if (p + 1 + compLen > end) return lenError('tls', p + 1 + compLen - off, end - off, 'capture', p - off);
  p += 1 + compLen;
  const out: TlsClientHello = { legacyVersion, sni: null, alpn: [], supportedVersions: [], cipherSuites: csLen >> 1 };
  if (p === end) return out;                    // no extensions (SSL 3.0 style)
  const ext = readExtensions(b, p, end, off, (type, d, dEnd) => {
    if (type === EXT_SERVER_NAME) {
      if (dEnd - d < 2) return contentError('TLS_BAD_SNI', 'tls', 'server_name', dEnd - d, d - off);
      let q = d + 2;
      const listEnd = Math.min(dEnd, d + 2 + ((b[d] << 8) | b[d + 1]));
      while (q + 3 <= listEnd) {
        const nt = b[q];
        const nl = (b[q + 1] << 8) | b[q + 2];
        if (q + 3 + nl > listEnd) return contentError('TLS_BAD_SNI', 'tls', 'server_name', nl, q - off);
        if (nt === 0 && out.sni === null) out.sni = asciiLower(b, q + 3, q + 3 + nl);
        q += 3 + nl;
      }
    } else if (type === EXT_ALPN) {
      if (dEnd - d < 2) return null;
      let q = d + 2;
      while (q < dEnd && out.alpn.length < 16) {
        const n = b[q];
        if (q + 1 + n > dEnd) break;
        out.alpn.push(asciiLower(b, q + 1, q + 1 + n));
        q += 1 + n;
      }
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      if (dEnd - d < 1) return null;
      const n = b[d];
      for (let q = d + 1; q + 1 < d + 1 + n && q + 1 < dEnd && out.supportedVersions.length < 16; q += 2) {
        out.supportedVersions.push((b[q] << 8) | b[q + 1]);
      }
    }
    return null;
  });
  return ext ?? out;
}

/** ServerHello body [off, end). */
export function parseServerHello(b: Uint8Array, off: number, end: number): TlsServerHello | DecodeError {
  let p = off;
  if (end - p < 35) return lenError('tls', 35, end - p, 'capture', 0);
  const legacyVersion = (b[p] << 8) | b[p + 1];
  p += 34;
  const sid = b[p];
  if (p + 1 + sid + 3 > end) return lenError('tls', p + 1 + sid + 3 - off, end - off, 'capture', p - off);
  p += 1 + sid;
  const cipherSuite = (b[p] << 8) | b[p + 1];
  p += 3;                                        // cipher suite + compression method
  const out: TlsServerHello = { legacyVersion, version: legacyVersion, cipherSuite };
  if (p >= end) return out;
  const ext = readExtensions(b, p, end, off, (type, d, dEnd) => {
    if (type === EXT_SUPPORTED_VERSIONS && dEnd - d >= 2) out.version = (b[d] << 8) | b[d + 1];
    return null;
  });
  return ext ?? out;
}

/** Certificate body (TLS <= 1.2) [off, end): the DER certificates as views. */
export function parseCertificateList(b: Buffer, off: number, end: number): Buffer[] | DecodeError {
  if (end - off < 3) return lenError('tls', 3, end - off, 'capture', 0);
  const listLen = (b[off] << 16) | (b[off + 1] << 8) | b[off + 2];
  if (off + 3 + listLen > end) {
    return contentError('TLS_BAD_CERTIFICATE_LIST', 'tls', 'certificate_list.length', listLen, 0);
  }
  const certs: Buffer[] = [];
  let p = off + 3;
  const listEnd = off + 3 + listLen;
  while (p < listEnd && certs.length < MAX_CERTS) {
    if (listEnd - p < 3) return contentError('TLS_BAD_CERTIFICATE_LIST', 'tls', 'certificate.length', listEnd - p, p - off);
    const n = (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
    if (p + 3 + n > listEnd) return contentError('TLS_BAD_CERTIFICATE_LIST', 'tls', 'certificate.length', n, p - off);
    certs.push(b.subarray(p + 3, p + 3 + n));
    p += 3 + n;
  }
  return certs;
}

type ExtVisitor = (type: number, dataStart: number, dataEnd: number) => DecodeError | null;

function readExtensions(b: Uint8Array, p: number, end: number, base: number, visit: ExtVisitor): DecodeError | null {
  if (end - p < 2) return lenError('tls', p + 2 - base, end - base, 'capture', p - base);
  const extLen = (b[p] << 8) | b[p + 1];
  p += 2;
  const extEnd = p + extLen;
  if (extEnd > end) return contentError('TLS_BAD_EXTENSIONS', 'tls', 'extensions.length', extLen, p - 2 - base);
  while (p + 4 <= extEnd) {
    const type = (b[p] << 8) | b[p + 1];
    const len = (b[p + 2] << 8) | b[p + 3];
    if (p + 4 + len > extEnd) return contentError('TLS_BAD_EXTENSIONS', 'tls', 'extension.length', len, p + 2 - base);
    const e = visit(type, p + 4, p + 4 + len);
    if (e !== null) return e;
    p += 4 + len;
  }
  return null;
}

function asciiLower(b: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e && i < s + 255; i++) {
    const c = b[i];
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c >= 0x20 && c < 0x7f ? c : 0x3f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Certificates

export interface CertInfo {
  /** one-line distinguished names, most specific first: 'CN=GoTo Test CA, O=GoTo Test, C=US' */
  subject: string;
  issuer: string;
  subjectCN: string | null;
  issuerCN: string | null;
  issuerO: string | null;
  /** subjectAltName entries as 'DNS:name' / 'IP Address:a.b.c.d' */
  san: string[];
  selfIssued: boolean;
  notBefore: string;
  notAfter: string;
}

/** Subject, issuer and SAN of one DER certificate (parsed by node:crypto). */
export function describeCertificate(der: Uint8Array): CertInfo | DecodeError {
  if (der.length < 16 || der[0] !== 0x30) return contentError('TLS_BAD_CERTIFICATE', 'tls', 'certificate', der.length, 0);
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch {
    return contentError('TLS_BAD_CERTIFICATE', 'tls', 'certificate', der.length, 0);
  }
  const subject = dnParts(x.subject);
  const issuer = dnParts(x.issuer);
  const san = (x.subjectAltName ?? '').split(/, (?=[A-Za-z ]+:)/).filter((s) => s !== '').slice(0, 64);
  return {
    subject: dnLine(subject), issuer: dnLine(issuer),
    subjectCN: dnGet(subject, 'CN'), issuerCN: dnGet(issuer, 'CN'), issuerO: dnGet(issuer, 'O'),
    san, selfIssued: x.subject === x.issuer, notBefore: x.validFrom, notAfter: x.validTo,
  };
}

/** node's multi-line 'C=US\nO=X\nCN=Y' into [key, value] pairs (order as in the certificate). */
function dnParts(dn: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of dn.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return out;
}

function dnLine(parts: [string, string][]): string {
  return parts.slice().reverse().map(([k, v]) => k + '=' + v).join(', ');
}

function dnGet(parts: [string, string][], key: string): string | null {
  for (let i = parts.length - 1; i >= 0; i--) if (parts[i][0] === key) return parts[i][1];
  return null;
}
