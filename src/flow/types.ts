// Flow records and the observer interface the flow stage drives.
//
// Vocabulary is Zeek's (conventions.md rule 6). The flow stage knows no check: checks
// implement FlowObserver and the pipeline wiring registers them.

import type { Packet, QuotedPacket } from '../decode/packet.js';

export type ConnState =
  | 'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR' | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

export interface ConnId {
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  proto: 'tcp' | 'udp' | 'icmp';
}

/** Per-direction facts (index 0 = originator, 1 = responder). */
export interface DirStats {
  pkts: number;
  bytes: number;           // IP bytes
  payloadBytes: number;    // transport payload bytes (Zeek's orig_bytes/resp_bytes, without retransmissions for TCP)
  ttlMin: number;          // -1 when no packet
  ttlMax: number;
  firstTtl: number;
  firstFrame: number;      // -1 when no packet
  lastFrame: number;
}

export interface FlowRecord {
  uid: string;
  id: ConnId;
  /** first packet time, seconds (float with ns precision kept in tsSec/tsNsec) */
  tsSec: number;
  tsNsec: number;
  /** last packet time (exact) and as ms since epoch (float) */
  lastTsSec: number;
  lastTsNsec: number;
  lastMs: number;
  firstMs: number;
  duration: number;        // ms
  dir: [DirStats, DirStats];
  history: string;
  /** filled when the flow ends */
  conn_state: ConnState | null;
  ipVersion: 4 | 6;

  // TCP handshake facts
  /** SYNs (without ACK) from the originator: frames and times (ms), bounded to 32 */
  synFrames: number[];
  synTimesMs: number[];
  synCount: number;        // all SYNs, including beyond the bound
  synIsn: number;          // ISN of the first SYN, -1 if none
  synTtl: number;          // TTL of the first SYN, -1 if none
  synAckFrame: number;     // first SYN-ACK frame, -1 if none
  synAckTtl: number;       // -1 if none
  /** first SYN → first SYN-ACK in ms, -1 if none */
  synToSynAckMs: number;
  /** first RST seen: frame, direction (0 orig, 1 resp), TTL, time from first SYN in ms */
  rstFrame: number;
  rstDir: number;
  rstTtl: number;
  rstAfterSynMs: number;
  /** first FIN frame per direction, -1 if none */
  finFrame: [number, number];
  /** frame of the first payload byte per direction, -1 if none */
  firstDataFrame: [number, number];
  firstDataMs: [number, number];
  /** ICMP errors tied to this flow (bounded to 8): type, code, sender, frame */
  icmpErrors: IcmpErrorRef[];

  /** first bytes of each TCP direction, in sequence order, when an observer asked for them */
  streams: [StreamCapture, StreamCapture] | null;

  /** bit mask of observers interested in per-packet events (bit i = observer i) */
  watchers: number;
  /** free slot for observers' own per-flow state, keyed by observer name (bounded by the observer) */
  ext: Record<string, unknown> | null;
}

export interface IcmpErrorRef {
  frameNo: number;
  tsMs: number;
  type: number;
  code: number;
  ipVersion: 4 | 6;
  sender: string;          // address that sent the ICMP error
  ttl: number;
  quoted: QuotedPacket;
}

/** In-order first bytes of one TCP direction (bounded per flow and in total). */
export interface StreamCapture {
  /** contiguous bytes from the first payload byte on (after the SYN's ISN + 1) */
  bytes: Buffer;
  length: number;
  /** frame numbers that contributed, in order (bounded to 64) */
  frames: number[];
  /** true when the bound was hit or a gap stopped collection */
  complete: boolean;
  gap: boolean;
}

// ---------------------------------------------------------------------------------------
// DNS, as the shared DNS service hands it to observers

export type DnsOutcome = 'answered' | 'late' | 'unanswered' | 'pending' | 'rejected' | 'error';

export interface DnsQuestion {
  name: string;            // lower case, no trailing dot
  type: string;            // 'TXT', 'A', ... or 'UNKNOWN_<n>'
  class: string;
}

export interface DnsAnswerRecord {
  name: string;
  type: string;
  ttl: number;
  /** A/AAAA: address text; CNAME/PTR/NS: target name; TXT: joined strings; other: '' */
  data: string;
}

/**
 * One DNS query and what became of it, handed over when it is judged. Read-only for
 * observers: its `question` object is shared with other transactions and events of the same
 * question (the wire reader caches them), and an empty `answers` is one shared frozen list.
 */
export interface DnsTransaction {
  flow: FlowRecord;
  transport: 'udp' | 'tcp';
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  id: number;
  question: DnsQuestion | null;   // null when the query could not be parsed (e.g. encrypted)
  /** query frames: the first and its retransmissions (bounded to 16) */
  queryFrames: number[];
  retransmits: number;
  firstQueryMs: number;
  /** exact times of the first and the last query frame */
  firstQueryTsSec: number;
  firstQueryTsNsec: number;
  lastQueryTsSec: number;
  lastQueryTsNsec: number;
  outcome: DnsOutcome;
  responseFrame: number;          // -1 when none
  rttMs: number;                  // -1 when none
  rcode: string | null;           // 'NOERROR', 'NXDOMAIN', 'SERVFAIL', ... or null
  answers: DnsAnswerRecord[];
  /** DNSCrypt: the query was an encrypted datagram, not plain DNS */
  encrypted: boolean;
  /** the query payload was cut by the snap length, so it was not decoded */
  truncated: boolean;
  /** ICMP error that rejected it, when outcome === 'rejected' */
  icmp: IcmpErrorRef | null;
  /** TCP: the connection was refused by a reset */
  tcpReset: boolean;
  /** EDNS0 Umbrella device id option (0x6942 or code 4) present */
  umbrellaEdns: boolean;
}

/** A DNS response as it passes (before pairing), for the name cache and other readers. Read-only (see DnsTransaction). */
export interface DnsResponseEvent {
  flow: FlowRecord;
  frameNo: number;
  tsMs: number;
  server: string;
  client: string;
  id: number;
  rcode: string;
  question: DnsQuestion | null;
  answers: DnsAnswerRecord[];
}

// ---------------------------------------------------------------------------------------
// Observers

export const WANT_PACKETS = 1;  // onPacket for every packet of this flow
export const WANT_STREAMS = 2;  // collect the first bytes of each TCP direction
export const WANT_DNS = 4;      // decode DNS on this flow even off port 53 (e.g. UDP/443 to a resolver)

export interface FlowObserver {
  readonly name: string;
  /**
   * A flow was created. Return a mask of WANT_* flags (0 for none). When the result is 0 and
   * `flow.ext` stays null, the record is only valid during the call (the table reuses it).
   */
  onFlowStart?(flow: FlowRecord, pkt: Packet): number;
  /** Every packet of a flow whose onFlowStart returned WANT_PACKETS. dir 0 = from originator. */
  onPacket?(flow: FlowRecord, pkt: Packet, dir: 0 | 1): void;
  /** An ICMP/ICMPv6 error quoting a packet; flow is the flow it answers when known. */
  onIcmpError?(err: IcmpErrorRef, flow: FlowRecord | null): void;
  /** A DNS response passed (any flow where DNS is decoded). */
  onDnsResponse?(ev: DnsResponseEvent): void;
  /** A DNS query was judged (answered, unanswered, ...). */
  onDnsTransaction?(tx: DnsTransaction): void;
  /**
   * The flow ended (expiry, eviction or end of input): conn_state is set. A record kept for
   * the flow (an observer returned a mask or set `ext`, DNS was decoded on it, an ICMP error
   * or a retransmitted SYN was tied to it) is the same object observers saw before; any other
   * flow's record is only valid during the call (the table reuses it): copy what you keep.
   */
  onFlowEnd?(flow: FlowRecord): void;
}

export interface FlowTimeouts {
  dnsAnswerMs: number;     // 5000
  tcpAttemptMs: number;    // 75000
  udpIdleMs: number;       // 60000
  tcpIdleMs: number;       // 300000
}
