// A small, self-contained capture reader for the tools in captures/tools (the rewriter). It
// reads a whole file that is already in memory: classic pcap (both byte orders, µs and ns)
// and pcapng (every section, both byte orders, IDBs with if_name / if_tsresol / if_tsoffset,
// EPB, SPB and the obsolete PB; other blocks are skipped). It does not depend on
// src/source/ on purpose (the analyzer's streaming readers are a separate piece of work and
// the rewriter must stay a trustworthy, independent tool).
//
// Untrusted input: every length is checked against the bytes present; a record or block that
// runs past the end stops reading and sets `truncated` (every good frame before it is kept).

export interface ReadFrame {
  tsSec: number;
  tsNsec: number;
  linkType: number;
  /** interface number across the file (pcapng; 0 for pcap) */
  ifIndex: number;
  /** a view into the file's buffer */
  data: Buffer;
  origLen: number;
}

export interface ReadInterface {
  linkType: number;
  name: string | null;
  snaplen: number;
  /** fractional digits of this interface's timestamps (6 µs, 9 ns, ...) */
  tsDigits: number;
}

export interface ReadCapture {
  format: 'pcap' | 'pcapng';
  /** 'ns' when any timestamp is finer than a microsecond, else 'us' */
  precision: 'us' | 'ns';
  snaplen: number;
  interfaces: ReadInterface[];
  frames: ReadFrame[];
  truncated: boolean;
  /** why reading stopped early, if it did */
  problem: string | null;
}

export class NotACaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotACaptureError';
  }
}

const TWO32 = 4294967296;

export function readCapture(buf: Buffer): ReadCapture {
  if (buf.length < 4) throw new NotACaptureError('file too short to be a capture');
  const m = buf.readUInt32LE(0);
  if (m === 0x0a0d0d0a) return readPcapng(buf);
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) return readPcap(buf);
  throw new NotACaptureError('not a pcap or pcapng file (unknown magic)');
}

function readPcap(buf: Buffer): ReadCapture {
  const m = buf.readUInt32LE(0);
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  const ns = m === 0xa1b23c4d || m === 0x4d3cb2a1;
  const out: ReadCapture = { format: 'pcap', precision: ns ? 'ns' : 'us', snaplen: 0, interfaces: [], frames: [],
    truncated: false, problem: null };
  if (buf.length < 24) {
    out.truncated = true;
    out.problem = 'pcap global header cut short';
    return out;
  }
  const u32 = le ? (o: number) => buf.readUInt32LE(o) : (o: number) => buf.readUInt32BE(o);
  out.snaplen = u32(16);
  const linkType = u32(20) & 0x0fffffff & 0xffff;
  out.interfaces.push({ linkType, name: null, snaplen: out.snaplen, tsDigits: ns ? 9 : 6 });
  let p = 24;
  while (p < buf.length) {
    if (p + 16 > buf.length) { out.truncated = true; out.problem = `record header cut short at byte ${p}`; break; }
    const sec = u32(p), frac = u32(p + 4), incl = u32(p + 8), orig = u32(p + 12);
    if (p + 16 + incl > buf.length) { out.truncated = true; out.problem = `record at byte ${p} claims ${incl} bytes, file ends first`; break; }
    const nsec = ns ? frac : frac * 1000;
    out.frames.push({ tsSec: sec + Math.floor(nsec / 1e9), tsNsec: nsec % 1e9, linkType, ifIndex: 0,
      data: buf.subarray(p + 16, p + 16 + incl), origLen: Math.max(orig, incl) });
    p += 16 + incl;
  }
  return out;
}

interface IfState {
  linkType: number;
  snaplen: number;
  /** timestamp units per second as a BigInt, and fractional digits */
  rate: bigint;
  tsDigits: number;
  offsetSec: number;
}

function readPcapng(buf: Buffer): ReadCapture {
  const out: ReadCapture = { format: 'pcapng', precision: 'us', snaplen: 0, interfaces: [], frames: [],
    truncated: false, problem: null };
  let le = true;
  let section: IfState[] = [];
  let base = 0;                       // global index of the section's interface 0
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  let p = 0;
  let sawShb = false;
  while (p < buf.length) {
    if (p + 12 > buf.length) { out.truncated = true; out.problem = `block header cut short at byte ${p}`; break; }
    const rawType = buf.readUInt32LE(p);
    if (rawType === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(p + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else { out.problem = `bad byte-order magic at byte ${p}`; out.truncated = true; break; }
      sawShb = true;
      base = out.interfaces.length;
      section = [];
    } else if (!sawShb) {
      throw new NotACaptureError('pcapng without a section header');
    }
    const type = u32(p);
    const len = u32(p + 4);
    if (len < 12 || len % 4 !== 0) { out.truncated = true; out.problem = `bad block length ${len} at byte ${p}`; break; }
    if (p + len > buf.length) { out.truncated = true; out.problem = `block at byte ${p} claims ${len} bytes, file ends first`; break; }
    const end = p + len - 4;
    if (type === 1 && len >= 20) {
      const st: IfState = { linkType: u16(p + 8), snaplen: u32(p + 12), rate: 1_000_000n, tsDigits: 6, offsetSec: 0 };
      let name: string | null = null;
      let o = p + 16;
      while (o + 4 <= end) {
        const code = u16(o), ol = u16(o + 2);
        if (code === 0 || o + 4 + ol > end) break;
        if (code === 2) name = buf.toString('utf8', o + 4, o + 4 + ol);
        if (code === 9 && ol >= 1) {
          const v = buf[o + 4];
          if (v & 0x80) {
            const e = v & 0x7f;
            st.rate = 1n << BigInt(e);
            st.tsDigits = Math.min(9, Math.ceil(e * Math.log10(2)));
          } else {
            st.rate = 10n ** BigInt(v);
            st.tsDigits = v;
          }
        }
        if (code === 14 && ol >= 8) {
          const hi = le ? buf.readInt32LE(o + 8) : buf.readInt32BE(o + 4);
          const lo = le ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 8);
          st.offsetSec = hi * TWO32 + lo;
        }
        o += 4 + ((ol + 3) & ~3);
      }
      section.push(st);
      out.interfaces.push({ linkType: st.linkType, name, snaplen: st.snaplen, tsDigits: st.tsDigits });
      if (st.tsDigits > 6) out.precision = 'ns';
      if (st.snaplen > out.snaplen) out.snaplen = st.snaplen;
    } else if (type === 6 || type === 2) {
      if (len < 32) { out.problem = `short packet block at byte ${p}`; p += len; continue; }
      const id = type === 6 ? u32(p + 8) : u16(p + 8);
      const st = section[id];
      const cap = u32(p + 20), orig = u32(p + 24);
      if (st !== undefined && p + 28 + cap <= end) {
        const units = (BigInt(u32(p + 12)) << 32n) | BigInt(u32(p + 16));
        const sec = units / st.rate;
        const frac = units - sec * st.rate;
        out.frames.push({ tsSec: Number(sec) + st.offsetSec, tsNsec: Number((frac * 1_000_000_000n) / st.rate),
          linkType: st.linkType, ifIndex: base + id, data: buf.subarray(p + 28, p + 28 + cap), origLen: Math.max(orig, cap) });
      } else if (out.problem === null) {
        out.problem = `packet block at byte ${p} names unknown interface ${id} or overruns its block`;
      }
    } else if (type === 3) {
      const st = section[0];
      if (st !== undefined && len >= 16) {
        const orig = u32(p + 8);
        let cap = Math.min(orig, end - (p + 12));
        if (st.snaplen > 0) cap = Math.min(cap, st.snaplen);
        out.frames.push({ tsSec: 0, tsNsec: 0, linkType: st.linkType, ifIndex: base,
          data: buf.subarray(p + 12, p + 12 + cap), origLen: Math.max(orig, cap) });
      }
    }
    p += len;
  }
  if (!sawShb) throw new NotACaptureError('pcapng without a section header');
  return out;
}
