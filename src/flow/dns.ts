// The shared DNS service (design.md "flow/"; conventions.md rule 7).
//
// The flow table hands it the payloads of the flows where DNS is decoded (either port 53; a
// configured resolver address on a configured port, e.g. UDP/443 to 208.67.222.222, which is
// plain DNS there whatever tshark calls it; or a flow an observer asked WANT_DNS for). It
// decodes messages (with the fast reader of dns-wire.ts, falling back to `dns-packet` for
// anything it does not accept; dns-packet costs about 3 µs a message), pairs queries with
// responses per flow, and hands every query on exactly once as a DnsTransaction:
//
// - pairing: query <-> response by flow + DNS id (+ question name/type when both have one);
//   a query repeated with the same id and question before any response is a retransmission
//   of the same transaction (retransmits++, frame appended to queryFrames);
// - response within `dnsAnswerMs` of the FIRST query frame: 'answered' (rttMs from the first
//   query); later: 'late'; rcode SERVFAIL/REFUSED/NOTIMP/FORMERR: 'error' (NXDOMAIN and
//   NOERROR are answers); ICMP unreachable quoting the query: 'rejected' (with `icmp`); a TCP
//   reset from the server while queries wait: 'rejected' (with `tcpReset`);
// - still pending when the flow ends (expiry, eviction, end of input): 'unanswered' when
//   older than dnsAnswerMs at that moment, else 'pending' (`finalize`);
// - at most `maxPending` (50, Zeek's max_pending_msgs) waiting queries per flow: the oldest
//   is judged as at flow end and dns/PENDING_OVERFLOW counted;
// - DNSCrypt: a datagram that does not parse as DNS, sent to the server and at least 256
//   bytes long (a padded client query), or a datagram from the server starting with the
//   resolver magic 'r6fnvWj8', is encrypted traffic, not a decode error: encrypted queries
//   become transactions with `encrypted: true` (question null, id -1), paired in order with
//   encrypted responses on the same flow;
// - snap-truncated payloads are never decoded into wrong data: the id (and QR bit, rcode) is
//   read from the header when captured, the question stays null, `truncated: true`;
// - malformed messages (dns-packet throws anything, including RangeError): anomaly
//   dns/MALFORMED with the frame; nothing crashes;
// - TCP: two-byte length prefix, messages reassembled across segments per direction,
//   in order only (64 KiB + 2 per message is the protocol's own bound); on a gap the
//   direction's DNS state is dropped and dns/TCP_GAP counted.
//
// Responses also go to every observer's onDnsResponse and into the name cache. A response
// that matches no query (normal when a capture starts mid-way) only counts in `stats`.
//
// Costs (every DNS datagram of a capture passes here; 62 % of the benchmark's flows): the
// packet's fields are kept in the service while its payload is decoded (no context object
// per message); the reader's result object is reused (its question, shared between
// messages, and its answers are what escapes); a waiting query is its DnsTransaction itself
// (with the direction and wire id beside the public fields, no holder object); queries and
// answerless responses share one frozen empty answer list; the name cache is taught through
// learnNormalized (the readers' names and addresses are already normal). What a query and
// its response allocate is what observers receive: the transaction with its queryFrames,
// the response event, the answer list and its records.

import dnsPacket from 'dns-packet';
import type { AnomalySink } from '../errors.js';
import type { Packet } from '../decode/packet.js';
import { canonicalIp } from '../decode/addr.js';
import type {
  DnsAnswerRecord, DnsOutcome, DnsQuestion, DnsResponseEvent, DnsTransaction, FlowObserver, FlowRecord,
  FlowTimeouts, IcmpErrorRef,
} from './types.js';
import type { NameCache } from './names.js';
import { normalizeName } from './names.js';
import { EMPTY_ANSWERS, readDnsMessage, type WireMessage } from './dns-wire.js';

export const DNS_MAX_PENDING = 50;
const MAX_QUERY_FRAMES = 16;
const DNSCRYPT_MIN_QUERY = 256;
/** 'r6fnvWj8': first 8 bytes of every DNSCrypt response */
const DNSCRYPT_RESOLVER_MAGIC = Buffer.from('r6fnvWj8', 'latin1');
const UMBRELLA_EDNS_CODES = new Set([0x6942, 4]);

export interface DnsServiceOptions {
  timeouts: FlowTimeouts;
  anomalies: AnomalySink;
  names: NameCache;
  observers: readonly FlowObserver[];
  maxPending?: number;
}

export interface DnsStats {
  /** distinct queries (transactions started) */
  queries: number;
  retransmits: number;
  responses: number;
  /** responses that matched no waiting query */
  unsolicited: number;
  malformed: number;
  encryptedQueries: number;
  encryptedResponses: number;
  truncated: number;
  byOutcome: Record<DnsOutcome, number>;
}

/**
 * A waiting query: the transaction handed to observers once judged, with two fields of the
 * service's own (one object per query; observers see them too, typed away).
 */
interface Pending extends DnsTransaction {
  /** direction the query was sent in (0 = from the flow's originator) */
  readonly queryDir: 0 | 1;
  /** first two payload bytes as sent (the DNS id; for encrypted queries part of the magic) */
  readonly wireId: number;
}

/** The pending list of a flow where no query waits: most DNS flows are one query, so the
 * first waiting query gets a list of its own of length 1 (no empty list grown on push). */
const NO_PENDING: Pending[] = Object.freeze([]) as unknown as Pending[];

/** In-order reassembly of length-prefixed DNS messages of one TCP direction. */
class TcpDnsDir {
  nextSeq = 0;
  started = false;
  dead = false;
  /** current message: length-prefix bytes and body */
  hdr = Buffer.alloc(2);
  hdrHave = 0;
  msg: Buffer | null = null;
  msgLen = 0;
  msgHave = 0;
  /** the current message includes bytes the capture did not hold (snap length) */
  tainted = false;
  /** when tainted: how many of its first bytes were captured */
  known = 0;
}

/** Per-flow DNS state, owned by the flow (the table keeps it beside the flow). */
export class DnsFlowState {
  /** waiting queries, oldest first (NO_PENDING, shared and frozen, while none waits) */
  pending: Pending[] = NO_PENDING;
  /** TCP: reassembly per direction (0 = from the originator), made on the first segment */
  tcp0: TcpDnsDir | null = null;
  tcp1: TcpDnsDir | null = null;
  constructor(readonly transport: 'udp' | 'tcp', readonly serverDir: 0 | 1) {}
}

export class DnsService {
  readonly stats: DnsStats = {
    queries: 0, retransmits: 0, responses: 0, unsolicited: 0, malformed: 0, encryptedQueries: 0,
    encryptedResponses: 0, truncated: 0,
    byOutcome: { answered: 0, late: 0, unanswered: 0, pending: 0, rejected: 0, error: 0 },
  };
  private readonly maxPending: number;
  private readonly txObservers: FlowObserver[];
  private readonly respObservers: FlowObserver[];
  // The packet whose payload is being decoded (set by onPayload; no per-message object):
  // its flow, direction (0 = from the originator), frame, time (exact and ms).
  private flow: FlowRecord | null = null;
  private dir: 0 | 1 = 0;
  private frameNo = 0;
  private tsSec = 0;
  private tsNsec = 0;
  private ms = 0;

  constructor(private readonly opts: DnsServiceOptions) {
    this.maxPending = Math.max(1, opts.maxPending ?? DNS_MAX_PENDING);
    this.txObservers = opts.observers.filter((o) => typeof o.onDnsTransaction === 'function');
    this.respObservers = opts.observers.filter((o) => typeof o.onDnsResponse === 'function');
  }

  newFlowState(transport: 'udp' | 'tcp', serverDir: 0 | 1): DnsFlowState {
    return new DnsFlowState(transport, serverDir);
  }

  /**
   * One UDP datagram or TCP segment of a DNS flow (payload [payloadOff, payloadEnd) of
   * `pkt`, valid only during the call). `dir` 0 = sent by the flow's originator.
   */
  onPayload(st: DnsFlowState, flow: FlowRecord, pkt: Packet, dir: 0 | 1, ms: number): void {
    const claimed = pkt.payloadLen;
    if (claimed <= 0) return;
    this.flow = flow;
    this.dir = dir;
    this.frameNo = pkt.frameNo;
    this.tsSec = pkt.tsSec;
    this.tsNsec = pkt.tsNsec;
    this.ms = ms;
    if (st.transport === 'udp') {
      const off = pkt.payloadOff, end = pkt.payloadEnd;
      this.onMessage(st, pkt.data, off, end, end - off < claimed, -1);
    } else {
      this.onTcpSegment(st, pkt);
    }
  }

  // ---------------------------------------------------------------------------------------
  // TCP reassembly

  private onTcpSegment(st: DnsFlowState, pkt: Packet): void {
    const claimed = pkt.payloadLen;
    let d = this.dir === 0 ? st.tcp0 : st.tcp1;
    if (d === null) {
      d = new TcpDnsDir();
      if (this.dir === 0) st.tcp0 = d;
      else st.tcp1 = d;
    }
    if (d.dead) return;
    const seq = pkt.seq >>> 0;
    if (!d.started) { d.started = true; d.nextSeq = seq; }
    const delta = (seq - d.nextSeq) | 0;
    if (delta > 0) {
      d.dead = true;
      d.msg = null;
      this.opts.anomalies.add('dns', 'TCP_GAP', this.frameNo,
        'DNS over TCP: a segment is missing (or out of order); later messages of this direction are not decoded');
      return;
    }
    const skip = -delta;
    if (skip >= claimed) return;                    // retransmission
    d.nextSeq = (seq + claimed) >>> 0;
    const data = pkt.data;
    const capEnd = pkt.payloadEnd;
    // walk the new bytes [pos, pos + n); bytes at or past capEnd were not captured
    let pos = pkt.payloadOff + skip;
    const end = pkt.payloadOff + claimed;
    while (pos < end) {
      if (d.msg === null) {
        // length prefix
        if (pos >= capEnd) {
          // prefix not captured: its value is unknown, the stream cannot be followed
          d.dead = true;
          return;
        }
        d.hdr[d.hdrHave++] = data[pos++];
        if (d.hdrHave < 2) continue;
        d.hdrHave = 0;
        d.msgLen = d.hdr.readUInt16BE(0);
        d.msgHave = 0;
        d.tainted = false;
        if (d.msgLen === 0) continue;
        // fast path: the whole message is captured inside this segment
        if (end - pos >= d.msgLen && capEnd - pos >= d.msgLen) {
          this.onMessage(st, data, pos, pos + d.msgLen, false, -1);
          pos += d.msgLen;
          continue;
        }
        d.msg = Buffer.allocUnsafe(d.msgLen);
      }
      const n = Math.min(end - pos, d.msgLen - d.msgHave);
      const capN = Math.max(0, Math.min(n, capEnd - pos));
      if (capN > 0) d.msg.set(data.subarray(pos, pos + capN), d.msgHave);
      if (capN < n && !d.tainted) { d.tainted = true; d.known = d.msgHave + capN; }
      d.msgHave += n;
      pos += n;
      if (d.msgHave === d.msgLen) {
        const m = d.msg;
        d.msg = null;
        this.onMessage(st, m, 0, m.length, d.tainted, d.tainted ? d.known : -1);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Messages

  /**
   * One whole DNS message in buf[off, end) of the current packet (`truncated`: the capture
   * holds only those first bytes of it, or for TCP, when `known` >= 0, only a prefix of
   * `known` bytes).
   */
  private onMessage(st: DnsFlowState, data: Buffer, off: number, end: number, truncated: boolean, known: number): void {
    if (truncated) {
      const n = (known < 0 ? end : off + known) - off;
      this.stats.truncated++;
      const id = n >= 2 ? (data[off] << 8) | data[off + 1] : -1;
      const qr = n >= 3 ? (data[off + 2] & 0x80) !== 0 : this.dir === st.serverDir;
      const rcode = n >= 4 ? data[off + 3] & 0x0f : -1;
      if (!qr) this.onQuery(st, id, n >= 2 ? id : -1, null, false, false, true);
      else this.onResponse(st, id, rcode >= 0 ? rcodeName(rcode) : null, null, EMPTY_ANSWERS, false, true);
      return;
    }
    const fromServer = this.dir === st.serverDir;
    if (fromServer && end - off >= 8 && startsWithMagic(data, off)) {
      this.stats.encryptedResponses++;
      this.onResponse(st, -1, null, null, EMPTY_ANSWERS, true, false);
      return;
    }
    let w = readDnsMessage(data, off, end);
    if (w === null) {
      // not accepted by the fast reader: dns-packet decides (it is the reference decoder)
      const buf = data.subarray(off, end);
      try {
        w = decodeWithDnsPacket(buf);
      } catch (e) {
        if (!fromServer && buf.length >= DNSCRYPT_MIN_QUERY) {
          this.stats.encryptedQueries++;
          this.onQuery(st, -1, buf.readUInt16BE(0), null, false, true, false);
          return;
        }
        this.stats.malformed++;
        this.opts.anomalies.add('dns', 'MALFORMED', this.frameNo,
          `DNS message does not decode: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
    // w may be the reader's reused object: its fields are passed on, w itself is not kept
    if (!w.qr) this.onQuery(st, w.id, w.id, w.question, w.umbrellaEdns, false, false);
    else this.onResponse(st, w.id, w.rcode, w.question, w.answers, false, false);
  }

  private onQuery(
    st: DnsFlowState, id: number, wireId: number, question: DnsQuestion | null,
    umbrellaEdns: boolean, encrypted: boolean, truncated: boolean,
  ): void {
    const dir = this.dir;
    const pending = st.pending;
    // a retransmission: same direction, id and question, still waiting
    if (!encrypted && id >= 0) {
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i];
        if (p.queryDir !== dir || p.id !== id || p.encrypted) continue;
        if (!sameQuestion(p.question, question)) continue;
        const tx = p;
        tx.retransmits++;
        this.stats.retransmits++;
        if (tx.queryFrames.length < MAX_QUERY_FRAMES) tx.queryFrames.push(this.frameNo);
        tx.lastQueryTsSec = this.tsSec;
        tx.lastQueryTsNsec = this.tsNsec;
        if (umbrellaEdns) tx.umbrellaEdns = true;
        if (tx.question === null && question !== null) { tx.question = question; tx.truncated = false; }
        return;
      }
    }
    const f = this.flow as FlowRecord;
    const clientIsOrig = dir === 0;
    const fid = f.id;
    const tx: Pending = {
      flow: f,
      transport: st.transport,
      client: clientIsOrig ? fid.orig_h : fid.resp_h,
      clientPort: clientIsOrig ? fid.orig_p : fid.resp_p,
      server: clientIsOrig ? fid.resp_h : fid.orig_h,
      serverPort: clientIsOrig ? fid.resp_p : fid.orig_p,
      id,
      question,
      queryFrames: [this.frameNo],
      retransmits: 0,
      firstQueryMs: this.ms,
      firstQueryTsSec: this.tsSec,
      firstQueryTsNsec: this.tsNsec,
      lastQueryTsSec: this.tsSec,
      lastQueryTsNsec: this.tsNsec,
      outcome: 'pending',
      responseFrame: -1,
      rttMs: -1,
      rcode: null,
      answers: EMPTY_ANSWERS,
      encrypted,
      truncated,
      icmp: null,
      tcpReset: false,
      umbrellaEdns,
      queryDir: dir,
      wireId,
    };
    this.stats.queries++;
    if (pending === NO_PENDING) {
      st.pending = [tx];
      return;
    }
    pending.push(tx);
    if (pending.length > this.maxPending) {
      const oldest = pending.shift() as Pending;
      this.opts.anomalies.add('dns', 'PENDING_OVERFLOW', this.frameNo,
        `more than ${this.maxPending} DNS queries waiting on one flow: the oldest was judged early`);
      this.judgeWaiting(oldest, this.ms);
    }
  }

  private onResponse(
    st: DnsFlowState, id: number, rcode: string | null, question: DnsQuestion | null,
    answers: DnsAnswerRecord[], encrypted: boolean, truncated: boolean,
  ): void {
    this.stats.responses++;
    const f = this.flow as FlowRecord;
    const frameNo = this.frameNo;
    // the name cache first, so observers of the transaction see what the answer taught
    // (the readers give normal names and addresses: the cache need not normalize them)
    if (answers.length > 0) {
      const names = this.opts.names;
      if (names.learnNormalized !== undefined) names.learnNormalized(frameNo, answers);
      else names.learn(frameNo, answers);
    }
    if (this.respObservers.length > 0 && !encrypted) {
      const serverIsOrig = this.dir === 0;
      const ev: DnsResponseEvent = {
        flow: f, frameNo, tsMs: this.ms,
        server: serverIsOrig ? f.id.orig_h : f.id.resp_h,
        client: serverIsOrig ? f.id.resp_h : f.id.orig_h,
        id, rcode: rcode ?? 'UNKNOWN', question, answers,
      };
      const obs = this.respObservers;
      for (let k = 0; k < obs.length; k++) obs[k].onDnsResponse!(ev);
    }
    const pending = st.pending;
    let hit = -1;
    const want = this.dir === 0 ? 1 : 0;
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i];
      if (p.queryDir !== want || p.encrypted !== encrypted) continue;
      if (!encrypted) {
        if (p.id !== id) continue;
        if (p.question !== null && question !== null && !sameQuestion(p.question, question)) continue;
      }
      hit = i;
      break;
    }
    if (hit < 0) { this.stats.unsolicited++; return; }
    const tx = pending[hit];
    if (hit === pending.length - 1) pending.pop();
    else pending.splice(hit, 1);
    tx.responseFrame = frameNo;
    tx.rttMs = this.ms - tx.firstQueryMs;
    tx.rcode = rcode;
    tx.answers = answers;
    if (truncated && tx.question === null) tx.truncated = true;
    let outcome: DnsOutcome;
    if (rcode !== null && isErrorRcode(rcode)) outcome = 'error';
    else outcome = tx.rttMs <= this.opts.timeouts.dnsAnswerMs ? 'answered' : 'late';
    this.deliver(tx, outcome);
  }

  // ---------------------------------------------------------------------------------------
  // Rejections and the end of a flow

  /**
   * An ICMP/ICMPv6 error quoting a packet of this flow. Destination-unreachable errors reject
   * the waiting query they quote: matched by the quoted DNS id (the first two payload bytes);
   * when the quote is too short to hold them, the oldest query waiting in that direction.
   */
  onIcmpError(st: DnsFlowState, flow: FlowRecord, ref: IcmpErrorRef, dir: 0 | 1): void {
    if (!isUnreachable(ref)) return;
    let hit = -1;
    for (let i = 0; i < st.pending.length; i++) {
      const p = st.pending[i];
      if (p.queryDir !== dir || p.firstQueryMs > ref.tsMs) continue;
      if (ref.quoted.dnsId >= 0 && p.wireId !== ref.quoted.dnsId) continue;
      hit = i;
      break;
    }
    if (hit < 0) return;
    const tx = st.pending[hit];
    void flow;
    st.pending.splice(hit, 1);
    tx.icmp = ref;
    this.deliver(tx, 'rejected');
  }

  /** A TCP reset sent by the server side: every query still waiting on the flow was refused. */
  onTcpReset(st: DnsFlowState, fromDir: 0 | 1): void {
    if (fromDir !== st.serverDir) return;
    const all = st.pending;
    if (all.length === 0) return;
    const rest: Pending[] = [];
    st.pending = NO_PENDING;
    for (const p of all) {
      if (p.queryDir === fromDir) { rest.push(p); continue; }
      p.tcpReset = true;
      this.deliver(p, 'rejected');
    }
    if (rest.length > 0) st.pending = rest;
  }

  /** The flow ends at `nowMs`: judge every waiting query (nothing is lost). */
  finalize(st: DnsFlowState, nowMs: number): void {
    const list = st.pending;
    st.pending = NO_PENDING;
    for (const p of list) this.judgeWaiting(p, nowMs);
    st.tcp0 = null;
    st.tcp1 = null;
  }

  private judgeWaiting(tx: DnsTransaction, nowMs: number): void {
    this.deliver(tx, nowMs - tx.firstQueryMs > this.opts.timeouts.dnsAnswerMs ? 'unanswered' : 'pending');
  }

  private deliver(tx: DnsTransaction, outcome: DnsOutcome): void {
    tx.outcome = outcome;
    this.stats.byOutcome[outcome]++;
    const obs = this.txObservers;
    for (let k = 0; k < obs.length; k++) obs[k].onDnsTransaction!(tx);
  }
}

// -----------------------------------------------------------------------------------------
// helpers

function startsWithMagic(b: Uint8Array, off: number): boolean {
  for (let k = 0; k < 8; k++) if (b[off + k] !== DNSCRYPT_RESOLVER_MAGIC[k]) return false;
  return true;
}

/** SERVFAIL, REFUSED, NOTIMP, FORMERR: the resolver failed (NXDOMAIN and NOERROR are answers). */
function isErrorRcode(r: string): boolean {
  return r === 'SERVFAIL' || r === 'REFUSED' || r === 'NOTIMP' || r === 'FORMERR';
}

function rcodeName(n: number): string {
  switch (n) {
    case 0: return 'NOERROR';
    case 1: return 'FORMERR';
    case 2: return 'SERVFAIL';
    case 3: return 'NXDOMAIN';
    case 4: return 'NOTIMP';
    case 5: return 'REFUSED';
    default: return 'RCODE_' + n;
  }
}

/**
 * dns-packet's reading of a message in the fast reader's shape (answers only for responses,
 * the Umbrella EDNS option only for queries). Throws whatever dns-packet throws.
 */
export function decodeWithDnsPacket(buf: Buffer): WireMessage {
  const msg = dnsPacket.decode(buf);
  const q0 = msg.questions && msg.questions.length > 0 ? msg.questions[0] : undefined;
  const question: DnsQuestion | null = q0 ? {
    name: normalizeName(String(q0.name)), type: String(q0.type), class: String(q0.class ?? 'IN'),
  } : null;
  const qr = !!msg.flag_qr;
  const answers: DnsAnswerRecord[] = [];
  if (qr && msg.answers) for (const a of msg.answers) answers.push(toAnswerRecord(a));
  return {
    id: msg.id ?? 0, qr, rcode: String((msg as { rcode?: string }).rcode ?? 'NOERROR'), question, answers,
    umbrellaEdns: !qr && hasUmbrellaEdns(msg),
  };
}

function sameQuestion(a: DnsQuestion | null, b: DnsQuestion | null): boolean {
  if (a === b) return true;                   // the reader shares question objects
  if (a === null || b === null) return false;
  return a.name === b.name && a.type === b.type;
}

function isUnreachable(ref: IcmpErrorRef): boolean {
  if (ref.ipVersion === 4) return ref.type === 3 && ref.code !== 4;   // code 4: fragmentation needed (PMTU)
  return ref.type === 1;
}

function hasUmbrellaEdns(msg: dnsPacket.DecodedPacket): boolean {
  const add = msg.additionals;
  if (!add) return false;
  for (const a of add) {
    if (a.type !== 'OPT') continue;
    const opts = (a as { options?: { code: number }[] }).options;
    if (opts) for (const o of opts) if (UMBRELLA_EDNS_CODES.has(o.code)) return true;
  }
  return false;
}

function toAnswerRecord(a: dnsPacket.Answer): DnsAnswerRecord {
  const type = String(a.type);
  const rec: DnsAnswerRecord = {
    name: normalizeName(String(a.name)), type, ttl: (a as { ttl?: number }).ttl ?? 0, data: '',
  };
  const data = (a as { data?: unknown }).data;
  switch (type) {
    case 'A': case 'AAAA':
      if (typeof data === 'string') rec.data = canonicalIp(data) ?? data;
      break;
    case 'CNAME': case 'NS': case 'PTR': case 'DNAME':
      if (typeof data === 'string') rec.data = normalizeName(data);
      break;
    case 'TXT': {
      const parts = Array.isArray(data) ? data : [data];
      rec.data = parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p ?? ''))).join(' ');
      break;
    }
    default:
      break;
  }
  return rec;
}
