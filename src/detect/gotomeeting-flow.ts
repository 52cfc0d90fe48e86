// What one TCP connection showed, for the gotomeeting check: handshake facts from the flow
// record, and what came back first (TLS certificate, HTTP status and proxy headers, a reset
// or FIN right after the client's first bytes) from the first bytes of each direction.
// Copied out of the FlowRecord at onFlowEnd (the table reuses records and releases streams).

import type { FlowRecord, StreamCapture } from '../flow/types.js';
import { TH_SYN } from '../decode/packet.js';
import { decodeHttpRequest, decodeHttpResponse, sniffHttp, urlHost } from '../decode/http.js';
import { decodeTlsStream, describeCertificate, sniffTls, type CertInfo, type TlsStream } from '../decode/tls.js';
import { hopsOf, hostOnly } from './proxy-signals.js';
import { createHash } from 'node:crypto';

/** Per-flow state of a candidate flow (onPacket): where each direction's payload bytes end, per frame. */
export interface SegMap {
  /** sequence number before the first payload byte per direction (ISN), -1 until known */
  isn: [number, number];
  /** pairs (end offset of the segment's bytes in the stream, frame), increasing, bounded */
  seg: [number[], number[]];
}

const MAX_SEGS = 64 * 2;

export function newSegMap(): SegMap {
  return { isn: [-1, -1], seg: [[], []] };
}

/** onPacket bookkeeping for a candidate flow (cheap; stops after 64 data segments a direction). */
export function segMapPacket(m: SegMap, dir: 0 | 1, flags: number, seq: number, payloadLen: number, frameNo: number): void {
  if ((flags & TH_SYN) !== 0) { if (m.isn[dir] < 0) m.isn[dir] = seq; return; }
  if (payloadLen <= 0) return;
  const segs = m.seg[dir];
  if (segs.length >= MAX_SEGS) return;
  if (m.isn[dir] < 0) m.isn[dir] = (seq - 1) >>> 0;
  const start = ((seq - m.isn[dir] - 1) >>> 0);
  if (start > 0x40000000) return;                  // before the stream start (odd retransmission)
  const end = start + payloadLen;
  if (segs.length === 0 || end > segs[segs.length - 2]) segs.push(end, frameNo);
}

/** Frame holding stream byte `offset` of a direction, or -1. */
export function frameAt(m: SegMap | null, dir: 0 | 1, offset: number): number {
  if (m === null || offset < 0) return -1;
  const segs = m.seg[dir];
  for (let i = 0; i < segs.length; i += 2) if (segs[i] > offset) return segs[i + 1];
  return -1;
}

export interface TlsSeen {
  version: number;                 // negotiated (ServerHello), -1 when no ServerHello
  encrypted: boolean;              // TLS 1.3: certificate not visible
  issuer: string | null;
  issuerCN: string | null;
  subject: string | null;
  san: string[];
  /** frame of the certificate (or ServerHello when the certificate is not visible) */
  frame: number;
  alert: number;                   // alert description, -1 when none
}

export interface HttpSeen {
  status: number;
  location: string | null;
  locationHost: string | null;
  via: string | null;
  server: string | null;
  wwwAuthenticate: string[];
  proxyAuthenticate: string[];
  frame: number;
}

export interface ConnObs {
  client: string;
  server: string;
  port: number;
  v6: boolean;
  state: string;
  history: string;
  firstFrame: number;
  lastFrame: number;
  tsSec: number;
  tsNsec: number;
  lastTsSec: number;
  lastTsNsec: number;
  firstMs: number;
  lastMs: number;
  synFrames: number[];
  synCount: number;
  synAckFrame: number;
  synAckTtl: number;
  hops: number;
  /** SYN-ACK time minus the SYN it answers (the last SYN before it), ms; -1 when none */
  rttMs: number;
  rstFrame: number;
  rstDir: number;
  icmpFrames: number[];
  clientData: boolean;
  serverData: boolean;
  serverDataFrame: number;
  /** the server reset or closed right after the client's first bytes, without sending any */
  resetAfterData: { frame: number; ms: number; kind: 'RST' | 'FIN' } | null;
  sni: string | null;
  httpHost: string | null;
  /** CONNECT host:port or absolute-form request: the client spoke to an explicit proxy */
  explicit: { host: string; port: number } | null;
  tls: TlsSeen | null;
  http: HttpSeen | null;
}

/** Certificate descriptions by DER digest, bounded (the same chain repeats across connections). */
export class CertCache {
  private readonly map = new Map<string, CertInfo | null>();
  constructor(private readonly max = 512) {}
  describe(der: Buffer): CertInfo | null {
    const key = createHash('sha1').update(der).digest('base64');
    const hit = this.map.get(key);
    if (hit !== undefined) return hit;
    const d = describeCertificate(der);
    const v = 'code' in d ? null : d;
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, v);
    return v;
  }
}

function bytesOf(s: StreamCapture | undefined): Buffer | null {
  if (s === undefined || s.length <= 0) return null;
  return s.bytes.subarray(0, s.length);
}

export function observeFlow(flow: FlowRecord, segs: SegMap | null, certs: CertCache, resetWindowMs: number): ConnObs {
  const st = flow.synTimesMs;
  let rtt = -1;
  if (flow.synToSynAckMs >= 0 && st.length > 0) {
    const sa = st[0] + flow.synToSynAckMs;
    let last = st[0];
    for (let k = 1; k < st.length; k++) if (st[k] <= sa) last = st[k];
    rtt = sa - last;
  }
  const o: ConnObs = {
    client: flow.id.orig_h, server: flow.id.resp_h, port: flow.id.resp_p, v6: flow.ipVersion === 6,
    state: flow.conn_state ?? 'OTH', history: flow.history,
    firstFrame: flow.synFrames.length > 0 ? flow.synFrames[0] : Math.min(...[flow.dir[0].firstFrame, flow.dir[1].firstFrame].filter((f) => f > 0)),
    lastFrame: Math.max(flow.dir[0].lastFrame, flow.dir[1].lastFrame),
    tsSec: flow.tsSec, tsNsec: flow.tsNsec, lastTsSec: flow.lastTsSec, lastTsNsec: flow.lastTsNsec,
    firstMs: flow.firstMs, lastMs: flow.lastMs,
    synFrames: flow.synFrames.slice(0, 20), synCount: flow.synCount,
    synAckFrame: flow.synAckFrame, synAckTtl: flow.synAckTtl, hops: hopsOf(flow.synAckTtl), rttMs: rtt,
    rstFrame: flow.rstFrame, rstDir: flow.rstDir,
    icmpFrames: flow.icmpErrors.map((e) => e.frameNo),
    clientData: flow.firstDataFrame[0] > 0, serverData: flow.firstDataFrame[1] > 0,
    serverDataFrame: flow.firstDataFrame[1],
    resetAfterData: null, sni: null, httpHost: null, explicit: null, tls: null, http: null,
  };
  if (!Number.isFinite(o.firstFrame)) o.firstFrame = -1;

  // reset / FIN from the server right after the client's first bytes, before any server data
  const cd = flow.firstDataFrame[0];
  const sd = flow.firstDataFrame[1];
  if (cd > 0) {
    const cdMs = flow.firstDataMs[0];
    if (flow.rstFrame > cd && flow.rstDir === 1 && !(sd > 0 && sd < flow.rstFrame) && st.length > 0 && flow.rstAfterSynMs >= 0) {
      const ms = st[0] + flow.rstAfterSynMs - cdMs;
      if (ms <= resetWindowMs) o.resetAfterData = { frame: flow.rstFrame, ms, kind: 'RST' };
    } else if (flow.finFrame[1] > cd && !(sd > 0 && sd < flow.finFrame[1]) && flow.rstFrame !== flow.finFrame[1]) {
      const ms = flow.lastMs - cdMs;           // no FIN time in the record: bounded by the flow's end
      if (ms <= resetWindowMs) o.resetAfterData = { frame: flow.finFrame[1], ms, kind: 'FIN' };
    }
  }

  const streams = flow.streams;
  if (streams === null) return o;
  const c = bytesOf(streams[0]);
  const s = bytesOf(streams[1]);
  let clientRest = -1;       // where tunnelled bytes start after a CONNECT request
  if (c !== null) {
    if (sniffTls(c, 0)) {
      const t = decodeTlsStream(c, 0);
      if (!('code' in t) && t.clientHello !== null) o.sni = t.clientHello.sni;
    } else if (sniffHttp(c, 0) === 'request') {
      const r = decodeHttpRequest(c, 0);
      if (!('code' in r)) {
        o.httpHost = r.host !== null ? hostOnly(r.host) : null;
        if (r.connect !== null) { o.explicit = { host: r.connect.host, port: r.connect.port }; clientRest = r.headEnd; }
        else if (r.absoluteForm && r.host !== null) o.explicit = { host: hostOnly(r.host), port: 80 };
      }
    }
    if (clientRest > 0 && clientRest < c.length && sniffTls(c, clientRest)) {
      const t = decodeTlsStream(c, clientRest);
      if (!('code' in t) && t.clientHello !== null) o.sni = t.clientHello.sni;
    }
  }
  if (s !== null) {
    if (sniffTls(s, 0)) {
      o.tls = tlsSeen(decodeTlsStream(s, 0), segs, streams[1], certs);
    } else if (sniffHttp(s, 0) === 'response') {
      const r = decodeHttpResponse(s, 0);
      if (!('code' in r)) {
        const endByte = r.headEnd > 0 ? r.headEnd - 1 : 0;
        const f = frameAt(segs, 1, endByte);
        o.http = {
          status: r.status, location: r.location, locationHost: r.location !== null ? urlHost(r.location) : null,
          via: r.via, server: r.server, wwwAuthenticate: r.wwwAuthenticate, proxyAuthenticate: r.proxyAuthenticate,
          frame: f > 0 ? f : firstFrameOf(streams[1], sd),
        };
        if (o.explicit !== null && r.status >= 200 && r.status < 300 && r.headEnd > 0 && r.headEnd < s.length && sniffTls(s, r.headEnd)) {
          o.tls = tlsSeen(decodeTlsStream(s, r.headEnd), segs, streams[1], certs);
        }
      }
    }
  }
  return o;
}

function firstFrameOf(s: StreamCapture, fallback: number): number {
  return s.frames.length > 0 ? s.frames[0] : fallback;
}

function tlsSeen(t: TlsStream | { code: string }, segs: SegMap | null, s: StreamCapture, certs: CertCache): TlsSeen | null {
  if ('code' in t) return null;
  if (t.serverHello === null && t.alert === null) return null;
  const out: TlsSeen = {
    version: t.serverHello?.version ?? -1, encrypted: t.encrypted && t.certificates.length === 0,
    issuer: null, issuerCN: null, subject: null, san: [], frame: -1, alert: t.alert?.description ?? -1,
  };
  let at = t.handshakes.length > 0 ? t.handshakes[0].offset : 0;
  if (t.certificates.length > 0) {
    const info = certs.describe(t.certificates[0]);
    if (info !== null) {
      out.issuer = info.issuer; out.issuerCN = info.issuerCN; out.subject = info.subject; out.san = info.san.slice(0, 8);
    }
    at = t.certificateEnd > 0 ? t.certificateEnd - 1 : at;
  }
  const f = frameAt(segs, 1, at);
  out.frame = f > 0 ? f : firstFrameOf(s, -1);
  return out;
}
