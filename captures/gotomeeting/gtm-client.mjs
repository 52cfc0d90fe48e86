#!/usr/bin/env node
// A GoToMeeting client's connection race, for the gotomeeting lab (run in the client
// namespace by record.sh). Like the real endpoint software (Cisco doc 117808, Citrix
// GTM120001) it resolves the Endpoint Gateway's name and opens TCP connections to it on
// 8200, 443 and 80 at once: TLS with SNI on 8200 and 443, and on 80 an HTTP request (what a
// proxy on 80 can answer). The first connection whose first exchange completes wins; the
// others are closed once they answered (or timed out), so every answer lands in the capture.
//
//   node gtm-client.mjs --host egw.gotomeeting.com [--ports 8200,443,80]
//        [--proxy 10.33.1.1:3128 --proxy-ports 443]   (CONNECT through an explicit proxy)
//        [--timeout-ms 6000] [--hold-ms 300]
//
// Prints one line per port with what came back. Bounded by --timeout-ms per connection.
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { lookup } from 'node:dns/promises';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: {
  host: { type: 'string', default: 'egw.gotomeeting.com' }, ports: { type: 'string', default: '8200,443,80' },
  proxy: { type: 'string', default: '' }, 'proxy-ports': { type: 'string', default: '' },
  'timeout-ms': { type: 'string', default: '6000' }, 'hold-ms': { type: 'string', default: '300' },
} });
const host = a.host;
const timeout = Number(a['timeout-ms']);
const proxyPorts = new Set(a['proxy-ports'].split(',').filter(Boolean).map(Number));
const [proxyHost, proxyPort] = a.proxy !== '' ? a.proxy.split(':') : [null, null];

let ip = null;
try { ip = (await lookup(host, { family: 4 })).address; } catch { /* explicit proxy resolves */ }

const REQ = `GET /egw/v1/ping HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: G2MEndpoint/10.19\r\n\r\n`;

function race(port) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let sock = null;
    let done = false;
    const finish = (ok, detail) => {
      if (done) return;
      done = true;
      resolve({ port, ok, detail, ms: Date.now() - t0, sock });
    };
    const timer = setTimeout(() => { finish(false, 'timeout'); sock?.destroy(); }, timeout);
    const firstAnswer = (s, what) => {
      let got = '';
      s.on('data', (d) => {
        if (got === '') { clearTimeout(timer); got = d.toString('latin1').split('\r\n')[0]; finish(true, `${what}: ${got}`); }
      });
    };
    const onErr = (e) => { clearTimeout(timer); finish(false, e.code ?? e.message); };
    const startTls = (raw) => {
      const s = tlsConnect({ socket: raw, host: raw ? undefined : ip, port, servername: host, rejectUnauthorized: false }, () => {
        const cert = s.getPeerCertificate();
        s.write(REQ);
        firstAnswer(s, `TLS ${s.getProtocol()} issuer=${cert?.issuer?.CN ?? '?'}`);
      });
      s.on('error', onErr);
      sock = s;
    };
    if (proxyPorts.has(port) && proxyHost !== null) {
      const raw = netConnect(Number(proxyPort), proxyHost, () => raw.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
      raw.on('error', onErr);
      sock = raw;
      let head = '';
      const onHead = (d) => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        raw.off('data', onHead);
        if (!/^HTTP\/1\.[01] 200/.test(head)) { finish(false, head.split('\r\n')[0]); return; }
        startTls(raw);
      };
      raw.on('data', onHead);
    } else if (ip === null) {
      finish(false, 'no address');
    } else if (port === 80) {
      const s = netConnect(port, ip, () => { s.write(REQ); firstAnswer(s, 'HTTP'); });
      s.on('error', onErr);
      sock = s;
    } else {
      startTls(null);
    }
  });
}

const ports = a.ports.split(',').map(Number);
const results = await Promise.all(ports.map(race));
const winner = results.filter((r) => r.ok).sort((x, y) => x.ms - y.ms)[0];
for (const r of results) {
  console.log(`${r.port}\t${r.ok ? 'answered' : 'failed'}\t${r.ms} ms\t${r.detail}${r === winner ? '\t(winner)' : ''}`);
}
await new Promise((r) => setTimeout(r, Number(a['hold-ms'])));
for (const r of results) r.sock?.end();
await new Promise((r) => setTimeout(r, 200));
for (const r of results) r.sock?.destroy();
process.exit(0);
