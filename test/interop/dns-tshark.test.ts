// DNS facts on port 53 as the pipeline's DNS service sees them (what dns-protection reads)
// against tshark, capture by capture: query packets (first sends and retransmissions),
// response packets and their rcodes, over UDP/53. Public corpus and the dns-protection
// scenario captures.
//
// Known gap, excluded from the tshark side with `!gre`: DNS carried inside GRE tunnels
// (pcapplusplus__GrePackets.pcap, zeek__gre-sample.pcap) — the decoder does not decode GRE,
// so those messages never reach the DNS service. The test asserts that this is the only
// difference (the GRE files are compared with the tunnelled packets left out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '../../src/source/open.js';
import { FrameDecoder } from '../../src/decode/walk.js';
import { FlowTable } from '../../src/flow/table.js';
import { createNameCache } from '../../src/flow/names.js';
import { AnomalySink, CaptureError } from '../../src/errors.js';
import { defaultConfig } from '../../src/config.js';
import type { FlowObserver } from '../../src/flow/types.js';
import { capturesDir, need, publicCapturesDir } from '../helpers/env.js';

interface DnsFacts { queries: number; responses: number; rcodes: Record<string, number> }

const RCODE_NUMBERS: Record<string, number> = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8,
  NOTAUTH: 9, NOTZONE: 10,
};
function rcodeNumber(name: string): string {
  const n = RCODE_NUMBERS[name];
  if (n !== undefined) return String(n);
  const m = /^(?:RCODE_|UNKNOWN_)(\d+)$/.exec(name);
  return m ? m[1] : name;
}

/** The DNS service's view of UDP/53 in a capture; null when the file is not a readable capture. */
async function ours(file: string): Promise<DnsFacts | null> {
  const anomalies = new AnomalySink();
  let source;
  try {
    source = await openCapture(file, { anomalies });
  } catch (e) {
    if (e instanceof CaptureError) return null;
    throw e;
  }
  const facts: DnsFacts = { queries: 0, responses: 0, rcodes: {} };
  const udp53 = (proto: string, a: number, b: number) => proto === 'udp' && (a === 53 || b === 53);
  const counter: FlowObserver = {
    name: 'dns-facts',
    onDnsTransaction(tx) {
      if (udp53(tx.transport, tx.serverPort, tx.clientPort)) facts.queries += 1 + tx.retransmits;
    },
    onDnsResponse(ev) {
      const id = ev.flow.id;
      if (!udp53(id.proto, id.resp_p, id.orig_p)) return;
      facts.responses++;
      const k = rcodeNumber(ev.rcode);
      facts.rcodes[k] = (facts.rcodes[k] ?? 0) + 1;
    },
  };
  const cfg = defaultConfig();
  const table = new FlowTable({
    timeouts: cfg.timeouts, maxFlows: cfg.maxFlows, observers: [counter], anomalies, names: createNameCache(),
    dnsServers: cfg.resolvers.addresses, dnsPorts: cfg.resolvers.ports,
  });
  const decoder = new FrameDecoder(anomalies);
  try {
    for await (const batch of source) for (const f of batch) { const p = decoder.decode(f); if (p !== null) table.process(p); }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;   // damage after good frames: keep what was read, as the pipeline does
  }
  table.flushAll();
  return facts;
}

function theirs(file: string): Promise<DnsFacts> {
  return new Promise((resolve, reject) => {
    const child = spawn('tshark', ['-n', '-r', file, '-Y', 'dns && udp.port == 53 && !icmp && !icmpv6 && !gre',
      '-T', 'fields', '-E', 'occurrence=f', '-e', 'dns.flags.response', '-e', 'dns.flags.rcode'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', () => {
      const facts: DnsFacts = { queries: 0, responses: 0, rcodes: {} };
      for (const line of out.split('\n')) {
        if (line === '') continue;
        const [resp, rcode] = line.split('\t');
        if (resp === '1' || resp === 'True') {
          facts.responses++;
          facts.rcodes[rcode] = (facts.rcodes[rcode] ?? 0) + 1;
        } else {
          facts.queries++;
        }
      }
      resolve(facts);
    });
  });
}

/** Run `fn` over `items` with at most `n` at a time (tshark's start-up dominates; it mostly waits). */
async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]); } };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function sorted(r: Record<string, number>): [string, number][] {
  return Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

test('DNS on UDP/53: queries, responses and rcodes equal what tshark reports, capture by capture',
  { skip: need('tshark') || need('public-captures') }, async () => {
    const files = [
      ...readdirSync(publicCapturesDir).filter((f) => f !== 'MANIFEST.md').sort().map((f) => join(publicCapturesDir, f)),
      ...readdirSync(join(capturesDir, 'dns-protection')).filter((f) => f.endsWith('.pcap')).sort()
        .map((f) => join(capturesDir, 'dns-protection', f)),
    ];
    const oursAll: (DnsFacts | null)[] = [];
    for (const f of files) oursAll.push(await ours(f));
    const readable = files.filter((_, i) => oursAll[i] !== null);
    const theirsAll = await pool(readable, 6, theirs);
    let withDns = 0;
    let queries = 0, responses = 0;
    const diffs: string[] = [];
    readable.forEach((f, i) => {
      const a = oursAll[files.indexOf(f)] as DnsFacts;
      const b = theirsAll[i];
      if (b.queries + b.responses > 0) withDns++;
      queries += b.queries; responses += b.responses;
      if (a.queries !== b.queries || a.responses !== b.responses || JSON.stringify(sorted(a.rcodes)) !== JSON.stringify(sorted(b.rcodes))) {
        diffs.push(`${f.split('/').pop()}: ours ${JSON.stringify(a)} tshark ${JSON.stringify(b)}`);
      }
    });
    assert.deepEqual(diffs, []);
    // not vacuous: the corpus and the scenarios hold plenty of DNS
    assert.ok(withDns >= 30, `captures with DNS on UDP/53: ${withDns}`);
    assert.ok(queries >= 300 && responses >= 300, `queries ${queries}, responses ${responses}`);
  });
