// Byte sources and the chunk queue the record parsers run on.
//
// A ChunkSource hands out the input as a sequence of Buffers (big file reads, stream chunks,
// decompressed output), pulled one at a time: nothing is read ahead of the consumer, so
// memory stays flat whatever the file size (backpressure by pulling).
//
// ByteQueue is what the parsers see: the current chunk plus a small carry buffer for the one
// record that straddles two chunks. A parser asks `ensure(n)` for n contiguous bytes at the
// read position: when they lie in the current chunk it gets the chunk and an offset (no copy);
// otherwise the bytes at hand are copied once into the carry buffer and the parser waits for
// the next chunk. (The hot loops read the records that lie wholly in the chunk straight from
// `chunk` at `pos`.) Records are never assembled in a growing concatenated buffer. Two carry
// buffers alternate, so the record completed at the start of a chunk (handed out in
// carry A) survives while the next chunk's tail is stashed (in carry B): every frame of a batch
// stays valid until the next batch is pulled. The carry grows only up to a bound the parser
// sets; parsers check lengths against it before asking.

import type { FileHandle } from 'node:fs/promises';
import type { Layer } from '../errors.js';

/** Why a source ended early (a damaged compressed stream, an I/O error). */
export interface SourceFailure {
  layer: Layer;
  /** 'TRUNCATED' (input cut short) or another stable code, e.g. 'CORRUPT', 'READ_ERROR' */
  code: string;
  message: string;
}

export interface ChunkSource {
  /** The next chunk, or null at the end of input (check `failure` then). */
  read(): Promise<Buffer | null>;
  /** Set when the input ended because of damage or an I/O error rather than a clean end. */
  readonly failure: SourceFailure | null;
  close(): Promise<void>;
}

/**
 * 512 KiB. Measured on the 2 GiB benchmark capture (2-core VM, file in the page cache), read +
 * parse: 0.9-1.1 CPU-s with chunks of 384-640 KiB against 1.8-2.2 with 768 KiB or 1 MiB, most
 * of the difference in the kernel's copy (system time 0.4-0.6 s against 1.5), and 0.8 s
 * less CPU for the whole analysis. Smaller chunks cost more per read.
 */
export const DEFAULT_CHUNK_SIZE = 1 << 19;

/**
 * Reads a file with big reads (default DEFAULT_CHUNK_SIZE).
 *
 * By default every chunk is a fresh buffer (a decompressor may still hold the previous one).
 * After `recycle()` -- for a parser that keeps nothing of a chunk once the next one is pulled,
 * as the frame contract allows -- two buffers take turns and the next chunk is read ahead
 * while the current one is being parsed: no allocation per chunk, and the read overlaps the
 * parsing.
 */
export class FileChunkSource implements ChunkSource {
  failure: SourceFailure | null = null;
  private done = false;
  private closed = false;
  private ring: Buffer[] | null = null;
  private turn = 0;
  private ahead: Promise<Buffer | null> | null = null;

  constructor(private readonly fh: FileHandle, private readonly chunkSize = DEFAULT_CHUNK_SIZE) {}

  recycle(): void {
    if (this.ring === null) this.ring = [Buffer.allocUnsafeSlow(this.chunkSize), Buffer.allocUnsafeSlow(this.chunkSize)];
  }

  async read(): Promise<Buffer | null> {
    if (this.ring === null) return this.fill(Buffer.allocUnsafeSlow(this.chunkSize));
    // the chunk handed out before this call is no longer in use: read ahead into it
    const cur = this.ahead ?? this.fill(this.ring[this.turn]);
    this.turn ^= 1;
    const chunk = await cur;
    this.ahead = chunk === null || this.done ? null : this.fill(this.ring[this.turn]);
    // a failed read ahead is reported when its turn comes
    this.ahead?.catch(() => undefined);
    return chunk;
  }

  private async fill(buf: Buffer): Promise<Buffer | null> {
    if (this.done) return null;
    let n = 0;
    // A regular file returns short reads only at its end; pipes and devices may return less,
    // so keep reading until the buffer is full or the input ends.
    while (n < buf.length) {
      const { bytesRead } = await this.fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) { this.done = true; break; }
      n += bytesRead;
    }
    if (n === 0) return null;
    return n === buf.length ? buf : buf.subarray(0, n);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ahead !== null) await this.ahead.catch(() => undefined);
    this.done = true;
    await this.fh.close().catch(() => undefined);
  }
}

/** Wraps any byte stream (process.stdin, a socket, a Readable). Strings are taken as UTF-8 bytes. */
export class StreamChunkSource implements ChunkSource {
  failure: SourceFailure | null = null;
  private readonly it: AsyncIterator<unknown>;
  private done = false;

  constructor(stream: NodeJS.ReadableStream | AsyncIterable<unknown>) {
    this.it = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }

  async read(): Promise<Buffer | null> {
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) { this.done = true; return null; }
      const v = r.value;
      const b = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) :
        v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : null;
      if (b === null) throw new TypeError('stream yielded something that is not bytes');
      if (b.length > 0) return b;
    }
    return null;
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try { await this.it.return?.(); } catch { /* closing a failed stream */ }
  }
}

/** Puts chunks already read (to look at magic bytes) back in front of a source. */
export class PrependSource implements ChunkSource {
  constructor(private readonly head: Buffer[], private readonly inner: ChunkSource) {}

  get failure(): SourceFailure | null { return this.inner.failure; }

  async read(): Promise<Buffer | null> {
    if (this.head.length > 0) return this.head.shift() as Buffer;
    return this.inner.read();
  }

  close(): Promise<void> { return this.inner.close(); }
}

/**
 * Turns a thrown read error (EIO, a broken pipe...) into a failure: the frames read before it
 * stay good, the source ends.
 */
export class GuardedSource implements ChunkSource {
  failure: SourceFailure | null = null;
  constructor(private readonly inner: ChunkSource) {}

  async read(): Promise<Buffer | null> {
    if (this.failure !== null) return null;
    try {
      const c = await this.inner.read();
      if (c === null && this.inner.failure !== null) this.failure = this.inner.failure;
      return c;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | undefined)?.code;
      this.failure = { layer: 'capture', code: 'READ_ERROR',
        message: `reading the input failed${code ? ` (${code})` : ''}: ${(e as Error)?.message ?? String(e)}` };
      return null;
    }
  }

  close(): Promise<void> { return this.inner.close(); }
}

const EMPTY = Buffer.alloc(0);
const INITIAL_CARRY = 4096;

/**
 * The chunk queue the parsers read records from. See the file comment.
 *
 * Protocol: `push(chunk)` once per chunk; then, per record, `ensure(n)` (true: `buf`/`off` hold
 * n contiguous bytes; false: everything left was stashed, wait for the next chunk) and
 * `consume(n)` once the record is done with. A parser that resumes after a false `ensure`
 * starts the record again from its first byte (the carry holds it), so it keeps no
 * half-parsed state.
 */
export class ByteQueue {
  /** where the bytes of the last successful ensure() are */
  buf: Buffer = EMPTY;
  off = 0;

  /**
   * The current chunk and the read position in it. While nothing is held back
   * (`pending === 0`), a parser may read whole records straight from `chunk` at `pos` and
   * move `pos` past them (the same as ensure + consume, without a call per record).
   */
  chunk: Buffer = EMPTY;
  pos = 0;
  private readonly carry: Buffer[] = [EMPTY, EMPTY];
  private cur = 0;
  private carryLen = 0;
  private max: number;

  constructor(maxCarry: number) {
    this.max = maxCarry;
  }

  /** The largest record the carry may hold (parsers check lengths against it first). */
  setMax(n: number): void {
    this.max = n;
  }

  push(chunk: Buffer): void {
    this.chunk = chunk;
    this.pos = 0;
  }

  /** bytes held back from earlier chunks (a record begun but not complete) */
  get pending(): number {
    return this.carryLen;
  }

  ensure(n: number): boolean {
    if (this.carryLen === 0) {
      if (this.chunk.length - this.pos >= n) {
        this.buf = this.chunk;
        this.off = this.pos;
        return true;
      }
      // stash the rest of the chunk (the start of a record that continues in the next one)
      const rest = this.chunk.length - this.pos;
      if (rest === 0) return false;
      this.reserve(Math.max(n, rest));
      this.chunk.copy(this.carry[this.cur], 0, this.pos);
      this.carryLen = rest;
      this.pos = this.chunk.length;
      return false;
    }
    if (this.carryLen < n) {
      this.reserve(n);
      const take = Math.min(n - this.carryLen, this.chunk.length - this.pos);
      if (take > 0) {
        this.chunk.copy(this.carry[this.cur], this.carryLen, this.pos, this.pos + take);
        this.carryLen += take;
        this.pos += take;
      }
      if (this.carryLen < n) return false;
    }
    this.buf = this.carry[this.cur];
    this.off = 0;
    return true;
  }

  consume(n: number): void {
    if (this.carryLen === 0) {
      this.pos += n;
      return;
    }
    if (n >= this.carryLen) {
      // the record held in this carry buffer may be handed out as a frame: use the other
      // buffer for the next straddling record
      this.carryLen = 0;
      this.cur ^= 1;
    } else {
      this.carry[this.cur].copyWithin(0, n, this.carryLen);
      this.carryLen -= n;
    }
  }

  /** Skip up to n bytes without looking at them; returns how many were skipped. */
  skip(n: number): number {
    let done = 0;
    if (this.carryLen > 0) {
      const k = Math.min(n, this.carryLen);
      this.consume(k);
      done = k;
    }
    if (done < n) {
      const k = Math.min(n - done, this.chunk.length - this.pos);
      this.pos += k;
      done += k;
    }
    return done;
  }

  private reserve(n: number): void {
    const c = this.carry[this.cur];
    if (c.length >= n) return;
    if (n > this.max) throw new RangeError(`ByteQueue: record of ${n} bytes exceeds the bound ${this.max}`);
    const size = Math.min(this.max, Math.max(n, INITIAL_CARRY, c.length * 2));
    const nb = Buffer.allocUnsafeSlow(size);
    if (this.carryLen > 0) c.copy(nb, 0, 0, this.carryLen);
    this.carry[this.cur] = nb;
  }
}
