import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVlan, VLAN_TAG_LEN } from '../../src/decode/vlan.js';
import { isVlanTpid } from '../../src/decode/ethertypes.js';
import { assertLen, hex, ok, placements } from './helpers.js';

// 802.1Q tag body after the TPID: PCP 5, DEI 1, VID 0x123 (291); inner type IPv6
//   0x0000:  b123 86dd
const TAG = hex(`
  b1 23   # TCI: PCP 101, DEI 1, VID 0001 0010 0011
  86 dd   # inner EtherType IPv6
`);

for (const at of placements(TAG)) {
  test(`vlan: TCI fields and inner type (${at.name})`, () => {
    const v = ok(decodeVlan(at.buf, at.off, at.end));
    assert.equal(v.tci, 0xb123);
    assert.equal(v.pcp, 5);
    assert.equal(v.dei, true);
    assert.equal(v.vid, 0x123);
    assert.equal(v.etherType, 0x86dd);
    assert.equal(v.headerLen, 4);
    assert.equal(v.payloadStart, at.off + 4);
  });
}

test('vlan: truncations are exact LenErrors', () => {
  for (let len = 0; len < VLAN_TAG_LEN; len++) {
    assertLen(decodeVlan(TAG.subarray(0, len), 0), 'vlan', 4, len, 'capture');
    const at = placements(TAG)[1];
    assertLen(decodeVlan(at.buf, at.off, at.off + len), 'vlan', 4, len, 'capture');
  }
});

test('vlan: TPIDs 0x8100, 0x88a8 and 0x9100 are tags, others are not', () => {
  assert.equal(isVlanTpid(0x8100), true);
  assert.equal(isVlanTpid(0x88a8), true);
  assert.equal(isVlanTpid(0x9100), true);
  assert.equal(isVlanTpid(0x0800), false);
  assert.equal(isVlanTpid(0x8864), false);
});
