// Opening inputs: a path (or '-' for stdin) becomes a PacketSource. Format and compression
// are recognised by magic bytes, never by name.
//
// openCapture reads the start of the input before it returns -- compression magic, capture
// magic and the whole file header (pcap: 24 bytes; pcapng: the first Section Header Block) --
// so an unreadable input is a CaptureError there, and the CLI can say
// `wirecheck: not a pcap or pcapng file: <path>` and exit 2:
// - ENOENT / EACCES / EISDIR from the filesystem;
// - EMPTY_FILE: 0 bytes (or a compressed file whose content is empty);
// - NOT_A_CAPTURE: no pcap / pcapng magic (also inside gzip / zstd, and a compressed stream
//   too damaged to show one), or a file that ends inside its file header (tshark says "cut
//   short" and reads nothing; there is nothing to analyse either way), or a damaged first
//   section header;
// - UNSUPPORTED_VERSION: pcap major version other than 2, pcapng section version other than
//   1.0 / 1.2.
//
// After that, reading never throws for bad input: damage becomes an anomaly after every good
// frame (see pcap.ts, pcapng.ts, decompress.ts), and `info.truncated` is set. Frames come in
// batches, one array per chunk read (about 512 KiB); a batch and its frames are valid until the
// next one is pulled.

import { open as fsOpen } from 'node:fs/promises';
import { CaptureError, captureErrorFromFs } from '../errors.js';
import {
  DEFAULT_CHUNK_SIZE, FileChunkSource, GuardedSource, PrependSource, StreamChunkSource, type ChunkSource,
} from './chunks.js';
import { decompressSource, detectCompression } from './decompress.js';
import type { RecordParser } from './parser.js';
import { isPcapMagic, PcapParser } from './pcap.js';
import { BT_SHB, PcapngParser } from './pcapng.js';
import { emptyCaptureInfo, type CaptureInfo, type Frame, type OpenOptions, type PacketSource } from './types.js';

/** Open a capture file, or stdin for '-'. Throws CaptureError (ENOENT, EACCES, EISDIR, NOT_A_CAPTURE, EMPTY_FILE, UNSUPPORTED_VERSION) when it cannot be read. */
export async function openCapture(path: string, opts: OpenOptions): Promise<PacketSource> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  let src: ChunkSource;
  if (path === '-') {
    src = new StreamChunkSource(process.stdin);
  } else {
    try {
      src = new FileChunkSource(await fsOpen(path, 'r'), chunkSize);
    } catch (e) {
      throw captureErrorFromFs(e) ?? e;
    }
  }
  const reader = new CaptureReader(src, opts);
  await reader.start();
  return reader;
}

/** Wrap any byte stream (e.g. process.stdin). Errors surface when iteration starts. */
export function openStream(stream: NodeJS.ReadableStream, opts: OpenOptions): PacketSource {
  return new CaptureReader(new StreamChunkSource(stream), opts);
}

/** Read at least n bytes (or up to the end) from a source, as the chunks read. */
async function readAtLeast(src: ChunkSource, n: number): Promise<{ chunks: Buffer[]; head: Buffer }> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < n) {
    const c = await src.read();
    if (c === null) break;
    chunks.push(c);
    total += c.length;
  }
  const head = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  return { chunks, head };
}

class CaptureReader implements PacketSource {
  readonly info: CaptureInfo = emptyCaptureInfo();
  private src: ChunkSource;
  private parser: RecordParser | null = null;
  private pending: Frame[] = [];
  private started = false;
  private iterated = false;

  constructor(raw: ChunkSource, private readonly opts: OpenOptions) {
    this.src = raw;
  }

  /** Read the start of the input up to the end of the file header; throws CaptureError. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.startInner();
    } catch (e) {
      await this.src.close().catch(() => undefined);
      throw e;
    }
  }

  private async startInner(): Promise<void> {
    const chunkSize = this.opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    // 1. compression, on the raw bytes (filesystem errors such as EISDIR show up here)
    let first: { chunks: Buffer[]; head: Buffer };
    try {
      first = await readAtLeast(this.src, 4);
    } catch (e) {
      throw captureErrorFromFs(e) ?? e;
    }
    if (first.head.length === 0) throw new CaptureError('EMPTY_FILE', 'empty file');
    const compression = detectCompression(first.head);
    // the parsers keep nothing of a chunk once the next is pulled; a decompressor might
    if (compression === null && this.src instanceof FileChunkSource) this.src.recycle();
    let src: ChunkSource = new PrependSource(first.chunks, new GuardedSource(this.src));
    if (compression !== null) {
      this.info.compression = compression;
      src = decompressSource(compression, src, chunkSize);
    }
    this.src = src;
    // 2. capture magic, on the (decompressed) bytes
    let chunks = first.chunks;
    let head = first.head;
    if (compression !== null) {
      ({ chunks, head } = await readAtLeast(src, 4));
      if (head.length === 0) {
        if (src.failure === null) throw new CaptureError('EMPTY_FILE', 'empty file');
        throw new CaptureError('NOT_A_CAPTURE', 'not a pcap or pcapng file');
      }
    } else {
      chunks = [];   // already queued in the PrependSource
    }
    if (head.length < 4) throw new CaptureError('NOT_A_CAPTURE', 'not a pcap or pcapng file');
    const magic = head.readUInt32LE(0);
    const ctx = { info: this.info, anomalies: this.opts.anomalies };
    let parser: RecordParser;
    if (isPcapMagic(magic)) parser = new PcapParser(ctx);
    else if (magic === BT_SHB) parser = new PcapngParser(ctx);
    else throw new CaptureError('NOT_A_CAPTURE', 'not a pcap or pcapng file');
    this.parser = parser;
    // 3. the file header, and whatever frames the same chunks hold
    const out: Frame[] = [];
    for (const c of chunks) {
      parser.feed(c, out);
      if (parser.fatal !== null) throw parser.fatal;
    }
    while (!parser.headerDone) {
      const c = await src.read();
      if (c === null) {
        parser.end();
        break;
      }
      parser.feed(c, out);
      if (parser.fatal !== null) break;
    }
    if (parser.fatal !== null) throw parser.fatal;
    if (!parser.headerDone) throw new CaptureError('NOT_A_CAPTURE', 'not a pcap or pcapng file');
    this.pending = out;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame[]> {
    if (this.iterated) return;
    this.iterated = true;
    try {
      await this.start();
      const parser = this.parser as RecordParser;
      if (this.pending.length > 0) {
        const p = this.pending;
        this.pending = [];
        yield p;
      }
      while (!parser.stopped) {
        const c = await this.src.read();
        if (c === null) {
          this.endOfInput(parser);
          break;
        }
        const out: Frame[] = [];
        parser.feed(c, out);
        if (out.length > 0) yield out;
      }
    } finally {
      await this.src.close();
    }
  }

  private endOfInput(parser: RecordParser): void {
    const f = this.src.failure;
    if (f === null) {
      parser.end();
      return;
    }
    // the input itself ended early (damaged compressed stream, read error): say why, once
    this.info.truncated = true;
    this.opts.anomalies.add(f.layer, f.code, parser.lastFrameNo + 1, f.message);
  }
}
