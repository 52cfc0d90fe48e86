import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePppoe } from '../../src/decode/pppoe.js';
import { assertContent, assertLen, hex, ok, placements } from './helpers.js';

// PPPoE session: ver 1 type 1, code 0, session 0x1234, length 22 (PPP protocol + 20-byte IPv4 header)
//   0x0000:  1100 1234 0016 0021 45
const PPPOE_V4 = hex(`
  11        # version 1, type 1
  00        # code: session data
  12 34     # session id
  00 16     # length 22
  00 21     # PPP protocol IPv4
  45        # IPv4 starts
`);

// same with IPv6 (0x0057), and with LCP (0xc021, not IP)
const PPPOE_V6 = hex('1100 1234 0016 0057 60');
const PPPOE_LCP = hex('1100 1234 0006 c021 0101 0004');
// protocol-field compression: the 1-byte form 0x21 (odd first byte)
const PPPOE_PFC = hex('1100 1234 0015 21 45');

for (const at of placements(PPPOE_V4)) {
  test(`pppoe: session header with IPv4 (${at.name})`, () => {
    const p = ok(decodePppoe(at.buf, at.off, at.end));
    assert.equal(p.version, 1);
    assert.equal(p.type, 1);
    assert.equal(p.code, 0);
    assert.equal(p.sessionId, 0x1234);
    assert.equal(p.length, 22);
    assert.equal(p.pppProtocol, 0x0021);
    assert.equal(p.ipVersion, 4);
    assert.equal(p.headerLen, 8);
    assert.equal(p.payloadStart, at.off + 8);
    assert.equal(p.claimedEnd, at.off + 6 + 22);
  });
}

test('pppoe: IPv6, LCP (not IP) and the compressed protocol field', () => {
  assert.equal(ok(decodePppoe(PPPOE_V6, 0)).ipVersion, 6);
  const lcp = ok(decodePppoe(PPPOE_LCP, 0));
  assert.equal(lcp.pppProtocol, 0xc021);
  assert.equal(lcp.ipVersion, 0);
  const pfc = ok(decodePppoe(PPPOE_PFC, 0));
  assert.equal(pfc.pppProtocol, 0x21);
  assert.equal(pfc.ipVersion, 4);
  assert.equal(pfc.payloadStart, 7);
});

test('pppoe: bad version/type and code are ContentErrors', () => {
  assertContent(decodePppoe(hex('2100 1234 0016 0021'), 0), 'PPPOE_BAD_VERSION_TYPE', 'pppoe', 'versionType', 0x21, 0);
  assertContent(decodePppoe(hex('1109 1234 0016 0021'), 0), 'PPPOE_BAD_CODE', 'pppoe', 'code', 9, 1);
});

test('pppoe: a length too short for the PPP protocol field is a LenError (pppoe.len)', () => {
  assertLen(decodePppoe(hex('1100 1234 0001 0021'), 0), 'pppoe', 8, 7, 'pppoe.len');
});

test('pppoe: truncations are exact LenErrors', () => {
  for (let len = 0; len < 8; len++) {
    assertLen(decodePppoe(PPPOE_V4.subarray(0, len), 0), 'pppoe', 8, len, 'capture');
    const at = placements(PPPOE_V4)[1];
    assertLen(decodePppoe(at.buf, at.off, at.off + len), 'pppoe', 8, len, 'capture');
  }
});
