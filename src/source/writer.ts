// Streaming capture writers: classic pcap (little-endian, µs or ns timestamps) and pcapng
// (one section, one Interface Description Block per interface × link type, Enhanced Packet
// Blocks). Used by `wirecheck live --write`, by the address rewriter in captures/tools and by
// tests that build captures.
//
// Two ways to write, same encoder:
// - to a Node Writable: `await w.write(frame)` (returns a Promise only when the stream asked
//   us to wait for 'drain', else undefined, so the common path allocates nothing), then
//   `await w.close()`;
// - to a file, synchronously: `PcapWriter.openSync(path)` / `writeSync(frame)` /
//   `closeSync()` (fs.writeSync under the hood).
//
// Records are encoded into a chunk buffer (256 KiB) that is handed to the sink when full. For
// a stream the full chunk is given away and a new one allocated (the stream may hold it);
// for a file descriptor the chunk is reused. Frame bytes are always copied, so the caller may
// reuse its buffer as soon as write() returns.
//
// Byte layouts (all integers little-endian, as we write them):
//   pcap global header (24): magic a1b2c3d4 (µs) | a1b23c4d (ns), version 2.4, thiszone 0,
//     sigfigs 0, snaplen, linktype
//   pcap record header (16): ts_sec, ts_usec|ts_nsec, incl_len, orig_len; then the bytes
//   pcapng SHB: type 0a0d0d0a, len, byte-order magic 1a2b3c4d, version 1.0, section length -1
//     (unknown), options: shb_userappl (4), opt_endofopt; len
//   pcapng IDB: type 1, len, linktype u16, reserved u16, snaplen, options: if_name (2),
//     if_tsresol (9: 6 = µs, 9 = ns), opt_endofopt; len
//   pcapng EPB: type 6, len, interface id, ts high, ts low, captured len, original len,
//     bytes padded to 4; len

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** What the writers need from a frame; `Frame` from source/types.ts fits. */
export interface FrameToWrite {
  tsSec: number;
  /** 0..999_999_999 */
  tsNsec: number;
  data: Uint8Array;
  /** length on the wire; defaults to data.length (and is never written smaller than it) */
  origLen?: number;
  /** LINKTYPE_* number; defaults to the writer's link type */
  linkType?: number;
  /** pcapng: input interface number (default 0); ignored by pcap */
  ifIndex?: number;
}

export type TsPrecision = 'us' | 'ns';

export interface PcapWriterOptions {
  /** LINKTYPE_* of every record (pcap has one per file). Default 1 (ETHERNET). */
  linkType?: number;
  /** timestamp resolution. Default 'us'. */
  precision?: TsPrecision;
  /** snaplen written in the header. Default 262144. */
  snaplen?: number;
  /** streams only: end the stream on close(). Default true. */
  end?: boolean;
  /** chunk size in bytes. Default 256 KiB. */
  chunkSize?: number;
}

export interface PcapngInterface {
  linkType: number;
  /** if_name; default `if<ifIndex>` */
  name?: string;
  snaplen?: number;
}

export interface PcapngWriterOptions {
  /** link type of frames that do not carry one. Default 1 (ETHERNET). */
  linkType?: number;
  /** if_tsresol of every interface. Default 'ns'. */
  precision?: TsPrecision;
  /** snaplen of interfaces not described in `interfaces`. Default 262144. */
  snaplen?: number;
  /** interfaces by input ifIndex (name, link type); others are described as they appear */
  interfaces?: PcapngInterface[];
  /** shb_userappl. Default 'wirecheck'. */
  userAppl?: string;
  end?: boolean;
  chunkSize?: number;
}

export const LINKTYPE_ETHERNET = 1;
const DEFAULT_SNAPLEN = 262144;
const DEFAULT_CHUNK = 256 * 1024;
const TWO32 = 4294967296;

/** Common buffering and sink logic; subclasses encode headers and records. */
abstract class CaptureWriter {
  protected buf: Buffer;
  protected pos = 0;
  private readonly chunkSize: number;
  private readonly stream: Writable | null;
  private fd: number | null;
  private readonly ownsFd: boolean;
  private readonly endStream: boolean;
  private needDrain = false;
  private closed = false;
  /** frames written so far */
  frames = 0;
  /** bytes handed to the sink so far (headers included) */
  bytesWritten = 0;

  protected constructor(target: Writable | number, ownsFd: boolean, chunkSize: number | undefined, end: boolean | undefined) {
    this.chunkSize = Math.max(4096, chunkSize ?? DEFAULT_CHUNK);
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    if (typeof target === 'number') {
      this.fd = target;
      this.stream = null;
    } else {
      this.fd = null;
      this.stream = target;
    }
    this.ownsFd = ownsFd;
    this.endStream = end ?? true;
  }

  /** Encode one record into the chunk (ensureRoom() first). */
  protected abstract encode(frame: FrameToWrite): void;

  /**
   * Make room for `n` more bytes in the chunk: hands the full part to the sink, and grows the
   * chunk for a record larger than it.
   */
  protected ensureRoom(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.handOff();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  private handOff(): void {
    if (this.pos === 0) return;
    const n = this.pos;
    if (this.fd !== null) {
      let off = 0;
      while (off < n) off += writeSync(this.fd, this.buf, off, n - off);
    } else if (this.stream !== null) {
      const chunk = this.buf.subarray(0, n);
      this.buf = Buffer.allocUnsafe(this.chunkSize);
      if (!this.stream.write(chunk)) this.needDrain = true;
    }
    this.bytesWritten += n;
    this.pos = 0;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('capture writer: write after close');
  }

  /**
   * Append a frame. Returns a Promise when the stream wants us to wait for 'drain' (await
   * it), else undefined. `await w.write(f)` is always correct.
   */
  write(frame: FrameToWrite): Promise<void> | undefined {
    this.checkOpen();
    this.encode(frame);
    this.frames++;
    if (this.fd === null && this.needDrain) return this.waitDrain();
    return undefined;
  }

  /** Append a frame to a file descriptor sink (throws for a stream sink). */
  writeSync(frame: FrameToWrite): void {
    this.checkOpen();
    if (this.fd === null) throw new Error('capture writer: writeSync needs a file descriptor sink');
    this.encode(frame);
    this.frames++;
  }

  /**
   * Hand buffered bytes to the sink now (e.g. once per live batch so a reader of the file sees
   * the packets, like tcpdump -U). Streams: resolves after 'drain' when needed.
   */
  flush(): Promise<void> | undefined {
    this.handOff();
    if (this.fd === null && this.needDrain) return this.waitDrain();
    return undefined;
  }

  flushSync(): void {
    if (this.fd === null) throw new Error('capture writer: flushSync needs a file descriptor sink');
    this.handOff();
  }

  private waitDrain(): Promise<void> {
    const s = this.stream as Writable;
    this.needDrain = false;
    if (!s.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        s.off('drain', onDrain); s.off('error', onError); s.off('close', onClose);
        if (err) reject(err); else resolve();
      };
      const onDrain = (): void => done();
      const onError = (e: Error): void => done(e);
      const onClose = (): void => done(new Error('capture writer: stream closed before drain'));
      s.on('drain', onDrain); s.on('error', onError); s.on('close', onClose);
    });
  }

  /** Flush, then end the stream (unless `end: false`) and wait until it has finished. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.fd !== null) { this.closeSync(); return; }
    this.handOff();
    this.closed = true;
    const s = this.stream as Writable;
    if (this.endStream) {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.end(() => { s.off('error', reject); resolve(); });
      });
    } else if (this.needDrain) {
      this.needDrain = false;
      if (s.writableNeedDrain) await new Promise<void>((resolve) => s.once('drain', () => resolve()));
    }
  }

  /** Flush and, when the writer opened the file, close it (after fsync when asked). */
  closeSync(opts?: { fsync?: boolean }): void {
    if (this.closed) return;
    if (this.fd === null) throw new Error('capture writer: closeSync needs a file descriptor sink');
    this.handOff();
    this.closed = true;
    if (opts?.fsync) fsyncSync(this.fd);
    if (this.ownsFd) closeSync(this.fd);
    this.fd = null;
  }
}

function checkTs(tsSec: number, tsNsec: number): void {
  if (!(tsSec >= 0 && tsSec < TWO32) || !(tsNsec >= 0 && tsNsec < 1e9)) {
    throw new RangeError(`capture writer: timestamp ${tsSec}.${tsNsec} cannot be written`);
  }
}

// ---------------------------------------------------------------------------------------

/** Classic pcap, little-endian, one link type. */
export class PcapWriter extends CaptureWriter {
  readonly linkType: number;
  readonly precision: TsPrecision;
  readonly snaplen: number;

  constructor(target: Writable | number, opts: PcapWriterOptions = {}, ownsFd = false) {
    super(target, ownsFd, opts.chunkSize, opts.end);
    this.linkType = opts.linkType ?? LINKTYPE_ETHERNET;
    this.precision = opts.precision ?? 'us';
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    const b = this.buf;
    b.writeUInt32LE(this.precision === 'ns' ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeInt32LE(0, 8);
    b.writeUInt32LE(0, 12);
    b.writeUInt32LE(this.snaplen >>> 0, 16);
    b.writeUInt32LE(this.linkType >>> 0, 20);
    this.pos = 24;
  }

  /** Create (truncate) a file and write to it synchronously. */
  static openSync(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(openSync(path, 'w'), opts, true);
  }

  protected encode(frame: FrameToWrite): void {
    const lt = frame.linkType;
    if (lt !== undefined && lt !== this.linkType) {
      throw new Error(`pcap writer: frame has link type ${lt}, the file has ${this.linkType} (use pcapng)`);
    }
    const tsSec = frame.tsSec, tsNsec = frame.tsNsec;
    checkTs(tsSec, tsNsec);
    const data = frame.data;
    const capLen = data.length;
    const origLen = frame.origLen !== undefined && frame.origLen > capLen ? frame.origLen : capLen;
    this.ensureRoom(16 + capLen);
    const b = this.buf;
    let p = this.pos;
    b.writeUInt32LE(tsSec, p);
    b.writeUInt32LE(this.precision === 'ns' ? tsNsec : Math.floor(tsNsec / 1000), p + 4);
    b.writeUInt32LE(capLen, p + 8);
    b.writeUInt32LE(origLen >>> 0, p + 12);
    p += 16;
    b.set(data, p);
    this.pos = p + capLen;
  }
}

// ---------------------------------------------------------------------------------------

/** pcapng, little-endian, one section. */
export class PcapngWriter extends CaptureWriter {
  readonly precision: TsPrecision;
  private readonly defaultLinkType: number;
  private readonly snaplen: number;
  private readonly specs: PcapngInterface[];
  /** per input ifIndex: the link type and IDB id last used (fast path) */
  private lastLt: number[] = [];
  private lastId: number[] = [];
  /** every IDB written: input ifIndex and link type */
  private readonly idbs: { ifIndex: number; linkType: number }[] = [];
  private tsHi = 0;
  private tsLo = 0;

  constructor(target: Writable | number, opts: PcapngWriterOptions = {}, ownsFd = false) {
    super(target, ownsFd, opts.chunkSize, opts.end);
    this.precision = opts.precision ?? 'ns';
    this.defaultLinkType = opts.linkType ?? LINKTYPE_ETHERNET;
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.specs = opts.interfaces ?? [];
    this.writeShb(opts.userAppl ?? 'wirecheck');
  }

  static openSync(path: string, opts: PcapngWriterOptions = {}): PcapngWriter {
    return new PcapngWriter(openSync(path, 'w'), opts, true);
  }

  /** number of Interface Description Blocks written so far */
  get interfaceCount(): number {
    return this.idbs.length;
  }

  private writeShb(userAppl: string): void {
    const appl = Buffer.from(userAppl, 'utf8');
    const optLen = appl.length > 0 ? 4 + pad4(appl.length) + 4 : 0;
    const len = 28 + optLen;
    this.ensureRoom(len);
    const b = this.buf;
    let p = this.pos;
    b.writeUInt32LE(0x0a0d0d0a, p);
    b.writeUInt32LE(len, p + 4);
    b.writeUInt32LE(0x1a2b3c4d, p + 8);
    b.writeUInt16LE(1, p + 12);
    b.writeUInt16LE(0, p + 14);
    b.writeInt32LE(-1, p + 16);
    b.writeInt32LE(-1, p + 20);
    p += 24;
    if (appl.length > 0) {
      p = writeOption(b, p, 4, appl);
      b.writeUInt32LE(0, p); // opt_endofopt
      p += 4;
    }
    b.writeUInt32LE(len, p);
    this.pos = p + 4;
  }

  private writeIdb(ifIndex: number, linkType: number): number {
    const spec = this.specs[ifIndex];
    const name = Buffer.from(spec?.name ?? `if${ifIndex}`, 'utf8');
    const snaplen = spec?.snaplen ?? this.snaplen;
    const len = 16 + (4 + pad4(name.length)) + 8 + 4 + 4;
    this.ensureRoom(len);
    const b = this.buf;
    let p = this.pos;
    b.writeUInt32LE(1, p);
    b.writeUInt32LE(len, p + 4);
    b.writeUInt16LE(linkType & 0xffff, p + 8);
    b.writeUInt16LE(0, p + 10);
    b.writeUInt32LE(snaplen >>> 0, p + 12);
    p += 16;
    p = writeOption(b, p, 2, name);
    b.writeUInt16LE(9, p);            // if_tsresol
    b.writeUInt16LE(1, p + 2);
    b.writeUInt32LE(0, p + 4);
    b[p + 4] = this.precision === 'ns' ? 9 : 6;
    p += 8;
    b.writeUInt32LE(0, p);            // opt_endofopt
    b.writeUInt32LE(len, p + 4);
    this.pos = p + 8;
    this.idbs.push({ ifIndex, linkType });
    return this.idbs.length - 1;
  }

  private interfaceId(ifIndex: number, linkType: number): number {
    if (this.lastLt[ifIndex] === linkType) return this.lastId[ifIndex];
    let id = -1;
    const idbs = this.idbs;
    for (let i = 0; i < idbs.length; i++) {
      if (idbs[i].ifIndex === ifIndex && idbs[i].linkType === linkType) { id = i; break; }
    }
    if (id < 0) id = this.writeIdb(ifIndex, linkType);
    this.lastLt[ifIndex] = linkType;
    this.lastId[ifIndex] = id;
    return id;
  }

  /** Split the timestamp into the high and low 32 bits of the 64-bit unit count, exactly. */
  private splitTs(tsSec: number, tsNsec: number): void {
    if (this.precision === 'us') {
      const v = tsSec * 1e6 + Math.floor(tsNsec / 1000);
      const hi = Math.floor(v / TWO32);
      this.tsHi = hi;
      this.tsLo = v - hi * TWO32;
      return;
    }
    // tsSec * 1e9 + tsNsec exceeds 2^53, so split tsSec in 16-bit halves:
    // total = A * 2^16 + B with A = sh * 1e9, B = sl * 1e9 + tsNsec; A = Ah * 2^16 + Al;
    // total = Ah * 2^32 + C with C = Al * 2^16 + B (every term exact below 2^53).
    const sh = Math.floor(tsSec / 65536);
    const sl = tsSec - sh * 65536;
    const a = sh * 1e9;
    const b = sl * 1e9 + tsNsec;
    const ah = Math.floor(a / 65536);
    const c = (a - ah * 65536) * 65536 + b;
    const ch = Math.floor(c / TWO32);
    this.tsHi = ah + ch;
    this.tsLo = c - ch * TWO32;
  }

  protected encode(frame: FrameToWrite): void {
    const tsSec = frame.tsSec, tsNsec = frame.tsNsec;
    checkTs(tsSec, tsNsec);
    const ifIndex = frame.ifIndex ?? 0;
    const linkType = frame.linkType ?? this.specs[ifIndex]?.linkType ?? this.defaultLinkType;
    const id = this.interfaceId(ifIndex, linkType);
    const data = frame.data;
    const capLen = data.length;
    const origLen = frame.origLen !== undefined && frame.origLen > capLen ? frame.origLen : capLen;
    const padded = (capLen + 3) & ~3;
    const len = 32 + padded;
    this.ensureRoom(len);
    this.splitTs(tsSec, tsNsec);
    const b = this.buf;
    let p = this.pos;
    b.writeUInt32LE(6, p);
    b.writeUInt32LE(len, p + 4);
    b.writeUInt32LE(id, p + 8);
    b.writeUInt32LE(this.tsHi, p + 12);
    b.writeUInt32LE(this.tsLo, p + 16);
    b.writeUInt32LE(capLen, p + 20);
    b.writeUInt32LE(origLen >>> 0, p + 24);
    p += 28;
    b.set(data, p);
    p += capLen;
    for (let e = p + padded - capLen; p < e; p++) b[p] = 0;
    b.writeUInt32LE(len, p);
    this.pos = p + 4;
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Write one pcapng option (code, length, value padded to 4); returns the new position. */
function writeOption(b: Buffer, p: number, code: number, value: Buffer): number {
  b.writeUInt16LE(code, p);
  b.writeUInt16LE(value.length, p + 2);
  p += 4;
  b.set(value, p);
  p += value.length;
  for (const e = p + pad4(value.length) - value.length; p < e;) b[p++] = 0;
  return p;
}
