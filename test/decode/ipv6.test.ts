import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeIpv6, decodeIpv6ExtChain, decodeIpv6Fragment, IPV6_MAX_EXT_HEADERS, Ipv6ExtChain,
} from '../../src/decode/ipv6.js';
import { assertContent, assertLen, ext6, hex, ipv6, ok, placements, udp } from './helpers.js';

// IPv6: traffic class 0x12, flow label 0x34567, payload length 8, next header UDP (17),
// hop limit 255, 2001:db8::1 > 2620:119:35::35, then a bare UDP header 53000 > 443
//   0x0000:  6123 4567 0008 11ff 2001 0db8 0000 0000
//   0x0010:  0000 0000 0000 0001 2620 0119 0035 0000
//   0x0020:  0000 0000 0000 0035 cf08 01bb 0008 0000
const IPV6_UDP = hex(`
  61 23 45 67                                       # version 6, traffic class 0x12, flow label 0x34567
  00 08                                             # payload length 8
  11                                                # next header UDP
  ff                                                # hop limit 255
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01   # source 2001:db8::1
  26 20 01 19 00 35 00 00 00 00 00 00 00 00 00 35   # destination 2620:119:35::35
  cf 08 01 bb 00 08 00 00                           # UDP 53000 > 443, length 8
`);

// IPv6 with hop-by-hop (8), routing (24), destination options (8), then TCP
//   hop-by-hop: next 43, len 0, PadN;  routing: next 60, len 2 (24 bytes), type 0;
//   destination options: next 6, len 0, PadN; TCP header (20 bytes)
const CHAIN = hex(`
  2b 00 01 04 00 00 00 00                           # hop-by-hop: next routing (43), 8 bytes, PadN(4)
  3c 02 00 01 00 00 00 00                           # routing: next dst-opts (60), 24 bytes, type 0, 1 left
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00   #   one address (::)
  06 00 01 04 00 00 00 00                           # destination options: next TCP, 8 bytes
  9c 40 01 bb 00 00 03 e8 00 00 00 00 50 02 fa f0 00 00 00 00   # TCP
`);

for (const at of placements(IPV6_UDP)) {
  test(`ipv6: fixed header fields (${at.name})`, () => {
    const ip = ok(decodeIpv6(at.buf, at.off, at.end));
    assert.equal(ip.version, 6);
    assert.equal(ip.trafficClass, 0x12);
    assert.equal(ip.flowLabel, 0x34567);
    assert.equal(ip.payloadLength, 8);
    assert.equal(ip.nextHeader, 17);
    assert.equal(ip.hopLimit, 255);
    assert.equal(ip.srcOff, at.off + 8);
    assert.equal(ip.dstOff, at.off + 24);
    assert.equal(ip.payloadStart, at.off + 40);
    assert.equal(ip.totalLen, 48);
    assert.equal(ip.payloadEnd, at.off + 48);
    assert.equal(ip.clipped, false);
    const chain = ok(decodeIpv6ExtChain(at.buf, ip.payloadStart, ip.nextHeader, ip.payloadEnd));
    assert.equal(chain.protocol, 17);
    assert.equal(chain.payloadStart, at.off + 40);
    assert.equal(chain.fragmentHeaderOff, -1);
    assert.equal(chain.count, 0);
  });
}

for (const at of placements(CHAIN)) {
  test(`ipv6: extension chain hop-by-hop, routing, destination options -> TCP (${at.name})`, () => {
    const c = ok(decodeIpv6ExtChain(at.buf, at.off, 0, at.end));
    assert.ok(c instanceof Ipv6ExtChain);
    assert.equal(c.protocol, 6);
    assert.equal(c.payloadStart, at.off + 40);
    assert.equal(c.count, 3);
    assert.equal(c.fragmentHeaderOff, -1);
  });
}

test('ipv6: every truncation inside the chain is an exact LenError at the cut header', () => {
  // header starts: 0 (8 bytes), 8 (24 bytes), 32 (8 bytes); the TCP header itself is not walked
  for (let len = 0; len < 40; len++) {
    const r = decodeIpv6ExtChain(CHAIN.subarray(0, len), 0, 0);
    if (len < 8) assertLen(r, 'ipv6-ext', 8, len, 'capture', 0);
    else if (len < 32) assertLen(r, 'ipv6-ext', len < 10 ? 8 : 24, len - 8, 'capture', 8);
    else assertLen(r, 'ipv6-ext', 8, len - 32, 'capture', 32);
  }
  // limited by the payload length instead of the capture
  const at = placements(CHAIN)[1];
  assertLen(decodeIpv6ExtChain(at.buf, at.off, 0, at.off + 20, 'ipv6.payloadLen'), 'ipv6-ext', 24, 12, 'ipv6.payloadLen', 8);
});

test('ipv6: AH length counts 4-octet units', () => {
  // AH: next UDP, payload len 4 -> (4 + 2) * 4 = 24 bytes
  const ah = [17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, ...new Array(12).fill(0)];
  const c = ok(decodeIpv6ExtChain(Buffer.from([...ah, ...udp()]), 0, 51));
  assert.equal(c.protocol, 17);
  assert.equal(c.payloadStart, 24);
});

test('ipv6: ESP and No Next Header end the chain without error', () => {
  const esp = ok(decodeIpv6ExtChain(Buffer.from([...ext6(50), 1, 2, 3, 4]), 0, 0));
  assert.equal(esp.protocol, 50);
  assert.equal(esp.payloadStart, 8);
  const none = ok(decodeIpv6ExtChain(Buffer.from(ext6(59)), 0, 60));
  assert.equal(none.protocol, 59);
  assert.equal(none.payloadStart, 8);
});

test('ipv6: a fragment header stops the chain; an atomic one (offset 0, M clear) does not', () => {
  // fragment: next UDP, offset 1448, M set, id 0xdeadbeef
  const frag = [17, 0, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef];
  const c = ok(decodeIpv6ExtChain(Buffer.from([...ext6(44), ...frag, 1, 2]), 0, 0));
  assert.equal(c.protocol, 17);
  assert.equal(c.fragmentHeaderOff, 8);
  assert.equal(c.payloadStart, 16);
  const f = ok(decodeIpv6Fragment(Buffer.from(frag), 0));
  assert.equal(f.nextHeader, 17);
  assert.equal(f.fragmentOffset, 1448);
  assert.equal(f.moreFragments, true);
  assert.equal(f.id, 0xdeadbeef);
  assert.equal(f.isAtomic, false);
  const atomic = [17, 0, 0, 0, 0, 0, 0, 9];
  const a = ok(decodeIpv6ExtChain(Buffer.from([...atomic, ...udp()]), 0, 44));
  assert.equal(a.protocol, 17);
  assert.equal(a.fragmentHeaderOff, -1);
  assert.equal(a.payloadStart, 8);
  assert.equal(ok(decodeIpv6Fragment(Buffer.from(atomic), 0)).isAtomic, true);
  for (let len = 0; len < 8; len++) assertLen(decodeIpv6Fragment(Buffer.from(frag).subarray(0, len), 0), 'ipv6-ext', 8, len, 'capture');
});

test('ipv6: an endless chain is cut at IPV6_MAX_EXT_HEADERS', () => {
  const hops: number[] = [];
  for (let i = 0; i <= IPV6_MAX_EXT_HEADERS + 1; i++) hops.push(...ext6(60));
  const r = decodeIpv6ExtChain(Buffer.from(hops), 0, 60);
  assertContent(r, 'IPV6_EXT_TOO_MANY_HEADERS', 'ipv6-ext', 'count', IPV6_MAX_EXT_HEADERS + 1, IPV6_MAX_EXT_HEADERS * 8);
});

test('ipv6: payload length 0 (jumbogram / offload) runs to the enclosing limit', () => {
  const b = Buffer.from(ipv6(udp([1, 2, 3, 4]), { next: 17, payloadLen: 0 }));
  const ip = ok(decodeIpv6(b, 0));
  assert.equal(ip.totalLen, b.length);
  assert.equal(ip.payloadEnd, b.length);
});

test('ipv6: payload length beyond the captured bytes is clipped and flagged', () => {
  const ip = ok(decodeIpv6(IPV6_UDP.subarray(0, 44), 0));
  assert.equal(ip.claimedEnd, 48);
  assert.equal(ip.payloadEnd, 44);
  assert.equal(ip.clipped, true);
});

test('ipv6: bad version and every truncation of the fixed header', () => {
  const b = Buffer.from(IPV6_UDP);
  b[0] = 0x45;
  assertContent(decodeIpv6(b, 0), 'IPV6_BAD_VERSION', 'ipv6', 'version', 4, 0);
  for (let len = 0; len < 40; len++) {
    assertLen(decodeIpv6(IPV6_UDP.subarray(0, len), 0), 'ipv6', 40, len, 'capture');
    const at = placements(IPV6_UDP)[1];
    assertLen(decodeIpv6(at.buf, at.off, at.off + len), 'ipv6', 40, len, 'capture');
  }
});
