// Crafted captures for reader tests: classic pcap (µs / ns, little / big endian, modified
// record headers) and pcapng (several sections of either byte order, several interfaces with
// their own link type, snap length, if_tsresol and if_tsoffset; Enhanced, Simple and obsolete
// Packet Blocks; NRB, ISB, DSB, custom and unknown blocks; unknown options), plus gzip / zstd.
//
// `expectedFrames` computes what a correct reader must hand out for a pcapng layout, with
// BigInt arithmetic written independently of src/source (the reference the readers are
// checked against).
//
// Byte layouts (all fields in the section's / file's byte order):
//   pcap file header: magic(4) major(2) minor(2) thiszone(4) sigfigs(4) snaplen(4) linktype(4)
//   pcap record:      ts_sec(4) ts_frac(4) incl_len(4) orig_len(4) [modified: +ifindex(4) proto(2) type(1) pad(1)] data
//   pcapng block:     type(4) total_len(4) body... total_len(4); body padded to 4
//   SHB body: bom(4) major(2) minor(2) section_len(8) options
//   IDB body: linktype(2) reserved(2) snaplen(4) options
//   EPB body: if_id(4) ts_hi(4) ts_lo(4) caplen(4) origlen(4) data pad options
//   SPB body: origlen(4) data pad
//   PB  body: if_id(2) drops(2) ts_hi(4) ts_lo(4) caplen(4) origlen(4) data pad options
//   option:   code(2) len(2) value pad; end of options: code 0 len 0

import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

export type ByteOrder = 'le' | 'be';

class W {
  private parts: Buffer[] = [];
  constructor(readonly le: boolean) {}
  u8(v: number): this { this.parts.push(Buffer.from([v & 0xff])); return this; }
  u16(v: number): this { const b = Buffer.alloc(2); if (this.le) b.writeUInt16LE(v & 0xffff); else b.writeUInt16BE(v & 0xffff); this.parts.push(b); return this; }
  u32(v: number): this { const b = Buffer.alloc(4); if (this.le) b.writeUInt32LE(v >>> 0); else b.writeUInt32BE(v >>> 0); this.parts.push(b); return this; }
  i32(v: number): this { const b = Buffer.alloc(4); if (this.le) b.writeInt32LE(v); else b.writeInt32BE(v); this.parts.push(b); return this; }
  i64(v: bigint): this { const b = Buffer.alloc(8); if (this.le) b.writeBigInt64LE(v); else b.writeBigInt64BE(v); this.parts.push(b); return this; }
  bytes(b: Uint8Array): this { this.parts.push(Buffer.from(b)); return this; }
  pad4(): this { const n = this.length % 4; if (n) this.parts.push(Buffer.alloc(4 - n)); return this; }
  get length(): number { return this.parts.reduce((a, p) => a + p.length, 0); }
  done(): Buffer { return Buffer.concat(this.parts); }
}

// ---------------------------------------------------------------------------------------
// classic pcap

export interface PcapPacket {
  sec: number;
  /** µs for µs files, ns for ns files (the raw fraction field) */
  frac: number;
  data: Uint8Array;
  /** default data.length */
  origLen?: number;
  /** override incl_len (damage) */
  inclLen?: number;
}

export interface PcapOptions {
  byteOrder?: ByteOrder;
  nano?: boolean;
  /** 24-byte record headers (magic a1b2cd34) */
  modified?: boolean;
  linkType?: number;
  /** raw 32-bit linktype field (upper bits: FCS length / reserved) */
  linkTypeField?: number;
  snaplen?: number;
  version?: [number, number];
}

export function buildPcap(opts: PcapOptions, packets: PcapPacket[]): Buffer {
  const w = new W((opts.byteOrder ?? 'le') === 'le');
  const magic = opts.modified ? 0xa1b2cd34 : opts.nano ? 0xa1b23c4d : 0xa1b2c3d4;
  const [major, minor] = opts.version ?? [2, 4];
  w.u32(magic).u16(major).u16(minor).i32(0).u32(0).u32(opts.snaplen ?? 65535)
    .u32(opts.linkTypeField ?? opts.linkType ?? 1);
  for (const p of packets) {
    w.u32(p.sec).u32(p.frac).u32(p.inclLen ?? p.data.length).u32(p.origLen ?? p.data.length);
    if (opts.modified) w.u32(3).u16(0x0800).u8(0).u8(0);
    w.bytes(p.data);
  }
  return w.done();
}

// ---------------------------------------------------------------------------------------
// pcapng

export interface NgOption { code: number; value: Uint8Array }

export interface NgIdb {
  kind: 'idb';
  linkType: number;
  snaplen?: number;
  /** raw if_tsresol byte (absent: 10^-6) */
  tsresol?: number;
  /** if_tsoffset, seconds */
  tsoffset?: bigint;
  options?: NgOption[];
}
export interface NgEpb {
  kind: 'epb';
  ifid: number;
  /** timestamp in the interface's ticks */
  ticks: bigint;
  data: Uint8Array;
  origLen?: number;
  options?: NgOption[];
}
export interface NgPb {
  kind: 'pb';
  ifid: number;
  ticks: bigint;
  data: Uint8Array;
  origLen?: number;
  drops?: number;
}
export interface NgSpb {
  kind: 'spb';
  /** the original packet; the block holds min(origLen, snaplen of interface 0) bytes of it */
  data: Uint8Array;
  origLen?: number;
}
export interface NgOther {
  kind: 'nrb' | 'isb' | 'dsb' | 'custom' | 'custom-nocopy' | 'journal' | 'unknown';
  /** block type for 'unknown' */
  type?: number;
  body?: Uint8Array;
}
export type NgBlock = NgIdb | NgEpb | NgPb | NgSpb | NgOther;

export interface NgSection {
  byteOrder?: ByteOrder;
  version?: [number, number];
  options?: NgOption[];
  blocks: NgBlock[];
}

function writeOptions(w: W, options: NgOption[] | undefined): void {
  if (!options || options.length === 0) return;
  for (const o of options) w.u16(o.code).u16(o.value.length).bytes(o.value).pad4();
  w.u16(0).u16(0);
}

function checkTicks(t: bigint): bigint {
  if (t < 0n || t >= 1n << 64n) throw new RangeError(`ticks ${t} do not fit in 64 bits`);
  return t;
}

function block(le: boolean, type: number, body: Buffer): Buffer {
  const w = new W(le);
  const padded = body.length % 4 ? Buffer.concat([body, Buffer.alloc(4 - (body.length % 4))]) : body;
  const len = padded.length + 12;
  return w.u32(type).u32(len).bytes(padded).u32(len).done();
}

export function optComment(text: string): NgOption {
  return { code: 1, value: Buffer.from(text) };
}

/** A section's blocks, one Buffer each (for tests that damage one block). */
export function buildPcapngBlocks(sections: NgSection[]): Buffer[] {
  const out: Buffer[] = [];
  for (const s of sections) {
    const le = (s.byteOrder ?? 'le') === 'le';
    const [major, minor] = s.version ?? [1, 0];
    const shb = new W(le).u32(0x1a2b3c4d).u16(major).u16(minor).i64(-1n);
    writeOptions(shb, s.options);
    out.push(block(le, 0x0a0d0d0a, shb.done()));
    const snaps: number[] = [];
    for (const b of s.blocks) {
      const w = new W(le);
      switch (b.kind) {
        case 'idb': {
          w.u16(b.linkType).u16(0).u32(b.snaplen ?? 0);
          snaps.push(b.snaplen ?? 0);
          const opts: NgOption[] = [...(b.options ?? [])];
          if (b.tsresol !== undefined) opts.push({ code: 9, value: Buffer.from([b.tsresol]) });
          if (b.tsoffset !== undefined) opts.push({ code: 14, value: new W(le).i64(b.tsoffset).done() });
          writeOptions(w, opts);
          out.push(block(le, 1, w.done()));
          break;
        }
        case 'epb':
          checkTicks(b.ticks);
          w.u32(b.ifid).u32(Number(b.ticks >> 32n)).u32(Number(b.ticks & 0xffffffffn))
            .u32(b.data.length).u32(b.origLen ?? b.data.length).bytes(b.data).pad4();
          writeOptions(w, b.options);
          out.push(block(le, 6, w.done()));
          break;
        case 'pb':
          checkTicks(b.ticks);
          w.u16(b.ifid).u16(b.drops ?? 0).u32(Number(b.ticks >> 32n)).u32(Number(b.ticks & 0xffffffffn))
            .u32(b.data.length).u32(b.origLen ?? b.data.length).bytes(b.data).pad4();
          out.push(block(le, 2, w.done()));
          break;
        case 'spb': {
          const orig = b.origLen ?? b.data.length;
          const snap = snaps[0] ?? 0;
          const cap = snap !== 0 && snap < orig ? snap : orig;
          w.u32(orig).bytes(b.data.subarray(0, cap));
          out.push(block(le, 3, w.done()));
          break;
        }
        case 'nrb': {
          // one IPv4 record, end of records
          const name = Buffer.from('host.example\0');
          w.u16(1).u16(4 + name.length).bytes(Buffer.from([192, 0, 2, 1])).bytes(name).pad4().u16(0).u16(0);
          out.push(block(le, 4, w.done()));
          break;
        }
        case 'isb':
          w.u32(0).u32(0).u32(0);
          writeOptions(w, [{ code: 4, value: new W(le).i64(5n).done() }]);
          out.push(block(le, 5, w.done()));
          break;
        case 'dsb':
          w.u32(0x544c534b).u32(8).bytes(Buffer.from('CLIENT_R'));
          out.push(block(le, 10, w.done()));
          break;
        case 'custom': case 'custom-nocopy':
          w.u32(32473).bytes(b.body ?? Buffer.from('custom data'));
          out.push(block(le, b.kind === 'custom' ? 0xbad : 0x40000bad, w.done()));
          break;
        case 'journal':
          w.bytes(b.body ?? Buffer.from('__REALTIME_TIMESTAMP=1500000000000000\nMESSAGE=hello\n'));
          out.push(block(le, 9, w.done()));
          break;
        case 'unknown':
          w.bytes(b.body ?? Buffer.from('unknown block body'));
          out.push(block(le, b.type ?? 0x12345678, w.done()));
          break;
      }
    }
  }
  return out;
}

export function buildPcapng(sections: NgSection[]): Buffer {
  return Buffer.concat(buildPcapngBlocks(sections));
}

// ---------------------------------------------------------------------------------------
// expected reader output (independent BigInt reference)

export interface ExpectedFrame {
  frameNo: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  ifIndex: number;
  capLen: number;
  origLen: number;
  data: Buffer;
  noTimestamp: boolean;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** seconds + ns for `ticks` at if_tsresol `tsresol` plus `offset` s, rounded down to the ns */
export function ticksToSecNsec(ticks: bigint, tsresol: number | undefined, offset: bigint = 0n): [number, number] {
  const r = tsresol ?? 6;
  const units = (r & 0x80) ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r & 0x7f);
  const totalNs = floorDiv(ticks * 1000000000n, units) + offset * 1000000000n;
  const sec = floorDiv(totalNs, 1000000000n);
  return [Number(sec), Number(totalNs - sec * 1000000000n)];
}

/** What a reader must produce for these sections (custom / journal blocks take a frame number). */
export function expectedFrames(sections: NgSection[]): ExpectedFrame[] {
  const out: ExpectedFrame[] = [];
  let frameNo = 0;
  let base = 0;
  let prev: [number, number] = [0, 0];
  for (const s of sections) {
    const ifs: NgIdb[] = [];
    for (const b of s.blocks) {
      switch (b.kind) {
        case 'idb': ifs.push(b); break;
        case 'epb': case 'pb': {
          const i = ifs[b.ifid];
          const [sec, nsec] = ticksToSecNsec(b.ticks, i.tsresol, i.tsoffset ?? 0n);
          prev = [sec, nsec];
          out.push({ frameNo: ++frameNo, tsSec: sec, tsNsec: nsec, linkType: i.linkType, ifIndex: base + b.ifid,
            capLen: b.data.length, origLen: b.origLen ?? b.data.length, data: Buffer.from(b.data), noTimestamp: false });
          break;
        }
        case 'spb': {
          const i = ifs[0];
          const orig = b.origLen ?? b.data.length;
          const snap = i.snaplen ?? 0;
          const cap = snap !== 0 && snap < orig ? snap : orig;
          out.push({ frameNo: ++frameNo, tsSec: prev[0], tsNsec: prev[1], linkType: i.linkType, ifIndex: base,
            capLen: cap, origLen: orig, data: Buffer.from(b.data.subarray(0, cap)), noTimestamp: true });
          break;
        }
        case 'custom': case 'custom-nocopy': case 'journal':
          frameNo++;
          break;
        default:
          break;
      }
    }
    base += ifs.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// packets and compression

/** A deterministic pseudo-random packet of n bytes (seeded). */
export function packetBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export function gzip(buf: Buffer): Buffer {
  return gzipSync(buf);
}

let zstdOk: boolean | undefined;
export function hasZstdCli(): boolean {
  if (zstdOk === undefined) zstdOk = spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
  return zstdOk;
}

/** zstd-compress with the zstd CLI (null when it is not installed). */
export function zstdCli(buf: Buffer, args: string[] = ['-q', '-c', '-3']): Buffer | null {
  if (!hasZstdCli()) return null;
  const r = spawnSync('zstd', args, { input: buf, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr?.toString()}`);
  return r.stdout;
}
