// The fast DNS reader's name cache (dns-wire.ts): names come out the same whether they are
// decoded or reused, however the cache is filled (hits, evictions, slot collisions, names it
// does not cache), and what is shared between results is shared on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { EMPTY_ANSWERS, parseDnsMessage, readDnsMessage } from '../../src/flow/dns-wire.js';
import { decodeWithDnsPacket } from '../../src/flow/dns.js';
import { rng } from '../bench/generate.js';

const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';

function randomName(r: () => number): string {
  const labels: string[] = [];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    let l = '';
    const len = 1 + Math.floor(r() * (r() < 0.1 ? 40 : 12));
    for (let k = 0; k < len; k++) l += ALPHA[Math.floor(r() * ALPHA.length)];
    labels.push(l);
  }
  return labels.join('.');
}

/** Wire form of a name (no compression). */
function wireName(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const parts = name.split('.').map((p) => Buffer.from(p, 'latin1'));
  return Buffer.concat([...parts.flatMap((p) => [Buffer.from([p.length]), p]), Buffer.from([0])]);
}

/**
 * A response as resolvers send it: the question name in full, the first answer's owner a
 * pointer to it (c0 0c), a CNAME whose target is a new label followed by a pointer to the
 * question name, then an A record owned by that target (a pointer to the CNAME data).
 *
 *   header(12) | qname | qtype qclass | c00c 0005 0001 ttl rdlen [label c00c] |
 *   c0<data> 0001 0001 ttl 0004 a.b.c.d
 */
function compressedResponse(id: number, qname: string, label: string): Buffer {
  const q = wireName(qname);
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0); h.writeUInt16BE(0x8180, 2); h.writeUInt16BE(1, 4); h.writeUInt16BE(2, 6);
  const qtail = Buffer.from([0, 1, 0, 1]);
  const lab = Buffer.from(label, 'latin1');
  const cnameData = Buffer.concat([Buffer.from([lab.length]), lab, Buffer.from([0xc0, 12])]);
  const rr1 = Buffer.alloc(12);
  rr1.writeUInt16BE(0xc00c, 0); rr1.writeUInt16BE(5, 2); rr1.writeUInt16BE(1, 4); rr1.writeUInt32BE(60, 6);
  rr1.writeUInt16BE(cnameData.length, 10);
  const dataOff = 12 + q.length + 4 + 12;
  const rr2 = Buffer.alloc(16);
  rr2.writeUInt16BE(0xc000 | dataOff, 0); rr2.writeUInt16BE(1, 2); rr2.writeUInt16BE(1, 4); rr2.writeUInt32BE(60, 6);
  rr2.writeUInt16BE(4, 10); rr2[12] = 192; rr2[13] = 0; rr2[14] = 2; rr2[15] = id & 0xff;
  return Buffer.concat([h, q, qtail, rr1, cnameData, rr2]);
}

test('name cache: thousands of names, twice, in mixed case: every result equals dns-packet', () => {
  const r = rng(7);
  const names: string[] = [];
  for (let i = 0; i < 6000; i++) names.push(randomName(r));   // more names than cache slots
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < names.length; i++) {
      const name = pass === 0 ? names[i] : names[(i * 7919) % names.length];
      const q = dnsPacket.encode({ type: 'query', id: i & 0xffff, questions: [{ type: 'A', name }] });
      const fast = parseDnsMessage(q);
      assert.ok(fast);
      assert.deepEqual(fast, decodeWithDnsPacket(q));
      assert.equal(fast.question?.name, name.toLowerCase());
      const resp = compressedResponse(i & 0xffff, name, 'edge' + (i % 5));
      const fr = parseDnsMessage(resp);
      assert.ok(fr);
      assert.deepEqual(fr, decodeWithDnsPacket(resp));
      assert.equal(fr.answers[0].name, name.toLowerCase());
      assert.equal(fr.answers[0].data, `edge${i % 5}.${name.toLowerCase()}`);
      assert.equal(fr.answers[1].name, `edge${i % 5}.${name.toLowerCase()}`);
    }
  }
});

test('name cache: case variants of one name give the same text; a reused name is the same string', () => {
  const texts = ['WWW.Example.COM', 'www.example.com', 'wWw.eXaMpLe.cOm'].map((name) => {
    const w = parseDnsMessage(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name }] }));
    return w?.question?.name;
  });
  assert.deepEqual(texts, ['www.example.com', 'www.example.com', 'www.example.com']);
  const a = parseDnsMessage(compressedResponse(1, 'cdn.example.org', 'x'))!;
  const b = parseDnsMessage(compressedResponse(2, 'cdn.example.org', 'x'))!;
  assert.equal(a.question, b.question, 'the same question object (shared, read-only)');
  assert.equal(a.answers[0].name, a.question?.name);
  assert.notEqual(a.answers, b.answers, 'answers are never shared between messages');
  const c = parseDnsMessage(dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'AAAA', name: 'cdn.example.org' }] }))!;
  assert.deepEqual(c.question, { name: 'cdn.example.org', type: 'AAAA', class: 'IN' });
  assert.notEqual(c.question, a.question);
});

test('names the cache does not keep (long, UTF-8, dots at a label end, the root) still decode as dns-packet does', () => {
  const long = Array.from({ length: 5 }, (_, i) => 'l' + String(i).repeat(40)).join('.');   // > 128 wire bytes
  const msgs = [
    dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: long }] }),
    dnsPacket.encode({ type: 'query', id: 2, questions: [{ type: 'A', name: long.toUpperCase() }] }),
    compressedResponse(3, long, 'E'),
    compressedResponse(4, '', 'x'),            // the root
  ];
  // a label holding UTF-8 bytes (upper case), and one ending in dots
  const utf = Buffer.concat([Buffer.alloc(12), Buffer.from([4]), Buffer.from('ÄÖ', 'utf8'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0, 0, 1, 0, 1])]);
  utf.writeUInt16BE(5, 0); utf.writeUInt16BE(1, 4);
  const dots = Buffer.concat([Buffer.alloc(12), Buffer.from([3]), Buffer.from('ab.'), Buffer.from([3]), Buffer.from('x..'), Buffer.from([0, 0, 1, 0, 1])]);
  dots.writeUInt16BE(6, 0); dots.writeUInt16BE(1, 4);
  msgs.push(utf, utf, dots, dots);
  for (const m of msgs) {
    const fast = parseDnsMessage(m);
    assert.ok(fast);
    assert.deepEqual(fast, decodeWithDnsPacket(m));
  }
  assert.equal(parseDnsMessage(utf)?.question?.name, 'äö.com');
  assert.equal(parseDnsMessage(dots)?.question?.name, 'ab..x');
});

test('readDnsMessage reuses its result object; parseDnsMessage does not; queries share the frozen empty answers', () => {
  const q1 = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'a.example' }] });
  const q2 = dnsPacket.encode({ type: 'query', id: 2, questions: [{ type: 'A', name: 'b.example' }] });
  const r1 = readDnsMessage(q1, 0, q1.length);
  assert.equal(r1?.id, 1);
  const r2 = readDnsMessage(q2, 0, q2.length);
  assert.equal(r1, r2);
  assert.equal(r2?.id, 2);
  const p1 = parseDnsMessage(q1), p2 = parseDnsMessage(q1);
  assert.notEqual(p1, p2);
  assert.deepEqual(p1, p2);
  assert.equal(p1?.answers, EMPTY_ANSWERS);
  assert.ok(Object.isFrozen(EMPTY_ANSWERS));
  assert.throws(() => (EMPTY_ANSWERS as unknown as unknown[]).push(1), TypeError);
});

test('name cache: a pointer to the question name is not taken for another name at that offset in a later message', () => {
  // two messages in one buffer region, read one after the other: the second one's pointer
  // must resolve against its own bytes
  const a = compressedResponse(1, 'first.example', 'p');
  const b = compressedResponse(2, 'second.example', 'q');
  const buf = Buffer.alloc(400);
  a.copy(buf, 20);
  assert.equal(parseDnsMessage(buf, 20, 20 + a.length)?.answers[0].name, 'first.example');
  b.copy(buf, 20);
  const w = parseDnsMessage(buf, 20, 20 + b.length);
  assert.deepEqual(w?.answers.map((x) => [x.name, x.data]), [['second.example', 'q.second.example'], ['q.second.example', '192.0.2.2']]);
});
