import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUdp } from '../../src/decode/udp.js';
import { assertContent, assertLen, hex, ok, placements } from './helpers.js';

// UDP 51851 > 53, length 12, checksum 0x1234, 4 payload bytes (start of a DNS header, id 0x9f91)
//   0x0000:  ca8b 0035 000c 1234 9f91 0100
const UDP = hex(`
  ca 8b   # source port 51851
  00 35   # destination port 53
  00 0c   # length 12
  12 34   # checksum
  9f 91 01 00   # payload
`);

for (const at of placements(UDP)) {
  test(`udp: header fields (${at.name})`, () => {
    const u = ok(decodeUdp(at.buf, at.off, at.end));
    assert.equal(u.srcPort, 51851);
    assert.equal(u.dstPort, 53);
    assert.equal(u.length, 12);
    assert.equal(u.checksum, 0x1234);
    assert.equal(u.headerLen, 8);
    assert.equal(u.payloadStart, at.off + 8);
    assert.equal(u.claimedEnd, at.off + 12);
    assert.equal(u.payloadEnd, at.off + 12);
  });
}

test('udp: the length field clips the payload (trailing bytes are not UDP)', () => {
  const b = Buffer.concat([UDP, Buffer.from([9, 9, 9])]);
  const u = ok(decodeUdp(b, 0));
  assert.equal(u.payloadEnd, 12);
});

test('udp: a length beyond the IP payload keeps the claim and clips the payload', () => {
  const b = Buffer.from(UDP);
  b.writeUInt16BE(100, 4);
  const u = ok(decodeUdp(b, 0, 12, 'ipv4.totalLen'));
  assert.equal(u.claimedEnd, 100);
  assert.equal(u.payloadEnd, 12);
});

test('udp: length < 8 is ContentError UDP_BAD_LENGTH; 0 is allowed over IPv6 only', () => {
  const b = Buffer.from(UDP);
  b.writeUInt16BE(7, 4);
  assertContent(decodeUdp(b, 0), 'UDP_BAD_LENGTH', 'udp', 'length', 7, 4);
  b.writeUInt16BE(0, 4);
  assertContent(decodeUdp(b, 0), 'UDP_BAD_LENGTH', 'udp', 'length', 0, 4);
  const jumbo = ok(decodeUdp(b, 0, 12, 'ipv6.payloadLen', true));
  assert.equal(jumbo.claimedEnd, 12);
  assert.equal(jumbo.payloadEnd, 12);
});

test('udp: every truncation of the header is an exact LenError', () => {
  for (let len = 0; len < 8; len++) {
    assertLen(decodeUdp(UDP.subarray(0, len), 0), 'udp', 8, len, 'capture');
    const at = placements(UDP)[1];
    assertLen(decodeUdp(at.buf, at.off, at.off + len, 'ipv6.payloadLen'), 'udp', 8, len, 'ipv6.payloadLen');
  }
});
