// Benchmark capture generator: a classic pcap (µs, little-endian, Ethernet) of realistic
// traffic with many distinct flows, written in streaming fashion (memory stays flat).
//
// Mix (per "flow slot"): 62 % UDP DNS (query + answer to the LAN resolver, ~90 / ~150 bytes);
// 36 % TCP connections to web servers on 443/80 (handshake, 0–9 full-size data segments and
// ACKs, FIN/ACK teardown); 2 % trouble of the three kinds wirecheck diagnoses: TXT probes to
// 208.67.222.222 on UDP 443 that get no answer, SYNs to the SWG anycast address 146.112.255.50
// that are retransmitted unanswered, and GoToMeeting races to 216.115.208.0/20.
// Flows start at a steady rate over the capture's time span so that only a bounded number
// are alive at once (not all at the same time), as on a real link.
//
// Usage: node dist/test/bench/generate.js OUT.pcap SIZE_MIB [SEED]

import { closeSync, openSync, writeSync } from 'node:fs';

const ETH_IP4 = Buffer.from('0200000000010200000000020800', 'hex'); // dst, src, type IPv4

/** xorshift32: deterministic and fast (also used by tests that want reproducible inputs) */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

export interface GenerateResult {
  path: string;
  bytes: number;
  packets: number;
  flows: number;
}

function ipChecksum(b: Buffer, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (b[off + i] << 8) | b[off + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

class PcapOut {
  private buf = Buffer.allocUnsafe(8 << 20);
  private pos = 0;
  bytes = 0;
  packets = 0;
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20);
    writeSync(this.fd, h);
    this.bytes = 24;
  }

  /** Reserve room for a frame of `len` bytes at time `tUs`; returns the offset of the frame data. */
  frame(tUs: number, len: number): number {
    if (this.pos + 16 + len > this.buf.length) this.flush();
    const b = this.buf;
    const sec = Math.floor(tUs / 1e6);
    b.writeUInt32LE(sec, this.pos);
    b.writeUInt32LE(Math.floor(tUs - sec * 1e6), this.pos + 4);
    b.writeUInt32LE(len, this.pos + 8);
    b.writeUInt32LE(len, this.pos + 12);
    const off = this.pos + 16;
    this.pos = off + len;
    this.bytes += 16 + len;
    this.packets++;
    return off;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  flush(): void {
    if (this.pos > 0) writeSync(this.fd, this.buf, 0, this.pos);
    this.pos = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

interface Endpoint {
  src: number; dst: number; sport: number; dport: number;
}

function writeIpv4(b: Buffer, off: number, ep: Endpoint, reverse: boolean, proto: number, l4len: number, ttl: number, id: number): number {
  ETH_IP4.copy(b, off);
  const ip = off + 14;
  b[ip] = 0x45; b[ip + 1] = 0;
  b.writeUInt16BE(20 + l4len, ip + 2);
  b.writeUInt16BE(id & 0xffff, ip + 4);
  b.writeUInt16BE(0x4000, ip + 6);
  b[ip + 8] = ttl; b[ip + 9] = proto;
  b.writeUInt16BE(0, ip + 10);
  b.writeUInt32BE(reverse ? ep.dst : ep.src, ip + 12);
  b.writeUInt32BE(reverse ? ep.src : ep.dst, ip + 16);
  b.writeUInt16BE(ipChecksum(b, ip, 20), ip + 10);
  return ip + 20;
}

function tcp(out: PcapOut, tUs: number, ep: Endpoint, reverse: boolean, seq: number, ack: number, flags: number, payload: number, ttl: number, id: number, fill?: Buffer): void {
  const synOpts = (flags & 0x02) !== 0;
  const hdr = synOpts ? 40 : 32;
  const len = 14 + 20 + hdr + payload;
  const off = out.frame(tUs, len);
  const b = out.buffer;
  const t = writeIpv4(b, off, ep, reverse, 6, hdr + payload, ttl, id);
  b.writeUInt16BE(reverse ? ep.dport : ep.sport, t);
  b.writeUInt16BE(reverse ? ep.sport : ep.dport, t + 2);
  b.writeUInt32BE(seq >>> 0, t + 4);
  b.writeUInt32BE(ack >>> 0, t + 8);
  b[t + 12] = (hdr / 4) << 4;
  b[t + 13] = flags;
  b.writeUInt16BE(502, t + 14);
  b.writeUInt32BE(0, t + 16);
  if (synOpts) {
    // MSS 1460, SACK permitted, timestamps, NOP, window scale 7
    Buffer.from('020405b40402080a0000000000000000010303 07'.replace(/ /g, ''), 'hex').copy(b, t + 20);
  } else {
    Buffer.from('0101080a0000000000000000', 'hex').copy(b, t + 20);
  }
  if (payload > 0) {
    if (fill) fill.copy(b, t + hdr, 0, Math.min(payload, fill.length));
    else b.fill(0x61, t + hdr, t + hdr + payload);
  }
}

function encodeName(name: string): Buffer {
  const parts = name.split('.');
  const out = Buffer.alloc(name.length + 2);
  let o = 0;
  for (const p of parts) { out[o++] = p.length; out.write(p, o, 'latin1'); o += p.length; }
  out[o] = 0;
  return out;
}

function dnsMsg(id: number, name: Buffer, qtype: number, answerAddr: number | null): Buffer {
  const an = answerAddr === null ? 0 : 1;
  const b = Buffer.alloc(12 + name.length + 4 + (an ? 16 : 0));
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(answerAddr === null ? 0x0100 : 0x8180, 2);
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(an, 6);
  name.copy(b, 12);
  let o = 12 + name.length;
  b.writeUInt16BE(qtype, o); b.writeUInt16BE(1, o + 2); o += 4;
  if (an) {
    b.writeUInt16BE(0xc00c, o); b.writeUInt16BE(1, o + 2); b.writeUInt16BE(1, o + 4);
    b.writeUInt32BE(300, o + 6); b.writeUInt16BE(4, o + 10); b.writeUInt32BE(answerAddr! >>> 0, o + 12);
  }
  return b;
}

function udp(out: PcapOut, tUs: number, ep: Endpoint, reverse: boolean, payload: Buffer, ttl: number, id: number): void {
  const len = 14 + 20 + 8 + payload.length;
  const off = out.frame(tUs, len);
  const b = out.buffer;
  const u = writeIpv4(b, off, ep, reverse, 17, 8 + payload.length, ttl, id);
  b.writeUInt16BE(reverse ? ep.dport : ep.sport, u);
  b.writeUInt16BE(reverse ? ep.sport : ep.dport, u + 2);
  b.writeUInt16BE(8 + payload.length, u + 4);
  b.writeUInt16BE(0, u + 6);
  payload.copy(b, u + 8);
}

const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

const NAMES = ['www.example.com', 'api.example.net', 'cdn.example.org', 'mail.example.com', 'updates.example.net',
  'login.example.org', 'static.example.com', 'video.example.net'].map(encodeName);
const PROBE = encodeName('debug.opendns.com');

interface Pkt {
  t: number;                 // µs
  seq: number;               // tie-breaker: keeps a flow's packets in order
  ep: Endpoint;
  reverse: boolean;
  udp: Buffer | null;        // UDP payload, or null for TCP
  tseq: number; tack: number; flags: number; payload: number; ttl: number;
}

/** Min-heap of pending packets by (time, insertion order). */
class Heap {
  private a: Pkt[] = [];
  get size(): number { return this.a.length; }
  push(p: Pkt): void {
    const a = this.a;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const j = (i - 1) >> 1;
      if (less(a[j], a[i])) break;
      [a[i], a[j]] = [a[j], a[i]];
      i = j;
    }
  }
  peek(): Pkt | undefined { return this.a[0]; }
  pop(): Pkt | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
const less = (x: Pkt, y: Pkt): boolean => x.t < y.t || (x.t === y.t && x.seq < y.seq);

/**
 * Generate about `sizeMiB` MiB. Flows start at a steady rate (one every ~1 ms of capture
 * time); their packets wait in a time-ordered heap, so the file is in time order and memory
 * is bounded by the number of concurrently active flows.
 */
export function generate(path: string, sizeMiB: number, seed = 1): GenerateResult {
  const r = rng(seed);
  const out = new PcapOut(path);
  const target = sizeMiB * 1024 * 1024;
  let t = Date.UTC(2024, 7, 27, 3, 0, 0) * 1000; // µs
  let flows = 0;
  let ipid = 1;
  let order = 0;
  const lan = ip4(10, 20, 0, 53);
  const data = Buffer.alloc(1448, 0x61);
  const heap = new Heap();
  const at = (tt: number, ep: Endpoint, reverse: boolean, udpPayload: Buffer | null, tseq = 0, tack = 0, flags = 0, payload = 0, ttl = 64): void => {
    heap.push({ t: tt, seq: order++, ep, reverse, udp: udpPayload, tseq, tack, flags, payload, ttl });
  };
  const drainUntil = (limit: number): void => {
    for (let p = heap.peek(); p !== undefined && p.t <= limit; p = heap.peek()) {
      heap.pop();
      if (p.udp) udp(out, p.t, p.ep, p.reverse, p.udp, p.ttl, ipid++);
      else tcp(out, p.t, p.ep, p.reverse, p.tseq, p.tack, p.flags, p.payload, p.ttl, ipid++, p.payload > 0 ? data : undefined);
    }
  };
  while (out.bytes < target) {
    flows++;
    const client = ip4(10, 20 + ((flows >>> 16) & 0x3f), (flows >>> 8) & 0xff, (flows & 0xff) | 1);
    const sport = 1024 + (flows % 60000);
    const kind = r();
    t += 500 + Math.floor(r() * 1000);
    drainUntil(t);
    let ts = t;
    if (kind < 0.62) {
      const name = NAMES[flows & 7];
      const id = flows & 0xffff;
      const ep = { src: client, dst: lan, sport, dport: 53 };
      at(ts, ep, false, dnsMsg(id, name, 1, null));
      at(ts + 800 + Math.floor(r() * 4000), ep, true, dnsMsg(id, name, 1, ip4(93, 184, (flows >>> 8) & 0xff, flows & 0xff)), 0, 0, 0, 0, 63);
    } else if (kind < 0.98) {
      const server = ip4(93 + (flows & 7), 184, (flows >>> 8) & 0xff, 1 + (flows % 250));
      const ep = { src: client, dst: server, sport, dport: (flows & 3) === 0 ? 80 : 443 };
      const isn = Math.floor(r() * 0xffffffff);
      const rsn = Math.floor(r() * 0xffffffff);
      const rtt = 2000 + Math.floor(r() * 40000);
      at(ts, ep, false, null, isn, 0, 0x02);
      ts += rtt;
      at(ts, ep, true, null, rsn, isn + 1, 0x12, 0, 52);
      ts += 50;
      at(ts, ep, false, null, isn + 1, rsn + 1, 0x10);
      at(ts + 10, ep, false, null, isn + 1, rsn + 1, 0x18, 517);
      let rs = rsn + 1;
      const segs = Math.floor(r() * r() * 10);
      for (let i = 0; i < segs; i++) {
        ts += 300 + Math.floor(r() * 2000);
        at(ts, ep, true, null, rs, isn + 518, 0x10, 1448, 52);
        rs += 1448;
        if (i & 1) at(ts + 40, ep, false, null, isn + 518, rs, 0x10);
      }
      ts += rtt;
      at(ts, ep, false, null, isn + 518, rs, 0x11);
      at(ts + rtt, ep, true, null, rs, isn + 519, 0x11, 0, 52);
      at(ts + rtt + 40, ep, false, null, isn + 519, rs + 1, 0x10);
    } else {
      const which = flows % 3;
      if (which === 0) {
        const ep = { src: client, dst: ip4(208, 67, 222, 222), sport, dport: 443 };
        const q = dnsMsg(flows & 0xffff, PROBE, 16, null);
        for (let i = 0; i < 3; i++) { at(ts, ep, false, q); ts += 1000000; }
      } else if (which === 1) {
        const ep = { src: client, dst: ip4(146, 112, 255, 50), sport, dport: 443 };
        const isn = Math.floor(r() * 0xffffffff);
        for (let i = 0; i < 3; i++) { at(ts, ep, false, null, isn, 0, 0x02); ts += 1000000 << i; }
      } else {
        const server = ip4(216, 115, 208, 10 + (flows & 15));
        for (const port of [8200, 443, 80]) {
          const ep = { src: client, dst: server, sport: sport + (port % 7), dport: port };
          at(ts, ep, false, null, 1000, 0, 0x02);
          at(ts + 70000, ep, true, null, 5000, 1001, 0x12, 0, 50);
          at(ts + 70100, ep, false, null, 1001, 5001, 0x10);
          at(ts + 70200, ep, false, null, 1001, 5001, 0x14);
        }
      }
    }
  }
  drainUntil(Infinity);
  out.close();
  return { path, bytes: out.bytes, packets: out.packets, flows };
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''));
if (isMain) {
  const [outPath, size, seed] = process.argv.slice(2);
  if (!outPath || !size) {
    process.stderr.write('usage: generate.js OUT.pcap SIZE_MIB [SEED]\n');
    process.exitCode = 2;
  } else {
    const t0 = Date.now();
    const res = generate(outPath, Number(size), seed ? Number(seed) : 1);
    process.stdout.write(`${res.path}: ${(res.bytes / 1048576).toFixed(0)} MiB, ${res.packets} packets, ${res.flows} flows in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
}
