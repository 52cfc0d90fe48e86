// The flow table: direction-free 5-tuple -> flow, driven by packet time (design.md "flow/",
// conventions.md rules 6, 7, 9). Zeek's vocabulary: uid, id {orig_h, orig_p, resp_h,
// resp_p, proto}, history, conn_state.
//
// Layout (the per-packet hot path builds no strings, no closures, no string-keyed lookups):
// - Per-flow state lives in typed arrays indexed by a flow slot (struct of arrays, ~350
//   bytes a flow). Freed slots are reused through a free list; the arrays grow by doubling
//   up to `maxFlows`.
// - The lookup is open addressing (linear probing, backward-shift deletion) in an Int32Array
//   of slot -> flow index + 1. The hash is computed from the address and port bytes in
//   `pkt.data` and is symmetric, so both directions land in the same bucket; keys are
//   compared against per-flow numeric fields (IPv4 address as one uint32, IPv6 as four).
// - A `FlowRecord` object (what observers see) is built when the flow starts, kept while
//   anyone showed interest in the flow (an observer returned a WANT_* mask or set `ext`, DNS
//   is decoded on it, it got an ICMP error or a retransmitted SYN) and refreshed from the
//   arrays before every callback. Other flows ("cold") drop it after onFlowStart and get a
//   fresh one at the end: observers that keep per-flow state must ask for it (mask or ext).
//   Addresses are formatted to text only there.
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
import { canonicalIp, formatIPv4, formatIPv6, parseIp } from '../decode/addr.js';
import type {
  ConnId, ConnState, DirStats, FlowObserver, FlowRecord, FlowTimeouts, IcmpErrorRef, StreamCapture,
} from './types.js';
import { WANT_DNS, WANT_PACKETS, WANT_STREAMS } from './types.js';
import type { NameCache } from './names.js';
import { endpointHash, flowHash, flowUid, fmix32, foldAddr, readU32 } from './hash.js';
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
  /** starting capacity in flows (default 1024, at most maxFlows); the arrays double as needed */
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
const F_DNS = 1;
const F_STREAMS = 2;

// per-direction flag bits
const D_SEQ = 1;      // nextSeq valid
const D_ISN = 2;      // this direction sent a SYN; isn valid

// shared, frozen: replaced by a fresh array before anything is added
const EMPTY_NUMS = Object.freeze([]) as unknown as number[];
const EMPTY_ICMP = Object.freeze([]) as unknown as IcmpErrorRef[];

/** Ports Zeek-like heuristics treat as servers when a flow starts without a SYN. */
const EXTRA_SERVER_PORTS = new Set([1080, 1194, 1433, 1521, 1812, 1813, 3128, 3306, 3389, 5060, 5061, 5353,
  5432, 8000, 8008, 8080, 8200, 8443, 8888, 9443]);

function likelyServerPort(p: number): boolean {
  return (p > 0 && p < 1024) || EXTRA_SERVER_PORTS.has(p);
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

type U8 = Uint8Array;
type U16 = Uint16Array;
type U32 = Uint32Array;
type I32 = Int32Array;
type F64 = Float64Array;

function grown<T extends U8 | U16 | U32 | I32 | F64>(a: T, n: number): T {
  const b = new (a.constructor as { new(n: number): T })(n);
  b.set(a as never);
  return b;
}

/** The record observers see. Field order fixed by the constructor (one hidden class). */
class FlowRec implements FlowRecord {
  uid: string;
  id: ConnId;
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
  ipVersion: 4 | 6;
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
  finFrame: [number, number] = [-1, -1];
  firstDataFrame: [number, number] = [-1, -1];
  firstDataMs: [number, number] = [-1, -1];
  icmpErrors: IcmpErrorRef[] = EMPTY_ICMP;
  streams: [StreamCapture, StreamCapture] | null = null;
  watchers = 0;
  ext: Record<string, unknown> | null = null;

  constructor(uid: string, id: ConnId, ipVersion: 4 | 6) {
    this.uid = uid;
    this.id = id;
    this.ipVersion = ipVersion;
    this.dir = [newDirStats(), newDirStats()];
  }
}

function newDirStats(): DirStats {
  return { pkts: 0, bytes: 0, payloadBytes: 0, ttlMin: -1, ttlMax: -1, firstTtl: -1, firstFrame: -1, lastFrame: -1 };
}

export class FlowTable {
  // --- configuration
  private readonly timeoutOf: Float64Array;
  private readonly maxFlows: number;
  private readonly uidSeed: number;
  private readonly dnsPorts: Set<number>;
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
  private used = 0;          // slots ever handed out (< cap)
  private freeHead = -1;     // free list through `next`
  private liveCount = 0;
  private slots: I32 = new Int32Array(0);
  private slotMask = 0;

  // --- per flow
  private hash: U32 = new Uint32Array(0);
  private kinfo: U16 = new Uint16Array(0);       // proto | 0x100 for IPv6
  private addr: U32 = new Uint32Array(0);        // 8 words: orig (A) 0..3, resp (B) 4..7
  private ports: U32 = new Uint32Array(0);       // origPort << 16 | respPort
  private prev: I32 = new Int32Array(0);
  private next: I32 = new Int32Array(0);
  private cls: U8 = new Uint8Array(0);
  private serial: U32 = new Uint32Array(0);
  private firstSec: F64 = new Float64Array(0);
  private firstNsec: U32 = new Uint32Array(0);
  private lastSec: F64 = new Float64Array(0);
  private lastNsec: U32 = new Uint32Array(0);
  private firstMs: F64 = new Float64Array(0);
  private lastMs: F64 = new Float64Array(0);
  private flags: U16 = new Uint16Array(0);
  private watchers: U32 = new Uint32Array(0);
  private synCount: U32 = new Uint32Array(0);
  private synFrame: U32 = new Uint32Array(0);
  private synMs: F64 = new Float64Array(0);
  private synIsn: U32 = new Uint32Array(0);
  private synTtl: U8 = new Uint8Array(0);
  private synAckFrame: U32 = new Uint32Array(0);
  private synAckMs: F64 = new Float64Array(0);
  private synAckTtl: U8 = new Uint8Array(0);
  private rstFrame: U32 = new Uint32Array(0);
  private rstDir: U8 = new Uint8Array(0);
  private rstTtl: U8 = new Uint8Array(0);
  private rstMs: F64 = new Float64Array(0);
  private histLen: U8 = new Uint8Array(0);
  private hist: U8 = new Uint8Array(0);          // HISTORY_MAX bytes per flow

  // --- per direction (index flow * 2 + dir)
  private pkts: U32 = new Uint32Array(0);
  private bytes: F64 = new Float64Array(0);
  private pay: F64 = new Float64Array(0);
  private ttlMin: U8 = new Uint8Array(0);
  private ttlMax: U8 = new Uint8Array(0);
  private ttlFirst: U8 = new Uint8Array(0);
  private fFrame: U32 = new Uint32Array(0);
  private lFrame: U32 = new Uint32Array(0);
  private st: U8 = new Uint8Array(0);            // TCP endpoint state / UDP active
  private pst: U8 = new Uint8Array(0);           // previous TCP endpoint state
  private dflags: U8 = new Uint8Array(0);
  private nextSeq: U32 = new Uint32Array(0);
  private isn: U32 = new Uint32Array(0);
  private lastSyn: U32 = new Uint32Array(0);
  private lastFin: U32 = new Uint32Array(0);
  private lastRst: U32 = new Uint32Array(0);
  private hmask: U16 = new Uint16Array(0);
  private cntT: U32 = new Uint32Array(0);
  private cntW: U32 = new Uint32Array(0);
  private cntG: U32 = new Uint32Array(0);
  private finFrm: U32 = new Uint32Array(0);
  private dataFrm: U32 = new Uint32Array(0);
  private dataMs: F64 = new Float64Array(0);

  // --- per flow, JS objects (only for flows that need them)
  private recs: (FlowRec | null)[] = [];
  private dnsSt: (DnsFlowState | null)[] = [];

  // --- LRU lists per timeout class
  private readonly head = new Int32Array(NCLS).fill(-1);
  private readonly tail = new Int32Array(NCLS).fill(-1);

  // --- time and counters
  private clock = -Infinity;
  private lastSweep = -Infinity;
  private created = 0;
  private evictedCount = 0;
  private evictPending = 0;
  private readonly byState = new Float64Array(CONN_STATES.length);
  private readonly stateIndex = new Map<string, number>(CONN_STATES.map((s, i) => [s, i]));

  // --- IPv4 text cache (direct mapped), and scratch for IPv6 formatting
  private readonly v4Key = new Uint32Array(4096);
  private readonly v4Val: (string | undefined)[] = new Array(4096).fill(undefined);
  private readonly scratch16 = new Uint8Array(16);

  constructor(readonly opts: FlowTableOptions) {
    const t = opts.timeouts;
    this.timeoutOf = Float64Array.from([t.tcpAttemptMs, t.tcpIdleMs, t.udpIdleMs, opts.closedLingerMs ?? CLOSED_LINGER_MS]);
    this.maxFlows = Math.max(1, Math.floor(opts.maxFlows));
    this.uidSeed = (opts.uidSeed ?? 1) >>> 0;
    this.dnsPorts = new Set(opts.dnsPorts);
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
    this.resize(Math.max(1, Math.min(this.maxFlows, opts.initialFlows ?? 1024)));
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
      const idx = found >> 1;
      const c = this.cls[idx];
      if (ms - this.lastMs[idx] > this.timeoutOf[c]) {
        // idle beyond its timeout: the old flow is over, this packet starts a new one
        this.finalize(idx, ms);
        found = -1;
      } else if (proto === 6 && c === CLS_CLOSED && (pkt.tcpFlags & (TH_SYN | TH_ACK)) === TH_SYN) {
        const e = found;   // idx * 2 + dir
        if ((this.dflags[e] & D_ISN) === 0 || this.isn[e] !== (pkt.seq >>> 0)) {
          // port reuse: a new SYN on a flow that ended
          this.finalize(idx, ms);
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
    for (let c = 0; c < NCLS; c++) for (let i = this.head[c]; i >= 0; i = this.next[i]) live.push(i);
    const serial = this.serial;
    live.sort((x, y) => serial[x] - serial[y]);
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
    const slots = this.slots, mask = this.slotMask, hash = this.hash, kinfo = this.kinfo, addr = this.addr;
    const fwd = ((sp << 16) | dp) >>> 0;
    const rev = ((dp << 16) | sp) >>> 0;
    let s = h & mask;
    for (;;) {
      const v = slots[s];
      if (v === 0) return -1;
      const i = v - 1;
      if (hash[i] === h && kinfo[i] === ki) {
        const base = i << 3;
        const pp = this.ports[i];
        if (pp === fwd && addr[base] === a0 && addr[base + 4] === b0 &&
            (ver === 4 || (addr[base + 1] === a1 && addr[base + 2] === a2 && addr[base + 3] === a3 &&
              addr[base + 5] === b1 && addr[base + 6] === b2 && addr[base + 7] === b3))) return i << 1;
        if (pp === rev && addr[base] === b0 && addr[base + 4] === a0 &&
            (ver === 4 || (addr[base + 1] === b1 && addr[base + 2] === b2 && addr[base + 3] === b3 &&
              addr[base + 5] === a1 && addr[base + 6] === a2 && addr[base + 7] === a3))) return (i << 1) | 1;
      }
      s = (s + 1) & mask;
    }
  }

  /** hash computed by the last lookup() (saves recomputing it when the flow is created) */
  private lastHash = 0;

  private slotInsert(idx: number, h: number): void {
    const slots = this.slots, mask = this.slotMask;
    let s = h & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = idx + 1;
  }

  private slotRemove(idx: number): void {
    const slots = this.slots, mask = this.slotMask, hash = this.hash;
    let i = hash[idx] & mask;
    while (slots[i] !== idx + 1) {
      if (slots[i] === 0) return;   // not present (cannot happen)
      i = (i + 1) & mask;
    }
    // backward-shift deletion keeps probe sequences intact without tombstones
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = slots[j];
      if (v === 0) break;
      const k = hash[v - 1] & mask;
      const between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!between) {
        slots[i] = v;
        i = j;
      }
    }
    slots[i] = 0;
  }

  // =======================================================================================
  // capacity

  private resize(newCap: number): void {
    const n = newCap;
    this.hash = grown(this.hash, n);
    this.kinfo = grown(this.kinfo, n);
    this.addr = grown(this.addr, n * 8);
    this.ports = grown(this.ports, n);
    this.prev = grown(this.prev, n);
    this.next = grown(this.next, n);
    this.cls = grown(this.cls, n);
    this.serial = grown(this.serial, n);
    this.firstSec = grown(this.firstSec, n);
    this.firstNsec = grown(this.firstNsec, n);
    this.lastSec = grown(this.lastSec, n);
    this.lastNsec = grown(this.lastNsec, n);
    this.firstMs = grown(this.firstMs, n);
    this.lastMs = grown(this.lastMs, n);
    this.flags = grown(this.flags, n);
    this.watchers = grown(this.watchers, n);
    this.synCount = grown(this.synCount, n);
    this.synFrame = grown(this.synFrame, n);
    this.synMs = grown(this.synMs, n);
    this.synIsn = grown(this.synIsn, n);
    this.synTtl = grown(this.synTtl, n);
    this.synAckFrame = grown(this.synAckFrame, n);
    this.synAckMs = grown(this.synAckMs, n);
    this.synAckTtl = grown(this.synAckTtl, n);
    this.rstFrame = grown(this.rstFrame, n);
    this.rstDir = grown(this.rstDir, n);
    this.rstTtl = grown(this.rstTtl, n);
    this.rstMs = grown(this.rstMs, n);
    this.histLen = grown(this.histLen, n);
    this.hist = grown(this.hist, n * HISTORY_MAX);
    const n2 = n * 2;
    this.pkts = grown(this.pkts, n2);
    this.bytes = grown(this.bytes, n2);
    this.pay = grown(this.pay, n2);
    this.ttlMin = grown(this.ttlMin, n2);
    this.ttlMax = grown(this.ttlMax, n2);
    this.ttlFirst = grown(this.ttlFirst, n2);
    this.fFrame = grown(this.fFrame, n2);
    this.lFrame = grown(this.lFrame, n2);
    this.st = grown(this.st, n2);
    this.pst = grown(this.pst, n2);
    this.dflags = grown(this.dflags, n2);
    this.nextSeq = grown(this.nextSeq, n2);
    this.isn = grown(this.isn, n2);
    this.lastSyn = grown(this.lastSyn, n2);
    this.lastFin = grown(this.lastFin, n2);
    this.lastRst = grown(this.lastRst, n2);
    this.hmask = grown(this.hmask, n2);
    this.cntT = grown(this.cntT, n2);
    this.cntW = grown(this.cntW, n2);
    this.cntG = grown(this.cntG, n2);
    this.finFrm = grown(this.finFrm, n2);
    this.dataFrm = grown(this.dataFrm, n2);
    this.dataMs = grown(this.dataMs, n2);
    for (let i = this.cap; i < n; i++) { this.recs.push(null); this.dnsSt.push(null); }
    this.cls.fill(CLS_FREE, this.cap, n);
    this.cap = n;
    // slot table: load factor <= 0.5
    let sc = 16;
    while (sc < n * 2) sc *= 2;
    if (sc !== this.slots.length) {
      this.slots = new Int32Array(sc);
      this.slotMask = sc - 1;
      for (let i = 0; i < this.used; i++) if (this.cls[i] !== CLS_FREE) this.slotInsert(i, this.hash[i]);
    }
  }

  private alloc(): number {
    if (this.freeHead >= 0) {
      const i = this.freeHead;
      this.freeHead = this.next[i];
      return i;
    }
    if (this.used >= this.cap) this.resize(Math.min(this.maxFlows, this.cap * 2));
    return this.used++;
  }

  // =======================================================================================
  // LRU lists

  private link(i: number, c: number): void {
    this.cls[i] = c;
    const t = this.tail[c];
    this.prev[i] = t;
    this.next[i] = -1;
    if (t >= 0) this.next[t] = i; else this.head[c] = i;
    this.tail[c] = i;
  }

  private unlink(i: number): void {
    const c = this.cls[i];
    const p = this.prev[i], n = this.next[i];
    if (p >= 0) this.next[p] = n; else this.head[c] = n;
    if (n >= 0) this.prev[n] = p; else this.tail[c] = p;
  }

  /** Move to the tail of class `c` (most recently active). */
  private touch(i: number, c: number): void {
    if (this.cls[i] === c && this.tail[c] === i) return;
    this.unlink(i);
    this.link(i, c);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (let c = 0; c < NCLS; c++) {
      const limit = this.timeoutOf[c];
      for (let i = this.head[c]; i >= 0 && now - this.lastMs[i] > limit; i = this.head[c]) this.finalize(i, now);
    }
  }

  private evictOne(frameNo: number): void {
    let best = -1;
    for (let c = 0; c < NCLS; c++) {
      const h = this.head[c];
      if (h >= 0 && (best < 0 || this.lastMs[h] < this.lastMs[best])) best = h;
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

    this.hash[i] = h;
    this.kinfo[i] = ver === 6 ? proto | 0x100 : proto;
    const base = i << 3, addr = this.addr;
    if (!flip) {
      addr[base] = a0; addr[base + 1] = a1; addr[base + 2] = a2; addr[base + 3] = a3;
      addr[base + 4] = b0; addr[base + 5] = b1; addr[base + 6] = b2; addr[base + 7] = b3;
      this.ports[i] = ((sp << 16) | dp) >>> 0;
    } else {
      addr[base] = b0; addr[base + 1] = b1; addr[base + 2] = b2; addr[base + 3] = b3;
      addr[base + 4] = a0; addr[base + 5] = a1; addr[base + 6] = a2; addr[base + 7] = a3;
      this.ports[i] = ((dp << 16) | sp) >>> 0;
    }
    this.slotInsert(i, h);
    this.serial[i] = this.created - 1;
    this.firstSec[i] = pkt.tsSec; this.firstNsec[i] = pkt.tsNsec;
    this.lastSec[i] = pkt.tsSec; this.lastNsec[i] = pkt.tsNsec;
    this.firstMs[i] = ms; this.lastMs[i] = ms;
    this.flags[i] = 0; this.watchers[i] = 0;
    this.synCount[i] = 0; this.synFrame[i] = 0; this.synMs[i] = 0; this.synIsn[i] = 0; this.synTtl[i] = 0;
    this.synAckFrame[i] = 0; this.synAckMs[i] = 0; this.synAckTtl[i] = 0;
    this.rstFrame[i] = 0; this.rstDir[i] = 0; this.rstTtl[i] = 0; this.rstMs[i] = 0;
    this.histLen[i] = 0;
    for (let e = i * 2; e < i * 2 + 2; e++) {
      this.pkts[e] = 0; this.bytes[e] = 0; this.pay[e] = 0;
      this.ttlMin[e] = 0; this.ttlMax[e] = 0; this.ttlFirst[e] = 0; this.fFrame[e] = 0; this.lFrame[e] = 0;
      this.st[e] = 0; this.pst[e] = 0; this.dflags[e] = 0; this.nextSeq[e] = 0; this.isn[e] = 0;
      this.lastSyn[e] = 0; this.lastFin[e] = 0; this.lastRst[e] = 0; this.hmask[e] = 0;
      this.cntT[e] = 0; this.cntW[e] = 0; this.cntG[e] = 0; this.finFrm[e] = 0; this.dataFrm[e] = 0; this.dataMs[e] = 0;
    }
    if (flip) this.addLetter(i, LETTER_FLIP);
    const c = proto === 6 ? ((pkt.tcpFlags & (TH_SYN | TH_ACK)) === TH_SYN ? CLS_ATTEMPT : CLS_ESTABLISHED) : CLS_UDP;
    this.link(i, c);

    // DNS by port / resolver address (orig = A, resp = B after the flip)
    let serverDir = -1;
    if (proto === 6 || proto === 17) {
      const op = flip ? dp : sp, rp = flip ? sp : dp;
      if (rp === 53) serverDir = 1;
      else if (this.dnsPorts.has(rp) && this.isDnsServer(ver, base + 4)) serverDir = 1;
      else if (op === 53) serverDir = 0;
      else if (this.dnsPorts.has(op) && this.isDnsServer(ver, base)) serverDir = 0;
    }

    if (this.startObs.length > 0 || serverDir >= 0) {
      const rec = this.newRecord(i);
      let mask = 0, watch = 0;
      for (const oi of this.startObs) {
        const o = this.observers[oi];
        const m = (o.onFlowStart!(rec, pkt) | 0);
        mask |= m;
        if ((m & WANT_PACKETS) !== 0 && typeof o.onPacket === 'function') watch |= 1 << oi;
      }
      if (serverDir < 0 && (mask & WANT_DNS) !== 0 && proto !== 1 && proto !== 58) serverDir = 1;
      if (serverDir >= 0) {
        this.flags[i] |= F_DNS;
        this.dnsSt[i] = this.dns.newFlowState(proto === 6 ? 'tcp' : 'udp', serverDir as 0 | 1);
      }
      if ((mask & WANT_STREAMS) !== 0 && proto === 6) {
        this.flags[i] |= F_STREAMS;
        rec.streams = createStreams(this.streamPerDir);
      }
      this.watchers[i] = watch;
      rec.watchers = watch;
      if (mask !== 0 || rec.ext !== null || serverDir >= 0) this.recs[i] = rec;
    }
    return (i << 1) | (flip ? 1 : 0);
  }

  private isDnsServer(ver: number, off: number): boolean {
    const addr = this.addr;
    if (ver === 4) return this.dnsV4.has(addr[off]);
    const v6 = this.dnsV6;
    for (let k = 0; k < v6.length; k += 4) {
      if (v6[k] === addr[off] && v6[k + 1] === addr[off + 1] && v6[k + 2] === addr[off + 2] && v6[k + 3] === addr[off + 3]) return true;
    }
    return false;
  }

  // =======================================================================================
  // per packet

  private update(i: number, dir: 0 | 1, pkt: Packet, ms: number): void {
    const e = (i << 1) | dir;
    const n = ++this.pkts[e];
    this.bytes[e] += pkt.ipLen;
    const ttl = pkt.ttl & 0xff;
    if (n === 1) {
      this.ttlMin[e] = ttl; this.ttlMax[e] = ttl; this.ttlFirst[e] = ttl; this.fFrame[e] = pkt.frameNo;
    } else {
      if (ttl < this.ttlMin[e]) this.ttlMin[e] = ttl;
      if (ttl > this.ttlMax[e]) this.ttlMax[e] = ttl;
    }
    this.lFrame[e] = pkt.frameNo;
    if (ms >= this.lastMs[i]) {
      this.lastMs[i] = ms; this.lastSec[i] = pkt.tsSec; this.lastNsec[i] = pkt.tsNsec;
    }
    const proto = pkt.proto;
    let c: number;
    if (proto === 6) {
      c = this.tcp(i, dir, e, pkt, ms);
    } else {
      c = CLS_UDP;
      this.st[e] = 1;
      const len = pkt.payloadLen > 0 ? pkt.payloadLen : 0;
      if (len > 0) {
        this.pay[e] += len;
        if (this.dataFrm[e] === 0) { this.dataFrm[e] = pkt.frameNo; this.dataMs[e] = ms; }
      }
      if (proto === 17) {
        this.once(i, dir, H_DATA);
        if ((this.flags[i] & F_DNS) !== 0) {
          const st = this.dnsSt[i];
          const rec = this.recs[i];
          if (st !== null && rec !== null) this.dns.onPayload(st, rec, pkt, dir, ms);
        }
      }
    }
    this.touch(i, c);
    const w = this.watchers[i];
    if (w !== 0) {
      const rec = this.recs[i];
      if (rec !== null) {
        this.sync(i, rec);
        const obs = this.observers;
        for (let k = 0; k < obs.length; k++) if ((w & (1 << k)) !== 0) obs[k].onPacket!(rec, pkt, dir);
      }
    }
  }

  /** TCP bookkeeping for one segment; returns the flow's timeout class afterwards. */
  private tcp(i: number, dir: 0 | 1, e: number, pkt: Packet, ms: number): number {
    const p = e ^ 1;
    const fl = pkt.tcpFlags;
    const syn = (fl & TH_SYN) !== 0, ack = (fl & TH_ACK) !== 0, fin = (fl & TH_FIN) !== 0, rst = (fl & TH_RST) !== 0;
    const seq = pkt.seq >>> 0;
    const len = pkt.payloadLen > 0 ? pkt.payloadLen : 0;
    const frame = pkt.frameNo;
    const df = this.dflags;

    if ((df[e] & D_SEQ) === 0) { df[e] |= D_SEQ; this.nextSeq[e] = seq; }
    if (syn && (df[e] & D_ISN) === 0) { df[e] |= D_ISN; this.isn[e] = seq; }

    // --- history (Zeek's update_history)
    const nflags = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (nflags > 1) {
      this.once(i, dir, fin && rst ? H_FINRST : H_MULTI);
    } else if (nflags === 1) {
      if (syn) {
        // one "SYN seen" bit for S and H, as Zeek's HIST_SYN_PKT
        const letter = letterFor(HISTORY_LETTER[ack ? H_SYNACK : H_SYN], dir);
        if (this.once(i, dir, H_SYN, letter) && seq !== this.lastSyn[e]) this.addLetter(i, letter);
        this.lastSyn[e] = seq;
      }
      if (fin) {
        const fs = (seq + len) >>> 0;
        if (this.once(i, dir, H_FIN) && fs !== this.lastFin[e]) this.addLetter(i, letterFor(HISTORY_LETTER[H_FIN], dir));
        this.lastFin[e] = fs;
      }
      if (rst) {
        if (this.once(i, dir, H_RST) && seq !== this.lastRst[e]) this.addLetter(i, letterFor(HISTORY_LETTER[H_RST], dir));
        this.lastRst[e] = seq;
      }
    } else if (len > 0) {
      this.once(i, dir, H_DATA);
    } else if (ack) {
      this.once(i, dir, H_ACK);
    }
    // zero window (not with a RST, not after the peer closed, not from a reset endpoint)
    if (pkt.window === 0 && !rst && this.st[p] !== TCP_CLOSED && this.st[e] !== TCP_RESET) {
      if (isScaledStep(++this.cntW[e])) this.addLetter(i, letterFor(LETTER_W, dir));
    }

    // --- sequence space: new payload bytes vs retransmissions
    if (syn) {
      const s1 = (seq + 1) >>> 0;
      if (((s1 - this.nextSeq[e]) | 0) > 0) this.nextSeq[e] = s1;
    }
    const dataSeq = syn ? (seq + 1) >>> 0 : seq;
    if (len > 0 && !rst) {
      const endSeq = (dataSeq + len) >>> 0;
      const adv = (endSeq - this.nextSeq[e]) | 0;
      if (adv <= 0) {
        if (isScaledStep(++this.cntT[e])) this.addLetter(i, letterFor(LETTER_T, dir));
      } else {
        this.pay[e] += adv < len ? adv : len;
        this.nextSeq[e] = endSeq;
      }
      if (this.dataFrm[e] === 0) { this.dataFrm[e] = frame; this.dataMs[e] = ms; }
    }
    if (fin) {
      const f1 = (dataSeq + len + 1) >>> 0;
      if (((f1 - this.nextSeq[e]) | 0) > 0) this.nextSeq[e] = f1;
    }
    // content gap: the peer's data was acknowledged but never seen
    if (ack && !rst && !fin && (df[p] & D_SEQ) !== 0) {
      const a = pkt.ack >>> 0;
      const gap = (a - this.nextSeq[p]) | 0;
      if (gap > 0 && gap < MAX_GAP_ACK) {
        this.nextSeq[p] = a;
        if (isScaledStep(++this.cntG[p])) this.addLetter(i, letterFor(LETTER_G, dir ^ 1));
      }
    }

    // --- handshake facts
    const ttl = pkt.ttl & 0xff;
    if (syn && !ack && dir === 0) {
      const n = ++this.synCount[i];
      if (n === 1) {
        this.synFrame[i] = frame; this.synMs[i] = ms; this.synIsn[i] = seq; this.synTtl[i] = ttl;
        const rec = this.recs[i];
        if (rec !== null) { rec.synFrames = [frame]; rec.synTimesMs = [ms]; }
      } else {
        // a retransmitted SYN: the list lives in the record, kept from now on
        const rec = this.keep(i);
        if (rec.synFrames.length < MAX_SYN_FRAMES) { rec.synFrames.push(frame); rec.synTimesMs.push(ms); }
      }
    }
    if (syn && ack && dir === 1 && this.synAckFrame[i] === 0) {
      this.synAckFrame[i] = frame; this.synAckMs[i] = ms; this.synAckTtl[i] = ttl;
    }
    if (rst && this.rstFrame[i] === 0) {
      this.rstFrame[i] = frame; this.rstDir[i] = dir; this.rstTtl[i] = ttl; this.rstMs[i] = ms;
    }
    if (fin && this.finFrm[e] === 0) this.finFrm[e] = frame;

    // --- endpoint state machine
    this.tcpState(e, p, dir, syn, ack, fin, rst, len);

    // --- services
    const fset = this.flags[i];
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

    const os = this.st[i << 1], rs = this.st[(i << 1) | 1];
    if (os === TCP_RESET || rs === TCP_RESET || (os === TCP_CLOSED && rs === TCP_CLOSED)) return CLS_CLOSED;
    if (os === TCP_ESTABLISHED || os === TCP_PARTIAL || os === TCP_CLOSED ||
        rs === TCP_ESTABLISHED || rs === TCP_PARTIAL || rs === TCP_CLOSED) return CLS_ESTABLISHED;
    return CLS_ATTEMPT;
  }

  private setState(e: number, s: number): void {
    this.pst[e] = this.st[e];
    this.st[e] = s;
  }

  /** Zeek's TCP endpoint state machine, for endpoint `e` (the sender) and its peer `p`. */
  private tcpState(e: number, p: number, dir: number, syn: boolean, ack: boolean, fin: boolean, rst: boolean, len: number): void {
    const st = this.st;
    const isOrig = dir === 0;
    switch (st[e]) {
      case TCP_INACTIVE: {
        if (syn) {
          if (isOrig) {
            this.setState(e, ack ? TCP_SYN_ACK_SENT : TCP_SYN_SENT);
          } else {
            if (st[p] === TCP_SYN_SENT) this.setState(p, TCP_ESTABLISHED);
            this.setState(e, TCP_ESTABLISHED);
          }
        }
        if (fin) this.setState(e, TCP_CLOSED);
        if (rst) this.setState(e, TCP_RESET);
        if (st[e] === TCP_INACTIVE) {
          const origState = isOrig ? st[e] : st[p];
          if (!isOrig && len === 0 && origState === TCP_SYN_SENT) {
            // some stacks ACK a SYN before answering it: not a partial connection
          } else if (ack && st[p] === TCP_ESTABLISHED) {
            this.setState(e, TCP_ESTABLISHED);   // missed the SYN, saw the SYN-ACK and this ACK
          } else {
            this.setState(e, TCP_PARTIAL);
          }
        }
        break;
      }
      case TCP_SYN_SENT:
      case TCP_SYN_ACK_SENT:
        if (fin) this.setState(e, TCP_CLOSED);
        if (rst) this.setState(e, TCP_RESET);
        break;
      case TCP_ESTABLISHED:
      case TCP_PARTIAL:
        if (syn && st[e] === TCP_PARTIAL && st[p] === TCP_INACTIVE && !ack) this.setState(e, TCP_SYN_SENT);
        if (fin && !rst) {
          this.setState(e, TCP_CLOSED);
          // the peer sent FIN then RST: that was a normal close after all
          if (st[p] === TCP_RESET && this.pst[p] === TCP_CLOSED) this.setState(p, TCP_CLOSED);
        }
        if (rst) this.setState(e, TCP_RESET);
        break;
      case TCP_CLOSED:
        if (rst && st[p] !== TCP_CLOSED) this.setState(e, TCP_RESET);
        break;
      default:
        break;
    }
  }

  // --- history bytes

  private addLetter(i: number, ch: number): void {
    const n = this.histLen[i];
    if (n >= HISTORY_MAX) return;
    this.hist[i * HISTORY_MAX + n] = ch;
    this.histLen[i] = n + 1;
  }

  /** Zeek's CheckHistory: true when already seen in this direction, else records the letter. */
  private once(i: number, dir: number, bit: number, letter: number = letterFor(HISTORY_LETTER[bit], dir)): boolean {
    const e = (i << 1) | dir;
    const m = this.hmask[e];
    if ((m & (1 << bit)) !== 0) return true;
    this.hmask[e] = m | (1 << bit);
    this.addLetter(i, letter);
    return false;
  }

  private historyOf(i: number): string {
    return historyText(this.hist, i * HISTORY_MAX, this.histLen[i]);
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

  /** The flow's record, kept from now on. */
  private keep(i: number): FlowRec {
    let rec = this.recs[i];
    if (rec === null) {
      rec = this.newRecord(i);
      this.recs[i] = rec;
    }
    return rec;
  }

  private addrText(i: number, off: number, ver: number): string {
    const addr = this.addr;
    if (ver === 4) {
      const v = addr[off];
      const slot = fmix32(v) & 4095;
      const hit = this.v4Val[slot];
      if (hit !== undefined && this.v4Key[slot] === v) return hit;
      const s = (v >>> 24) + '.' + ((v >>> 16) & 255) + '.' + ((v >>> 8) & 255) + '.' + (v & 255);
      this.v4Key[slot] = v;
      this.v4Val[slot] = s;
      return s;
    }
    const b = this.scratch16;
    for (let k = 0; k < 4; k++) {
      const w = addr[off + k];
      b[k * 4] = w >>> 24; b[k * 4 + 1] = (w >>> 16) & 255; b[k * 4 + 2] = (w >>> 8) & 255; b[k * 4 + 3] = w & 255;
    }
    void i;
    return formatIPv6(b, 0);
  }

  private newRecord(i: number): FlowRec {
    const ki = this.kinfo[i];
    const ver: 4 | 6 = (ki & 0x100) !== 0 ? 6 : 4;
    const pp = this.ports[i];
    const base = i << 3;
    const id: ConnId = {
      orig_h: this.addrText(i, base, ver),
      orig_p: pp >>> 16,
      resp_h: this.addrText(i, base + 4, ver),
      resp_p: pp & 0xffff,
      proto: protoName(ki & 0xff),
    };
    const rec = new FlowRec(flowUid(this.serial[i], this.uidSeed), id, ver);
    if (this.synCount[i] > 0) {
      rec.synFrames = [this.synFrame[i]];
      rec.synTimesMs = [this.synMs[i]];
    }
    this.sync(i, rec);
    return rec;
  }

  /** Refresh a record from the arrays. */
  private sync(i: number, rec: FlowRec): void {
    rec.tsSec = this.firstSec[i];
    rec.tsNsec = this.firstNsec[i];
    rec.lastTsSec = this.lastSec[i];
    rec.lastTsNsec = this.lastNsec[i];
    rec.firstMs = this.firstMs[i];
    rec.lastMs = this.lastMs[i];
    rec.duration = this.lastMs[i] - this.firstMs[i];
    for (let dir = 0; dir < 2; dir++) {
      const e = (i << 1) | dir;
      const ds = rec.dir[dir];
      const n = this.pkts[e];
      ds.pkts = n;
      ds.bytes = this.bytes[e];
      ds.payloadBytes = this.pay[e];
      ds.ttlMin = n > 0 ? this.ttlMin[e] : -1;
      ds.ttlMax = n > 0 ? this.ttlMax[e] : -1;
      ds.firstTtl = n > 0 ? this.ttlFirst[e] : -1;
      ds.firstFrame = n > 0 ? this.fFrame[e] : -1;
      ds.lastFrame = n > 0 ? this.lFrame[e] : -1;
      rec.finFrame[dir] = this.finFrm[e] > 0 ? this.finFrm[e] : -1;
      rec.firstDataFrame[dir] = this.dataFrm[e] > 0 ? this.dataFrm[e] : -1;
      rec.firstDataMs[dir] = this.dataFrm[e] > 0 ? this.dataMs[e] : -1;
    }
    if (rec.history.length !== this.histLen[i]) rec.history = this.historyOf(i);
    const sc = this.synCount[i];
    rec.synCount = sc;
    rec.synIsn = sc > 0 ? this.synIsn[i] : -1;
    rec.synTtl = sc > 0 ? this.synTtl[i] : -1;
    const sa = this.synAckFrame[i];
    rec.synAckFrame = sa > 0 ? sa : -1;
    rec.synAckTtl = sa > 0 ? this.synAckTtl[i] : -1;
    rec.synToSynAckMs = sc > 0 && sa > 0 ? this.synAckMs[i] - this.synMs[i] : -1;
    const rf = this.rstFrame[i];
    rec.rstFrame = rf > 0 ? rf : -1;
    rec.rstDir = rf > 0 ? this.rstDir[i] : -1;
    rec.rstTtl = rf > 0 ? this.rstTtl[i] : -1;
    rec.rstAfterSynMs = rf > 0 && sc > 0 ? this.rstMs[i] - this.synMs[i] : -1;
    rec.watchers = this.watchers[i];
  }

  // =======================================================================================
  // the end of a flow

  private finalize(i: number, now: number): void {
    this.slotRemove(i);
    this.unlink(i);
    this.liveCount--;
    const ki = this.kinfo[i];
    const proto = ki & 0xff;
    const o = i << 1, r = o | 1;
    const state = connState({
      proto: protoName(proto),
      origState: this.st[o], respState: this.st[r],
      origSize: this.pay[o], respSize: this.pay[r],
      history: proto === 6 && this.st[o] === TCP_RESET ? this.historyOf(i) : '',
    });
    this.byState[this.stateIndex.get(state) as number]++;
    let rec = this.recs[i];
    if (rec === null && this.endObs.length > 0) rec = this.newRecord(i);
    if (rec !== null) {
      this.sync(i, rec);
      rec.conn_state = state;
    }
    const dst = this.dnsSt[i];
    if (dst !== null) this.dns.finalize(dst, now);
    if (rec !== null) {
      for (const ob of this.endObs) ob.onFlowEnd!(rec);
      if (rec.streams !== null) {
        releaseStreams(rec.streams, this.streamBudget);
        rec.streams = null;
      }
    }
    this.recs[i] = null;
    this.dnsSt[i] = null;
    this.cls[i] = CLS_FREE;
    this.next[i] = this.freeHead;
    this.freeHead = i;
  }
}
