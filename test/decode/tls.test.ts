// TLS decoder: annotated ClientHello at offsets 0 and 10, server flights split across records
// in every way, certificates read by node:crypto, a real handshake made by node's OpenSSL
// (TLS 1.2 shows the certificate, TLS 1.3 does not), public captures against tshark, a
// truncation sweep and a property test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import * as tls from 'node:tls';
import fc from 'fast-check';
import {
  decodeTlsStream, describeCertificate, sniffTls, parseClientHello,
  type CertInfo, type TlsStream,
} from '../../src/decode/tls.js';
import { tlsAlertName, tlsVersionName } from '../../src/decode/tls-names.js';
import type { DecodeError } from '../../src/errors.js';
import { need, publicCapturesDir } from '../helpers/env.js';
import {
  CA_PEM, LEAF_KEY_PEM, LEAF_PEM, certificateBody, handshake, hex, pemToDer, record, serverHelloBody,
} from './tls-fixtures.js';

function isErr(x: object): x is DecodeError {
  return typeof (x as { code?: unknown }).code === 'string' && !Array.isArray(x);
}

// ClientHello as a GoToMeeting client would send it to egw.gotomeeting.com (TLS 1.2 capable,
// offering 1.3 too).
const CLIENT_HELLO = hex(`
  16 0301 0072                 # record: handshake, version 3.1, length 114
  01 00006e                    # handshake: client_hello, length 110
  0303                         # legacy_version TLS 1.2
  ${'11'.repeat(32)}           # random
  00                           # session id: empty
  0004 c02f 1301               # cipher suites: 2
  01 00                        # compression: null
  0041                         # extensions: 65 bytes
  0000 0018 0016 00 0013 ${Buffer.from('egw.gotomeeting.com').toString('hex')}  # server_name
  0010 000b 0009 08 ${Buffer.from('http/1.1').toString('hex')}                 # ALPN
  002b 0005 04 0304 0303       # supported_versions: 1.3, 1.2
  ff01 0001 00                 # renegotiation_info
  000a 0004 0002 001d          # supported_groups: x25519
`);

for (const pad of [0, 10]) {
  test(`ClientHello: SNI, ALPN, versions at offset ${pad}`, () => {
    const buf = Buffer.concat([Buffer.alloc(pad, 0xaa), CLIENT_HELLO, Buffer.from('trailing')]);
    assert.equal(sniffTls(buf, pad), true);
    const s = decodeTlsStream(buf, pad, pad + CLIENT_HELLO.length) as TlsStream;
    assert.ok(!isErr(s));
    assert.equal(s.recordVersion, 0x0301);
    assert.equal(s.records, 1);
    assert.deepEqual(s.handshakes.map((h) => [h.type, h.offset, h.length, h.end, h.complete]),
      [[1, pad + 5, 110, pad + 119, true]]);
    assert.ok(s.clientHello !== null);
    assert.equal(s.clientHello.legacyVersion, 0x0303);
    assert.equal(s.clientHello.sni, 'egw.gotomeeting.com');
    assert.deepEqual(s.clientHello.alpn, ['http/1.1']);
    assert.deepEqual(s.clientHello.supportedVersions, [0x0304, 0x0303]);
    assert.equal(s.clientHello.cipherSuites, 2);
    assert.equal(s.stop, null);
  });
}

test('ClientHello truncation sweep: every prefix is a LenError or a partial stream with a LEN stop', () => {
  for (let len = 0; len < CLIENT_HELLO.length; len++) {
    const s = decodeTlsStream(CLIENT_HELLO.subarray(0, len), 0);
    if (isErr(s)) {
      assert.equal(s.code, 'LEN', `len ${len}`);
      assert.ok(len < 5);
      continue;
    }
    assert.equal(s.clientHello, null, `len ${len}`);
    assert.ok(s.stop !== null && s.stop.code === 'LEN' && s.stop.layer === 'tls', `len ${len}`);
  }
});

test('parseClientHello: a server_name list running past its extension is TLS_BAD_SNI', () => {
  const body = Buffer.from(CLIENT_HELLO.subarray(9));
  const sniLenAt = body.indexOf(Buffer.from('0013', 'hex'), 40);
  body[sniLenAt + 1] = 0x40;                         // name length 64 > list
  const r = parseClientHello(body, 0, body.length);
  assert.ok(isErr(r));
  assert.equal(r.code, 'TLS_BAD_SNI');
});

const LEAF = pemToDer(LEAF_PEM);
const CA = pemToDer(CA_PEM);

function serverFlight(split: 'one-record' | 'per-message' | 'fragmented'): Buffer {
  const msgs = [
    handshake(2, serverHelloBody()),
    handshake(11, certificateBody([LEAF, CA])),
    handshake(14, Buffer.alloc(0)),
  ];
  if (split === 'one-record') return record(22, Buffer.concat(msgs));
  if (split === 'per-message') return Buffer.concat(msgs.map((m) => record(22, m)));
  // the Certificate message cut in three records, the first also holding the ServerHello
  const all = Buffer.concat(msgs);
  const a = msgs[0].length + 100;
  const b = a + 300;
  return Buffer.concat([record(22, all.subarray(0, a)), record(22, all.subarray(a, b)), record(22, all.subarray(b))]);
}

for (const split of ['one-record', 'per-message', 'fragmented'] as const) {
  test(`server flight (${split}): ServerHello TLS 1.2 and the certificate chain`, () => {
    const buf = Buffer.concat([Buffer.alloc(10), serverFlight(split), record(20, Buffer.from([1]))]);
    const s = decodeTlsStream(buf, 10) as TlsStream;
    assert.ok(!isErr(s));
    assert.equal(s.serverHello?.version, 0x0303);
    assert.equal(s.serverHello?.cipherSuite, 0xc02f);
    assert.deepEqual(s.handshakes.map((h) => h.type), [2, 11, 14]);
    assert.equal(s.certificates.length, 2);
    assert.ok(s.certificates[0].equals(LEAF));
    assert.ok(s.certificates[1].equals(CA));
    assert.equal(s.changeCipherSpec, true);
    assert.equal(s.encrypted, true);
    assert.equal(s.stop, null);
    // offsets are input offsets: the Certificate message's last byte is where the leaf+CA end
    const cert = s.handshakes[1];
    assert.equal(s.certificateOffset, cert.offset);
    assert.equal(s.certificateEnd, cert.end);
    assert.equal(buf[cert.offset], split === 'fragmented' ? buf[cert.offset] : 11);
    const caEnd = buf.lastIndexOf(CA.subarray(CA.length - 16));
    assert.equal(caEnd + 16, s.certificateEnd);
  });
}

test('server flight cut in the middle of the Certificate message: hello kept, certificate not, LEN stop', () => {
  const full = serverFlight('per-message');
  const certRecordStart = record(22, handshake(2, serverHelloBody())).length;
  const s = decodeTlsStream(full.subarray(0, certRecordStart + 200), 0) as TlsStream;
  assert.equal(s.serverHello?.version, 0x0303);
  assert.deepEqual(s.certificates, []);
  assert.equal(s.certificateEnd, -1);
  assert.equal(s.stop?.code, 'LEN');
});

test('TLS 1.3 ServerHello: negotiated version from supported_versions, rest encrypted, no certificates', () => {
  const buf = Buffer.concat([
    record(22, handshake(2, serverHelloBody(0x0304))),
    record(20, Buffer.from([1])),
    record(23, Buffer.alloc(300, 0x77)),
  ]);
  const s = decodeTlsStream(buf, 0) as TlsStream;
  assert.equal(s.serverHello?.legacyVersion, 0x0303);
  assert.equal(s.serverHello?.version, 0x0304);
  assert.equal(tlsVersionName(s.serverHello!.version), 'TLS 1.3');
  assert.equal(s.encrypted, true);
  assert.deepEqual(s.certificates, []);
});

test('alert before any handshake (a middlebox refusing the ClientHello)', () => {
  const s = decodeTlsStream(record(21, Buffer.from([2, 40])), 0) as TlsStream;
  assert.deepEqual(s.alert, { level: 2, description: 40, offset: 5 });
  assert.equal(tlsAlertName(s.alert!.description), 'handshake_failure');
});

test('not TLS: HTTP and junk give TLS_NOT_TLS; a record claiming more than 2^14+2048 bytes stops', () => {
  const h = decodeTlsStream(Buffer.from('HTTP/1.1 307 Temporary Redirect\r\n'), 0);
  assert.ok(isErr(h) && h.code === 'TLS_NOT_TLS');
  const big = Buffer.from('1603030000', 'hex');
  big.writeUInt16BE(0xffff, 3);
  const s = decodeTlsStream(Buffer.concat([big, Buffer.alloc(10)]), 0) as TlsStream;
  assert.equal(s.stop?.code, 'TLS_RECORD_OVERFLOW');
  const badList = record(22, handshake(11, Buffer.from('00ffff', 'hex')));
  const c = decodeTlsStream(badList, 0) as TlsStream;
  assert.equal(c.stop?.code, 'TLS_BAD_CERTIFICATE_LIST');
});

test('describeCertificate: subject, issuer, SAN from node:crypto', () => {
  const leaf = describeCertificate(LEAF) as CertInfo;
  assert.ok(!isErr(leaf));
  assert.equal(leaf.subject, 'CN=egw.gotomeeting.com, O=GoTo Test');
  assert.equal(leaf.issuer, 'CN=GoTo Test CA, O=GoTo Test, C=US');
  assert.equal(leaf.subjectCN, 'egw.gotomeeting.com');
  assert.equal(leaf.issuerCN, 'GoTo Test CA');
  assert.equal(leaf.issuerO, 'GoTo Test');
  assert.deepEqual(leaf.san, ['DNS:egw.gotomeeting.com', 'DNS:*.gotomeeting.com']);
  assert.equal(leaf.selfIssued, false);
  const ca = describeCertificate(CA) as CertInfo;
  assert.equal(ca.selfIssued, true);
  assert.deepEqual(ca.san, []);
  const bad = describeCertificate(Buffer.concat([LEAF.subarray(0, 100)]));
  assert.ok(isErr(bad) && bad.code === 'TLS_BAD_CERTIFICATE');
  const junk = describeCertificate(Buffer.alloc(3));
  assert.ok(isErr(junk) && junk.code === 'TLS_BAD_CERTIFICATE');
});

/** Run a real TLS handshake through a recording relay on loopback; return both directions' bytes. */
async function recordHandshake(maxVersion: tls.SecureVersion): Promise<{ c2s: Buffer; s2c: Buffer }> {
  const server = tls.createServer({ key: LEAF_KEY_PEM, cert: LEAF_PEM + CA_PEM, maxVersion }, (s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c2s: Buffer[] = [];
  const s2c: Buffer[] = [];
  const relay = createServer((down: Socket) => {
    const up = netConnect((server.address() as { port: number }).port, '127.0.0.1');
    down.on('data', (d) => { c2s.push(Buffer.from(d)); up.write(d); });
    up.on('data', (d) => { s2c.push(Buffer.from(d)); down.write(d); });
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('handshake timeout')), 5000);
      const c = tls.connect({
        host: '127.0.0.1', port: (relay.address() as { port: number }).port,
        servername: 'egw.gotomeeting.com', ca: CA_PEM, ALPNProtocols: ['http/1.1'],
      }, () => { c.on('data', () => undefined); c.on('end', () => { clearTimeout(timer); c.destroy(); resolve(); }); });
      c.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
  } finally {
    relay.close();
    server.close();
  }
  return { c2s: Buffer.concat(c2s), s2c: Buffer.concat(s2c) };
}

test('a real TLS 1.2 handshake (node/OpenSSL): SNI, version 1.2, the server chain with its issuer', async () => {
  const { c2s, s2c } = await recordHandshake('TLSv1.2');
  const ch = decodeTlsStream(c2s, 0) as TlsStream;
  assert.ok(!isErr(ch));
  assert.equal(ch.clientHello?.sni, 'egw.gotomeeting.com');
  assert.ok(ch.clientHello?.supportedVersions.includes(0x0304), 'node offers 1.3');
  const sv = decodeTlsStream(s2c, 0) as TlsStream;
  assert.ok(!isErr(sv));
  assert.equal(sv.serverHello?.version, 0x0303);
  assert.equal(sv.certificates.length, 2);
  assert.ok(sv.certificates[0].equals(LEAF));
  const info = describeCertificate(sv.certificates[0]) as CertInfo;
  assert.equal(info.issuerCN, 'GoTo Test CA');
});

test('a real TLS 1.3 handshake: the certificate is encrypted and not visible', async () => {
  const { s2c } = await recordHandshake('TLSv1.3');
  const sv = decodeTlsStream(s2c, 0) as TlsStream;
  assert.ok(!isErr(sv));
  assert.equal(sv.serverHello?.version, 0x0304);
  assert.equal(sv.encrypted, true);
  assert.deepEqual(sv.certificates, []);
});

/** Payload bytes of the first TCP stream's direction from `srcPort`, in order, via tshark. */
function tsharkStream(file: string, srcPort: number): Buffer {
  const r = spawnSync('tshark', ['-r', file, '-o', 'tcp.desegment_tcp_streams:FALSE', '-Y', `tcp.stream == 0 && tcp.srcport == ${srcPort} && tcp.len > 0`,
    '-T', 'fields', '-e', 'tcp.seq_raw', '-e', 'tcp.payload'], { encoding: 'utf8' });
  const segs = r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [seq, payload] = l.split('\t');
    return { seq: Number(seq), data: Buffer.from(payload.replace(/:/g, ''), 'hex') };
  });
  // in order, retransmissions dropped
  const out: Buffer[] = [];
  let next = segs.length > 0 ? segs[0].seq : 0;
  for (const s of segs.sort((a, b) => a.seq - b.seq)) {
    if (s.seq + s.data.length <= next) continue;
    out.push(s.data.subarray(next - s.seq));
    next = s.seq + s.data.length;
  }
  return Buffer.concat(out);
}

function tsharkIssuerCNs(file: string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-Y', 'tls.handshake.type == 11', '-T', 'fields', '-E', 'occurrence=a',
    ...['printableString', 'uTF8String', 'teletexString', 'IA5String', 'bmpString', 'universalString'].flatMap((f) => ['-e', 'x509sat.' + f])],
  { encoding: 'utf8' });
  return r.stdout.split(/[\t\n,]/).map((s) => s.trim()).filter(Boolean);
}

for (const name of ['zeek__tls-tls1.2.pcap', 'zeek__tls-ecdsa-cert.pcap']) {
  test(`public capture ${name}: the chain decodes and names what tshark shows`, { skip: need('tshark') || need('public-captures') }, () => {
    const file = join(publicCapturesDir, name);
    const s2c = tsharkStream(file, 443);
    const s = decodeTlsStream(s2c, 0) as TlsStream;
    assert.ok(!isErr(s), JSON.stringify(s));
    assert.ok(s.serverHello !== null);
    assert.ok(s.certificates.length >= 1);
    const names = tsharkIssuerCNs(file);
    for (const der of s.certificates) {
      const info = describeCertificate(der) as CertInfo;
      assert.ok(!isErr(info));
      assert.ok(info.subjectCN === null || names.includes(info.subjectCN), `${info.subjectCN} in ${names.join('|')}`);
      assert.ok(info.issuerCN === null || names.includes(info.issuerCN), `${info.issuerCN} in ${names.join('|')}`);
    }
  });
}

test('property: every prefix and random mutation of real flights gives a value or a typed error', () => {
  const seeds = [CLIENT_HELLO, serverFlight('fragmented'), serverFlight('one-record')];
  for (const s of seeds) {
    for (let len = 0; len <= s.length; len += 7) {
      const r = decodeTlsStream(s.subarray(0, len), 0);
      assert.ok(r !== null && typeof r === 'object');
    }
  }
  fc.assert(fc.property(
    fc.integer({ min: 0, max: seeds.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    fc.nat(),
    (which, muts, cutAt) => {
      const b = Buffer.from(seeds[which]);
      for (const [pos, val] of muts) b[pos % b.length] = val;
      const r = decodeTlsStream(b, 0, cutAt % (b.length + 1));
      if (isErr(r)) {
        assert.equal(r.layer, 'tls');
      } else {
        assert.ok(r.stop === null || r.stop.layer === 'tls');
        for (const c of r.certificates) {
          assert.ok(c.length <= b.length);
          const d = describeCertificate(c);
          assert.ok(typeof d === 'object');
        }
      }
    },
  ), { numRuns: 1500, seed: 11 });
});
