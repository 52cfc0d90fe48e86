// Check `dns-protection`: why Cisco Secure Client's roaming module says DNS protection is
// "Unprotected" (or "unencrypted"). Issue 3; background in ../shared/domain.md §B.
//
// The roaming module probes the Umbrella / Secure Access resolvers (208.67.222.222,
// 208.67.220.220, 2620:119:35::35, 2620:119:53::53) with DNS TXT queries on UDP 443 and
// UDP 53 (TCP too). When a firewall drops or rejects them it reports "Unprotected"; when only
// UDP/53 gets through it can use plain DNS only ("unencrypted").
//
// What this check reads (it never looks at packets itself):
// - the shared DNS service's judged transactions (onDnsTransaction): queries to a configured
//   resolver on a configured port are counted per target = resolver x transport x port; all
//   other DNS (a LAN resolver, ...) is summarized in `otherDns`, not judged;
// - TCP flows to a resolver port that carried no query (onFlowEnd): a SYN never answered
//   (S0) counts as unanswered, a SYN refused by the server's reset (REJ, or RSTR/RSTOS0 with
//   the reset from the server side and no SYN-ACK) or by an ICMP unreachable as rejected.
//
// Decisions (documented in the check result too):
// - `answered` includes `late` (an answer after --dns-timeout still proves the path);
//   an error rcode (SERVFAIL, REFUSED, NOTIMP, FORMERR) is counted in `errors`/`rcodes`, not
//   in `answered`; NXDOMAIN and NOERROR are answers.
// - TCP connection attempts without a query are counted in `tcpConnections` and, by how
//   they ended, in `unanswered` / `rejected` (not in `queries`).
// - A target is `unreachable` when it got no answer and at least one query (or connection)
//   was judged unanswered or rejected; `partial` when it answered some and lost others;
//   `pending` when every query was still within the timeout at the end of the capture.
// - Status: `fail` when no UDP query to any resolver was answered and a UDP target is
//   unreachable; `warn` when some target is unreachable otherwise (some other target answered,
//   e.g. UDP/53 answered but UDP/443 not = "unencrypted", or only TCP fails), or when
//   resolvers answered with error rcodes only; `pass` when the judged targets answered;
//   `not-observed` when nothing (or only pending queries) went to the resolvers.
// - Severity: dns-unanswered / dns-rejected are `error` when the status is fail, `warning`
//   when the target is unreachable and the status is warn, `info` for a `partial` target
//   (some queries lost, the resolver answered others: not what makes the module fail);
//   dns-error is always `warning`.
//
// Per-flow state: none (the check keeps per-target state only, bounded by the configured
// resolvers x 2 transports x ports; clients, frames, names, RTT samples and otherDns are
// capped). onFlowStart does two numeric port tests and, for resolver ports, one memoized
// CidrSet lookup.

import { CidrSet } from '../decode/addr.js';
import type { DnsResponseEvent, DnsTransaction, FlowRecord, IcmpErrorRef } from '../flow/types.js';
import { WANT_DNS } from '../flow/types.js';
import type {
  Check, CheckContext, CheckResult, CheckStatus, ClientRef, Finding, FindingId, FindingTarget, Severity,
} from './types.js';

export const CHECK = 'dns-protection' as const;
export const FINDING_IDS = ['dns-unanswered', 'dns-rejected', 'dns-error'] as const satisfies readonly FindingId[];
export type DnsProtectionFindingId = (typeof FINDING_IDS)[number];

export interface DnsProtectionOptions {
  /** resolver addresses (or CIDRs); default: ctx.config.resolvers.addresses */
  resolvers?: readonly string[];
  /** ports examined on UDP and TCP; default: ctx.config.resolvers.ports */
  ports?: readonly number[];
  /** DNS answer timeout (ms); default: ctx.config.timeouts.dnsAnswerMs */
  dnsTimeoutMs?: number;
  /** at most this many entries in `otherDns` (default 32); more are summarized in `otherDnsOmitted` */
  maxOtherDns?: number;
}

// ---- bounds --------------------------------------------------------------------------------
const MAX_FRAMES = 20;            // evidence frames per finding (design.md)
const MAX_CLIENTS_LISTED = 20;    // clients per finding (design.md)
const MAX_CLIENTS_TRACKED = 1024; // per evidence accumulator
const MAX_NAMES = 16;             // qnames per target / finding
const MAX_RTT_SAMPLES = 4096;     // per target, for the median
const MAX_ICMP_KINDS = 8;         // distinct ICMP (type, code, sender) per target
const MAX_OTHER_TRACKED = 1024;   // otherDns servers tracked
const MAX_DEFERRED_TCP = 4096;    // S0 TCP attempts waiting for the end-of-capture judgement

/** rcodes that make a response an error (NXDOMAIN and NOERROR are answers: the resolver was reached) */
const ERROR_RCODES = new Set(['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR']);

const VERDICT_ORDER = ['unreachable', 'partial', 'error', 'answered', 'pending'] as const;
export type TargetVerdict = (typeof VERDICT_ORDER)[number];

export interface IcmpSummary {
  type: number;
  code: number;
  ipVersion: 4 | 6;
  from: string;
  name: string;
  count: number;
  firstFrame: number;
}

/** One resolver x transport x port, as the check result lists it. */
export interface DnsTargetSummary {
  ip: string;
  transport: 'udp' | 'tcp';
  port: number;
  verdict: TargetVerdict;
  queries: number;
  retransmits: number;
  txtQueries: number;
  qnames: string[];
  answered: number;
  late: number;
  unanswered: number;
  rejected: number;
  pending: number;
  errors: number;
  encrypted: number;
  truncated: number;
  umbrellaEdns: number;
  tcpConnections: number;
  /** response packets (also those answering retransmissions), as tshark counts them */
  responses: number;
  /** rcode of every response packet */
  rcodes: Record<string, number>;
  medianRttMs: number | null;
  icmp: IcmpSummary[];
  clients: number;
  firstFrame: number;
  lastFrame: number;
}

export interface OtherDnsSummary {
  ip: string;
  port: number;
  transport: 'udp' | 'tcp';
  queries: number;
  retransmits: number;
  answered: number;
  unanswered: number;
  rejected: number;
  pending: number;
  errors: number;
  rcodes: Record<string, number>;
}

// ---- accumulators --------------------------------------------------------------------------

interface ClientAcc { count: number; firstFrame: number }

/** Evidence for one finding (one target x one id). */
interface Evidence {
  attempts: number;          // distinct queries / connections
  queries: number;           // of which DNS queries
  connections: number;       // of which TCP connections without a query
  count: number;             // evidence packets
  retransmits: number;
  txt: number;
  encrypted: number;
  frames: number[];          // smallest MAX_FRAMES frames, ascending, unique
  firstFrame: number;
  lastFrame: number;
  firstSec: number; firstNsec: number;
  lastSec: number; lastNsec: number;
  clients: Map<string, ClientAcc>;
  clientsOmitted: number;
  names: string[];
  rcodes: Record<string, number>;
  resets: number;
  icmp: IcmpSummary[];
  emitted: boolean;
}

interface Target {
  ip: string;
  transport: 'udp' | 'tcp';
  port: number;
  order: number;
  ipVersion: 4 | 6;
  queries: number;
  retransmits: number;
  txtQueries: number;
  qnames: string[];
  answered: number;
  late: number;
  unanswered: number;
  rejected: number;
  pending: number;
  errors: number;
  encrypted: number;
  truncated: number;
  umbrellaEdns: number;
  tcpConnections: number;
  responses: number;
  rcodes: Record<string, number>;
  rtts: number[];
  icmp: IcmpSummary[];
  clients: Set<string>;
  clientsOmitted: number;
  firstFrame: number;
  lastFrame: number;
  ev: { unanswered: Evidence | null; rejected: Evidence | null; error: Evidence | null };
}

interface OtherAcc extends OtherDnsSummary {}

/** A TCP attempt (SYNs only) whose judgement waits for the end of the capture. */
interface DeferredTcp {
  target: Target;
  client: string;
  firstMs: number;
  synFrames: number[];
  synCount: number;
  firstSec: number; firstNsec: number;
  lastSec: number; lastNsec: number;
  lastFrame: number;
}

// ---- small helpers -------------------------------------------------------------------------

function newEvidence(): Evidence {
  return {
    attempts: 0, queries: 0, connections: 0, count: 0, retransmits: 0, txt: 0, encrypted: 0,
    frames: [], firstFrame: -1, lastFrame: -1, firstSec: 0, firstNsec: 0, lastSec: 0, lastNsec: 0,
    clients: new Map(), clientsOmitted: 0, names: [], rcodes: {}, resets: 0, icmp: [], emitted: false,
  };
}

/** Insert into an ascending, unique array that keeps only the `max` smallest values. */
function insertFrame(arr: number[], frame: number, max: number): void {
  if (frame < 1) return;
  const n = arr.length;
  if (n === max && frame > arr[n - 1]) return;
  let lo = 0, hi = n;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < frame) lo = mid + 1; else hi = mid; }
  if (lo < n && arr[lo] === frame) return;
  arr.splice(lo, 0, frame);
  if (arr.length > max) arr.pop();
}

/** Milliseconds (float) to seconds + nanoseconds, rounded to the microsecond (ms floats hold no more). */
function msToTs(ms: number): [number, number] {
  const us = Math.round(ms * 1000);
  const sec = Math.floor(us / 1e6);
  return [sec, (us - sec * 1e6) * 1000];
}

/** Note one evidence frame with its time (used to move first/last). */
function evFrame(ev: Evidence, frame: number, sec: number, nsec: number): void {
  if (frame < 1) return;
  insertFrame(ev.frames, frame, MAX_FRAMES);
  if (ev.firstFrame < 0 || frame < ev.firstFrame) { ev.firstFrame = frame; ev.firstSec = sec; ev.firstNsec = nsec; }
  if (frame > ev.lastFrame) { ev.lastFrame = frame; ev.lastSec = sec; ev.lastNsec = nsec; }
}

function evClient(ev: Evidence, ip: string, packets: number, firstFrame: number): void {
  const c = ev.clients.get(ip);
  if (c) {
    c.count += packets;
    if (firstFrame > 0 && (c.firstFrame < 0 || firstFrame < c.firstFrame)) c.firstFrame = firstFrame;
  } else if (ev.clients.size < MAX_CLIENTS_TRACKED) {
    ev.clients.set(ip, { count: packets, firstFrame });
  } else {
    ev.clientsOmitted++;
  }
}

function addName(list: string[], name: string): void {
  if (list.length < MAX_NAMES && !list.includes(name)) list.push(name);
}

function bump(rec: Record<string, number>, key: string): void {
  rec[key] = (rec[key] ?? 0) + 1;
}

const ICMP4_UNREACH: Record<number, string> = {
  0: 'network unreachable', 1: 'host unreachable', 2: 'protocol unreachable', 3: 'port unreachable',
  4: 'fragmentation needed', 5: 'source route failed', 6: 'destination network unknown',
  7: 'destination host unknown', 9: 'network administratively prohibited',
  10: 'host administratively prohibited', 11: 'network unreachable for TOS', 12: 'host unreachable for TOS',
  13: 'communication administratively prohibited', 14: 'host precedence violation', 15: 'precedence cutoff',
};
const ICMP6_UNREACH: Record<number, string> = {
  0: 'no route to destination', 1: 'communication administratively prohibited',
  2: 'beyond scope of source address', 3: 'address unreachable', 4: 'port unreachable',
  5: 'source address failed ingress/egress policy', 6: 'reject route to destination',
};

export function icmpName(version: 4 | 6, type: number, code: number): string {
  if (version === 4) {
    if (type === 3) return ICMP4_UNREACH[code] ?? `destination unreachable (code ${code})`;
    if (type === 11) return 'time exceeded';
    return `ICMP type ${type} code ${code}`;
  }
  if (type === 1) return ICMP6_UNREACH[code] ?? `destination unreachable (code ${code})`;
  if (type === 3) return 'time exceeded';
  return `ICMPv6 type ${type} code ${code}`;
}

/** Destination unreachable, except ICMPv4 "fragmentation needed" (path MTU discovery, not a rejection). */
function isUnreachable(e: IcmpErrorRef): boolean {
  return e.ipVersion === 4 ? e.type === 3 && e.code !== 4 : e.type === 1;
}

function addIcmp(list: IcmpSummary[], e: IcmpErrorRef): void {
  for (const s of list) {
    if (s.type === e.type && s.code === e.code && s.from === e.sender) {
      s.count++;
      if (e.frameNo < s.firstFrame) s.firstFrame = e.frameNo;
      return;
    }
  }
  if (list.length >= MAX_ICMP_KINDS) return;
  list.push({ type: e.type, code: e.code, ipVersion: e.ipVersion, from: e.sender,
    name: icmpName(e.ipVersion, e.type, e.code), count: 1, firstFrame: e.frameNo });
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  const v = s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
  return Math.round(v * 1000) / 1000;
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return items.slice(0, -1).join(', ') + ' and ' + items[items.length - 1];
}

function targetLabel(t: { ip: string; transport: string; port: number }): string {
  return `${t.ip} ${t.transport.toUpperCase()}/${t.port}`;
}

const CISCO_REQ =
  'Cisco\'s network requirements for Umbrella / Secure Access (Cisco doc 224762, ' +
  'https://www.cisco.com/c/en/us/support/docs/security/umbrella/224762-resolve-unprotected-or-unencrypted.html; ' +
  'https://docs.sse.cisco.com/sse-dns-guide/docs/network-requirements-for-secure-access#secure-access-dns-resolvers)';

// ---- the check -----------------------------------------------------------------------------

export function createDnsProtectionCheck(ctx: CheckContext, opts: DnsProtectionOptions = {}): Check {
  const resolverList = [...(opts.resolvers ?? ctx.config.resolvers.addresses)];
  const resolvers = new CidrSet(resolverList);
  // hot path (every new flow on a resolver port): exact addresses by string, no parsing; CIDR
  // ranges (rare in a resolver list) through the CidrSet
  const exactResolvers = new Set<string>();
  let resolverRanges = false;
  for (const text of resolvers.list()) {
    if (text.includes('/')) resolverRanges = true;
    else exactResolvers.add(text);
  }
  const isResolver = (ip: string): boolean => exactResolvers.has(ip) || (resolverRanges && resolvers.has(ip));
  const rangeOrder = new Map<string, number>();
  resolvers.list().forEach((t, i) => { if (!rangeOrder.has(t)) rangeOrder.set(t, i); });
  const portList = [...(opts.ports ?? ctx.config.resolvers.ports)].filter((p) => Number.isInteger(p) && p >= 0 && p < 65536);
  const portBits = new Uint8Array(65536);
  for (const p of portList) portBits[p] = 1;
  const dnsTimeoutMs = opts.dnsTimeoutMs ?? ctx.config.timeouts.dnsAnswerMs;
  const maxOtherDns = opts.maxOtherDns ?? 32;

  const targets = new Map<string, Target>();
  const other = new Map<string, OtherAcc>();
  let otherOverflowQueries = 0;
  let lastOther: OtherAcc | null = null;
  let otherOverflowServers = 0;
  const deferred: DeferredTcp[] = [];
  let lastSeenMs = -Infinity;      // latest packet time the check heard of (end of capture at finish)
  let udpAnsweredSoFar = false;    // for the severity of early findings

  function isResolverPort(port: number): boolean {
    return port >= 0 && port < 65536 && portBits[port] === 1;
  }

  function getTarget(ip: string, transport: 'udp' | 'tcp', port: number): Target {
    const key = ip + '|' + transport + '|' + port;
    let t = targets.get(key);
    if (t === undefined) {
      const range = resolvers.match(ip);
      const ri = range ? rangeOrder.get(range.text) ?? 0 : 0;
      const pi = Math.max(0, portList.indexOf(port));
      t = {
        ip, transport, port, order: ri * 1000 + (transport === 'udp' ? 0 : 500) + pi,
        ipVersion: ip.includes(':') ? 6 : 4,
        queries: 0, retransmits: 0, txtQueries: 0, qnames: [], answered: 0, late: 0, unanswered: 0, rejected: 0,
        pending: 0, errors: 0, encrypted: 0, truncated: 0, umbrellaEdns: 0, tcpConnections: 0, responses: 0, rcodes: {}, rtts: [],
        icmp: [], clients: new Set(), clientsOmitted: 0, firstFrame: -1, lastFrame: -1,
        ev: { unanswered: null, rejected: null, error: null },
      };
      targets.set(key, t);
    }
    return t;
  }

  function targetFrame(t: Target, frame: number): void {
    if (frame < 1) return;
    if (t.firstFrame < 0 || frame < t.firstFrame) t.firstFrame = frame;
    if (frame > t.lastFrame) t.lastFrame = frame;
  }

  function targetClient(t: Target, ip: string): void {
    if (t.clients.has(ip)) return;
    if (t.clients.size < MAX_CLIENTS_TRACKED) t.clients.add(ip); else t.clientsOmitted++;
  }

  function evidenceOf(t: Target, kind: 'unanswered' | 'rejected' | 'error'): Evidence {
    let ev = t.ev[kind];
    if (ev === null) { ev = newEvidence(); t.ev[kind] = ev; }
    return ev;
  }

  /** Add a judged DNS query to an evidence accumulator. */
  function evQuery(ev: Evidence, tx: DnsTransaction): number {
    const packets = 1 + tx.retransmits;
    ev.attempts++;
    ev.queries++;
    ev.count += packets;
    ev.retransmits += tx.retransmits;
    if (tx.encrypted) ev.encrypted++;
    if (tx.question !== null) {
      if (tx.question.type === 'TXT') ev.txt++;
      addName(ev.names, tx.question.name);
    }
    const qf = tx.queryFrames;
    for (let i = 0; i < qf.length; i++) {
      const f = qf[i];
      if (i === 0) evFrame(ev, f, tx.firstQueryTsSec, tx.firstQueryTsNsec);
      else if (i === qf.length - 1) evFrame(ev, f, tx.lastQueryTsSec, tx.lastQueryTsNsec);
      else insertFrame(ev.frames, f, MAX_FRAMES);
    }
    evClient(ev, tx.client, packets, qf.length > 0 ? qf[0] : -1);
    return packets;
  }

  function maybeEmitEarly(t: Target, kind: 'unanswered' | 'rejected'): void {
    if (ctx.emitEarly === undefined) return;
    const ev = t.ev[kind];
    if (ev === null || ev.emitted || t.answered > 0) return;
    ev.emitted = true;
    const severity: Severity = t.transport === 'udp' && !udpAnsweredSoFar ? 'error' : 'warning';
    const f = buildFinding(t, kind === 'unanswered' ? 'dns-unanswered' : 'dns-rejected', ev, severity);
    if (f !== null) ctx.emitEarly(f);
  }

  function onTargetTx(t: Target, tx: DnsTransaction): void {
    t.queries++;
    t.retransmits += tx.retransmits;
    if (tx.encrypted) t.encrypted++;
    if (tx.truncated) t.truncated++;
    if (tx.umbrellaEdns) t.umbrellaEdns++;
    if (tx.question !== null) {
      if (tx.question.type === 'TXT') t.txtQueries++;
      addName(t.qnames, tx.question.name);
    }
    targetClient(t, tx.client);
    const qf = tx.queryFrames;
    if (qf.length > 0) { targetFrame(t, qf[0]); targetFrame(t, qf[qf.length - 1]); }

    switch (tx.outcome) {
      case 'answered':
      case 'late':
        t.answered++;
        if (tx.outcome === 'late') t.late++;
        if (tx.transport === 'udp') udpAnsweredSoFar = true;
        if (tx.rttMs >= 0 && t.rtts.length < MAX_RTT_SAMPLES) t.rtts.push(tx.rttMs);
        targetFrame(t, tx.responseFrame);
        break;
      case 'error': {
        // the error responses themselves were added by onDnsResponse (every one, also those
        // answering retransmissions)
        t.errors++;
        if (tx.rttMs >= 0 && t.rtts.length < MAX_RTT_SAMPLES) t.rtts.push(tx.rttMs);
        targetFrame(t, tx.responseFrame);
        evQuery(evidenceOf(t, 'error'), tx);
        break;
      }
      case 'unanswered': {
        t.unanswered++;
        evQuery(evidenceOf(t, 'unanswered'), tx);
        maybeEmitEarly(t, 'unanswered');
        break;
      }
      case 'rejected': {
        t.rejected++;
        const ev = evidenceOf(t, 'rejected');
        evQuery(ev, tx);
        if (tx.icmp !== null) {
          addIcmp(t.icmp, tx.icmp);
          addIcmp(ev.icmp, tx.icmp);
          const [s, n] = msToTs(tx.icmp.tsMs);
          evFrame(ev, tx.icmp.frameNo, s, n);
          targetFrame(t, tx.icmp.frameNo);
          ev.count++;
          const c = ev.clients.get(tx.client);
          if (c) c.count++;
        } else if (tx.tcpReset) {
          ev.resets++;
          const fl = tx.flow;
          if (fl.rstFrame > 0) {
            evFrame(ev, fl.rstFrame, fl.lastTsSec, fl.lastTsNsec);
            targetFrame(t, fl.rstFrame);
            ev.count++;
            const c = ev.clients.get(tx.client);
            if (c) c.count++;
          }
        }
        maybeEmitEarly(t, 'rejected');
        break;
      }
      case 'pending':
      default:
        t.pending++;
        break;
    }
  }

  function onOtherTx(tx: DnsTransaction): void {
    // nearly all other DNS goes to one LAN resolver: try the last entry before building a key
    let o = lastOther;
    if (o === null || o.ip !== tx.server || o.port !== tx.serverPort || o.transport !== tx.transport) {
      const key = tx.server + '|' + tx.transport + '|' + tx.serverPort;
      o = other.get(key) ?? null;
      if (o === null) {
        if (other.size >= MAX_OTHER_TRACKED) { otherOverflowQueries++; return; }
        o = { ip: tx.server, port: tx.serverPort, transport: tx.transport, queries: 0, retransmits: 0, answered: 0,
          unanswered: 0, rejected: 0, pending: 0, errors: 0, rcodes: {} };
        other.set(key, o);
      }
      lastOther = o;
    }
    o.queries++;
    o.retransmits += tx.retransmits;
    switch (tx.outcome) {
      case 'answered': case 'late': o.answered++; break;
      case 'error': o.errors++; break;
      case 'unanswered': o.unanswered++; break;
      case 'rejected': o.rejected++; break;
      default: o.pending++; break;
    }
    if (tx.rcode !== null && (tx.outcome === 'answered' || tx.outcome === 'late' || tx.outcome === 'error')) bump(o.rcodes, tx.rcode);
  }

  /** A TCP connection to a resolver port that carried no query: judge it by how it ended. */
  function onTcpNoQuery(flow: FlowRecord): void {
    if (flow.synCount === 0 && flow.synFrames.length === 0) return;   // midstream or responder-only: not an attempt
    const id = flow.id;
    const t = getTarget(id.resp_h, 'tcp', id.resp_p);
    const client = id.orig_h;
    if (flow.synAckFrame >= 0) {
      // handshake answered: the resolver port is reachable; nothing was asked, nothing to judge
      t.tcpConnections++;
      targetClient(t, client);
      targetFrame(t, flow.dir[0].firstFrame);
      targetFrame(t, flow.synAckFrame);
      return;
    }
    const serverReset = flow.rstFrame >= 0 && flow.rstDir === 1 &&
      (flow.conn_state === 'REJ' || flow.conn_state === 'RSTR' || flow.conn_state === 'RSTOS0');
    let icmp: IcmpErrorRef | null = null;
    for (const e of flow.icmpErrors) if (isUnreachable(e)) { icmp = e; break; }
    if (serverReset || icmp !== null) {
      t.tcpConnections++;
      t.rejected++;
      targetClient(t, client);
      const ev = evidenceOf(t, 'rejected');
      ev.attempts++;
      ev.connections++;
      const syns = Math.max(flow.synCount, flow.synFrames.length);
      ev.count += syns + 1;
      evSyns(ev, flow);
      if (serverReset) {
        ev.resets++;
        evFrame(ev, flow.rstFrame, flow.lastTsSec, flow.lastTsNsec);
        targetFrame(t, flow.rstFrame);
      } else if (icmp !== null) {
        addIcmp(ev.icmp, icmp);
        addIcmp(t.icmp, icmp);
        const [s, n] = msToTs(icmp.tsMs);
        evFrame(ev, icmp.frameNo, s, n);
        targetFrame(t, icmp.frameNo);
      }
      for (const f of flow.synFrames) targetFrame(t, f);
      evClient(ev, client, syns + 1, flow.synFrames.length > 0 ? flow.synFrames[0] : flow.dir[0].firstFrame);
      maybeEmitEarly(t, 'rejected');
      return;
    }
    // only SYNs (S0, or SH: SYN then FIN): unanswered once the DNS timeout has passed by the
    // end of the capture, else pending; decided at finish()
    const d: DeferredTcp = {
      target: t, client, firstMs: flow.firstMs, synFrames: flow.synFrames.slice(0, 32),
      synCount: Math.max(flow.synCount, flow.synFrames.length),
      firstSec: flow.tsSec, firstNsec: flow.tsNsec, lastSec: flow.lastTsSec, lastNsec: flow.lastTsNsec,
      lastFrame: flow.dir[0].lastFrame,
    };
    if (deferred.length < MAX_DEFERRED_TCP) deferred.push(d);
    else judgeTcpAttempt(d, true);
  }

  function evSyns(ev: Evidence, flow: FlowRecord): void {
    const sf = flow.synFrames;
    for (let i = 0; i < sf.length; i++) {
      if (i === 0) evFrame(ev, sf[i], flow.tsSec, flow.tsNsec);
      else {
        const [s, n] = msToTs(flow.synTimesMs[i] ?? flow.firstMs);
        evFrame(ev, sf[i], s, n);
      }
    }
  }

  function judgeTcpAttempt(d: DeferredTcp, unanswered: boolean): void {
    const t = d.target;
    t.tcpConnections++;
    targetClient(t, d.client);
    for (const f of d.synFrames) targetFrame(t, f);
    if (!unanswered) { t.pending++; return; }
    t.unanswered++;
    const ev = evidenceOf(t, 'unanswered');
    ev.attempts++;
    ev.connections++;
    ev.count += d.synCount;
    for (let i = 0; i < d.synFrames.length; i++) {
      const f = d.synFrames[i];
      if (i === 0) evFrame(ev, f, d.firstSec, d.firstNsec);
      else if (f === d.lastFrame) evFrame(ev, f, d.lastSec, d.lastNsec);
      else insertFrame(ev.frames, f, MAX_FRAMES);
    }
    // retransmitted SYNs beyond the recorded frames: the last packet of the flow is the last SYN
    if (d.lastFrame > 0) evFrame(ev, d.lastFrame, d.lastSec, d.lastNsec);
    evClient(ev, d.client, d.synCount, d.synFrames.length > 0 ? d.synFrames[0] : d.lastFrame);
    maybeEmitEarly(t, 'unanswered');
  }

  // ---- findings ----------------------------------------------------------------------------

  function wiresharkFilter(t: Target, id: DnsProtectionFindingId, ev: Evidence): { filter: string; decodeAs?: string } {
    const ipField = t.ipVersion === 6 ? 'ipv6.addr' : 'ip.addr';
    const base = `${ipField} == ${t.ip} && ${t.transport}.port == ${t.port}`;
    const decodeAs = t.port !== 53 ? `${t.transport}.port==${t.port},dns` : undefined;
    let filter = base;
    if (id === 'dns-rejected') {
      const parts: string[] = [];
      if (ev.icmp.length > 0) {
        const proto = t.ipVersion === 6 ? 'icmpv6' : 'icmp';
        const type = t.ipVersion === 6 ? 1 : 3;
        const codes = [...new Set(ev.icmp.map((i) => i.code))].sort((a, b) => a - b);
        const codeTest = codes.length === 1 ? `${proto}.code == ${codes[0]}` : `${proto}.code in {${codes.join(' ')}}`;
        parts.push(`${proto}.type == ${type} && ${codeTest}`);
      }
      if (ev.resets > 0 || ev.connections > 0) parts.push('tcp.flags.reset == 1');
      if (t.transport === 'tcp') parts.push('tcp.flags.syn == 1 && tcp.flags.ack == 0');
      // the queries themselves: datagrams/segments to the resolver port that are not ICMP
      const icmpProto = t.ipVersion === 6 ? 'icmpv6' : 'icmp';
      if (ev.queries > 0) parts.push(`!${icmpProto} && ${t.transport}.dstport == ${t.port}`);
      filter = `${base} && (${parts.map((p) => `(${p})`).join(' || ')})`;
    } else if (id === 'dns-unanswered') {
      if (t.answered > 0 || t.errors > 0 || t.rejected > 0) {
        // the resolver answered others: show only the queries that got nothing back
        const parts: string[] = [];
        if (ev.queries > 0) parts.push('dns.flags.response == 0 && !dns.response_in');
        if (ev.connections > 0) parts.push('tcp.flags.syn == 1 && tcp.flags.ack == 0');
        filter = `${base} && (${parts.map((p) => `(${p})`).join(' || ')})`;
        const icmpProto = t.ipVersion === 6 ? 'icmpv6' : 'icmp';
        filter = `${filter} && !${icmpProto}`;
      }
    } else {
      const codes = Object.keys(ev.rcodes).map(rcodeNumber).filter((n) => n >= 0).sort((a, b) => a - b);
      const rc = codes.length === 1 ? `dns.flags.rcode == ${codes[0]}` : codes.length > 1 ? `dns.flags.rcode in {${codes.join(' ')}}` : 'dns.flags.rcode != 0';
      // queries and error responses, not ICMP errors that quote them
      filter = `${base} && dns && !${t.ipVersion === 6 ? 'icmpv6' : 'icmp'} && (dns.flags.response == 0 || ${rc})`;
    }
    return decodeAs !== undefined ? { filter, decodeAs } : { filter };
  }

  function describeQueries(ev: Evidence): string {
    const q = ev.queries;
    if (q === 0) return '';
    const kind = ev.encrypted === q ? 'encrypted DNS (DNSCrypt) quer' : ev.txt === q ? 'DNS TXT quer' : 'DNS quer';
    let s = `${q} ${kind}${q === 1 ? 'y' : 'ies'}`;
    const extra: string[] = [];
    if (ev.txt > 0 && ev.txt < q) extra.push(`${ev.txt} TXT`);
    if (ev.encrypted > 0 && ev.encrypted < q) extra.push(`${ev.encrypted} encrypted`);
    if (ev.retransmits > 0) extra.push(`${ev.queries + ev.retransmits} packets with retransmissions`);
    if (extra.length > 0) s += ` (${extra.join(', ')})`;
    return s;
  }

  function buildFinding(t: Target, id: DnsProtectionFindingId, ev: Evidence, severity: Severity): Finding | null {
    // --client: only allowed clients (transactions of others were never counted, see onDnsTransaction)
    const clients: ClientRef[] = [...ev.clients.entries()]
      .filter(([ip]) => ctx.clientAllowed(ip))
      .map(([ip, c]) => ({ ip, count: c.count, firstFrame: c.firstFrame }))
      .sort((a, b) => a.firstFrame - b.firstFrame || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0))
      .slice(0, MAX_CLIENTS_LISTED);
    if (clients.length === 0) return null;
    const where = `${t.ip} on ${t.transport.toUpperCase()}/${t.port}`;
    const subject = [describeQueries(ev), ev.connections > 0 ? plural(ev.connections, 'TCP connection attempt') : '']
      .filter((s) => s !== '').join(' and ');
    const many = ev.attempts !== 1;
    let message: string;
    let explanation: string;
    let remedy: string;
    const resolversText = joinList(resolverList);
    if (id === 'dns-unanswered') {
      const also = t.answered > 0 ? ` while ${plural(t.answered, 'other query', 'other queries')} to it ${t.answered === 1 ? 'was' : 'were'} answered` : '';
      const tail = ev.connections > 0 && ev.queries === 0 ? `got no SYN-ACK (${plural(ev.count, 'SYN')})` : `got no answer`;
      message = `${subject} to ${where} ${tail}${also}`;
      if (ev.queries > 0 && ev.connections > 0) message = `${subject} to ${where} got no answer (${plural(ev.count, 'packet')})${also}`;
      explanation = t.transport === 'udp'
        ? `The Secure Client roaming module (Umbrella / Secure Access) checks DNS protection by sending DNS probes (TXT queries such as debug.opendns.com) to the Umbrella resolvers on UDP 443 and UDP 53. Nothing came back from ${t.ip} on UDP ${t.port}: a firewall on the path silently drops it. Without answers on UDP 443 the module cannot encrypt DNS ("unencrypted"); without answers on either port from any resolver it reports "Unprotected" and falls back to the DHCP/static DNS servers, which Umbrella does not filter.`
        : `DNS over TCP to the Umbrella resolver ${t.ip} on port ${t.port} got no answer: a firewall on the path silently drops it. The roaming module and DNSCrypt use TCP when UDP fails or answers are large, and Cisco requires TCP 53 and 443 to the resolvers to be open as well.`;
      remedy = `Allow outbound UDP and TCP 53 and 443 to the Umbrella / Secure Access resolvers ${resolversText} on every firewall on the path (UDP idle timeout 10-15 s), as ${CISCO_REQ} require.`;
    } else if (id === 'dns-rejected') {
      const how: string[] = [];
      for (const i of ev.icmp) how.push(`ICMP${i.ipVersion === 6 ? 'v6' : ''} ${i.name} (type ${i.type} code ${i.code}) from ${i.from}`);
      if (ev.resets > 0) how.push(`${ev.resets === 1 ? 'a TCP reset' : 'TCP resets'} from ${t.ip}`);
      message = `${subject} to ${where} ${many ? 'were' : 'was'} rejected by ${how.length > 0 ? joinList(how) : 'the network'}`;
      const senders = [...new Set(ev.icmp.map((i) => i.from))];
      explanation = `The Secure Client roaming module (Umbrella / Secure Access) checks DNS protection by sending DNS probes to the Umbrella resolvers on UDP 443 and UDP 53 (TCP too). A device on the path actively refuses DNS to ${t.ip}${senders.length > 0 ? ` (the ICMP error comes from ${joinList(senders)})` : ''}, so the module rejects the resolver: without UDP 443 DNS protection is "unencrypted", without UDP 443 and 53 to every resolver it is "Unprotected" and DNS falls back to the DHCP/static servers, which Umbrella does not filter.`;
      remedy = `Change the rule that rejects this traffic${senders.length > 0 ? ` on ${joinList(senders)}` : ''}: allow outbound UDP and TCP 53 and 443 to the Umbrella / Secure Access resolvers ${resolversText}, as ${CISCO_REQ} require.`;
    } else {
      const rc = Object.entries(ev.rcodes).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k} (${v})`);
      message = ev.queries > 0
        ? `${subject} to ${where} ${many ? 'were' : 'was'} answered with ${joinList(rc)}`
        : `${plural(ev.count, 'DNS response')} from ${where} carried ${joinList(rc)}`;
      explanation = `The Umbrella resolver ${t.ip} is reached, but its answers carry an error rcode instead of data. The roaming module's probes (debug.opendns.com, 2.dnscrypt-cert.opendns.com) are always answered by Umbrella, so errors usually mean that a firewall or DNS proxy on the path intercepts DNS to ${t.ip} and answers itself, which the module treats like a failed probe.`;
      remedy = `Make sure no firewall, DNS proxy or DNS inspection intercepts or rewrites DNS to the Umbrella / Secure Access resolvers ${resolversText} on UDP and TCP 53 and 443, as ${CISCO_REQ} require.`;
    }
    const { filter, decodeAs } = wiresharkFilter(t, id, ev);
    const target: FindingTarget = { ip: t.ip, port: t.port, ports: [t.port], transport: t.transport, names: ev.names.slice(0, 8) };
    const f: Finding = {
      id, check: CHECK, severity, target, clients,
      count: ev.count, attempts: ev.attempts, frames: ev.frames.slice(),
      firstFrame: ev.firstFrame, lastFrame: ev.lastFrame,
      firstSeen: ctx.isoTime(ev.firstSec, ev.firstNsec), lastSeen: ctx.isoTime(ev.lastSec, ev.lastNsec),
      message, explanation, remedy, wiresharkFilter: filter,
    };
    if (decodeAs !== undefined) f.decodeAs = decodeAs;
    if (ev.icmp.length > 0) f.icmp = ev.icmp.map((i) => ({ type: i.type, code: i.code, from: i.from, name: i.name, count: i.count }));
    if (ev.resets > 0) f.resets = ev.resets;
    if (ev.encrypted > 0) f.encrypted = ev.encrypted;
    if (id === 'dns-error') f.rcodes = { ...ev.rcodes };
    return f;
  }

  function verdictOf(t: Target): TargetVerdict {
    const failed = t.unanswered + t.rejected;
    if (t.answered > 0) return failed > 0 ? 'partial' : 'answered';
    if (failed > 0) return 'unreachable';
    if (t.errors > 0 || t.ev.error !== null) return 'error';
    if (t.pending > 0) return 'pending';
    return 'answered';   // TCP handshakes answered with no query: the port is reachable
  }

  return {
    name: CHECK,

    onFlowStart(flow: FlowRecord): number {
      const id = flow.id;
      if (id.proto === 'icmp') return 0;
      if (id.resp_p >= 0 && portBits[id.resp_p] === 1 && isResolver(id.resp_h)) return WANT_DNS;
      if (id.orig_p >= 0 && portBits[id.orig_p] === 1 && isResolver(id.orig_h)) return WANT_DNS;
      return 0;
    },

    onDnsResponse(ev: DnsResponseEvent): void {
      // rcodes are counted per response packet (as tshark counts them); error responses are evidence
      const id = ev.flow.id;
      if (id.proto === 'icmp') return;
      const port = ev.server === id.resp_h ? id.resp_p : id.orig_p;
      if (!isResolverPort(port) || !isResolver(ev.server) || !ctx.clientAllowed(ev.client)) return;
      const t = getTarget(ev.server, id.proto, port);
      t.responses++;
      bump(t.rcodes, ev.rcode);
      targetFrame(t, ev.frameNo);
      if (!ERROR_RCODES.has(ev.rcode)) return;
      const e = evidenceOf(t, 'error');
      bump(e.rcodes, ev.rcode);
      e.count++;
      const [s, n] = msToTs(ev.tsMs);
      evFrame(e, ev.frameNo, s, n);
      evClient(e, ev.client, 1, ev.frameNo);
    },

    onDnsTransaction(tx: DnsTransaction): void {
      const m = tx.lastQueryTsSec * 1000 + tx.lastQueryTsNsec / 1e6;
      if (m > lastSeenMs) lastSeenMs = m;
      if (!ctx.clientAllowed(tx.client)) return;
      if (isResolverPort(tx.serverPort) && isResolver(tx.server)) onTargetTx(getTarget(tx.server, tx.transport, tx.serverPort), tx);
      else onOtherTx(tx);
    },

    onFlowEnd(flow: FlowRecord): void {
      if (flow.lastMs > lastSeenMs) lastSeenMs = flow.lastMs;
      const id = flow.id;
      if (id.proto !== 'tcp') return;
      if (flow.firstDataFrame[0] >= 0) return;      // the client sent bytes: the DNS service judges its queries
      if (!isResolverPort(id.resp_p) || !isResolver(id.resp_h)) return;
      if (!ctx.clientAllowed(id.orig_h)) return;
      onTcpNoQuery(flow);
    },

    finish(): { result: CheckResult; findings: Finding[] } {
      // SYN-only TCP attempts: unanswered when the DNS timeout passed before the capture ended
      for (const d of deferred) judgeTcpAttempt(d, lastSeenMs - d.firstMs >= dnsTimeoutMs);
      deferred.length = 0;

      const list = [...targets.values()].sort((a, b) => a.order - b.order || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
      const verdicts = new Map<Target, TargetVerdict>();
      for (const t of list) verdicts.set(t, verdictOf(t));
      const judged = list.filter((t) => verdicts.get(t) !== 'pending');
      const unreachable = judged.filter((t) => verdicts.get(t) === 'unreachable');
      const udpUnreachable = unreachable.filter((t) => t.transport === 'udp');
      const udpAnswered = judged.some((t) => t.transport === 'udp' && t.answered > 0);
      const errorTargets = judged.filter((t) => t.errors > 0 || t.ev.error !== null);

      let status: CheckStatus;
      if (judged.length === 0) status = 'not-observed';
      else if (!udpAnswered && udpUnreachable.length > 0) status = 'fail';
      else if (unreachable.length > 0 || errorTargets.some((t) => t.answered === 0)) status = 'warn';
      else status = 'pass';

      const summary = summarize(status, list, judged, unreachable, errorTargets, verdicts);

      // findings, one per target and id
      const findings: Finding[] = [];
      for (const t of list) {
        const v = verdicts.get(t)!;
        const sev: Severity = v === 'partial' ? 'info' : status === 'fail' ? 'error' : 'warning';
        if (t.ev.rejected !== null) { const f = buildFinding(t, 'dns-rejected', t.ev.rejected, sev); if (f) findings.push(f); }
        if (t.ev.unanswered !== null) { const f = buildFinding(t, 'dns-unanswered', t.ev.unanswered, sev); if (f) findings.push(f); }
        if (t.ev.error !== null) { const f = buildFinding(t, 'dns-error', t.ev.error, 'warning'); if (f) findings.push(f); }
      }
      const sevRank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
      findings.sort((a, b) => sevRank[a.severity] - sevRank[b.severity] || a.firstFrame - b.firstFrame ||
        FINDING_IDS.indexOf(a.id as DnsProtectionFindingId) - FINDING_IDS.indexOf(b.id as DnsProtectionFindingId));

      const targetsOut: DnsTargetSummary[] = list.map((t) => ({
        ip: t.ip, transport: t.transport, port: t.port, verdict: verdicts.get(t)!,
        queries: t.queries, retransmits: t.retransmits, txtQueries: t.txtQueries, qnames: t.qnames.slice(),
        answered: t.answered, late: t.late, unanswered: t.unanswered, rejected: t.rejected, pending: t.pending,
        errors: t.errors, encrypted: t.encrypted, truncated: t.truncated, umbrellaEdns: t.umbrellaEdns,
        tcpConnections: t.tcpConnections, responses: t.responses, rcodes: sortedRecord(t.rcodes), medianRttMs: median(t.rtts),
        icmp: t.icmp.map((i) => ({ ...i })), clients: t.clients.size + t.clientsOmitted,
        firstFrame: t.firstFrame, lastFrame: t.lastFrame,
      }));

      const others = [...other.values()].sort((a, b) => b.queries - a.queries || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0) ||
        a.port - b.port || (a.transport < b.transport ? -1 : a.transport > b.transport ? 1 : 0));
      const shown = others.slice(0, maxOtherDns).map((o) => ({ ...o, rcodes: sortedRecord(o.rcodes) }));
      const hidden = others.slice(maxOtherDns);
      otherOverflowServers = hidden.length;
      const result: CheckResult = {
        check: CHECK, status, summary, targets: targetsOut,
        otherDns: shown,
        resolvers: resolvers.list(),
        ports: portList,
      };
      if (hidden.length > 0 || otherOverflowQueries > 0) {
        result.otherDnsOmitted = {
          servers: otherOverflowServers + (otherOverflowQueries > 0 ? 1 : 0),
          queries: hidden.reduce((s, o) => s + o.queries, 0) + otherOverflowQueries,
        };
      }
      return { result, findings };
    },
  };

  function summarize(status: CheckStatus, all: Target[], judged: Target[], unreachable: Target[], errorTargets: Target[],
    verdicts: Map<Target, TargetVerdict>): string {
    const failText = (t: Target) => {
      const bits: string[] = [];
      if (t.unanswered > 0) bits.push(`${t.unanswered} unanswered`);
      if (t.rejected > 0) bits.push(`${t.rejected} rejected`);
      return `${bits.join(', ')} on ${targetLabel(t)}`;
    };
    // "208.67.222.222 and 208.67.220.220 on UDP 443 and 53: 12 unanswered" when the targets form a
    // full resolver x port grid, else each target with its own tally
    const failGroup = (ts: Target[]) => {
      const ips = [...new Set(ts.map((t) => t.ip))];
      const combos = [...new Set(ts.map((t) => t.transport + '/' + t.port))];
      if (ts.length < 2 || ips.length * combos.length !== ts.length) return ts.map(failText).join('; ');
      const parts: string[] = [];
      for (const tr of ['udp', 'tcp'] as const) {
        const ps = [...new Set(ts.filter((t) => t.transport === tr).map((t) => t.port))];
        if (ps.length > 0) parts.push(`${tr.toUpperCase()} ${joinList(ps.map(String))}`);
      }
      const u = ts.reduce((n, t) => n + t.unanswered, 0);
      const r = ts.reduce((n, t) => n + t.rejected, 0);
      const tally = [u > 0 ? `${u} unanswered` : '', r > 0 ? `${r} rejected` : ''].filter((x) => x !== '').join(', ');
      return `${joinList(ips)} on ${joinList(parts)}: ${tally}`;
    };
    if (status === 'not-observed') {
      if (all.length === 0) {
        return `No traffic to the Umbrella resolvers (${joinList(resolvers.list())}) on UDP/TCP ${portList.join('/')} in this capture: no verdict.`;
      }
      const pend = all.reduce((s, t) => s + t.pending, 0);
      return `${plural(pend, 'query', 'queries')} to the Umbrella resolvers ${pend === 1 ? 'was' : 'were'} still waiting for an answer when the capture ended (${joinList(all.map(targetLabel))}): no verdict.`;
    }
    if (status === 'fail') {
      const q = judged.filter((t) => t.transport === 'udp').reduce((s, t) => s + t.queries + t.tcpConnections, 0);
      return `Unprotected: none of ${plural(q, 'DNS query', 'DNS queries')} to the Umbrella resolvers over UDP was answered (${failGroup(unreachable)}); the roaming module reports DNS protection "Unprotected".`;
    }
    if (status === 'warn') {
      const answered = judged.filter((t) => t.answered > 0);
      const udp53ok = answered.some((t) => t.transport === 'udp' && t.port === 53);
      const udp443 = judged.filter((t) => t.transport === 'udp' && t.port === 443);
      const unencrypted = udp53ok && udp443.length > 0 && udp443.every((t) => t.answered === 0) &&
        udp443.some((t) => verdicts.get(t) === 'unreachable');
      if (unencrypted) {
        const bad = unreachable.filter((t) => t.transport === 'udp' && t.port === 443);
        return `Unencrypted: UDP/53 to the Umbrella resolvers is answered but UDP/443 is not (${failGroup(bad)}); the roaming module can only use plain DNS and reports DNS protection "unencrypted" (DNSCrypt needs UDP 443).`;
      }
      if (unreachable.length > 0 && unreachable.every((t) => t.transport === 'tcp') && answered.some((t) => t.transport === 'udp')) {
        return `Only DNS over TCP to the Umbrella resolvers fails (${failGroup(unreachable)}); UDP is answered, so the roaming module stays protected, but answers that need TCP will fail.`;
      }
      if (unreachable.length > 0) {
        const ok = answered.map(targetLabel);
        return `Some Umbrella resolver targets fail (${failGroup(unreachable)})${ok.length > 0 ? ` while ${joinList(ok)} answered` : ''}; DNS protection depends on which resolver and port the roaming module picks.`;
      }
      const errs = errorTargets.filter((t) => t.answered === 0).map((t) => `${targetLabel(t)} (${Object.entries(t.rcodes).map(([k, v]) => `${k} ${v}`).join(', ')})`);
      return `${joinList(errs)} answered only with errors: a firewall or DNS proxy on the path may intercept DNS to the Umbrella resolvers, and the roaming module treats such answers like failed probes.`;
    }
    const q = judged.reduce((s, t) => s + t.answered, 0);
    if (q === 0) return `The Umbrella resolvers were reached (${joinList(judged.map(targetLabel))}); DNS protection can work on this network.`;
    const partial = judged.filter((t) => verdicts.get(t) === 'partial');
    const lost = partial.length > 0 ? ` (${partial.map(failText).join('; ')})` : '';
    return `The Umbrella resolvers answered: ${plural(q, 'DNS query', 'DNS queries')} answered on ${joinList(judged.map(targetLabel))}${lost}; DNS protection can work on this network.`;
  }
}

/** DNS rcode name -> number for display filters (-1 when unknown). */
function rcodeNumber(name: string): number {
  const table: Record<string, number> = {
    NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7,
    NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10,
  };
  const v = table[name];
  if (v !== undefined) return v;
  const m = /^(?:RCODE_|UNKNOWN_)(\d+)$/.exec(name);
  return m ? Number(m[1]) : -1;
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}
