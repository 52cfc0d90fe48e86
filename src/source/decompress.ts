// gzip and zstd decompression as pulled chunk sources. Compression is recognised by magic
// bytes (gzip 1f 8b, zstd 28 b5 2f fd), never by the file name.
//
// gzip: node:zlib's streaming Gunzip (concatenated members work; trailing zeros are ignored).
// Backpressure comes from pulling: the transform only runs while its output is read.
//
// zstd: fzstd's streaming Decompress. It calls back synchronously with every block it decodes
// and allocates the frame's window as the frame header asks, so two guards sit in front of it:
// - a small framing tracker walks the compressed bytes (frame headers, block headers, skippable
//   frames) and hands fzstd one block at a time, stopping as soon as about one chunk of output
//   is ready. A zstd block decodes to at most 128 KiB (fzstd: at most 2 MiB for an RLE block),
//   so output held at any time stays bounded whatever the compression ratio.
// - a frame asking for a window of more than 128 MiB (zstd's own default decoder limit,
//   windowLog 27) is refused (`zstd/WINDOW_TOO_LARGE`) before fzstd would allocate it.
//
// Damage: a stream cut short ends with `capture/TRUNCATED`; corrupt data with `gzip/CORRUPT` or
// `zstd/CORRUPT`. Everything decoded before it is handed on.

import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { DEFAULT_CHUNK_SIZE, type ChunkSource, type SourceFailure } from './chunks.js';

export type Compression = 'gzip' | 'zstd';

/** Compression named by the first bytes, or null (needs 4 bytes for zstd, 2 for gzip). */
export function detectCompression(head: Buffer): Compression | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return null;
}

export function decompressSource(kind: Compression, src: ChunkSource, chunkSize = DEFAULT_CHUNK_SIZE): ChunkSource {
  return kind === 'gzip' ? new GunzipSource(src, chunkSize) : new ZstdSource(src, chunkSize);
}

// ---------------------------------------------------------------------------------------
// gzip

export class GunzipSource implements ChunkSource {
  failure: SourceFailure | null = null;
  private readonly it: AsyncIterator<Buffer>;
  private readonly z: ReturnType<typeof createGunzip>;
  private done = false;

  constructor(private readonly src: ChunkSource, chunkSize = DEFAULT_CHUNK_SIZE) {
    const input = Readable.from(this.pull(), { objectMode: false });
    this.z = createGunzip({ chunkSize: Math.min(Math.max(chunkSize, 16384), 1 << 20) });
    pipeline(input, this.z, () => { /* errors surface through the iterator */ });
    this.it = this.z[Symbol.asyncIterator]();
  }

  private async *pull(): AsyncGenerator<Buffer> {
    for (;;) {
      const c = await this.src.read();
      if (c === null) return;
      yield c;
    }
  }

  async read(): Promise<Buffer | null> {
    if (this.done) return null;
    try {
      const r = await this.it.next();
      if (!r.done) return r.value;
      this.done = true;
      if (this.src.failure !== null) this.failure = this.src.failure;
      return null;
    } catch (e) {
      this.done = true;
      const err = e as NodeJS.ErrnoException;
      if (this.src.failure !== null) this.failure = this.src.failure;
      else if (err?.code === 'Z_BUF_ERROR') {
        this.failure = { layer: 'capture', code: 'TRUNCATED', message: 'the gzip stream ends early (the file is cut short)' };
      } else {
        this.failure = { layer: 'gzip', code: 'CORRUPT', message: `gzip data is damaged: ${err?.message ?? String(e)}` };
      }
      return null;
    }
  }

  async close(): Promise<void> {
    this.done = true;
    this.z.destroy();
    await this.src.close();
  }
}

// ---------------------------------------------------------------------------------------
// zstd

const ZSTD_MAGIC = 0xfd2fb528;
/** zstd's default decoder limit (windowLog 27) */
export const ZSTD_MAX_WINDOW = 1 << 27;

const S_MAGIC = 0;      // collecting 4 bytes of frame magic
const S_FHD = 1;        // collecting magic + frame header descriptor (5 bytes)
const S_FHDR = 2;       // collecting the rest of the frame header
const S_SKIPHDR = 3;    // collecting a skippable frame's magic + size (8 bytes)
const S_SKIP = 4;       // skipping a skippable frame's content
const S_BLKHDR = 5;     // collecting a block header (3 bytes)
const S_BLOCK = 6;      // passing a block's content
const S_CHECKSUM = 7;   // collecting the frame checksum (4 bytes)

export class ZstdSource implements ChunkSource {
  failure: SourceFailure | null = null;
  private readonly dec: Decompress;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private inBuf: Buffer | null = null;
  private inPos = 0;
  private finished = false;
  // framing tracker
  private st = S_MAGIC;
  private need = 4;
  private readonly hdr = Buffer.alloc(32);
  private hdrLen = 0;
  private left = 0;
  private lastBlock = false;
  private checksum = false;
  private blockEnd = false;
  private pendingIn: Buffer[] = [];

  constructor(private readonly src: ChunkSource, private readonly target = DEFAULT_CHUNK_SIZE) {
    this.dec = new Decompress((d: Uint8Array) => {
      if (d.length > 0) {
        this.out.push(d);
        this.outBytes += d.length;
      }
    });
  }

  async read(): Promise<Buffer | null> {
    while (this.outBytes < this.target && !this.finished) {
      if (this.inBuf === null || this.inPos >= this.inBuf.length) {
        const c = await this.src.read();
        if (c === null) {
          this.endOfInput();
          break;
        }
        this.inBuf = c;
        this.inPos = 0;
      }
      const start = this.inPos;
      this.blockEnd = false;
      const end = this.track(this.inBuf, start);
      this.inPos = end;
      if (this.failure !== null) {
        this.finished = true;
        break;
      }
      if (end > start) {
        // fzstd concatenates what it buffers on every push: hand it whole blocks (a block
        // arriving in many small pieces is collected here and joined once)
        const piece = this.inBuf.subarray(start, end);
        if (this.blockEnd || this.st === S_SKIP || (this.st === S_MAGIC && this.hdrLen === 0)) {
          let whole = piece;
          if (this.pendingIn.length > 0) {
            this.pendingIn.push(piece);
            whole = Buffer.concat(this.pendingIn);
            this.pendingIn = [];
          }
          try {
            this.dec.push(whole);
          } catch (e) {
            this.fail(e);
            break;
          }
        } else {
          this.pendingIn.push(piece);
        }
      }
    }
    return this.take();
  }

  async close(): Promise<void> {
    this.finished = true;
    this.out = [];
    this.outBytes = 0;
    await this.src.close();
  }

  private take(): Buffer | null {
    if (this.outBytes === 0) return null;
    const parts = this.out;
    const n = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    if (parts.length === 1) return Buffer.from(parts[0].buffer, parts[0].byteOffset, parts[0].byteLength);
    return Buffer.concat(parts, n);
  }

  private endOfInput(): void {
    this.finished = true;
    if (this.src.failure !== null) {
      this.failure = this.src.failure;
      return;
    }
    if (this.st !== S_MAGIC || this.hdrLen !== 0) {
      this.failure = { layer: 'capture', code: 'TRUNCATED', message: 'the zstd stream ends early (the file is cut short)' };
      return;
    }
    try {
      this.dec.push(new Uint8Array(0), true);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.finished = true;
    const code = (e as { code?: number } | undefined)?.code;
    this.failure = code === 5
      ? { layer: 'capture', code: 'TRUNCATED', message: 'the zstd stream ends early (the file is cut short)' }
      : { layer: 'zstd', code: 'CORRUPT', message: `zstd data is damaged: ${(e as Error)?.message ?? String(e)}` };
  }

  private corrupt(message: string, code = 'CORRUPT'): void {
    this.failure = { layer: 'zstd', code, message };
  }

  /** a block's content has been passed: what comes next */
  private blockDone(): void {
    if (!this.lastBlock) this.expect(S_BLKHDR, 3);
    else if (this.checksum) this.expect(S_CHECKSUM, 4);
    else this.expect(S_MAGIC, 4);
  }

  /**
   * Walk the compressed bytes from `pos`; return where to cut the piece handed to fzstd: the
   * end of the next block (or frame part), or the end of the chunk. On damage, sets `failure`
   * and returns the position where the damage starts.
   */
  private track(b: Buffer, pos: number): number {
    const len = b.length;
    while (pos < len) {
      if (this.st === S_BLOCK || this.st === S_SKIP) {
        const k = Math.min(this.left, len - pos);
        pos += k;
        this.left -= k;
        if (this.left > 0) return pos;
        if (this.st === S_SKIP) {
          this.expect(S_MAGIC, 4);
          continue;
        }
        this.blockDone();
        this.blockEnd = true;
        return pos;   // a block is complete: let fzstd decode it
      }
      const start = pos;
      const k = Math.min(this.need - this.hdrLen, len - pos);
      b.copy(this.hdr, this.hdrLen, pos, pos + k);
      this.hdrLen += k;
      pos += k;
      if (this.hdrLen < this.need) return pos;
      const h = this.hdr;
      switch (this.st) {
        case S_MAGIC: {
          const m = h.readUInt32LE(0);
          if (m === ZSTD_MAGIC) { this.st = S_FHD; this.need = 5; }
          else if ((m & 0xfffffff0) === 0x184d2a50) { this.st = S_SKIPHDR; this.need = 8; }
          else { this.corrupt('not a zstd frame'); return start; }
          break;
        }
        case S_FHD: {
          const flg = h[4];
          if (flg & 8) { this.corrupt('zstd frame header with its reserved bit set'); return start; }
          const ss = (flg >> 5) & 1;
          const df = flg & 3;
          const fcf = flg >> 6;
          const size = 6 - ss + (df === 3 ? 4 : df) + (fcf ? 1 << fcf : ss);
          this.st = S_FHDR;
          this.need = size;
          break;
        }
        case S_FHDR: {
          const flg = h[4];
          const ss = (flg >> 5) & 1;
          this.checksum = ((flg >> 2) & 1) === 1;
          const fcf = flg >> 6;
          const db = (flg & 3) === 3 ? 4 : flg & 3;
          let window: number;
          if (!ss) {
            const wd = h[5];
            const wb = 2 ** (10 + (wd >> 3));
            window = wb + (wb / 8) * (wd & 7);
          } else {
            const at = 5 + db;
            const fsb = fcf ? 1 << fcf : 1;
            let fss = 0;
            for (let i = fsb - 1; i >= 0; i--) fss = fss * 256 + h[at + i];
            window = fss + (fcf === 1 ? 256 : 0);
          }
          if (window > ZSTD_MAX_WINDOW) {
            this.corrupt(`zstd frame asks for a ${window}-byte window (more than ${ZSTD_MAX_WINDOW})`, 'WINDOW_TOO_LARGE');
            return start;
          }
          this.expect(S_BLKHDR, 3);
          break;
        }
        case S_SKIPHDR:
          this.left = h.readUInt32LE(4);
          if (this.left === 0) this.expect(S_MAGIC, 4);
          else { this.st = S_SKIP; this.hdrLen = 0; }
          break;
        case S_BLKHDR: {
          const v = h[0] | (h[1] << 8) | (h[2] << 16);
          this.lastBlock = (v & 1) === 1;
          const type = (v >> 1) & 3;
          if (type === 3) { this.corrupt('zstd block of the reserved type'); return start; }
          this.left = type === 1 ? 1 : v >>> 3;
          if (this.left === 0) {
            this.blockDone();
            this.blockEnd = true;
            return pos;
          }
          this.st = S_BLOCK;
          this.hdrLen = 0;
          break;
        }
        case S_CHECKSUM:
          this.expect(S_MAGIC, 4);
          break;
      }
    }
    return pos;
  }

  private expect(st: number, need: number): void {
    this.st = st;
    this.need = need;
    this.hdrLen = 0;
  }
}
