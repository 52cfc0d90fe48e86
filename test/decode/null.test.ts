import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNull, NULL_HEADER_LEN } from '../../src/decode/null.js';
import { assertLen, hex, ok, placements } from './helpers.js';

// BSD loopback (DLT_NULL) written on a little-endian host: AF_INET = 2, then IPv4
//   0x0000:  0200 0000 45
const NULL_LE_V4 = hex(`
  02 00 00 00   # AF_INET, host (little-endian) order
  45            # IPv4 starts
`);

// OpenBSD DLT_LOOP: AF_INET6 = 24 in network order, then IPv6
//   0x0000:  0000 0018 60
const LOOP_V6 = hex(`
  00 00 00 18   # AF_INET6 (OpenBSD 24), network order
  60            # IPv6 starts
`);

for (const at of placements(NULL_LE_V4)) {
  test(`null: little-endian AF_INET (${at.name})`, () => {
    const n = ok(decodeNull(at.buf, at.off, at.end));
    assert.equal(n.family, 2);
    assert.equal(n.ipVersion, 4);
    assert.equal(n.payloadStart, at.off + 4);
  });
}

for (const at of placements(LOOP_V6)) {
  test(`null: big-endian AF_INET6 24 (${at.name})`, () => {
    const n = ok(decodeNull(at.buf, at.off, at.end));
    assert.equal(n.family, 24);
    assert.equal(n.ipVersion, 6);
  });
}

test('null: AF_INET and every AF_INET6 value in either byte order', () => {
  const cases: Array<[number, 0 | 4 | 6]> = [[2, 4], [10, 6], [24, 6], [28, 6], [30, 6], [7, 0], [0, 0], [17, 0]];
  for (const [af, v] of cases) {
    const le = Buffer.alloc(4); le.writeUInt32LE(af);
    const be = Buffer.alloc(4); be.writeUInt32BE(af);
    assert.equal(ok(decodeNull(le, 0)).ipVersion, v, `AF ${af} LE`);
    assert.equal(ok(decodeNull(be, 0)).ipVersion, v, `AF ${af} BE`);
    assert.equal(ok(decodeNull(le, 0)).family, af);
    assert.equal(ok(decodeNull(be, 0)).family, af);
  }
});

test('null: truncations are exact LenErrors', () => {
  for (let len = 0; len < NULL_HEADER_LEN; len++) {
    assertLen(decodeNull(NULL_LE_V4.subarray(0, len), 0), 'null', 4, len, 'capture');
    const at = placements(NULL_LE_V4)[1];
    assertLen(decodeNull(at.buf, at.off, at.off + len), 'null', 4, len, 'capture');
  }
});
