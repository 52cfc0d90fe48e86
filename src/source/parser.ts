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

/** A frame as every file reader builds it (one object shape for the whole pipeline). */
export function makeFrame(
  frameNo: number, tsSec: number, tsNsec: number, linkType: number, data: Buffer,
  origLen: number, ifIndex: number, noTimestamp: boolean,
): Frame {
  return { frameNo, tsSec, tsNsec, linkType, data, capLen: data.length, origLen, ifIndex, noTimestamp };
}
