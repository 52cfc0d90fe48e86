import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeIcmp, decodeQuotedPacket } from '../../src/decode/icmp.js';
import { icmpCodeName, icmpQuotesPacket, icmpTypeName } from '../../src/decode/icmp-names.js';
import {
  assertContent, assertLen, ext6, hex, icmp, ip6, ipv4, ipv6, ok, placements, tcp, udp,
} from './helpers.js';

// ICMP destination unreachable / port unreachable, quoting the DNS query it answers:
// 10.20.1.57:53000 > 208.67.222.222:443 UDP, DNS id 0xbeef
//   0x0000:  0303 0000 0000 0000 4500 003c 0001 0000
//   0x0010:  4011 0000 0a14 0139 d043 dede cf08 01bb
//   0x0020:  0028 0000 beef 0100
const UNREACH = hex(`
  03 03 00 00 00 00 00 00   # type 3 code 3 (port unreachable), checksum, unused
  45 00 00 3c 00 01 00 00   # quoted IPv4: IHL 5, total length 60, id 1
  40 11 00 00               #   TTL 64, UDP
  0a 14 01 39               #   10.20.1.57
  d0 43 de de               #   208.67.222.222
  cf 08 01 bb 00 28 00 00   # quoted UDP 53000 > 443, length 40
  be ef 01 00               # quoted DNS: id 0xbeef, flags RD
`);

// ICMPv6 destination unreachable / port unreachable quoting IPv6 UDP 2001:db8::57:53001 >
// 2620:119:35::35:53 (DNS id 0x0102) with a destination-options header in between
const V6_QUOTED = [
  ...ipv6([...ext6(17), ...udp([0x01, 0x02, 0, 0], 53001, 53)], { src: '2001:db8::57', dst: '2620:119:35::35', next: 60, hop: 63 }),
];
const UNREACH6 = Buffer.from(icmp(1, 4, [0, 0, 0, 0], V6_QUOTED));

for (const at of placements(UNREACH)) {
  test(`icmp: header and quoted IPv4/UDP with DNS id (${at.name})`, () => {
    const ic = ok(decodeIcmp(at.buf, at.off, at.end));
    assert.equal(ic.type, 3);
    assert.equal(ic.code, 3);
    assert.equal(ic.quotesPacket, true);
    assert.equal(ic.payloadStart, at.off + 8);
    assert.equal(ic.payloadEnd, at.end);
    const q = ok(decodeQuotedPacket(at.buf, ic.payloadStart, ic.payloadEnd));
    assert.deepEqual(q, {
      ipVersion: 4, src: '10.20.1.57', dst: '208.67.222.222', proto: 17, srcPort: 53000, dstPort: 443,
      ttl: 64, dnsId: 0xbeef, tcpSeq: -1,
    });
  });
}

for (const at of placements(UNREACH6)) {
  test(`icmpv6: quoted IPv6 through an extension header to UDP (${at.name})`, () => {
    const ic = ok(decodeIcmp(at.buf, at.off, at.end, 'capture', true));
    assert.equal(ic.type, 1);
    assert.equal(ic.code, 4);
    assert.equal(ic.quotesPacket, true);
    const q = ok(decodeQuotedPacket(at.buf, ic.payloadStart, ic.payloadEnd, 'icmp.quoted', true));
    assert.deepEqual(q, {
      ipVersion: 6, src: '2001:db8::57', dst: '2620:119:35::35', proto: 17, srcPort: 53001, dstPort: 53,
      ttl: 63, dnsId: 0x0102, tcpSeq: -1,
    });
  });
}

test('icmp: quoted TCP gives the sequence number; short quotes give what fits', () => {
  const inner = ipv4(tcp([], { sport: 51000, dport: 443, seq: 0xfedcba98 }), { src: '10.0.0.9', dst: '18.135.112.200', proto: 6 });
  const quote = Buffer.from(inner.slice(0, 28));      // IP header + 8 bytes: ports + seq
  const q = ok(decodeQuotedPacket(quote, 0));
  assert.equal(q.proto, 6);
  assert.equal(q.srcPort, 51000);
  assert.equal(q.dstPort, 443);
  assert.equal(q.tcpSeq, 0xfedcba98);
  assert.equal(q.dnsId, -1);
  for (let n = 20; n < 28; n++) {
    const s = ok(decodeQuotedPacket(quote.subarray(0, n), 0));
    assert.equal(s.srcPort, n >= 24 ? 51000 : -1, `quote of ${n} bytes`);
    assert.equal(s.tcpSeq, -1);
  }
  // UDP needs 10 bytes for the DNS id
  const uq = Buffer.from(UNREACH.subarray(8, 8 + 29));
  assert.equal(ok(decodeQuotedPacket(uq, 0)).dnsId, -1);
  assert.equal(ok(decodeQuotedPacket(uq, 0)).srcPort, 53000);
});

test('icmp: a quoted non-first fragment has no ports', () => {
  const q = Buffer.from(UNREACH.subarray(8));
  q[6] = 0x00; q[7] = 0xb9;                           // fragment offset 1480
  const r = ok(decodeQuotedPacket(q, 0));
  assert.equal(r.srcPort, -1);
  assert.equal(r.dnsId, -1);
});

test('icmp: quote errors: shorter than the IP header, wrong version, IHL < 5', () => {
  const q = Buffer.from(UNREACH.subarray(8));
  for (let n = 0; n < 20; n++) {
    assertLen(decodeQuotedPacket(q, 0, n), 'icmp', 20, n, 'icmp.quoted');
    // cut by the capture instead: the ICMP message claims more than was captured
    assertLen(decodeQuotedPacket(q.subarray(0, n), 0, 100), 'icmp', 20, n, 'capture');
  }
  const v6 = Buffer.from(q); v6[0] = 0x60;
  assertContent(decodeQuotedPacket(v6, 0), 'ICMP_QUOTED_BAD_VERSION', 'icmp', 'quoted.version', 6, 0);
  assertContent(decodeQuotedPacket(q, 0, q.length, 'icmp.quoted', true), 'ICMPV6_QUOTED_BAD_VERSION', 'icmpv6', 'quoted.version', 4, 0);
  const ihl = Buffer.from(q); ihl[0] = 0x43;
  assertContent(decodeQuotedPacket(ihl, 0), 'ICMP_QUOTED_BAD_HEADER_LENGTH', 'icmp', 'quoted.ihl', 3, 0);
  const six = Buffer.from(V6_QUOTED);
  for (let n = 1; n < 40; n++) assertLen(decodeQuotedPacket(six, 0, n, 'icmp.quoted', true), 'icmpv6', 40, n, 'icmp.quoted');
});

test('icmp: echo request is not an error and quotes nothing', () => {
  const echo = Buffer.from(icmp(8, 0, [0x12, 0x34, 0x00, 0x07], [1, 2, 3]));
  const ic = ok(decodeIcmp(echo, 0));
  assert.equal(ic.quotesPacket, false);
  assert.equal(ic.echoId, 0x1234);
  assert.equal(ic.echoSeq, 7);
  const ptb = ok(decodeIcmp(Buffer.from(icmp(2, 0, [0, 0, 0x05, 0x00])), 0, undefined, 'capture', true));
  assert.equal(ptb.mtu, 1280);
  assert.equal(ptb.quotesPacket, true);
});

test('icmp: every truncation of the 8-byte header is an exact LenError', () => {
  for (let len = 0; len < 8; len++) {
    assertLen(decodeIcmp(UNREACH.subarray(0, len), 0), 'icmp', 8, len, 'capture');
    assertLen(decodeIcmp(UNREACH6.subarray(0, len), 0, undefined, 'capture', true), 'icmpv6', 8, len, 'capture');
    const at = placements(UNREACH)[1];
    assertLen(decodeIcmp(at.buf, at.off, at.off + len, 'ipv4.totalLen'), 'icmp', 8, len, 'ipv4.totalLen');
  }
});

test('icmp names: lossless tables', () => {
  assert.equal(icmpTypeName(3), 'DEST_UNREACHABLE');
  assert.equal(icmpCodeName(3, 3), 'PORT_UNREACHABLE');
  assert.equal(icmpCodeName(3, 13), 'ADMIN_PROHIBITED');
  assert.equal(icmpTypeName(1, true), 'DEST_UNREACHABLE');
  assert.equal(icmpCodeName(1, 4, true), 'PORT_UNREACHABLE');
  assert.equal(icmpTypeName(2, true), 'PACKET_TOO_BIG');
  assert.equal(icmpTypeName(99), 'UNKNOWN_99');
  assert.equal(icmpCodeName(3, 77), 'UNKNOWN_77');
  assert.equal(icmpCodeName(8, 0), 'NONE');
  assert.equal(icmpQuotesPacket(11, false), true);
  assert.equal(icmpQuotesPacket(0, false), false);
  assert.equal(icmpQuotesPacket(128, true), false);
  assert.deepEqual(ip6('2620:119:35::35').slice(0, 4), [0x26, 0x20, 0x01, 0x19]);
});
