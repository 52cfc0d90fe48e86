import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeIpv4, ipv4HeaderChecksum, Ipv4View } from '../../src/decode/ipv4.js';
import { assertContent, assertLen, hex, ok, placements } from './helpers.js';

// IPv4, IHL 5, total length 40, id 0x1c46, DF, TTL 64, TCP, checksum 0xa6c9 (right),
// 10.20.1.57 > 18.135.112.200, then 20 bytes of TCP (a SYN)
//   0x0000:  4500 0028 1c46 4000 4006 a6c9 0a14 0139
//   0x0010:  1287 70c8 ...
const IPV4_TCP = hex(`
  45          # version 4, IHL 5 (20 bytes)
  00          # DSCP/ECN
  00 28       # total length 40
  1c 46       # identification
  40 00       # flags DF, fragment offset 0
  40          # TTL 64
  06          # protocol TCP
  00 00       # header checksum (filled in below)
  0a 14 01 39 # source 10.20.1.57
  12 87 70 c8 # destination 18.135.112.200
  9c 40 01 bb 00 00 03 e8 00 00 00 00 50 02 fa f0 00 00 00 00   # TCP: 40000 > 443 SYN
`);
IPV4_TCP.writeUInt16BE(ipv4HeaderChecksum(IPV4_TCP, 0, 20), 10);

// IPv4 with a 4-byte option (router alert, RFC 2113): IHL 6, total length 28, UDP 8 bytes... here
// only the 24-byte header + 4 payload bytes; MF set, fragment offset 185*8 = 1480
//   0x0000:  4600 001c abcd 20b9 0111 0000 c0a8 0001
//   0x0010:  e000 0016 9404 0000 dead beef
const IPV4_OPTS_FRAG = hex(`
  46          # version 4, IHL 6 (24 bytes)
  00
  00 1c       # total length 28
  ab cd       # identification
  20 b9       # MF, fragment offset 185 (1480 bytes)
  01          # TTL 1
  11          # protocol UDP
  00 00       # checksum (not checked)
  c0 a8 00 01 # 192.168.0.1
  e0 00 00 16 # 224.0.0.22
  94 04 00 00 # option: router alert
  de ad be ef # payload
`);

for (const at of placements(IPV4_TCP)) {
  test(`ipv4: header fields (${at.name})`, () => {
    const ip = ok(decodeIpv4(at.buf, at.off, at.end));
    assert.ok(ip instanceof Ipv4View);
    assert.equal(ip.version, 4);
    assert.equal(ip.ihl, 5);
    assert.equal(ip.headerLen, 20);
    assert.equal(ip.totalLen, 40);
    assert.equal(ip.id, 0x1c46);
    assert.equal(ip.dontFragment, true);
    assert.equal(ip.moreFragments, false);
    assert.equal(ip.fragmentOffset, 0);
    assert.equal(ip.isFragment, false);
    assert.equal(ip.ttl, 64);
    assert.equal(ip.protocol, 6);
    assert.equal(ip.srcOff, at.off + 12);
    assert.equal(ip.dstOff, at.off + 16);
    assert.deepEqual([...at.buf.subarray(ip.srcOff, ip.srcOff + 4)], [10, 20, 1, 57]);
    assert.deepEqual([...at.buf.subarray(ip.dstOff, ip.dstOff + 4)], [18, 135, 112, 200]);
    assert.equal(ip.payloadStart, at.off + 20);
    assert.equal(ip.claimedEnd, at.off + 40);
    assert.equal(ip.payloadEnd, at.off + 40);
    assert.equal(ip.clipped, false);
    assert.equal(ipv4HeaderChecksum(at.buf, at.off, 20), 0);
  });
}

for (const at of placements(IPV4_OPTS_FRAG)) {
  test(`ipv4: options (IHL 6) and fragment fields (${at.name})`, () => {
    const ip = ok(decodeIpv4(at.buf, at.off, at.end));
    assert.equal(ip.headerLen, 24);
    assert.equal(ip.optionsStart, at.off + 20);
    assert.equal(ip.payloadStart, at.off + 24);
    assert.equal(ip.moreFragments, true);
    assert.equal(ip.fragmentOffset, 1480);
    assert.equal(ip.isFragment, true);
    assert.equal(ip.protocol, 17);
    assert.equal(ip.payloadEnd - ip.payloadStart, 4);
  });
}

test('ipv4: Ethernet padding after the packet is clipped by the total length', () => {
  const padded = Buffer.concat([IPV4_TCP, Buffer.alloc(6)]);
  const ip = ok(decodeIpv4(padded, 0));
  assert.equal(ip.payloadEnd, 40);
  assert.equal(ip.clipped, false);
});

test('ipv4: a total length beyond the captured bytes is clipped and flagged', () => {
  const cut = IPV4_TCP.subarray(0, 30);
  const ip = ok(decodeIpv4(cut, 0));
  assert.equal(ip.totalLen, 40);
  assert.equal(ip.claimedEnd, 40);
  assert.equal(ip.payloadEnd, 30);
  assert.equal(ip.clipped, true);
  // and by an enclosing limit (PPPoE length)
  const ip2 = ok(decodeIpv4(IPV4_TCP, 0, 36, 'pppoe.len'));
  assert.equal(ip2.payloadEnd, 36);
});

test('ipv4: total length 0 (segmentation offload) runs to the enclosing limit', () => {
  const tso = Buffer.from(IPV4_TCP);
  tso.writeUInt16BE(0, 2);
  const ip = ok(decodeIpv4(tso, 0));
  assert.equal(ip.totalLen, 40);
  assert.equal(ip.payloadEnd, 40);
});

test('ipv4: IHL < 5 is ContentError IPV4_BAD_HEADER_LENGTH, version != 4 IPV4_BAD_VERSION', () => {
  for (const at of placements(IPV4_TCP)) {
    const b = Buffer.from(at.buf);
    b[at.off] = 0x44;
    assertContent(decodeIpv4(b, at.off, at.end), 'IPV4_BAD_HEADER_LENGTH', 'ipv4', 'ihl', 4, 0);
    b[at.off] = 0x65;
    assertContent(decodeIpv4(b, at.off, at.end), 'IPV4_BAD_VERSION', 'ipv4', 'version', 6, 0);
  }
});

test('ipv4: total length shorter than the header is a LenError (ipv4.totalLen)', () => {
  const b = Buffer.from(IPV4_TCP);
  b.writeUInt16BE(19, 2);
  assertLen(decodeIpv4(b, 0), 'ipv4', 20, 19, 'ipv4.totalLen');
});

test('ipv4: every truncation of the header is an exact LenError', () => {
  for (const [fixture, hdrLen] of [[IPV4_TCP, 20], [IPV4_OPTS_FRAG, 24]] as const) {
    for (let len = 0; len < hdrLen; len++) {
      const required = len < 20 ? 20 : hdrLen;
      assertLen(decodeIpv4(fixture.subarray(0, len), 0), 'ipv4', required, len, 'capture');
      const at = placements(fixture)[1];
      // limited by an enclosing length field instead of the capture
      assertLen(decodeIpv4(at.buf, at.off, at.off + len, 'pppoe.len'), 'ipv4', required, len, 'pppoe.len');
    }
  }
});
