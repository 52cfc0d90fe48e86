// Check `web-protection`: why Secure Client shows "Cloud Service Unavailable" for web
// protection (issue 4; design.md problem 2; domain.md §C).
//
// The roaming module's SWG agent (csc_swgagent) must complete a TCP handshake with the
// Secure Web Gateway before it steers web traffic there. When a firewall drops its SYNs
// (retransmitted, no SYN-ACK: Zeek S0) or refuses them (RST: Zeek REJ; or an ICMP error),
// the agent fails open and web traffic goes direct, uninspected.
//
// Which addresses are the SWG:
// - learned from the capture's DNS answers: names matching `config.swg.names` (globs) and
//   the CNAME chains from them down to A/AAAA records; we remember the chain and the
//   response frame that taught each address. The response itself is read first (the
//   chain is usually complete in one answer); names that a CNAME chain from an SWG name
//   reached are remembered so a later answer for them still counts; the shared name cache
//   (`ctx.names`) is the fallback for chains this check did not see;
// - configured addresses and ranges (`config.swg.addresses`, default 146.112.255.50).
// Ports: `config.swg.ports` (443, 80).
//
// Per SWG address × port we count connection attempts (TCP flows with a SYN), SYN
// retransmissions (with the retransmission schedule of the first failed attempt),
// handshakes completed, attempts refused (RST from the far side, or an ICMP error),
// attempts with no answer at all, and the SYN→RST delay. Who sent a reset is judged by
// comparing its TTL-derived hop count and its delay with the genuine path to that network:
// other packets from the same address (SYN-ACKs on other connections or ports), else from
// the same /24 (IPv4) or /48 (IPv6).
//
// Cost: the decision is made once per flow, in onFlowEnd, from the FlowRecord (no
// per-packet events are requested). It is a number compare for non-TCP / other-port flows,
// then a Set/Map lookup on the responder's address text; the near-network test for path
// observations is a text-prefix test with no allocation. All state is bounded (targets,
// clients per target, names, learned addresses, frames per finding).

import type { Check, CheckContext, CheckResult, CheckStatus, ClientRef, Finding, FindingTarget, Severity, Signal } from './types.js';
import type { DnsAnswerRecord, DnsQuestion, DnsResponseEvent, DnsTransaction, FlowRecord } from '../flow/types.js';
import { canonicalIp, formatIPv4, formatIPv6, inCidr, nameMatcher, parseCidr, parseIp } from '../decode/addr.js';
import type { Cidr } from '../decode/addr.js';

export const CHECK = 'web-protection' as const;
export const FINDING_IDS = ['swg-syn-unanswered', 'swg-reset'] as const;
export type WebProtectionFindingId = (typeof FINDING_IDS)[number];

export interface WebProtectionOptions {
  /** SWG ingress addresses or CIDR ranges (config.swg.addresses) */
  addresses: string[];
  /** name globs whose DNS answers lead to the SWG (config.swg.names) */
  names: string[];
  /** TCP ports of the SWG (config.swg.ports) */
  ports: number[];
  /**
   * An attempt with a single SYN, no answer and less than this much capture time after it
   * is `pending` (the capture may simply have ended before the first retransmission), not
   * a failure. Linux and Windows retransmit a SYN after 1 s (3 s on older stacks).
   */
  pendingMs: number;
  /** caps on the state the check keeps */
  maxTargets: number;
  maxClientsPerTarget: number;
  maxLearned: number;
  maxNames: number;
}

export function webProtectionOptions(ctx: CheckContext, over: Partial<WebProtectionOptions> = {}): WebProtectionOptions {
  return {
    addresses: [...ctx.config.swg.addresses],
    names: [...ctx.config.swg.names],
    ports: [...ctx.config.swg.ports],
    pendingMs: 3000,
    maxTargets: 1024,
    maxClientsPerTarget: 256,
    maxLearned: 4096,
    maxNames: 256,
    ...over,
  };
}

/** Where the evidence points for the reset's origin. */
export type RstSource = 'gateway' | 'middlebox' | 'unknown';

const MAX_FRAMES = 20;          // evidence frames per finding (design.md)
const MAX_CLIENTS_SHOWN = 20;   // clients per finding (design.md)
const MAX_CHAIN = 16;           // CNAME chain steps followed
const MAX_NAMES_PER_ADDR = 8;
const MAX_RST_SAMPLES = 64;
const MAX_NEAR_NETS = 256;
const MAX_DEFERRED = 4096;      // single-SYN attempts held for judgement in finish(), all targets together

const REMEDY_URL = 'https://docs.sse.cisco.com/sse-dns-guide/docs/network-requirements-for-secure-access#ingress-ip-addresses-for-the-secure-web-gateway';

// ---------------------------------------------------------------------------------------
// Address matching without per-flow allocation

/**
 * A set of addresses and ranges tested against address text. Exact addresses are a Set;
 * ranges are pre-filtered by a text prefix that every address in the range must start with
 * (IPv4: the whole octets of the prefix followed by '.'; IPv6: a non-zero first group
 * followed by ':'), so most addresses are rejected by a few `startsWith` calls and only
 * candidates are parsed.
 */
export class AddrMatcher {
  private readonly exact = new Map<string, number>();
  private readonly ranges: { cidr: Cidr; pre: string; exactPre: boolean; id: number }[] = [];
  private readonly texts: string[] = [];

  /** Add an address or range; returns its id (or the id it already had), -1 when invalid. */
  add(text: string): number {
    const c = parseCidr(text);
    if (!c) return -1;
    const max = c.bytes.length * 8;
    if (c.prefix === max) {
      const had = this.exact.get(c.text);
      if (had !== undefined) return had;
      const id = this.texts.length;
      this.texts.push(c.text);
      this.exact.set(c.text, id);
      return id;
    }
    for (const r of this.ranges) if (r.cidr.text === c.text) return r.id;
    let pre = '';
    let exactPre = false;
    if (c.bytes.length === 4) {
      const octets = c.prefix >> 3;
      if (octets > 0) {
        pre = Array.from(c.bytes.slice(0, octets)).join('.') + '.';
        exactPre = (c.prefix & 7) === 0;
      }
    } else {
      const g0 = (c.bytes[0] << 8) | c.bytes[1];
      if (c.prefix >= 16 && g0 !== 0) pre = g0.toString(16) + ':';
    }
    const id = this.texts.length;
    this.texts.push(c.text);
    this.ranges.push({ cidr: c, pre, exactPre, id });
    return id;
  }

  get size(): number {
    return this.texts.length;
  }

  text(id: number): string {
    return this.texts[id];
  }

  /** id of the first entry containing `ip` (exact addresses first), or -1. */
  match(ip: string): number {
    if (this.exact.size > 0) {
      const e = this.exact.get(ip);
      if (e !== undefined) return e;
    }
    const rs = this.ranges;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (r.pre !== '' && !ip.startsWith(r.pre)) continue;
      if (r.exactPre && ip.indexOf(':') < 0) return r.id;
      const b = parseIp(ip);
      if (b !== null && inCidr(r.cidr, b)) return r.id;
    }
    return -1;
  }
}

/** The /24 (IPv4) or /48 (IPv6) around an address or range, as CIDR text; null when invalid. */
export function nearNetworkOf(text: string): string | null {
  const c = parseCidr(text);
  if (!c) return null;
  const v4 = c.bytes.length === 4;
  const p = v4 ? 24 : 48;
  if (c.prefix <= p) return c.text;
  const b = Uint8Array.from(c.bytes);
  for (let bit = p; bit < b.length * 8; bit++) b[bit >> 3] &= ~(0x80 >> (bit & 7));
  return (v4 ? formatIPv4(b, 0) : formatIPv6(b, 0)) + '/' + p;
}

// ---------------------------------------------------------------------------------------
// Hop counts

/** The usual initial TTL (64, 128 or 255) at or above an observed TTL. */
export function initialTtl(ttl: number): number {
  return ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

/**
 * Routers between the sender and the capture point (p0f's "distance"): initial TTL minus the
 * observed TTL. 0 = the sender is on the capture point's own segment. -1 for no TTL.
 */
export function hopsOf(ttl: number): number {
  return ttl < 0 ? -1 : initialTtl(ttl) - ttl;
}

// ---------------------------------------------------------------------------------------
// State

interface Learned {
  address: string;
  /** name chains that led here, each from its first name down to the A/AAAA owner */
  chains: string[][];
  /** the SWG-matching name and the response frame that taught the address first */
  name: string;
  frame: number;
}

interface ChainName {
  chain: string[];      // from the first name down to this one
  matched: string;      // the SWG name the chain began with
  frame: number;        // the response that reached it
}

/** Evidence behind one finding (unanswered or refused attempts of one target). */
class Evidence {
  attempts = 0;
  count = 0;
  /** the smallest evidence frames, ascending, at most MAX_FRAMES */
  frames: number[] = [];
  firstFrame = -1;
  firstSec = 0;
  firstNsec = 0;
  lastFrame = -1;
  lastSec = 0;
  lastNsec = 0;
  clients = new Map<string, ClientRef>();
  clientsDropped = 0;

  addFrame(f: number): void {
    const fr = this.frames;
    if (f < 0) return;
    if (fr.length === MAX_FRAMES && f >= fr[MAX_FRAMES - 1]) return;
    let i = fr.length;
    while (i > 0 && fr[i - 1] > f) i--;
    if (i > 0 && fr[i - 1] === f) return;
    fr.splice(i, 0, f);
    if (fr.length > MAX_FRAMES) fr.pop();
  }

  span(firstFrame: number, firstSec: number, firstNsec: number, lastFrame: number, lastSec: number, lastNsec: number): void {
    if (this.firstFrame < 0 || firstFrame < this.firstFrame) {
      this.firstFrame = firstFrame; this.firstSec = firstSec; this.firstNsec = firstNsec;
    }
    if (lastFrame > this.lastFrame) {
      this.lastFrame = lastFrame; this.lastSec = lastSec; this.lastNsec = lastNsec;
    }
  }

  client(ip: string, count: number, firstFrame: number, cap: number): void {
    const c = this.clients.get(ip);
    if (c) {
      c.count += count;
      if (firstFrame < c.firstFrame) c.firstFrame = firstFrame;
    } else if (this.clients.size < cap) {
      this.clients.set(ip, { ip, count, firstFrame });
    } else {
      this.clientsDropped++;
    }
  }
}

/** What an unanswered attempt contributes (copied out of the FlowRecord, which the table may reuse). */
interface Attempt {
  client: string;
  synFrames: number[];
  synTimesMs: number[];
  synCount: number;
  firstMs: number;
  lastSynMs: number;
  firstFrame: number;
  tsSec: number;
  tsNsec: number;
  lastFrame: number;
  lastTsSec: number;
  lastTsNsec: number;
}

function attemptOf(flow: FlowRecord): Attempt {
  const st = flow.synTimesMs;
  return {
    client: flow.id.orig_h,
    synFrames: flow.synFrames.slice(),
    synTimesMs: st.slice(),
    synCount: flow.synCount,
    firstMs: flow.firstMs,
    lastSynMs: st.length > 0 ? st[st.length - 1] : flow.firstMs,
    firstFrame: flow.synFrames.length > 0 ? flow.synFrames[0] : flow.dir[0].firstFrame,
    tsSec: flow.tsSec,
    tsNsec: flow.tsNsec,
    lastFrame: flow.dir[0].lastFrame,
    lastTsSec: flow.lastTsSec,
    lastTsNsec: flow.lastTsNsec,
  };
}

interface PathObs {
  /** TTL of the first genuine answer seen, its frame, and how many flows were seen */
  ttl: number;
  frame: number;
  flows: number;
  /** smallest SYN → SYN-ACK time seen (ms), -1 when none */
  rttMs: number;
  /** the address the observation came from (for network-level observations) */
  from: string;
}

interface TargetState {
  ip: string;
  port: number;
  v6: boolean;
  learned: Learned | null;
  configured: string | null;
  /** first frame of the first flow seen (for ordering) */
  firstFrame: number;
  lastFrame: number;
  attempts: number;
  established: number;
  midstream: number;
  unanswered: number;
  reset: number;
  icmpRejected: number;
  pending: number;
  synRetransmits: number;
  resetAfterHandshake: number;
  unans: Evidence;
  rej: Evidence;
  rstTtls: number[];
  rstDelays: number[];
  firstRstFrame: number;
  icmpDesc: string[];
  icmpSenders: string[];
  /** SYN times of the unanswered attempt with the most SYNs, relative to its first SYN (ms) */
  synOffsetsMs: number[] | null;
  /** single-SYN attempts without answer, judged in finish() against the capture's end */
  maybe: Attempt[];
  emittedUnans: boolean;
  emittedRej: boolean;
}

interface NameState {
  name: string;
  queries: number;
  answered: number;
  resolved: boolean;
  addresses: string[];
  rcodes: Record<string, number>;
  outcomes: Record<string, number>;
  firstFrame: number;
  /** first response frame that gave an address */
  resolvedFrame: number;
  /** first query frame of a definite failure (NXDOMAIN, no answer, error) */
  failFrame: number;
  failures: number;
}

function lowerName(n: string): string {
  let s = n.toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function fmtMs(ms: number): string {
  if (ms >= 10000) return (ms / 1000).toFixed(1) + ' s';
  if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
  if (ms >= 10) return ms.toFixed(0) + ' ms';
  if (ms >= 1) return ms.toFixed(1) + ' ms';
  return Math.round(ms * 1000) + ' µs';
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return -1;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mostCommon(xs: readonly number[]): number {
  let best = -1, bestN = 0;
  const seen = new Map<number, number>();
  for (const x of xs) {
    const n = (seen.get(x) ?? 0) + 1;
    seen.set(x, n);
    if (n > bestN) { best = x; bestN = n; }
  }
  return best;
}

/**
 * Back-off of a SYN schedule (offsets from the first SYN, ms): 'exponential' when each gap is
 * about double the one before (the classic 1, 2, 4, 8 s), 'linear' when the gaps are about
 * equal, 'linear-then-exponential' for Linux's default (net.ipv4.tcp_syn_linear_timeouts:
 * a few 1 s gaps, then doubling), else 'mixed'; null with fewer than three SYNs.
 */
export function classifyBackoff(offsetsMs: readonly number[]): 'exponential' | 'linear' | 'linear-then-exponential' | 'mixed' | null {
  if (offsetsMs.length < 3) return null;
  const steps: string[] = [];
  for (let i = 2; i < offsetsMs.length; i++) {
    const r = (offsetsMs[i] - offsetsMs[i - 1]) / Math.max(offsetsMs[i - 1] - offsetsMs[i - 2], 1e-3);
    steps.push(r > 1.6 && r < 2.5 ? 'x' : r > 0.8 && r < 1.25 ? '=' : '?');
  }
  const seq = steps.join('');
  if (/^x+$/.test(seq)) return 'exponential';
  if (/^=+$/.test(seq)) return 'linear';
  if (/^=+x+$/.test(seq)) return 'linear-then-exponential';
  return 'mixed';
}

const ICMP_NAMES: Record<string, string> = {
  '4:3:0': 'ICMP net unreachable', '4:3:1': 'ICMP host unreachable', '4:3:3': 'ICMP port unreachable',
  '4:3:9': 'ICMP net administratively prohibited', '4:3:10': 'ICMP host administratively prohibited',
  '4:3:13': 'ICMP communication administratively prohibited',
  '6:1:0': 'ICMPv6 no route', '6:1:1': 'ICMPv6 administratively prohibited', '6:1:3': 'ICMPv6 address unreachable',
  '6:1:4': 'ICMPv6 port unreachable', '6:1:5': 'ICMPv6 source address failed policy', '6:1:6': 'ICMPv6 reject route',
};

function icmpName(v: 4 | 6, type: number, code: number): string {
  return ICMP_NAMES[`${v}:${type}:${code}`] ?? `${v === 4 ? 'ICMP' : 'ICMPv6'} type ${type} code ${code}`;
}

// ---------------------------------------------------------------------------------------
// The check

export function createWebProtectionCheck(ctx: CheckContext, over: Partial<WebProtectionOptions> = {}): Check {
  return new WebProtectionCheck(ctx, webProtectionOptions(ctx, over));
}

export class WebProtectionCheck implements Check {
  readonly name = CHECK;
  private readonly isSwgName: (name: string) => boolean;
  private readonly ports: Int32Array;
  private readonly configured = new AddrMatcher();
  private readonly learned = new Map<string, Learned>();
  private learnedDropped = 0;
  /** names a CNAME chain from an SWG name reached (so a later answer for them counts too) */
  private readonly chainNames = new Map<string, ChainName>();
  private readonly near = new AddrMatcher();
  private readonly nearObs: (PathObs | null)[] = [];
  private readonly pathByAddr = new Map<string, PathObs>();
  private readonly targets = new Map<string, TargetState>();
  private targetsDropped = 0;
  private readonly names = new Map<string, NameState>();
  private namesDropped = 0;
  /** latest packet time seen on any finished flow (the capture's end, once all flows ended) */
  private endMs = -Infinity;
  private sawResponses = false;
  private deferred = 0;

  constructor(private readonly ctx: CheckContext, private readonly opts: WebProtectionOptions) {
    this.isSwgName = nameMatcher(opts.names);
    this.ports = Int32Array.from(opts.ports.filter((p) => Number.isInteger(p) && p >= 0 && p <= 65535));
    for (const a of opts.addresses) {
      if (this.configured.add(a) >= 0) this.addNear(a);
    }
  }

  // --- flow events ---------------------------------------------------------------------

  onFlowEnd(flow: FlowRecord): void {
    if (flow.lastMs > this.endMs) this.endMs = flow.lastMs;
    const id = flow.id;
    if (id.proto === 'tcp' && this.portWanted(id.resp_p)) {
      const ip = id.resp_h;
      const learned = this.learned.get(ip);
      const cfg = learned === undefined ? this.configured.match(ip) : -1;
      if (learned !== undefined || cfg >= 0) {
        this.onSwgFlow(flow, learned ?? null, cfg >= 0 ? this.configured.text(cfg) : null);
        return;
      }
    }
    if (flow.dir[1].pkts > 0 && this.near.size > 0) this.observePath(flow);
  }

  private portWanted(p: number): boolean {
    const ps = this.ports;
    for (let i = 0; i < ps.length; i++) if (ps[i] === p) return true;
    return false;
  }

  /** A flow to the SWG address on an SWG port ended: classify the attempt. */
  private onSwgFlow(flow: FlowRecord, learned: Learned | null, configured: string | null): void {
    // a genuine answer from the SWG address also tells the path to it
    if (flow.synAckFrame >= 0) this.observePath(flow);
    if (!this.ctx.clientAllowed(flow.id.orig_h)) return;
    const t = this.target(flow, learned, configured);
    if (t === null) return;
    const lastFrame = Math.max(flow.dir[0].lastFrame, flow.dir[1].lastFrame);
    if (lastFrame > t.lastFrame) t.lastFrame = lastFrame;
    const syn = flow.synCount > 0;
    if (syn) {
      t.attempts++;
      t.synRetransmits += flow.synCount - 1;
    }
    if (flow.synAckFrame >= 0) {
      t.established++;
      if (flow.rstFrame >= 0 && flow.rstDir === 1) t.resetAfterHandshake++;
      return;
    }
    if (!syn) {
      // midstream (capture began after the handshake): answered traffic still shows a working path
      if (flow.dir[0].pkts > 0 && flow.dir[1].pkts > 0 && !(flow.rstFrame >= 0 && flow.rstDir === 1 && flow.dir[1].pkts === 1)) t.midstream++;
      return;
    }
    const rstFromFar = flow.rstFrame >= 0 && flow.rstDir === 1;
    const icmp = flow.icmpErrors.length > 0 ? flow.icmpErrors : null;
    if (rstFromFar || icmp !== null) {
      this.onRefused(t, flow, rstFromFar, icmp);
      return;
    }
    if (flow.dir[1].pkts === 0) {
      const a = attemptOf(flow);
      if (flow.synCount < 2 && (flow.conn_state === 'S0' || flow.conn_state === null)) {
        // a single SYN: unanswered, or the capture ended before a retransmission was due.
        // Flows end in no particular order at the end of input, so decide in finish().
        if (this.deferred < MAX_DEFERRED) { t.maybe.push(a); this.deferred++; return; }
        if (this.endMs - a.lastSynMs < this.opts.pendingMs) { t.pending++; return; }
      }
      this.onUnanswered(t, a);
    }
    // else: responder packets without SYN-ACK or RST (odd); counted as an attempt only
  }

  private target(flow: FlowRecord, learned: Learned | null, configured: string | null): TargetState | null {
    const key = flow.id.resp_h + '|' + flow.id.resp_p;
    let t = this.targets.get(key);
    if (t === undefined) {
      if (this.targets.size >= this.opts.maxTargets) { this.targetsDropped++; return null; }
      const f0 = Math.min(...[flow.dir[0].firstFrame, flow.dir[1].firstFrame].filter((f) => f >= 0));
      t = {
        ip: flow.id.resp_h, port: flow.id.resp_p, v6: flow.ipVersion === 6, learned, configured,
        firstFrame: Number.isFinite(f0) ? f0 : 0, lastFrame: -1,
        attempts: 0, established: 0, midstream: 0, unanswered: 0, reset: 0, icmpRejected: 0, pending: 0,
        synRetransmits: 0, resetAfterHandshake: 0,
        unans: new Evidence(), rej: new Evidence(), rstTtls: [], rstDelays: [], firstRstFrame: -1, icmpDesc: [], icmpSenders: [],
        synOffsetsMs: null, maybe: [], emittedUnans: false, emittedRej: false,
      };
      this.targets.set(key, t);
    } else {
      const f0 = flow.dir[0].firstFrame >= 0 ? flow.dir[0].firstFrame : flow.dir[1].firstFrame;
      if (f0 >= 0 && f0 < t.firstFrame) t.firstFrame = f0;
      if (t.learned === null && learned !== null) t.learned = learned;
      if (t.configured === null && configured !== null) t.configured = configured;
    }
    return t;
  }

  private onUnanswered(t: TargetState, a: Attempt): void {
    t.unanswered++;
    const ev = t.unans;
    ev.attempts++;
    ev.count += a.synCount;
    for (const f of a.synFrames) ev.addFrame(f);
    ev.span(a.firstFrame, a.tsSec, a.tsNsec, a.lastFrame, a.lastTsSec, a.lastTsNsec);
    ev.client(a.client, a.synCount, a.firstFrame, this.opts.maxClientsPerTarget);
    // keep the SYN schedule of the attempt with the most SYNs (the clearest back-off picture)
    if (t.synOffsetsMs === null || a.synTimesMs.length > t.synOffsetsMs.length) {
      const t0 = a.synTimesMs.length > 0 ? a.synTimesMs[0] : a.firstMs;
      t.synOffsetsMs = a.synTimesMs.map((x) => round3(x - t0));
    }
    if (!t.emittedUnans && this.ctx.emitEarly !== undefined) {
      t.emittedUnans = true;
      const f = this.finding(t, 'swg-syn-unanswered');
      if (f !== null) this.ctx.emitEarly(f);
    }
  }

  private onRefused(t: TargetState, flow: FlowRecord, rst: boolean, icmp: FlowRecord['icmpErrors'] | null): void {
    const ev = t.rej;
    ev.attempts++;
    let count = flow.synCount;
    for (const f of flow.synFrames) ev.addFrame(f);
    if (rst) {
      t.reset++;
      count += Math.max(1, flow.dir[1].pkts);
      ev.addFrame(flow.rstFrame);
      if (t.firstRstFrame < 0 || flow.rstFrame < t.firstRstFrame) t.firstRstFrame = flow.rstFrame;
      if (t.rstTtls.length < MAX_RST_SAMPLES) t.rstTtls.push(flow.rstTtl);
      if (flow.rstAfterSynMs >= 0 && t.rstDelays.length < MAX_RST_SAMPLES) {
        // measure from the SYN the reset answered (the last one sent before it)
        const syn0 = flow.synTimesMs.length > 0 ? flow.synTimesMs[0] : flow.firstMs;
        const rstAt = syn0 + flow.rstAfterSynMs;
        let from = syn0;
        for (const s of flow.synTimesMs) if (s <= rstAt) from = s;
        t.rstDelays.push(rstAt - from);
      }
    } else {
      t.icmpRejected++;
    }
    if (icmp !== null) {
      for (const e of icmp) {
        ev.addFrame(e.frameNo);
        count++;
        const d = icmpName(e.ipVersion, e.type, e.code) + ' from ' + e.sender;
        if (t.icmpDesc.length < 4 && !t.icmpDesc.includes(d)) t.icmpDesc.push(d);
        if (t.icmpSenders.length < 4 && !t.icmpSenders.includes(e.sender)) t.icmpSenders.push(e.sender);
      }
    }
    ev.count += count;
    const first = flow.synFrames.length > 0 ? flow.synFrames[0] : flow.dir[0].firstFrame;
    let last = Math.max(flow.dir[0].lastFrame, flow.dir[1].lastFrame);
    let lastSec = flow.lastTsSec, lastNsec = flow.lastTsNsec;
    if (icmp !== null) {
      for (const e of icmp) {
        if (e.frameNo <= last) continue;
        // an ICMP error is not a packet of the flow: its time is known in ms only, kept to
        // the microsecond (a float of epoch ms holds no more)
        last = e.frameNo;
        lastSec = Math.floor(e.tsMs / 1000);
        lastNsec = Math.min(999_999_000, Math.round((e.tsMs - lastSec * 1000) * 1000) * 1000);
      }
    }
    ev.span(first, flow.tsSec, flow.tsNsec, last, lastSec, lastNsec);
    ev.client(flow.id.orig_h, count, first, this.opts.maxClientsPerTarget);
    if (!t.emittedRej && this.ctx.emitEarly !== undefined) {
      t.emittedRej = true;
      const f = this.finding(t, 'swg-reset');
      if (f !== null) this.ctx.emitEarly(f);
    }
  }

  /** Record a genuine answer from a network near an SWG address (same address, /24 or /48). */
  private observePath(flow: FlowRecord): void {
    let ttl = -1;
    let frame = -1;
    if (flow.synAckFrame >= 0) {
      ttl = flow.synAckTtl;
      frame = flow.synAckFrame;
    } else if (flow.id.proto !== 'tcp' && flow.dir[1].pkts > 0) {
      ttl = flow.dir[1].firstTtl;
      frame = flow.dir[1].firstFrame;
    }
    if (ttl < 0) return;
    const ip = flow.id.resp_h;
    // every SWG address lies in a near network, so this cheap test comes first
    const n = this.near.match(ip);
    if (n < 0) return;
    const rtt = flow.synAckFrame >= 0 ? flow.synToSynAckMs : -1;
    if (this.learned.has(ip) || this.configured.match(ip) >= 0) {
      let a = this.pathByAddr.get(ip);
      if (a === undefined && this.pathByAddr.size < this.opts.maxLearned) {
        a = { ttl, frame, flows: 0, rttMs: -1, from: ip };
        this.pathByAddr.set(ip, a);
      }
      if (a !== undefined) addObs(a, ttl, frame, rtt);
    }
    let o = this.nearObs[n];
    if (o === null || o === undefined) {
      o = { ttl, frame, flows: 0, rttMs: -1, from: ip };
      this.nearObs[n] = o;
    }
    addObs(o, ttl, frame, rtt);
  }

  private addNear(addr: string): void {
    if (this.near.size >= MAX_NEAR_NETS) return;
    const net = nearNetworkOf(addr);
    if (net === null) return;
    const id = this.near.add(net);
    while (this.nearObs.length <= id) this.nearObs.push(null);
  }

  // --- DNS events ----------------------------------------------------------------------

  onDnsResponse(ev: DnsResponseEvent): void {
    this.sawResponses = true;
    this.learnFrom(ev.frameNo, ev.question, ev.answers);
  }

  onDnsTransaction(tx: DnsTransaction): void {
    const q = tx.question;
    if (q === null) return;
    // responses normally arrive through onDnsResponse; learn here only if they never do
    if (!this.sawResponses && tx.responseFrame >= 0 && tx.answers.length > 0) this.learnFrom(tx.responseFrame, q, tx.answers);
    if (q.type !== 'A' && q.type !== 'AAAA') return;
    if (!this.isSwgName(q.name)) return;
    const qn = lowerName(q.name);
    if (!this.ctx.clientAllowed(tx.client)) return;
    let s = this.names.get(qn);
    if (s === undefined) {
      if (this.names.size >= this.opts.maxNames) { this.namesDropped++; return; }
      s = { name: qn, queries: 0, answered: 0, resolved: false, addresses: [], rcodes: {}, outcomes: {},
        firstFrame: -1, resolvedFrame: -1, failFrame: -1, failures: 0 };
      this.names.set(qn, s);
    }
    s.queries++;
    s.outcomes[tx.outcome] = (s.outcomes[tx.outcome] ?? 0) + 1;
    if (tx.rcode !== null) s.rcodes[tx.rcode] = (s.rcodes[tx.rcode] ?? 0) + 1;
    const qf = tx.queryFrames.length > 0 ? tx.queryFrames[0] : -1;
    if (qf >= 0 && (s.firstFrame < 0 || qf < s.firstFrame)) s.firstFrame = qf;
    let addrs = 0;
    for (const a of tx.answers) {
      if (a.type !== 'A' && a.type !== 'AAAA') continue;
      addrs++;
      const ip = canonicalIp(a.data) ?? a.data;
      if (s.addresses.length < MAX_NAMES_PER_ADDR && !s.addresses.includes(ip)) s.addresses.push(ip);
    }
    if (tx.outcome === 'answered' || tx.outcome === 'late') s.answered++;
    if (addrs > 0) {
      s.resolved = true;
      if (s.resolvedFrame < 0 || tx.responseFrame < s.resolvedFrame) s.resolvedFrame = tx.responseFrame;
      return;
    }
    // no address: NXDOMAIN, NODATA, SERVFAIL..., no answer at all, refused by ICMP/RST
    if (tx.outcome === 'pending') return;
    s.failures++;
    const ff = tx.responseFrame >= 0 ? tx.responseFrame : qf;
    if (ff >= 0 && (s.failFrame < 0 || ff < s.failFrame)) s.failFrame = ff;
  }

  /**
   * Learn SWG addresses from one response. The shared name cache has already learned it (the
   * DNS service teaches the cache before observers hear of a response), so once a name of
   * this response is an SWG name, or a name an earlier SWG chain reached, the cache gives
   * the CNAME chain and every address at its end, across responses. Ordinary responses cost
   * a name-matcher test of the question and of CNAME names (a Map lookup for names seen
   * before: the matcher remembers its answers); the cache is only asked for SWG ones.
   */
  private learnFrom(frameNo: number, question: DnsQuestion | null, answers: readonly DnsAnswerRecord[]): void {
    if (answers.length === 0) return;
    const root = question !== null ? question.name : answers[0].name;
    let matched: string | null = null;
    if (this.chainNames.has(root) || this.isSwgName(root)) matched = root;
    for (let i = 0; matched === null && i < answers.length; i++) {
      const rr = answers[i];
      if (rr.type !== 'CNAME' && rr.name === root) continue;
      if (rr.name !== root && (this.chainNames.has(rr.name) || this.isSwgName(rr.name))) matched = rr.name;
      else if (rr.type === 'CNAME' && (this.chainNames.has(rr.data) || this.isSwgName(rr.data))) matched = rr.data;
    }
    if (matched === null) return;
    const names = this.ctx.names;
    // the chain: from where an earlier SWG chain began, else from this response's question
    // when it leads to the matched name, else from the matched name; then down its CNAMEs
    const prior = this.chainNames.get(matched);
    let head: string[];
    let swgName: string;
    if (prior !== undefined) {
      head = prior.chain.slice(0, prior.chain.indexOf(matched) + 1);
      swgName = prior.matched;
    } else {
      const fromRoot = root === matched ? [] : names.cnameChain(root).map((f) => f.name);
      const at = fromRoot.indexOf(matched);
      head = at >= 0 ? [root, ...fromRoot.slice(0, at + 1)] : [matched];
      swgName = head.find((n) => this.isSwgName(n)) ?? matched;
    }
    const tail = names.cnameChain(matched).map((f) => f.name);
    const chain = head.concat(tail.filter((n) => !head.includes(n)));
    // names this chain reaches count as SWG names for later answers (e.g. a separate query
    // for the CNAME target)
    for (let i = chain.indexOf(matched) + 1; i < chain.length && i < MAX_CHAIN; i++) {
      const n = chain[i];
      if (!this.chainNames.has(n) && this.chainNames.size < this.opts.maxLearned) {
        this.chainNames.set(n, { chain: chain.slice(0, i + 1), matched: swgName, frame: frameNo });
      }
    }
    for (const a of names.addressesOf(chain[0])) {
      const ip = canonicalIp(a.address);
      if (ip === null) continue;
      const owner = chain.indexOf(a.name);
      const path = owner >= 0 ? chain.slice(0, owner + 1) : chain.concat([a.name]);
      this.learnAddress(ip, path, swgName, a.frameNo);
    }
  }

  private learnAddress(ip: string, chain: string[], matched: string, frame: number): void {
    const l = this.learned.get(ip);
    if (l !== undefined) {
      if (l.chains.length < MAX_NAMES_PER_ADDR && !l.chains.some((c) => c.join(' ') === chain.join(' '))) l.chains.push(chain);
      return;
    }
    if (this.learned.size >= this.opts.maxLearned) { this.learnedDropped++; return; }
    this.learned.set(ip, { address: ip, chains: [chain], name: matched, frame });
    this.addNear(ip);
  }

  // --- results -------------------------------------------------------------------------

  /** Who sent the resets of a target: compare with the genuine path to that address/network. */
  private rstVerdict(t: TargetState): {
    source: RstSource; rstTtl: number; rstHops: number; pathTtl: number; pathHops: number;
    pathBasis: 'address' | 'network' | null; pathFrom: string | null; pathFrame: number;
    delayMs: number; pathRttMs: number; sentence: string; signals: Signal[];
  } {
    const rstTtl = t.rstTtls.length > 0 ? mostCommon(t.rstTtls) : -1;
    const rstHops = hopsOf(rstTtl);
    const delayMs = median(t.rstDelays);
    let obs: PathObs | null = this.pathByAddr.get(t.ip) ?? null;
    let basis: 'address' | 'network' | null = obs !== null ? 'address' : null;
    if (obs === null) {
      const n = this.near.match(t.ip);
      const o = n >= 0 ? this.nearObs[n] : null;
      if (o !== null && o !== undefined) { obs = o; basis = 'network'; }
    }
    if (obs === null) {
      const none = { source: 'unknown' as RstSource, rstTtl, rstHops, pathTtl: -1, pathHops: -1, pathBasis: null,
        pathFrom: null, pathFrame: -1, delayMs: round3(delayMs), pathRttMs: -1, signals: [] as Signal[] };
      if (rstTtl < 0) return { ...none, sentence: '' };
      return { ...none, sentence: `Nothing else from ${t.ip} or its network was captured to compare the reset with, so its sender is unknown (reset TTL ${rstTtl}, ${plural(rstHops, 'hop')} from the client).` };
    }
    const pathHops = hopsOf(obs.ttl);
    const where = basis === 'address' ? `${t.ip} itself` : `its network (${obs.from})`;
    const base = { rstTtl, rstHops, pathTtl: obs.ttl, pathHops, pathBasis: basis, pathFrom: obs.from, pathFrame: obs.frame,
      delayMs: round3(delayMs), pathRttMs: round3(obs.rttMs) };
    if (rstTtl < 0) return { source: 'unknown', ...base, signals: [], sentence: '' };
    const signals: Signal[] = [];
    const rstFrame = t.firstRstFrame;
    if (rstHops !== pathHops) {
      signals.push({ kind: 'ttl-differs', port: t.port, frame: rstFrame, value: `RST TTL ${rstTtl} (${plural(rstHops, 'hop')}) vs ${obs.ttl} (${plural(pathHops, 'hop')}) from ${obs.from} in frame ${obs.frame}` });
    }
    const fast = obs.rttMs >= 0 && delayMs >= 0 && delayMs < obs.rttMs / 2 && obs.rttMs - delayMs >= 2;
    // live captures stamp packets on arrival: a delay difference alone is then no proof
    const timingTrusted = this.ctx.timing !== 'arrival';
    if (fast) {
      signals.push({ kind: 'rtt-differs', port: t.port, frame: rstFrame, value: `RST after ${fmtMs(delayMs)} vs SYN-ACK after ${fmtMs(obs.rttMs)} from ${obs.from}` });
    }
    if (rstHops !== pathHops) {
      const near = rstHops === 0 ? 'on the client\'s own network segment (0 router hops)' : `${plural(rstHops, 'hop')} from the client`;
      return { source: 'middlebox', ...base, signals,
        sentence: `The reset came from a device ${near}, not from the gateway (${plural(pathHops, 'hop')} away, judged by packets from ${where}, e.g. frame ${obs.frame}).` };
    }
    if (fast && timingTrusted) {
      return { source: 'middlebox', ...base, signals,
        sentence: `The reset came after ${fmtMs(delayMs)}, much sooner than the gateway's ${fmtMs(obs.rttMs)} round trip (packets from ${where}), so a device on the way sent it, not the gateway.` };
    }
    return { source: 'gateway', ...base, signals,
      sentence: `The reset has the same hop count (${rstHops}) as packets from ${where}${obs.rttMs >= 0 && delayMs >= 0 ? ' and a similar delay' : ''}, so it likely came from the gateway's side (the address itself or a device next to it).` };
  }

  private namesOf(t: TargetState): string[] {
    const out: string[] = [];
    if (t.learned !== null) for (const c of t.learned.chains) for (const n of c) if (!out.includes(n)) out.push(n);
    return out;
  }

  private filterOf(t: TargetState, id: WebProtectionFindingId): string {
    const ipf = t.v6 ? `ipv6.addr == ${t.ip}` : `ip.addr == ${t.ip}`;
    if (id === 'swg-syn-unanswered') return `${ipf} && tcp.port == ${t.port} && tcp.flags.syn == 1 && tcp.flags.ack == 0`;
    const icmp = t.icmpRejected > 0 || t.icmpDesc.length > 0 ? (t.v6 ? ' || icmpv6' : ' || icmp') : '';
    return `${ipf} && tcp.port == ${t.port} && (tcp.flags.syn == 1 || tcp.flags.reset == 1${icmp})`;
  }

  private finding(t: TargetState, id: WebProtectionFindingId): Finding | null {
    const ev = id === 'swg-syn-unanswered' ? t.unans : t.rej;
    if (ev.attempts === 0) return null;
    const clients = [...ev.clients.values()].filter((c) => this.ctx.clientAllowed(c.ip))
      .sort((a, b) => a.firstFrame - b.firstFrame || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    if (clients.length === 0) return null;
    const names = this.namesOf(t);
    const svc = `the Secure Web Gateway ${t.ip} on TCP/${t.port}`;
    const via = t.learned !== null ? ` (resolved from ${t.learned.name} in frame ${t.learned.frame})` : t.configured !== null ? ` (configured SWG address ${t.configured})` : '';
    const nc = clients.length + ev.clientsDropped;
    const fromClients = nc === 1 ? `from ${clients[0].ip}` : `from ${nc} clients`;
    const severity: Severity = t.established + t.midstream > 0 ? 'warning' : 'error';
    const target: FindingTarget = {
      ip: t.ip, port: t.port, transport: 'tcp', names,
      learnedFrom: t.learned !== null ? { name: t.learned.name, frame: t.learned.frame } : null,
      configured: t.configured,
    };
    const failOpen = 'Secure Client\'s SWG agent (csc_swgagent) must complete a TCP handshake with the Secure Web Gateway before it can send web traffic there; ' +
      'when the handshake fails it logs "TCP handshake to SWG Proxy URL was not successful" and, with the default fail-open policy, ' +
      'sends web traffic directly to the Internet: web protection shows "Cloud Service Unavailable" and browsing bypasses the gateway, unprotected.';
    const remedy = `Allow outbound TCP ${this.opts.ports.join(' and ')} from the clients to the Secure Web Gateway ingress addresses (here ${t.ip}${t.learned !== null ? `, which ${t.learned.name} resolves to` : ''}) on the perimeter firewall, ` +
      `as Cisco's "Network Requirements for Secure Access" (ingress IP addresses for the Secure Web Gateway, ${REMEDY_URL}) and Umbrella's SWG documentation require; ` +
      'the ingress ranges depend on the region, so allow the published ranges rather than this one address. To confirm quickly, join a network without the perimeter firewall (e.g. a hotspot) and check that web protection turns active.';
    const f: Finding = {
      id, check: CHECK, severity, target,
      clients: clients.slice(0, MAX_CLIENTS_SHOWN).map((c) => ({ ip: c.ip, count: c.count, firstFrame: c.firstFrame })),
      count: ev.count, attempts: ev.attempts, frames: [...ev.frames],
      firstFrame: ev.firstFrame, lastFrame: ev.lastFrame,
      firstSeen: this.ctx.isoTime(ev.firstSec, ev.firstNsec), lastSeen: this.ctx.isoTime(ev.lastSec, ev.lastNsec),
      message: '', explanation: '', remedy,
      wiresharkFilter: this.filterOf(t, id),
    };
    if (id === 'swg-syn-unanswered') {
      const retrans = ev.count - ev.attempts;
      const sched = t.synOffsetsMs;
      const lastOff = sched !== null && sched.length > 1 ? sched[sched.length - 1] : -1;
      const backoff = sched !== null ? classifyBackoff(sched) : null;
      f.message = `${plural(ev.attempts, 'connection attempt')} ${fromClients} to ${svc}${via} got no answer: ` +
        `${plural(ev.count, 'SYN')} sent (${plural(retrans, 'retransmission')}${lastOff > 0 ? `, the last ${fmtMs(lastOff)} after the first` : ''}), no SYN-ACK, no reset.`;
      f.explanation = 'The SYNs to the gateway were dropped silently on the way (no SYN-ACK, no reset, no ICMP error came back), the signature of a perimeter firewall that does not allow this traffic. ' + failOpen;
      f.synRetransmits = retrans;
      if (sched !== null) f.synOffsetsMs = sched;
      if (backoff !== null) f.backoff = backoff;
    } else {
      const v = this.rstVerdict(t);
      const parts: string[] = [];
      if (t.reset > 0) parts.push(`${plural(t.reset, 'attempt')} answered by a TCP reset${v.delayMs >= 0 ? ` after ${fmtMs(v.delayMs)}` : ''}`);
      if (t.icmpRejected > 0) parts.push(`${plural(t.icmpRejected, 'attempt')} answered by ${t.icmpDesc.join(', ') || 'an ICMP error'}`);
      const others = t.icmpSenders.filter((x) => x !== t.ip);
      const icmpSentence = others.length === 0 ? '' : others.length === t.icmpSenders.length
        ? ` The ICMP error came from ${others.join(', ')}, not from the gateway.`
        : ` ICMP errors came from ${others.join(', ')} besides the gateway itself.`;
      f.message = `${plural(ev.attempts, 'connection attempt')} ${fromClients} to ${svc}${via} ${ev.attempts === 1 ? 'was' : 'were'} refused: ${parts.join('; ')}.` +
        (t.reset > 0 && v.sentence !== '' ? ' ' + v.sentence : '') + icmpSentence;
      if (t.icmpSenders.length > 0) f.icmpFrom = [...t.icmpSenders];
      f.explanation = 'Something on the way actively refused the connection to the gateway (a firewall rejecting the traffic answers the SYN with a reset, or with an ICMP error, in the gateway\'s name). ' + failOpen;
      if (v.source === 'gateway' && t.icmpRejected === 0) {
        f.remedy = `The refusal comes from the gateway's side (same hop count and delay as the gateway's own packets), not from the local network, so the perimeter firewall is probably not the cause: ` +
          `check that ${t.ip}${t.learned !== null ? ` (from ${t.learned.name})` : ''} is a current Secure Web Gateway ingress for this region and port per Cisco's "Network Requirements for Secure Access" (${REMEDY_URL}), ` +
          'check the Cisco Secure Access / Umbrella service status, and open a case with Cisco TAC if the gateway keeps refusing; a firewall further upstream (at the provider) that rejects in the gateway\'s name would look the same.';
      }
      if (t.reset > 0) f.rst = {
        source: v.source, ttl: v.rstTtl, hops: v.rstHops, pathTtl: v.pathTtl, pathHops: v.pathHops, pathBasis: v.pathBasis,
        pathFrom: v.pathFrom, pathFrame: v.pathFrame, synToRstMs: v.delayMs, pathRttMs: v.pathRttMs,
      };
      if (v.signals.length > 0) f.signals = v.signals;
    }
    return f;
  }

  private targetJson(t: TargetState): Record<string, unknown> {
    const v = this.rstVerdict(t);
    return {
      ip: t.ip, port: t.port, names: this.namesOf(t),
      learnedFrom: t.learned !== null ? { name: t.learned.name, frame: t.learned.frame } : null,
      configured: t.configured,
      attempts: t.attempts, synRetransmits: t.synRetransmits, established: t.established, reset: t.reset,
      unanswered: t.unanswered, icmpRejected: t.icmpRejected, pending: t.pending, midstream: t.midstream,
      resetAfterHandshake: t.resetAfterHandshake,
      synToRstMs: t.reset > 0 ? v.delayMs : null,
      rstTtl: t.reset > 0 ? v.rstTtl : null,
      rstHops: t.reset > 0 ? v.rstHops : null,
      pathHops: v.pathHops >= 0 ? v.pathHops : null,
      pathTtl: v.pathTtl >= 0 ? v.pathTtl : null,
      pathRttMs: v.pathRttMs >= 0 ? v.pathRttMs : null,
      rstSource: t.reset > 0 ? v.source : null,
      synOffsetsMs: t.synOffsetsMs,
      firstFrame: t.firstFrame, lastFrame: t.lastFrame,
    };
  }

  /** Judge the deferred single-SYN attempts now that the capture's end is known. */
  private settle(): void {
    for (const t of this.targets.values()) {
      const ms = t.maybe;
      t.maybe = [];
      this.deferred -= ms.length;
      ms.sort((a, b) => a.firstFrame - b.firstFrame);
      for (const a of ms) {
        if (this.endMs - a.lastSynMs < this.opts.pendingMs) t.pending++;
        else this.onUnanswered(t, a);
      }
    }
  }

  finish(): { result: CheckResult; findings: Finding[] } {
    this.settle();
    const ts = [...this.targets.values()].sort((a, b) =>
      a.firstFrame - b.firstFrame || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0) || a.port - b.port);
    const findings: Finding[] = [];
    for (const t of ts) {
      for (const id of FINDING_IDS) {
        const f = this.finding(t, id);
        if (f !== null) findings.push(f);
      }
    }
    findings.sort((a, b) => a.firstFrame - b.firstFrame || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    let attempts = 0, ok = 0, unans = 0, refused = 0, pending = 0;
    for (const t of ts) {
      attempts += t.attempts;
      ok += t.established + t.midstream;
      unans += t.unanswered;
      refused += t.reset + t.icmpRejected;
      pending += t.pending;
    }
    const failed = unans + refused;
    const names = [...this.names.values()].sort((a, b) => a.firstFrame - b.firstFrame || (a.name < b.name ? -1 : 1));
    const unresolved = names.filter((n) => !n.resolved && n.failures > 0);
    const resolved = names.filter((n) => n.resolved);
    const learned = [...this.learned.values()].sort((a, b) => a.frame - b.frame || (a.address < b.address ? -1 : 1));

    const where = (list: TargetState[]): string => {
      const xs = list.map((t) => `${t.ip}:${t.port}`);
      return xs.length <= 3 ? xs.join(', ') : `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more`;
    };
    const failDetail = (): string => {
      const p: string[] = [];
      if (unans > 0) p.push(`${unans} unanswered`);
      if (refused > 0) p.push(`${refused} refused`);
      return p.join(', ');
    };
    const nameFail = (): string => {
      const n = unresolved[0];
      const why = Object.keys(n.rcodes).filter((r) => r !== 'NOERROR').join('/') ||
        (n.outcomes.unanswered ? 'no answer' : n.outcomes.rejected ? 'refused' : 'no address');
      return `the SWG name ${n.name} did not resolve (${why}${n.failFrame >= 0 ? `, frame ${n.failFrame}` : ''})` +
        (unresolved.length > 1 ? ` nor did ${plural(unresolved.length - 1, 'other SWG name')}` : '');
    };

    let status: CheckStatus;
    let summary: string;
    const failedTs = ts.filter((t) => t.unanswered + t.reset + t.icmpRejected > 0);
    if (failed > 0 && ok === 0) {
      status = 'fail';
      summary = `No connection to the Secure Web Gateway succeeded: ${plural(failed, 'attempt')} to ${where(failedTs)} failed (${failDetail()}), ` +
        'so the SWG agent fails open and web traffic bypasses the gateway' + (unresolved.length > 0 ? `; also ${nameFail()}` : '') + '.';
    } else if (failed > 0) {
      status = 'warn';
      summary = `${failed} of ${failed + ok} connection attempts to the Secure Web Gateway failed (${failDetail()}; to ${where(failedTs)}), ${ok} succeeded` +
        (unresolved.length > 0 ? `; also ${nameFail()}` : '') + '.';
    } else if (unresolved.length > 0) {
      status = 'warn';
      summary = `The Secure Web Gateway cannot be reached by name: ${nameFail()}` +
        (ok > 0 ? `; ${plural(ok, 'connection')} to SWG addresses succeeded` : '') + '.';
    } else if (ok > 0) {
      status = 'pass';
      const okTs = ts.filter((t) => t.established + t.midstream > 0);
      summary = `${ok === attempts ? 'All' : ok} ${plural(ok, 'connection')} to the Secure Web Gateway (${where(okTs)}) completed the TCP handshake` +
        (pending > 0 ? `; ${plural(pending, 'attempt')} still had no answer when the capture ended` : '') + '.';
    } else if (resolved.length > 0 || learned.length > 0) {
      status = 'pass';
      const n = resolved[0];
      const l = learned[0];
      const what = n !== undefined ? `${n.name} resolved to ${n.addresses.join(', ')} (frame ${n.resolvedFrame})` :
        `${l.name} resolved to ${l.address} (frame ${l.frame})`;
      summary = `The SWG name ${what}, but no connection to the Secure Web Gateway followed in this capture` +
        (pending > 0 ? ` (${plural(pending, 'attempt')} had no answer yet when the capture ended)` : '') + '.';
    } else if (pending > 0) {
      status = 'not-observed';
      summary = `${plural(pending, 'connection attempt')} to the Secure Web Gateway had no answer yet when the capture ended; no outcome was observed.`;
    } else {
      status = 'not-observed';
      summary = 'No Secure Web Gateway traffic and no lookup of an SWG name in this capture.';
    }

    const result: CheckResult = {
      check: CHECK, status, summary,
      targets: ts.map((t) => this.targetJson(t)),
      names: names.map((n) => ({
        name: n.name, queries: n.queries, answered: n.answered, resolved: n.resolved, addresses: n.addresses,
        rcodes: n.rcodes, outcomes: n.outcomes, firstFrame: n.firstFrame,
        resolvedFrame: n.resolved ? n.resolvedFrame : null, failFrame: n.resolved ? null : n.failFrame,
      })),
      learned: learned.map((l) => ({ address: l.address, name: l.name, frame: l.frame, chains: l.chains })),
      configured: this.opts.addresses,
    };
    if (this.targetsDropped + this.learnedDropped + this.namesDropped > 0) {
      result.dropped = { targets: this.targetsDropped, learned: this.learnedDropped, names: this.namesDropped };
    }
    return { result, findings };
  }
}

function addObs(o: PathObs, ttl: number, frame: number, rtt: number): void {
  o.flows++;
  if (frame >= 0 && frame < o.frame) { o.frame = frame; o.ttl = ttl; }
  if (rtt >= 0 && (o.rttMs < 0 || rtt < o.rttMs)) o.rttMs = rtt;
}
