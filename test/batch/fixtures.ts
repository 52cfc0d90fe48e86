// Crafted captures for the batch tests and the batch benchmark: tiny scenario captures
// (written with src/source/writer.ts) and a folder mixing every kind of file batch must
// handle.
//
// Frames are Ethernet II + IPv4 (header checksum right) + UDP (checksum 0, allowed on
// IPv4) or TCP (checksum right over the pseudo header). Addresses: clients in 10.0.0.0/24,
// a LAN resolver 10.0.0.1; the Umbrella resolver 208.67.222.222 and the SWG anycast
// 146.112.255.50 appear only inside these files (nothing is sent anywhere).

import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import dnsPacket from 'dns-packet';
import { PcapWriter, PcapngWriter, type FrameToWrite } from '../../src/source/writer.js';
import { capturesDir } from '../helpers/env.js';

const MAC = Buffer.from('020000000001020000000002', 'hex');

function ip4(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

function sum16(b: Buffer, off: number, len: number, start = 0): number {
  let s = start;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function ipv4(src: string, dst: string, proto: number, payload: Buffer, ttl = 64, id = 1): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(id & 0xffff, 4);
  h[8] = ttl;
  h[9] = proto;
  ip4(src).copy(h, 12);
  ip4(dst).copy(h, 16);
  h.writeUInt16BE(~sum16(h, 0, 20) & 0xffff, 10);
  return Buffer.concat([MAC, Buffer.from([0x08, 0x00]), h, payload]);
}

export function udpFrame(src: string, sport: number, dst: string, dport: number, payload: Buffer, ttl = 64): Buffer {
  const u = Buffer.alloc(8);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(8 + payload.length, 4);
  return ipv4(src, dst, 17, Buffer.concat([u, payload]), ttl);
}

export const SYN = 0x02, ACK = 0x10, RST = 0x04, FIN = 0x01, PSH = 0x08;

export function tcpFrame(src: string, sport: number, dst: string, dport: number, seq: number, ack: number, flags: number, payload: Buffer = Buffer.alloc(0), ttl = 64): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(sport, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t.writeUInt32BE(ack >>> 0, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(64240, 14);
  const seg = Buffer.concat([t, payload]);
  const pseudo = Buffer.concat([ip4(src), ip4(dst), Buffer.from([0, 6, seg.length >> 8, seg.length & 0xff])]);
  const s = sum16(seg, 0, seg.length, sum16(pseudo, 0, pseudo.length));
  seg.writeUInt16BE(~s & 0xffff, 16);
  return ipv4(src, dst, 6, seg, ttl);
}

function txtQuery(id: number, name: string): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'TXT', name }] });
}

function aAnswer(id: number, name: string, addr: string): Buffer {
  return dnsPacket.encode({
    type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name }], answers: [{ type: 'A', name, ttl: 60, data: addr }],
  });
}

function aQuery(id: number, name: string): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
}

export type Scenario = 'dns-unanswered' | 'swg-syn' | 'clean';

interface Timed { t: number; data: Buffer }

/** The frames of a scenario, starting at `t0` seconds; `extra` adds answered LAN DNS lookups. */
export function scenarioFrames(s: Scenario, t0: number, client = '10.0.0.5', extra = 3): Timed[] {
  const out: Timed[] = [];
  let t = t0;
  for (let i = 0; i < extra; i++) {
    const id = 0x100 + i;
    const name = `host${i}.example.com`;
    out.push({ t, data: udpFrame(client, 40000 + i, '10.0.0.1', 53, aQuery(id, name)) });
    out.push({ t: t + 0.004, data: udpFrame('10.0.0.1', 53, client, 40000 + i, aAnswer(id, name, `192.0.2.${10 + i}`)) });
    t += 0.05;
  }
  if (s === 'dns-unanswered') {
    for (let i = 0; i < 6; i++) {
      out.push({ t: t + i, data: udpFrame(client, 50000 + i, '208.67.222.222', 443, txtQuery(0x2000 + i, 'debug.opendns.com')) });
    }
    t += 20;   // well past the DNS answer timeout
  } else if (s === 'swg-syn') {
    const isn = 0x10000000;
    for (const dt of [0, 1, 3, 7]) out.push({ t: t + dt, data: tcpFrame(client, 51000, '146.112.255.50', 443, isn, 0, SYN) });
    t += 90;   // past the SYN attempt timeout
  } else {
    // an answered TXT probe and a complete TCP connection
    out.push({ t, data: udpFrame(client, 50100, '208.67.222.222', 443, txtQuery(0x3000, 'debug.opendns.com')) });
    out.push({ t: t + 0.02, data: udpFrame('208.67.222.222', 443, client, 50100, dnsPacket.encode({
      type: 'response', id: 0x3000, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'TXT', name: 'debug.opendns.com' }],
      answers: [{ type: 'TXT', name: 'debug.opendns.com', ttl: 0, data: 'server r1.lon' }],
    })) });
    const c = 0x1000, sv = 0x9000;
    out.push({ t: t + 0.1, data: tcpFrame(client, 52000, '192.0.2.80', 443, c, 0, SYN) });
    out.push({ t: t + 0.12, data: tcpFrame('192.0.2.80', 443, client, 52000, sv, c + 1, SYN | ACK) });
    out.push({ t: t + 0.121, data: tcpFrame(client, 52000, '192.0.2.80', 443, c + 1, sv + 1, ACK) });
    out.push({ t: t + 0.13, data: tcpFrame(client, 52000, '192.0.2.80', 443, c + 1, sv + 1, ACK | PSH, Buffer.from('hello')) });
    out.push({ t: t + 0.15, data: tcpFrame('192.0.2.80', 443, client, 52000, sv + 1, c + 6, ACK) });
    out.push({ t: t + 0.2, data: tcpFrame(client, 52000, '192.0.2.80', 443, c + 6, sv + 1, FIN | ACK) });
    out.push({ t: t + 0.22, data: tcpFrame('192.0.2.80', 443, client, 52000, sv + 1, c + 7, FIN | ACK) });
    out.push({ t: t + 0.23, data: tcpFrame(client, 52000, '192.0.2.80', 443, c + 7, sv + 2, ACK) });
  }
  // a last answered lookup, later than every timeout above, so that the capture's own
  // clock judges the probes (unanswered / unanswered SYNs) before it ends
  out.push({ t, data: udpFrame(client, 40999, '10.0.0.1', 53, aQuery(0x1ff, 'last.example.com')) });
  out.push({ t: t + 0.004, data: udpFrame('10.0.0.1', 53, client, 40999, aAnswer(0x1ff, 'last.example.com', '192.0.2.99')) });
  return out.sort((a, b) => a.t - b.t);
}

function toFrame(f: Timed): FrameToWrite {
  const sec = Math.floor(f.t);
  return { tsSec: sec, tsNsec: Math.round((f.t - sec) * 1e9), data: f.data };
}

const T0 = Date.UTC(2024, 7, 27, 3, 0, 0) / 1000;

/** Write a scenario capture; returns its bytes. */
export function writeScenario(path: string, s: Scenario, opts: { format?: 'pcap' | 'pcapng'; precision?: 'us' | 'ns'; client?: string; extra?: number } = {}): Buffer {
  mkdirSync(dirname(path), { recursive: true });
  const frames = scenarioFrames(s, T0, opts.client, opts.extra);
  const w = opts.format === 'pcapng'
    ? PcapngWriter.openSync(path, { precision: opts.precision ?? 'us' })
    : PcapWriter.openSync(path, { precision: opts.precision ?? 'us' });
  for (const f of frames) w.writeSync(toFrame(f));
  w.closeSync();
  return readFileSync(path);
}

/** Big-endian copy of a little-endian classic pcap (header and record headers swapped). */
export function toBigEndianPcap(le: Buffer): Buffer {
  const b = Buffer.from(le);
  const swap32 = (o: number): void => { b.writeUInt32BE(le.readUInt32LE(o), o); };
  const swap16 = (o: number): void => { b.writeUInt16BE(le.readUInt16LE(o), o); };
  swap32(0); swap16(4); swap16(6); swap32(8); swap32(12); swap32(16); swap32(20);
  let o = 24;
  while (o + 16 <= le.length) {
    const incl = le.readUInt32LE(o + 8);
    swap32(o); swap32(o + 4); swap32(o + 8); swap32(o + 12);
    o += 16 + incl;
  }
  return b;
}

export function hasZstd(): boolean {
  return spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface MixedFolder {
  /** POSIX paths (relative to the folder) of files that are captures */
  captures: string[];
  /** files batch must report as errors, with the code expected once the readers exist */
  bad: { path: string; code: string }[];
  /** files batch must skip */
  skipped: string[];
  /** captures cut in the middle of a record */
  truncated: string[];
}

/**
 * The test folder of issue 7: pcap, pcapng, .gz, a gzip capture with no capture name, a
 * zstd capture (when the zstd tool exists), a non-capture file named .pcap, an empty file,
 * a truncated capture, text files, nested subfolders, and copies of the repository's own
 * captures/**\/*.pcap when there are any.
 */
export function buildMixedFolder(dir: string): MixedFolder {
  const f: MixedFolder = { captures: [], bad: [], skipped: [], truncated: [] };
  const put = (rel: string, data: Buffer | string): void => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), data);
  };
  const le = writeScenario(join(dir, 'site-a/dns-blocked.pcap'), 'dns-unanswered');
  f.captures.push('site-a/dns-blocked.pcap');
  writeScenario(join(dir, 'site-a/swg-blocked.pcapng'), 'swg-syn', { format: 'pcapng', precision: 'ns' });
  f.captures.push('site-a/swg-blocked.pcapng');
  writeScenario(join(dir, 'site-b/clean.pcap'), 'clean', { precision: 'ns', client: '10.0.0.9' });
  f.captures.push('site-b/clean.pcap');
  put('site-b/big-endian.cap', toBigEndianPcap(le));
  f.captures.push('site-b/big-endian.cap');
  const swg = writeScenario(join(dir, 'tmp-swg.pcap'), 'swg-syn', { client: '10.0.0.7' });
  put('site-b/day1/swg.pcap.gz', gzipSync(swg));
  f.captures.push('site-b/day1/swg.pcap.gz');
  put('site-b/day1/deeper/capture-without-extension', gzipSync(le));
  f.captures.push('site-b/day1/deeper/capture-without-extension');
  put('site-b/day1/deeper/raw-capture.bin', swg);
  f.captures.push('site-b/day1/deeper/raw-capture.bin');
  // tmp-swg.pcap stays: one more plain capture at the top
  f.captures.push('tmp-swg.pcap');
  if (hasZstd()) {
    const r = spawnSync('zstd', ['-q', '-c', join(dir, 'site-a/dns-blocked.pcap')]);
    if (r.status === 0) {
      put('site-c/dns.pcap.zst', r.stdout);
      f.captures.push('site-c/dns.pcap.zst');
      put('site-c/zstd-no-name', r.stdout);
      f.captures.push('site-c/zstd-no-name');
    }
  }
  // truncated: a whole capture cut in the middle of its last record
  const cut = le.subarray(0, le.length - 7);
  put('site-c/truncated.pcap', cut);
  f.captures.push('site-c/truncated.pcap');
  f.truncated.push('site-c/truncated.pcap');
  // bad files
  put('site-c/not-a-capture.pcap', 'this is a text file that someone named .pcap\n');
  f.bad.push({ path: 'site-c/not-a-capture.pcap', code: 'NOT_A_CAPTURE' });
  put('site-c/empty.pcapng', '');
  f.bad.push({ path: 'site-c/empty.pcapng', code: 'EMPTY_FILE' });
  // skipped: neither named nor shaped like a capture
  put('README.txt', 'notes about these captures\n');
  f.skipped.push('README.txt');
  put('site-a/notes.gz', gzipSync(Buffer.from('compressed notes, not a capture\n')));
  f.skipped.push('site-a/notes.gz');
  put('site-b/day1/tiny', 'ab');
  f.skipped.push('site-b/day1/tiny');
  // the repository's own recorded captures, when present
  for (const p of repoCaptures()) {
    const rel = `repo/${relative(capturesDir, p).split('\\').join('/')}`;
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    copyFileSync(p, join(dir, rel));
    f.captures.push(rel);
  }
  f.captures.sort();
  return f;
}

/** captures/**\/*.pcap of the repository (recorded scenario captures), if any. */
export function repoCaptures(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.pcap$/.test(n)) out.push(p);
    }
  };
  walk(capturesDir);
  return out.sort();
}

/** `n` small captures (the three scenarios in turn) in a folder tree, for shards and resume. */
export function buildManyScenarioFiles(dir: string, n: number): string[] {
  const kinds: Scenario[] = ['dns-unanswered', 'swg-syn', 'clean'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const rel = `d${i % 4}/f${String(i).padStart(3, '0')}.pcap`;
    writeScenario(join(dir, rel), kinds[i % 3], { client: `10.0.${1 + (i % 200)}.${1 + (i % 250)}`, extra: 1 + (i % 5) });
    out.push(rel);
  }
  return out.sort();
}
