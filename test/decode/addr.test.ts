// Address text <-> bytes, CIDR sets and name globs (src/decode/addr.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, CidrSet, formatIPv6, ipv4TextOf, ipv4ToU32, nameGlob, nameMatcher, parseCidr, parseIp } from '../../src/decode/addr.js';

test('IPv6 text follows RFC 5952', () => {
  const cases: [string, string][] = [
    ['2620:0119:0035:0000:0000:0000:0000:0035', '2620:119:35::35'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],        // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],     // a single zero group is not compressed
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['2001:DB8::A', '2001:db8::a'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
  const b = Buffer.alloc(26);
  parseIp('2620:119:53::53')!.forEach((x, i) => { b[10 + i] = x; });
  assert.equal(formatIPv6(b, 10), '2620:119:53::53');
});

test('invalid addresses are rejected', () => {
  for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '1.2.3.-4']) {
    assert.equal(parseIp(s), null, JSON.stringify(s));
  }
  assert.equal(ipv4ToU32('208.67.222.222'), 0xd043dede);
  assert.equal(ipv4ToU32('0.0.0.0'), 0);
  assert.equal(ipv4ToU32('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4ToU32('1.2.3.4.'), -1);
});

test('CIDR parsing zeroes host bits and names the network', () => {
  assert.equal(parseCidr('216.115.210.7/20')!.text, '216.115.208.0/20');
  assert.equal(parseCidr('18.135.112.200')!.text, '18.135.112.200');
  assert.equal(parseCidr('2620:119:35::35/48')!.text, '2620:119:35::/48');
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('10.0.0.0/x'), null);
  assert.equal(parseCidr('0.0.0.0/0')!.prefix, 0);
});

test('CidrSet membership at range edges, both families', () => {
  const s = new CidrSet(['216.115.208.0/20', '66.151.150.160/27', '146.112.255.50', '2620:119::/32', '0.0.0.0/0']);
  const s2 = new CidrSet(['216.115.208.0/20', '66.151.150.160/27', '146.112.255.50', '2620:119::/32']);
  assert.equal(s2.match('216.115.208.0')!.text, '216.115.208.0/20');
  assert.equal(s2.match('216.115.223.255')!.text, '216.115.208.0/20');
  assert.equal(s2.match('216.115.224.0'), null);
  assert.equal(s2.match('216.115.207.255'), null);
  assert.equal(s2.match('66.151.150.191')!.text, '66.151.150.160/27');
  assert.equal(s2.match('66.151.150.192'), null);
  assert.ok(s2.has('146.112.255.50'));
  assert.ok(!s2.has('146.112.255.51'));
  assert.ok(s2.has('2620:119:35::35'));
  assert.ok(!s2.has('2620:11a::1'));
  assert.ok(!s2.has('not an address'));
  assert.ok(s.has('1.2.3.4'), '0.0.0.0/0 holds every IPv4 address');
  assert.ok(!s.has('2001:db8::1'), 'but no IPv6 address');
  assert.deepEqual(new CidrSet(['x', '10.0.0.0/8']).list(), ['10.0.0.0/8']);
  assert.equal(new CidrSet().match('1.2.3.4'), null);
});

test('name globs: * spans labels, case and trailing dot ignored', () => {
  const m = nameMatcher(['swg-url-proxy-https*.sigproxy.qq.opendns.com', '*.goto.com', 'proxy.sig.umbrella.com']);
  assert.ok(m('swg-url-proxy-https-sse.sigproxy.qq.opendns.com'));
  assert.ok(m('SWG-URL-PROXY-HTTPS.sigproxy.qq.opendns.com.'));
  assert.ok(m('a.b.goto.com'));
  assert.ok(!m('goto.com'));
  assert.ok(!m('xgoto.com'));
  assert.ok(m('proxy.sig.umbrella.com'));
  assert.ok(!m('proxy.sig.umbrella.com.evil.example'));
  assert.ok(!m('proxyXsig.umbrella.com'), 'dots are literal');
  assert.ok(!nameMatcher([])('anything'));
  assert.ok(nameGlob('egw*.gotomeeting.com')('egw3.gotomeeting.com'));
});

test('name matcher: answers remembered per name stay right past the memo bound, for every spelling', () => {
  const m = nameMatcher(['egw*.gotomeeting.com', '*.goto.com']);
  const ref = (n: string): boolean => /^(?:egw.*\.gotomeeting\.com|.*\.goto\.com)\.?$/i.test(n);
  const names: string[] = [];
  for (let i = 0; i < 5000; i++) {
    names.push(i % 3 === 0 ? `egw${i}.gotomeeting.com` : i % 3 === 1 ? `h${i}.goto.com.` : `x${i}.example`);
  }
  names.push('EGW1.GoToMeeting.COM', 'goto.com', 'a.goto.com..', '');
  for (let pass = 0; pass < 3; pass++) {
    for (const n of names) assert.equal(m(n), ref(n), n);
  }
});

test('ipv4TextOf: dotted quad of a uint32, the same through cache hits, misses and slot collisions', () => {
  let x = 12345;
  const seen: number[] = [];
  for (let i = 0; i < 20000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const v = i % 3 === 0 && seen.length > 0 ? seen[(x >>> 8) % seen.length] : x;
    if (seen.length < 5000) seen.push(v);
    const want = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    assert.equal(ipv4TextOf(v), want);
    assert.equal(ipv4ToU32(want), v);
  }
  assert.equal(ipv4TextOf(0), '0.0.0.0');
  assert.equal(ipv4TextOf(0xffffffff), '255.255.255.255');
});
