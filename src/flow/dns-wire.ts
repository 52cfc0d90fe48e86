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
//
// Costs (the DNS service calls it for every message; about 150 ns a message of the
// benchmark's, against 450 ns when every name was decoded into a new string): names repeat
// heavily, so readName looks names up in a bounded cache of name strings (4096 slots,
// direct-mapped by a hash of the name's bytes; a hit is verified against the cached bytes,
// never trusted on the hash alone). A name without compression pointers (every question
// name) is looked up by its wire form: a walk over the label lengths, then a hash and
// compare by 32-bit words, no per-character work; a name with pointers by its lower-case
// text. Only a miss decodes a new string. An answer owner that is just a pointer to the
// question name (`c0 0c`, the usual case) reuses the question's text without a lookup.
// Names with bytes >= 0x80, labels ending in a dot and names over 128 bytes are decoded
// every time (rare). Question objects are cached beside their name (same name, type and
// class: the same object), so a question is shared by every message that asks it and must
// be treated as read-only. A/AAAA: IPv4 address text comes from ipv4TextOf's cache
// (addr.ts), shared with the flow table.
// Messages without answer records carry the shared frozen EMPTY_ANSWERS. `readDnsMessage`
// fills one reused result object (valid until the next call); `parseDnsMessage` returns a
// fresh one. Memory: about 600 KiB of fixed tables, plus the cached strings.

import { createRequire } from 'node:module';
import { formatIPv6, ipv4TextOf } from '../decode/addr.js';
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

/** The `answers` of every message without answer records (frozen: never append to it). */
export const EMPTY_ANSWERS: DnsAnswerRecord[] = Object.freeze([]) as unknown as DnsAnswerRecord[];

const T_A = 1, T_NS = 2, T_CNAME = 5, T_PTR = 12, T_TXT = 16, T_AAAA = 28, T_DNAME = 39, T_OPT = 41;
const MAX_NAME = 255;
const MAX_JUMPS = 128;
// the text of the name being read, lower case (32-bit aligned: hashed and compared by words)
const nameArea = new ArrayBuffer(MAX_NAME + 65);
const nameBuf = Buffer.from(nameArea);
const nameWords = new Int32Array(nameArea);

// Result of the last readName (one constant object: cheaper to write than module-level lets,
// which need a TDZ check on every access): the decoded text (when asked), where the name
// ended, its cache slot (-1: not cacheable), whether it was read without pointers; and the
// message's first question name when it was read without pointers (qOff >= 0): a later name
// that is just a pointer to it (an answer's owner, `c0 0c`) is the same text, not read again.
const R = { text: '', end: 0, slot: -1, plain: false, qOff: -1, qText: '', qSlot: -1 };

// Bounded name cache, direct-mapped by a hash of a key: per slot the string, the key's kind
// and length, and the key's bytes (zero-padded words: a hit is verified against them, never
// trusted on the hash alone). The key of a name written without compression pointers (every
// question name) is its wire form, so a hit costs a walk over the label lengths and a hash
// and compare of the bytes by words, with no per-character work; the key of a name with
// pointers is its lower-case text. Keys longer than NAME_CACHE_MAX bytes are not cached.
// 4096 x 128 bytes = 512 KiB of words (touched only as slots fill).
const NAME_CACHE_SIZE = 4096;
const NAME_CACHE_MAX = 128;
const NAME_WORDS = NAME_CACHE_MAX >> 2;
/** in cacheLen: the key is the wire form (else the text) */
const WIRE_KEY = 0x10000;
const cacheLen = new Int32Array(NAME_CACHE_SIZE);
const cacheWords = new Int32Array(NAME_CACHE_SIZE * NAME_WORDS);
const cacheName: string[] = new Array<string>(NAME_CACHE_SIZE).fill('');
/** the question last built with the name in the same slot (null: none yet) */
const cacheQuestion: (DnsQuestion | null)[] = new Array<DnsQuestion | null>(NAME_CACHE_SIZE).fill(null);
/** the wire key being looked up (words, little-endian, zero-padded) */
const keyWords = new Int32Array(NAME_WORDS);

/**
 * Read the (possibly compressed) name at `off` of the message [base, len). Sets R.end to
 * the offset after it in the record and, when `text`, R.text to its lower-case text.
 * Returns false when invalid. Pointers (relative to `base`) must go backwards (RFC 1035 "a
 * prior occurrence"), as dns-packet requires.
 */
function readName(buf: Uint8Array, base: number, len: number, off: number, text: boolean): boolean {
  let wireSlot = -1;
  if (text) {
    if (R.qOff >= 0 && off + 1 < len && buf[off] >= 0xc0 &&
        base + (((buf[off] & 0x3f) << 8) | buf[off + 1]) === R.qOff) {
      // a pointer to the question name (which lies before `off`, was read without pointers
      // and so is valid from here too)
      R.end = off + 2;
      R.text = R.qText;
      R.slot = R.qSlot;
      R.plain = false;
      return true;
    }
    // a name without pointers: the checks of the full walk below, on label lengths only
    let pos = off;
    let total = 0;
    let plain = true;
    for (;;) {
      if (pos >= len) return false;
      const l = buf[pos];
      if (l === 0) { pos++; break; }
      if (l >= 0x40) { plain = false; break; }     // a pointer (or a label type the walk refuses)
      if (pos + 1 + l > len) return false;
      total += l + 1;
      if (total > 254) return false;
      pos += 1 + l;
    }
    const wlen = pos - off;
    if (plain && wlen <= NAME_CACHE_MAX) {
      const words = (wlen + 3) >> 2;
      let h = wlen;
      for (let w = 0, o = off; w < words; w++, o += 4) {
        let v: number;
        if (o + 4 <= pos) v = buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24);
        else { v = 0; for (let k = 0; o + k < pos; k++) v |= buf[o + k] << (k << 3); }
        keyWords[w] = v;
        h = Math.imul(h ^ v, 0x9e3779b1);
      }
      h ^= h >>> 15;
      const slot = h & (NAME_CACHE_SIZE - 1);
      const at = slot * NAME_WORDS;
      let same = cacheLen[slot] === (wlen | WIRE_KEY);
      for (let w = 0; same && w < words; w++) same = cacheWords[at + w] === keyWords[w];
      if (same) {
        R.end = pos;
        R.plain = true;
        R.text = cacheName[slot];
        R.slot = slot;
        return true;
      }
      wireSlot = slot;                              // a miss: cached there once decoded
    }
  }
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
  R.end = end >= 0 ? end : pos;
  R.plain = end < 0;
  if (text) {
    R.slot = -1;
    if (n === 0) { R.text = ''; return true; }
    if (high || nameBuf[n - 1] === 0x2e || n > NAME_CACHE_MAX) {
      // not cached: UTF-8 text, a label ending in dots (trimmed as normalizeName does), long
      let s = nameBuf.toString(high ? 'utf8' : 'latin1', 0, n);
      if (high) s = s.toLowerCase();
      while (s.endsWith('.')) s = s.slice(0, -1);
      R.text = s;
      return true;
    }
    if (wireSlot >= 0) {
      // ASCII text of a name without pointers: cache it under its wire form (in keyWords)
      const s = nameBuf.toString('latin1', 0, n);
      const wlen = R.end - off;
      const at = wireSlot * NAME_WORDS;
      cacheLen[wireSlot] = wlen | WIRE_KEY;
      for (let w = 0; w < (wlen + 3) >> 2; w++) cacheWords[at + w] = keyWords[w];
      cacheName[wireSlot] = s;
      cacheQuestion[wireSlot] = null;
      R.text = s;
      R.slot = wireSlot;
      return true;
    }
    // ASCII text of a name with pointers: the text is the key (latin1), hashed and compared by words
    const words = (n + 3) >> 2;
    for (let k = n; k < words << 2; k++) nameBuf[k] = 0;
    let h = n;
    for (let w = 0; w < words; w++) h = Math.imul(h ^ nameWords[w], 0x9e3779b1);
    h ^= h >>> 15;
    const slot = h & (NAME_CACHE_SIZE - 1);
    const at = slot * NAME_WORDS;
    let same = cacheLen[slot] === n;
    for (let w = 0; same && w < words; w++) same = cacheWords[at + w] === nameWords[w];
    if (same) {
      R.text = cacheName[slot];
    } else {
      const s = nameBuf.toString('latin1', 0, n);
      cacheLen[slot] = n;
      for (let w = 0; w < words; w++) cacheWords[at + w] = nameWords[w];
      cacheName[slot] = s;
      cacheQuestion[slot] = null;
      R.text = s;
    }
    R.slot = slot;
  }
  return true;
}

/** The question (name just read into R.text/R.slot, type, class): cached per name slot. */
function question(type: number, cls: number): DnsQuestion {
  const tn = typeName(type), cn = className(cls);
  const slot = R.slot;
  if (slot < 0) return { name: R.text, type: tn, class: cn };
  const q = cacheQuestion[slot];
  if (q !== null && q.name === R.text && q.type === tn && q.class === cn) return q;
  const nq: DnsQuestion = { name: R.text, type: tn, class: cn };
  cacheQuestion[slot] = nq;
  return nq;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** The result of readDnsMessage (one object, overwritten by every call). */
const scratch: WireMessage = { id: 0, qr: false, rcode: 'NOERROR', question: null, answers: EMPTY_ANSWERS, umbrellaEdns: false };

/**
 * Parse the DNS message in buf[start, end) (default: all of `buf`). Returns null when this
 * reader does not accept the bytes; the caller then tries dns-packet. The result is a new
 * object (its question may be shared with other results: read-only).
 */
export function parseDnsMessage(buf: Uint8Array, start = 0, end = buf.length): WireMessage | null {
  const w = readDnsMessage(buf, start, end);
  if (w === null) return null;
  return { id: w.id, qr: w.qr, rcode: w.rcode, question: w.question, answers: w.answers, umbrellaEdns: w.umbrellaEdns };
}

/**
 * As parseDnsMessage, but the result is one reused object, valid until the next call (the
 * DNS service's hot path: it copies the fields it keeps). Its question and answers may be
 * kept: they are never reused by later calls (but the question may be shared, read-only).
 */
export function readDnsMessage(buf: Uint8Array, start: number, end: number): WireMessage | null {
  const base = start;
  const len = Math.min(end, buf.length);
  if (len - base < 12) return null;
  const id = u16(buf, base);
  const flags = u16(buf, base + 2);
  const qr = (flags & 0x8000) !== 0;
  const qd = u16(buf, base + 4), an = u16(buf, base + 6), ns = u16(buf, base + 8), ar = u16(buf, base + 10);
  let pos = base + 12;

  let q: DnsQuestion | null = null;
  R.qOff = -1;
  for (let k = 0; k < qd; k++) {
    if (!readName(buf, base, len, pos, k === 0)) return null;
    if (k === 0 && R.plain) { R.qOff = pos; R.qText = R.text; R.qSlot = R.slot; }
    pos = R.end;
    if (pos + 4 > len) return null;
    if (k === 0) q = question(u16(buf, pos), u16(buf, pos + 2));
    pos += 4;
  }

  let answers = EMPTY_ANSWERS;
  for (let k = 0; k < an; k++) {
    if (!readName(buf, base, len, pos, qr)) return null;
    const owner = qr ? R.text : '';
    pos = R.end;
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
        data = ipv4TextOf(((buf[rd] << 24) | (buf[rd + 1] << 16) | (buf[rd + 2] << 8) | buf[rd + 3]) >>> 0);
        break;
      case T_AAAA:
        if (rdlen !== 16) return null;
        data = formatIPv6(buf, rd);
        break;
      case T_CNAME: case T_NS: case T_PTR: case T_DNAME:
        if (!readName(buf, base, len, rd, true) || R.end > rd + rdlen) return null;
        data = R.text;
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
      default:
        break;
    }
    // the first record gets a list of length 1 (most responses hold one or two)
    const rec: DnsAnswerRecord = type === T_OPT
      ? { name: owner, type: 'OPT', ttl: 0, data: '' }
      : { name: owner, type: typeName(type), ttl, data };
    if (answers === EMPTY_ANSWERS) answers = [rec];
    else answers.push(rec);
  }

  let umbrellaEdns = false;
  if (!qr) {
    // authority and additional records: look for OPT and its options
    for (let k = 0; k < ns + ar; k++) {
      if (!readName(buf, base, len, pos, false)) return null;
      pos = R.end;
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
  const w = scratch;
  w.id = id;
  w.qr = qr;
  w.rcode = RCODES[flags & 0x0f];
  w.question = q;
  w.answers = answers;
  w.umbrellaEdns = umbrellaEdns;
  return w;
}
