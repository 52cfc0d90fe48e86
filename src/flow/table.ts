// The flow table: direction-free 5-tuple -> flow, driven by packet time (design.md "flow/",
// conventions.md rules 6, 7, 9). Zeek's vocabulary: uid, id {orig_h, orig_p, resp_h,
// resp_p, proto}, history, conn_state.
//
// Layout (the per-packet hot path builds no strings, no closures, no string-keyed lookups):
// - Per-flow state lives in one ArrayBuffer, a fixed 344-byte record per flow read through
//   typed-array views. The lookup fields share the first cache line and everything a packet
//   touches lies in the first 200 bytes (two 128-byte line pairs); the LRU links are in an
//   array of their own. Freed records are reused through a free list; the buffer grows by
//   doubling up to `maxFlows`.
// - The lookup is open addressing (linear probing, backward-shift deletion) in an Int32Array
//   of slot -> flow index + 1. The hash is computed from the address and port bytes in
//   `pkt.data` and is symmetric, so both directions land in the same bucket; keys are
//   compared against per-flow numeric fields (IPv4 address as one uint32, IPv6 as four).
// - A `FlowRecord` object (what observers see) is built when the flow starts, kept while
//   anyone showed interest in the flow (an observer returned a WANT_* mask or set `ext`, DNS
//   is decoded on it, it got an ICMP error or a retransmitted SYN) and refreshed from the
//   arrays before every callback. Other flows ("cold") use one scratch record, refilled for
//   their onFlowStart and again for their onFlowEnd and valid only during those calls:
//   observers that keep per-flow state must ask for it (mask or ext). A record holds the
//   addresses as numbers and the flow's serial; the address text (IPv4 through a small
//   cache) and the uid are made when first read, which for most flows is never.
// - Expiry by packet time: each timeout class has a doubly linked LRU list by last activity;
//   the heads are checked when packet time advanced >= 1 s since the last sweep (and a packet
//   that hits a flow idle beyond its timeout finalizes it and starts a new one, so results do
//   not depend on sweep timing). Classes: TCP attempt (not established: tcpAttemptMs), TCP
//   established (tcpIdleMs), UDP/ICMP (udpIdleMs), TCP closed (RST, or FIN both ways:
//   CLOSED_LINGER_MS = 5 s, Zeek's tcp_close_delay, so trailing ACKs and retransmitted RSTs
//   stay in the flow).
// - Bounded: at most `maxFlows` live flows; a new flow beyond that evicts the least recently
//   active one (finalized: its events are delivered) and counts flow/TABLE_FULL.
//
// Flow identity: TCP and UDP by addresses and ports; ICMP as Zeek does it: orig_p is the type,
// resp_p the counterpart type of request/reply pairs (echo 8 <-> 0, ...) or the code of
// one-way messages (errors). The originator is the sender of the first packet, except when
// that packet is a SYN-ACK, an ICMP echo reply, or (not a SYN) comes from a likely server
// port to a port that is not one (Zeek's heuristic): then the roles are flipped and the
// history starts with '^'. A SYN (no ACK) with a new ISN on a closed flow, or any packet on
// a flow idle beyond its timeout, starts a new flow (port reuse); the old one is finalized
// first. Retransmissions of a SYN (same ISN) stay in one flow for as long as the attempt
// lives (tcpAttemptMs of silence).
//
// TCP endpoint states follow Zeek's state machine (TCPSessionAdapter's Update*State: SYN_SENT,
// SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET) and give conn_state through the pure
// `connState()` (conn-state.ts). Payload bytes per direction count new sequence space only
// (retransmissions excluded), as Zeek's orig_bytes/resp_bytes. Retransmission ('t') means a
// segment ending at or before the highest byte already seen in its direction (so reordered
// segments also count); a content gap ('g') means the peer acknowledged bytes never seen.

import type { AnomalySink } from '../errors.js';
import type { Packet } from '../decode/packet.js';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from '../decode/packet.js';
import { canonicalIp, formatIPv4, formatIPv6, ipv4TextOf, parseIp } from '../decode/addr.js';
import type {
  ConnId, ConnState, DirStats, FlowObserver, FlowRecord, FlowTimeouts, IcmpErrorRef, StreamCapture,
} from './types.js';
import { WANT_DNS, WANT_PACKETS, WANT_STREAMS } from './types.js';
import type { NameCache } from './names.js';
import { endpointHash, flowHash, flowUid, foldAddr, readU32 } from './hash.js';
import {
  CONN_STATES, connState, TCP_CLOSED, TCP_ESTABLISHED, TCP_INACTIVE, TCP_PARTIAL, TCP_RESET,
  TCP_SYN_ACK_SENT, TCP_SYN_SENT,
} from './conn-state.js';
import {
  H_ACK, H_DATA, H_FIN, H_FINRST, H_MULTI, H_RST, H_SYN, H_SYNACK, HISTORY_LETTER, HISTORY_MAX,
  historyText, isScaledStep, LETTER_FLIP, LETTER_G, LETTER_T, LETTER_W, letterFor,
} from './history.js';
import { DnsFlowState, DnsService, type DnsStats } from './dns.js';
import { createStreams, DirStream, releaseStreams, StreamBudget, streamSegment, streamSyn } from './streams.js';

export interface FlowTableOptions {
  timeouts: FlowTimeouts;
  /** cap on live flows; beyond it the least recently active flow is evicted (flow/TABLE_FULL) */
  maxFlows: number;
  observers: FlowObserver[];
  anomalies: AnomalySink;
  names: NameCache;
  /** addresses whose traffic is DNS on any port (resolvers): UDP/TCP to these on `dnsPorts` is decoded as DNS */
  dnsServers: string[];
  dnsPorts: number[];
  /** seed for uids (deterministic output) */
  uidSeed?: number;
  /** linger of a closed TCP flow (RST, or FIN both ways) in ms; default CLOSED_LINGER_MS */
  closedLingerMs?: number;
  /** first-bytes bounds (WANT_STREAMS): per direction and across all flows */
  streamBytesPerDir?: number;
  streamBudgetBytes?: number;
  /**
   * starting capacity in flows (default: maxFlows, at most RESERVE_FLOWS); the record buffer
   * doubles when more are needed, up to maxFlows
   */
  initialFlows?: number;
}

export interface FlowStats {
  total: number;
  live: number;
  byConnState: Record<string, number>;
  evicted: number;
  /** DNS service counters (queries, responses, unsolicited responses, outcomes...) */
  dns: DnsStats;
}

export const CLOSED_LINGER_MS = 5000;
/**
 * Flows reserved up front by default (344 bytes each). The buffer is zero-filled memory the
 * OS hands out lazily, so reserving costs address space, not resident memory, and growing
 * never copies (a doubling would hold old and new buffers at once).
 */
export const RESERVE_FLOWS = 1 << 20;
/** Released tables of at most this many flows give their buffers to the next table (see release()). */
const POOL_MAX_FLOWS = 32768;
interface PooledTable {
  cap: number;
  records: ArrayBuffer;
  slots: Int32Array;
  links: Int32Array;
  freeStack: Int32Array;
  recs: (FlowRec | null)[];
  dnsSt: (DnsFlowState | null)[];
}
let pooled: PooledTable | null = null;

/** Flows the slot table has room for at first (it grows with the flows alive). */
const INITIAL_SLOT_FLOWS = 4096;
/** Flows are swept for expiry when packet time advanced this much since the last sweep. */
const SWEEP_EVERY_MS = 1000;
const MAX_SYN_FRAMES = 32;
const MAX_ICMP_ERRORS = 8;
/** a peer's ACK beyond this many bytes past what we saw is not trusted as a content gap */
const MAX_GAP_ACK = 1 << 24;

// timeout classes
const CLS_ATTEMPT = 0;
const CLS_ESTABLISHED = 1;
const CLS_UDP = 2;
const CLS_CLOSED = 3;
const NCLS = 4;
const CLS_FREE = 255;

// per-flow flag bits
const F_DNS = 1;          // DNS is decoded on this flow
const F_STREAMS = 2;      // first bytes are collected
const F_PIN = 4;          // the record is kept until the flow ends (someone is interested in it)
const F_DNS_SRV1 = 8;     // the DNS server is the responder (else the originator)
const F_OBJ = 16;         // recs[i] or dnsSt[i] may be set (saves reading those big arrays for most flows)

// per-direction flag bits
const DF_SEQ = 1;     // nextSeq valid
const DF_ISN = 2;     // this direction sent a SYN; isn valid

// shared, frozen: replaced by a fresh array before anything is added
const EMPTY_NUMS = Object.freeze([]) as unknown as number[];
const EMPTY_ICMP = Object.freeze([]) as unknown as IcmpErrorRef[];
const NO_PAIR = Object.freeze([-1, -1]) as unknown as [number, number];

/** A per-direction pair: the shared [-1, -1] when both are unset, else `cur` updated or a new pair. */
function pair(cur: [number, number], a: number, b: number): [number, number] {
  if (a === -1 && b === -1) return NO_PAIR;
  if (cur === NO_PAIR) return [a, b];
  cur[0] = a;
  cur[1] = b;
  return cur;
}

/** Ports Zeek-like heuristics treat as servers when a flow starts without a SYN. */
const EXTRA_SERVER_PORTS = new Set([1080, 1194, 1433, 1521, 1812, 1813, 3128, 3306, 3389, 5060, 5061, 5353,
  5432, 8000, 8008, 8080, 8200, 8443, 8888, 9443]);

const SERVER_PORT = new Uint8Array(65536);
for (let p = 1; p < 1024; p++) SERVER_PORT[p] = 1;
for (const p of EXTRA_SERVER_PORTS) SERVER_PORT[p] = 1;

function likelyServerPort(p: number): boolean {
  return SERVER_PORT[p] === 1;
}

/** Zeek's ICMP counterpart types: request <-> reply pairs share a flow; -1 for one-way types. */
function icmpCounterpart(ver: number, type: number): number {
  if (ver === 4) {
    switch (type) {
      case 8: return 0; case 0: return 8;
      case 13: return 14; case 14: return 13;
      case 15: return 16; case 16: return 15;
      case 17: return 18; case 18: return 17;
      case 10: return 9; case 9: return 10;
      default: return -1;
    }
  }
  switch (type) {
    case 128: return 129; case 129: return 128;
    case 133: return 134; case 134: return 133;
    case 135: return 136; case 136: return 135;
    case 130: return 131; case 131: return 130;
    case 139: return 140; case 140: return 139;
    default: return -1;
  }
}

function protoName(proto: number): 'tcp' | 'udp' | 'icmp' {
  return proto === 6 ? 'tcp' : proto === 17 ? 'udp' : 'icmp';
}

const V6_SCRATCH = new Uint8Array(16);
function v6Text(w0: number, w1: number, w2: number, w3: number): string {
  const x = V6_SCRATCH;
  x[0] = w0 >>> 24; x[1] = (w0 >>> 16) & 255; x[2] = (w0 >>> 8) & 255; x[3] = w0 & 255;
  x[4] = w1 >>> 24; x[5] = (w1 >>> 16) & 255; x[6] = (w1 >>> 8) & 255; x[7] = w1 & 255;
  x[8] = w2 >>> 24; x[9] = (w2 >>> 16) & 255; x[10] = (w2 >>> 8) & 255; x[11] = w2 & 255;
  x[12] = w3 >>> 24; x[13] = (w3 >>> 16) & 255; x[14] = (w3 >>> 8) & 255; x[15] = w3 & 255;
  return formatIPv6(x, 0);
}

/**
 * A flow's ConnId. The addresses are kept as numbers and turned into text only when read
 * (most flows end without anyone asking for the client's address), then cached. It holds no
 * reference to the table, so a kept record stays valid after its flow ended.
 */
class FlowId implements ConnId {
  orig_p = 0;
  resp_p = 0;
  proto: 'tcp' | 'udp' | 'icmp' = 'tcp';
  private v6 = false;
  private a0 = 0; private a1 = 0; private a2 = 0; private a3 = 0;
  private b0 = 0; private b1 = 0; private b2 = 0; private b3 = 0;
  private oh: string | null = null;
  private rh: string | null = null;

  /** Load from the flow's address words at u32 index `w` (orig words w..w+3, resp w+4..w+7). */
  load(u32: Uint32Array, w: number, v6: boolean, ports: number, proto: 'tcp' | 'udp' | 'icmp'): void {
    this.v6 = v6;
    this.a0 = u32[w]; this.b0 = u32[w + 4];
    if (v6) {
      this.a1 = u32[w + 1]; this.a2 = u32[w + 2]; this.a3 = u32[w + 3];
      this.b1 = u32[w + 5]; this.b2 = u32[w + 6]; this.b3 = u32[w + 7];
    }
    this.orig_p = ports >>> 16;
    this.resp_p = ports & 0xffff;
    this.proto = proto;
    this.oh = null;
    this.rh = null;
  }

  get orig_h(): string {
    if (this.oh === null) this.oh = this.v6 ? v6Text(this.a0, this.a1, this.a2, this.a3) : ipv4TextOf(this.a0);
    return this.oh;
  }

  set orig_h(v: string) {
    this.oh = v;
  }

  get resp_h(): string {
    if (this.rh === null) this.rh = this.v6 ? v6Text(this.b0, this.b1, this.b2, this.b3) : ipv4TextOf(this.b0);
    return this.rh;
  }

  set resp_h(v: string) {
    this.rh = v;
  }

  /** a plain copy (for JSON and deep comparisons) */
  toJSON(): ConnId {
    return { orig_h: this.orig_h, orig_p: this.orig_p, resp_h: this.resp_h, resp_p: this.resp_p, proto: this.proto };
  }
}

/**
 * The record observers see. Field order fixed by the constructor (one hidden class). The uid
 * is made from the flow's serial number when first read (the analysis itself never reads it).
 */
class FlowRec implements FlowRecord {
  serial = 0;
  uidSeed = 0;
  private uidText: string | null = null;
  readonly id = new FlowId();
  tsSec = 0;
  tsNsec = 0;
  lastTsSec = 0;
  lastTsNsec = 0;
  lastMs = 0;
  firstMs = 0;
  duration = 0;
  dir: [DirStats, DirStats];
  history = '';
  conn_state: ConnState | null = null;
  ipVersion: 4 | 6 = 4;
  synFrames: number[] = EMPTY_NUMS;
  synTimesMs: number[] = EMPTY_NUMS;
  synCount = 0;
  synIsn = -1;
  synTtl = -1;
  synAckFrame = -1;
  synAckTtl = -1;
  synToSynAckMs = -1;
  rstFrame = -1;
  rstDir = -1;
  rstTtl = -1;
  rstAfterSynMs = -1;
  finFrame: [number, number] = NO_PAIR;
  firstDataFrame: [number, number] = NO_PAIR;
  firstDataMs: [number, number] = NO_PAIR;
  icmpErrors: IcmpErrorRef[] = EMPTY_ICMP;
  streams: [StreamCapture, StreamCapture] | null = null;
  watchers = 0;
  ext: Record<string, unknown> | null = null;

  constructor() {
    this.dir = [newDirStats(), newDirStats()];
  }

  get uid(): string {
    if (this.uidText === null) this.uidText = flowUid(this.serial, this.uidSeed);
    return this.uidText;
  }

  set uid(v: string) {
    this.uidText = v;
  }

  /** Point at a new flow (serial); cached text is dropped. */
  reset(serial: number, uidSeed: number): void {
    this.serial = serial;
    this.uidSeed = uidSeed;
    this.uidText = null;
  }
}

function newDirStats(): DirStats {
  return { pkts: 0, bytes: 0, payloadBytes: 0, ttlMin: -1, ttlMax: -1, firstTtl: -1, firstFrame: -1, lastFrame: -1 };
}

// ---------------------------------------------------------------------------------------
// Per-flow record layout: one ArrayBuffer, FLOW_BYTES per flow, read through typed views
// (u8/u16/u32/f64) at byte offsets. The fields a lookup compares sit in the first
// cache line; a packet touches about four adjacent lines of its flow.

const FLOW_BYTES = 344;
// flow fields (byte offsets; the view's index is offset >> log2(size)). What every packet
// reads or writes -- the key, last-activity time, observer bits and the hot half of both
// direction blocks -- lies in bytes 0..199 (two 128-byte line pairs); creation-time and
// handshake facts and the history text follow.
const O_HASH = 0;          // u32
const O_KINFO = 4;         // u16: proto | 0x100 for IPv6
const O_CLS = 6;           // u8: timeout class, CLS_FREE when unused
const O_HLEN = 7;          // u8: history length
const O_PORTS = 8;         // u32: origPort << 16 | respPort
const O_FLAGS = 12;        // u16
const O_RSTDIR = 14;       // u8
const O_SYNTTL = 15;       // u8
const O_ADDR = 16;         // u32 x 8: orig (A) words 0..3, resp (B) words 4..7
const O_LASTMS = 48;       // f64
const O_LASTSEC = 56;      // f64
const O_LASTNSEC = 64;     // u32
const O_WATCH = 68;        // u32: observer bits (WANT_PACKETS)
const O_DIR = 72;          // two per-direction blocks (72..159, 160..247)
const DIR_BYTES = 88;
const O_FIRSTMS = 248;     // f64
const O_FIRSTSEC = 256;    // f64
const O_SYNMS = 264;       // f64
const O_SYNACKMS = 272;    // f64
const O_RSTMS = 280;       // f64
const O_FIRSTNSEC = 288;   // u32
const O_SERIAL = 292;      // u32: creation number (uid)
const O_SYNCOUNT = 296;    // u32
const O_SYNFRAME = 300;    // u32
const O_SYNISN = 304;      // u32
const O_SYNACKFRAME = 308; // u32
const O_RSTFRAME = 312;    // u32
const O_SYNACKTTL = 316;   // u8
const O_RSTTTL = 317;      // u8
const O_HIST = 320;        // u8 x HISTORY_MAX (24), to 344
// per-direction fields (byte offsets inside the block): per-packet ones first (0..39)
const D_BYTES = 0;         // f64
const D_PAY = 8;           // f64
const D_PKTS = 16;         // u32
const D_LFRAME = 20;       // u32
const D_NEXTSEQ = 24;      // u32
const D_DATAFRM = 28;      // u32
const D_HMASK = 32;        // u16
const D_TTLMIN = 34;       // u8
const D_TTLMAX = 35;       // u8
const D_ST = 36;           // u8: TCP endpoint state / UDP active
const D_PST = 37;          // u8: previous TCP endpoint state
const D_DFLAGS = 38;       // u8
const D_TTLFIRST = 39;     // u8
const D_DATAMS = 40;       // f64
const D_FFRAME = 48;       // u32
const D_ISN = 52;          // u32
const D_LSYN = 56;         // u32
const D_LFIN = 60;         // u32
const D_LRST = 64;         // u32
const D_CNTT = 68;         // u32
const D_CNTW = 72;         // u32
const D_CNTG = 76;         // u32
const D_FINFRM = 80;       // u32
// 84..87 unused

/** byte offset of direction `dir`'s block of flow `i` */
function dirBase(i: number, dir: number): number {
  return i * FLOW_BYTES + O_DIR + dir * DIR_BYTES;
}

export class FlowTable {
  // --- configuration
  private readonly timeoutOf: Float64Array;
  private readonly maxFlows: number;
  private readonly uidSeed: number;
  private readonly dnsPorts = new Uint8Array(65536);
  private readonly dnsV4: Set<number>;
  private readonly dnsV6: Uint32Array;          // 4 words per configured IPv6 resolver
  private readonly observers: FlowObserver[];
  private readonly startObs: number[];          // indexes of observers with onFlowStart
  private readonly endObs: FlowObserver[];
  private readonly icmpObs: FlowObserver[];
  private readonly dns: DnsService;
  private readonly streamBudget: StreamBudget;
  private readonly streamPerDir: number;

  // --- capacity and allocation
  private cap = 0;
  private used = 0;          // flow indexes ever handed out (< cap)
  /** free flow indexes (a stack: popping does not touch the cold record) */
  private freeStack: Int32Array = new Int32Array(0);
  private freeTop = 0;
  private liveCount = 0;
  /** open addressing: pairs (flow index + 1, hash); 0 = empty */
  private slots: Int32Array = new Int32Array(0);
  private slotMask = 0;

  // --- the flow records (views over one buffer)
  private u8: Uint8Array = new Uint8Array(0);
  private u16: Uint16Array = new Uint16Array(0);
  private u32: Uint32Array = new Uint32Array(0);
  private f64: Float64Array = new Float64Array(0);

  // --- per flow, JS objects (only for flows that need them)
  private recs: (FlowRec | null)[] = [];
  private dnsSt: (DnsFlowState | null)[] = [];

  // --- LRU lists per timeout class. The links sit in a small array of their own rather
  // than in the records: relinking a flow on every packet then touches its neighbours' links
  // (8 bytes a flow, many to a cache line) instead of two more flow records.
  /** links[2i] = previous flow, links[2i + 1] = next flow (one cache line for both) */
  private links: Int32Array = new Int32Array(0);
  private readonly head = new Int32Array(NCLS).fill(-1);
  private readonly tail = new Int32Array(NCLS).fill(-1);

  // --- time and counters
  private clock = -Infinity;
  private lastSweep = -Infinity;
  private created = 0;
  private evictedCount = 0;
  private evictPending = 0;
  /** hash computed by the last lookup() (saves recomputing it when the flow is created) */
  private lastHash = 0;
  private readonly byState = new Float64Array(CONN_STATES.length);

  private readonly scratchSynFrames = [0];
  private readonly scratchSynTimes = [0];
  /** a record no flow kept, reused for the next onFlowStart or cold onFlowEnd */
  private scratch: FlowRec | null = null;

  constructor(readonly opts: FlowTableOptions) {
    const t = opts.timeouts;
    this.timeoutOf = Float64Array.from([t.tcpAttemptMs, t.tcpIdleMs, t.udpIdleMs, opts.closedLingerMs ?? CLOSED_LINGER_MS]);
    this.maxFlows = Math.max(1, Math.floor(opts.maxFlows));
    this.uidSeed = (opts.uidSeed ?? 1) >>> 0;
    for (const p of opts.dnsPorts) if (Number.isInteger(p) && p >= 0 && p < 65536) this.dnsPorts[p] = 1;
    this.dnsV4 = new Set();
    const v6: number[] = [];
    for (const s of opts.dnsServers) {
      const canon = canonicalIp(s);
      const b = canon === null ? null : parseIp(canon);
      if (b === null) continue;
      if (b.length === 4) this.dnsV4.add(readU32(b, 0));
      else v6.push(readU32(b, 0), readU32(b, 4), readU32(b, 8), readU32(b, 12));
    }
    this.dnsV6 = Uint32Array.from(v6);
    this.observers = opts.observers.slice(0, 32);
    this.startObs = [];
    this.observers.forEach((o, i) => { if (typeof o.onFlowStart === 'function') this.startObs.push(i); });
    this.endObs = this.observers.filter((o) => typeof o.onFlowEnd === 'function');
    this.icmpObs = this.observers.filter((o) => typeof o.onIcmpError === 'function');
    this.dns = new DnsService({ timeouts: t, anomalies: opts.anomalies, names: opts.names, observers: this.observers });
    this.streamBudget = new StreamBudget(opts.streamBudgetBytes, opts.anomalies);
    this.streamPerDir = opts.streamBytesPerDir ?? 64 * 1024;
    this.resize(Math.max(1, Math.min(this.maxFlows, opts.initialFlows ?? RESERVE_FLOWS)));
  }

  // =======================================================================================
  // public API

  /** Feed one decoded packet (valid only during the call). Also expires idle flows by packet time. */
  process(pkt: Packet): void {
    const ver = pkt.ipVersion;
    if (ver === 0) return;
    const proto = pkt.proto;
    let sp: number, dp: number;
    if (proto === 6 || proto === 17) {
      sp = pkt.srcPort;
      dp = pkt.dstPort;
      if (sp < 0 || dp < 0) return;
      if (proto === 6 && pkt.tcpHdrLen === 0) return;
    } else if (proto === 1 || proto === 58) {
      if (pkt.icmpType < 0 || (proto === 1) !== (ver === 4)) return;
      sp = pkt.icmpType;
      const cp = icmpCounterpart(ver, sp);
      dp = cp >= 0 ? cp : pkt.icmpCode;
    } else {
      return;
    }
    let ms = pkt.tsSec * 1000 + pkt.tsNsec / 1e6;
    if (ms !== ms) ms = this.clock === -Infinity ? 0 : this.clock;   // NaN guard
    if (ms > this.clock) this.clock = ms;
    if (this.clock - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(this.clock);

    if (pkt.quoted !== null && (proto === 1 || proto === 58)) this.icmpError(pkt, ms);

    // key words straight from the packet bytes
    const d = pkt.data;
    let a0: number, a1 = 0, a2 = 0, a3 = 0, b0: number, b1 = 0, b2 = 0, b3 = 0;
    const so = pkt.srcOff, dof = pkt.dstOff;
    if (ver === 4) {
      a0 = readU32(d, so);
      b0 = readU32(d, dof);
    } else {
      a0 = readU32(d, so); a1 = readU32(d, so + 4); a2 = readU32(d, so + 8); a3 = readU32(d, so + 12);
      b0 = readU32(d, dof); b1 = readU32(d, dof + 4); b2 = readU32(d, dof + 8); b3 = readU32(d, dof + 12);
    }
    let found = this.lookup(ver, proto, a0, a1, a2, a3, b0, b1, b2, b3, sp, dp);
    const h = this.lastHash;
    if (found >= 0) {
      const i = found >> 1;
      const b = i * FLOW_BYTES;
      const c = this.u8[b + O_CLS];
      if (ms - this.f64[(b + O_LASTMS) >> 3] > this.timeoutOf[c]) {
        // idle beyond its timeout: the old flow is over, this packet starts a new one
        this.finalize(i, ms);
        found = -1;
      } else if (proto === 6 && c === CLS_CLOSED && (pkt.tcpFlags & (TH_SYN | TH_ACK)) === TH_SYN) {
        const db = dirBase(i, found & 1);
        if ((this.u8[db + D_DFLAGS] & DF_ISN) === 0 || this.u32[(db + D_ISN) >> 2] !== (pkt.seq >>> 0)) {
          // port reuse: a new SYN on a flow that ended
          this.finalize(i, ms);
          found = -1;
        }
      }
    }
    if (found < 0) found = this.create(pkt, ms, h, ver, proto, a0, a1, a2, a3, b0, b1, b2, b3, sp, dp);
    this.update(found >> 1, (found & 1) as 0 | 1, pkt, ms);
  }

  /** Expire flows idle at `nowMs` (live mode ticks); finalizes them. */
  expire(nowMs: number): void {
    if (nowMs > this.clock) this.clock = nowMs;
    if (this.clock === -Infinity) return;
    this.sweep(this.clock);
    this.flushEvictions();
  }

  /** End of input: finalize every flow (pending DNS judged by the timeout at the last packet time). */
  flushAll(): void {
    const live: number[] = [];
    for (let c = 0; c < NCLS; c++) for (let i = this.head[c]; i >= 0; i = this.nextOf(i)) live.push(i);
    const u32 = this.u32;
    live.sort((x, y) => u32[(x * FLOW_BYTES + O_SERIAL) >> 2] - u32[(y * FLOW_BYTES + O_SERIAL) >> 2]);
    const now = this.clock === -Infinity ? 0 : this.clock;
    for (const i of live) this.finalize(i, now);
    this.flushEvictions();
  }

  stats(): FlowStats {
    this.flushEvictions();
    const byConnState: Record<string, number> = {};
    for (let i = 0; i < CONN_STATES.length; i++) if (this.byState[i] > 0) byConnState[CONN_STATES[i]] = this.byState[i];
    return { total: this.created, live: this.liveCount, byConnState, evicted: this.evictedCount, dns: this.dns.stats };
  }

  /**
   * The table is done with (after flushAll and stats): its record buffer and slot table go
   * with its other per-flow arrays to a pool of one, for the next table (of at most this
   * size), and this table must not be used again. A batch worker analyses one small file after another; touching fresh pages for
   * every file costs page faults, which on some machines (VMs) do not scale across threads
   * at all. Only a table of at most POOL_MAX_FLOWS flows is kept, so the pool holds at most
   * ~12 MiB.
   */
  release(): void {
    // keep the larger of this table and the one pooled: it fits more of the tables to come
    if (this.cap > 0 && this.cap <= POOL_MAX_FLOWS && (pooled === null || pooled.cap <= this.cap)) {
      pooled = {
        cap: this.cap, records: this.u8.buffer as ArrayBuffer, slots: this.slots, links: this.links,
        freeStack: this.freeStack, recs: this.recs, dnsSt: this.dnsSt,
      };
    }
    this.u8 = new Uint8Array(0);
    this.u16 = new Uint16Array(0);
    this.u32 = new Uint32Array(0);
    this.f64 = new Float64Array(0);
    this.slots = new Int32Array(0);
    this.links = new Int32Array(0);
    this.freeStack = new Int32Array(0);
    this.recs = [];
    this.dnsSt = [];
    this.cap = 0;
    this.used = 0;
    this.liveCount = 0;
    this.freeTop = 0;
    this.head.fill(-1);
    this.tail.fill(-1);
  }

  /** live flows right now */
  get size(): number {
    return this.liveCount;
  }

  // =======================================================================================
  // lookup

  /** Returns flowIndex * 2 + direction of the packet (0: from the originator), or -1. */
  private lookup(ver: number, proto: number, a0: number, a1: number, a2: number, a3: number,
    b0: number, b1: number, b2: number, b3: number, sp: number, dp: number): number {
    const fa = ver === 4 ? a0 : foldAddr(a0, a1, a2, a3);
    const fb = ver === 4 ? b0 : foldAddr(b0, b1, b2, b3);
    const h = flowHash(endpointHash(fa, sp), endpointHash(fb, dp), proto);
    this.lastHash = h;
    const ki = ver === 6 ? proto | 0x100 : proto;
    const slots = this.slots, mask = this.slotMask, u32 = this.u32, u16 = this.u16;
    const fwd = ((sp << 16) | dp) >>> 0;
    const rev = ((dp << 16) | sp) >>> 0;
    const hs = h | 0;
    let s = h & mask;
    for (;;) {
      const v = slots[s << 1];
      if (v === 0) return -1;
      if (slots[(s << 1) | 1] !== hs) { s = (s + 1) & mask; continue; }
      const i = v - 1;
      const w = (i * FLOW_BYTES) >> 2;            // u32 index of the record
      if (u16[(w << 1) + (O_KINFO >> 1)] === ki) {
        const pp = u32[w + (O_PORTS >> 2)];
        const a = w + (O_ADDR >> 2);
        if (pp === fwd && u32[a] === a0 && u32[a + 4] === b0 &&
            (ver === 4 || (u32[a + 1] === a1 && u32[a + 2] === a2 && u32[a + 3] === a3 &&
              u32[a + 5] === b1 && u32[a + 6] === b2 && u32[a + 7] === b3))) return i << 1;
        if (pp === rev && u32[a] === b0 && u32[a + 4] === a0 &&
            (ver === 4 || (u32[a + 1] === b1 && u32[a + 2] === b2 && u32[a + 3] === b3 &&
              u32[a + 5] === a1 && u32[a + 6] === a2 && u32[a + 7] === a3))) return (i << 1) | 1;
      }
      s = (s + 1) & mask;
    }
  }

  private hashOf(i: number): number {
    return this.u32[(i * FLOW_BYTES + O_HASH) >> 2];
  }

  private slotInsert(idx: number, h: number): void {
    const slots = this.slots, mask = this.slotMask;
    let s = h & mask;
    while (slots[s << 1] !== 0) s = (s + 1) & mask;
    slots[s << 1] = idx + 1;
    slots[(s << 1) | 1] = h | 0;
  }

  private slotRemove(idx: number): void {
    const slots = this.slots, mask = this.slotMask;
    let i = this.hashOf(idx) & mask;
    while (slots[i << 1] !== idx + 1) {
      if (slots[i << 1] === 0) return;   // not present (cannot happen)
      i = (i + 1) & mask;
    }
    // backward-shift deletion keeps probe sequences intact without tombstones
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = slots[j << 1];
      if (v === 0) break;
      const hv = slots[(j << 1) | 1];
      const k = hv & mask;
      const between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!between) {
        slots[i << 1] = v;
        slots[(i << 1) | 1] = hv;
        i = j;
      }
    }
    slots[i << 1] = 0;
    slots[(i << 1) | 1] = 0;
  }

  // =======================================================================================
  // capacity

  private resize(newCap: number): void {
    if (this.cap === 0 && this.adoptPooled(newCap)) return;
    const buf = new ArrayBuffer(newCap * FLOW_BYTES);
    const u8 = new Uint8Array(buf);
    u8.set(this.u8);   // new records stay untouched (uncommitted pages) until a flow uses them
    this.u8 = u8;
    this.u16 = new Uint16Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
    for (let i = this.cap; i < newCap; i++) { this.recs.push(null); this.dnsSt.push(null); }
    const lk = new Int32Array(newCap * 2);
    lk.set(this.links);
    this.links = lk;
    const fs = new Int32Array(newCap);
    fs.set(this.freeStack.subarray(0, this.freeTop));
    this.freeStack = fs;
    this.cap = newCap;
    if (this.slots.length === 0) this.growSlots(Math.min(newCap, INITIAL_SLOT_FLOWS));
  }

  /**
   * The slot table holds at least `flows` flows at a load factor <= 0.5. It is sized by the
   * flows alive, not by the capacity: a table with room for 262144 flows but 30000 alive
   * keeps its slots within a few hundred KiB, so a lookup mostly hits the caches.
   */
  private growSlots(flows: number): void {
    let sc = 16;
    while (sc < flows * 2) sc *= 2;
    if (sc * 2 <= this.slots.length) return;
    const old = this.slots;
    this.slots = new Int32Array(sc * 2);
    this.slotMask = sc - 1;
    for (let k = 0; k < old.length; k += 2) if (old[k] !== 0) this.slotInsert(old[k] - 1, old[k + 1] >>> 0);
  }

  /**
   * Start with the arrays of a released table when one of at least `cap` flows is pooled
   * (records are zeroed when a flow takes them; the rest is cleared here, in warm memory).
   */
  private adoptPooled(cap: number): boolean {
    const p = pooled;
    if (p === null || p.cap < cap) return false;
    pooled = null;
    const buf = p.records;
    this.u8 = new Uint8Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
    p.recs.fill(null);
    p.dnsSt.fill(null);
    this.recs = p.recs;
    this.dnsSt = p.dnsSt;
    this.links = p.links;
    this.freeStack = p.freeStack;
    p.slots.fill(0);
    this.slots = p.slots;
    this.slotMask = (p.slots.length >> 1) - 1;
    this.cap = p.cap;
    return true;
  }

  private alloc(): number {
    if (this.freeTop > 0) return this.freeStack[--this.freeTop];
    if (this.used >= this.cap) this.resize(Math.min(this.maxFlows, this.cap * 2));
    return this.used++;
  }

  // =======================================================================================
  // LRU lists

  private nextOf(i: number): number {
    return this.links[(i << 1) | 1];
  }

  private link(i: number, c: number): void {
    this.u8[i * FLOW_BYTES + O_CLS] = c;
    const t = this.tail[c];
    const lk = this.links;
    lk[i << 1] = t;
    lk[(i << 1) | 1] = -1;
    if (t >= 0) lk[(t << 1) | 1] = i; else this.head[c] = i;
    this.tail[c] = i;
  }

  private unlink(i: number): void {
    const c = this.u8[i * FLOW_BYTES + O_CLS];
    const lk = this.links;
    const p = lk[i << 1], n = lk[(i << 1) | 1];
    if (p >= 0) lk[(p << 1) | 1] = n; else this.head[c] = n;
    if (n >= 0) lk[n << 1] = p; else this.tail[c] = p;
  }

  /** Move to the tail of class `c` (most recently active). */
  private touch(i: number, c: number): void {
    if (this.u8[i * FLOW_BYTES + O_CLS] === c && this.tail[c] === i) return;
    this.unlink(i);
    this.link(i, c);
  }

  private lastMsOf(i: number): number {
    return this.f64[(i * FLOW_BYTES + O_LASTMS) >> 3];
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (let c = 0; c < NCLS; c++) {
      const limit = this.timeoutOf[c];
      for (let i = this.head[c]; i >= 0 && now - this.lastMsOf(i) > limit; i = this.head[c]) this.finalize(i, now);
    }
  }

  private evictOne(frameNo: number): void {
    let best = -1;
    for (let c = 0; c < NCLS; c++) {
      const h = this.head[c];
      if (h >= 0 && (best < 0 || this.lastMsOf(h) < this.lastMsOf(best))) best = h;
    }
    if (best < 0) return;
    this.evictedCount++;
    if (this.evictedCount === 1) {
      this.opts.anomalies.add('flow', 'TABLE_FULL', frameNo,
        `more than ${this.maxFlows} live flows: the least recently active flows were finalized early`);
    } else {
      this.evictPending++;
    }
    this.finalize(best, this.clock);
  }

  private flushEvictions(): void {
    if (this.evictPending > 0) {
      this.opts.anomalies.add('flow', 'TABLE_FULL', null, '', this.evictPending);
      this.evictPending = 0;
    }
  }

  // =======================================================================================
  // flow creation

  private create(pkt: Packet, ms: number, h: number, ver: number, proto: number,
    a0: number, a1: number, a2: number, a3: number, b0: number, b1: number, b2: number, b3: number,
    sp: number, dp: number): number {
    if (this.liveCount >= this.maxFlows) this.evictOne(pkt.frameNo);
    const i = this.alloc();
    this.liveCount++;
    if (this.liveCount * 2 > this.slotMask + 1) this.growSlots(this.liveCount);
    this.created++;

    // orientation
    let flip = false;
    if (proto === 6) {
      const f = pkt.tcpFlags & (TH_SYN | TH_ACK);
      if (f === (TH_SYN | TH_ACK)) flip = true;
      else if (f !== TH_SYN && likelyServerPort(sp)) flip = likelyServerPort(dp) ? sp < dp : true;
    } else if (proto === 17) {
      flip = likelyServerPort(sp) && !likelyServerPort(dp);
    } else {
      flip = ver === 4 ? sp === 0 : sp === 129;   // ICMP echo reply first
    }

    const b = i * FLOW_BYTES;
    const u32 = this.u32, f64 = this.f64;
    // zero the flow's bytes: 44 stores in a loop (TypedArray fill with a range is a builtin
    // call that cost ~2 % of the whole analysis)
    for (let k = b >> 3, e = (b + FLOW_BYTES) >> 3; k < e; k++) f64[k] = 0;
    u32[(b + O_HASH) >> 2] = h;
    this.u16[(b + O_KINFO) >> 1] = ver === 6 ? proto | 0x100 : proto;
    const a = (b + O_ADDR) >> 2;
    if (!flip) {
      u32[a] = a0; u32[a + 1] = a1; u32[a + 2] = a2; u32[a + 3] = a3;
      u32[a + 4] = b0; u32[a + 5] = b1; u32[a + 6] = b2; u32[a + 7] = b3;
      u32[(b + O_PORTS) >> 2] = ((sp << 16) | dp) >>> 0;
    } else {
      u32[a] = b0; u32[a + 1] = b1; u32[a + 2] = b2; u32[a + 3] = b3;
      u32[a + 4] = a0; u32[a + 5] = a1; u32[a + 6] = a2; u32[a + 7] = a3;
      u32[(b + O_PORTS) >> 2] = ((dp << 16) | sp) >>> 0;
    }
    this.slotInsert(i, h);
    u32[(b + O_SERIAL) >> 2] = this.created - 1;
    f64[(b + O_FIRSTSEC) >> 3] = pkt.tsSec; u32[(b + O_FIRSTNSEC) >> 2] = pkt.tsNsec;
    f64[(b + O_LASTSEC) >> 3] = pkt.tsSec; u32[(b + O_LASTNSEC) >> 2] = pkt.tsNsec;
    f64[(b + O_FIRSTMS) >> 3] = ms; f64[(b + O_LASTMS) >> 3] = ms;
    if (flip) this.addLetter(i, LETTER_FLIP);
    const c = proto === 6 ? ((pkt.tcpFlags & (TH_SYN | TH_ACK)) === TH_SYN ? CLS_ATTEMPT : CLS_ESTABLISHED) : CLS_UDP;
    this.link(i, c);

    // DNS by port / resolver address (orig = A, resp = B after the flip)
    let serverDir = -1;
    if (proto === 6 || proto === 17) {
      const op = flip ? dp : sp, rp = flip ? sp : dp;
      if (rp === 53) serverDir = 1;
      else if (this.dnsPorts[rp] === 1 && this.isDnsServer(ver, a + 4)) serverDir = 1;
      else if (op === 53) serverDir = 0;
      else if (this.dnsPorts[op] === 1 && this.isDnsServer(ver, a)) serverDir = 0;
    }

    if (this.startObs.length > 0 || serverDir >= 0) {
      const rec = this.startRecord(i);
      let mask = 0, watch = 0;
      for (const oi of this.startObs) {
        const o = this.observers[oi];
        const m = (o.onFlowStart!(rec, pkt) | 0);
        mask |= m;
        if ((m & WANT_PACKETS) !== 0 && typeof o.onPacket === 'function') watch |= 1 << oi;
      }
      if (serverDir < 0 && (mask & WANT_DNS) !== 0 && proto !== 1 && proto !== 58) serverDir = 1;
      if (serverDir >= 0) {
        this.u16[(b + O_FLAGS) >> 1] |= F_DNS | (serverDir === 1 ? F_DNS_SRV1 : 0);
        this.dnsSt[i] = this.dns.newFlowState(proto === 6 ? 'tcp' : 'udp', serverDir as 0 | 1);
        this.u16[(b + O_FLAGS) >> 1] |= F_OBJ;
      }
      if ((mask & WANT_STREAMS) !== 0 && proto === 6) {
        this.u16[(b + O_FLAGS) >> 1] |= F_STREAMS;
        rec.streams = createStreams(this.streamPerDir);
      }
      u32[(b + O_WATCH) >> 2] = watch;
      rec.watchers = watch;
      if (mask !== 0 || rec.ext !== null) this.u16[(b + O_FLAGS) >> 1] |= F_PIN;
      if (mask !== 0 || rec.ext !== null || serverDir >= 0) {
        this.recs[i] = rec;
        this.u16[(b + O_FLAGS) >> 1] |= F_OBJ;
        this.scratch = null;          // it stays with this flow
      } else {
        this.scratch = rec;           // nobody kept it: reused for the next flow's onFlowStart
      }
    }
    return (i << 1) | (flip ? 1 : 0);
  }

  /** Is the address at u32 index `w` (4 words) a configured resolver? */
  private isDnsServer(ver: number, w: number): boolean {
    const u32 = this.u32;
    if (ver === 4) return this.dnsV4.has(u32[w]);
    const v6 = this.dnsV6;
    for (let k = 0; k < v6.length; k += 4) {
      if (v6[k] === u32[w] && v6[k + 1] === u32[w + 1] && v6[k + 2] === u32[w + 2] && v6[k + 3] === u32[w + 3]) return true;
    }
    return false;
  }

  // =======================================================================================
  // per packet

  private update(i: number, dir: 0 | 1, pkt: Packet, ms: number): void {
    const u8 = this.u8, u32 = this.u32, f64 = this.f64;
    const b = i * FLOW_BYTES;
    const db = b + O_DIR + dir * DIR_BYTES;
    const n = ++u32[(db + D_PKTS) >> 2];
    f64[(db + D_BYTES) >> 3] += pkt.ipLen;
    const ttl = pkt.ttl & 0xff;
    if (n === 1) {
      u8[db + D_TTLMIN] = ttl; u8[db + D_TTLMAX] = ttl; u8[db + D_TTLFIRST] = ttl;
      u32[(db + D_FFRAME) >> 2] = pkt.frameNo;
    } else {
      if (ttl < u8[db + D_TTLMIN]) u8[db + D_TTLMIN] = ttl;
      if (ttl > u8[db + D_TTLMAX]) u8[db + D_TTLMAX] = ttl;
    }
    u32[(db + D_LFRAME) >> 2] = pkt.frameNo;
    if (ms >= f64[(b + O_LASTMS) >> 3]) {
      f64[(b + O_LASTMS) >> 3] = ms; f64[(b + O_LASTSEC) >> 3] = pkt.tsSec; u32[(b + O_LASTNSEC) >> 2] = pkt.tsNsec;
    }
    const proto = pkt.proto;
    let c: number;
    if (proto === 6) {
      c = this.tcp(i, dir, db, pkt, ms);
    } else {
      c = CLS_UDP;
      u8[db + D_ST] = 1;
      const len = pkt.payloadLen > 0 ? pkt.payloadLen : 0;
      if (len > 0) {
        f64[(db + D_PAY) >> 3] += len;
        if (u32[(db + D_DATAFRM) >> 2] === 0) { u32[(db + D_DATAFRM) >> 2] = pkt.frameNo; f64[(db + D_DATAMS) >> 3] = ms; }
      }
      if (proto === 17) {
        this.once(i, dir, db, H_DATA, letterFor(HISTORY_LETTER[H_DATA], dir));
        const fl = this.u16[(b + O_FLAGS) >> 1];
        if ((fl & F_DNS) !== 0) this.udpDns(i, fl, dir, pkt, ms);
      }
    }
    this.touch(i, c);
    const w = u32[(b + O_WATCH) >> 2];
    if (w !== 0) {
      const rec = this.recs[i];
      if (rec !== null) {
        this.sync(i, rec);
        const obs = this.observers;
        for (let k = 0; k < obs.length; k++) if ((w & (1 << k)) !== 0) obs[k].onPacket!(rec, pkt, dir);
      }
    }
  }

  /**
   * A datagram of a UDP DNS flow. A flow that only the DNS service needs (no observer asked
   * for it) keeps its record and DNS state only while a query waits: once every query was
   * decided they are released and built again by the next message. This keeps the many
   * short DNS flows of a capture out of the old generation of the heap. (DnsTransaction.flow
   * of such a flow is then a snapshot of the flow when the transaction was decided.)
   */
  private udpDns(i: number, fl: number, dir: 0 | 1, pkt: Packet, ms: number): void {
    let rec = this.recs[i];
    if (rec === null) rec = this.recs[i] = this.newRecord(i);
    let st = this.dnsSt[i];
    if (st === null) st = this.dnsSt[i] = this.dns.newFlowState('udp', (fl & F_DNS_SRV1) !== 0 ? 1 : 0);
    const fk = (i * FLOW_BYTES + O_FLAGS) >> 1;
    this.u16[fk] |= F_OBJ;
    this.dns.onPayload(st, rec, pkt, dir, ms);
    if ((fl & F_PIN) === 0 && st.pending.length === 0 && rec.ext === null) {
      this.recs[i] = null;
      this.dnsSt[i] = null;
      this.u16[fk] &= ~F_OBJ;
    }
  }

  /** TCP bookkeeping for one segment; `db` is the sender's direction block. Returns the timeout class. */
  private tcp(i: number, dir: 0 | 1, db: number, pkt: Packet, ms: number): number {
    const u8 = this.u8, u32 = this.u32, f64 = this.f64;
    const b = i * FLOW_BYTES;
    const pb = b + O_DIR + (dir ^ 1) * DIR_BYTES;     // the peer's block
    const fl = pkt.tcpFlags;
    const syn = (fl & TH_SYN) !== 0, ack = (fl & TH_ACK) !== 0, fin = (fl & TH_FIN) !== 0, rst = (fl & TH_RST) !== 0;
    const seq = pkt.seq >>> 0;
    const len = pkt.payloadLen > 0 ? pkt.payloadLen : 0;
    const frame = pkt.frameNo;
    const iNext = (db + D_NEXTSEQ) >> 2;

    if ((u8[db + D_DFLAGS] & DF_SEQ) === 0) { u8[db + D_DFLAGS] |= DF_SEQ; u32[iNext] = seq; }
    if (syn && (u8[db + D_DFLAGS] & DF_ISN) === 0) { u8[db + D_DFLAGS] |= DF_ISN; u32[(db + D_ISN) >> 2] = seq; }

    // --- history (Zeek's update_history)
    const nflags = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (nflags > 1) {
      const bit = fin && rst ? H_FINRST : H_MULTI;
      this.once(i, dir, db, bit, letterFor(HISTORY_LETTER[bit], dir));
    } else if (nflags === 1) {
      if (syn) {
        // one "SYN seen" bit for S and H, as Zeek's HIST_SYN_PKT
        const letter = letterFor(HISTORY_LETTER[ack ? H_SYNACK : H_SYN], dir);
        if (this.once(i, dir, db, H_SYN, letter) && seq !== u32[(db + D_LSYN) >> 2]) this.addLetter(i, letter);
        u32[(db + D_LSYN) >> 2] = seq;
      }
      if (fin) {
        const fs = (seq + len) >>> 0;
        const letter = letterFor(HISTORY_LETTER[H_FIN], dir);
        if (this.once(i, dir, db, H_FIN, letter) && fs !== u32[(db + D_LFIN) >> 2]) this.addLetter(i, letter);
        u32[(db + D_LFIN) >> 2] = fs;
      }
      if (rst) {
        const letter = letterFor(HISTORY_LETTER[H_RST], dir);
        if (this.once(i, dir, db, H_RST, letter) && seq !== u32[(db + D_LRST) >> 2]) this.addLetter(i, letter);
        u32[(db + D_LRST) >> 2] = seq;
      }
    } else if (len > 0) {
      this.once(i, dir, db, H_DATA, letterFor(HISTORY_LETTER[H_DATA], dir));
    } else if (ack) {
      this.once(i, dir, db, H_ACK, letterFor(HISTORY_LETTER[H_ACK], dir));
    }
    // zero window (not with a RST, not after the peer closed, not from a reset endpoint)
    if (pkt.window === 0 && !rst && u8[pb + D_ST] !== TCP_CLOSED && u8[db + D_ST] !== TCP_RESET) {
      if (isScaledStep(++u32[(db + D_CNTW) >> 2])) this.addLetter(i, letterFor(LETTER_W, dir));
    }

    // --- sequence space: new payload bytes vs retransmissions
    if (syn) {
      const s1 = (seq + 1) >>> 0;
      if (((s1 - u32[iNext]) | 0) > 0) u32[iNext] = s1;
    }
    const dataSeq = syn ? (seq + 1) >>> 0 : seq;
    if (len > 0 && !rst) {
      const endSeq = (dataSeq + len) >>> 0;
      const adv = (endSeq - u32[iNext]) | 0;
      if (adv <= 0) {
        if (isScaledStep(++u32[(db + D_CNTT) >> 2])) this.addLetter(i, letterFor(LETTER_T, dir));
      } else {
        f64[(db + D_PAY) >> 3] += adv < len ? adv : len;
        u32[iNext] = endSeq;
      }
      if (u32[(db + D_DATAFRM) >> 2] === 0) { u32[(db + D_DATAFRM) >> 2] = frame; f64[(db + D_DATAMS) >> 3] = ms; }
    }
    if (fin) {
      const f1 = (dataSeq + len + 1) >>> 0;
      if (((f1 - u32[iNext]) | 0) > 0) u32[iNext] = f1;
    }
    // content gap: the peer's data was acknowledged but never seen
    if (ack && !rst && !fin && (u8[pb + D_DFLAGS] & DF_SEQ) !== 0) {
      const a = pkt.ack >>> 0;
      const pNext = (pb + D_NEXTSEQ) >> 2;
      const gap = (a - u32[pNext]) | 0;
      if (gap > 0 && gap < MAX_GAP_ACK) {
        u32[pNext] = a;
        if (isScaledStep(++u32[(pb + D_CNTG) >> 2])) this.addLetter(i, letterFor(LETTER_G, dir ^ 1));
      }
    }

    // --- handshake facts
    const ttl = pkt.ttl & 0xff;
    if (syn && !ack && dir === 0) {
      const n = ++u32[(b + O_SYNCOUNT) >> 2];
      if (n === 1) {
        u32[(b + O_SYNFRAME) >> 2] = frame; f64[(b + O_SYNMS) >> 3] = ms; u32[(b + O_SYNISN) >> 2] = seq; u8[b + O_SYNTTL] = ttl;
        const rec = (this.u16[(b + O_FLAGS) >> 1] & F_OBJ) !== 0 ? this.recs[i] : null;
        if (rec !== null) { rec.synFrames = [frame]; rec.synTimesMs = [ms]; }
      } else {
        // a retransmitted SYN: the list lives in the record, kept from now on
        const rec = this.keep(i);
        if (rec.synFrames.length < MAX_SYN_FRAMES) { rec.synFrames.push(frame); rec.synTimesMs.push(ms); }
      }
    }
    if (syn && ack && dir === 1 && u32[(b + O_SYNACKFRAME) >> 2] === 0) {
      u32[(b + O_SYNACKFRAME) >> 2] = frame; f64[(b + O_SYNACKMS) >> 3] = ms; u8[b + O_SYNACKTTL] = ttl;
    }
    if (rst && u32[(b + O_RSTFRAME) >> 2] === 0) {
      u32[(b + O_RSTFRAME) >> 2] = frame; u8[b + O_RSTDIR] = dir; u8[b + O_RSTTTL] = ttl; f64[(b + O_RSTMS) >> 3] = ms;
    }
    if (fin && u32[(db + D_FINFRM) >> 2] === 0) u32[(db + D_FINFRM) >> 2] = frame;

    // --- endpoint state machine
    this.tcpState(db, pb, dir, syn, ack, fin, rst, len);

    // --- services
    const fset = this.u16[(b + O_FLAGS) >> 1];
    if ((fset & (F_STREAMS | F_DNS)) !== 0) {
      const rec = this.recs[i];
      if (rec !== null) {
        if ((fset & F_STREAMS) !== 0 && rec.streams !== null && !rst) {
          const s = rec.streams[dir] as DirStream;
          if (syn) streamSyn(s, seq);
          if (len > 0 || fin) streamSegment(s, this.streamBudget, frame, dataSeq, pkt.data, pkt.payloadOff, pkt.payloadEnd, len, fin);
        }
        if ((fset & F_DNS) !== 0) {
          const st = this.dnsSt[i];
          if (st !== null) {
            if (len > 0 && !rst && !syn) this.dns.onPayload(st, rec, pkt, dir, ms);
            if (rst) this.dns.onTcpReset(st, dir);
          }
        }
      }
    }

    const os = u8[b + O_DIR + D_ST], rs = u8[b + O_DIR + DIR_BYTES + D_ST];
    if (os === TCP_RESET || rs === TCP_RESET || (os === TCP_CLOSED && rs === TCP_CLOSED)) return CLS_CLOSED;
    if (os === TCP_ESTABLISHED || os === TCP_PARTIAL || os === TCP_CLOSED ||
        rs === TCP_ESTABLISHED || rs === TCP_PARTIAL || rs === TCP_CLOSED) return CLS_ESTABLISHED;
    return CLS_ATTEMPT;
  }

  private setState(db: number, s: number): void {
    this.u8[db + D_PST] = this.u8[db + D_ST];
    this.u8[db + D_ST] = s;
  }

  /** Zeek's TCP endpoint state machine, for the sender's block `db` and its peer's `pb`. */
  private tcpState(db: number, pb: number, dir: number, syn: boolean, ack: boolean, fin: boolean, rst: boolean, len: number): void {
    const u8 = this.u8;
    const isOrig = dir === 0;
    switch (u8[db + D_ST]) {
      case TCP_INACTIVE: {
        if (syn) {
          if (isOrig) {
            this.setState(db, ack ? TCP_SYN_ACK_SENT : TCP_SYN_SENT);
          } else {
            if (u8[pb + D_ST] === TCP_SYN_SENT) this.setState(pb, TCP_ESTABLISHED);
            this.setState(db, TCP_ESTABLISHED);
          }
        }
        if (fin) this.setState(db, TCP_CLOSED);
        if (rst) this.setState(db, TCP_RESET);
        if (u8[db + D_ST] === TCP_INACTIVE) {
          if (!isOrig && len === 0 && u8[pb + D_ST] === TCP_SYN_SENT) {
            // some stacks ACK a SYN before answering it: not a partial connection
          } else if (ack && u8[pb + D_ST] === TCP_ESTABLISHED) {
            this.setState(db, TCP_ESTABLISHED);   // missed the SYN, saw the SYN-ACK and this ACK
          } else {
            this.setState(db, TCP_PARTIAL);
          }
        }
        break;
      }
      case TCP_SYN_SENT:
      case TCP_SYN_ACK_SENT:
        if (fin) this.setState(db, TCP_CLOSED);
        if (rst) this.setState(db, TCP_RESET);
        break;
      case TCP_ESTABLISHED:
      case TCP_PARTIAL:
        if (syn && u8[db + D_ST] === TCP_PARTIAL && u8[pb + D_ST] === TCP_INACTIVE && !ack) this.setState(db, TCP_SYN_SENT);
        if (fin && !rst) {
          this.setState(db, TCP_CLOSED);
          // the peer sent FIN then RST: that was a normal close after all
          if (u8[pb + D_ST] === TCP_RESET && u8[pb + D_PST] === TCP_CLOSED) this.setState(pb, TCP_CLOSED);
        }
        if (rst) this.setState(db, TCP_RESET);
        break;
      case TCP_CLOSED:
        if (rst && u8[pb + D_ST] !== TCP_CLOSED) this.setState(db, TCP_RESET);
        break;
      default:
        break;
    }
  }

  // --- history bytes

  private addLetter(i: number, ch: number): void {
    const b = i * FLOW_BYTES;
    const n = this.u8[b + O_HLEN];
    if (n >= HISTORY_MAX) return;
    this.u8[b + O_HIST + n] = ch;
    this.u8[b + O_HLEN] = n + 1;
  }

  /** Zeek's CheckHistory: true when already seen in this direction, else records the letter. */
  private once(i: number, dir: number, db: number, bit: number, letter: number): boolean {
    void dir;
    const k = (db + D_HMASK) >> 1;
    const m = this.u16[k];
    if ((m & (1 << bit)) !== 0) return true;
    this.u16[k] = m | (1 << bit);
    this.addLetter(i, letter);
    return false;
  }

  private historyOf(i: number): string {
    const b = i * FLOW_BYTES;
    return historyText(this.u8, b + O_HIST, this.u8[b + O_HLEN]);
  }

  // =======================================================================================
  // ICMP errors

  private icmpError(pkt: Packet, ms: number): void {
    const q = pkt.quoted!;
    let found = -1;
    if ((q.proto === 6 || q.proto === 17) && q.srcPort >= 0 && q.dstPort >= 0) {
      const sa = parseIp(q.src), da = parseIp(q.dst);
      const want = q.ipVersion === 4 ? 4 : 16;
      if (sa !== null && da !== null && sa.length === want && da.length === want) {
        if (want === 4) {
          found = this.lookup(4, q.proto, readU32(sa, 0), 0, 0, 0, readU32(da, 0), 0, 0, 0, q.srcPort, q.dstPort);
        } else {
          found = this.lookup(6, q.proto, readU32(sa, 0), readU32(sa, 4), readU32(sa, 8), readU32(sa, 12),
            readU32(da, 0), readU32(da, 4), readU32(da, 8), readU32(da, 12), q.srcPort, q.dstPort);
        }
      }
    }
    const ver = pkt.ipVersion as 4 | 6;
    const ref: IcmpErrorRef = {
      frameNo: pkt.frameNo, tsMs: ms, type: pkt.icmpType, code: pkt.icmpCode, ipVersion: ver,
      sender: ver === 4 ? formatIPv4(pkt.data, pkt.srcOff) : formatIPv6(pkt.data, pkt.srcOff),
      ttl: pkt.ttl, quoted: q,
    };
    let rec: FlowRec | null = null;
    if (found >= 0) {
      const i = found >> 1;
      rec = this.keep(i);
      if (rec.icmpErrors.length < MAX_ICMP_ERRORS) {
        if (rec.icmpErrors === EMPTY_ICMP) rec.icmpErrors = [];
        rec.icmpErrors.push(ref);
      }
      this.sync(i, rec);
      const st = this.dnsSt[i];
      if (st !== null) this.dns.onIcmpError(st, rec, ref, (found & 1) as 0 | 1);
    }
    for (const o of this.icmpObs) o.onIcmpError!(ref, rec);
  }

  // =======================================================================================
  // records

  /** The flow's record, kept from now on (it holds facts the typed record does not). */
  private keep(i: number): FlowRec {
    this.u16[(i * FLOW_BYTES + O_FLAGS) >> 1] |= F_PIN | F_OBJ;
    let rec = this.recs[i];
    if (rec === null) {
      rec = this.newRecord(i);
      this.recs[i] = rec;
    }
    return rec;
  }

  /**
   * A record for flow `i` that nobody keeps: the reusable scratch record when there is one,
   * else a new one. Callers give it back with `this.scratch = rec` when no one kept it.
   */
  private startRecord(i: number): FlowRec {
    const rec = this.scratch;
    if (rec === null) return this.newRecord(i);
    this.scratch = null;
    this.fill(i, rec, true);
    rec.history = '';
    rec.conn_state = null;
    rec.icmpErrors = EMPTY_ICMP;
    rec.streams = null;
    rec.ext = null;
    this.sync(i, rec);
    return rec;
  }

  private newRecord(i: number): FlowRec {
    const rec = new FlowRec();
    this.fill(i, rec, false);
    this.sync(i, rec);
    return rec;
  }

  /**
   * Identity of flow `i` into a record (addresses stay numbers until read), and the first
   * SYN's frame and time when the SYN has passed already. `scratch`: the record is the
   * scratch one, whose one-element SYN lists are reused (valid as long as the record; a
   * SYN is counted before a record is made only at a cold flow's end).
   */
  private fill(i: number, rec: FlowRec, scratch: boolean): void {
    const b = i * FLOW_BYTES;
    const ki = this.u16[(b + O_KINFO) >> 1];
    const v6 = (ki & 0x100) !== 0;
    rec.id.load(this.u32, (b + O_ADDR) >> 2, v6, this.u32[(b + O_PORTS) >> 2], protoName(ki & 0xff));
    rec.reset(this.u32[(b + O_SERIAL) >> 2], this.uidSeed);
    rec.ipVersion = v6 ? 6 : 4;
    if (this.u32[(b + O_SYNCOUNT) >> 2] === 0) {
      rec.synFrames = EMPTY_NUMS;
      rec.synTimesMs = EMPTY_NUMS;
      return;
    }
    const frames = scratch ? this.scratchSynFrames : [0];
    const times = scratch ? this.scratchSynTimes : [0];
    frames[0] = this.u32[(b + O_SYNFRAME) >> 2];
    times[0] = this.f64[(b + O_SYNMS) >> 3];
    rec.synFrames = frames;
    rec.synTimesMs = times;
  }

  /** Refresh a record from the flow's fields. */
  private sync(i: number, rec: FlowRec): void {
    const u8 = this.u8, u32 = this.u32, f64 = this.f64;
    const b = i * FLOW_BYTES;
    rec.tsSec = f64[(b + O_FIRSTSEC) >> 3];
    rec.tsNsec = u32[(b + O_FIRSTNSEC) >> 2];
    rec.lastTsSec = f64[(b + O_LASTSEC) >> 3];
    rec.lastTsNsec = u32[(b + O_LASTNSEC) >> 2];
    rec.firstMs = f64[(b + O_FIRSTMS) >> 3];
    rec.lastMs = f64[(b + O_LASTMS) >> 3];
    rec.duration = rec.lastMs - rec.firstMs;
    for (let dir = 0; dir < 2; dir++) {
      const db = b + O_DIR + dir * DIR_BYTES;
      const ds = rec.dir[dir];
      const n = u32[(db + D_PKTS) >> 2];
      ds.pkts = n;
      ds.bytes = f64[(db + D_BYTES) >> 3];
      ds.payloadBytes = f64[(db + D_PAY) >> 3];
      ds.ttlMin = n > 0 ? u8[db + D_TTLMIN] : -1;
      ds.ttlMax = n > 0 ? u8[db + D_TTLMAX] : -1;
      ds.firstTtl = n > 0 ? u8[db + D_TTLFIRST] : -1;
      ds.firstFrame = n > 0 ? u32[(db + D_FFRAME) >> 2] : -1;
      ds.lastFrame = n > 0 ? u32[(db + D_LFRAME) >> 2] : -1;
    }
    const o = b + O_DIR, r = o + DIR_BYTES;
    const of = u32[(o + D_FINFRM) >> 2], rf0 = u32[(r + D_FINFRM) >> 2];
    rec.finFrame = pair(rec.finFrame, of > 0 ? of : -1, rf0 > 0 ? rf0 : -1);
    const od = u32[(o + D_DATAFRM) >> 2], rd = u32[(r + D_DATAFRM) >> 2];
    rec.firstDataFrame = pair(rec.firstDataFrame, od > 0 ? od : -1, rd > 0 ? rd : -1);
    rec.firstDataMs = pair(rec.firstDataMs, od > 0 ? f64[(o + D_DATAMS) >> 3] : -1, rd > 0 ? f64[(r + D_DATAMS) >> 3] : -1);
    if (rec.history.length !== u8[b + O_HLEN]) rec.history = this.historyOf(i);
    const sc = u32[(b + O_SYNCOUNT) >> 2];
    rec.synCount = sc;
    rec.synIsn = sc > 0 ? u32[(b + O_SYNISN) >> 2] : -1;
    rec.synTtl = sc > 0 ? u8[b + O_SYNTTL] : -1;
    const sa = u32[(b + O_SYNACKFRAME) >> 2];
    rec.synAckFrame = sa > 0 ? sa : -1;
    rec.synAckTtl = sa > 0 ? u8[b + O_SYNACKTTL] : -1;
    rec.synToSynAckMs = sc > 0 && sa > 0 ? f64[(b + O_SYNACKMS) >> 3] - f64[(b + O_SYNMS) >> 3] : -1;
    const rf = u32[(b + O_RSTFRAME) >> 2];
    rec.rstFrame = rf > 0 ? rf : -1;
    rec.rstDir = rf > 0 ? u8[b + O_RSTDIR] : -1;
    rec.rstTtl = rf > 0 ? u8[b + O_RSTTTL] : -1;
    rec.rstAfterSynMs = rf > 0 && sc > 0 ? f64[(b + O_RSTMS) >> 3] - f64[(b + O_SYNMS) >> 3] : -1;
    rec.watchers = u32[(b + O_WATCH) >> 2];
  }

  // =======================================================================================
  // the end of a flow

  private finalize(i: number, now: number): void {
    this.slotRemove(i);
    this.unlink(i);
    this.liveCount--;
    const u8 = this.u8, f64 = this.f64;
    const b = i * FLOW_BYTES;
    const proto = this.u16[(b + O_KINFO) >> 1] & 0xff;
    const o = b + O_DIR, r = o + DIR_BYTES;
    const os = u8[o + D_ST];
    const state = connState({
      proto: protoName(proto),
      origState: os, respState: u8[r + D_ST],
      origSize: f64[(o + D_PAY) >> 3], respSize: f64[(r + D_PAY) >> 3],
      history: proto === 6 && os === TCP_RESET ? this.historyOf(i) : '',
    });
    this.byState[CONN_STATES.indexOf(state)]++;
    const objs = (this.u16[(b + O_FLAGS) >> 1] & F_OBJ) !== 0;
    let rec = objs ? this.recs[i] : null;
    let cold = false;
    if (rec === null && this.endObs.length > 0) {
      // nobody kept a record for this flow: the scratch one, valid only during onFlowEnd
      rec = this.startRecord(i);
      cold = true;
    }
    if (rec !== null) {
      if (!cold) this.sync(i, rec);      // startRecord has just done it
      rec.conn_state = state;
    }
    const dst = objs ? this.dnsSt[i] : null;
    if (dst !== null) this.dns.finalize(dst, now);
    if (rec !== null) {
      for (const ob of this.endObs) ob.onFlowEnd!(rec);
      if (rec.streams !== null) {
        releaseStreams(rec.streams, this.streamBudget);
        rec.streams = null;
      }
    }
    if (cold) this.scratch = rec;
    if (objs) {
      this.recs[i] = null;
      this.dnsSt[i] = null;
    }
    u8[b + O_CLS] = CLS_FREE;
    this.freeStack[this.freeTop++] = i;
  }
}
