import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSll, SLL_HEADER_LEN } from '../../src/decode/sll.js';
import { decodeSll2, SLL2_HEADER_LEN } from '../../src/decode/sll2.js';
import { assertLen, hex, ok, placements } from './helpers.js';

// Linux cooked v1: sent by us (4), ARPHRD_ETHER (1), 6-byte address, protocol IPv4
//   0x0000:  0004 0001 0006 0011 2233 4455 0000 0800
const SLL = hex(`
  00 04                     # packet type: outgoing
  00 01                     # ARPHRD_ETHER
  00 06                     # address length
  00 11 22 33 44 55 00 00   # address, padded to 8
  08 00                     # protocol IPv4
`);

// Linux cooked v2: protocol IPv6, reserved, ifindex 3, ARPHRD_ETHER, to us (0), 6-byte address
//   0x0000:  86dd 0000 0000 0003 0001 0006 0011 2233
//   0x0010:  4455 0000
const SLL2 = hex(`
  86 dd                     # protocol IPv6
  00 00                     # reserved
  00 00 00 03               # interface index 3
  00 01                     # ARPHRD_ETHER
  00                        # packet type: to us
  06                        # address length
  00 11 22 33 44 55 00 00   # address
`);

// Linux cooked v1 over netlink: ARPHRD_NETLINK (824 = 0x0338), protocol = netlink family 0
const SLL_NETLINK = hex('0004 0338 0000 0000000000000000 0000');

for (const at of placements(SLL)) {
  test(`sll: fields (${at.name})`, () => {
    const s = ok(decodeSll(at.buf, at.off, at.end));
    assert.equal(s.packetType, 4);
    assert.equal(s.arphrd, 1);
    assert.equal(s.addrLen, 6);
    assert.equal(s.addrOff, at.off + 6);
    assert.equal(s.protocol, 0x0800);
    assert.equal(s.protocolIsEtherType, true);
    assert.equal(s.payloadStart, at.off + 16);
  });
}

for (const at of placements(SLL2)) {
  test(`sll2: fields (${at.name})`, () => {
    const s = ok(decodeSll2(at.buf, at.off, at.end));
    assert.equal(s.protocol, 0x86dd);
    assert.equal(s.ifIndex, 3);
    assert.equal(s.arphrd, 1);
    assert.equal(s.packetType, 0);
    assert.equal(s.addrLen, 6);
    assert.equal(s.addrOff, at.off + 12);
    assert.equal(s.protocolIsEtherType, true);
    assert.equal(s.payloadStart, at.off + 20);
  });
}

test('sll: netlink frames do not carry an EtherType', () => {
  assert.equal(ok(decodeSll(SLL_NETLINK, 0)).protocolIsEtherType, false);
});

test('sll / sll2: truncations are exact LenErrors', () => {
  for (let len = 0; len < SLL_HEADER_LEN; len++) assertLen(decodeSll(SLL.subarray(0, len), 0), 'sll', 16, len, 'capture');
  for (let len = 0; len < SLL2_HEADER_LEN; len++) assertLen(decodeSll2(SLL2.subarray(0, len), 0), 'sll2', 20, len, 'capture');
  const at = placements(SLL2)[1];
  for (let len = 0; len < SLL2_HEADER_LEN; len++) assertLen(decodeSll2(at.buf, at.off, at.off + len), 'sll2', 20, len, 'capture');
});
