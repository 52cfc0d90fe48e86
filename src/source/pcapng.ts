// pcapng reader: a push parser over chunks.
//
// Block: type (4), total length (4), body, total length again (4). Sections begin with a
// Section Header Block (type 0a0d0d0a, a palindrome; its byte-order magic 1a2b3c4d says the
// byte order of the whole section, so a later section may switch it). Interface Description
// Blocks give each section-local interface id its link type, snap length, timestamp resolution
// (if_tsresol: 10^-n, or 2^-n when bit 7 is set; default 10^-6) and offset (if_tsoffset,
// seconds added). Packets: Enhanced (6), Simple (3, no timestamp, interface 0) and the
// obsolete Packet Block (2). Everything else is skipped unread (its trailing length is
// checked).
//
// Frame.ifIndex is file-global: the section-local id plus the interfaces of earlier sections.
//
// Behaviour follows tshark 4.0 (the oracle, checked with crafted files):
// - first block not a valid SHB (bad byte-order magic, length, options running past the
//   block, trailer mismatch): NOT_A_CAPTURE; SHB version other than 1.0 / 1.2:
//   UNSUPPORTED_VERSION. Both thrown from openCapture.
// - the same in a later section: every frame before it, then an anomaly
//   (`pcapng/UNSUPPORTED_VERSION`, `pcapng/BAD_BYTE_ORDER`, ...) and stop, truncated.
// - block length: at least 12 (and the block type's minimum), rounded up to a multiple of 4 as
//   Wireshark does ("some example files don't contain the padding"; the trailer sits at the
//   rounded end and must repeat the length as written); more than 16 MiB for a block we need
//   whole (SHB, IDB, packet blocks) or more than Wireshark's bound (about 128 MiB) for one we
//   skip: `pcapng/BAD_BLOCK_LENGTH`, stop, nothing allocated. Trailer mismatch: the same.
// - packet block: captured length that does not fit in the block: BAD_BLOCK_LENGTH; more than
//   262144: `pcapng/CAPLEN_TOO_LARGE`; unknown interface id: `pcapng/BAD_INTERFACE_ID`;
//   options running past the block: `pcapng/BAD_OPTION` (tshark parses them too). All stop.
// - more than 65536 interfaces in one section: `pcapng/TOO_MANY_INTERFACES`, stop (memory bound).
//   Captured length > original length: kept, `pcapng/CAPLEN_GT_ORIGLEN` counted.
// - Simple Packet Block: captured length = min(original length, snap length of interface 0
//   when not 0), and the block holds exactly that much data (padded to 4), as the spec says
//   and tshark 4.0 insists (it reads the trailer right after the data). tshark shows no
//   timestamp: the frame is marked noTimestamp and carries the previous frame's time.
// - custom blocks (0x00000bad, 0x40000bad), systemd journal export (9) and sysdig event
//   blocks (0x204, 0x216, 0x221) are records Wireshark numbers as frames: they take a frame
//   number (so our frame numbers stay Wireshark's) but are not handed on; info.otherRecords
//   counts them. NRB, ISB, DSB and unknown blocks take none.
// - resolutions finer than 1 ns are rounded down to the ns exactly (tshark 4.0 overflows there).
//
// Speed: Enhanced Packet Blocks that lie wholly in the current chunk with a sound length and
// trailer are read in a loop straight from the chunk (frames point into it, as in pcap.ts);
// every other block, and any damage, goes through the general path, which reports it.

import { CaptureError, type Layer } from '../errors.js';
import { ByteQueue } from './chunks.js';
import {
  ChunkFrame, MAX_PACKET, MAX_RECORD, MAX_SKIPPED_BLOCK, u16, u32, type ParserContext, type RecordParser,
} from './parser.js';
import { ticksToTs, tsOut, tsResolution, type TsResolution } from './timestamps.js';
import type { Frame } from './types.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_PB = 2;
export const BT_SPB = 3;
export const BT_NRB = 4;
export const BT_ISB = 5;
export const BT_EPB = 6;
export const BT_JOURNAL = 9;
export const BT_DSB = 10;
export const BT_CUSTOM = 0x00000bad;
export const BT_CUSTOM_NOCOPY = 0x40000bad;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Block types Wireshark 4.0 numbers as frames although they are not packets. */
function isOtherRecord(type: number): boolean {
  return type === BT_CUSTOM || type === BT_CUSTOM_NOCOPY || type === BT_JOURNAL ||
    type === 0x204 || type === 0x216 || type === 0x221;
}

function minBlockLen(type: number): number {
  switch (type) {
    case BT_SHB: return 28;
    case BT_IDB: return 20;
    case BT_EPB: case BT_PB: return 32;
    case BT_SPB: return 16;
    default: return 12;
  }
}

function isBuffered(type: number): boolean {
  return type === BT_EPB || type === BT_SPB || type === BT_PB || type === BT_IDB || type === BT_SHB;
}

/** interfaces one section may describe */
export const MAX_INTERFACES = 65536;

/** if_tsresol byte -> resolution, shared by every interface that uses it */
const RESOLUTIONS: TsResolution[] = [];

function pad4(n: number): number {
  const r = n % 4;
  return r === 0 ? n : n + 4 - r;
}

interface Iface {
  linkType: number;
  snaplen: number;
  res: TsResolution;
  offsetSec: number;
  globalIndex: number;
}

/** first option length that runs past `end`, or -1 when the options are sound */
function checkOptions(b: Buffer, p: number, end: number, le: boolean): number {
  while (end - p >= 4) {
    const code = u16(b, p, le);
    if (code === 0) return -1;
    const len = u16(b, p + 2, le);
    if (4 + len > end - p) return len;
    p += 4 + pad4(len);
  }
  return -1;
}

export class PcapngParser implements RecordParser {
  headerDone = false;
  fatal: CaptureError | null = null;
  stopped = false;
  lastFrameNo = 0;

  private le = true;
  private ifaces: Iface[] = [];
  private sectionBase = 0;
  private maxDigits = -1;
  private prevSec = 0;
  private prevNsec = 0;
  private readonly q = new ByteQueue(MAX_RECORD);
  // a block being skipped across chunks
  private skipping = false;
  private skipLeft = 0;
  private skipType = 0;
  private skipLen = 0;

  constructor(private readonly ctx: ParserContext) {}

  feed(chunk: Buffer, out: Frame[]): void {
    if (this.stopped || this.fatal !== null) return;
    const q = this.q;
    q.push(chunk);
    if (this.skipping && !this.continueSkip()) return;
    for (;;) {
      if (q.pending === 0 && this.headerDone) {
        // hot loop: sound Enhanced Packet Blocks lying wholly in the chunk, read in place;
        // anything else (and any damage) goes through the general path below
        const b = q.chunk;
        const n = b.length;
        const le = this.le;
        let o = q.pos;
        while (n - o >= 12 && u32(b, o, le) === BT_EPB) {
          const blen = u32(b, o + 4, le);
          const lr = pad4(blen);
          if (blen < 32 || lr > n - o || lr > MAX_RECORD || u32(b, o + lr - 4, le) !== blen) break;
          this.packet(b, o, lr, le, out, false);
          if (this.stopped) {
            q.pos = o;
            return;
          }
          o += lr;
        }
        q.pos = o;
      }
      if (!q.ensure(12)) return;
      let b = q.buf;
      let o = q.off;
      let le = this.le;
      const type = u32(b, o, le);
      if (type === BT_SHB) {
        const bom = b.readUInt32LE(o + 8);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else {
          this.damage('BAD_BYTE_ORDER', `section header with an unknown byte-order magic 0x${bom.toString(16).padStart(8, '0')}`);
          return;
        }
      } else if (!this.headerDone) {
        this.fatal = new CaptureError('NOT_A_CAPTURE', 'not a pcap or pcapng file');
        return;
      }
      const blen = u32(b, o + 4, le);
      const lr = pad4(blen);
      const buffered = isBuffered(type);
      if (blen < minBlockLen(type) || lr > (buffered ? MAX_RECORD : MAX_SKIPPED_BLOCK)) {
        this.damage('BAD_BLOCK_LENGTH', `block of type 0x${type.toString(16)} with an impossible length ${blen}`);
        return;
      }
      if (!buffered) {
        // skip the body unread, then check the trailer
        if (lr === 12) {
          if (!this.trailerOk(b, o + 8, le, blen, type)) return;
          q.consume(12);
          this.countOther(type);
          continue;
        }
        q.consume(12);
        this.skipping = true;
        this.skipLeft = lr - 16;
        this.skipType = type;
        this.skipLen = blen;
        if (!this.continueSkip()) return;
        continue;
      }
      if (!q.ensure(lr)) return;
      b = q.buf;
      o = q.off;
      if (!this.trailerOk(b, o + lr - 4, le, blen, type)) return;
      switch (type) {
        case BT_EPB: this.packet(b, o, lr, le, out, false); break;
        case BT_SPB: this.simplePacket(b, o, lr, le, out); break;
        case BT_PB: this.packet(b, o, lr, le, out, true); break;
        case BT_IDB: this.interface(b, o, lr, le); break;
        case BT_SHB: this.section(b, o, lr, le); break;
      }
      if (this.stopped || this.fatal !== null) return;
      q.consume(lr);
    }
  }

  end(): void {
    if (this.stopped || this.fatal !== null) return;
    if (!this.headerDone) {
      this.fatal = new CaptureError('NOT_A_CAPTURE', 'not a pcap or pcapng file');
      return;
    }
    if (this.skipping || this.q.pending > 0) {
      this.stop('capture', 'TRUNCATED', 'the file ends in the middle of a block');
    }
  }

  private continueSkip(): boolean {
    const q = this.q;
    if (this.skipLeft > 0) {
      this.skipLeft -= q.skip(this.skipLeft);
      if (this.skipLeft > 0) return false;
    }
    if (!q.ensure(4)) return false;
    if (!this.trailerOk(q.buf, q.off, this.le, this.skipLen, this.skipType)) return false;
    q.consume(4);
    this.skipping = false;
    this.countOther(this.skipType);
    return true;
  }

  private countOther(type: number): void {
    if (!isOtherRecord(type)) return;
    this.lastFrameNo++;
    this.ctx.info.otherRecords = (this.ctx.info.otherRecords ?? 0) + 1;
  }

  private trailerOk(b: Buffer, p: number, le: boolean, blen: number, type: number): boolean {
    const t = u32(b, p, le);
    if (t === blen) return true;
    this.damage('BAD_BLOCK_LENGTH', `block of type 0x${type.toString(16)}: total lengths ${blen} and ${t} differ`);
    return false;
  }

  private section(b: Buffer, o: number, lr: number, le: boolean): void {
    const major = u16(b, o + 12, le);
    const minor = u16(b, o + 14, le);
    const info = this.ctx.info;
    if (!this.headerDone) {
      info.format = 'pcapng';
      info.byteOrder = le ? 'le' : 'be';
    }
    if (major !== 1 || (minor !== 0 && minor !== 2)) {
      const msg = `unsupported pcapng version ${major}.${minor}`;
      if (!this.headerDone) this.fatal = new CaptureError('UNSUPPORTED_VERSION', msg);
      else this.stop('pcapng', 'UNSUPPORTED_VERSION', `section ${info.sections + 1}: ${msg}; reading stopped there`);
      return;
    }
    const bad = checkOptions(b, o + 24, o + lr - 4, le);
    if (bad >= 0) {
      this.damage('BAD_OPTION', `section header option of length ${bad} runs past its block`);
      return;
    }
    this.le = le;
    this.sectionBase += this.ifaces.length;
    this.ifaces = [];
    info.sections++;
    this.headerDone = true;
  }

  private interface(b: Buffer, o: number, lr: number, le: boolean): void {
    if (this.ifaces.length >= MAX_INTERFACES) {
      // every interface costs memory for the whole section: bound it (real files have a handful)
      this.damage('TOO_MANY_INTERFACES', `more than ${MAX_INTERFACES} interfaces in one section`);
      return;
    }
    const linkType = u16(b, o + 8, le);
    const snaplen = u32(b, o + 12, le);
    let tsresol: number | undefined;
    let offsetSec = 0;
    let p = o + 16;
    const end = o + lr - 4;
    while (end - p >= 4) {
      const code = u16(b, p, le);
      if (code === 0) break;
      const len = u16(b, p + 2, le);
      if (4 + len > end - p) {
        this.damage('BAD_OPTION', `interface description option ${code} of length ${len} runs past its block`);
        return;
      }
      if (code === 9 && len >= 1) tsresol = b[p + 4];
      else if (code === 14 && len === 8) offsetSec = Number(le ? b.readBigInt64LE(p + 4) : b.readBigInt64BE(p + 4));
      p += 4 + pad4(len);
    }
    const key = tsresol ?? 6;
    const res = RESOLUTIONS[key] ?? (RESOLUTIONS[key] = tsResolution(key));
    const info = this.ctx.info;
    const iface: Iface = { linkType, snaplen, res, offsetSec, globalIndex: this.sectionBase + this.ifaces.length };
    this.ifaces.push(iface);
    if (info.interfaces === 0) info.snaplen = snaplen;
    info.interfaces++;
    if (!info.linkTypes.includes(linkType)) info.linkTypes.push(linkType);
    if (res.digits > this.maxDigits) {
      this.maxDigits = res.digits;
      info.tsDigits = res.digits;
    }
  }

  /** EPB (obsolete = false) or the obsolete PB (16-bit interface id, drop count) */
  private packet(b: Buffer, o: number, lr: number, le: boolean, out: Frame[], obsolete: boolean): void {
    const ifid = obsolete ? u16(b, o + 8, le) : u32(b, o + 8, le);
    const caplen = u32(b, o + 20, le);
    const orig = u32(b, o + 24, le);
    const what = obsolete ? 'packet block' : 'enhanced packet block';
    if (pad4(caplen) > lr - 32) {
      this.damage('BAD_BLOCK_LENGTH', `${what} of ${lr} bytes is too small for ${caplen} bytes of packet data`);
      return;
    }
    if (caplen > MAX_PACKET) {
      this.damage('CAPLEN_TOO_LARGE', `${what} with ${caplen} bytes of packet data (more than ${MAX_PACKET})`);
      return;
    }
    if (ifid >= this.ifaces.length) {
      this.damage('BAD_INTERFACE_ID', `${what} on interface ${ifid}, but the section describes ${this.ifaces.length}`);
      return;
    }
    const optEnd = o + lr - 4;
    if (optEnd - (o + 28 + pad4(caplen)) >= 4) {
      const bad = checkOptions(b, o + 28 + pad4(caplen), optEnd, le);
      if (bad >= 0) {
        this.damage('BAD_OPTION', `${what} option of length ${bad} runs past its block`);
        return;
      }
    }
    const iface = this.ifaces[ifid];
    const hi = u32(b, o + 12, le);
    const lo = u32(b, o + 16, le);
    ticksToTs(hi, lo, iface.res, iface.offsetSec);
    const sec = tsOut.sec;
    const nsec = tsOut.nsec;
    this.prevSec = sec;
    this.prevNsec = nsec;
    if (caplen > orig) this.caplenGtOrig(caplen, orig);
    out.push(new ChunkFrame(++this.lastFrameNo, sec, nsec, iface.linkType, b, o + 28, caplen, orig,
      iface.globalIndex, false));
  }

  private simplePacket(b: Buffer, o: number, lr: number, le: boolean, out: Frame[]): void {
    if (this.ifaces.length === 0) {
      this.damage('BAD_INTERFACE_ID', 'simple packet block, but the section describes no interface');
      return;
    }
    const iface = this.ifaces[0];
    const orig = u32(b, o + 8, le);
    let caplen = orig;
    if (iface.snaplen !== 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    if (pad4(caplen) > lr - 16) {
      this.damage('BAD_BLOCK_LENGTH', `simple packet block of ${lr} bytes is too small for ${caplen} bytes of packet data`);
      return;
    }
    if (pad4(caplen) !== lr - 16) {
      // the packet data is exactly min(original length, snap length) bytes (pcapng spec);
      // tshark 4.0 looks for the trailer right after it and refuses the block otherwise
      this.damage('BAD_BLOCK_LENGTH', `simple packet block of ${lr} bytes for ${caplen} bytes of packet data`);
      return;
    }
    if (caplen > MAX_PACKET) {
      this.damage('CAPLEN_TOO_LARGE', `simple packet block with ${caplen} bytes of packet data (more than ${MAX_PACKET})`);
      return;
    }
    out.push(new ChunkFrame(++this.lastFrameNo, this.prevSec, this.prevNsec, iface.linkType, b, o + 12, caplen,
      orig, iface.globalIndex, true));
  }

  private caplenGtOrig(caplen: number, orig: number): void {
    this.ctx.anomalies.add('pcapng', 'CAPLEN_GT_ORIGLEN', this.lastFrameNo + 1,
      `captured length ${caplen} is more than the original length ${orig}; the frame is kept`);
  }

  /** Damage: in the first section header the file is unreadable, later it ends reading. */
  private damage(code: string, message: string): void {
    if (!this.headerDone) {
      this.fatal = new CaptureError('NOT_A_CAPTURE', 'not a pcap or pcapng file');
      return;
    }
    this.stop('pcapng', code, message + '; reading stopped there');
  }

  private stop(layer: Layer, code: string, message: string): void {
    this.stopped = true;
    this.ctx.info.truncated = true;
    this.ctx.anomalies.add(layer, code, this.lastFrameNo + 1, message);
  }
}
