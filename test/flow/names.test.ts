// The name cache: CNAME chains both ways, frames, bounds, loops, normalization.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNameCache } from '../../src/flow/names.js';

const SWG = 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com';
const MID = 'swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com';
const ELB = 'k8s-swgproxy-12345.elb.eu-west-2.amazonaws.com';

test('CNAME chain from the seed: every name leads to the address, with the frames that taught it', () => {
  const n = createNameCache();
  n.learn(40, [
    { name: SWG + '.', type: 'CNAME', data: MID.toUpperCase() + '.' },
    { name: MID, type: 'CNAME', data: ELB },
  ]);
  n.learn(41, [{ name: ELB, type: 'A', data: '18.135.112.200' }, { name: ELB, type: 'A', data: '18.135.112.201' }]);
  assert.deepEqual(n.namesFor('18.135.112.200'), [
    { name: SWG, frameNo: 40 }, { name: MID, frameNo: 40 }, { name: ELB, frameNo: 41 },
  ]);
  assert.deepEqual(n.addressesOf(SWG.toUpperCase() + '.'), [
    { name: ELB, frameNo: 41, address: '18.135.112.200' }, { name: ELB, frameNo: 41, address: '18.135.112.201' },
  ]);
  assert.deepEqual(n.cnameChain(SWG), [{ name: MID, frameNo: 40 }, { name: ELB, frameNo: 40 }]);
  assert.deepEqual(n.findNames((x) => x.endsWith('.opendns.com')), [{ name: SWG, frameNo: 40 }]);
  assert.equal(n.size, 3);
  assert.deepEqual(n.namesFor('192.0.2.1'), []);
  assert.deepEqual(n.addressesOf('unknown.example'), []);
});

test('names that are only CNAME targets are found by findNames; learning again keeps the first frame', () => {
  const n = createNameCache();
  n.learn(5, [{ name: 'a.example', type: 'CNAME', data: 'b.example' }]);
  n.learn(9, [{ name: 'a.example', type: 'CNAME', data: 'b.example' }]);
  assert.deepEqual(n.findNames((x) => x === 'b.example'), [{ name: 'b.example', frameNo: 5 }]);
  assert.deepEqual(n.cnameChain('a.example'), [{ name: 'b.example', frameNo: 5 }]);
});

test('CNAME loops terminate', () => {
  const n = createNameCache();
  n.learn(1, [
    { name: 'a.example', type: 'CNAME', data: 'b.example' },
    { name: 'b.example', type: 'CNAME', data: 'c.example' },
    { name: 'c.example', type: 'CNAME', data: 'a.example' },
    { name: 'c.example', type: 'A', data: '192.0.2.7' },
    { name: 'd.example', type: 'CNAME', data: 'd.example' },      // self loop: ignored
  ]);
  assert.deepEqual(n.cnameChain('a.example').map((x) => x.name), ['b.example', 'c.example']);
  assert.deepEqual(n.addressesOf('a.example').map((x) => x.address), ['192.0.2.7']);
  assert.deepEqual(n.namesFor('192.0.2.7').map((x) => x.name).sort(), ['a.example', 'b.example', 'c.example']);
  assert.deepEqual(n.cnameChain('d.example'), []);
});

test('a long chain is followed up to the bound', () => {
  const n = createNameCache();
  const ans = [];
  for (let i = 0; i < 40; i++) ans.push({ name: `n${i}.example`, type: 'CNAME', data: `n${i + 1}.example` });
  ans.push({ name: 'n40.example', type: 'A', data: '192.0.2.40' });
  n.learn(1, ans);
  assert.equal(n.cnameChain('n0.example').length, 16);
  assert.deepEqual(n.addressesOf('n30.example').map((x) => x.address), ['192.0.2.40']);
  assert.deepEqual(n.addressesOf('n0.example'), [], 'beyond the chain bound');
  assert.equal(n.namesFor('192.0.2.40').length, 17);
});

test('bounds: oldest names go first (with their links); addresses per name bounded', () => {
  const n = createNameCache({ maxNames: 3, maxAddrsPerName: 2 });
  n.learn(1, [{ name: 'one.example', type: 'A', data: '192.0.2.1' }]);
  n.learn(2, [{ name: 'two.example', type: 'A', data: '192.0.2.2' }]);
  n.learn(3, [{ name: 'three.example', type: 'A', data: '192.0.2.3' }]);
  n.learn(4, [{ name: 'one.example', type: 'A', data: '192.0.2.1' }]);     // taught again: young again
  n.learn(5, [{ name: 'four.example', type: 'A', data: '192.0.2.4' }]);    // drops two.example
  assert.equal(n.size, 3);
  assert.deepEqual(n.namesFor('192.0.2.2'), []);
  assert.deepEqual(n.namesFor('192.0.2.1'), [{ name: 'one.example', frameNo: 1 }]);
  n.learn(6, [1, 2, 3].map((i) => ({ name: 'many.example', type: 'A', data: `198.51.100.${i}` })));
  assert.deepEqual(n.addressesOf('many.example').map((x) => x.address), ['198.51.100.2', '198.51.100.3']);
  assert.deepEqual(n.namesFor('198.51.100.1'), []);
  // memory stays bounded under a flood of names
  const big = createNameCache({ maxNames: 100 });
  for (let i = 0; i < 10_000; i++) big.learn(i, [{ name: `h${i}.example`, type: 'CNAME', data: `t${i}.example` }, { name: `t${i}.example`, type: 'A', data: `10.${(i >> 8) & 255}.${i & 255}.1` }]);
  assert.equal(big.size, 100);
  assert.deepEqual(big.namesFor('10.0.0.1'), []);
  assert.equal(big.addressesOf('h9999.example')[0].address, '10.39.15.1');
});

test('IPv6 answers and other record types', () => {
  const n = createNameCache();
  n.learn(3, [
    { name: 'v6.example', type: 'AAAA', data: '2620:119:35::35' },
    { name: 'v6.example', type: 'TXT', data: 'hello' },
    { name: 'v6.example', type: 'A', data: '' },
  ]);
  assert.deepEqual(n.addressesOf('v6.example'), [{ name: 'v6.example', frameNo: 3, address: '2620:119:35::35' }]);
  assert.deepEqual(n.namesFor('2620:119:35::35'), [{ name: 'v6.example', frameNo: 3 }]);
});

test('an address shared by several names, and names dropped again', () => {
  const n = createNameCache({ maxNames: 3 });
  n.learn(1, [{ name: 'a.example', type: 'A', data: '192.0.2.1' }]);
  n.learn(2, [{ name: 'b.example', type: 'A', data: '192.0.2.1' }, { name: 'x.example', type: 'CNAME', data: 'b.example' }]);
  assert.deepEqual(n.namesFor('192.0.2.1'), [{ name: 'x.example', frameNo: 2 }, { name: 'a.example', frameNo: 1 }, { name: 'b.example', frameNo: 2 }]);
  n.learn(3, [{ name: 'c.example', type: 'A', data: '192.0.2.3' }]);     // drops a.example
  assert.deepEqual(n.namesFor('192.0.2.1'), [{ name: 'x.example', frameNo: 2 }, { name: 'b.example', frameNo: 2 }]);
  n.learn(4, [{ name: 'd.example', type: 'A', data: '192.0.2.4' }]);     // drops b.example
  assert.deepEqual(n.namesFor('192.0.2.1'), []);
  assert.deepEqual(n.cnameChain('x.example'), [{ name: 'b.example', frameNo: 2 }]);
  assert.deepEqual(n.findNames((x) => x === 'b.example'), [{ name: 'b.example', frameNo: 2 }], 'still known as a CNAME target');
});
