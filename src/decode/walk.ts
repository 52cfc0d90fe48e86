// The packet walker: link layer -> IP (with reassembly) -> TCP/UDP/ICMP, into one Packet.
// STUB: implemented in the foundation issue (decoders).
import type { AnomalySink } from '../errors.js';
import type { Frame } from '../source/types.js';
import type { Packet } from './packet.js';

export interface DecoderOptions {
  /** fragment reassembly bounds */
  maxFragDatagrams?: number;   // default 1024 datagrams in progress
  maxFragBytes?: number;       // default 8 MiB held in total
  fragTimeoutMs?: number;      // default 30000 (packet time)
}

export class FrameDecoder {
  constructor(private readonly anomalies: AnomalySink, opts: DecoderOptions = {}) { void opts; }
  /**
   * Decode one frame. Returns null when nothing is to be handed on (a fragment held for
   * reassembly, a frame with no IP). The returned Packet (and any buffer it points at) is
   * valid until the next call. Decode stops are counted into the anomaly sink, once per frame.
   */
  decode(frame: Frame): Packet | null {
    void frame; void this.anomalies;
    throw new Error('FrameDecoder: not implemented yet');
  }
  /** frames whose capLen < origLen seen so far */
  snaplenTruncatedFrames = 0;
}
