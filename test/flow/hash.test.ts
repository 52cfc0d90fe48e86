// Hashing and uids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointHash, flowHash, flowUid, fmix32 } from '../../src/flow/hash.js';

test('flowHash is symmetric and spreads neighbouring keys', () => {
  const seen = new Set<number>();
  for (let a = 0; a < 50; a++) {
    for (let p = 1000; p < 1020; p++) {
      const x = endpointHash(0x0a000000 + a, p), y = endpointHash(0xc0a80001, 443);
      assert.equal(flowHash(x, y, 6), flowHash(y, x, 6));
      assert.notEqual(flowHash(x, y, 6), flowHash(x, y, 17));
      seen.add(flowHash(x, y, 6) & 4095);
    }
  }
  assert.ok(seen.size > 800, `buckets used: ${seen.size} of 4096 for 1000 keys`);
});

test('fmix32 is a bijection on a sample; uids are unique, fixed-format, seed dependent', () => {
  const out = new Set<number>();
  for (let i = 0; i < 100_000; i++) out.add(fmix32(i));
  assert.equal(out.size, 100_000);
  const uids = new Set<string>();
  for (let n = 0; n < 200_000; n++) {
    const u = flowUid(n, 1);
    uids.add(u);
    if (n < 1000) assert.match(u, /^C[0-9A-Za-z]{11}$/);
  }
  assert.equal(uids.size, 200_000);
  assert.equal(flowUid(0, 1), flowUid(0, 1));
  assert.notEqual(flowUid(0, 1), flowUid(0, 2));
  assert.equal(flowUid(0xffffffff, 0xffffffff).length, 12);
});
