// Check `gotomeeting`: GoToMeeting behind a transparent web proxy (issue 5; design.md
// problem 3; domain.md §A and §D; Cisco doc 117808).
//
// GoToMeeting opens TLS-protected TCP connections to its Endpoint Gateway on 8200, 443 and
// 80 at once and keeps the first that answers. A transparent proxy (a Cisco WSA in
// transparent mode) answers 443/80 itself, in the server's name, from close by and fast, so
// the client picks the proxy's connection; the proxy then wants to authenticate the user
// (redirect to its own host, 401/407) or shows its own certificate, and the meeting never
// connects.
//
// Which connections: TCP to `config.gotomeeting.ports` (8200, 443, 80) whose server is in
// `config.gotomeeting.ranges`, or whose address a DNS answer in the capture gave for a name
// matching `config.gotomeeting.names`, or whose TLS SNI / HTTP Host names such a server;
// and HTTP CONNECTs (or absolute-form requests) naming such a server through an explicit
// proxy.
//
// Per server address × port we record connections and their conn_state, the SYN-ACK TTL and
// hop count (initial TTL 64/128/255 minus the TTL seen), the handshake RTT (SYN-ACK minus
// the SYN it answers), and what came back first: the TLS server certificate (TLS <= 1.2;
// TLS 1.3 hides it), the HTTP status with Location / Via / Server / WWW- and
// Proxy-Authenticate, or a reset / FIN right after the client's first bytes.
//
// Verdict per server address (interception first):
// - a port is `intercepted` when a sufficient signal shows that another machine answered:
//   http-redirect (301/302/303/307/308 to another host that is not a GoTo name), http-auth
//   (407; 401 on an address in the GoTo ranges or with an NTLM/Negotiate challenge),
//   via-proxy (a Via naming a forward-proxy product such as Cisco-WSA; dual-use software
//   such as squid only when answered from <= 1 hop), cert-issuer-proxy (issuer names a
//   proxy / inspection CA), cert-issuer-differs (issuer differs from the reference port's),
//   ttl-differs (answered from >= 2 hops fewer than the reference port), rtt-differs (the
//   reference port's handshake took >= 10x longer and >= 20 ms more; with arrival-time
//   stamps (live) RTT is supporting only); or by two supporting signals of different kinds
//   (a smaller hop or RTT difference, a dual-use Via from far, a reset right after the
//   client's first bytes). The reference port is the answered port with no sufficient
//   signal of its own that answered from the most hops (then the slowest).
// - `intercepted` when any port is; else `direct` when a port got through (answered, not
//   intercepted, not only reset after the first bytes); else `explicit-proxy` when the
//   client reached it through an explicit proxy; else `blocked` when attempts definitely
//   failed (SYNs retransmitted with no answer, refused by RST or ICMP, reset after the
//   first bytes). An address with nothing but single unanswered SYNs at the very end of
//   the capture is not judged.
// - Findings: gtm-intercepted and gtm-blocked (severity error), and proxy-intercepted
//   (info) for other web destinations where the same signals show a transparent proxy.
//
// Cost on the hot path: onFlowStart is a protocol compare and a Uint8Array port lookup for
// every new flow; for TCP flows on the watched ports one Map lookup (learned GoTo
// addresses), a first-octet prefilter and only then the CidrSet. onDnsResponse tests each
// distinct name of a response once against one compiled glob matcher (its answers
// remembered per name: one Map lookup for a name seen before) and allocates nothing unless
// a name matches. GoToMeeting flows ask for packets (only to
// map stream offsets to frames, at most 64 segments a direction) and first bytes. To see SNI,
// Host, CONNECT and proxy answers on other destinations, the first bytes of a sample of the
// other flows on the watched ports are collected: at most `sampleFlowsPerDest` flows per
// destination address and at most `maxSampledLive` (64) such flows alive at once, so memory
// is bounded (64 x 2 x 64 KiB at worst) and sampling goes on through the whole capture;
// streams are parsed once, at flow end. A proxy in the path of all web traffic shows on any
// sampled flow. Measured on the benchmark captures (100 MiB / 1.1 GiB, ~1.1 M flows):
// collecting first bytes of every flow to the first 8192 destinations cost ~+25 % CPU and
// +50 MiB peak RSS; with this bound the check's own functions take ~3 % of the CPU profile
// and add ~5 MiB peak RSS (differences in total run time are within the machine's noise).

import type { Check, CheckContext, CheckResult, CheckStatus, ClientRef, Finding, FindingTarget, Signal } from './types.js';
import type { DnsResponseEvent, FlowRecord } from '../flow/types.js';
import { WANT_PACKETS, WANT_STREAMS } from '../flow/types.js';
import type { Packet } from '../decode/packet.js';
import { CidrSet, nameMatcher, parseIp } from '../decode/addr.js';
import { tlsVersionName } from '../decode/tls-names.js';
import { authSchemes, classifyVia, firstOctetFilter, hostOnly, isProxyIssuer, mayMatch, viaProduct } from './proxy-signals.js';
import { CertCache, newSegMap, observeFlow, segMapPacket, type ConnObs, type HttpSeen, type SegMap, type TlsSeen } from './gotomeeting-flow.js';

export const CHECK = 'gotomeeting' as const;
export const FINDING_IDS = ['gtm-intercepted', 'gtm-blocked', 'proxy-intercepted'] as const;
export type GotomeetingFindingId = (typeof FINDING_IDS)[number];
export type GtmVerdict = 'intercepted' | 'blocked' | 'direct' | 'explicit-proxy';

export interface GotomeetingOptions {
  /** GoToMeeting server ranges (config.gotomeeting.ranges) */
  ranges: string[];
  /** name globs of GoToMeeting servers (config.gotomeeting.names) */
  names: string[];
  /** TCP ports GoToMeeting races (config.gotomeeting.ports: 8200, 443, 80) */
  ports: number[];
  /** further ports where clients talk to explicit proxies (CONNECT) */
  proxyPorts: number[];
  /** 'arrival' (live capture stamps): RTT differences are supporting evidence only */
  timing: 'capture' | 'arrival';
  /**
   * First bytes of other flows on the watched ports are examined for SNI / Host / CONNECT and
   * proxy answers: at most `sampleFlowsPerDest` flows per destination address (counts kept for
   * `maxSampledDests` addresses, then started afresh) and at most `maxSampledLive` such flows
   * alive at once (the memory bound: each holds up to 2 x 64 KiB of first bytes).
   */
  sampleFlowsPerDest: number;
  maxSampledDests: number;
  maxSampledLive: number;
  /** caps on kept state */
  maxTargets: number;
  maxOtherTargets: number;
  maxLearned: number;
  /** proxy-intercepted findings listed at most (the summary counts all) */
  maxProxyFindings: number;
  /** thresholds */
  ttlHops: number;            // hop difference that suffices alone (2)
  rttFactor: number;          // strong RTT difference: ratio (10) ...
  rttMinDiffMs: number;       // ... and absolute (20 ms)
  weakRttFactor: number;      // supporting RTT difference (3x and 5 ms)
  weakRttDiffMs: number;
  /** a reset/FIN at most this long after the client's first bytes is "right after" */
  resetWindowMs: number;
  /** a single unanswered SYN this close to the capture's end is pending, not failed */
  pendingMs: number;
}

export function gotomeetingOptions(ctx: CheckContext, over: Partial<GotomeetingOptions> = {}): GotomeetingOptions {
  return {
    ranges: [...ctx.config.gotomeeting.ranges],
    names: [...ctx.config.gotomeeting.names],
    ports: [...ctx.config.gotomeeting.ports],
    proxyPorts: [3128, 8080],
    timing: ctx.timing ?? 'capture',
    sampleFlowsPerDest: 3,
    maxSampledDests: 8192,
    maxSampledLive: 64,
    maxTargets: 1024,
    maxOtherTargets: 4096,
    maxLearned: 4096,
    maxProxyFindings: 20,
    ttlHops: 2,
    rttFactor: 10,
    rttMinDiffMs: 20,
    weakRttFactor: 3,
    weakRttDiffMs: 5,
    resetWindowMs: 2000,
    pendingMs: 3000,
    ...over,
  };
}

const MAX_FRAMES = 20;
const MAX_CLIENTS_SHOWN = 20;
const MAX_CLIENTS = 64;
const MAX_PORTS = 8;
const MAX_NAMES = 16;
const MAX_EVIDENCE = 64;
const MAX_EXPLICIT_PROXIES = 1024;

const PORT_GTM = 1;
const PORT_SAMPLE = 2;

/** ext marker for sampled (non-GoToMeeting) flows */
const SAMPLED = { sampled: true } as const;

interface Sig {
  s: Signal;
  strong: boolean;
}

interface ExplicitAgg {
  conns: number;
  proxies: string[];
  status: number;
  tls: TlsSeen | null;
  states: Map<string, number>;
}

interface PortAgg {
  port: number;
  conns: number;
  states: Map<string, number>;
  /** Zeek history of the first connection */
  history: string;
  answered: number;
  synAckTtl: number;
  synAckFrame: number;
  hops: number;
  rttMin: number;
  synAckFrames: number[];
  tls: TlsSeen | null;
  http: HttpSeen | null;
  sni: string | null;
  responses: number;
  /** frames of the first answers (TLS certificate / hello, HTTP response), bounded */
  respFrames: number[];
  resets: number;
  resetFrames: number[];
  /** attempts that definitely failed (retransmitted SYNs unanswered, refused) */
  failed: number;
  refused: number;
  icmp: number;
  unanswered: number;
  unansweredSyns: number;
  pending: number;
  failFrames: number[];
  failCount: number;
  /** flow-level signals, first per kind */
  app: Sig[];
  clients: Map<string, ClientRef>;
  first: { frame: number; sec: number; nsec: number };
  last: { frame: number; sec: number; nsec: number };
  /** single unanswered SYNs: judged at finish against the capture's end */
  maybe: ConnObs[];
}

interface Target {
  key: string;
  ip: string | null;
  v6: boolean;
  gtm: boolean;
  range: string | null;
  how: string[];
  names: string[];
  ports: Map<number, PortAgg>;
  explicit: Map<number, ExplicitAgg>;
  firstFrame: number;
  /** live: a finding was emitted early; the ports it named stay intercepted (the final list must hold it) */
  emitted: boolean;
  sticky: number[];
}

interface PortEval {
  agg: PortAgg;
  signals: Sig[];
  intercepted: boolean;
  through: boolean;
}

interface TargetEval {
  t: Target;
  verdict: GtmVerdict | null;
  ports: PortEval[];
  ref: PortEval | null;
}

function newPort(port: number): PortAgg {
  return {
    port, conns: 0, states: new Map(), history: '', answered: 0, synAckTtl: -1, synAckFrame: -1, hops: -1, rttMin: -1,
    synAckFrames: [], tls: null, http: null, sni: null, responses: 0, respFrames: [], resets: 0, resetFrames: [], failed: 0,
    refused: 0, icmp: 0, unanswered: 0, unansweredSyns: 0, pending: 0, failFrames: [], failCount: 0, app: [], clients: new Map(),
    first: { frame: -1, sec: 0, nsec: 0 }, last: { frame: -1, sec: 0, nsec: 0 }, maybe: [],
  };
}

function pushBounded(arr: number[], f: number, max = MAX_EVIDENCE): void {
  if (f > 0 && arr.length < max && !arr.includes(f)) arr.push(f);
}

function addClient(map: Map<string, ClientRef>, ip: string, count: number, frame: number): void {
  const c = map.get(ip);
  if (c !== undefined) { c.count += count; if (frame > 0 && frame < c.firstFrame) c.firstFrame = frame; }
  else if (map.size < MAX_CLIENTS) map.set(ip, { ip, count, firstFrame: frame });
}

function mostCommon(m: Map<string, number>): string {
  let best = '', n = -1;
  for (const [k, v] of m) if (v > n) { best = k; n = v; }
  return best;
}

function fmtMs(ms: number): string {
  if (ms < 0) return '?';
  if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
  if (ms >= 10) return ms.toFixed(0) + ' ms';
  if (ms >= 1) return ms.toFixed(1) + ' ms';
  return String(Number(ms.toFixed(3))) + ' ms';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listText(xs: readonly (string | number)[]): string {
  if (xs.length <= 1) return xs.join('');
  return xs.slice(0, -1).join(', ') + ' and ' + xs[xs.length - 1];
}

function shortIssuer(t: TlsSeen | null): string | null {
  if (t === null) return null;
  return t.issuerCN ?? t.issuer;
}

// ---------------------------------------------------------------------------------------

export function createGotomeetingCheck(ctx: CheckContext, over: Partial<GotomeetingOptions> = {}): Check {
  return new GotomeetingCheck(ctx, gotomeetingOptions(ctx, over));
}

export class GotomeetingCheck implements Check {
  readonly name = CHECK;
  private readonly ranges: CidrSet;
  private readonly rangePre: { v4: Uint8Array; v6: boolean };
  private readonly isGtmName: (name: string) => boolean;
  private readonly portCls = new Uint8Array(65536);
  private readonly portOrder: number[];
  /** addresses a DNS answer (or SNI/Host) named as GoToMeeting servers: address -> name */
  private readonly learned = new Map<string, { name: string; how: 'dns' | 'sni' | 'host' }>();
  /** flows sampled per other destination */
  private readonly sampled = new Map<string, number>();
  private sampledLive = 0;
  private readonly targets = new Map<string, Target>();
  private readonly others = new Map<string, Target>();
  /** addresses clients used as explicit proxies (never "intercepting") */
  private readonly explicitProxies = new Set<string>();
  private readonly certs = new CertCache();
  private targetsDropped = 0;
  private proxyEmitted = 0;
  private othersDropped = 0;
  private endMs = -Infinity;
  private gtmNamesSeen = new Set<string>();

  constructor(private readonly ctx: CheckContext, private readonly opts: GotomeetingOptions) {
    this.ranges = new CidrSet(opts.ranges);
    this.rangePre = firstOctetFilter(opts.ranges);
    this.isGtmName = nameMatcher(opts.names);
    this.portOrder = opts.ports.filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
    for (const p of this.portOrder) this.portCls[p] |= PORT_GTM | PORT_SAMPLE;
    for (const p of opts.proxyPorts) if (Number.isInteger(p) && p > 0 && p < 65536) this.portCls[p] |= PORT_SAMPLE;
  }

  // --- flow events ---------------------------------------------------------------------

  onFlowStart(flow: FlowRecord, pkt: Packet): number {
    if (pkt.proto !== 6) return 0;
    const cls = this.portCls[flow.id.resp_p];
    if (cls === 0) return 0;
    const ip = flow.id.resp_h;
    if ((cls & PORT_GTM) !== 0 && (this.learned.has(ip) || (mayMatch(this.rangePre, ip) && this.ranges.match(ip) !== null))) {
      (flow.ext ??= {})[CHECK] = newSegMap();
      return WANT_PACKETS | WANT_STREAMS;
    }
    if (this.sampledLive >= this.opts.maxSampledLive) return 0;
    let n = this.sampled.get(ip);
    if (n === undefined) {
      if (this.sampled.size >= this.opts.maxSampledDests) this.sampled.clear();
      n = 0;
    }
    if (n >= this.opts.sampleFlowsPerDest) return 0;
    this.sampled.set(ip, n + 1);
    this.sampledLive++;
    (flow.ext ??= {})[CHECK] = SAMPLED;
    return WANT_STREAMS;
  }

  onPacket(flow: FlowRecord, pkt: Packet, dir: 0 | 1): void {
    const m = flow.ext?.[CHECK] as SegMap | undefined;
    if (m === undefined || (m as unknown) === SAMPLED) return;
    segMapPacket(m, dir, pkt.tcpFlags, pkt.seq, pkt.payloadLen, pkt.frameNo);
  }

  onDnsResponse(ev: DnsResponseEvent): void {
    const answers = ev.answers;
    if (answers.length === 0) return;
    // names in this response that lead to a GoToMeeting name (question, CNAME targets); each
    // distinct name is tested once (most answers are owned by the question name), and no
    // allocation happens unless something matches
    const q = ev.question !== null ? ev.question.name : '';
    const qHit = q !== '' && this.isGtmName(q);
    let matched: string[] | null = qHit ? [q] : null;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < answers.length; i++) {
        const a = answers[i];
        if (a.type !== 'CNAME' || !this.nameHit(a.name, q, qHit, matched)) continue;
        matched ??= [];
        if (!matched.includes(a.name)) matched.push(a.name);
        if (!matched.includes(a.data)) matched.push(a.data);
      }
      if (matched === null) break;
    }
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      if ((a.type !== 'A' && a.type !== 'AAAA') || !this.nameHit(a.name, q, qHit, matched)) continue;
      const name = matched !== null ? matched[0] : a.name;
      if (this.gtmNamesSeen.size < MAX_NAMES * 16) this.gtmNamesSeen.add(name);
      if (!this.learned.has(a.data) && this.learned.size < this.opts.maxLearned) this.learned.set(a.data, { name, how: 'dns' });
    }
  }

  private nameHit(n: string, q: string, qHit: boolean, matched: string[] | null): boolean {
    if (n === q) return qHit;
    return (matched !== null && matched.includes(n)) || this.isGtmName(n);
  }

  onFlowEnd(flow: FlowRecord): void {
    if (flow.lastMs > this.endMs) this.endMs = flow.lastMs;
    if (flow.id.proto !== 'tcp') return;
    const st = flow.ext?.[CHECK];
    if (st === undefined) {
      // a flow that was not sampled, to a destination already found behind a proxy: count it
      // (handshake facts only; its first bytes were not collected)
      if (this.others.size === 0 || (this.portCls[flow.id.resp_p] & PORT_SAMPLE) === 0) return;
      const t = this.others.get(flow.id.resp_h);
      if (t === undefined || !this.ctx.clientAllowed(flow.id.orig_h)) return;
      this.addConn(t, observeFlow(flow, null, this.certs, this.opts.resetWindowMs));
      return;
    }
    if (st === SAMPLED) this.sampledLive--;
    if (!this.ctx.clientAllowed(flow.id.orig_h)) return;
    const segs = st === SAMPLED ? null : (st as SegMap);
    const o = observeFlow(flow, segs, this.certs, this.opts.resetWindowMs);
    const ip = o.server;
    // an explicit proxy: the client named the real destination in CONNECT / absolute form
    if (o.explicit !== null) {
      this.onExplicit(o);
      return;
    }
    if (this.explicitProxies.has(ip)) return;
    let gtm = segs !== null;
    let how: 'sni' | 'host' | null = null;
    if (o.sni !== null && this.isGtmName(o.sni)) { gtm = true; how = 'sni'; }
    else if (o.httpHost !== null && this.isGtmName(o.httpHost)) { gtm = true; how = 'host'; }
    if (gtm && (this.portCls[o.port] & PORT_GTM) !== 0) {
      if (how !== null && !this.learned.has(ip) && this.learned.size < this.opts.maxLearned) {
        this.learned.set(ip, { name: how === 'sni' ? o.sni! : o.httpHost!, how });
      }
      const t = this.target(this.targets, ip, o, true);
      if (t === null) return;
      if (how !== null && !t.how.includes(how)) t.how.push(how);
      this.addConn(t, o);
      this.maybeEmitEarly(t);
      return;
    }
    // other destinations: keep only those that show a proxy signal (or already do)
    let t = this.others.get(ip) ?? null;
    if (t === null) {
      if (!this.hasCandidateSignal(o)) return;
      t = this.target(this.others, ip, o, false);
      if (t === null) return;
    }
    this.addConn(t, o);
    this.maybeEmitEarly(t);
  }

  // --- aggregation -----------------------------------------------------------------------

  private target(map: Map<string, Target>, ip: string, o: ConnObs, gtm: boolean): Target | null {
    let t = map.get(ip);
    if (t !== undefined) return t;
    if (map.size >= (gtm ? this.opts.maxTargets : this.opts.maxOtherTargets)) {
      if (gtm) this.targetsDropped++; else this.othersDropped++;
      return null;
    }
    const r = this.ranges.match(ip);
    const how: string[] = [];
    if (gtm) {
      if (r !== null) how.push('range');
      if (this.learned.get(ip)?.how === 'dns') how.push('dns');
    }
    t = {
      key: ip, ip, v6: o.v6, gtm, range: r !== null ? r.text : null, how, names: [],
      ports: new Map(), explicit: new Map(), firstFrame: o.firstFrame, emitted: false, sticky: [],
    };
    map.set(ip, t);
    return t;
  }

  private addName(t: Target, n: string | null): void {
    if (n === null || n === '' || t.names.length >= MAX_NAMES || t.names.includes(n)) return;
    if (parseIp(n) !== null) return;
    t.names.push(n);
  }

  private addConn(t: Target, o: ConnObs): void {
    let p = t.ports.get(o.port);
    if (p === undefined) {
      if (t.ports.size >= MAX_PORTS) return;
      p = newPort(o.port);
      t.ports.set(o.port, p);
    }
    if (o.firstFrame > 0 && (t.firstFrame <= 0 || o.firstFrame < t.firstFrame)) t.firstFrame = o.firstFrame;
    p.conns++;
    if (p.conns === 1) p.history = o.history;
    p.states.set(o.state, (p.states.get(o.state) ?? 0) + 1);
    if (p.first.frame < 0 || (o.firstFrame > 0 && o.firstFrame < p.first.frame)) p.first = { frame: o.firstFrame, sec: o.tsSec, nsec: o.tsNsec };
    if (o.lastFrame > p.last.frame) p.last = { frame: o.lastFrame, sec: o.lastTsSec, nsec: o.lastTsNsec };
    addClient(p.clients, o.client, 1, o.firstFrame);
    if (o.sni !== null && p.sni === null) p.sni = o.sni;
    this.addName(t, o.sni);
    this.addName(t, o.httpHost);
    if (o.synAckFrame > 0) {
      p.answered++;
      pushBounded(p.synAckFrames, o.synAckFrame);
      if (p.synAckFrame < 0) { p.synAckFrame = o.synAckFrame; p.synAckTtl = o.synAckTtl; p.hops = o.hops; }
      if (o.rttMs >= 0 && (p.rttMin < 0 || o.rttMs < p.rttMin)) p.rttMin = o.rttMs;
    }
    if (o.tls !== null || o.http !== null) {
      p.responses++;
      pushBounded(p.respFrames, o.tls !== null ? o.tls.frame : o.http!.frame);
    }
    if (o.tls !== null && (p.tls === null || (p.tls.issuer === null && o.tls.issuer !== null))) p.tls = o.tls;
    if (o.http !== null && p.http === null) p.http = o.http;
    if (o.resetAfterData !== null) { p.resets++; pushBounded(p.resetFrames, o.resetAfterData.frame); }
    // failures (no genuine answer)
    const rej = o.synAckFrame < 0 && (o.rstDir === 1 || o.icmpFrames.length > 0);
    if (rej) {
      p.failed++; p.refused++;
      if (o.icmpFrames.length > 0) p.icmp++;
      p.failCount += o.synCount + (o.rstDir === 1 ? 1 : 0) + o.icmpFrames.length;
      for (const f of o.synFrames) pushBounded(p.failFrames, f);
      if (o.rstDir === 1) pushBounded(p.failFrames, o.rstFrame);
      for (const f of o.icmpFrames) pushBounded(p.failFrames, f);
    } else if (o.synAckFrame < 0 && o.synCount > 0 && o.rstDir !== 1) {
      if (o.synCount >= 2) this.unanswered(p, o);
      else p.maybe.length < MAX_CLIENTS ? p.maybe.push(o) : this.unanswered(p, o);
    }
    for (const s of this.flowSignals(t, o)) {
      if (!p.app.some((x) => x.s.kind === s.s.kind)) p.app.push(s);
    }
  }

  private unanswered(p: PortAgg, o: ConnObs): void {
    p.failed++; p.unanswered++;
    p.unansweredSyns += o.synCount;
    p.failCount += o.synCount;
    for (const f of o.synFrames) pushBounded(p.failFrames, f);
  }

  private onExplicit(o: ConnObs): void {
    const ex = o.explicit!;
    if (this.explicitProxies.size < MAX_EXPLICIT_PROXIES) this.explicitProxies.add(o.server);
    // is the tunnel's destination a GoToMeeting server?
    const host = ex.host;
    const hostIp = parseIp(host) !== null ? host : null;
    let ip = hostIp;
    let gtm = hostIp !== null ? (this.ranges.has(hostIp) || this.learned.has(hostIp)) : this.isGtmName(host);
    if (!gtm && o.sni !== null && this.isGtmName(o.sni)) gtm = true;
    if (!gtm) return;
    if (ip === null) {
      const addrs = this.ctx.names.addressesOf(host);
      ip = addrs.length > 0 ? addrs[0].address : null;
    }
    const key = ip ?? 'name:' + host;
    let t = this.targets.get(key);
    if (t === undefined) {
      if (this.targets.size >= this.opts.maxTargets) { this.targetsDropped++; return; }
      const r = ip !== null ? this.ranges.match(ip) : null;
      t = {
        key, ip, v6: ip !== null && ip.includes(':'), gtm: true, range: r !== null ? r.text : null, how: r !== null ? ['range', 'connect'] : ['connect'],
        names: [], ports: new Map(), explicit: new Map(), firstFrame: o.firstFrame, emitted: false, sticky: [],
      };
      this.targets.set(key, t);
    } else if (!t.how.includes('connect')) t.how.push('connect');
    if (hostIp === null) this.addName(t, host);
    this.addName(t, o.sni);
    let e = t.explicit.get(ex.port);
    if (e === undefined) {
      if (t.explicit.size >= MAX_PORTS) return;
      e = { conns: 0, proxies: [], status: -1, tls: null, states: new Map() };
      t.explicit.set(ex.port, e);
    }
    e.conns++;
    e.states.set(o.state, (e.states.get(o.state) ?? 0) + 1);
    const proxy = `${o.server}:${o.port}`;
    if (!e.proxies.includes(proxy) && e.proxies.length < 4) e.proxies.push(proxy);
    if (e.status < 0 && o.http !== null) e.status = o.http.status;
    if (e.tls === null && o.tls !== null) e.tls = o.tls;
    if (o.firstFrame > 0 && (t.firstFrame <= 0 || o.firstFrame < t.firstFrame)) t.firstFrame = o.firstFrame;
  }

  /** Does this connection show anything a proxy would (worth keeping a non-GoTo destination)? */
  private hasCandidateSignal(o: ConnObs): boolean {
    const h = o.http;
    if (h !== null) {
      if (classifyVia(h.via) !== null) return true;
      if (h.status === 407) return true;
      if (isRedirect(h.status) && h.locationHost !== null) return true;
    }
    return o.tls !== null && isProxyIssuer(o.tls.issuer);
  }

  /** Signals one connection shows by itself (no comparison with other ports). */
  private flowSignals(t: Target, o: ConnObs): Sig[] {
    const out: Sig[] = [];
    const port = o.port;
    const near = o.hops >= 0 && o.hops <= 1;
    const h = o.http;
    if (h !== null) {
      if (isRedirect(h.status) && h.locationHost !== null) {
        const own = o.httpHost !== null ? hostOnly(o.httpHost) : null;
        const other = h.locationHost !== own && h.locationHost !== o.server && !(t.gtm && this.isGtmName(h.locationHost));
        if (other) {
          out.push({ s: { kind: 'http-redirect', port, frame: h.frame, value: `${h.status} to ${h.locationHost}` + (h.location !== null ? ` (${h.location.slice(0, 120)})` : '') }, strong: t.gtm });
        }
      }
      if (h.status === 407 || h.status === 401) {
        const chal = h.status === 407 ? h.proxyAuthenticate : h.wwwAuthenticate;
        const schemes = authSchemes(chal);
        const strong = h.status === 407
          ? (t.gtm || chal.length > 0)
          : t.gtm && (t.range !== null || schemes.some((s) => /^(ntlm|negotiate)$/i.test(s)));
        if (strong || t.gtm) {
          out.push({ s: { kind: 'http-auth', port, frame: h.frame, value: `${h.status}` + (schemes.length > 0 ? ` ${h.status === 407 ? 'Proxy' : 'WWW'}-Authenticate: ${schemes.join(', ')}` : '') }, strong });
        }
      }
      const vc = classifyVia(h.via);
      if (vc !== null) {
        out.push({ s: { kind: 'via-proxy', port, frame: h.frame, value: h.via!.slice(0, 160) }, strong: vc === 'forward' || near });
      }
    }
    if (o.tls !== null && isProxyIssuer(o.tls.issuer)) {
      out.push({ s: { kind: 'cert-issuer-proxy', port, frame: o.tls.frame, value: o.tls.issuer! }, strong: true });
    }
    if (o.resetAfterData !== null) {
      const r = o.resetAfterData;
      out.push({ s: { kind: 'reset-after-data', port, frame: r.frame, value: `${r.kind} ${fmtMs(r.ms)} after the client's first bytes, before any answer` }, strong: false });
    }
    return out;
  }

  // --- verdicts --------------------------------------------------------------------------

  /** Judge single unanswered SYNs against the capture's end (called once, in finish). */
  private settleMaybe(t: Target): void {
    for (const p of t.ports.values()) {
      for (const o of p.maybe) {
        if (this.endMs - o.firstMs >= this.opts.pendingMs) this.unanswered(p, o); else p.pending++;
      }
      p.maybe = [];
    }
  }

  private evaluate(t: Target, commonRedirect: Set<string> | null): TargetEval {
    const ports = [...t.ports.values()].sort((a, b) => this.portRank(a.port) - this.portRank(b.port));
    const evals: PortEval[] = ports.map((agg) => {
      const signals = agg.app.map((x) => ({ ...x }));
      if (commonRedirect !== null) {
        for (const x of signals) {
          if (x.s.kind === 'http-redirect' && agg.http?.locationHost != null && commonRedirect.has(agg.http.locationHost)) x.strong = true;
        }
      }
      return { agg, signals, intercepted: false, through: false };
    });
    // the reference: answered, no sufficient signal of its own, farthest then slowest
    let ref: PortEval | null = null;
    for (const e of evals) {
      if (e.agg.answered === 0 || e.agg.hops < 0) continue;
      if (e.signals.some((x) => x.strong)) continue;
      if (ref === null || e.agg.hops > ref.agg.hops || (e.agg.hops === ref.agg.hops && e.agg.rttMin > ref.agg.rttMin)) ref = e;
    }
    for (const e of evals) {
      const a = e.agg;
      if (ref !== null && e !== ref && a.answered > 0) {
        const r = ref.agg;
        if (a.tls?.issuer != null && r.tls?.issuer != null && a.tls.issuer !== r.tls.issuer) {
          e.signals.push({ s: { kind: 'cert-issuer-differs', port: a.port, frame: a.tls.frame, value: `${shortIssuer(a.tls)} vs ${shortIssuer(r.tls)} on port ${r.port}` }, strong: true });
        }
        if (a.hops >= 0 && r.hops > a.hops) {
          e.signals.push({ s: { kind: 'ttl-differs', port: a.port, frame: a.synAckFrame, value: `TTL ${a.synAckTtl} (${plural(a.hops, 'hop')}) vs ${r.synAckTtl} (${plural(r.hops, 'hop')}) on port ${r.port}` }, strong: r.hops - a.hops >= this.opts.ttlHops });
        }
        if (a.rttMin >= 0 && r.rttMin > 0) {
          const ratio = a.rttMin > 0 ? r.rttMin / a.rttMin : Infinity;
          const diff = r.rttMin - a.rttMin;
          const strongRtt = ratio >= this.opts.rttFactor && diff >= this.opts.rttMinDiffMs;
          const weakRtt = ratio >= this.opts.weakRttFactor && diff >= this.opts.weakRttDiffMs;
          if (strongRtt || weakRtt) {
            e.signals.push({ s: { kind: 'rtt-differs', port: a.port, frame: a.synAckFrame, value: `handshake ${fmtMs(a.rttMin)} vs ${fmtMs(r.rttMin)} on port ${r.port}` }, strong: strongRtt && this.opts.timing === 'capture' });
          }
        }
      }
      const supportingKinds = new Set(e.signals.filter((x) => !x.strong).map((x) => x.s.kind)).size;
      e.intercepted = e.signals.some((x) => x.strong) || supportingKinds >= 2 || t.sticky.includes(a.port);
      e.through = a.answered > 0 && !e.intercepted && a.answered > a.resets;
      e.signals.sort((x, y) => x.s.frame - y.s.frame);
    }
    let verdict: GtmVerdict | null = null;
    if (evals.some((e) => e.intercepted)) verdict = 'intercepted';
    else if (evals.some((e) => e.through)) verdict = 'direct';
    else if (t.explicit.size > 0) verdict = 'explicit-proxy';
    else if (evals.some((e) => e.agg.failed > 0 || (e.agg.answered > 0 && e.agg.resets >= e.agg.answered))) verdict = 'blocked';
    return { t, verdict, ports: evals, ref };
  }

  private portRank(p: number): number {
    const i = this.portOrder.indexOf(p);
    return i >= 0 ? i : 100 + p;
  }

  private maybeEmitEarly(t: Target): void {
    if (t.emitted || this.ctx.emitEarly === undefined) return;
    if (!t.gtm && this.proxyEmitted >= this.opts.maxProxyFindings) return;
    const ev = this.evaluate(t, null);
    if (ev.verdict !== 'intercepted') return;
    const f = t.gtm ? this.interceptedFinding(ev) : this.proxyFinding(ev);
    if (f === null) return;
    t.emitted = true;
    t.sticky = ev.ports.filter((p) => p.intercepted).map((p) => p.agg.port);
    if (!t.gtm) this.proxyEmitted++;
    this.ctx.emitEarly(f);
  }

  // --- results -----------------------------------------------------------------------------

  finish(): { result: CheckResult; findings: Finding[] } {
    const gtmEvals: TargetEval[] = [];
    for (const t of this.targets.values()) {
      this.settleMaybe(t);
      const ev = this.evaluate(t, null);
      if (ev.verdict !== null) gtmEvals.push(ev);
    }
    gtmEvals.sort((a, b) => a.t.firstFrame - b.t.firstFrame || (a.t.key < b.t.key ? -1 : 1));

    // a redirect host that near answers from several destinations share is the proxy's own
    const redirectDests = new Map<string, Set<string>>();
    for (const t of this.others.values()) {
      for (const p of t.ports.values()) {
        const h = p.http?.locationHost;
        if (h != null && p.hops >= 0 && p.hops <= 1 && p.app.some((x) => x.s.kind === 'http-redirect')) {
          let s = redirectDests.get(h);
          if (s === undefined) { s = new Set(); redirectDests.set(h, s); }
          s.add(t.key);
        }
      }
    }
    const common = new Set([...redirectDests].filter(([, s]) => s.size >= 2).map(([h]) => h));
    const otherEvals: TargetEval[] = [];
    for (const t of this.others.values()) {
      this.settleMaybe(t);
      const ev = this.evaluate(t, common);
      if (ev.verdict === 'intercepted') otherEvals.push(ev);
    }
    otherEvals.sort((a, b) => a.t.firstFrame - b.t.firstFrame || (a.t.key < b.t.key ? -1 : 1));
    // the listed proxy-intercepted findings: those emitted early (live) first, then by first frame
    const shown = otherEvals.filter((e) => e.t.emitted);
    for (const e of otherEvals) if (!e.t.emitted && shown.length < this.opts.maxProxyFindings) shown.push(e);
    shown.sort((a, b) => a.t.firstFrame - b.t.firstFrame || (a.t.key < b.t.key ? -1 : 1));

    const findings: Finding[] = [];
    for (const ev of gtmEvals) {
      const f = ev.verdict === 'intercepted' ? this.interceptedFinding(ev) : ev.verdict === 'blocked' ? this.blockedFinding(ev) : null;
      if (f !== null) findings.push(f);
    }
    for (const ev of shown) {
      const f = this.proxyFinding(ev);
      if (f !== null) findings.push(f);
    }

    const failing = gtmEvals.filter((e) => e.verdict === 'intercepted' || e.verdict === 'blocked');
    const status: CheckStatus = gtmEvals.length === 0 ? 'not-observed' : failing.length > 0 ? 'fail' : 'pass';
    const result: CheckResult = {
      check: CHECK,
      status,
      summary: this.summary(gtmEvals, otherEvals.length),
      targets: gtmEvals.map((e) => this.targetJson(e)),
      proxyIntercepted: otherEvals.length,
    };
    if (this.targetsDropped > 0) result.targetsDropped = this.targetsDropped;
    if (this.othersDropped > 0) result.otherDestinationsDropped = this.othersDropped;
    return { result, findings };
  }

  private summary(evals: TargetEval[], proxied: number): string {
    const proxyNote = proxied > 0
      ? ` A transparent web proxy intercepts traffic to ${plural(proxied, 'other destination')} (see proxy-intercepted).`
      : '';
    if (evals.length === 0) {
      const names = [...this.gtmNamesSeen].sort();
      const seen = names.length > 0 ? ` (DNS answers for ${listText(names.slice(0, 3))}${names.length > 3 ? ' and more' : ''} were seen, but no connection to those servers)` : '';
      return `No GoToMeeting connections (TCP ${this.portOrder.join('/')} to the GoTo ranges or names) in the capture${seen}.${proxyNote}`;
    }
    const parts: string[] = [];
    const byVerdict = (v: GtmVerdict) => evals.filter((e) => e.verdict === v);
    const ic = byVerdict('intercepted');
    const bl = byVerdict('blocked');
    const di = byVerdict('direct');
    const ex = byVerdict('explicit-proxy');
    for (const e of ic.slice(0, 3)) {
      parts.push(`${this.label(e.t)} is intercepted by a transparent proxy on TCP ${listText(e.ports.filter((p) => p.intercepted).map((p) => p.agg.port))}`);
    }
    if (ic.length > 3) parts.push(`${ic.length - 3} more servers are intercepted`);
    for (const e of bl.slice(0, 3)) parts.push(`${this.label(e.t)} cannot be reached on TCP ${listText(e.ports.map((p) => p.agg.port))}`);
    if (bl.length > 3) parts.push(`${bl.length - 3} more servers cannot be reached`);
    if (di.length > 0) parts.push(`${plural(di.length, 'server')} reached directly`);
    if (ex.length > 0) parts.push(`${plural(ex.length, 'server')} reached through an explicit proxy`);
    const head = ic.length + bl.length > 0 ? `GoToMeeting fails: ` : `GoToMeeting works: `;
    return head + parts.join('; ') + '.' + proxyNote;
  }

  private label(t: Target): string {
    const who = t.ip ?? t.names[0] ?? t.key;
    return `GoToMeeting server ${who}${t.names.length > 0 && t.ip !== null ? ` (${t.names[0]})` : ''}`;
  }

  private namesOf(t: Target): string[] {
    const out: string[] = [];
    if (t.ip !== null) {
      for (const nf of this.ctx.names.namesFor(t.ip)) {
        if (!out.includes(nf.name) && out.length < MAX_NAMES) out.push(nf.name);
      }
      const l = this.learned.get(t.ip)?.name;
      if (l !== undefined && !out.includes(l)) out.push(l);
    }
    for (const n of t.names) if (!out.includes(n) && out.length < MAX_NAMES) out.push(n);
    return out.sort();
  }

  private targetJson(e: TargetEval): Record<string, unknown> {
    const t = e.t;
    const ports: Record<string, unknown> = {};
    for (const p of e.ports) {
      const a = p.agg;
      ports[String(a.port)] = {
        connections: a.conns,
        state: mostCommon(a.states),
        states: Object.fromEntries([...a.states].sort()),
        history: a.history,
        answered: a.answered,
        synAckTtl: a.synAckTtl >= 0 ? a.synAckTtl : null,
        hops: a.hops >= 0 ? a.hops : null,
        rttMs: a.rttMin >= 0 ? round3(a.rttMin) : null,
        tlsVersion: a.tls !== null && a.tls.version >= 0 ? tlsVersionName(a.tls.version) : null,
        tlsIssuer: a.tls?.issuer ?? null,
        tlsSubject: a.tls?.subject ?? null,
        tlsSan: a.tls !== null && a.tls.san.length > 0 ? a.tls.san : null,
        tlsEncrypted: a.tls !== null ? a.tls.encrypted : null,
        sni: a.sni,
        httpStatus: a.http?.status ?? null,
        httpLocation: a.http?.location ?? null,
        via: a.http?.via ?? null,
        server: a.http?.server ?? null,
        wwwAuthenticate: a.http !== null && a.http.wwwAuthenticate.length > 0 ? a.http.wwwAuthenticate : null,
        proxyAuthenticate: a.http !== null && a.http.proxyAuthenticate.length > 0 ? a.http.proxyAuthenticate : null,
        resetAfterData: a.resets,
        intercepted: p.intercepted,
        reference: e.ref === p,
        signals: p.signals.map((x) => x.s),
      };
    }
    for (const [port, x] of [...t.explicit].sort((a, b) => this.portRank(a[0]) - this.portRank(b[0]))) {
      const key = String(port);
      const entry = {
        connections: x.conns, state: mostCommon(x.states), explicitProxy: x.proxies,
        httpStatus: x.status >= 0 ? x.status : null,
        tlsVersion: x.tls !== null && x.tls.version >= 0 ? tlsVersionName(x.tls.version) : null,
        tlsIssuer: x.tls?.issuer ?? null, signals: [],
      };
      if (ports[key] === undefined) ports[key] = entry; else (ports[key] as Record<string, unknown>).explicit = entry;
    }
    return {
      ip: t.ip, names: this.namesOf(t), verdict: e.verdict, range: t.range, identifiedBy: t.how,
      ports, firstFrame: t.firstFrame,
    };
  }

  // --- findings ------------------------------------------------------------------------------

  private clientsOf(ps: PortAgg[]): ClientRef[] {
    const m = new Map<string, ClientRef>();
    for (const p of ps) for (const c of p.clients.values()) addClient(m, c.ip, c.count, c.firstFrame);
    return [...m.values()].filter((c) => this.ctx.clientAllowed(c.ip))
      .sort((a, b) => a.firstFrame - b.firstFrame || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  }

  private span(ps: PortAgg[]): { firstFrame: number; lastFrame: number; firstSeen: string; lastSeen: string } {
    let first = ps[0].first, last = ps[0].last;
    for (const p of ps) {
      if (p.first.frame > 0 && (first.frame <= 0 || p.first.frame < first.frame)) first = p.first;
      if (p.last.frame > last.frame) last = p.last;
    }
    return {
      firstFrame: first.frame, lastFrame: last.frame,
      firstSeen: this.ctx.isoTime(first.sec, first.nsec), lastSeen: this.ctx.isoTime(last.sec, last.nsec),
    };
  }

  private ipField(t: Target, dirField: 'src' | 'addr'): string {
    return `${t.v6 ? 'ipv6' : 'ip'}.${dirField} == ${t.ip}`;
  }

  /** The intercepted ports of a target with their aggregates and allowed clients; null when nothing to report. */
  private interceptedPorts(ev: TargetEval) {
    const t = ev.t;
    if (t.ip === null) return null;
    const hit = ev.ports.filter((p) => p.intercepted);
    if (hit.length === 0) return null;
    const aggs = hit.map((p) => p.agg);
    const clients = this.clientsOf(aggs);
    if (clients.length === 0) return null;
    return { t: t as typeof t & { ip: string }, hit, aggs, clients };
  }

  private interceptedFinding(ev: TargetEval): Finding | null {
    const sel = this.interceptedPorts(ev);
    if (sel === null) return null;
    const { t, hit, aggs, clients } = sel;
    const frames = new Set<number>();
    let count = 0;
    for (const p of hit) {
      const a = p.agg;
      for (const f of a.synAckFrames) frames.add(f);
      for (const f of a.respFrames) frames.add(f);
      for (const x of p.signals) if (x.s.frame > 0) frames.add(x.s.frame);
      for (const f of a.resetFrames) frames.add(f);
      count += a.answered + a.responses + a.resets;
    }
    // the reference port's answer is evidence too: its SYN-ACK (hops, RTT) and, when the
    // issuers differ, its certificate
    const ref = ev.ref;
    if (ref !== null && ref.agg.synAckFrame > 0) { frames.add(ref.agg.synAckFrame); count++; }
    const refCert = ref !== null && ref.agg.tls !== null && ref.agg.tls.frame > 0 &&
      hit.some((p) => p.signals.some((x) => x.s.kind === 'cert-issuer-differs')) ? ref.agg.tls.frame : -1;
    if (refCert > 0) { frames.add(refCert); count++; }
    const sorted = [...frames].filter((f) => f > 0).sort((a, b) => a - b);
    const portsHit = aggs.map((a) => a.port);
    const signals = hit.flatMap((p) => p.signals.map((x) => x.s));
    const names = this.namesOf(t);
    const ipf = this.ipField(t, 'src');
    const refPart = ref !== null
      ? `(tcp.srcport == ${ref.agg.port} && (tcp.flags.syn == 1${refCert > 0 ? ' || tls.handshake.type == 11' : ''})) || ` : '';
    const filter = `${ipf} && (${refPart}(${portTest('tcp.srcport', portsHit)} && (tcp.flags.syn == 1 || tcp.len > 0 || tcp.flags.reset == 1 || tcp.flags.fin == 1)))`;
    // Wireshark dissects TLS on 443 only: the reference certificate on 8200 needs Decode As
    const tlsPort = refCert > 0 && ref!.agg.port !== 443 ? ref!.agg.port : undefined;

    const near = aggs.filter((a) => a.answered > 0);
    const nearText = near.length > 0
      ? ` (answered from ${plural(near[0].hops, 'hop')}${near[0].rttMin >= 0 ? ` in ${fmtMs(near[0].rttMin)}` : ''})`
      : '';
    const refText = ref !== null
      ? `, while TCP ${ref.agg.port} reached the server ${plural(ref.agg.hops, 'hop')}${ref.agg.rttMin >= 0 ? ` and ${fmtMs(ref.agg.rttMin)}` : ''} away`
      : '';
    const what = this.signalWords(signals);
    const who = `GoToMeeting server ${t.ip}${names.length > 0 ? ` (${names[0]})` : ''}`;
    const message = `${who}: TCP ${listText(portsHit)} ${portsHit.length === 1 ? 'was' : 'were'} answered by a transparent proxy${nearText}${refText}: ${what}.`;
    const explanation =
      'GoToMeeting opens TLS-protected connections to its Endpoint Gateway on TCP 8200, 443 and 80 at once and uses the first that answers. ' +
      'A transparent proxy (e.g. a Cisco WSA in transparent mode) intercepts 443/80 and answers in the server\'s name, from closer and faster than the real server, ' +
      'so the client takes the proxy\'s connection. The proxy then tries to authenticate the user (redirect to its own host, 401/407) or presents a certificate of its own CA; ' +
      'the GoToMeeting client cannot authenticate to a transparent proxy, so the meeting does not connect (Cisco doc 117808). ' +
      'HTTPS pass-through in the decryption policy alone does not help: authentication happens first.';
    const remedy = this.gtmRemedy(t);
    const target: FindingTarget = {
      ip: t.ip, ports: portsHit, transport: 'tcp', names, verdict: 'intercepted', range: t.range,
      signals,
    };
    const f: Finding = {
      id: 'gtm-intercepted', check: CHECK, severity: 'error', target,
      clients: clients.slice(0, MAX_CLIENTS_SHOWN),
      count, attempts: aggs.reduce((n, a) => n + a.conns, 0),
      frames: sorted.slice(0, MAX_FRAMES),
      ...this.span(aggs),
      message, explanation, remedy, wiresharkFilter: filter, signals,
    };
    if (tlsPort !== undefined) f.decodeAs = `tcp.port==${tlsPort},tls`;
    return f;
  }

  private signalWords(signals: Signal[]): string {
    const seen = new Set<string>();
    const words: string[] = [];
    for (const s of signals) {
      if (seen.has(s.kind)) continue;
      seen.add(s.kind);
      switch (s.kind) {
        case 'http-redirect': words.push(`HTTP ${s.value.split(' (')[0]}`); break;
        case 'http-auth': words.push(`HTTP ${s.value}`); break;
        case 'via-proxy': words.push(`Via ${viaProduct(s.value)}`); break;
        case 'cert-issuer-proxy': words.push(`certificate issued by "${s.value}"`); break;
        case 'cert-issuer-differs': words.push(`certificate issuer ${s.value}`); break;
        case 'ttl-differs': words.push(s.value); break;
        case 'rtt-differs': words.push(s.value); break;
        case 'reset-after-data': words.push(s.value); break;
        default: words.push(`${s.kind} ${s.value}`);
      }
    }
    return words.join('; ');
  }

  private gtmRemedy(t: Target): string {
    const ranges = this.opts.ranges.slice(0, 11).join(', ');
    return 'Exempt the GoToMeeting servers from authentication on the proxy, as Cisco doc 117808 recommends: on the WSA, add a custom URL category ' +
      `(Web Security Manager > Custom URL Categories) whose sites are the GoToMeeting address ranges${t.range !== null ? ` (this server is in ${t.range})` : ''} ` +
      `(the ranges of the doc: ${ranges}; check the current list with GoTo), and use an identification profile for that category, or one by client subnet, ` +
      'that does not require authentication. Alternatively configure the clients to use the proxy explicitly: through an explicit proxy GoToMeeting tunnels with HTTP CONNECT and works. ' +
      'Allowing outbound TCP 8200 to the GoToMeeting ranges gives the client a path that no web proxy intercepts.';
  }

  private blockedFinding(ev: TargetEval): Finding | null {
    const t = ev.t;
    if (t.ip === null) return null;
    const aggs = ev.ports.map((p) => p.agg);
    const clients = this.clientsOf(aggs);
    if (clients.length === 0) return null;
    const frames = new Set<number>();
    let count = 0, attempts = 0;
    const parts: string[] = [];
    for (const a of aggs) {
      for (const f of a.failFrames) frames.add(f);
      for (const f of a.resetFrames) frames.add(f);
      count += a.failCount + a.resets;
      attempts += a.conns;
      const bits: string[] = [];
      if (a.unanswered > 0) bits.push(`${plural(a.unanswered, 'attempt')} unanswered (${plural(a.unansweredSyns, 'SYN')}, no SYN-ACK)`);
      if (a.refused > 0) bits.push(`${plural(a.refused, 'attempt')} refused`);
      if (a.resets > 0) bits.push(`${plural(a.resets, 'connection')} reset right after the client's first bytes`);
      if (a.pending > 0) bits.push(`${plural(a.pending, 'attempt')} still pending at the end of the capture`);
      if (bits.length > 0) parts.push(`TCP ${a.port}: ${bits.join(', ')}`);
    }
    const sorted = [...frames].filter((f) => f > 0).sort((a, b) => a - b);
    const names = this.namesOf(t);
    const portsAll = aggs.map((a) => a.port);
    const icmp = aggs.some((a) => a.icmp > 0) ? (t.v6 ? ' || icmpv6' : ' || icmp') : '';
    const filter = `${this.ipField(t, 'addr')} && ${portTest('tcp.port', portsAll)} && (tcp.flags.syn == 1 || tcp.flags.reset == 1 || tcp.flags.fin == 1${icmp})`;
    const who = `GoToMeeting server ${t.ip}${names.length > 0 ? ` (${names[0]})` : ''}`;
    const f: Finding = {
      id: 'gtm-blocked', check: CHECK, severity: 'error',
      target: { ip: t.ip, ports: portsAll, transport: 'tcp', names, verdict: 'blocked', range: t.range },
      clients: clients.slice(0, MAX_CLIENTS_SHOWN),
      count, attempts, frames: sorted.slice(0, MAX_FRAMES), ...this.span(aggs),
      message: `${who} could not be reached on any port: ${parts.join('; ')}.`,
      explanation: 'GoToMeeting needs one outbound TCP connection to its Endpoint Gateway on 8200, 443 or 80 (GoTo/Citrix: "one-way TCP connectivity is needed"). ' +
        'Every attempt here was dropped or refused on the way, so the client cannot reach the meeting service at all.',
      remedy: `Allow outbound TCP ${this.portOrder.join(', ')} from the clients to the GoToMeeting address ranges${t.range !== null ? ` (this server is in ${t.range})` : ''} ` +
        'on the firewall, as GoTo\'s firewall requirements (and Cisco doc 117808) list them; if a web proxy is in the path, exempt these ranges from authentication there.',
      wiresharkFilter: filter,
    };
    return f;
  }

  private proxyFinding(ev: TargetEval): Finding | null {
    const sel = this.interceptedPorts(ev);
    if (sel === null) return null;
    const { t, hit, aggs, clients } = sel;
    const frames = new Set<number>();
    let count = 0;
    for (const p of hit) {
      for (const f of p.agg.synAckFrames) frames.add(f);
      for (const f of p.agg.respFrames) frames.add(f);
      for (const x of p.signals) if (x.s.frame > 0) frames.add(x.s.frame);
      count += p.agg.answered + p.agg.responses;
    }
    const sorted = [...frames].filter((f) => f > 0).sort((a, b) => a - b);
    const portsHit = aggs.map((a) => a.port);
    const signals = hit.flatMap((p) => p.signals.map((x) => x.s));
    const names = this.namesOf(t);
    const a0 = aggs.find((a) => a.answered > 0);
    const nearText = a0 !== undefined ? `, answered from ${plural(a0.hops, 'hop')}${a0.rttMin >= 0 ? ` in ${fmtMs(a0.rttMin)}` : ''}` : '';
    const filter = `${this.ipField(t, 'src')} && ${portTest('tcp.srcport', portsHit)} && (tcp.flags.syn == 1 || tcp.len > 0)`;
    return {
      id: 'proxy-intercepted', check: CHECK, severity: 'info',
      target: { ip: t.ip, ports: portsHit, transport: 'tcp', names, signals },
      clients: clients.slice(0, MAX_CLIENTS_SHOWN),
      count, attempts: aggs.reduce((n, a) => n + a.conns, 0), frames: sorted.slice(0, MAX_FRAMES), ...this.span(aggs),
      message: `Web traffic to ${t.ip}${names.length > 0 ? ` (${names[0]})` : ''} on TCP ${listText(portsHit)} was answered by a transparent proxy${nearText}: ${this.signalWords(signals)}.`,
      explanation: 'A transparent web proxy sits in the path of ordinary web traffic: it answers connections to web servers itself, in their name. ' +
        'This is not GoToMeeting traffic, but GoToMeeting\'s connections on 443 and 80 will be intercepted the same way, and GoToMeeting cannot authenticate to a transparent proxy (Cisco doc 117808).',
      remedy: 'Nothing to change for this destination. If GoToMeeting is used behind this proxy, exempt the GoToMeeting address ranges from authentication on it ' +
        '(WSA: custom URL category with the ranges and an identification profile without authentication) or use the proxy explicitly, as Cisco doc 117808 recommends.',
      wiresharkFilter: filter,
      signals,
    };
  }
}

/** a display-filter test of a port field: `f == 80` or `f in {443, 80}` (Wireshark >= 4.0 needs the commas) */
function portTest(field: string, ports: readonly number[]): string {
  return ports.length === 1 ? `${field} == ${ports[0]}` : `${field} in {${ports.join(', ')}}`;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
