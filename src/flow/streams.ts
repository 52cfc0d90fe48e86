// First bytes of each TCP direction, for the flows an observer asked for (WANT_STREAMS):
// TLS certificates and HTTP heads live in the first few KiB (design.md "flow/").
//
// - In sequence order, starting at ISN + 1 when the direction's SYN was seen, else at the
//   first data segment's sequence number.
// - Retransmitted bytes are ignored (a segment overlapping what we have only adds its new
//   tail). A segment starting beyond the next expected byte is a gap: collection stops for
//   that direction (`gap: true`), since only in-order bytes are kept. So does a segment cut by
//   the snap length (its missing bytes are unknown).
// - Bounded per direction (`maxPerDir`, default 64 KiB) and across all flows by a shared
//   `StreamBudget` (default 64 MiB). When the budget has no room the direction stops
//   (`complete: true`) and the anomaly flow/STREAM_BUDGET is counted; memory comes back when
//   flows end (the table calls `releaseStreams` after onFlowEnd).
// - A FIN (in order) completes the direction: the stream ended.

import type { AnomalySink } from '../errors.js';
import type { StreamCapture } from './types.js';

export const STREAM_MAX_PER_DIR = 64 * 1024;
export const STREAM_BUDGET_BYTES = 64 * 1024 * 1024;
const MAX_FRAMES = 64;
const EMPTY = Buffer.alloc(0);

export class StreamBudget {
  used = 0;
  refusals = 0;
  constructor(readonly limit: number = STREAM_BUDGET_BYTES, private readonly anomalies: AnomalySink | null = null) {}

  /** Reserve `n` more bytes; false (and an anomaly) when the budget has no room. */
  take(n: number, frameNo: number): boolean {
    if (this.used + n > this.limit) {
      this.refusals++;
      this.anomalies?.add('flow', 'STREAM_BUDGET', frameNo,
        `first-bytes budget of ${this.limit} bytes exhausted: stopped collecting a TCP direction`);
      return false;
    }
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
    if (this.used < 0) this.used = 0;
  }
}

/** One direction's capture plus its reassembly cursor. */
export class DirStream implements StreamCapture {
  bytes: Buffer = EMPTY;
  length = 0;
  frames: number[] = [];
  complete = false;
  gap = false;
  /** next expected sequence number (uint32), valid when `started` */
  nextSeq = 0;
  started = false;

  constructor(readonly maxBytes: number = STREAM_MAX_PER_DIR) {}

  /** The collected bytes (a view, valid until the flow ends). */
  data(): Buffer {
    return this.bytes.subarray(0, this.length);
  }
}

export function createStreams(maxPerDir: number = STREAM_MAX_PER_DIR): [DirStream, DirStream] {
  return [new DirStream(maxPerDir), new DirStream(maxPerDir)];
}

/** The direction's SYN (or SYN-ACK) was seen: data starts at ISN + 1. */
export function streamSyn(s: DirStream, isn: number): void {
  if (s.started) return;
  s.started = true;
  s.nextSeq = (isn + 1) >>> 0;
}

/**
 * One TCP segment of this direction. `seq` is the sequence number of the first payload byte
 * (after a SYN's own sequence number), `claimedLen` the payload length the headers claim,
 * [off, end) the captured payload bytes in `data` (shorter than claimedLen when snap-cut).
 */
export function streamSegment(
  s: DirStream, budget: StreamBudget, frameNo: number,
  seq: number, data: Uint8Array, off: number, end: number, claimedLen: number, fin: boolean,
): void {
  if (s.complete) return;
  if (!s.started) {
    if (claimedLen === 0) return;
    s.started = true;
    s.nextSeq = seq >>> 0;
  }
  if (claimedLen > 0) {
    const delta = (seq - s.nextSeq) | 0;
    if (delta > 0) { s.gap = true; s.complete = true; return; }
    const skip = -delta;
    if (skip < claimedLen) {
      const captured = end - off;
      const want = claimedLen - skip;                       // new bytes in this segment
      const have = captured > skip ? captured - skip : 0;   // of which captured
      const room = s.maxBytes - s.length;
      const n = Math.min(have, room);
      if (n > 0) {
        if (!ensureCapacity(s, budget, s.length + n, frameNo)) { s.complete = true; return; }
        s.bytes.set(data.subarray(off + skip, off + skip + n), s.length);
        s.length += n;
        if (s.frames.length < MAX_FRAMES) s.frames.push(frameNo);
      }
      s.nextSeq = (seq + claimedLen) >>> 0;
      if (s.length >= s.maxBytes) { s.complete = true; return; }
      if (have < want) { s.gap = true; s.complete = true; return; }   // snap-cut: rest unknown
    }
  }
  if (fin && ((seq + claimedLen - s.nextSeq) | 0) <= 0) s.complete = true;
}

function ensureCapacity(s: DirStream, budget: StreamBudget, need: number, frameNo: number): boolean {
  const cap = s.bytes.length;
  if (need <= cap) return true;
  let next = cap === 0 ? 2048 : cap * 2;
  while (next < need) next *= 2;
  if (next > s.maxBytes) next = s.maxBytes;
  if (!budget.take(next - cap, frameNo)) return false;
  const nb = Buffer.allocUnsafe(next);
  if (s.length > 0) s.bytes.copy(nb, 0, 0, s.length);
  s.bytes = nb;
  return true;
}

/** Give a flow's stream memory back to the budget (after onFlowEnd). */
export function releaseStreams(pair: readonly [StreamCapture, StreamCapture], budget: StreamBudget): void {
  for (const s of pair) {
    budget.give(s.bytes.length);
    s.bytes = EMPTY;
    s.length = 0;
  }
}
