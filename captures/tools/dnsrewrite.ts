// DNS message rewriting for the capture rewriter: A/AAAA rdata mapped through the address map
// (in place, same length) and domain names mapped by label-aware suffix (question names, owner
// names, and the names inside CNAME, DNAME, NS, PTR, MX, SOA, SRV, AFSDB, RT, MINFO, RP, MB,
// MD, MF, MG, MR rdata). When a name changes, the whole message is re-encoded by hand:
// header and every other byte (flags, OPT, TXT, unknown types) copied verbatim, names written
// again with compression when the original used compression (and only where RFC 1035 /
// RFC 3597 allow it), rdlength recomputed.
//
// Layout reminder (RFC 1035 §4.1): 12-byte header (id, flags, qdcount, ancount, nscount,
// arcount), questions (name, type u16, class u16), resource records (name, type u16, class
// u16, ttl u32, rdlength u16, rdata). A name is labels (length byte 1..63 + bytes) ending in a
// zero byte, or ending in a pointer (two bytes 11xxxxxx xxxxxxxx: offset from message start).

/** A name mapping: labels compared ASCII-case-insensitively as a suffix of the name. */
export interface NameRule {
  /** lowercase labels of the suffix to replace, e.g. ['test', 'lab'] */
  from: string[];
  /** labels written instead, e.g. ['sigproxy', 'qq', 'opendns', 'com'] */
  to: string[];
}

/** Maps 4- or 16-byte addresses in place; returns true when it changed them. */
export type AddrMapper = (buf: Uint8Array, off: number, len: 4 | 16) => boolean;

export interface DnsRewriteResult {
  /** the re-encoded message, when names changed and `allowResize` or the length stayed */
  message: Buffer | null;
  /** A/AAAA rdata mapped in place */
  addresses: number;
  /** names that changed */
  names: number;
  /** names that would have changed but the new length was not allowed */
  namesRefused: number;
}

const MAX_NAME = 255;
const MAX_JUMPS = 64;

/** rdata layouts that hold names: [bytes before the first name, number of names, bytes after] */
const NAME_RDATA: Record<number, { pre: number; names: number; compress: boolean }> = {
  2: { pre: 0, names: 1, compress: true },   // NS
  3: { pre: 0, names: 1, compress: true },   // MD
  4: { pre: 0, names: 1, compress: true },   // MF
  5: { pre: 0, names: 1, compress: true },   // CNAME
  6: { pre: 0, names: 2, compress: true },   // SOA (+ 20 bytes of numbers)
  7: { pre: 0, names: 1, compress: true },   // MB
  8: { pre: 0, names: 1, compress: true },   // MG
  9: { pre: 0, names: 1, compress: true },   // MR
  12: { pre: 0, names: 1, compress: true },  // PTR
  14: { pre: 0, names: 2, compress: true },  // MINFO
  15: { pre: 2, names: 1, compress: true },  // MX
  17: { pre: 0, names: 2, compress: false }, // RP
  18: { pre: 2, names: 1, compress: false }, // AFSDB
  21: { pre: 2, names: 1, compress: false }, // RT
  33: { pre: 6, names: 1, compress: false }, // SRV
  39: { pre: 0, names: 1, compress: false }, // DNAME
};

interface Name {
  labels: Buffer[];
}

interface Rr {
  name: Name;
  /** bytes after the name: question: type+class (4); RR: type, class, ttl (8) */
  fixedStart: number;
  type: number;
  /** RRs only: rdata start and length in the message */
  rdStart: number;
  rdLen: number;
  /** names inside rdata (for NAME_RDATA types), in order, with the verbatim parts between */
  rdNames: Name[] | null;
}

interface Parsed {
  questions: Rr[];
  records: Rr[];
  compressed: boolean;
}

class Cursor {
  compressed = false;
  constructor(readonly msg: Buffer) {}

  /** Reads a name at `off`; returns [name, end offset] or null when malformed. */
  name(off: number, limit: number): [Name, number] | null {
    const msg = this.msg;
    const labels: Buffer[] = [];
    let p = off;
    let end = -1;
    let total = 1;
    let jumps = 0;
    let lim = limit;
    for (;;) {
      if (p >= lim) return null;
      const b = msg[p];
      if (b === 0) {
        if (end < 0) end = p + 1;
        break;
      }
      if ((b & 0xc0) === 0xc0) {
        if (p + 2 > lim) return null;
        const target = ((b & 0x3f) << 8) | msg[p + 1];
        if (end < 0) end = p + 2;
        this.compressed = true;
        if (++jumps > MAX_JUMPS || target >= p) return null;   // only backwards: no loops
        p = target;
        lim = msg.length;
        continue;
      }
      if ((b & 0xc0) !== 0) return null;                     // 0x40 / 0x80 label types
      if (p + 1 + b > lim) return null;
      total += b + 1;
      if (total > MAX_NAME) return null;
      labels.push(msg.subarray(p + 1, p + 1 + b));
      p += 1 + b;
    }
    return [{ labels }, end];
  }
}

function parse(msg: Buffer): Parsed | null {
  if (msg.length < 12) return null;
  const c = new Cursor(msg);
  const qd = msg.readUInt16BE(4), an = msg.readUInt16BE(6), ns = msg.readUInt16BE(8), ar = msg.readUInt16BE(10);
  let p = 12;
  const questions: Rr[] = [];
  const records: Rr[] = [];
  for (let i = 0; i < qd; i++) {
    const n = c.name(p, msg.length);
    if (!n || n[1] + 4 > msg.length) return null;
    questions.push({ name: n[0], fixedStart: n[1], type: msg.readUInt16BE(n[1]), rdStart: 0, rdLen: 0, rdNames: null });
    p = n[1] + 4;
  }
  const nrr = an + ns + ar;
  for (let i = 0; i < nrr; i++) {
    const n = c.name(p, msg.length);
    if (!n || n[1] + 10 > msg.length) return null;
    const fs = n[1];
    const type = msg.readUInt16BE(fs);
    const rdLen = msg.readUInt16BE(fs + 8);
    const rdStart = fs + 10;
    const rdEnd = rdStart + rdLen;
    if (rdEnd > msg.length) return null;
    let rdNames: Name[] | null = null;
    const layout = NAME_RDATA[type];
    if (layout !== undefined && rdLen > 0) {
      rdNames = [];
      let q = rdStart + layout.pre;
      for (let k = 0; k < layout.names; k++) {
        const rn = c.name(q, rdEnd);
        if (!rn) return null;
        rdNames.push(rn[0]);
        q = rn[1];
      }
      const after = type === 6 ? 20 : 0;
      if (q + after !== rdEnd) return null;
    }
    records.push({ name: n[0], fixedStart: fs, type, rdStart, rdLen, rdNames });
    p = rdEnd;
  }
  if (p !== msg.length) return null;   // strict: the message must be exactly consumed
  return { questions, records, compressed: c.compressed };
}

function lowerAscii(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

function labelEquals(label: Buffer, lower: Buffer): boolean {
  if (label.length !== lower.length) return false;
  for (let i = 0; i < label.length; i++) if (lowerAscii(label[i]) !== lower[i]) return false;
  return true;
}

export interface CompiledNameRule {
  from: Buffer[];
  to: Buffer[];
}

export function compileNameRules(rules: NameRule[]): CompiledNameRule[] {
  return rules
    .map((r) => ({ from: r.from.map((l) => Buffer.from(l.toLowerCase(), 'latin1')), to: r.to.map((l) => Buffer.from(l, 'latin1')) }))
    .sort((a, b) => b.from.length - a.from.length);
}

/** The mapped name, or null when no rule applies (or the result would be too long). */
export function mapNameLabels(labels: Buffer[], rules: CompiledNameRule[]): Buffer[] | null {
  for (const r of rules) {
    const n = r.from.length;
    if (labels.length < n) continue;
    let ok = true;
    for (let i = 0; i < n; i++) {
      if (!labelEquals(labels[labels.length - n + i], r.from[i])) { ok = false; break; }
    }
    if (!ok) continue;
    const out = labels.slice(0, labels.length - n).concat(r.to);
    let total = 1;
    for (const l of out) total += l.length + 1;
    if (total > MAX_NAME) return null;
    let same = out.length === labels.length;
    for (let i = 0; same && i < out.length; i++) same = out[i].equals(labels[i]);
    return same ? null : out;
  }
  return null;
}

/** Growable output with RFC 1035 name compression. */
class Encoder {
  buf: Buffer;
  pos = 0;
  private readonly dict = new Map<string, number>();
  constructor(size: number, private readonly compressing: boolean) {
    this.buf = Buffer.alloc(Math.max(512, size));
  }
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const nb = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  bytes(src: Buffer, start: number, end: number): void {
    this.room(end - start);
    src.copy(this.buf, this.pos, start, end);
    this.pos += end - start;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  name(labels: Buffer[], compress: boolean): void {
    for (let i = 0; i < labels.length; i++) {
      const key = this.compressing ? suffixKey(labels, i) : '';
      if (this.compressing && compress) {
        const at = this.dict.get(key);
        if (at !== undefined) { this.u16(0xc000 | at); return; }
      }
      if (this.compressing && this.pos < 0x4000 && !this.dict.has(key)) this.dict.set(key, this.pos);
      const l = labels[i];
      this.room(1 + l.length);
      this.buf[this.pos++] = l.length;
      l.copy(this.buf, this.pos);
      this.pos += l.length;
    }
    this.room(1);
    this.buf[this.pos++] = 0;
  }
}

function suffixKey(labels: Buffer[], from: number): string {
  let s = '';
  for (let i = from; i < labels.length; i++) {
    const l = labels[i];
    for (let k = 0; k < l.length; k++) s += String.fromCharCode(lowerAscii(l[k]));
    s += '\u0000';
  }
  return s;
}

/**
 * Rewrites one DNS message. A/AAAA rdata are mapped in place in `msg`. When a name changes,
 * a re-encoded message is returned, unless its length differs and `allowResize` is false (then
 * the names are left alone and counted in `namesRefused`). A message that does not parse
 * strictly is left untouched (returns null with zero counts).
 */
export function rewriteDnsMessage(msg: Buffer, mapAddr: AddrMapper, rules: CompiledNameRule[], allowResize: boolean): DnsRewriteResult | null {
  const parsed = parse(msg);
  if (!parsed) return null;
  const res: DnsRewriteResult = { message: null, addresses: 0, names: 0, namesRefused: 0 };
  for (const r of parsed.records) {
    if ((r.type === 1 && r.rdLen === 4) || (r.type === 28 && r.rdLen === 16)) {
      if (mapAddr(msg, r.rdStart, r.rdLen as 4 | 16)) res.addresses++;
    }
  }
  if (rules.length === 0) return res;
  let changed = 0;
  const mapped = (n: Name): Buffer[] => {
    const m = mapNameLabels(n.labels, rules);
    if (m) { changed++; return m; }
    return n.labels;
  };
  const enc = new Encoder(msg.length + 64, parsed.compressed);
  enc.bytes(msg, 0, 12);
  for (const q of parsed.questions) {
    enc.name(mapped(q.name), true);
    enc.bytes(msg, q.fixedStart, q.fixedStart + 4);
  }
  for (const r of parsed.records) {
    enc.name(mapped(r.name), true);
    enc.bytes(msg, r.fixedStart, r.fixedStart + 8);
    const lenAt = enc.pos;
    enc.u16(0);
    const start = enc.pos;
    if (r.rdNames) {
      const layout = NAME_RDATA[r.type];
      enc.bytes(msg, r.rdStart, r.rdStart + layout.pre);
      for (const n of r.rdNames) enc.name(mapped(n), layout.compress);
      if (r.type === 6) enc.bytes(msg, r.rdStart + r.rdLen - 20, r.rdStart + r.rdLen);
    } else {
      enc.bytes(msg, r.rdStart, r.rdStart + r.rdLen);
    }
    enc.buf.writeUInt16BE(enc.pos - start, lenAt);
  }
  if (changed === 0) return res;
  if (!allowResize && enc.pos !== msg.length) {
    res.namesRefused = changed;
    return res;
  }
  res.names = changed;
  res.message = enc.buf.subarray(0, enc.pos);
  return res;
}

/** Text form of a wire name, for tests and messages: labels joined by dots. */
export function nameText(labels: Buffer[]): string {
  return labels.map((l) => l.toString('latin1')).join('.');
}

/** "a.Test.lab." -> ['a', 'Test', 'lab'] */
export function splitName(text: string): string[] {
  return text.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
}
