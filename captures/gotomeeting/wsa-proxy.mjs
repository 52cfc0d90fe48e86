#!/usr/bin/env node
// A small stand-in for a Cisco WSA, for the gotomeeting lab (run in the gateway namespace by
// record.sh). It is NOT a proxy anyone should use: it only reproduces what a WSA in front of
// an unauthenticated client shows on the wire (domain.md §D, Cisco docs 117808 / 117934).
//
// Transparent mode (the gateway's iptables REDIRECTs TCP 80 and 443 here):
//   --http-port P   answers every HTTP request with "307 Temporary Redirect" to
//                   http://wsa.lab.test/auth?url=<original URL> and
//                   "Via: 1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)" (the WSA redirects the
//                   client to itself to authenticate it), then closes.
//   --tls-port P    accepts TLS (capped at 1.2) with a certificate minted for the requested name
//                   by its own CA "Cisco WSA Lab CA" (--certs NAME=CERT:KEY,...; the first is the
//                   default), reads the request and answers the same 307 inside TLS ("decrypt
//                   for authentication"), then closes.
// Explicit mode:
//   --connect-port P  an explicit proxy: "CONNECT host:port" is resolved and tunnelled
//                   ("200 Connection established" with the WSA's Via), bytes piped both ways.
//
// Bounded: exits after --max-seconds (default 120); each connection is cut after 10 s idle.
import { createServer as createNet, connect as netConnect } from 'node:net';
import { createServer as createTls, createSecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: {
  'http-port': { type: 'string', default: '' }, 'tls-port': { type: 'string', default: '' },
  'connect-port': { type: 'string', default: '' }, certs: { type: 'string', default: '' },
  listen: { type: 'string', default: '0.0.0.0' }, 'max-seconds': { type: 'string', default: '120' },
} });

const VIA = '1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)';

function redirect(host, path) {
  const url = encodeURIComponent(`http://${host}${path}`);
  return 'HTTP/1.1 307 Temporary Redirect\r\n' +
    `Location: http://wsa.lab.test/auth?url=${url}\r\n` +
    `Via: ${VIA}\r\n` +
    'Content-Type: text/html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
}

/** read one request head from a socket, then call back with (host, path) */
function onHead(sock, cb) {
  let buf = '';
  const onData = (d) => {
    buf += d.toString('latin1');
    if (buf.length > 16384) { sock.destroy(); return; }
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    sock.off('data', onData);
    const lines = buf.slice(0, end).split('\r\n');
    const [, target = '/'] = lines[0].split(' ');
    const hostLine = lines.find((l) => /^host:/i.test(l));
    const host = hostLine ? hostLine.slice(5).trim() : 'unknown';
    cb(host, target, lines[0]);
  };
  sock.on('data', onData);
  sock.setTimeout(10000, () => sock.destroy());
  sock.on('error', () => sock.destroy());
}

if (a['http-port'] !== '') {
  createNet((sock) => onHead(sock, (host, path) => sock.end(redirect(host, path)))).listen(Number(a['http-port']), a.listen);
}

if (a['tls-port'] !== '') {
  const contexts = new Map();
  let first = null;
  for (const item of a.certs.split(',').filter(Boolean)) {
    const [name, files] = item.split('=');
    const [cert, key] = files.split(':');
    const ctx = createSecureContext({ cert: readFileSync(cert), key: readFileSync(key), maxVersion: 'TLSv1.2' });
    contexts.set(name, ctx);
    first ??= { cert: readFileSync(cert), key: readFileSync(key) };
  }
  const s = createTls({ ...first, maxVersion: 'TLSv1.2', SNICallback: (name, cb) => cb(null, contexts.get(name) ?? contexts.values().next().value) },
    (sock) => onHead(sock, (host, path) => sock.end(redirect(host, path))));
  s.on('tlsClientError', () => undefined);
  s.listen(Number(a['tls-port']), a.listen);
}

if (a['connect-port'] !== '') {
  createNet((down) => {
    onHead(down, (host, _path, line) => {
      const m = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]$/.exec(line);
      if (m === null) { down.end(`HTTP/1.1 400 Bad Request\r\nVia: ${VIA}\r\nConnection: close\r\n\r\n`); return; }
      const up = netConnect(Number(m[2]), m[1], () => {
        down.write(`HTTP/1.1 200 Connection established\r\nVia: ${VIA}\r\n\r\n`);
        up.pipe(down);
        down.pipe(up);
      });
      up.setTimeout(10000, () => { up.destroy(); down.destroy(); });
      up.on('error', () => down.end(`HTTP/1.1 502 Bad Gateway\r\nVia: ${VIA}\r\nConnection: close\r\n\r\n`));
      up.on('close', () => down.end());
      down.on('close', () => up.destroy());
    });
  }).listen(Number(a['connect-port']), a.listen);
}

setTimeout(() => process.exit(0), Number(a['max-seconds']) * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 1 << 30);
