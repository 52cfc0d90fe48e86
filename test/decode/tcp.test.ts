import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTcp, decodeTcpOptions, parseTcpOptions, TcpView } from '../../src/decode/tcp.js';
import { TH_ACK, TH_SYN } from '../../src/decode/packet.js';
import { assertContent, assertLen, hex, ok, placements } from './helpers.js';

// TCP SYN-ACK 443 > 51000, seq 0xf0000001 (above 2^31), ack 0x89abcdef, data offset 10 (40
// bytes), flags SYN|ACK, window 65160, options MSS 1460, SACK permitted, timestamps
// 123456789/987654321, NOP, window scale 7; then 4 payload bytes
//   0x0000:  01bb c738 f000 0001 89ab cdef a012 fe88
//   0x0010:  0000 0000 0204 05b4 0402 080a 075b cd15
//   0x0020:  3ade 68b1 0103 0307 dead beef
const SYNACK = hex(`
  01 bb             # source port 443
  c7 38             # destination port 51000
  f0 00 00 01       # sequence number 4026531841
  89 ab cd ef       # acknowledgment 2309737967
  a0                # data offset 10 (40 bytes)
  12                # flags SYN ACK
  fe 88             # window 65160
  00 00             # checksum
  00 00             # urgent pointer
  02 04 05 b4       # MSS 1460
  04 02             # SACK permitted
  08 0a 07 5b cd 15 3a de 68 b1   # timestamps 123456789 / 987654321
  01                # NOP
  03 03 07          # window scale 7
  de ad be ef       # payload
`);

for (const at of placements(SYNACK)) {
  test(`tcp: header fields (${at.name})`, () => {
    const t = ok(decodeTcp(at.buf, at.off, at.end));
    assert.ok(t instanceof TcpView);
    assert.equal(t.srcPort, 443);
    assert.equal(t.dstPort, 51000);
    assert.equal(t.seq, 0xf0000001);
    assert.equal(t.ack, 0x89abcdef);
    assert.equal(t.dataOffset, 10);
    assert.equal(t.headerLen, 40);
    assert.equal(t.flags, TH_SYN | TH_ACK);
    assert.equal(t.window, 65160);
    assert.equal(t.optionsStart, at.off + 20);
    assert.equal(t.payloadStart, at.off + 40);
    assert.equal(t.payloadEnd, at.off + 44);
    assert.equal(t.payloadLen, 4);
  });

  test(`tcp: options, strict and lax (${at.name})`, () => {
    const want = { mss: 1460, wscale: 7, sackOk: true, tsVal: 123456789, tsEcr: 987654321 };
    assert.deepEqual(decodeTcpOptions(at.buf, at.off, 40), want);
    assert.deepEqual(parseTcpOptions(at.buf, at.off, 40), want);
  });
}

test('tcp: no options gives the "absent" values', () => {
  const plain = hex('9c40 01bb 0000 03e8 0000 0000 5002 faf0 0000 0000');
  assert.deepEqual(decodeTcpOptions(plain, 0, 20), { mss: -1, wscale: -1, sackOk: false, tsVal: -1, tsEcr: -1 });
});

test('tcp: malformed options: strict gives typed errors, lax keeps what parsed before', () => {
  const base = Buffer.from(SYNACK.subarray(0, 40));
  // window scale with length 2 instead of 3 (the option at offset 37)
  const badWs = Buffer.from(base); badWs[38] = 2;
  assertContent(decodeTcpOptions(badWs, 0, 40), 'TCP_OPTION_BAD_LENGTH', 'tcp', 'wscale.length', 2, 38);
  // ... with length 4 it runs past the header
  const longWs = Buffer.from(base); longWs[38] = 4;
  assertLen(decodeTcpOptions(longWs, 0, 40), 'tcp', 41, 40, 'tcp.dataOffset');
  assert.deepEqual(parseTcpOptions(badWs, 0, 40), { mss: 1460, wscale: -1, sackOk: true, tsVal: 123456789, tsEcr: 987654321 });
  // an option length of 0 would loop forever: error
  const zero = Buffer.from(base); zero[21] = 0;
  assertContent(decodeTcpOptions(zero, 0, 40), 'TCP_OPTION_BAD_LENGTH', 'tcp', 'option2.length', 0, 21);
  assert.equal(parseTcpOptions(zero, 0, 40).mss, -1);
  // the timestamp option running past the data offset
  assertLen(decodeTcpOptions(base, 0, 32), 'tcp', 36, 32, 'tcp.dataOffset');
  // ... or past the captured bytes
  assertLen(decodeTcpOptions(base.subarray(0, 30), 0, 40), 'tcp', 36, 30, 'capture');
  // ... also when the frame lies in a larger buffer (a Packet's data) and ends at capEnd
  const inChunk = Buffer.concat([Buffer.alloc(10, 0xee), base, base]);
  assertLen(decodeTcpOptions(inChunk, 10, 40, 40), 'tcp', 36, 30, 'capture');
  assert.deepEqual(parseTcpOptions(inChunk, 10, 40, 40), { mss: 1460, wscale: -1, sackOk: true, tsVal: -1, tsEcr: -1 });
  assert.deepEqual(decodeTcpOptions(inChunk, 10, 40, 50), { mss: 1460, wscale: 7, sackOk: true, tsVal: 123456789, tsEcr: 987654321 });
});

test('tcp: data offset < 5 is ContentError TCP_DATA_OFFSET_TOO_SMALL', () => {
  for (const at of placements(SYNACK)) {
    const b = Buffer.from(at.buf);
    b[at.off + 12] = 0x40;
    assertContent(decodeTcp(b, at.off, at.end), 'TCP_DATA_OFFSET_TOO_SMALL', 'tcp', 'dataOffset', 4, 12);
  }
});

test('tcp: every truncation of the header is an exact LenError', () => {
  for (let len = 0; len < 40; len++) {
    const required = len < 20 ? 20 : 40;
    assertLen(decodeTcp(SYNACK.subarray(0, len), 0), 'tcp', required, len, 'capture');
    const at = placements(SYNACK)[1];
    assertLen(decodeTcp(at.buf, at.off, at.off + len, 'ipv4.totalLen'), 'tcp', required, len, 'ipv4.totalLen');
  }
});

test('tcp: an IP length ending inside the header names the IP length; a capture end names the capture', () => {
  // IP claims 30 bytes of segment, 44 captured: the IP length is what ran short
  assertLen(decodeTcp(SYNACK, 0, 30, 'ipv6.payloadLen'), 'tcp', 40, 30, 'ipv6.payloadLen');
  // IP claims 100 bytes, 30 captured: the capture ran short
  assertLen(decodeTcp(SYNACK.subarray(0, 30), 0, 100, 'ipv4.totalLen'), 'tcp', 40, 30, 'capture');
  // segment claimed past the capture: the view clips the payload, keeps the claim
  const t = ok(decodeTcp(SYNACK, 0, 1000, 'ipv4.totalLen'));
  assert.equal(t.payloadEnd, 44);
  assert.equal(t.payloadLen, 960);
});
