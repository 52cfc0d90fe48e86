// The decoded form of one frame, as the flow stage consumes it.
//
// Flat on purpose: the per-packet hot path reads numbers and offsets, not nested views, and
// formats nothing (addresses stay bytes at `srcOff`/`dstOff` in `data` until a flow is
// created or a report is written). Every offset below is absolute in `data`, which is
// usually the reader's whole chunk (the frame's `buf`): the frame's bytes are only a range
// of it, so read `data` only within the ranges the offsets give ([srcOff, +4/16),
// [l4Off, l4End), [payloadOff, payloadEnd), ...), never up to `data.length`. Produced by `decodeFrame()` in `./walk.ts` from the
// per-protocol decoders in this folder.

import type { DecodeError } from '../errors.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

// TCP flag bits as in the header's 13th byte (plus NS is ignored)
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

/** The IP + transport header quoted inside an ICMP/ICMPv6 error (dest unreachable, time exceeded, ...). */
export interface QuotedPacket {
  ipVersion: 4 | 6;
  src: string;          // text form (RFC 5952 for IPv6)
  dst: string;
  proto: number;
  srcPort: number;      // -1 when the quote is too short to hold ports
  dstPort: number;
  ttl: number;
  /** DNS transaction id when the quoted datagram is UDP and holds ≥ 2 bytes of payload, else -1. */
  dnsId: number;
  /** TCP sequence number when quoted (≥ 8 bytes of TCP), else -1. */
  tcpSeq: number;
}

export interface Packet {
  frameNo: number;
  tsSec: number;
  tsNsec: number;
  /**
   * Buffer holding the IP packet: the frame's `buf` (the chunk the frame lies in, with other
   * frames around it), or a fresh buffer holding just the datagram after defragmentation.
   */
  data: Buffer;
  /** capLen < origLen: the capture's snap length cut this frame (not damage). */
  snapTruncated: boolean;
  /**
   * Why decoding stopped early (null when every layer decoded). Its offset counts from the
   * frame's first byte (a reassembled datagram's first byte), as the anomaly text shows it.
   */
  stop: DecodeError | null;

  /** 802.1Q/802.1ad tags seen (outermost first; VLAN ids), empty when none. Shared empty array when none. */
  vlans: readonly number[];

  // --- network layer (ipVersion 0: no IP decoded) --------------------------------------
  ipVersion: 0 | 4 | 6;
  ipOff: number;
  /** offsets of the 4- or 16-byte source / destination addresses in `data` */
  srcOff: number;
  dstOff: number;
  /** IPv4 TTL / IPv6 hop limit */
  ttl: number;
  /** IPv4 identification (IPv6: fragment id when fragmented, else -1) */
  ipId: number;
  /** true when this packet was reassembled from fragments (data is then a fresh buffer) */
  reassembled: boolean;
  /** IP bytes on the wire for this packet (IPv4 total length / IPv6 40 + payload length; reassembled: whole datagram). */
  ipLen: number;

  // --- transport ----------------------------------------------------------------------
  /** transport protocol number after IPv6 extension headers; -1 when none decoded */
  proto: number;
  l4Off: number;
  /** end of the transport segment, clipped by the IP length and by the captured bytes */
  l4End: number;
  srcPort: number;      // -1 when not TCP/UDP
  dstPort: number;

  // TCP (meaningful when proto === 6 and tcpHdrLen > 0)
  tcpFlags: number;
  seq: number;          // uint32
  ack: number;          // uint32
  window: number;
  tcpHdrLen: number;

  /** application payload: [payloadOff, payloadEnd) in `data` (clipped to captured bytes) */
  payloadOff: number;
  payloadEnd: number;
  /** payload length the headers claim (may exceed payloadEnd - payloadOff when snap-truncated) */
  payloadLen: number;

  // ICMP / ICMPv6 (meaningful when proto is 1 or 58)
  icmpType: number;     // -1 when not ICMP
  icmpCode: number;
  /** the quoted offending packet of an ICMP error, when decodable */
  quoted: QuotedPacket | null;
}

/** TCP options of a SYN/SYN-ACK, parsed on demand (see tcp.ts parseTcpOptions). */
export interface TcpOptions {
  mss: number;          // -1 when absent
  wscale: number;       // -1 when absent
  sackOk: boolean;
  tsVal: number;        // -1 when absent
  tsEcr: number;
}
