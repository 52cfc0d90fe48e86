// What the pcap and pcapng parsers share: the interface the reader drives, and the limits.

import type { AnomalySink, CaptureError } from '../errors.js';
import type { CaptureInfo, Frame } from './types.js';

/**
 * A push parser over chunks (an explicit state machine: file header -> record header ->
 * record body). `feed` appends the frames completed in the chunk to `out`; it never throws
 * for bad input:
 * - a problem in the file header sets `fatal` (the reader throws it from openCapture);
 * - damage after the header is added to the anomaly sink and sets `stopped` (and
 *   info.truncated): the frames before it have been handed out, nothing after it is.
 */
export interface RecordParser {
  readonly headerDone: boolean;
  readonly fatal: CaptureError | null;
  readonly stopped: boolean;
  /** frame numbers handed out so far (the next frame is lastFrameNo + 1) */
  readonly lastFrameNo: number;
  feed(chunk: Buffer, out: Frame[]): void;
  /** The input ended: a record left incomplete is `capture/TRUNCATED`. */
  end(): void;
}

export interface ParserContext {
  info: CaptureInfo;
  anomalies: AnomalySink;
}

/** tshark's (and libpcap's) largest packet for ordinary link types. */
export const MAX_PACKET = 262144;
/**
 * Hard bound for any one record we copy (reused carry buffers grow at most to this): a pcap
 * record (max(snaplen, 256 KiB), but never more than this) or a pcapng block we need whole
 * (SHB, IDB, packet blocks). Larger lengths are "impossible lengths": damage, not allocation.
 */
export const MAX_RECORD = 16 * 1024 * 1024;
/** pcapng blocks we skip unread may be as long as Wireshark allows (it refuses more). */
export const MAX_SKIPPED_BLOCK = 32 + 128 * 1024 * 1024 + 131072;

/**
 * A frame as every file reader builds it (one object shape for the whole pipeline): the
 * record's bytes stay where they were read (`buf` at `off`, see Frame in types.ts), and the
 * `data` view is created on first access only. Building one costs an object, no typed-array
 * view.
 */
export class ChunkFrame implements Frame {
  private view: Buffer | null = null;

  constructor(
    public frameNo: number,
    public tsSec: number,
    public tsNsec: number,
    public linkType: number,
    public buf: Buffer,
    public off: number,
    public capLen: number,
    public origLen: number,
    public ifIndex: number,
    public noTimestamp: boolean,
  ) {}

  get data(): Buffer {
    let v = this.view;
    if (v === null) v = this.view = this.buf.subarray(this.off, this.off + this.capLen);
    return v;
  }
}

// Record header fields, read with byte arithmetic (Buffer#readUInt32LE checks its bounds on
// every call; the parsers have checked the record length before reading). Unsigned results.

export function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function u32(b: Uint8Array, o: number, le: boolean): number {
  return le ? u32le(b, o) : u32be(b, o);
}

export function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}
