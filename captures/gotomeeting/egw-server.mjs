#!/usr/bin/env node
// The genuine servers of the gotomeeting lab (run inside a network namespace by record.sh):
// a stand-in for GoToMeeting's Endpoint Gateway (TLS on 8200 and 443 with a certificate from
// "GoTo Test CA", plain HTTP on 80) and an ordinary web site (HTTP 80, HTTPS 443). TLS is
// capped at 1.2 so the certificate is visible on the wire.
//
//   node egw-server.mjs --addr A --tls-ports 8200,443 --http-port 80 --cert C --key K
//        --server-header S [--max-seconds N]
//
// Every TLS connection gets a short reply to whatever the client sends first; HTTP answers
// 200. Bounded: the process exits after --max-seconds (default 120).
import { createServer as createTls } from 'node:tls';
import { createServer as createHttp } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: {
  addr: { type: 'string' }, 'tls-ports': { type: 'string', default: '' }, 'http-port': { type: 'string', default: '' },
  cert: { type: 'string' }, key: { type: 'string' }, 'server-header': { type: 'string', default: 'lab' },
  'max-seconds': { type: 'string', default: '120' },
} });

const servers = [];
if (a['tls-ports'] !== '') {
  const opts = { cert: readFileSync(a.cert), key: readFileSync(a.key), maxVersion: 'TLSv1.2' };
  for (const p of a['tls-ports'].split(',').map(Number)) {
    const s = createTls(opts, (sock) => {
      sock.setTimeout(10000, () => sock.destroy());
      sock.once('data', () => {
        sock.end(`HTTP/1.1 200 OK\r\nServer: ${a['server-header']}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n`);
      });
      sock.on('error', () => sock.destroy());
    });
    s.on('tlsClientError', () => undefined);
    s.listen(p, a.addr);
    servers.push(s);
  }
}
if (a['http-port'] !== '') {
  const s = createHttp((req, res) => {
    res.writeHead(200, { Server: a['server-header'], 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('hello from the lab\n');
  });
  s.listen(Number(a['http-port']), a.addr);
  servers.push(s);
}
setTimeout(() => process.exit(0), Number(a['max-seconds']) * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
// keep the event loop alive while servers listen
setInterval(() => undefined, 1 << 30);
