// IP address text <-> bytes, and CIDR sets. Shared by every stage (decode is the leftmost
// stage that needs it). IPv6 text follows RFC 5952 (lower case, longest run of two or more
// zero groups compressed, first such run on a tie, no IPv4-embedded form).

export function formatIPv4(buf: Uint8Array, off: number): string {
  return buf[off] + '.' + buf[off + 1] + '.' + buf[off + 2] + '.' + buf[off + 3];
}

const V4_TEXT_SLOTS = 4096;
const v4TextKey = new Uint32Array(V4_TEXT_SLOTS);
const v4TextVal: (string | undefined)[] = new Array(V4_TEXT_SLOTS).fill(undefined);

/**
 * Text of an IPv4 address given as a uint32, through a small direct-mapped cache of recent
 * ones (the flow table and the DNS reader format the same few addresses over and over).
 */
export function ipv4TextOf(v: number): string {
  const slot = (Math.imul(v, 0x9e3779b1) >>> 20) & (V4_TEXT_SLOTS - 1);
  const hit = v4TextVal[slot];
  if (hit !== undefined && v4TextKey[slot] === v) return hit;
  const s = (v >>> 24) + '.' + ((v >>> 16) & 255) + '.' + ((v >>> 8) & 255) + '.' + (v & 255);
  v4TextKey[slot] = v;
  v4TextVal[slot] = s;
  return s;
}

export function formatIPv6(buf: Uint8Array, off: number): string {
  const g: number[] = new Array(8);
  for (let i = 0; i < 8; i++) g[i] = (buf[off + 2 * i] << 8) | buf[off + 2 * i + 1];
  // longest run of zero groups (length >= 2)
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return head + '::' + tail;
}

export function formatAddr(buf: Uint8Array, off: number, version: 4 | 6): string {
  return version === 4 ? formatIPv4(buf, off) : formatIPv6(buf, off);
}

/** Parse IPv4 or IPv6 text into 4 or 16 bytes; null when it is not an address. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(':')) return parseIPv6(text);
  return parseIPv4(text);
}

/** Dotted quad -> uint32, or -1 when the text is not one (no regex: this runs per flow). */
export function ipv4ToU32(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let v = 0, part = 0, digits = 0, dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + part;
      part = 0; digits = 0; dots++;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return -1;
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return v * 256 + part;
}

function parseIPv4(text: string): Uint8Array | null {
  const v = ipv4ToU32(text);
  if (v < 0) return null;
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

function parseIPv6(text: string): Uint8Array | null {
  let s = text;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIPv4(it);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) { out[2 * i] = groups[i] >> 8; out[2 * i + 1] = groups[i] & 0xff; }
  return out;
}

/** Canonical text of an address given in any valid form ('2620:0119:0035::0035' -> '2620:119:35::35'); null if invalid. */
export function canonicalIp(text: string): string | null {
  const b = parseIp(text.trim());
  if (!b) return null;
  return b.length === 4 ? formatIPv4(b, 0) : formatIPv6(b, 0);
}

export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

/** Parse 'a.b.c.d/n', 'x::/n' or a bare address (full-length prefix); null if invalid. */
export function parseCidr(text: string): Cidr | null {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addr = parseIp(slash >= 0 ? t.slice(0, slash) : t);
  if (!addr) return null;
  const max = addr.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  // zero the host bits so membership tests compare networks
  const bytes = Uint8Array.from(addr);
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  const base = bytes.length === 4 ? formatIPv4(bytes, 0) : formatIPv6(bytes, 0);
  return { bytes, prefix, text: prefix === max ? base : `${base}/${prefix}` };
}

/** Is the address (4 or 16 bytes) inside the range? */
export function inCidr(c: Cidr, a: Uint8Array): boolean {
  if (a.length !== c.bytes.length) return false;
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== c.bytes[i]) return false;
  const rem = c.prefix & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (a[full] & mask) === c.bytes[full];
}

/**
 * A set of CIDR ranges. IPv4 membership is a few integer compares on the parsed address (no
 * allocation, no memo to thrash on captures with a million distinct addresses); IPv6 uses a
 * bounded per-address memo.
 */
export class CidrSet {
  private readonly ranges: Cidr[] = [];
  private v4net: number[] = [];
  private v4mask: number[] = [];
  private v4idx: number[] = [];
  private readonly memo6 = new Map<string, Cidr | null>();

  constructor(items: Iterable<string> = []) {
    for (const it of items) this.add(it);
  }

  /** Add a CIDR or address; returns false when the text is not valid. */
  add(text: string): boolean {
    const c = parseCidr(text);
    if (!c) return false;
    this.ranges.push(c);
    if (c.bytes.length === 4) {
      const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
      this.v4net.push(((c.bytes[0] << 24) | (c.bytes[1] << 16) | (c.bytes[2] << 8) | c.bytes[3]) >>> 0);
      this.v4mask.push(mask);
      this.v4idx.push(this.ranges.length - 1);
    }
    this.memo6.clear();
    return true;
  }

  get size(): number {
    return this.ranges.length;
  }

  /** The first range (in insertion order among ranges of the family) containing the address, or null. */
  match(ip: string): Cidr | null {
    if (this.ranges.length === 0) return null;
    const v = ipv4ToU32(ip);
    if (v >= 0) {
      const net = this.v4net, mask = this.v4mask;
      for (let i = 0; i < net.length; i++) if (((v & mask[i]) >>> 0) === net[i]) return this.ranges[this.v4idx[i]];
      return null;
    }
    const hit = this.memo6.get(ip);
    if (hit !== undefined) return hit;
    const a = parseIp(ip);
    let found: Cidr | null = null;
    if (a && a.length === 16) for (const c of this.ranges) if (inCidr(c, a)) { found = c; break; }
    if (this.memo6.size >= 16384) this.memo6.clear();
    this.memo6.set(ip, found);
    return found;
  }

  has(ip: string): boolean {
    return this.match(ip) !== null;
  }

  list(): string[] {
    return this.ranges.map((r) => r.text);
  }
}

/**
 * Glob for DNS names: `*` matches any run of characters (dots included), matching is case
 * insensitive, the trailing dot is ignored. 'egw*.gotomeeting.com' matches 'egw3.gotomeeting.com';
 * '*.gotomeeting.com' matches 'a.b.gotomeeting.com' but not 'gotomeeting.com'.
 */
export function nameGlob(pattern: string): (name: string) => boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const re = new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return (name: string) => re.test(name.toLowerCase().replace(/\.$/, ''));
}

/** Distinct names whose answer a name matcher remembers (then it forgets them all and starts over). */
const NAME_MATCH_MEMO = 2048;

/**
 * A matcher for a list of name globs: one regular expression for all of them, its answers
 * remembered per name string (names repeat heavily, and a glob list with leading `*` makes
 * the regular expression backtrack: about 0.5 µs a test against one Map lookup). The memo
 * is bounded: at NAME_MATCH_MEMO names it is cleared.
 */
export function nameMatcher(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  const alts = patterns.map((p) => p.toLowerCase().replace(/\.$/, '').split('*')
    .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*'));
  const re = new RegExp('^(?:' + alts.join('|') + ')\\.?$', 'i');
  const memo = new Map<string, boolean>();
  return (name: string) => {
    let r = memo.get(name);
    if (r === undefined) {
      r = re.test(name);
      if (memo.size >= NAME_MATCH_MEMO) memo.clear();
      memo.set(name, r);
    }
    return r;
  };
}
