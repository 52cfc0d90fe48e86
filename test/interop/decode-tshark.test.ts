// Interop: the frame decoder against tshark, frame by frame, on every capture in captures/
// (recursively) and in ../shared/captures/public/ (when present).
//
// Per frame, the outermost IP addresses, ports and TCP flags must equal
//   tshark -r F -n -T fields -E occurrence=f -e frame.number -e eth.src -e ip.src -e ip.dst
//     -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport
//     -e tcp.flags
// (eth.src only checks that both readers see the same bytes, see below).
// `occurrence=f` picks the first occurrence of each field, i.e. the outermost layer of that
// kind. The decoder reads the outermost IP and transport only, so the comparison is:
//   - the address fields of the decoder's IP version must equal tshark's;
//   - the decoder's TCP or UDP ports / TCP flags (low 8 bits; tshark also shows AE/NS and the
//     reserved bits) must equal tshark's;
//   - an ICMP / ICMPv6 error: tshark's first TCP/UDP ports are those of the quoted packet, and
//     must equal the decoder's QuotedPacket ports;
//   - a fragment held for reassembly: the decoder hands nothing on; its outer IP (decoder.last)
//     must equal tshark's addresses, and tshark must show no ports either (it shows them on the
//     frame that completes the datagram, where the decoder hands on the reassembled datagram).
//
// Deliberate differences, each counted and reported as a diagnostic:
//   - unsupported link types (FDDI, NFLOG, netlink, ...): the decoder returns null and counts
//     `link/UNSUPPORTED_LINKTYPE` once per frame; tshark's fields are not compared.
//   - tunnels: tshark dissects what a packet carries (GRE, IP-in-IP, 6in4, L2TP, VXLAN, TZSP,
//     Teredo ...), so it may show fields the decoder does not fill: addresses of the other IP
//     version and ports of the other transport (or any ports under a tunnel protocol). Such
//     extra tshark fields are accepted when the decoder's packet is a tunnel carrier (IP
//     protocol 4, 41, 47, 97, 115, 137 or UDP); fields the decoder did fill must still match.
//   - overlapping fragments (teardrop): tshark reassembles anyway and shows ports on the last
//     piece; the decoder drops the datagram (`fragment/OVERLAP`, `fragment/INCONSISTENT`,
//     `fragment/TOO_LARGE`) and shows none.
//   - ICMP errors quoting TCP: tshark shows the quoted segment's flags as the first tcp.flags;
//     QuotedPacket carries ports and sequence number, not flags, so tcp.flags is not compared
//     there (the quoted ports are).
//   - damaged files that the two readers read differently: for classic pcap, wiretap guesses
//     among old modified record-header formats (SuSE, Nokia, ...) when the standard reading
//     meets an impossible record, and then sees other bytes in the frames than our reader,
//     which reads the standard format. Detected per Ethernet frame by comparing tshark's
//     eth.src with the frame's own source MAC; such frames are not compared.
// Inputs the reader cannot open (not a capture, empty, unsupported version) are skipped: they
// are the reader's tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { AnomalySink, CaptureError } from '../../src/errors.js';
import { openCapture } from '../../src/source/open.js';
import { FrameDecoder } from '../../src/decode/walk.js';
import { isDecodedLinkType, linkTypeName } from '../../src/decode/linktypes.js';
import { formatAddr } from '../../src/decode/addr.js';
import type { Packet } from '../../src/decode/packet.js';
import { capturesDir, need, publicCapturesDir, repoRoot } from '../helpers/env.js';

const FIELDS = ['eth.src', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'tcp.flags'];
const [ETH_SRC, IP_SRC, IP_DST, IP6_SRC, IP6_DST, TCP_SP, TCP_DP, UDP_SP, UDP_DP, TCP_FLAGS] = FIELDS.map((_, i) => i);
const TUNNEL_PROTOS = new Set([4, 41, 47, 97, 115, 137, 17]);
const NOT_CAPTURES = /\.(md|ts|js|mjs|json|sh|txt|py|map|csv|yaml|yml)$/i;

function listCaptures(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && !NOT_CAPTURES.test(e)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** tshark's fields per frame number (empty strings for absent fields). */
function tsharkFields(path: string): Promise<Map<number, string[]>> {
  return new Promise((resolve, reject) => {
    const args = ['-r', path, '-n', '-T', 'fields', '-E', 'occurrence=f', '-e', 'frame.number', ...FIELDS.flatMap((f) => ['-e', f])];
    const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { out += d; });
    child.on('error', reject);
    child.on('close', () => {
      const rows = new Map<number, string[]>();
      for (const line of out.split('\n')) {
        if (line === '') continue;
        const c = line.split('\t');
        const flags = c[1 + TCP_FLAGS];
        if (flags) c[1 + TCP_FLAGS] = String(parseInt(flags, 16) & 0xff);
        rows.set(Number(c[0]), c.slice(1, 1 + FIELDS.length));
      }
      resolve(rows);
    });
  });
}

/** The decoder's view of a frame, in tshark's field order ('' = not shown). */
function decoderFields(p: Packet, held: boolean): string[] {
  const f = new Array<string>(FIELDS.length).fill('');
  if (p.ipVersion === 0) return f;
  const s = formatAddr(p.data, p.srcOff, p.ipVersion);
  const d = formatAddr(p.data, p.dstOff, p.ipVersion);
  if (p.ipVersion === 4) { f[IP_SRC] = s; f[IP_DST] = d; } else { f[IP6_SRC] = s; f[IP6_DST] = d; }
  if (held) return f;
  if (p.proto === 6 && p.srcPort >= 0) { f[TCP_SP] = String(p.srcPort); f[TCP_DP] = String(p.dstPort); }
  if (p.proto === 6 && p.tcpHdrLen > 0) f[TCP_FLAGS] = String(p.tcpFlags);
  if (p.proto === 17 && p.srcPort >= 0) { f[UDP_SP] = String(p.srcPort); f[UDP_DP] = String(p.dstPort); }
  const q = p.quoted;
  if (q !== null && q.srcPort >= 0) {
    if (q.proto === 6) { f[TCP_SP] = String(q.srcPort); f[TCP_DP] = String(q.dstPort); }
    if (q.proto === 17) { f[UDP_SP] = String(q.srcPort); f[UDP_DP] = String(q.dstPort); }
  }
  return f;
}

function macText(b: Uint8Array, off: number): string {
  const h: string[] = [];
  for (let i = 0; i < 6; i++) h.push(b[off + i].toString(16).padStart(2, '0'));
  return h.join(':');
}

const FRAGMENT_DROPS = ['OVERLAP', 'INCONSISTENT', 'TOO_LARGE'];

function fragmentDrops(an: AnomalySink): number {
  return an.list().filter((a) => a.layer === 'fragment' && FRAGMENT_DROPS.includes(a.code)).reduce((n, a) => n + a.count, 0);
}

interface FileResult {
  frames: number;
  compared: number;
  mismatches: string[];
  reasons: Map<string, number>;
  skipped: string | null;
}

async function compareFile(path: string, tshark: Promise<Map<number, string[]>>): Promise<FileResult> {
  const res: FileResult = { frames: 0, compared: 0, mismatches: [], reasons: new Map(), skipped: null };
  const note = (why: string): void => { res.reasons.set(why, (res.reasons.get(why) ?? 0) + 1); };
  const anomalies = new AnomalySink();
  let source;
  try {
    source = await openCapture(path, { anomalies });
  } catch (e) {
    if (e instanceof CaptureError) { res.skipped = `${e.code}: ${e.message}`; return res; }
    throw e;
  }
  const rows = await tshark;
  const decoder = new FrameDecoder(anomalies);
  let unsupportedFrames = 0;
  try {
    for await (const batch of source) {
      for (const fr of batch) {
        res.frames++;
        const before = fragmentDrops(anomalies);
        const p = decoder.decode(fr);
        if (!isDecodedLinkType(fr.linkType)) {
          assert.equal(p, null, `frame ${fr.frameNo}: link type ${fr.linkType} decoded`);
          unsupportedFrames++;
          note(`link type ${linkTypeName(fr.linkType)} not decoded`);
          continue;
        }
        const theirs = rows.get(fr.frameNo);
        if (theirs === undefined) { note('frame not listed by tshark'); continue; }
        if (fr.linkType === 1 && fr.data.length >= 12 && theirs[ETH_SRC] !== '' && theirs[ETH_SRC] !== macText(fr.data, 6)) {
          note('tshark read other bytes for this frame (wiretap guessed a modified pcap record format)');
          continue;
        }
        const held = decoder.lastHeld;
        const view = p ?? (held ? decoder.last : null);
        const mine = view === null ? new Array<string>(FIELDS.length).fill('') : decoderFields(view, held);
        mine[ETH_SRC] = theirs[ETH_SRC];
        res.compared++;
        if (mine.join('\t') === theirs.join('\t')) continue;
        // explain differences
        const dropped = held && fragmentDrops(anomalies) > before;
        const tunnel = p !== null && TUNNEL_PROTOS.has(p.proto);
        const bad: string[] = [];
        for (let i = 0; i < FIELDS.length; i++) {
          if (mine[i] === theirs[i]) continue;
          if (mine[i] === '' && dropped && i >= TCP_SP) { note('overlapping fragments dropped (tshark reassembles them)'); continue; }
          if (mine[i] === '' && tunnel) { note(`tunnel: tshark shows the carried packet's fields (IP protocol ${p!.proto})`); continue; }
          if (i === TCP_FLAGS && mine[i] === '' && p !== null && p.quoted !== null && p.quoted.proto === 6) {
            note('ICMP error quoting TCP: tshark shows the quoted flags');
            continue;
          }
          bad.push(`${FIELDS[i]}: wirecheck '${mine[i]}' tshark '${theirs[i]}'`);
        }
        if (bad.length > 0) {
          const stop = decoder.lastStop ? ` (stop ${JSON.stringify(decoder.lastStop)})` : '';
          res.mismatches.push(`frame ${fr.frameNo}: ${bad.join('; ')}${stop}`);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    note(`reader stopped: ${e.code}`);
  }
  if (unsupportedFrames > 0) {
    const a = anomalies.list().find((x) => x.layer === 'link' && x.code === 'UNSUPPORTED_LINKTYPE');
    assert.equal(a?.count, unsupportedFrames, 'link/UNSUPPORTED_LINKTYPE once per frame');
  }
  return res;
}

const publicFiles = existsSync(publicCapturesDir) ? listCaptures(publicCapturesDir) : [];
const files = [...listCaptures(capturesDir), ...publicFiles];

// tshark runs for several files at once (4 in flight, in test order); each test awaits its own
const pending = new Map<string, Promise<Map<number, string[]>>>();
let nextToStart = 0;
let inFlight = 0;
function pump(): void {
  while (inFlight < 4 && nextToStart < files.length) {
    const f = files[nextToStart++];
    if (pending.has(f)) continue;
    inFlight++;
    const pr = tsharkFields(f);
    pending.set(f, pr);
    void pr.finally(() => { inFlight--; pump(); });
  }
}
function tsharkFor(f: string): Promise<Map<number, string[]>> {
  pump();
  let pr = pending.get(f);
  if (pr === undefined) {                      // asked out of order (e.g. a name filter): start it now
    pr = tsharkFields(f);
    pending.set(f, pr);
  }
  return pr;
}

test('interop: there are captures to compare', { skip: need('tshark') }, () => {
  assert.ok(files.length > 0, 'no captures found');
});

test('interop: the public captures are present', { skip: need('public-captures') }, () => {
  assert.ok(publicFiles.length > 0, `no captures in ${publicCapturesDir}`);
});

for (const f of files) {
  const name = f.startsWith(repoRoot) ? relative(repoRoot, f) : relative(publicCapturesDir, f);
  test(`interop: ${name} decodes as tshark reads it`, { skip: need('tshark') }, async (t) => {
    const r = await compareFile(f, tsharkFor(f));
    if (r.skipped !== null) { t.diagnostic(`not readable: ${r.skipped}`); return; }
    for (const [why, n] of r.reasons) t.diagnostic(`${n} x ${why}`);
    t.diagnostic(`${r.compared} of ${r.frames} frames compared`);
    assert.deepEqual(r.mismatches.slice(0, 20), [], `${r.mismatches.length} frames differ`);
  });
}
