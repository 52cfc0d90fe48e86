// Offline address rewriter for recordings made in network namespaces (conventions.md
// rule 11): test addresses and names become the real-world ones (208.67.222.222,
// 18.135.112.200, GoToMeeting ranges, *.sigproxy.qq.opendns.com ...) so the analyzer sees
// captures that look like the field, and every checksum is right.
//
// Library: `new PacketRewriter(options).rewriteFrame(linkType, data, origLen)` and
// `rewriteFile(in, out, options)`. CLI (compiled to dist/captures/tools/rewrite.js):
//
//   node dist/captures/tools/rewrite.js IN OUT --map OLD=NEW [--map ...] [--map-file FILE]
//        [--name OLDSUFFIX=NEWSUFFIX ...] [--dns-port N ...] [--shift-time ISO8601]
//        [--mac-anon] [--format pcap|pcapng] [--quiet]
//
// What is rewritten, per frame (Ethernet with VLAN tags, Linux SLL/SLL2, raw IP, NULL/LOOP):
// - IPv4/IPv6 source and destination (exact addresses or whole prefixes, keeping host bits),
//   ARP sender/target protocol addresses, NDP target/destination addresses;
// - inside ICMP/ICMPv6 error messages: the quoted IP header (addresses, header checksum) and
//   the quoted UDP/TCP checksum (recomputed when the datagram is quoted whole, else updated
//   incrementally, RFC 1624, so it stays what the original sender had);
// - DNS (UDP and TCP, port 53 and every --dns-port): A/AAAA rdata, and names by label-aware
//   suffix (dnsrewrite.ts). A name change that changes the message length is applied to UDP
//   (UDP length, IP total/payload length adjusted) but refused on TCP (it would shift the
//   sequence numbers of the rest of the connection); such names are counted and reported;
// - every checksum of a packet captured whole is recomputed: IPv4 header, TCP, UDP (IPv6 UDP
//   never 0; an IPv4 UDP checksum of 0, "none", stays 0), ICMP, ICMPv6. Packets cut short by
//   the snap length or IP fragments get their checksums updated incrementally instead;
// - --shift-time: every timestamp moves by one offset so the first frame is at the given
//   instant; --mac-anon: unicast MACs become 02:00:00:00:xx:xx in order of appearance
//   (Ethernet, SLL/SLL2 address, ARP, NDP link-layer options).
// Frames that do not parse are copied unchanged (their timestamp is still shifted).

import { readFileSync, realpathSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PcapWriter, PcapngWriter } from '../../src/source/writer.js';
import { readCapture, type ReadCapture } from './capread.js';
import { compileNameRules, rewriteDnsMessage, splitName, type CompiledNameRule, type NameRule } from './dnsrewrite.js';

// ---------------------------------------------------------------------------------------
// Options

export interface AddrMapping {
  family: 4 | 6;
  from: Uint8Array;   // network byte order, host bits zero
  to: Uint8Array;
  prefixLen: number;
}

export interface RewriteOptions {
  maps?: AddrMapping[];
  names?: NameRule[];
  /** ports on which UDP/TCP payloads are DNS messages; 53 is always included */
  dnsPorts?: number[];
  /** the instant the first frame is moved to: [seconds, nanoseconds] */
  shiftTo?: [number, number];
  macAnon?: boolean;
  /** output format; default: pcap when the input has one link type, else pcapng */
  format?: 'pcap' | 'pcapng';
}

export interface RewriteStats {
  frames: number;
  /** frames whose bytes changed */
  changedFrames: number;
  /** frames whose link or network layer did not parse (copied unchanged) */
  unparsedFrames: number;
  /** frames of other network protocols (link layer rewritten only) */
  otherFrames: number;
  /** IP/ARP/NDP addresses mapped (outer packets) */
  addresses: number;
  /** addresses mapped inside ICMP error quotes */
  quotedAddresses: number;
  dnsMessages: number;
  dnsAddresses: number;
  dnsNames: number;
  /** DNS messages whose length changed (UDP length, IP lengths adjusted) */
  dnsResized: number;
  /** names left alone because the new length was not allowed (TCP, truncated, quoted) */
  dnsNamesRefused: number;
  /** TCP DNS payloads that were not whole length-prefixed messages (left untouched) */
  tcpDnsPartial: number;
  /** checksums written (full recomputation) */
  checksumsRecomputed: number;
  /** checksums updated incrementally (packet cut short, fragment, partial quote) */
  checksumsUpdated: number;
  macs: number;
  /** timestamps outside what the output format holds, clamped */
  clampedTimestamps: number;
}

export function emptyStats(): RewriteStats {
  return { frames: 0, changedFrames: 0, unparsedFrames: 0, otherFrames: 0, addresses: 0, quotedAddresses: 0, dnsMessages: 0,
    dnsAddresses: 0, dnsNames: 0, dnsResized: 0, dnsNamesRefused: 0, tcpDnsPartial: 0, checksumsRecomputed: 0,
    checksumsUpdated: 0, macs: 0, clampedTimestamps: 0 };
}

function addrBytes(text: string): Uint8Array | null {
  const fam = isIP(text);
  if (fam === 4) {
    const parts = text.split('.').map(Number);
    return Uint8Array.from(parts);
  }
  if (fam === 6) {
    let t = text;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
    let tail: number[] = [];
    if (v4) {
      const b = v4[1].split('.').map(Number);
      tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
      t = t.slice(0, -v4[1].length) + '0:0';
    }
    const [head, rest] = t.includes('::') ? t.split('::') : [t, null];
    const hs = head ? head.split(':').filter((x) => x !== '') : [];
    const rs = rest ? rest.split(':').filter((x) => x !== '') : [];
    const words = rest === null ? hs : [...hs, ...new Array(8 - hs.length - rs.length).fill('0'), ...rs];
    const out = new Uint8Array(16);
    words.forEach((w, i) => { const v = parseInt(w, 16); out[2 * i] = v >> 8; out[2 * i + 1] = v & 255; });
    if (v4) { out[12] = tail[0] >> 8; out[13] = tail[0] & 255; out[14] = tail[1] >> 8; out[15] = tail[1] & 255; }
    return out;
  }
  return null;
}

function parseCidr(text: string): { bytes: Uint8Array; prefixLen: number } {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = addrBytes(addr);
  if (!bytes) throw new Error(`not an IP address or prefix: ${text}`);
  const max = bytes.length * 8;
  const prefixLen = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    throw new Error(`bad prefix length: ${text}`);
  }
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - 8 * i));
    bytes[i] &= (0xff << (8 - bits)) & 0xff;
  }
  return { bytes, prefixLen };
}

/** "10.31.1.5=208.67.222.222" or "10.31.1.0/24=208.67.222.0/24" */
export function parseMapping(spec: string): AddrMapping {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`--map needs OLD=NEW: ${spec}`);
  const a = parseCidr(spec.slice(0, eq).trim());
  const b = parseCidr(spec.slice(eq + 1).trim());
  if (a.bytes.length !== b.bytes.length) throw new Error(`--map cannot change the address family: ${spec}`);
  if (a.prefixLen !== b.prefixLen) throw new Error(`--map prefixes must have the same length: ${spec}`);
  return { family: a.bytes.length === 4 ? 4 : 6, from: a.bytes, to: b.bytes, prefixLen: a.prefixLen };
}

/** "test.lab=sigproxy.qq.opendns.com" */
export function parseNameRule(spec: string): NameRule {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`--name needs OLD=NEW: ${spec}`);
  const from = splitName(spec.slice(0, eq).trim());
  const to = splitName(spec.slice(eq + 1).trim());
  if (from.length === 0) throw new Error(`--name: empty suffix: ${spec}`);
  for (const l of [...from, ...to]) if (l.length > 63) throw new Error(`--name: label longer than 63 bytes: ${l}`);
  return { from, to };
}

/** ISO-8601 with up to 9 fractional digits; no zone designator means UTC. */
export function parseInstant(text: string): [number, number] {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/i.exec(text.trim());
  if (!m) throw new Error(`--shift-time needs an ISO-8601 instant like 2024-03-05T09:14:03.25Z: ${text}`);
  let zone = m[3] ?? 'Z';
  if (/^[+-]\d{4}$/.test(zone)) zone = zone.slice(0, 3) + ':' + zone.slice(3);
  const ms = Date.parse(m[1] + zone.toUpperCase());
  if (Number.isNaN(ms)) throw new Error(`--shift-time: not a valid date: ${text}`);
  return [Math.floor(ms / 1000), Number(((m[2] ?? '') + '000000000').slice(0, 9))];
}

/** Lines of an address map file: `OLD=NEW` (addresses/prefixes) or `name OLD=NEW`; `#` comments. */
export function parseMapFile(text: string): { maps: AddrMapping[]; names: NameRule[] } {
  const maps: AddrMapping[] = [];
  const names: NameRule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^name\s+(.+)$/i.exec(line);
    if (m) names.push(parseNameRule(m[1]));
    else maps.push(parseMapping(line.replace(/^map\s+/i, '')));
  }
  return { maps, names };
}

// ---------------------------------------------------------------------------------------
// Checksums

/** Sum of big-endian 16-bit words of b[start..end) (an odd last byte is the high half). */
function sum16(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  let i = start;
  for (const e = end - 1; i < e; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < end) s += b[i] << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return s;
}

// ---------------------------------------------------------------------------------------
// The rewriter

const IP_ICMP = 1, IP_TCP = 6, IP_UDP = 17, IP_ICMPV6 = 58;

interface Resized {
  bytes: Buffer;
  /** length of the bytes they replace */
  oldLen: number;
}

/** Per-packet context of the L4 checksum: pseudo-header parts and how to fix it. */
interface CkState {
  /** offset of the checksum field inside the L4 view, -1 when absent */
  at: number;
  /** true: recompute over the whole segment; false: incremental update */
  full: boolean;
  /** incremental: partial sum before any change */
  before: number;
  /** UDP over IPv4 with checksum 0: leave it 0 */
  none: boolean;
}

export class PacketRewriter {
  readonly stats: RewriteStats = emptyStats();
  private readonly map4: AddrMapping[];
  private readonly map6: AddrMapping[];
  private readonly rules: CompiledNameRule[];
  private readonly dnsPort: Uint8Array = new Uint8Array(65536);
  private readonly macAnon: boolean;
  private readonly macs = new Map<string, Buffer>();
  /** counts addresses mapped in the current (quoted or outer) packet */
  private inQuote = false;

  constructor(opts: RewriteOptions = {}) {
    const maps = [...(opts.maps ?? [])].sort((a, b) => b.prefixLen - a.prefixLen);
    this.map4 = maps.filter((m) => m.family === 4);
    this.map6 = maps.filter((m) => m.family === 6);
    this.rules = compileNameRules(opts.names ?? []);
    this.dnsPort[53] = 1;
    for (const p of opts.dnsPorts ?? []) this.dnsPort[p & 0xffff] = 1;
    this.macAnon = opts.macAnon ?? false;
  }

  /** Maps the 4- or 16-byte address at b[off] in place; true when changed. */
  readonly mapAddr = (b: Uint8Array, off: number, len: 4 | 16): boolean => {
    const list = len === 4 ? this.map4 : this.map6;
    for (let k = 0; k < list.length; k++) {
      const m = list[k];
      const full = m.prefixLen >> 3, rest = m.prefixLen & 7;
      let hit = true;
      for (let i = 0; i < full; i++) if (b[off + i] !== m.from[i]) { hit = false; break; }
      if (!hit) continue;
      const mask = (0xff << (8 - rest)) & 0xff;
      if (rest && (b[off + full] & mask) !== m.from[full]) continue;
      let changed = false;
      for (let i = 0; i < full; i++) if (b[off + i] !== m.to[i]) { b[off + i] = m.to[i]; changed = true; }
      if (rest) {
        const v = (b[off + full] & ~mask & 0xff) | m.to[full];
        if (v !== b[off + full]) { b[off + full] = v; changed = true; }
      }
      if (changed) {
        if (this.inQuote) this.stats.quotedAddresses++; else this.stats.addresses++;
      }
      return changed;
    }
    return false;
  };

  private mapMac(b: Uint8Array, off: number): void {
    if (!this.macAnon || off + 6 > b.length) return;
    if (b[off] & 1) return;                                  // group (broadcast/multicast)
    let zero = true;
    for (let i = 0; i < 6; i++) if (b[off + i] !== 0) { zero = false; break; }
    if (zero) return;
    const key = Buffer.from(b.subarray(off, off + 6)).toString('hex');
    let to = this.macs.get(key);
    if (!to) {
      const n = this.macs.size + 1;
      to = Buffer.from([0x02, 0, 0, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
      this.macs.set(key, to);
      this.stats.macs++;
    }
    b.set(to, off);
  }

  /**
   * Rewrites one frame. Returns the new bytes (always a copy) and the new original length.
   * Never throws: a frame that fails to parse anywhere is returned unchanged.
   */
  rewriteFrame(linkType: number, data: Uint8Array, origLen: number): { data: Buffer; origLen: number } {
    this.stats.frames++;
    const orig = Buffer.from(data);
    const work = Buffer.from(data);
    try {
      const r = this.frame(linkType, work, origLen > data.length);
      if (r === null) {
        this.stats.unparsedFrames++;
        return { data: orig, origLen };
      }
      const out = r.bytes ?? work;
      if (!out.equals(orig)) this.stats.changedFrames++;
      return { data: out, origLen: origLen + (out.length - orig.length) };
    } catch {
      this.stats.unparsedFrames++;
      return { data: orig, origLen };
    }
  }

  /** null: nothing parsed at the network layer; else maybe a resized frame. */
  private frame(linkType: number, f: Buffer, cutShort: boolean): { bytes: Buffer | null } | null {
    let off: number;
    let etherType = -1;
    switch (linkType) {
      case 1: {                                              // ETHERNET
        if (f.length < 14) return null;
        this.mapMac(f, 0);
        this.mapMac(f, 6);
        off = 12;
        etherType = f.readUInt16BE(off);
        for (let tags = 0; (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) && tags < 4; tags++) {
          off += 4;
          if (off + 2 > f.length) return null;
          etherType = f.readUInt16BE(off);
        }
        off += 2;
        break;
      }
      case 113: {                                            // LINUX_SLL
        if (f.length < 16) return null;
        if (f.readUInt16BE(4) === 6) this.mapMac(f, 6);
        etherType = f.readUInt16BE(14);
        off = 16;
        break;
      }
      case 276: {                                            // LINUX_SLL2
        if (f.length < 20) return null;
        if (f[11] === 6) this.mapMac(f, 12);
        etherType = f.readUInt16BE(0);
        off = 20;
        break;
      }
      case 101: case 12: case 14: case 228: case 229:        // RAW, IPV4, IPV6
        off = 0;
        break;
      case 0: case 108:                                      // NULL, LOOP
        off = 4;
        break;
      default:
        return null;
    }
    if (off > f.length) return null;
    if (etherType === 0x0806) { this.arp(f, off); return { bytes: null }; }
    if (etherType !== -1 && etherType !== 0x0800 && etherType !== 0x86dd) { this.stats.otherFrames++; return { bytes: null }; }
    if (off >= f.length) return null;
    const v = f[off] >> 4;
    if (v !== 4 && v !== 6) return null;
    const view = f.subarray(off);
    const r = this.ip(view, false, !cutShort, 0);
    if (r === null) return { bytes: null };
    return { bytes: Buffer.concat([f.subarray(0, off), r.bytes, view.subarray(r.oldLen)]) };
  }

  private arp(f: Buffer, off: number): void {
    if (off + 8 > f.length) return;
    const ptype = f.readUInt16BE(off + 2), hlen = f[off + 4], plen = f[off + 5];
    const sha = off + 8, spa = sha + hlen, tha = spa + plen, tpa = tha + hlen;
    if (tpa + plen > f.length) return;
    if (hlen === 6) { this.mapMac(f, sha); this.mapMac(f, tha); }
    if (ptype === 0x0800 && plen === 4) { this.mapAddr(f, spa, 4); this.mapAddr(f, tpa, 4); }
  }

  /**
   * Rewrites the IP packet at p[0] (p holds every captured byte from there on, maybe with
   * link-layer trailer). Changes are made in place; when the packet's length changed the
   * replacement for p[0..oldLen) is returned. `allowResize`: the packet's enclosing headers
   * can be adjusted (false inside cut-short frames).
   */
  private ip(p: Buffer, quoted: boolean, allowResize: boolean, depth: number): Resized | null {
    const v = p.length > 0 ? p[0] >> 4 : 0;
    if (v === 4) return this.ipv4(p, quoted, allowResize, depth);
    if (v === 6) return this.ipv6(p, quoted, allowResize, depth);
    return null;
  }

  private ipv4(p: Buffer, quoted: boolean, allowResize: boolean, depth: number): Resized | null {
    if (p.length < 20) return null;
    const ihl = (p[0] & 15) * 4;
    if (ihl < 20 || ihl > p.length) return null;
    const totalLen = p.readUInt16BE(2);
    const sane = totalLen >= ihl;
    const ipEnd = sane ? Math.min(p.length, totalLen) : p.length;
    const complete = sane && p.length >= totalLen;
    const fragField = p.readUInt16BE(6);
    const fragOff = fragField & 0x1fff;
    const fragmented = (fragField & 0x2000) !== 0 || fragOff !== 0;
    const proto = p[9];
    const prevQuote = this.inQuote;
    this.inQuote = quoted;

    const l4 = p.subarray(ihl, ipEnd);
    const hasL4 = fragOff === 0;
    const ck = hasL4 ? this.ckBegin(p, 12, 16, 4, l4, proto, complete && !fragmented) : null;

    this.mapAddr(p, 12, 4);
    this.mapAddr(p, 16, 4);

    let out = p;
    let resized: Resized | null = null;
    if (hasL4) {
      const newL4 = this.l4(l4, proto, 4, quoted, allowResize && complete && !fragmented, depth);
      if (newL4 !== null) {
        const np = Buffer.concat([p.subarray(0, ihl), newL4]);
        if (np.length <= 65535) {
          np.writeUInt16BE(np.length, 2);
          resized = { bytes: np, oldLen: ipEnd };
          out = np;
        }
      }
      if (ck) this.ckEnd(ck, out, 12, 16, 4, out.subarray(ihl, resized ? out.length : ipEnd), proto);
    }
    // IPv4 header checksum
    out.writeUInt16BE(0, 10);
    out.writeUInt16BE((~fold(sum16(out, 0, ihl))) & 0xffff, 10);
    this.stats.checksumsRecomputed++;
    this.inQuote = prevQuote;
    return resized;
  }

  private ipv6(p: Buffer, quoted: boolean, allowResize: boolean, depth: number): Resized | null {
    if (p.length < 40) return null;
    const payloadLen = p.readUInt16BE(4);
    const ipEnd = Math.min(p.length, 40 + payloadLen);
    const complete = payloadLen > 0 && p.length >= 40 + payloadLen;
    const prevQuote = this.inQuote;
    this.inQuote = quoted;
    let nh = p[6];
    let off = 40;
    let fragmented = false;
    let hasL4 = true;
    let dstAt = 24;
    const routeAddrs: number[] = [];
    for (let n = 0; n < 8; n++) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 51) {
        if (off + 2 > ipEnd) { hasL4 = false; break; }
        const len = nh === 51 ? (p[off + 1] + 2) * 4 : (p[off + 1] + 1) * 8;
        if (nh === 43 && off + 8 <= ipEnd) {
          // routing header: its addresses are mapped too; with segments left, the last hop
          // (type 0/2: the last address; type 4, SRH: segment 0) is the pseudo-header's destination
          const rtype = p[off + 2], segLeft = p[off + 3];
          const n = rtype === 4 ? p[off + 4] + 1 : rtype === 0 || rtype === 2 ? p[off + 1] >> 1 : 0;
          const lim = Math.min(off + len, ipEnd);
          for (let i = 0; i < n && off + 8 + 16 * (i + 1) <= lim; i++) routeAddrs.push(off + 8 + 16 * i);
          if (segLeft > 0 && n > 0 && off + 8 + 16 * n <= lim) dstAt = rtype === 4 ? off + 8 : off + 8 + 16 * (n - 1);
        }
        nh = p[off];
        off += len;
      } else if (nh === 44) {
        if (off + 8 > ipEnd) { hasL4 = false; break; }
        fragmented = true;
        if ((p.readUInt16BE(off + 2) & 0xfff8) !== 0) hasL4 = false;
        nh = p[off];
        off += 8;
      } else break;
    }
    if (off > ipEnd) hasL4 = false;
    const l4 = hasL4 ? p.subarray(off, ipEnd) : p.subarray(ipEnd);
    const ck = hasL4 ? this.ckBegin(p, 8, dstAt, 16, l4, nh, complete && !fragmented) : null;

    this.mapAddr(p, 8, 16);
    this.mapAddr(p, 24, 16);
    for (const a of routeAddrs) this.mapAddr(p, a, 16);

    let out = p;
    let resized: Resized | null = null;
    if (hasL4) {
      const newL4 = this.l4(l4, nh, 6, quoted, allowResize && complete && !fragmented, depth);
      if (newL4 !== null) {
        const np = Buffer.concat([p.subarray(0, off), newL4]);
        if (np.length - 40 <= 65535) {
          np.writeUInt16BE(np.length - 40, 4);
          resized = { bytes: np, oldLen: ipEnd };
          out = np;
        }
      }
      if (ck) this.ckEnd(ck, out, 8, dstAt, 16, out.subarray(off, resized ? out.length : ipEnd), nh);
    }
    this.inQuote = prevQuote;
    return resized;
  }

  /** Where the L4 checksum lives, and its "before" sum when it must be updated incrementally. */
  private ckBegin(ip: Buffer, srcAt: number, dstAt: number, addrLen: number, l4: Buffer, proto: number, complete: boolean): CkState | null {
    let at: number;
    if (proto === IP_TCP) at = 16;
    else if (proto === IP_UDP) at = 6;
    else if (proto === IP_ICMP || proto === IP_ICMPV6) at = 2;
    else return null;
    if (l4.length < at + 2) return null;
    let full = complete;
    if (proto === IP_UDP && full) {
      const udpLen = l4.readUInt16BE(4);
      if (udpLen < 8 || udpLen > l4.length) full = false;
    }
    if (proto === IP_TCP && full && l4.length < 20) full = false;
    const none = proto === IP_UDP && addrLen === 4 && l4.readUInt16BE(6) === 0;
    let before = 0;
    if (!full && !none) before = this.partialSum(ip, srcAt, dstAt, addrLen, l4, at, proto);
    return { at, full, before, none };
  }

  /** Addresses (the only pseudo-header part that changes) + the L4 bytes with the checksum as 0. */
  private partialSum(ip: Buffer, srcAt: number, dstAt: number, addrLen: number, l4: Buffer, at: number, proto: number): number {
    const saved = l4.readUInt16BE(at);
    l4.writeUInt16BE(0, at);
    let s = sum16(l4, 0, l4.length);
    l4.writeUInt16BE(saved, at);
    if (proto !== IP_ICMP) s += sum16(ip, srcAt, srcAt + addrLen) + sum16(ip, dstAt, dstAt + addrLen);
    return fold(s);
  }

  private ckEnd(ck: CkState, ip: Buffer, srcAt: number, dstAt: number, addrLen: number, l4: Buffer, proto: number): void {
    if (ck.none) return;
    if (l4.length < ck.at + 2) return;
    if (ck.full) {
      let segLen = l4.length;
      if (proto === IP_UDP) segLen = l4.readUInt16BE(4);
      l4.writeUInt16BE(0, ck.at);
      let s = sum16(l4, 0, segLen);
      if (proto !== IP_ICMP) s += sum16(ip, srcAt, srcAt + addrLen) + sum16(ip, dstAt, dstAt + addrLen) + proto + segLen;
      let c = (~fold(s)) & 0xffff;
      if (proto === IP_UDP && c === 0) c = 0xffff;
      l4.writeUInt16BE(c, ck.at);
      this.stats.checksumsRecomputed++;
      return;
    }
    const after = this.partialSum(ip, srcAt, dstAt, addrLen, l4, ck.at, proto);
    if (after === ck.before) return;
    const old = l4.readUInt16BE(ck.at);
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')
    let c = (~fold((~old & 0xffff) + (~ck.before & 0xffff) + after)) & 0xffff;
    if (proto === IP_UDP && c === 0) c = 0xffff;
    l4.writeUInt16BE(c, ck.at);
    this.stats.checksumsUpdated++;
  }

  /**
   * Rewrites L4 contents (DNS, ICMP quotes, NDP). Returns a new L4 buffer when the length
   * changed, else null (changes, if any, were made in place).
   */
  private l4(l4: Buffer, proto: number, family: 4 | 6, quoted: boolean, allowResize: boolean, depth: number): Buffer | null {
    if (proto === IP_UDP) {
      if (l4.length < 8) return null;
      const sp = l4.readUInt16BE(0), dp = l4.readUInt16BE(2);
      if (!this.dnsPort[sp] && !this.dnsPort[dp]) return null;
      const udpLen = l4.readUInt16BE(4);
      if (udpLen < 8 + 12 || udpLen > l4.length) return null;    // not whole: leave it
      const msg = l4.subarray(8, udpLen);
      const r = this.dns(msg, allowResize);
      if (r === null) return null;
      if (r.length === msg.length) { r.copy(msg); return null; }
      const nl = Buffer.concat([l4.subarray(0, 8), r, l4.subarray(udpLen)]);
      nl.writeUInt16BE(8 + r.length, 4);
      this.stats.dnsResized++;
      return nl;
    }
    if (proto === IP_TCP) {
      if (l4.length < 20) return null;
      const sp = l4.readUInt16BE(0), dp = l4.readUInt16BE(2);
      if (!this.dnsPort[sp] && !this.dnsPort[dp]) return null;
      const doff = (l4[12] >> 4) * 4;
      if (doff < 20 || doff >= l4.length) return null;
      // whole length-prefixed messages only; names may not change length (sequence numbers)
      const msgs: [number, number][] = [];
      let q = doff;
      while (q + 2 <= l4.length) {
        const n = l4.readUInt16BE(q);
        if (q + 2 + n > l4.length) break;
        msgs.push([q + 2, q + 2 + n]);
        q += 2 + n;
      }
      if (q !== l4.length || msgs.length === 0) { this.stats.tcpDnsPartial++; return null; }
      for (const [a, b] of msgs) {
        const msg = l4.subarray(a, b);
        const r = this.dns(msg, false);
        if (r !== null) r.copy(msg);
      }
      return null;
    }
    if (proto === IP_ICMP && family === 4) {
      if (l4.length < 8 || quoted || depth > 0) return null;
      const type = l4[0];
      if (type !== 3 && type !== 4 && type !== 5 && type !== 11 && type !== 12) return null;
      if (type === 5) this.mapAddr(l4, 4, 4);                     // redirect: gateway address
      return this.quote(l4, allowResize, depth);
    }
    if (proto === IP_ICMPV6 && family === 6) {
      if (l4.length < 8 || depth > 0) return null;
      const type = l4[0];
      if (type >= 1 && type <= 4) return quoted ? null : this.quote(l4, allowResize, depth);
      if ((type === 135 || type === 136) && l4.length >= 24) { this.mapAddr(l4, 8, 16); this.ndpOptions(l4, 24); }
      else if (type === 137 && l4.length >= 40) { this.mapAddr(l4, 8, 16); this.mapAddr(l4, 24, 16); this.ndpOptions(l4, 40); }
      else if (type === 133) this.ndpOptions(l4, 8);
      else if (type === 134) this.ndpOptions(l4, 16);
      return null;
    }
    return null;
  }

  private quote(l4: Buffer, allowResize: boolean, depth: number): Buffer | null {
    const inner = l4.subarray(8);
    const r = this.ip(inner, true, allowResize, depth + 1);
    if (r === null) return null;
    return Buffer.concat([l4.subarray(0, 8), r.bytes, inner.subarray(r.oldLen)]);
  }

  private ndpOptions(l4: Buffer, off: number): void {
    let o = off;
    for (let n = 0; n < 32 && o + 2 <= l4.length; n++) {
      const type = l4[o], len = l4[o + 1] * 8;
      if (len === 0 || o + len > l4.length) return;
      if ((type === 1 || type === 2) && len >= 8) this.mapMac(l4, o + 2);
      o += len;
    }
  }

  /** Rewrites a DNS message; returns the re-encoded message or null (in-place changes only). */
  private dns(msg: Buffer, allowResize: boolean): Buffer | null {
    const r = rewriteDnsMessage(msg, this.mapAddr, this.rules, allowResize);
    if (r === null) return null;
    this.stats.dnsMessages++;
    this.stats.dnsAddresses += r.addresses;
    this.stats.dnsNames += r.names;
    this.stats.dnsNamesRefused += r.namesRefused;
    return r.message;
  }
}

// ---------------------------------------------------------------------------------------
// Files

export interface RewriteFileResult {
  stats: RewriteStats;
  input: Pick<ReadCapture, 'format' | 'precision' | 'truncated' | 'problem'>;
  output: { format: 'pcap' | 'pcapng'; precision: 'us' | 'ns' };
}

/** The file's bytes, decompressed when they start with the gzip or zstd magic. */
export function readMaybeCompressed(path: string): Buffer {
  const raw = readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) return gunzipSync(raw);
  if (raw.length >= 4 && raw.readUInt32LE(0) === 0xfd2fb528) return Buffer.from(zstdDecompress(raw));
  return raw;
}

const MAX_TS = 4294967295;

/**
 * Rewrites a capture file into `outPath` (pcap, or pcapng for mixed link types). The input
 * (pcap/pcapng, maybe gzip/zstd) is read whole into memory: lab recordings are small.
 * Timestamps the output format cannot hold (before 1970, after 2106) are clamped and counted.
 */
export function rewriteFile(inPath: string, outPath: string, opts: RewriteOptions = {}): RewriteFileResult {
  const cap = readCapture(readMaybeCompressed(inPath));
  const rw = new PacketRewriter(opts);
  const linkTypes = [...new Set(cap.frames.length > 0 ? cap.frames.map((f) => f.linkType) : cap.interfaces.map((i) => i.linkType))];
  const format = opts.format ?? (linkTypes.length <= 1 ? 'pcap' : 'pcapng');
  if (format === 'pcap' && linkTypes.length > 1) throw new Error(`the input has ${linkTypes.length} link types; pcap holds one (use --format pcapng)`);
  const precision = cap.precision;
  let dSec = 0, dNsec = 0;
  if (opts.shiftTo && cap.frames.length > 0) {
    const f0 = cap.frames[0];
    dSec = opts.shiftTo[0] - f0.tsSec;
    dNsec = opts.shiftTo[1] - f0.tsNsec;
  }
  const w = format === 'pcap'
    ? PcapWriter.openSync(outPath, { linkType: linkTypes[0] ?? 1, precision, snaplen: cap.snaplen || 262144 })
    : PcapngWriter.openSync(outPath, { precision, interfaces: cap.interfaces.map((i) => ({ linkType: i.linkType, name: i.name ?? undefined, snaplen: i.snaplen })) });
  try {
    for (const f of cap.frames) {
      const r = rw.rewriteFrame(f.linkType, f.data, f.origLen);
      let s = f.tsSec + dSec, ns = f.tsNsec + dNsec;
      if (ns < 0) { ns += 1e9; s--; } else if (ns >= 1e9) { ns -= 1e9; s++; }
      if (s < 0 || s > MAX_TS) { rw.stats.clampedTimestamps++; if (s < 0) { s = 0; ns = 0; } else { s = MAX_TS; ns = 999_999_999; } }
      w.writeSync({ tsSec: s, tsNsec: ns, data: r.data, origLen: r.origLen, linkType: f.linkType, ifIndex: f.ifIndex });
    }
  } finally {
    w.closeSync();
  }
  return { stats: rw.stats, input: { format: cap.format, precision: cap.precision, truncated: cap.truncated, problem: cap.problem },
    output: { format, precision } };
}

// ---------------------------------------------------------------------------------------
// CLI

const USAGE = `usage: node dist/captures/tools/rewrite.js IN OUT [options]
  --map OLD=NEW          map an address (10.31.1.5=208.67.222.222) or a prefix keeping host
                         bits (10.31.3.0/24=18.135.112.0/24); IPv4->IPv4, IPv6->IPv6; repeatable
  --map-file FILE        lines "OLD=NEW" and "name OLD=NEW"; # comments
  --name OLD=NEW         DNS name suffix, label-aware (test.lab=sigproxy.qq.opendns.com); repeatable
  --dns-port N           also treat UDP/TCP port N as DNS (53 always is); repeatable
  --shift-time ISO8601   move all timestamps so the first frame is at this instant (UTC unless a zone is given)
  --mac-anon             replace unicast MAC addresses with 02:00:00:00:xx:xx
  --format pcap|pcapng   output format (default: pcap, or pcapng when the input mixes link types)
  --quiet                no summary on stderr`;

export function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        map: { type: 'string', multiple: true },
        'map-file': { type: 'string', multiple: true },
        name: { type: 'string', multiple: true },
        'dns-port': { type: 'string', multiple: true },
        'shift-time': { type: 'string' },
        'mac-anon': { type: 'boolean' },
        format: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`rewrite: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) { process.stdout.write(USAGE + '\n'); return 0; }
  if (parsed.positionals.length !== 2) { process.stderr.write(USAGE + '\n'); return 2; }
  const [inPath, outPath] = parsed.positionals;
  let opts: RewriteOptions;
  try {
    const maps = (v.map ?? []).map(parseMapping);
    const names = (v.name ?? []).map(parseNameRule);
    for (const file of v['map-file'] ?? []) {
      const m = parseMapFile(readFileSync(file, 'utf8'));
      maps.push(...m.maps);
      names.push(...m.names);
    }
    const dnsPorts = (v['dns-port'] ?? []).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--dns-port: not a port: ${s}`);
      return n;
    });
    if (v.format !== undefined && v.format !== 'pcap' && v.format !== 'pcapng') throw new Error(`--format: pcap or pcapng, not ${v.format}`);
    opts = { maps, names, dnsPorts, macAnon: v['mac-anon'] ?? false, format: v.format as 'pcap' | 'pcapng' | undefined,
      shiftTo: v['shift-time'] !== undefined ? parseInstant(v['shift-time']) : undefined };
  } catch (e) {
    process.stderr.write(`rewrite: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const r = rewriteFile(inPath, outPath, opts);
    if (!v.quiet) {
      process.stderr.write(`rewrite: ${inPath} (${r.input.format}, ${r.input.precision}) -> ${outPath} (${r.output.format}, ${r.output.precision})\n`);
      process.stderr.write(`rewrite: ${JSON.stringify(r.stats)}\n`);
      if (r.input.problem) process.stderr.write(`rewrite: input ${r.input.truncated ? 'truncated' : 'problem'}: ${r.input.problem}\n`);
      if (r.stats.dnsNamesRefused > 0) process.stderr.write(`rewrite: warning: ${r.stats.dnsNamesRefused} DNS names not renamed (length change refused on TCP, cut-short or quoted packets)\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`rewrite: ${(e as Error).message}\n`);
    return 1;
  }
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = main(process.argv.slice(2));
