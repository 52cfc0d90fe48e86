import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AnomalySink } from '../../src/errors.js';
import { FrameDecoder, NO_VLANS } from '../../src/decode/walk.js';
import { formatAddr } from '../../src/decode/addr.js';
import { TH_ACK, TH_PSH, TH_SYN, type Packet } from '../../src/decode/packet.js';
import { PcapngWriter } from '../../src/source/writer.js';
import { need, repoRoot } from '../helpers/env.js';
import {
  dnsQuery, ether, etherTagged, ext6, frame, icmp, ipv4, ipv6, tcp, udp, u16, MAC_A, MAC_B,
} from './helpers.js';

const SYN_OPTS = [0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x03, 0x03, 0x07];

function addrs(p: Packet): [string, string] {
  const v = p.ipVersion as 4 | 6;
  return [formatAddr(p.data, p.srcOff, v), formatAddr(p.data, p.dstOff, v)];
}

function decodeOne(data: Uint8Array, linkType = 1, opts: Parameters<typeof frame>[2] = {}) {
  const anomalies = new AnomalySink();
  const d = new FrameDecoder(anomalies);
  const p = d.decode(frame(data, linkType, opts));
  return { p, d, anomalies: anomalies.list().map((a) => `${a.layer}/${a.code}`) };
}

// Ethernet / IPv4 / TCP SYN with options, 10.20.1.57:51000 > 18.135.112.200:443
//   0x0000:  6677 8899 aabb 0011 2233 4455 0800 4500   # Ethernet, IPv4 IHL 5
//   0x0010:  003c 1234 4000 4006 ....                  # total length 60, DF, TTL 64, TCP
//   ...      c738 01bb 0000 03e8 0000 0000 a002 faf0   # 51000 > 443, data offset 10, SYN
const SYN = ether(0x0800, ipv4(tcp([], { sport: 51000, dport: 443, flags: TH_SYN, options: SYN_OPTS }),
  { src: '10.20.1.57', dst: '18.135.112.200', df: true }));

test('walk: Ethernet / IPv4 / TCP SYN: every Packet field', () => {
  const { p, anomalies } = decodeOne(SYN);
  assert.ok(p);
  assert.equal(p.frameNo, 1);
  assert.equal(p.tsSec, 1_700_000_000);
  assert.equal(p.snapTruncated, false);
  assert.equal(p.stop, null);
  assert.equal(p.vlans, NO_VLANS);
  assert.ok(Object.isFrozen(p.vlans));
  assert.equal(p.ipVersion, 4);
  assert.equal(p.ipOff, 14);
  assert.equal(p.srcOff, 26);
  assert.equal(p.dstOff, 30);
  assert.deepEqual(addrs(p), ['10.20.1.57', '18.135.112.200']);
  assert.equal(p.ttl, 64);
  assert.equal(p.ipId, 0x1234);
  assert.equal(p.reassembled, false);
  assert.equal(p.ipLen, 60);
  assert.equal(p.proto, 6);
  assert.equal(p.l4Off, 34);
  assert.equal(p.l4End, 74);
  assert.equal(p.srcPort, 51000);
  assert.equal(p.dstPort, 443);
  assert.equal(p.tcpFlags, TH_SYN);
  assert.equal(p.seq, 1000);
  assert.equal(p.ack, 0);
  assert.equal(p.window, 64240);
  assert.equal(p.tcpHdrLen, 40);
  assert.equal(p.payloadOff, 74);
  assert.equal(p.payloadEnd, 74);
  assert.equal(p.payloadLen, 0);
  assert.equal(p.icmpType, -1);
  assert.equal(p.icmpCode, -1);
  assert.equal(p.quoted, null);
  assert.deepEqual(anomalies, []);
});

test('walk: a frame that is a view into a larger buffer (non-zero byteOffset) decodes the same', () => {
  const big = Buffer.alloc(SYN.length + 100, 0xee);
  SYN.copy(big, 37);
  const { p } = decodeOne(big.subarray(37, 37 + SYN.length));
  assert.ok(p);
  assert.deepEqual(addrs(p), ['10.20.1.57', '18.135.112.200']);
  assert.equal(p.dstPort, 443);
});

test('walk: frames inside one chunk (as the file readers hand them out) are walked in place and never read past their end', () => {
  // a chunk with three records back to back: a SYN cut by the snap length inside its
  // options, a full DNS query, and a SYN whose IP total length claims more than the frame holds
  const dns = ether(0x0800, ipv4(udp(dnsQuery(7), 53000, 53), { proto: 17 }));
  const cutSyn = SYN.subarray(0, 60);
  const chunk = Buffer.concat([Buffer.alloc(16, 0xee), cutSyn, Buffer.alloc(16, 0xee), dns, Buffer.alloc(16, 0xee), SYN.subarray(0, 50), SYN]);
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  const at = (off: number, capLen: number, origLen: number, frameNo: number) => ({
    frameNo, tsSec: 1_700_000_000, tsNsec: 0, linkType: 1, buf: chunk, off, capLen, origLen, ifIndex: 0,
    get data(): Buffer { throw new Error('the decoder must not ask for Frame.data'); },
  });
  const p1 = d.decode(at(16, 60, SYN.length, 1));
  assert.ok(p1);
  assert.equal(p1.data, chunk);
  assert.equal(p1.snapTruncated, true);
  assert.equal(p1.ipOff, 16 + 14);
  assert.deepEqual(addrs(p1), ['10.20.1.57', '18.135.112.200']);
  assert.equal(p1.tcpFlags, TH_SYN);
  assert.equal(p1.tcpHdrLen, 40);
  assert.equal(p1.l4End, 16 + 60);                       // the frame's end, not the chunk's
  assert.deepEqual(p1.stop, { code: 'LEN', layer: 'tcp', required: 40, available: 26, lenSource: 'capture', offset: 34 });
  const o2 = 16 + 60 + 16;
  const p2 = d.decode(at(o2, dns.length, dns.length, 2));
  assert.ok(p2);
  assert.equal(p2.payloadOff, o2 + 42);
  assert.equal(p2.payloadEnd, o2 + dns.length);
  assert.equal(p2.data.readUInt16BE(p2.payloadOff), 7);
  const o3 = o2 + dns.length + 16;
  const p3 = d.decode(at(o3, 50, 50, 3));              // the full SYN follows right behind it
  assert.ok(p3);
  assert.equal(p3.srcPort, 51000);
  assert.equal(p3.tcpFlags, 0);                          // not the SYN's flags behind the frame
  assert.equal(p3.l4End, o3 + 50);
  assert.deepEqual(p3.stop, { code: 'LEN', layer: 'tcp', required: 20, available: 16, lenSource: 'capture', offset: 34 });
  assert.deepEqual(an.list().map((a) => [a.layer, a.code, a.firstFrame, a.message]),
    [['ipv4', 'TRUNCATED_FRAME', 3, 'ipv4: needs 60 bytes at offset 14, 36 available (capture)']]);
});

test('walk: one Packet object is reused and fully reset between frames', () => {
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  const p1 = d.decode(frame(SYN));
  assert.ok(p1);
  assert.equal(p1.tcpFlags, TH_SYN);
  const dns = ether(0x0800, ipv4(udp(dnsQuery(7), 53000, 53), { proto: 17 }));
  const p2 = d.decode(frame(dns, 1, { frameNo: 2 }));
  assert.equal(p2, p1);
  assert.ok(p2);
  assert.equal(p2.proto, 17);
  assert.equal(p2.tcpFlags, 0);
  assert.equal(p2.tcpHdrLen, 0);
  assert.equal(p2.seq, 0);
  assert.equal(p2.dstPort, 53);
  assert.equal(p2.payloadOff, 42);
  assert.equal(p2.payloadLen, dnsQuery(7).length);
  assert.equal(p2.data.readUInt16BE(p2.payloadOff), 7);
});

test('walk: 802.1Q and QinQ (0x88a8, 0x9100) tags are listed outermost first', () => {
  const inner = ipv4(udp([1, 2, 3, 4]), { proto: 17 });
  const q = decodeOne(etherTagged([[0x8100, 100]], 0x0800, inner));
  assert.deepEqual(q.p?.vlans, [100]);
  assert.equal(q.p?.ipOff, 18);
  assert.equal(q.p?.dstPort, 53);
  const qinq = decodeOne(etherTagged([[0x88a8, 200], [0x8100, 300]], 0x0800, inner));
  assert.deepEqual(qinq.p?.vlans, [200, 300]);
  assert.equal(qinq.p?.ipOff, 22);
  const old = decodeOne(etherTagged([[0x9100, 7], [0x8100, 8]], 0x86dd, ipv6(udp(), { next: 17 })));
  assert.deepEqual(old.p?.vlans, [7, 8]);
  assert.equal(old.p?.ipVersion, 6);
  // a tag stack deeper than VLAN_MAX_TAGS (8) is a ContentError
  const deep = decodeOne(etherTagged(Array.from({ length: 9 }, (_, i) => [0x8100, i] as [number, number]), 0x0800, inner));
  assert.equal(deep.p, null);
  assert.deepEqual(deep.anomalies, ['vlan/TOO_MANY_TAGS']);
  assert.equal(deep.d.lastStop?.code, 'VLAN_TOO_MANY_TAGS');
});

test('walk: Linux SLL and SLL2', () => {
  const ip = ipv4(tcp([], { flags: TH_SYN }), { src: '192.0.2.1', dst: '192.0.2.2' });
  const sll = Buffer.from([0, 4, 0, 1, 0, 6, ...MAC_A, 0, 0, 0x08, 0x00, ...ip]);
  const a = decodeOne(sll, 113);
  assert.equal(a.p?.ipOff, 16);
  assert.deepEqual(addrs(a.p!), ['192.0.2.1', '192.0.2.2']);
  const sll2 = Buffer.from([0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, ...MAC_A, 0, 0, ...ip]);
  const b = decodeOne(sll2, 276);
  assert.equal(b.p?.ipOff, 20);
  assert.equal(b.p?.tcpFlags, TH_SYN);
  // SLL carrying a VLAN tag, and an ARP frame (not IP, no anomaly)
  const sllVlan = Buffer.from([0, 0, 0, 1, 0, 6, ...MAC_A, 0, 0, 0x81, 0x00, ...u16(42), 0x08, 0x00, ...ip]);
  assert.deepEqual(decodeOne(sllVlan, 113).p?.vlans, [42]);
  const arp = Buffer.from([0, 0, 0, 1, 0, 6, ...MAC_A, 0, 0, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
  const c = decodeOne(arp, 113);
  assert.equal(c.p, null);
  assert.deepEqual(c.anomalies, []);
  // netlink (ARPHRD 824): not IP whatever the protocol field says
  const nl = Buffer.from([0, 4, 0x03, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, ...ip]);
  assert.equal(decodeOne(nl, 113).p, null);
});

test('walk: BSD NULL and LOOP in either byte order, IPv4 and IPv6', () => {
  const v4 = ipv4(udp(), { proto: 17 });
  const v6 = ipv6(udp(), { next: 17 });
  for (const [lt, hdr, body, ver] of [
    [0, [2, 0, 0, 0], v4, 4], [0, [0, 0, 0, 2], v4, 4], [0, [30, 0, 0, 0], v6, 6],
    [0, [0, 0, 0, 10], v6, 6], [108, [0, 0, 0, 24], v6, 6], [108, [0, 0, 0, 2], v4, 4], [108, [28, 0, 0, 0], v6, 6],
  ] as Array<[number, number[], number[], number]>) {
    const r = decodeOne(Buffer.from([...hdr, ...body]), lt);
    assert.equal(r.p?.ipVersion, ver, `${lt} ${hdr}`);
    assert.equal(r.p?.ipOff, 4);
    assert.equal(r.p?.dstPort, 53);
  }
  const osi = decodeOne(Buffer.from([7, 0, 0, 0, 1, 2, 3]), 0);
  assert.equal(osi.p, null);
  assert.deepEqual(osi.anomalies, []);
});

test('walk: raw IP link types: the version nibble decides (12, 14, 101); 228/229 mismatch is counted and followed', () => {
  const v4 = Buffer.from(ipv4(udp(), { proto: 17 }));
  const v6 = Buffer.from(ipv6(udp(), { next: 17 }));
  for (const lt of [12, 14, 101]) {
    assert.equal(decodeOne(v4, lt).p?.ipVersion, 4);
    assert.equal(decodeOne(v6, lt).p?.ipVersion, 6);
    const bad = decodeOne(Buffer.from([0x55, 0, 0, 0]), lt);
    assert.equal(bad.p, null);
    assert.deepEqual(bad.anomalies, ['link/BAD_IP_VERSION']);
  }
  assert.deepEqual(decodeOne(v4, 228).anomalies, []);
  assert.deepEqual(decodeOne(v6, 229).anomalies, []);
  const m = decodeOne(v6, 228);
  assert.equal(m.p?.ipVersion, 6);
  assert.equal(m.p?.dstPort, 53);
  assert.deepEqual(m.anomalies, ['link/IP_VERSION_MISMATCH']);
  const m2 = decodeOne(v4, 229);
  assert.equal(m2.p?.ipVersion, 4);
  assert.deepEqual(m2.anomalies, ['link/IP_VERSION_MISMATCH']);
});

test('walk: unsupported link types are counted once per frame; non-IP frames are not anomalies', () => {
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  for (let i = 1; i <= 3; i++) assert.equal(d.decode(frame(SYN, 239, { frameNo: i })), null);
  assert.deepEqual(an.list().map((a) => [a.layer, a.code, a.count, a.firstFrame]), [['link', 'UNSUPPORTED_LINKTYPE', 3, 1]]);
  assert.match(an.list()[0].message, /NFLOG \(239\)/);
  const arp = ether(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...MAC_A, 10, 0, 0, 1, ...MAC_B, 10, 0, 0, 2]);
  const lldp = ether(0x88cc, [2, 7, 4, ...MAC_A]);
  const llc = Buffer.from([...MAC_B, ...MAC_A, 0x00, 0x26, 0x42, 0x42, 0x03, 0, 0, 0]);
  const pppoeDisc = ether(0x8863, [0x11, 0x09, 0, 0, 0, 0]);
  for (const f of [arp, lldp, llc, pppoeDisc]) {
    const r = decodeOne(f);
    assert.equal(r.p, null);
    assert.deepEqual(r.anomalies, []);
    assert.equal(r.d.lastStop, null);
  }
});

test('walk: PPPoE session frames carry IPv4 / IPv6; the PPPoE length bounds the packet', () => {
  const ip = ipv4(udp(dnsQuery(9), 53000, 53), { proto: 17, src: '192.168.1.2', dst: '208.67.220.220' });
  const sess = (proto: number, body: number[], len = body.length + 2) => ether(0x8864, [0x11, 0, 0x12, 0x34, ...u16(len), ...u16(proto), ...body]);
  const a = decodeOne(sess(0x0021, ip));
  assert.equal(a.p?.ipOff, 22);
  assert.deepEqual(addrs(a.p!), ['192.168.1.2', '208.67.220.220']);
  assert.equal(a.p?.dstPort, 53);
  const b = decodeOne(sess(0x0057, ipv6(udp(), { next: 17 })));
  assert.equal(b.p?.ipVersion, 6);
  const lcp = decodeOne(sess(0xc021, [1, 1, 0, 4]));
  assert.equal(lcp.p, null);
  assert.deepEqual(lcp.anomalies, []);
  // PPPoE length shorter than the IPv4 total length: damage, named after the PPPoE length
  const short = decodeOne(sess(0x0021, ip, 30));
  assert.equal(short.p?.ipVersion, 4);
  assert.deepEqual(short.anomalies, ['ipv4/BAD_LENGTH_PPPOE_LEN']);
  const bad = decodeOne(ether(0x8864, [0x21, 0, 0, 0, 0, 2, 0, 0x21]));
  assert.deepEqual(bad.anomalies, ['pppoe/BAD_VERSION_TYPE']);
});

test('walk: snap-length cuts are counted apart and are not anomalies; the same cut on a full frame is damage', () => {
  const data = ether(0x0800, ipv4(tcp(new Array(1000).fill(0x41), { flags: TH_ACK | TH_PSH })));
  const an = new AnomalySink();
  const d = new FrameDecoder(an);
  for (let len = 0; len < 80; len++) {
    const p = d.decode(frame(data.subarray(0, len), 1, { frameNo: len + 1, origLen: data.length }));
    assert.equal(d.last.snapTruncated, true);
    if (len >= 54) {
      assert.ok(p);
      assert.equal(p.tcpFlags, TH_ACK | TH_PSH);
      assert.equal(p.payloadOff, 54);
      assert.equal(p.payloadEnd, len);
      assert.equal(p.payloadLen, 1000);
      assert.equal(p.stop, null);
    }
  }
  assert.equal(d.snaplenTruncatedFrames, 80);
  assert.deepEqual(an.list(), []);
  // a full frame (capLen === origLen) whose IP total length claims more than it holds
  const cut = data.subarray(0, 100);
  const r = decodeOne(cut);
  assert.equal(r.p?.snapTruncated, false);
  assert.equal(r.p?.dstPort, 443);
  assert.equal(r.p?.payloadEnd, 100);
  assert.deepEqual(r.anomalies, ['ipv4/TRUNCATED_FRAME']);
  assert.equal(r.d.snaplenTruncatedFrames, 0);
  // a full frame cut inside the IP header: a stop, counted once
  const r2 = decodeOne(data.subarray(0, 30));
  assert.equal(r2.p, null);
  assert.deepEqual(r2.anomalies, ['ipv4/TRUNCATED_FRAME']);
  assert.deepEqual(r2.d.lastStop, { code: 'LEN', layer: 'ipv4', required: 20, available: 16, lenSource: 'capture', offset: 14 });
});

test('walk: a SYN whose options the snap length cut keeps its flags, ports and sequence', () => {
  const r = decodeOne(SYN.subarray(0, 54), 1, { origLen: SYN.length });
  assert.ok(r.p);
  assert.equal(r.p.tcpFlags, TH_SYN);
  assert.equal(r.p.srcPort, 51000);
  assert.equal(r.p.seq, 1000);
  assert.equal(r.p.tcpHdrLen, 40);
  assert.deepEqual(r.p.stop, { code: 'LEN', layer: 'tcp', required: 40, available: 20, lenSource: 'capture', offset: 34 });
  assert.deepEqual(r.anomalies, []);
  // only the ports fit
  const r2 = decodeOne(SYN.subarray(0, 40), 1, { origLen: SYN.length });
  assert.equal(r2.p?.srcPort, 51000);
  assert.equal(r2.p?.tcpHdrLen, 0);
  assert.equal(r2.p?.tcpFlags, 0);
});

test('walk: content errors stop decoding and are counted once per frame with readable codes', () => {
  const ihl = Buffer.from(SYN); ihl[14] = 0x44;
  const a = decodeOne(ihl);
  assert.equal(a.p, null);
  assert.deepEqual(a.anomalies, ['ipv4/BAD_HEADER_LENGTH']);
  assert.deepEqual(a.d.lastStop, { code: 'IPV4_BAD_HEADER_LENGTH', layer: 'ipv4', field: 'ihl', value: 4, offset: 14 });
  const doff = Buffer.from(SYN); doff[34 + 12] = 0x30;
  const b = decodeOne(doff);
  assert.equal(b.p?.srcPort, 51000);
  assert.equal(b.p?.tcpHdrLen, 0);
  assert.deepEqual(b.anomalies, ['tcp/DATA_OFFSET_TOO_SMALL']);
  assert.deepEqual(b.p?.stop, { code: 'TCP_DATA_OFFSET_TOO_SMALL', layer: 'tcp', field: 'dataOffset', value: 3, offset: 46 });
  const ver = Buffer.from(SYN); ver[14] = 0x65;
  assert.deepEqual(decodeOne(ver).anomalies, ['ipv4/BAD_VERSION']);
});

test('walk: UDP length beyond the IP payload is damage; the payload is clipped to the IP packet', () => {
  const body = udp([1, 2, 3, 4, 5, 6, 7, 8], 5000, 53, 100);
  const r = decodeOne(ether(0x0800, ipv4(body, { proto: 17 })));
  assert.equal(r.p?.dstPort, 53);
  assert.equal(r.p?.payloadLen, 8);
  assert.equal(r.p?.payloadEnd, 14 + 20 + 16);
  assert.deepEqual(r.anomalies, ['udp/BAD_LENGTH_IPV4_TOTALLEN']);
  const bad = decodeOne(ether(0x0800, ipv4(udp([1], 1, 2, 3), { proto: 17 })));
  assert.equal(bad.p?.srcPort, 1);
  assert.deepEqual(bad.anomalies, ['udp/BAD_LENGTH']);
});

test('walk: ICMP port unreachable with the quoted DNS query', () => {
  const query = ipv4(udp(dnsQuery(0xbeef), 53000, 443), { proto: 17, src: '10.20.1.57', dst: '208.67.222.222' });
  const f = ether(0x0800, ipv4(icmp(3, 3, [0, 0, 0, 0], query.slice(0, 28 + 10)), { proto: 1, src: '10.20.1.1', dst: '10.20.1.57', ttl: 255 }));
  const r = decodeOne(f);
  assert.ok(r.p);
  assert.equal(r.p.proto, 1);
  assert.equal(r.p.icmpType, 3);
  assert.equal(r.p.icmpCode, 3);
  assert.equal(r.p.srcPort, -1);
  assert.deepEqual(r.p.quoted, {
    ipVersion: 4, src: '10.20.1.57', dst: '208.67.222.222', proto: 17, srcPort: 53000, dstPort: 443,
    ttl: 64, dnsId: 0xbeef, tcpSeq: -1,
  });
  assert.deepEqual(r.anomalies, []);
  // ICMPv6 echo: no quote
  const echo = decodeOne(ether(0x86dd, ipv6(icmp(128, 0, [0, 1, 0, 1]), { next: 58 })));
  assert.equal(echo.p?.icmpType, 128);
  assert.equal(echo.p?.quoted, null);
  // a quote shorter than an IP header inside a complete message: damage
  const shortQ = decodeOne(ether(0x0800, ipv4(icmp(3, 1, [0, 0, 0, 0], query.slice(0, 12)), { proto: 1 })));
  assert.equal(shortQ.p?.quoted, null);
  assert.deepEqual(shortQ.anomalies, ['icmp/BAD_LENGTH_ICMP_QUOTED']);
});

test('walk: IPv6 extension headers before TCP; ESP and unknown protocols hand on the IP payload', () => {
  const pkt = ipv6([...ext6(43), ...ext6(60, [0, 0, 0, 0, 0, 0]), ...ext6(6), ...tcp([9, 9], { flags: TH_SYN | TH_ACK })], { next: 0 });
  const r = decodeOne(ether(0x86dd, pkt));
  assert.equal(r.p?.proto, 6);
  assert.equal(r.p?.l4Off, 14 + 40 + 24);
  assert.equal(r.p?.tcpFlags, TH_SYN | TH_ACK);
  assert.equal(r.p?.payloadLen, 2);
  assert.equal(r.p?.ipId, -1);
  const esp = decodeOne(ether(0x86dd, ipv6([0, 0, 1, 0, 0, 0, 0, 1, 7, 7], { next: 50 })));
  assert.equal(esp.p?.proto, 50);
  assert.equal(esp.p?.srcPort, -1);
  assert.equal(esp.p?.payloadOff, 54);
  assert.equal(esp.p?.payloadLen, 10);
  assert.deepEqual(esp.anomalies, []);
  const gre = decodeOne(ether(0x0800, ipv4([0, 0, 0x08, 0x00, 0x45], { proto: 47 })));
  assert.equal(gre.p?.proto, 47);
  assert.equal(gre.p?.payloadLen, 5);
});

test('walk: Ethernet shorter than its header, and an empty frame', () => {
  const a = decodeOne(SYN.subarray(0, 10));
  assert.equal(a.p, null);
  assert.deepEqual(a.anomalies, ['ethernet/TRUNCATED_FRAME']);
  const b = decodeOne(Buffer.alloc(0), 101);
  assert.equal(b.p, null);
  assert.deepEqual(b.d.lastStop, { code: 'LEN', layer: 'ipv4', required: 20, available: 0, lenSource: 'capture', offset: 0 });
});

test('walk: the crafted frames dissect in tshark as the walker reads them', { skip: need('tshark') }, () => {
  const frames = [
    SYN,
    etherTagged([[0x88a8, 200], [0x8100, 300]], 0x0800, ipv4(udp([1, 2, 3, 4], 1234, 53), { proto: 17, src: '192.0.2.7', dst: '192.0.2.8' })),
    ether(0x8864, [0x11, 0, 0x12, 0x34, ...u16(2 + 48), 0x00, 0x57, ...ipv6(udp([0, 0], 5353, 53), { next: 17, src: '2001:db8::a', dst: '2001:db8::b' })]),
    ether(0x86dd, ipv6([...ext6(43), ...ext6(60, [0, 0, 0, 0, 0, 0]), ...ext6(6), ...tcp([9, 9], { sport: 8200, dport: 50000, flags: 0x12 })], { next: 0 })),
  ];
  const dir = join(repoRoot, 'test', 'tmp');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `decode-walk-${process.pid}.pcapng`);
  try {
    const w = PcapngWriter.openSync(path);
    frames.forEach((data, i) => w.writeSync({ tsSec: 1_700_000_000 + i, tsNsec: 0, data }));
    w.closeSync();
    const r = spawnSync('tshark', ['-r', path, '-T', 'fields', '-E', 'occurrence=f', '-e', 'ip.src', '-e', 'ipv6.src',
      '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'ieee8021ad.id', '-e', 'vlan.id', '-e', 'tcp.flags'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    const d = new FrameDecoder(new AnomalySink());
    frames.forEach((data, i) => {
      const p = d.decode(frame(data, 1, { frameNo: i + 1 }));
      assert.ok(p);
      const [s] = addrs(p);
      const mine = [p.ipVersion === 4 ? s : '', p.ipVersion === 6 ? s : '',
        p.proto === 6 ? String(p.srcPort) : '', p.proto === 17 ? String(p.srcPort) : '',
        p.vlans.length > 1 ? String(p.vlans[0]) : '', p.vlans.length ? String(p.vlans[p.vlans.length - 1]) : '',
        p.proto === 6 ? '0x' + p.tcpFlags.toString(16).padStart(4, '0') : ''];
      assert.deepEqual(mine, rows[i], `frame ${i + 1}`);
    });
  } finally {
    rmSync(path, { force: true });
  }
});
