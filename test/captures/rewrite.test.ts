// The offline address rewriter (captures/tools/rewrite.ts): a capture built here with the
// project's pcap writer is rewritten, then tshark (an independent decoder) checks that every
// checksum is good, that addresses and names were replaced (also inside ICMP quotes and DNS
// answers) and that DNS still decodes. Incremental checksum updates (snaplen-cut packets,
// partial ICMP quotes) are checked against the full recomputation of the same packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import dnsPacket from 'dns-packet';
import { PcapWriter, PcapngWriter } from '../../src/source/writer.js';
import { readCapture } from '../../captures/tools/capread.js';
import { PacketRewriter, main, parseInstant, parseMapFile, parseMapping, parseNameRule, rewriteFile,
  type RewriteOptions } from '../../captures/tools/rewrite.js';
import { need, repoRoot } from '../helpers/env.js';

// ---------------------------------------------------------------------------------------
// Packet builders (own checksum code, independent of the rewriter's)

function csum(parts: Uint8Array[]): number {
  let s = 0;
  for (const b of parts) {
    for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
    if (b.length % 2) s += b[b.length - 1] << 8;
  }
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

function ip4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

function ip6(text: string): Buffer {
  const [h, t] = text.split('::');
  const hs = h ? h.split(':') : [];
  const ts = t !== undefined && t !== '' ? t.split(':') : [];
  const words = t === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), 2 * i));
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** IPv4 header (20 bytes, correct checksum) + payload */
function ipv4(src: string, dst: string, proto: number, payload: Buffer, ttl = 64, id = 0x1234): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(0x4000, 6);
  h[8] = ttl;
  h[9] = proto;
  ip4(src).copy(h, 12);
  ip4(dst).copy(h, 16);
  h.writeUInt16BE(csum([h]), 10);
  return Buffer.concat([h, payload]);
}

function ipv6(src: string, dst: string, nh: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = nh;
  h[7] = 64;
  ip6(src).copy(h, 8);
  ip6(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

function pseudo4(src: string, dst: string, proto: number, len: number): Buffer {
  return Buffer.concat([ip4(src), ip4(dst), Buffer.from([0, proto]), u16(len)]);
}

function pseudo6(src: string, dst: string, nh: number, len: number): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32BE(len, 0);
  t[7] = nh;
  return Buffer.concat([ip6(src), ip6(dst), t]);
}

function udp(sp: number, dp: number, data: Buffer, ps: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sp, 0);
  h.writeUInt16BE(dp, 2);
  h.writeUInt16BE(8 + data.length, 4);
  const seg = Buffer.concat([h, data]);
  let c = csum([ps, seg]);
  if (c === 0) c = 0xffff;
  seg.writeUInt16BE(c, 6);
  return seg;
}

function udp4(src: string, sp: number, dst: string, dp: number, data: Buffer): Buffer {
  return ipv4(src, dst, 17, udp(sp, dp, data, pseudo4(src, dst, 17, 8 + data.length)));
}

function udp6(src: string, sp: number, dst: string, dp: number, data: Buffer): Buffer {
  return ipv6(src, dst, 17, udp(sp, dp, data, pseudo6(src, dst, 17, 8 + data.length)));
}

const SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

function tcp4(src: string, sp: number, dst: string, dp: number, seq: number, ack: number, flags: number, data = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sp, 0);
  h.writeUInt16BE(dp, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(64240, 14);
  const seg = Buffer.concat([h, data]);
  seg.writeUInt16BE(csum([pseudo4(src, dst, 6, seg.length), seg]), 16);
  return ipv4(src, dst, 6, seg);
}

/** ICMPv4 error (type/code) quoting `quoted` */
function icmp4(src: string, dst: string, type: number, code: number, quoted: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0, 0, 0, 0, 0]), quoted]);
  m.writeUInt16BE(csum([m]), 2);
  return ipv4(src, dst, 1, m, 64, 0x4321);
}

function icmp6(src: string, dst: string, type: number, code: number, quoted: Buffer): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0, 0, 0, 0, 0]), quoted]);
  m.writeUInt16BE(csum([pseudo6(src, dst, 58, m.length), m]), 2);
  return ipv6(src, dst, 58, m);
}

const MAC_A = Buffer.from('020000aa0001', 'hex');
const MAC_B = Buffer.from('020000bb0002', 'hex');

function eth(ip: Buffer, toB = true, etherType?: number): Buffer {
  const type = etherType ?? (ip[0] >> 4 === 6 ? 0x86dd : 0x0800);
  const f = Buffer.concat([toB ? MAC_B : MAC_A, toB ? MAC_A : MAC_B, u16(type), ip]);
  return f.length < 60 ? Buffer.concat([f, Buffer.alloc(60 - f.length)]) : f;   // Ethernet padding
}

function dnsQuery(id: number, name: string, type: string): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name }] });
}

/**
 * A compressed response, as dnsmasq writes it:
 *   000  id 0x1111, flags 8180, qd 1, an 2, ns 0, ar 0
 *   012  q: 15 "swg-url-proxy-1" 04 "test" 03 "lab" 00, type A, class IN
 *   034  ^ "test.lab" suffix lives at 12+16 = 28
 *   ...  an: c00c CNAME IN ttl 60 rdlen 7: 04 "edge" c01c   (edge.test.lab)
 *   ...  an: <ptr to edge> A IN ttl 60 rdlen 4: 10.31.3.200
 */
function compressedResponse(): Buffer {
  const q = Buffer.concat([Buffer.from([15]), Buffer.from('swg-url-proxy-1'), Buffer.from([4]), Buffer.from('test'),
    Buffer.from([3]), Buffer.from('lab'), Buffer.from([0]), u16(1), u16(1)]);
  const header = Buffer.from('111181800001000200000000', 'hex');
  const cnameRdata = Buffer.concat([Buffer.from([4]), Buffer.from('edge'), u16(0xc000 | 28)]);
  const an1 = Buffer.concat([u16(0xc00c), u16(5), u16(1), Buffer.from([0, 0, 0, 60]), u16(cnameRdata.length), cnameRdata]);
  const edgeAt = 12 + q.length + 12;          // where "edge" label starts (after an1's fixed part)
  const an2 = Buffer.concat([u16(0xc000 | edgeAt), u16(1), u16(1), Buffer.from([0, 0, 0, 60]), u16(4), ip4('10.31.3.200')]);
  const msg = Buffer.concat([header, q, an1, an2]);
  // self-check the layout with an independent decoder
  const d = dnsPacket.decode(msg);
  assert.equal((d.answers?.[1] as { name: string }).name, 'edge.test.lab');
  return msg;
}

// ---------------------------------------------------------------------------------------
// The capture

const CLIENT = '10.31.1.10', RESOLVER = '10.31.2.53', ROUTER = '10.31.1.1', SWG = '10.31.3.200';
const CLIENT6 = 'fd00:31::10', RESOLVER6 = 'fd00:31::53', ROUTER6 = 'fd00:31::1', SWG6 = 'fd00:31:3::200';

const MAPS = ['10.31.2.53=208.67.222.222', '10.31.3.0/24=18.135.112.0/24', 'fd00:31::53=2620:119:35::35',
  'fd00:31:3::/64=2600:1f18:4a3:6901::/64', '10.31.1.0/24=192.168.77.0/24'];
const NAMES = ['test.lab=sigproxy.qq.opendns.com'];

interface Built { frames: { ts: [number, number]; data: Buffer; origLen?: number }[]; tracerouteProbe: number; cutFull: number; cutShort: number }

function buildFrames(): Built {
  const frames: Built['frames'] = [];
  let t = 0;
  const add = (data: Buffer, origLen?: number): number => {
    frames.push({ ts: [1_600_000_000 + Math.floor(t / 1e9), t % 1e9], data, origLen });
    t += 1_250_000;
    return frames.length;                    // frame number (from 1)
  };
  // 1-2: DNS A query and compressed CNAME + A response
  add(eth(udp4(CLIENT, 40001, RESOLVER, 53, dnsQuery(0x1111, 'swg-url-proxy-1.test.lab', 'A'))));
  add(eth(udp4(RESOLVER, 53, CLIENT, 40001, compressedResponse()), false));
  // 3-4: a DNS TXT query on UDP/443, refused with an ICMP port unreachable that quotes it whole
  const probe = udp4(CLIENT, 40002, RESOLVER, 443, dnsQuery(0x2222, 'debug.test.lab', 'TXT'));
  add(eth(probe));
  add(eth(icmp4(RESOLVER, CLIENT, 3, 3, probe), false));
  // 5-6: a traceroute probe and the router's time exceeded quoting only IP header + 8 bytes
  const trace = udp4(CLIENT, 40003, SWG, 33434, Buffer.from('wirecheck traceroute probe payload'));
  const tracerouteProbe = add(eth(trace));
  add(eth(icmp4(ROUTER, CLIENT, 11, 0, trace.subarray(0, 28)), false));
  // 7: IPv6 DNS AAAA response
  add(eth(udp6(RESOLVER6, 53, CLIENT6, 40004, dnsPacket.encode({ type: 'response', id: 0x3333, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'AAAA', name: 'swg.test.lab' }], answers: [{ type: 'AAAA', name: 'swg.test.lab', ttl: 60, data: SWG6 }] })), false));
  // 8: ICMPv6 port unreachable quoting an IPv6 DNS TXT query on UDP/443
  const probe6 = udp6(CLIENT6, 40005, RESOLVER6, 443, dnsQuery(0x4444, 'debug.test.lab', 'TXT'));
  add(eth(icmp6(ROUTER6, CLIENT6, 1, 4, probe6), false));
  // 9-11: TCP SYN, SYN-ACK, RST to the SWG
  add(eth(tcp4(CLIENT, 50000, SWG, 443, 1000, 0, SYN)));
  add(eth(tcp4(SWG, 443, CLIENT, 50000, 7000, 1001, SYN | ACK), false));
  add(eth(tcp4(CLIENT, 50000, SWG, 443, 1001, 0, RST)));
  // 12-13: a TCP data segment, whole and cut to 80 bytes by the snap length
  const seg = eth(tcp4(CLIENT, 50001, SWG, 443, 2000, 9000, PSH | ACK, Buffer.alloc(300, 0x5a)));
  const cutFull = add(seg);
  const cutShort = add(seg.subarray(0, 80), seg.length);
  // 14-15: DNS over TCP/53: query and response (name change would change the length: refused)
  const tq = dnsQuery(0x5555, 'swg.test.lab', 'A');
  add(eth(tcp4(CLIENT, 50002, RESOLVER, 53, 3000, 4000, PSH | ACK, Buffer.concat([u16(tq.length), tq]))));
  const tr = dnsPacket.encode({ type: 'response', id: 0x5555, flags: 0x8180, questions: [{ type: 'A', name: 'swg.test.lab' }],
    answers: [{ type: 'A', name: 'swg.test.lab', ttl: 60, data: SWG }] });
  add(eth(tcp4(RESOLVER, 53, CLIENT, 50002, 4000, 3000 + 2 + tq.length, PSH | ACK, Buffer.concat([u16(tr.length), tr])), false));
  // 16: ARP reply from the resolver
  const arp = Buffer.concat([Buffer.from('0001080006040002', 'hex'), MAC_A, ip4(RESOLVER), MAC_B, ip4(CLIENT)]);
  add(eth(arp, false, 0x0806));
  return { frames, tracerouteProbe, cutFull, cutShort };
}

function writeCapture(path: string, b: Built, precision: 'us' | 'ns'): void {
  const w = PcapWriter.openSync(path, { precision });
  for (const f of b.frames) w.writeSync({ tsSec: f.ts[0], tsNsec: f.ts[1], data: f.data, origLen: f.origLen });
  w.closeSync();
}

function tshark(file: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-n', '-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-d', 'udp.port==443,dns', ...extra, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trimEnd().split('\n').map((l) => l.split('|'));
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'wirecheck-rewrite-'));
}

function options(): RewriteOptions {
  return { maps: MAPS.map(parseMapping), names: NAMES.map(parseNameRule), dnsPorts: [443] };
}

// ---------------------------------------------------------------------------------------

test('the input capture itself has good checksums (builder self-check)', { skip: need('tshark') }, () => {
  const dir = tmp();
  try {
    const f = join(dir, 'in.pcap');
    const b = buildFrames();
    writeCapture(f, b, 'us');
    const rows = tshark(f, ['frame.number', 'ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status']);
    assert.equal(rows.length, b.frames.length);
    for (const r of rows) {
      if (Number(r[0]) === b.cutShort) continue;
      if (Number(r[0]) === b.tracerouteProbe + 1) { assert.equal(r.slice(1).join('|'), '1,1|2||1|'); continue; }  // partial quote: UDP unverifiable
      for (const v of r.slice(1).join(',').split(',').filter((x) => x !== '')) assert.equal(v, '1', `input frame ${r[0]}: ${r.join('|')}`);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('rewrite: checksums good, addresses and names replaced, DNS decodes (tshark)', { skip: need('tshark') }, () => {
  const dir = tmp();
  try {
    const inF = join(dir, 'in.pcap'), outF = join(dir, 'out.pcap');
    const b = buildFrames();
    writeCapture(inF, b, 'ns');
    const res = rewriteFile(inF, outF, { ...options(), shiftTo: parseInstant('2024-03-05T09:14:03.123456789Z') });
    assert.equal(res.output.format, 'pcap');
    assert.equal(res.output.precision, 'ns');
    assert.equal(res.stats.frames, b.frames.length);
    assert.equal(res.stats.unparsedFrames, 0);

    // every checksum tshark can verify is good ("1"); the cut-short frame cannot be verified ("2")
    const ck = tshark(outF, ['frame.number', 'ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status', '_ws.malformed', '_ws.expert.severity']);
    assert.equal(ck.length, b.frames.length);
    for (const r of ck) {
      const n = Number(r[0]);
      const statuses = r.slice(1, 6).join(',').split(',').filter((x) => x !== '');
      if (n === b.cutShort) {
        assert.deepEqual(statuses, ['1', '2'], `cut-short frame: ${r.join('|')}`);
        continue;
      }
      assert.ok(statuses.length > 0 || n === 16, `frame ${n} has no checksums to check`);
      if (n === b.tracerouteProbe + 1) {       // partial quote: tshark cannot verify the quoted UDP checksum
        assert.equal(r.slice(1, 6).join('|'), '1,1|2||1|');
        continue;
      }
      for (const v of statuses) assert.equal(v, '1', `frame ${n}: bad checksum status ${r.join('|')}`);
      assert.equal(r[6], '', `frame ${n} malformed`);
    }

    const rows = tshark(outF, ['frame.number', 'frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'dns.qry.name', 'dns.a', 'dns.aaaa', 'dns.cname',
      'arp.src.proto_ipv4', 'arp.dst.proto_ipv4', 'dns.resp.name', 'frame.len', 'frame.cap_len']);
    const by = (n: number): string[] => rows[n - 1];
    assert.equal(by(1)[1], '1709630043.123456789', 'first frame moved to the --shift-time instant');
    assert.equal(by(2)[1], '1709630043.124706789', 'offsets between frames kept');
    // 1: query
    assert.deepEqual(by(1).slice(2, 4), ['192.168.77.10', '208.67.222.222']);
    assert.equal(by(1)[6], 'swg-url-proxy-1.sigproxy.qq.opendns.com');
    // 2: compressed CNAME + A response: names, CNAME target and A rdata mapped
    assert.deepEqual(by(2).slice(2, 4), ['208.67.222.222', '192.168.77.10']);
    assert.equal(by(2)[6], 'swg-url-proxy-1.sigproxy.qq.opendns.com');
    assert.equal(by(2)[7], '18.135.112.200');
    assert.equal(by(2)[9], 'edge.sigproxy.qq.opendns.com');
    assert.equal(by(2)[12], 'swg-url-proxy-1.sigproxy.qq.opendns.com,edge.sigproxy.qq.opendns.com');
    // 3-4: the UDP/443 probe and the ICMP error quoting it: inner addresses and name mapped too
    assert.equal(by(3)[6], 'debug.sigproxy.qq.opendns.com');
    assert.deepEqual(by(4)[2].split(','), ['208.67.222.222', '192.168.77.10']);
    assert.deepEqual(by(4)[3].split(','), ['192.168.77.10', '208.67.222.222']);
    assert.equal(by(4)[6], 'debug.sigproxy.qq.opendns.com');
    // 5-6: traceroute probe and the partial quote
    assert.deepEqual(by(6)[2].split(','), ['192.168.77.1', '192.168.77.10']);
    assert.deepEqual(by(6)[3].split(','), ['192.168.77.10', '18.135.112.200']);
    // 7: IPv6 AAAA
    assert.deepEqual(by(7).slice(4, 6), ['2620:119:35::35', 'fd00:31::10']);
    assert.equal(by(7)[6], 'swg.sigproxy.qq.opendns.com');
    assert.equal(by(7)[8], '2600:1f18:4a3:6901::200');
    // 8: ICMPv6 quoting an IPv6 DNS query
    assert.deepEqual(by(8)[5].split(','), ['fd00:31::10', '2620:119:35::35']);
    assert.equal(by(8)[6], 'debug.sigproxy.qq.opendns.com');
    // 9-11 TCP to the SWG
    for (const n of [9, 11]) assert.deepEqual(by(n).slice(2, 4), ['192.168.77.10', '18.135.112.200']);
    assert.deepEqual(by(10).slice(2, 4), ['18.135.112.200', '192.168.77.10']);
    // 12-13: lengths kept, cut-short frame stays cut short
    assert.deepEqual(by(b.cutShort).slice(13, 15), [String(b.frames[b.cutFull - 1].data.length), '80']);
    // 14-15: TCP DNS: A rdata mapped, names unchanged (their length change is refused)
    assert.equal(by(15)[7], '18.135.112.200');
    assert.equal(by(15)[6], 'swg.test.lab');
    assert.ok(res.stats.dnsNamesRefused >= 2, JSON.stringify(res.stats));
    // 16: ARP
    assert.deepEqual(by(16).slice(10, 12), ['208.67.222.222', '192.168.77.10']);
    // nothing of the test addresses is left (except the unmapped IPv6 client, on purpose)
    const all = rows.flat().join(' ');
    assert.doesNotMatch(all, /10\.31\./);
    assert.doesNotMatch(all, /fd00:31::53|fd00:31:3::/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

/** checksum field of the L4 header in an Ethernet/IPv4 frame */
function l4Checksum(frame: Buffer, at: number): number {
  const ihl = (frame[14] & 15) * 4;
  return frame.readUInt16BE(14 + ihl + at);
}

test('incremental updates: cut-short TCP and partially quoted UDP match the full recomputation', () => {
  const b = buildFrames();
  const rw = new PacketRewriter(options());
  const out = b.frames.map((f) => rw.rewriteFrame(1, f.data, f.origLen ?? f.data.length));
  // TCP: the 80-byte frame's checksum equals the whole segment's recomputed checksum
  assert.equal(l4Checksum(out[b.cutShort - 1].data, 16), l4Checksum(out[b.cutFull - 1].data, 16));
  assert.equal(out[b.cutShort - 1].data.length, 80);
  assert.equal(out[b.cutShort - 1].origLen, b.frames[b.cutFull - 1].data.length);
  // quoted UDP (28 bytes quoted of a 62-byte datagram): its checksum equals the real datagram's
  const probe = out[b.tracerouteProbe - 1].data;
  const icmp = out[b.tracerouteProbe].data;
  const quotedUdpCk = icmp.readUInt16BE(14 + 20 + 8 + 20 + 6);
  assert.equal(quotedUdpCk, l4Checksum(probe, 6));
  assert.ok(rw.stats.checksumsUpdated >= 2, JSON.stringify(rw.stats));
});

test('lengths follow the DNS names: UDP length, IP total length, ICMP quote', () => {
  const b = buildFrames();
  const rw = new PacketRewriter(options());
  const out = b.frames.map((f) => rw.rewriteFrame(1, f.data, f.origLen ?? f.data.length));
  const delta = 'sigproxy.qq.opendns.com'.length - 'test.lab'.length;
  // frame 3: query grows by delta
  const q = out[2].data, q0 = b.frames[2].data;
  assert.equal(q.readUInt16BE(16), q0.readUInt16BE(16) + delta);              // IPv4 total length
  assert.equal(q.readUInt16BE(14 + 20 + 4), q0.readUInt16BE(14 + 20 + 4) + delta); // UDP length
  // frame 4: the ICMP error quoting it grows too, inner lengths as well
  const e = out[3].data, e0 = b.frames[3].data;
  assert.equal(e.readUInt16BE(16), e0.readUInt16BE(16) + delta);
  assert.equal(e.readUInt16BE(14 + 28 + 2), e0.readUInt16BE(14 + 28 + 2) + delta);
  assert.equal(out[3].origLen, b.frames[3].data.length + delta);
  // frame 7: IPv6 payload length
  const v6 = out[6].data, v60 = b.frames[6].data;
  assert.equal(v6.readUInt16BE(18), v60.readUInt16BE(18) + 2 * delta);         // question + answer owner, uncompressed
  assert.equal(rw.stats.dnsResized, 6);           // frames 1, 2, 3, 4 (quoted), 7, 8 (quoted)
});

test('mappings: prefixes keep host bits, longest prefix wins, families and lengths checked', () => {
  const rw = new PacketRewriter({ maps: ['10.0.0.0/8=172.16.0.0/8', '10.31.0.0/16=100.64.0.0/16', '10.31.2.53=208.67.222.222',
    '10.32.0.0/12=198.16.0.0/12', 'fd00:31::/32=2620:119::/32'].map(parseMapping) });
  const map = (t: string): string => {
    const fam = t.includes(':') ? 16 : 4;
    const b = fam === 4 ? ip4(t) : ip6(t);
    rw.mapAddr(b, 0, fam);
    return fam === 4 ? [...b].join('.') : b.toString('hex');
  };
  assert.equal(map('10.31.2.53'), '208.67.222.222');
  assert.equal(map('10.31.7.9'), '100.64.7.9');
  assert.equal(map('10.99.1.2'), '172.99.1.2');
  assert.equal(map('10.47.200.1'), '198.31.200.1');       // /12: 10.32-47 -> 198.16-31
  assert.equal(map('11.0.0.1'), '11.0.0.1');
  assert.equal(map('fd00:31:0:5::35'), ip6('2620:119:0:5::35').toString('hex'));
  assert.throws(() => parseMapping('10.0.0.1=2620::1'), /family/);
  assert.throws(() => parseMapping('10.0.0.0/8=172.16.0.0/12'), /same length/);
  assert.throws(() => parseMapping('10.0.0.1'), /OLD=NEW/);
  assert.throws(() => parseMapping('10.0.0.300=1.2.3.4'), /not an IP/);
  assert.deepEqual(parseInstant('2024-03-05T10:14:03.5+01:00'), [1709630043, 500_000_000]);
  assert.deepEqual(parseInstant('2024-03-05T09:14:03'), [1709630043, 0]);
  assert.throws(() => parseInstant('yesterday'), /ISO-8601/);
  const mf = parseMapFile('# resolver\n10.31.2.53=208.67.222.222\nname test.lab=opendns.com  # names\n\n');
  assert.equal(mf.maps.length, 1);
  assert.deepEqual(mf.names, [{ from: ['test', 'lab'], to: ['opendns', 'com'] }]);
});

test('names: label-aware, case-insensitive suffix match only', () => {
  const rw = new PacketRewriter({ names: ['test.lab=sigproxy.qq.opendns.com'].map(parseNameRule) });
  const run = (name: string): string => {
    const f = eth(udp4(CLIENT, 1, RESOLVER, 53, dnsQuery(1, name, 'A')));
    const out = rw.rewriteFrame(1, f, f.length).data;
    return (dnsPacket.decode(out.subarray(14 + 28)).questions ?? [])[0].name;
  };
  assert.equal(run('a.b.TEST.Lab'), 'a.b.sigproxy.qq.opendns.com');
  assert.equal(run('test.lab'), 'sigproxy.qq.opendns.com');
  assert.equal(run('atest.lab'), 'atest.lab');
  assert.equal(run('test.lab.example'), 'test.lab.example');
});

test('frames that do not parse are copied unchanged; garbage never throws', () => {
  const rw = new PacketRewriter(options());
  const weird = [Buffer.alloc(0), Buffer.from('0102'), Buffer.alloc(13), eth(Buffer.from('4f000000', 'hex')),
    eth(Buffer.alloc(40, 0x60)), Buffer.concat([MAC_A, MAC_B, u16(0x88cc), Buffer.alloc(30, 7)])];
  for (const w of weird) {
    const r = rw.rewriteFrame(1, w, w.length);
    assert.ok(r.data.equals(w));
  }
  assert.ok(rw.rewriteFrame(147, Buffer.from('abc'), 3).data.equals(Buffer.from('abc')));
  // random mutations of real frames: never throws, length only changes by DNS rewriting
  const b = buildFrames();
  let seed = 7;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296; };
  for (let i = 0; i < 3000; i++) {
    const f = Buffer.from(b.frames[i % b.frames.length].data);
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
    const cut = rnd() < 0.3 ? f.subarray(0, Math.floor(rnd() * f.length)) : f;
    const r = rw.rewriteFrame(1, cut, cut.length + (rnd() < 0.2 ? 10 : 0));
    assert.ok(r.data.length >= 0);
  }
});

test('pcapng input with two link types: pcapng output keeps interfaces; CLI usage and exit codes', { skip: need('tshark') }, () => {
  const dir = tmp();
  try {
    const inF = join(dir, 'in.pcapng'), outF = join(dir, 'out.pcapng');
    const b = buildFrames();
    const w = PcapngWriter.openSync(inF, { precision: 'us', interfaces: [{ linkType: 1, name: 'veth-c' }, { linkType: 101, name: 'tun0' }] });
    for (const f of b.frames.slice(0, 4)) w.writeSync({ tsSec: f.ts[0], tsNsec: f.ts[1], data: f.data });
    w.writeSync({ tsSec: 1_600_000_001, tsNsec: 0, data: b.frames[0].data.subarray(14), linkType: 101, ifIndex: 1 });
    w.closeSync();
    const mapFile = join(dir, 'addresses.map');
    writeFileSync(mapFile, MAPS.join('\n') + '\n');
    const code = main([inF, outF, '--map-file', mapFile, '--name', NAMES[0], '--dns-port', '443', '--mac-anon', '--quiet']);
    assert.equal(code, 0);
    const cap = readCapture(readFileSync(outF));
    assert.equal(cap.format, 'pcapng');
    assert.equal(cap.precision, 'us');
    assert.deepEqual(cap.interfaces.map((i) => [i.name, i.linkType]), [['veth-c', 1], ['tun0', 101]]);
    const rows = tshark(outF, ['frame.interface_name', 'ip.dst', 'eth.src', 'dns.qry.name', 'ip.checksum.status', 'udp.checksum.status']);
    assert.equal(rows.length, 5);
    assert.deepEqual(rows[4].slice(0, 2), ['tun0', '208.67.222.222']);
    assert.equal(rows[4][3], 'swg-url-proxy-1.sigproxy.qq.opendns.com');
    assert.equal(rows[0][2], '02:00:00:00:00:02');   // frame 1: destination MAC seen first
    assert.equal(rows[1][2], '02:00:00:00:00:01');
    for (const r of rows) for (const v of r.slice(4).join(',').split(',')) assert.equal(v, '1');
    // usage errors: 2; unreadable input: 1
    assert.equal(main([inF]), 2);
    assert.equal(main([inF, outF, '--map', '10.0.0.1=::1']), 2);
    assert.equal(main([join(repoRoot, 'package.json'), join(dir, 'x.pcap'), '--quiet']), 1);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

// ---------------------------------------------------------------------------------------
// Public third-party captures (../shared/captures/public): read there, never copied here.

test('public captures: every capture rewrites without error, frame counts kept', { skip: need('public-captures') }, async () => {
  const { publicCapturesDir } = await import('../helpers/env.js');
  const { readdirSync } = await import('node:fs');
  const dir = tmp();
  try {
    let files = 0;
    for (const name of readdirSync(publicCapturesDir).sort()) {
      if (name.endsWith('.md')) continue;
      const inF = join(publicCapturesDir, name), outF = join(dir, 'out');
      let inCount: number;
      try {
        const { readMaybeCompressed } = await import('../../captures/tools/rewrite.js');
        inCount = readCapture(readMaybeCompressed(inF)).frames.length;
      } catch (e) {
        assert.match((e as Error).message, /not a pcap or pcapng|without a section header/, name);
        continue;
      }
      const r = rewriteFile(inF, outF, { maps: ['192.168.0.0/16=10.99.0.0/16', '10.0.0.0/8=100.0.0.0/8', '2001:db8::/32=2001:db9::/32'].map(parseMapping),
        names: [parseNameRule('com=example.test')], dnsPorts: [5353], macAnon: true });
      assert.equal(r.stats.frames, inCount, name);
      assert.equal(readCapture(readFileSync(outF)).frames.length, inCount, name);
      files++;
    }
    assert.ok(files > 50, `only ${files} public captures read`);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

/** suffix rule com -> example.test applied to a tshark name list */
function mapNames(list: string): string {
  return list.split(',').map((n) => n.replace(/(^|\.)com$/i, '$1example.test')).join(',');
}

for (const name of ['pcapplusplus__example2.pcap', 'zeek__dns-txt-multiple.pcap', 'tcpdump__dns-badcookie.pcap',
  'zeek__pcapng-multi-interface.pcapng', 'tcpdump__ipv6-routing-header.pcap']) {
  test(`public capture ${name}: tshark sees the same packets with names/addresses mapped and good checksums`, { skip: need('public-captures') || need('tshark') }, async () => {
    const { publicCapturesDir } = await import('../helpers/env.js');
    const dir = tmp();
    try {
      const inF = join(publicCapturesDir, name), outF = join(dir, 'out.pcapng');
      rewriteFile(inF, outF, { maps: ['2200::/16=2a00::/16'].map(parseMapping), names: [parseNameRule('com=example.test')], format: 'pcapng' });
      const fields = ['frame.number', 'frame.time_epoch', 'dns.qry.name', 'dns.resp.name', 'dns.cname', 'dns.a', 'dns.count.answers', 'ipv6.dst',
        'ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status', 'frame.cap_len', 'frame.len', 'dns.flags.truncated'];
      const a = tshark(inF, fields), b = tshark(outF, fields);
      assert.equal(b.length, a.length);
      let dns = 0;
      for (let i = 0; i < a.length; i++) {
        const [ra, rb] = [a[i], b[i]];
        assert.equal(rb[1], ra[1], `frame ${i + 1} time`);
        for (const k of [2, 3, 4]) assert.equal(rb[k], mapNames(ra[k]), `frame ${i + 1} ${fields[k]}`);
        if (ra[2] !== '') dns++;
        assert.equal(rb[5], ra[5]);
        assert.equal(rb[6], ra[6]);
        assert.equal(rb[7], ra[7].replace(/^2200:/, '2a00:'));
        const complete = ra[13] === ra[14];
        for (const v of rb.slice(8, 13).join(',').split(',')) {
          if (v !== '') assert.ok(v === '1' || (!complete && v === '2'), `frame ${i + 1}: checksum status ${v}: ${rb.join('|')}`);
        }
      }
      assert.ok(dns > 0 || name.includes('routing'), 'no DNS seen');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
}
