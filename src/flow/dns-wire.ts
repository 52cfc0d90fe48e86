// A fast, allocation-light reader of the DNS wire format for the DNS service's hot path.
//
// `dns-packet` decodes a whole message into objects (about 1.3 µs a query and 4.5 µs a
// response here), which alone would cap DNS-heavy captures near 300 MB/s. This reader takes
// only what the flow stage needs: the header (id, QR, rcode), the first question, the answer
// records (A/AAAA as address text, CNAME/NS/PTR/DNAME as names, TXT strings joined with a
// space, other types with empty data) and, for queries, whether an EDNS0 OPT record carries
// the Umbrella device option (code 0x6942 or the legacy 4). Names come out lower case without
// the trailing dot (the root is ''); type and class names are dns-packet's own.
//
// It never throws and never reads outside [0, buf.length): anything it does not accept
// (bad lengths, forward or looping compression pointers, names over 255 bytes, label types
// 0x40/0x80, A/AAAA data of the wrong size, truncated sections) returns null, and the caller
// falls back to dns-packet, which stays the reference decoder (the tests compare both on
// random messages). Authority and additional records of responses are not read at all.

import { createRequire } from 'node:module';
import { formatIPv6 } from '../decode/addr.js';
import type { DnsAnswerRecord, DnsQuestion } from './types.js';

const require = createRequire(import.meta.url);
const dnsTypes = require('dns-packet/types.js') as { toString(n: number): string };
const dnsClasses = require('dns-packet/classes.js') as { toString(n: number): string };

export interface WireMessage {
  id: number;
  qr: boolean;
  /** 4-bit header rcode, by name ('NOERROR', 'NXDOMAIN', ..., 'RCODE_11') */
  rcode: string;
  question: DnsQuestion | null;
  answers: DnsAnswerRecord[];
  umbrellaEdns: boolean;
}

const TYPE_NAMES: (string | undefined)[] = new Array(256).fill(undefined);
const CLASS_NAMES: (string | undefined)[] = new Array(256).fill(undefined);
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET',
  'NXRRSET', 'NOTAUTH', 'NOTZONE', 'RCODE_11', 'RCODE_12', 'RCODE_13', 'RCODE_14', 'RCODE_15'];

export function typeName(n: number): string {
  if (n < 256) {
    const s = TYPE_NAMES[n];
    if (s !== undefined) return s;
    return (TYPE_NAMES[n] = dnsTypes.toString(n));
  }
  return dnsTypes.toString(n);
}

function className(n: number): string {
  if (n < 256) {
    const s = CLASS_NAMES[n];
    if (s !== undefined) return s;
    return (CLASS_NAMES[n] = dnsClasses.toString(n));
  }
  return dnsClasses.toString(n);
}

const T_A = 1, T_NS = 2, T_CNAME = 5, T_PTR = 12, T_TXT = 16, T_AAAA = 28, T_DNAME = 39, T_OPT = 41;
const MAX_NAME = 255;
const MAX_JUMPS = 128;
const nameBuf = Buffer.alloc(MAX_NAME + 64);

// Result of the last readName: the decoded text (when asked) and where the name ended.
let nameText = '';
let nameEnd = 0;

/**
 * Read the (possibly compressed) name at `off` of the message [base, len). Sets nameEnd to
 * the offset after it in the record and, when `text`, nameText to its lower-case text.
 * Returns false when invalid. Pointers (relative to `base`) must go backwards (RFC 1035 "a
 * prior occurrence"), as dns-packet requires.
 */
function readName(buf: Uint8Array, base: number, len: number, off: number, text: boolean): boolean {
  let pos = off;
  let segStart = off;
  let end = -1;
  let total = 0;
  let n = 0;
  let high = false;
  let jumps = 0;
  for (;;) {
    if (pos >= len) return false;
    const l = buf[pos];
    if (l === 0) { pos++; break; }
    const kind = l & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= len) return false;
      const ptr = base + (((l & 0x3f) << 8) | buf[pos + 1]);
      if (ptr >= segStart || ++jumps > MAX_JUMPS) return false;
      if (end < 0) end = pos + 2;
      pos = ptr;
      segStart = ptr;
      continue;
    }
    if (kind !== 0) return false;
    if (pos + 1 + l > len) return false;
    total += l + 1;
    if (total > 254) return false;
    if (text) {
      if (n > 0) nameBuf[n++] = 0x2e;
      for (let k = pos + 1; k <= pos + l; k++) {
        let c = buf[k];
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        else if (c >= 0x80) high = true;
        nameBuf[n++] = c;
      }
    }
    pos += 1 + l;
  }
  nameEnd = end >= 0 ? end : pos;
  if (text) {
    if (n === 0) { nameText = ''; return true; }
    let s = nameBuf.toString(high ? 'utf8' : 'latin1', 0, n);
    if (high) s = s.toLowerCase();
    while (s.endsWith('.')) s = s.slice(0, -1);   // a label holding dots at its end (as normalizeName)
    nameText = s;
  }
  return true;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/**
 * Parse the DNS message in buf[start, end) (default: all of `buf`). Returns null when this
 * reader does not accept the bytes; the caller then tries dns-packet.
 */
export function parseDnsMessage(buf: Uint8Array, start = 0, end = buf.length): WireMessage | null {
  const base = start;
  const len = Math.min(end, buf.length);
  if (len - base < 12) return null;
  const id = u16(buf, base);
  const flags = u16(buf, base + 2);
  const qr = (flags & 0x8000) !== 0;
  const qd = u16(buf, base + 4), an = u16(buf, base + 6), ns = u16(buf, base + 8), ar = u16(buf, base + 10);
  let pos = base + 12;

  let question: DnsQuestion | null = null;
  for (let k = 0; k < qd; k++) {
    if (!readName(buf, base, len, pos, k === 0)) return null;
    pos = nameEnd;
    if (pos + 4 > len) return null;
    if (k === 0) question = { name: nameText, type: typeName(u16(buf, pos)), class: className(u16(buf, pos + 2)) };
    pos += 4;
  }

  const answers: DnsAnswerRecord[] = [];
  for (let k = 0; k < an; k++) {
    if (!readName(buf, base, len, pos, qr)) return null;
    const owner = qr ? nameText : '';
    pos = nameEnd;
    if (pos + 10 > len) return null;
    const type = u16(buf, pos);
    const ttl = ((buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]) >>> 0;
    const rdlen = u16(buf, pos + 8);
    const rd = pos + 10;
    if (rd + rdlen > len) return null;
    pos = rd + rdlen;
    if (!qr) continue;    // answers in a query: skipped
    let data = '';
    switch (type) {
      case T_A:
        if (rdlen !== 4) return null;
        data = buf[rd] + '.' + buf[rd + 1] + '.' + buf[rd + 2] + '.' + buf[rd + 3];
        break;
      case T_AAAA:
        if (rdlen !== 16) return null;
        data = formatIPv6(buf, rd);
        break;
      case T_CNAME: case T_NS: case T_PTR: case T_DNAME:
        if (!readName(buf, base, len, rd, true) || nameEnd > rd + rdlen) return null;
        data = nameText;
        break;
      case T_TXT: {
        let p = rd;
        const e = rd + rdlen;
        while (p < e) {
          const l = buf[p++];
          if (p + l > e) return null;
          const piece = Buffer.from(buf.buffer, buf.byteOffset + p, l).toString('utf8');
          data = data.length === 0 && p === rd + 1 ? piece : data + ' ' + piece;
          p += l;
        }
        break;
      }
      case T_OPT:
        answers.push({ name: owner, type: 'OPT', ttl: 0, data: '' });
        continue;
      default:
        break;
    }
    answers.push({ name: owner, type: typeName(type), ttl, data });
  }

  let umbrellaEdns = false;
  if (!qr) {
    // authority and additional records: look for OPT and its options
    for (let k = 0; k < ns + ar; k++) {
      if (!readName(buf, base, len, pos, false)) return null;
      pos = nameEnd;
      if (pos + 10 > len) return null;
      const type = u16(buf, pos);
      const rdlen = u16(buf, pos + 8);
      const rd = pos + 10;
      if (rd + rdlen > len) return null;
      pos = rd + rdlen;
      if (type !== T_OPT) continue;
      for (let p = rd; p + 4 <= rd + rdlen;) {
        const code = u16(buf, p);
        if (code === 0x6942 || code === 4) umbrellaEdns = true;
        p += 4 + u16(buf, p + 2);
      }
    }
  }
  return { id, qr, rcode: RCODES[flags & 0x0f], question, answers, umbrellaEdns };
}
