// HTTP/1.x head decoder: annotated fixtures at offsets 0 and 10, truncation sweeps, bounds,
// and a property test (every prefix and mutation gives a value or a typed error, never a throw).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeHttp, decodeHttpRequest, decodeHttpResponse, sniffHttp, splitAuthority, urlHost,
  type HttpRequest, type HttpResponse,
} from '../../src/decode/http.js';
import type { DecodeError } from '../../src/errors.js';

function isErr(x: object): x is DecodeError {
  return typeof (x as { code?: unknown }).code === 'string';
}

/** place `text` at offset `pad` in a larger buffer with trailing junk, return [buf, off, end] */
function at(text: string, pad: number): [Buffer, number, number] {
  const body = Buffer.from(text, 'latin1');
  const buf = Buffer.concat([Buffer.alloc(pad, 0xee), body, Buffer.from('JUNK-AFTER-END')]);
  return [buf, pad, pad + body.length];
}

// A transparent Cisco WSA's answer to the first request of an unauthenticated client
// (domain.md §D: redirect to its own host, Via naming Cisco-WSA).
const WSA_REDIRECT =
  'HTTP/1.1 307 Temporary Redirect\r\n' +
  'Location: http://wsa.lab.test/auth?url=http%3A%2F%2Fegw.gotomeeting.com%2F\r\n' +
  'Via: 1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)\r\n' +
  'Server: WSA\r\n' +
  'Content-Length: 0\r\n' +
  'Connection: close\r\n' +
  '\r\n';

const GET_EGW =
  'GET /egw/ping HTTP/1.1\r\n' +
  'Host: EGW.GoToMeeting.com\r\n' +
  'User-Agent: G2M\r\n' +
  '\r\n';

for (const pad of [0, 10]) {
  test(`response: WSA redirect at offset ${pad}`, () => {
    const [buf, off, end] = at(WSA_REDIRECT, pad);
    assert.equal(sniffHttp(buf, off, end), 'response');
    const r = decodeHttp(buf, off, end) as HttpResponse;
    assert.ok(!isErr(r));
    assert.equal(r.kind, 'response');
    assert.equal(r.version, 'HTTP/1.1');
    assert.equal(r.status, 307);
    assert.equal(r.reason, 'Temporary Redirect');
    assert.equal(r.location, 'http://wsa.lab.test/auth?url=http%3A%2F%2Fegw.gotomeeting.com%2F');
    assert.equal(r.via, '1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)');
    assert.equal(r.server, 'WSA');
    assert.equal(r.contentLength, 0);
    assert.deepEqual(r.wwwAuthenticate, []);
    assert.equal(r.headEnd, end);
    assert.equal(r.stop, null);
    assert.equal(r.fields.length, 5);
  });

  test(`request: GET with Host at offset ${pad}`, () => {
    const [buf, off, end] = at(GET_EGW, pad);
    assert.equal(sniffHttp(buf, off, end), 'request');
    const r = decodeHttp(buf, off, end) as HttpRequest;
    assert.ok(!isErr(r));
    assert.equal(r.kind, 'request');
    assert.equal(r.method, 'GET');
    assert.equal(r.target, '/egw/ping');
    assert.equal(r.host, 'egw.gotomeeting.com');
    assert.equal(r.absoluteForm, false);
    assert.equal(r.connect, null);
    assert.equal(r.headEnd, end);
  });
}

test('request: CONNECT through an explicit proxy', () => {
  const buf = Buffer.from('CONNECT egw.gotomeeting.com:8200 HTTP/1.1\r\nHost: egw.gotomeeting.com:8200\r\nProxy-Connection: keep-alive\r\n\r\n\x16\x03\x01');
  const r = decodeHttpRequest(buf, 0) as HttpRequest;
  assert.ok(!isErr(r));
  assert.deepEqual(r.connect, { host: 'egw.gotomeeting.com', port: 8200 });
  assert.equal(r.host, 'egw.gotomeeting.com:8200');
  assert.equal(buf[r.headEnd], 0x16, 'head ends where the tunnelled TLS starts');
});

test('request: CONNECT to a bracketed IPv6 literal without Host', () => {
  const buf = Buffer.from('CONNECT [2001:db8::1]:443 HTTP/1.0\r\n\r\n');
  const r = decodeHttpRequest(buf, 0) as HttpRequest;
  assert.deepEqual(r.connect, { host: '2001:db8::1', port: 443 });
  assert.equal(r.host, '[2001:db8::1]:443');
});

test('request: absolute form (explicit proxy), Host from the URI when the field is missing', () => {
  const buf = Buffer.from('GET HTTP://bro.org/ HTTP/1.1\r\nProxy-Connection: Keep-Alive\r\n\r\n');
  const r = decodeHttpRequest(buf, 0) as HttpRequest;
  assert.equal(r.absoluteForm, true);
  assert.equal(r.host, 'bro.org');
});

test('response: 407 with Proxy-Authenticate, several challenges kept in order', () => {
  const buf = Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\n' +
    'Proxy-Authenticate: NTLM\r\nProxy-Authenticate: Basic realm="WSA"\r\n\r\n');
  const r = decodeHttpResponse(buf, 0) as HttpResponse;
  assert.equal(r.status, 407);
  assert.deepEqual(r.proxyAuthenticate, ['Negotiate', 'NTLM', 'Basic realm="WSA"']);
});

test('response: bare LF line ends, folded field, repeated Via joined, no reason phrase', () => {
  const buf = Buffer.from('HTTP/1.0 401\nWWW-Authenticate: NTLM\nVia: 1.1 a\nVia: 1.1 wsa (IronPort-WSA/7.1.3-013)\n\tcontinued\n\n');
  const r = decodeHttpResponse(buf, 0) as HttpResponse;
  assert.equal(r.status, 401);
  assert.equal(r.reason, '');
  assert.deepEqual(r.wwwAuthenticate, ['NTLM']);
  assert.equal(r.via, '1.1 a, 1.1 wsa (IronPort-WSA/7.1.3-013) continued');
  assert.equal(r.stop, null);
});

test('truncation sweep: every prefix of a response gives the start-line LenError or a partial head with a stop', () => {
  const full = Buffer.from(WSA_REDIRECT, 'latin1');
  const firstLineEnd = full.indexOf('\n') + 1;
  for (let len = 0; len < full.length; len++) {
    const r = decodeHttpResponse(full.subarray(0, len), 0);
    if (len < firstLineEnd) {
      assert.ok(isErr(r), `len ${len}`);
      // a prefix that is not yet "HTTP/" is still a missing line end, never a throw
      assert.equal(r.code, 'LEN', `len ${len}`);
      assert.equal(r.layer, 'http');
    } else {
      assert.ok(!isErr(r), `len ${len}`);
      assert.equal(r.status, 307);
      assert.equal(r.headEnd, -1);
      assert.ok(r.stop !== null && r.stop.code === 'LEN' && r.stop.layer === 'http', `len ${len}`);
    }
  }
  const r = decodeHttpResponse(full, 0) as HttpResponse;
  assert.equal(r.stop, null);
});

test('truncation sweep of a request at offset 10: Host appears once its line is complete', () => {
  const [buf, off, end] = at(GET_EGW, 10);
  const hostLineEnd = GET_EGW.indexOf('\n', GET_EGW.indexOf('Host')) + 1;
  for (let e = off; e <= end; e++) {
    const r = decodeHttpRequest(buf, off, e);
    if (isErr(r)) { assert.equal(r.code, 'LEN'); continue; }
    assert.equal(r.host, e - off >= hostLineEnd ? 'egw.gotomeeting.com' : null, `end ${e}`);
  }
});

test('not HTTP: TLS bytes and binary junk give HTTP_NOT_HTTP', () => {
  const tls = Buffer.from('160301020001', 'hex');
  assert.equal(sniffHttp(tls, 0), null);
  const r = decodeHttp(tls, 0);
  assert.ok(isErr(r));
  assert.equal(r.code, 'HTTP_NOT_HTTP');
  const e = decodeHttp(Buffer.alloc(0), 0);
  assert.ok(isErr(e) && e.code === 'LEN');
});

test('bad start lines are ContentErrors', () => {
  const a = decodeHttpRequest(Buffer.from('GET /\r\n\r\n'), 0);
  assert.ok(isErr(a) && a.code === 'HTTP_BAD_REQUEST_LINE');
  const b = decodeHttpResponse(Buffer.from('HTTP/1.1 2000 OK\r\n\r\n'), 0);
  assert.ok(isErr(b) && b.code === 'HTTP_BAD_STATUS_LINE');
  const c = decodeHttp(Buffer.from('FOO / HTTP/1.1\r\n\r\n'), 0);
  assert.ok(isErr(c) && c.code === 'HTTP_BAD_REQUEST_LINE');
});

test('bounds: a head larger than maxHeaderBytes stops with HTTP_HEAD_TOO_LONG, fields beyond maxFields stop', () => {
  const big = Buffer.from('HTTP/1.1 200 OK\r\n' + 'X-Pad: ' + 'a'.repeat(40000) + '\r\nVia: late\r\n\r\n');
  const r = decodeHttpResponse(big, 0) as HttpResponse;
  assert.equal(r.stop?.code, 'HTTP_HEAD_TOO_LONG');
  assert.equal(r.via, null);
  const many = Buffer.from('HTTP/1.1 200 OK\r\n' + 'A: b\r\n'.repeat(20) + '\r\n');
  const m = decodeHttpResponse(many, 0, many.length, { maxFields: 5 }) as HttpResponse;
  assert.equal(m.stop?.code, 'HTTP_TOO_MANY_FIELDS');
  assert.equal(m.fields.length, 5);
  const longLine = Buffer.from('GET /' + 'x'.repeat(9000) + ' HTTP/1.1\r\n\r\n');
  const l = decodeHttpRequest(longLine, 0);
  assert.ok(isErr(l) && l.code === 'HTTP_LINE_TOO_LONG');
  const value = Buffer.from('HTTP/1.1 302 Found\r\nLocation: http://x/' + 'y'.repeat(3000) + '\r\n\r\n');
  const v = decodeHttpResponse(value, 0) as HttpResponse;
  assert.equal(v.location?.length, 1024);
});

test('a field line without a colon stops the head laxly, keeping earlier fields', () => {
  const buf = Buffer.from('HTTP/1.1 302 Found\r\nLocation: http://wsa/\r\ngarbage line\r\nVia: x\r\n\r\n');
  const r = decodeHttpResponse(buf, 0) as HttpResponse;
  assert.equal(r.location, 'http://wsa/');
  assert.equal(r.via, null);
  assert.equal(r.stop?.code, 'HTTP_BAD_FIELD_LINE');
  assert.equal(r.stop?.offset, buf.indexOf('garbage'));
});

test('splitAuthority and urlHost', () => {
  assert.deepEqual(splitAuthority('Example.COM:8080'), { host: 'example.com', port: 8080 });
  assert.deepEqual(splitAuthority('example.com'), { host: 'example.com', port: -1 });
  assert.deepEqual(splitAuthority('[::1]'), { host: '::1', port: -1 });
  assert.equal(splitAuthority('::1'), null);
  assert.equal(splitAuthority('a:99999'), null);
  assert.equal(splitAuthority('a b'), null);
  assert.equal(urlHost('http://wsa.lab.test/auth?x=1'), 'wsa.lab.test');
  assert.equal(urlHost('https://user@Host.Example:8443/'), 'host.example');
  assert.equal(urlHost('//cdn.example/x'), 'cdn.example');
  assert.equal(urlHost('/relative/path'), null);
});

test('property: every prefix and random mutation gives a value or a typed error, never a throw', () => {
  const seeds = [WSA_REDIRECT, GET_EGW, 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n'].map((s) => Buffer.from(s, 'latin1'));
  for (const s of seeds) {
    for (let len = 0; len <= s.length; len++) {
      const r = decodeHttp(s.subarray(0, len), 0);
      assert.ok(r !== null && typeof r === 'object');
    }
  }
  fc.assert(fc.property(
    fc.integer({ min: 0, max: seeds.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.nat(),
    (which, muts, cutAt) => {
      const b = Buffer.from(seeds[which]);
      for (const [pos, val] of muts) b[pos % b.length] = val;
      const end = cutAt % (b.length + 1);
      const r = decodeHttp(b, 0, end);
      if (isErr(r)) {
        assert.equal(r.layer, 'http');
        assert.equal(typeof r.offset, 'number');
      } else {
        assert.ok(r.kind === 'request' || r.kind === 'response');
        assert.ok(r.stop === null || r.stop.layer === 'http');
      }
    },
  ), { numRuns: 2000, seed: 5 });
});
