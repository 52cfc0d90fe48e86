// The one seam between where packets come from (file, stdin, live, batch item) and the
// rest of the pipeline (conventions.md rule 2). Everything right of this file sees Frames
// only.

import type { AnomalySink } from '../errors.js';

/**
 * One captured packet.
 *
 * Its bytes are `buf[off, off + capLen)`: `buf` is the buffer the record lies in -- the
 * reader's current chunk when the record lies in one chunk, else a reused carry buffer -- and
 * may hold other records before and after it, so nothing may read `buf` outside that range
 * (the decoder walks it at `off`, with offsets absolute in `buf`). Valid until the next batch
 * is pulled; state that keeps bytes must copy them.
 *
 * `data` is the same bytes as a Buffer of their own (`data.length === capLen`), for consumers
 * that want one (writers, tests, live). File readers create it on first access only (a
 * typed-array view costs about 100 ns, as much as reading the record): the hot path never
 * asks for it. Same lifetime as `buf`.
 */
export interface Frame {
  frameNo: number;        // from 1, as Wireshark counts
  tsSec: number;          // seconds since the epoch (integer; may be negative for odd files)
  tsNsec: number;         // 0..999_999_999
  linkType: number;       // LINKTYPE_* number
  /** the buffer holding the frame's bytes at [off, off + capLen) (see above) */
  buf: Buffer;
  /** where the frame's bytes start in `buf` */
  off: number;
  /** the frame's bytes, `buf.subarray(off, off + capLen)` */
  readonly data: Buffer;
  capLen: number;
  origLen: number;
  ifIndex: number;        // pcapng interface index across the file (0 for pcap)
  /**
   * true when the record carries no timestamp (pcapng Simple Packet Block; tshark shows no
   * frame.time for it). tsSec/tsNsec then repeat the previous frame's time (0 for the first),
   * so packet time never goes backwards. File readers always set it; other sources may omit it.
   */
  noTimestamp?: boolean;
}

/** Facts about the input that the report's `input` object shows. Filled in as reading goes. */
export interface CaptureInfo {
  format: 'pcap' | 'pcapng' | null;                 // null until the header was read
  compression: null | 'gzip' | 'zstd';
  /** LINKTYPE numbers seen in headers/IDBs, in order of first appearance. */
  linkTypes: number[];
  /** fractional digits of timestamps: 6 for µs, 9 for ns (pcapng: the finest interface). */
  tsDigits: number;
  snaplen: number | null;
  /** true when the input ended in the middle of a record or block. */
  truncated: boolean;
  /** pcap only: 'le' | 'be'; pcapng: byte order of the first section. */
  byteOrder: 'le' | 'be' | null;
  /** pcapng: sections read. */
  sections: number;
  /** pcapng: interfaces described (across all sections). */
  interfaces: number;
  /**
   * pcapng: records Wireshark numbers as frames that are not packets (custom blocks, systemd
   * journal entries, sysdig events). They take a frame number, so frame numbers match
   * Wireshark's, but are not handed on.
   */
  otherRecords?: number;
  /**
   * How frame times were taken: 'capture' (timestamps recorded by the capture, files) or
   * 'arrival' (live through `cap`, which exposes no packet timestamps: stamped when the frame
   * reached this process, so small delays are not trustworthy). Absent means 'capture'.
   */
  timing?: 'capture' | 'arrival';
}

export function emptyCaptureInfo(): CaptureInfo {
  return { format: null, compression: null, linkTypes: [], tsDigits: 6, snaplen: null,
    truncated: false, byteOrder: null, sections: 0, interfaces: 0, otherRecords: 0 };
}

/**
 * A stream of frames handed over in batches (an array per pull; the array and its frames
 * are valid until the next pull). Reading problems that still allow going on are added to
 * `anomalies`; an input that cannot be read at all makes the iterator throw a CaptureError
 * before yielding anything.
 */
export interface PacketSource extends AsyncIterable<Frame[]> {
  readonly info: CaptureInfo;
}

export interface OpenOptions {
  anomalies: AnomalySink;
  /** read chunk size in bytes (default 512 KiB, chunks.ts DEFAULT_CHUNK_SIZE). */
  chunkSize?: number;
}
