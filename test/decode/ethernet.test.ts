import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEthernet, EthernetView, ETHERNET_HEADER_LEN } from '../../src/decode/ethernet.js';
import { assertLen, hex, ok, placements } from './helpers.js';

// Ethernet II, 00:11:22:33:44:55 -> 66:77:88:99:aa:bb, type IPv4, then the first IP byte
//   0x0000:  6677 8899 aabb 0011 2233 4455 0800 45    fw.."3DU..E
const ETH_IPV4 = hex(`
  66 77 88 99 aa bb   # destination MAC
  00 11 22 33 44 55   # source MAC
  08 00               # EtherType IPv4
  45                  # payload (first byte of an IPv4 header)
`);

// IEEE 802.3 frame: length 0x0026 (38) in the type position, then LLC DSAP/SSAP/control (STP)
//   0x0000:  0180 c200 0000 0011 2233 4455 0026 4242 03
const ETH_8023 = hex(`
  01 80 c2 00 00 00   # destination (STP multicast)
  00 11 22 33 44 55   # source
  00 26               # 802.3 length 38
  42 42 03            # LLC
`);

for (const at of placements(ETH_IPV4)) {
  test(`ethernet: Ethernet II header (${at.name})`, () => {
    const e = ok(decodeEthernet(at.buf, at.off, at.end));
    assert.ok(e instanceof EthernetView);
    assert.equal(e.etherType, 0x0800);
    assert.equal(e.isLength, false);
    assert.equal(e.headerLen, 14);
    assert.equal(e.dstOff, at.off);
    assert.equal(e.srcOff, at.off + 6);
    assert.equal(e.payloadStart, at.off + 14);
    assert.equal(at.buf[e.payloadStart], 0x45);
  });
}

for (const at of placements(ETH_8023)) {
  test(`ethernet: 802.3 length field is not an EtherType (${at.name})`, () => {
    const e = ok(decodeEthernet(at.buf, at.off, at.end));
    assert.equal(e.etherType, 38);
    assert.equal(e.isLength, true);
  });
}

test('ethernet: every truncation of the header is an exact LenError', () => {
  for (const at of placements(ETH_IPV4)) {
    for (let len = 0; len < ETHERNET_HEADER_LEN; len++) {
      // at offset 0 the buffer itself ends (capture); at offset 10 an enclosing limit does
      const b = at.off === 0 ? at.buf.subarray(0, len) : at.buf;
      const r = at.off === 0 ? decodeEthernet(b, 0) : decodeEthernet(b, at.off, at.off + len, 'pppoe.len');
      assertLen(r, 'ethernet', ETHERNET_HEADER_LEN, len, at.off === 0 ? 'capture' : 'pppoe.len');
    }
  }
});

test('ethernet: an offset past the end gives available 0, not a negative count', () => {
  assertLen(decodeEthernet(Buffer.alloc(4), 9), 'ethernet', 14, 0, 'capture');
});
