// The fast DNS reader against dns-packet (the reference): identical results on random valid
// messages; on random mutations it never throws, and whenever both accept they agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import { parseDnsMessage } from '../../src/flow/dns-wire.js';
import { decodeWithDnsPacket } from '../../src/flow/dns.js';
import { dnsQuery } from '../helpers/packets.js';

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
const name = fc.array(label, { minLength: 0, maxLength: 5 }).map((l) => l.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const answer: fc.Arbitrary<dnsPacket.Answer> = fc.oneof(
  fc.record({ type: fc.constant('A' as const), name, ttl: fc.nat(), data: ipv4 }),
  fc.record({ type: fc.constant('AAAA' as const), name, ttl: fc.nat(), data: ipv6 }),
  fc.record({ type: fc.constantFrom('CNAME' as const, 'NS' as const, 'PTR' as const, 'DNAME' as const), name, ttl: fc.nat(), data: name.filter((n) => n.length > 0) }),
  fc.record({ type: fc.constant('TXT' as const), name, ttl: fc.nat(), data: fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }) }),
  fc.record({ type: fc.constant('MX' as const), name, ttl: fc.nat(), data: fc.record({ preference: fc.nat(100), exchange: name }) }),
  fc.record({ type: fc.constant('SRV' as const), name, ttl: fc.nat(), data: fc.record({ port: fc.nat(65535), target: name, priority: fc.nat(10), weight: fc.nat(10) }) }),
  fc.record({ type: fc.constant('SOA' as const), name, ttl: fc.nat(), data: fc.record({ mname: name, rname: name, serial: fc.nat() }) }),
) as fc.Arbitrary<dnsPacket.Answer>;
const message = fc.record({
  type: fc.constantFrom('query' as const, 'response' as const),
  id: fc.nat(0xffff),
  flags: fc.nat(0x7fff),
  questions: fc.array(fc.record({ type: fc.constantFrom('A', 'AAAA', 'TXT', 'ANY', 'HTTPS' as never, 'CAA') as fc.Arbitrary<dnsPacket.RecordType>, name, class: fc.constant('IN' as const) }), { maxLength: 2 }),
  answers: fc.array(answer, { maxLength: 6 }),
  authorities: fc.array(answer, { maxLength: 2 }),
});

test('fast reader = dns-packet on random valid messages', () => {
  fc.assert(fc.property(message, (m) => {
    let buf: Buffer;
    try { buf = dnsPacket.encode(m as dnsPacket.Packet); } catch { return; }   // something dns-packet cannot encode
    const fast = parseDnsMessage(buf);
    assert.ok(fast, 'a valid message is accepted');
    assert.deepEqual(fast, decodeWithDnsPacket(buf));
    // the same message at offset 10 inside a larger buffer (pointers are relative to its start)
    const big = Buffer.concat([Buffer.alloc(10, 0xc0), buf, Buffer.alloc(7, 0xc0)]);
    assert.deepEqual(parseDnsMessage(big, 10, 10 + buf.length), fast);
  }), { numRuns: 3000, seed: 11 });
});

test('fast reader: EDNS Umbrella option in queries, compression pointers, root name', () => {
  const q = dnsQuery({ id: 5, name: 'Debug.OpenDNS.com.', type: 'TXT', ednsOption: 0x6942 });
  assert.deepEqual(parseDnsMessage(q), {
    id: 5, qr: false, rcode: 'NOERROR', question: { name: 'debug.opendns.com', type: 'TXT', class: 'IN' }, answers: [], umbrellaEdns: true,
  });
  assert.equal(parseDnsMessage(dnsQuery({ id: 5, name: 'x', ednsOption: 4 }))?.umbrellaEdns, true);
  assert.equal(parseDnsMessage(dnsQuery({ id: 5, name: 'x', ednsOption: 8 }))?.umbrellaEdns, false);
  const r = dnsPacket.encode({ type: 'response', id: 9, questions: [{ type: 'A', name: '.' }], answers: [
    { type: 'CNAME', name: 'a.example', data: 'b.example' }, { type: 'A', name: 'b.example', data: '192.0.2.1' }] });
  const parsed = parseDnsMessage(r)!;
  assert.equal(parsed.question?.name, '');
  assert.deepEqual(parsed.answers.map((a) => a.data), ['b.example', '192.0.2.1']);
  // a pointer to itself (a loop) and a forward pointer are refused, not followed
  const loop = Buffer.from(r);
  loop.writeUInt16BE(0xc000 | 12, 12);
  assert.equal(parseDnsMessage(loop), null);
  const fwd = Buffer.from(r);
  fwd.writeUInt16BE(0xc000 | 200, 12);
  assert.equal(parseDnsMessage(fwd), null);
});

const RDLEN_TYPES = new Set(['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'DNAME', 'TXT']);

test('fast reader never throws; when both accept a mutated message they agree', () => {
  const seeds = [
    dnsQuery({ id: 1, name: 'swg-url-proxy-https-sse.sigproxy.qq.opendns.com', type: 'A', ednsOption: 0x6942 }),
    dnsPacket.encode({ type: 'response', id: 2, questions: [{ type: 'A', name: 'a.b.example' }], answers: [
      { type: 'CNAME', name: 'a.b.example', data: 'c.example', ttl: 5 }, { type: 'A', name: 'c.example', data: '18.135.112.200', ttl: 5 },
      { type: 'AAAA', name: 'c.example', data: '2620:119:35::35', ttl: 5 }, { type: 'TXT', name: 'c.example', data: ['x', 'yz'], ttl: 5 }] }),
  ];
  let both = 0;
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }),
    fc.option(fc.nat(), { freq: 4 }),
    (which, muts, cut) => {
      const b = Buffer.from(seeds[which]);
      for (const [i, v] of muts) b[i % b.length] = v;
      const m = cut === null ? b : b.subarray(0, 1 + (cut % b.length));
      const fast = parseDnsMessage(m);
      let ref = null;
      try { ref = decodeWithDnsPacket(m); } catch { /* refused */ }
      if (fast !== null && ref !== null && !JSON.stringify(ref).includes('\ufffd')) {
        both++;
        // dns-packet reads EDNS options past the end of an OPT record whose length was cut
        // (it loops on the options' own lengths); the fast reader stays inside the record, so
        // it may only see the Umbrella option when dns-packet does too
        if (fast.umbrellaEdns) assert.equal(ref.umbrellaEdns, true);
        assert.deepEqual({ ...fast, umbrellaEdns: null, answers: null }, { ...ref, umbrellaEdns: null, answers: null });
        // several of dns-packet's record decoders (SSHFP, MX, ...) ignore RDLENGTH and so read
        // the records after a damaged one at the wrong place; the fast reader walks by RDLENGTH
        // as RFC 1035 says. Answers are compared where dns-packet walks by RDLENGTH too.
        if (ref.answers.every((a) => RDLEN_TYPES.has(a.type))) assert.deepEqual(fast.answers, ref.answers);
      }
    },
  ), { numRuns: 20000, seed: 3 });
  assert.ok(both > 1000, `compared ${both} mutated messages`);
});
