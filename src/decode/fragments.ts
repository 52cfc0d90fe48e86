// IPv4 and IPv6 fragment reassembly, bounded in datagrams in progress, bytes held and time
// (packet time), so that e.g. a fragmented DNS answer reaches the flow stage whole.
//
// Fragments are keyed by (src, dst, protocol, id) for IPv4 (RFC 791) and by (src, dst, id)
// for IPv6 (RFC 8200). Each fragment's payload is copied (a frame's bytes are valid only until
// the next batch). When the last missing piece arrives, the datagram is rebuilt into a fresh
// buffer laid out as an ordinary unfragmented packet, so that offsets work as for any packet:
//
//   IPv4: [ the first fragment's header, IHL*4 bytes with its options, with total length =
//           IHL*4 + payload, MF and fragment offset cleared (DF kept), checksum recomputed ]
//         [ the reassembled payload ]
//   IPv6: [ the first fragment's 40-byte fixed header with payload length = reassembled
//           payload length and next header = the fragment header's next header ]
//         [ the reassembled fragmentable part (any extension headers after the fragment
//           header, then the upper-layer header and data) ]
//         The unfragmentable extension headers before the fragment header (hop-by-hop,
//         routing) are not carried over.
//
// Trouble is counted in the anomaly sink (layer 'fragment'), never thrown:
// - OVERLAP: a fragment overlaps another with different extent or bytes (teardrop and
//   friends); the datagram is dropped and its later fragments are swallowed until it times
//   out. An exact duplicate (same extent, same bytes) is ignored silently.
// - INCONSISTENT: fragments disagree about where the datagram ends.
// - TOO_LARGE: the datagram would exceed 65535 bytes (ping of death); dropped.
// - TOO_MANY_FRAGMENTS: more than MAX_FRAGMENTS pieces for one datagram; dropped.
// - TABLE_FULL: the datagram or byte bound forced the oldest datagram out.
// - INCOMPLETE: a datagram timed out (or was forced out) with pieces missing.
// A fragment whose bytes were cut by the snap length cannot be reassembled: its datagram is
// dropped silently (the walker already counted the frame as snap-truncated).

import type { AnomalySink } from '../errors.js';
import { ipv4HeaderChecksum } from './ipv4.js';

export interface FragmentOptions {
  /** datagrams in progress (default 1024) */
  maxDatagrams: number;
  /** fragment bytes held in total (default 8 MiB) */
  maxBytes: number;
  /** a datagram not completed this long after its first fragment is dropped (packet time, default 30 s) */
  timeoutMs: number;
}

export const DEFAULT_FRAGMENT_OPTIONS: Readonly<FragmentOptions> = Object.freeze({
  maxDatagrams: 1024,
  maxBytes: 8 * 1024 * 1024,
  timeoutMs: 30_000,
});

/** pieces one datagram may have (64 KiB in 1280-byte IPv6 minimum-MTU pieces is ~52; tiny-fragment attacks have hundreds) */
export const MAX_FRAGMENTS = 256;
const MAX_DATAGRAM = 65535;

interface Piece {
  start: number;
  end: number;
  data: Buffer;
}

interface Datagram {
  key: string;
  v6: boolean;
  firstMs: number;
  firstFrame: number;
  /** sorted by start, non-overlapping */
  pieces: Piece[];
  bytes: number;
  /** payload length once the last fragment (MF clear) was seen, else -1 */
  total: number;
  /** copy of the fixed/options header of the offset-0 fragment (IPv4: IHL*4 bytes, IPv6: 40 bytes) */
  header: Buffer | null;
  /** IPv6: the first fragment's fragment-header next header */
  nextHeader: number;
  dead: boolean;
}

/** Facts the walker hands over about one fragment. */
export interface FragmentInfo {
  v6: boolean;
  /** the IP header start in `buf` */
  ipOff: number;
  /** IPv4: IHL*4; IPv6: 40 (fixed header only) */
  headerLen: number;
  /** fragment offset in bytes */
  offset: number;
  more: boolean;
  /** IPv4 protocol / IPv6 fragment header's next header */
  protocol: number;
  id: number;
  /** fragment data [dataStart, dataEnd) in buf, as the headers claim it */
  dataStart: number;
  dataEnd: number;
  /** end of the frame's captured bytes in buf (buf may hold other frames after it) */
  capEnd: number;
}

export class FragmentReassembler {
  private readonly byKey = new Map<string, Datagram>();
  private held = 0;
  private readonly opts: FragmentOptions;
  /** earliest firstMs among datagrams (lower bound; recomputed lazily) */
  private oldestMs = Infinity;

  constructor(private readonly anomalies: AnomalySink, opts: Partial<FragmentOptions> = {}) {
    this.opts = { ...DEFAULT_FRAGMENT_OPTIONS, ...opts };
  }

  /** datagrams in progress (including dropped ones waiting out their timeout) */
  get size(): number { return this.byKey.size; }
  /** fragment payload bytes held */
  get heldBytes(): number { return this.held; }

  /** Drop datagrams older than the timeout at packet time `nowMs`. Cheap when none is due. */
  expire(nowMs: number): void {
    if (nowMs - this.oldestMs <= this.opts.timeoutMs) return;
    let oldest = Infinity;
    for (const d of this.byKey.values()) {
      if (nowMs - d.firstMs > this.opts.timeoutMs) this.remove(d, true);
      else if (d.firstMs < oldest) oldest = d.firstMs;
    }
    this.oldestMs = oldest;
  }

  /**
   * Add one fragment. Returns the rebuilt datagram (layout above) when this fragment
   * completes it, else null (held, swallowed or dropped).
   */
  add(buf: Uint8Array, f: FragmentInfo, frameNo: number, nowMs: number): Buffer | null {
    this.expire(nowMs);
    const key = fragmentKey(buf, f);
    let d = this.byKey.get(key);
    if (d === undefined) {
      this.makeRoom(0, frameNo, true);
      d = {
        key, v6: f.v6, firstMs: nowMs, firstFrame: frameNo, pieces: [], bytes: 0, total: -1,
        header: null, nextHeader: -1, dead: false,
      };
      this.byKey.set(key, d);
      if (nowMs < this.oldestMs) this.oldestMs = nowMs;
    }
    if (d.dead) return null;

    const len = f.dataEnd - f.dataStart;
    const start = f.offset;
    const end = start + len;
    // cut by the snap length (or the capture): cannot be rebuilt
    if (f.dataEnd > f.capEnd) return this.drop(d);
    const hdrLen = f.v6 ? 40 : f.headerLen;
    if (end > (f.v6 ? MAX_DATAGRAM : MAX_DATAGRAM - hdrLen)) {
      this.anomalies.add('fragment', 'TOO_LARGE', frameNo, `fragment ends at ${end}: the datagram would exceed ${MAX_DATAGRAM} bytes`);
      return this.drop(d);
    }
    if (len === 0 && f.more) return null;     // an empty middle piece adds nothing

    // find the insertion point and check for overlaps
    const ps = d.pieces;
    let i = 0;
    while (i < ps.length && ps[i].start < start) i++;
    const prev = i > 0 ? ps[i - 1] : null;
    const next = i < ps.length ? ps[i] : null;
    if (next !== null && next.start === start && next.end === end
      && Buffer.compare(next.data, Buffer.from(buf.buffer, buf.byteOffset + f.dataStart, len)) === 0) {
      return null;                               // exact duplicate
    }
    if ((prev !== null && prev.end > start) || (next !== null && next.start < end)) {
      this.anomalies.add('fragment', 'OVERLAP', frameNo, `fragment [${start}, ${end}) overlaps another of the same datagram; datagram dropped`);
      return this.drop(d);
    }
    if (!f.more) {
      if (d.total >= 0 && d.total !== end) return this.inconsistent(d, frameNo, end);
      for (let k = 0; k < ps.length; k++) if (ps[k].end > end) return this.inconsistent(d, frameNo, end);
      d.total = end;
    } else if (d.total >= 0 && end > d.total) {
      return this.inconsistent(d, frameNo, end);
    }
    if (ps.length >= MAX_FRAGMENTS) {
      this.anomalies.add('fragment', 'TOO_MANY_FRAGMENTS', frameNo, `more than ${MAX_FRAGMENTS} fragments for one datagram; dropped`);
      return this.drop(d);
    }
    if (len > 0) {
      if (!this.makeRoom(len, frameNo, false, d)) return this.drop(d);
      const data = Buffer.allocUnsafe(len);
      data.set(buf.subarray(f.dataStart, f.dataEnd));
      ps.splice(i, 0, { start, end, data });
      d.bytes += len;
      this.held += len;
    }
    if (start === 0) {
      const h = Buffer.allocUnsafe(hdrLen);
      h.set(buf.subarray(f.ipOff, f.ipOff + hdrLen));
      d.header = h;
      d.nextHeader = f.protocol;
    }
    if (d.header === null || d.total < 0) return null;
    // complete when the pieces (sorted, disjoint) tile [0, total)
    let at = 0;
    for (let k = 0; k < ps.length; k++) {
      if (ps[k].start !== at) return null;
      at = ps[k].end;
    }
    if (at !== d.total) return null;
    const out = build(d);
    this.remove(d, false);
    return out;
  }

  /** Drop everything (end of input): incomplete datagrams are counted as INCOMPLETE. */
  flush(): void {
    for (const d of [...this.byKey.values()]) this.remove(d, true);
    this.oldestMs = Infinity;
  }

  private inconsistent(d: Datagram, frameNo: number, end: number): null {
    this.anomalies.add('fragment', 'INCONSISTENT', frameNo, `fragments disagree on where the datagram ends (${end} vs ${d.total >= 0 ? d.total : 'a later piece'}); datagram dropped`);
    return this.drop(d);
  }

  /** keep the key (so later pieces are swallowed) but release the bytes */
  private drop(d: Datagram): null {
    this.held -= d.bytes;
    d.bytes = 0;
    d.pieces = [];
    d.header = null;
    d.dead = true;
    return null;
  }

  private remove(d: Datagram, judge: boolean): void {
    if (judge && !d.dead) {
      this.anomalies.add('fragment', 'INCOMPLETE', d.firstFrame, 'a fragmented datagram never completed (pieces missing) and was dropped');
    }
    this.held -= d.bytes;
    d.bytes = 0;
    this.byKey.delete(d.key);
  }

  /**
   * Make room for a new datagram (`newDatagram`) or for `bytes` more bytes, evicting the
   * oldest datagrams (insertion order) other than `keep`. false when it cannot.
   */
  private makeRoom(bytes: number, frameNo: number, newDatagram: boolean, keep?: Datagram): boolean {
    if (bytes > this.opts.maxBytes) {
      this.anomalies.add('fragment', 'TABLE_FULL', frameNo, `a fragment exceeds the reassembly byte limit (${this.opts.maxBytes})`);
      return false;
    }
    for (const d of this.byKey.values()) {
      const full = newDatagram ? this.byKey.size >= this.opts.maxDatagrams : this.held + bytes > this.opts.maxBytes;
      if (!full) return true;
      if (d === keep) continue;
      this.anomalies.add('fragment', 'TABLE_FULL', frameNo,
        `fragment reassembly full (${this.opts.maxDatagrams} datagrams / ${this.opts.maxBytes} bytes); oldest datagram dropped`);
      this.remove(d, !d.dead);
    }
    return newDatagram ? this.byKey.size < this.opts.maxDatagrams : this.held + bytes <= this.opts.maxBytes;
  }
}

function fragmentKey(buf: Uint8Array, f: FragmentInfo): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (f.v6) return '6' + b.toString('latin1', f.ipOff + 8, f.ipOff + 40) + f.id;
  return '4' + b.toString('latin1', f.ipOff + 12, f.ipOff + 20) + String.fromCharCode(f.protocol) + f.id;
}

function build(d: Datagram): Buffer {
  const h = d.header as Buffer;
  const hl = h.length;
  const out = Buffer.allocUnsafe(hl + d.total);
  h.copy(out, 0);
  for (const p of d.pieces) p.data.copy(out, hl + p.start);
  if (d.v6) {
    out.writeUInt16BE(d.total, 4);
    out[6] = d.nextHeader;
  } else {
    out.writeUInt16BE(hl + d.total, 2);
    out[6] &= 0x40;                              // keep DF, clear MF and the offset
    out[7] = 0;
    out[10] = 0; out[11] = 0;
    out.writeUInt16BE(ipv4HeaderChecksum(out, 0, hl), 10);
  }
  return out;
}
