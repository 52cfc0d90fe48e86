// The readers against two independent ones, on every capture we have: the repository's
// captures/ (recursively) and the public corpus in ../shared/captures/public.
//
// tshark (Wireshark 4.0) is the oracle: packet count, frame numbers, timestamps to the
// nanosecond, captured and original lengths; where tshark reports damage after N frames,
// wirecheck hands out the same N frames and stops with an anomaly; a file tshark refuses
// outright, wirecheck refuses with a CaptureError (or, where it reads the file header, stops
// before the first frame with an anomaly).
//
// pcap-parser (a plain classic-µs-pcap reader) must yield identical records (header fields
// and bytes) for every classic µs pcap of the corpus.
//
// Deliberate differences, each with its reason:
// - Frame.ifIndex is file-global (interfaces of earlier sections counted); tshark 4.0 prints
//   the section-local id. Interface ids are compared for single-section files only.
// - A pcap fraction of a second >= 1 s (tcpdump__timestamp_invalid_*): tshark prints the raw,
//   unnormalised field ("1418145370.1000000000", and as a negative int32 above 2^31); wirecheck
//   carries it into the seconds. Compared as the same instant.
// - DIFFERENCES below: files where tshark's behaviour is not what wirecheck should do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { basename, join, relative } from 'node:path';
import { capturesDir, need, publicCapturesDir, repoRoot } from '../helpers/env.js';
import { readPath, type ReadResult } from '../source/read-all.js';

interface TsharkRecord {
  no: number;
  epoch: string;
  ifid: string;
  capLen: number;
  len: number;
  encap: string;
}

interface TsharkRun {
  rc: number | null;
  records: TsharkRecord[];
  stderr: string;
  timedOut: boolean;
}

const CAPTURE_EXT = /\.(pcap|pcapng|cap|ntar|gz|zst)$/i;

function listCaptures(dir: string, recursive: boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) { if (recursive) out.push(...listCaptures(p, true)); }
    else if (CAPTURE_EXT.test(e)) out.push(p);
  }
  return out;
}

function runTshark(file: string, timeoutMs = 30000): Promise<TsharkRun> {
  return new Promise((resolve) => {
    const p = spawn('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'separator=/t',
      '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'frame.interface_id',
      '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.encap_type'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; p.kill('SIGKILL'); }, timeoutMs);
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('close', (rc) => {
      clearTimeout(timer);
      const records = Buffer.concat(out).toString().split('\n').filter((l) => l.length > 0).map((l) => {
        const [no, epoch, ifid, cap, len, encap] = l.split('\t');
        return { no: Number(no), epoch, ifid, capLen: Number(cap), len: Number(len), encap: encap ?? '' };
      });
      resolve({ rc, records, stderr: Buffer.concat(err).toString().replace(/^Running as user.*\n/m, ''), timedOut });
    });
  });
}

/** tshark's frame.time_epoch as nanoseconds since the epoch (see the file comment for >9 digits). */
function epochNs(s: string): bigint {
  const m = /^(-?)(\d+)\.(\d+)$/.exec(s);
  if (!m) throw new Error(`unexpected frame.time_epoch ${s}`);
  const [, sign, int, frac] = m;
  if (frac.length > 9) return BigInt(int) * 1000000000n + BigInt(frac);   // unnormalised raw field
  const v = BigInt(int) * 1000000000n;
  return sign === '-' ? -v + BigInt(frac.padEnd(9, '0')) : v + BigInt(frac.padEnd(9, '0'));
}

interface Difference {
  reason: string;
  check(ours: ReadResult, ts: TsharkRun): void;
}

const DIFFERENCES: Record<string, Difference> = {
  'libpcap__linktype-reserved-field-not-zero.pcap': {
    reason: 'tshark refuses a pcap whose linktype field has reserved bits set; wirecheck masks the field to its ' +
      'low 16 bits (the LINKTYPE; the upper bits are FCS length / reserved) and reads the file (no packets in it)',
    check(ours, ts) {
      assert.notEqual(ts.rc, 0);
      assert.equal(ours.error, null);
      assert.equal(ours.frames.length, 0);
      assert.deepEqual(ours.info?.linkTypes, [0]);
    },
  },
  'suricata-verify__bug-6875-01-fuzz.pcap': {
    reason: 'the second record header is garbage (incl_len 1409179648); tshark then guesses a 1999-era pcap variant ' +
      '(other record header sizes) and reads a bogus frame 2 before failing; wirecheck does not guess: it stops at ' +
      'frame 2 with pcap/BAD_RECORD_LENGTH',
    check(ours, ts) {
      assert.notEqual(ts.rc, 0);
      assert.equal(ours.frames.length, 1);
      assert.equal(BigInt(ours.frames[0].tsSec) * 1000000000n + BigInt(ours.frames[0].tsNsec), epochNs(ts.records[0].epoch));
      assert.deepEqual(ours.anomalies.map((a) => `${a.layer}/${a.code}@${a.firstFrame}`), ['pcap/BAD_RECORD_LENGTH@2']);
    },
  },
  'tcpdump__timestamp_invalid_micro.pcap': {
    reason: 'record 3 has ts_usec = 2147483648; tshark multiplies it by 1000 in 32 bits and prints .000000000; ' +
      'wirecheck carries the 2147.483648 s into the seconds (the same rule as for records 1 and 2, which agree)',
    check(ours, ts) {
      assert.equal(ts.rc, 0);
      assert.equal(ours.frames.length, 3);
      for (let i = 0; i < 2; i++) {
        assert.equal(BigInt(ours.frames[i].tsSec) * 1000000000n + BigInt(ours.frames[i].tsNsec), epochNs(ts.records[i].epoch));
      }
      assert.deepEqual([ours.frames[2].tsSec, ours.frames[2].tsNsec], [1418145370 + 2147, 483648000]);
      assert.equal(ours.info?.truncated, false);
    },
  },
};

function compare(file: string, ours: ReadResult, ts: TsharkRun): void {
  const name = basename(file);
  assert.ok(!ts.timedOut, 'tshark timed out');
  const diff = DIFFERENCES[name];
  if (diff) {
    diff.check(ours, ts);
    return;
  }
  const packets = ts.records.filter((r) => r.encap !== '');
  const refused = ts.rc !== 0 && ts.records.length === 0;
  if (ours.error) {
    assert.ok(refused, `wirecheck refused (${ours.error.code}) a file tshark read: ${ts.stderr}`);
    if (/isn't a capture file/.test(ts.stderr)) assert.equal(ours.error.code, 'NOT_A_CAPTURE');
    if (/unknown SHB version|version \d+ unsupported/.test(ts.stderr)) assert.equal(ours.error.code, 'UNSUPPORTED_VERSION');
    return;
  }
  assert.ok(!/isn't a capture file/.test(ts.stderr), 'tshark says this is not a capture file');
  assert.equal(ours.frames.length, packets.length, `packet count (tshark: ${ts.stderr.trim() || 'clean'})`);
  const singleSection = (ours.info?.sections ?? 1) <= 1;
  for (let i = 0; i < packets.length; i++) {
    const t = packets[i];
    const f = ours.frames[i];
    const at = `frame ${t.no}`;
    assert.equal(f.frameNo, t.no, `${at}: frame number`);
    assert.equal(f.capLen, t.capLen, `${at}: captured length`);
    assert.equal(f.origLen, t.len, `${at}: original length`);
    if (t.epoch === '') {
      assert.equal(f.noTimestamp, true, `${at}: tshark shows no timestamp`);
    } else {
      assert.equal(f.noTimestamp, false, `${at}: has a timestamp`);
      assert.equal(BigInt(f.tsSec) * 1000000000n + BigInt(f.tsNsec), epochNs(t.epoch), `${at}: timestamp ${f.tsSec}.${f.tsNsec} vs ${t.epoch}`);
    }
    if (singleSection && t.ifid !== '') assert.equal(f.ifIndex, Number(t.ifid), `${at}: interface`);
  }
  // non-packet records tshark numbers (custom blocks, ...) leave the same gaps in our numbering
  const lastRecord = ts.records.length > 0 ? ts.records[ts.records.length - 1].no : 0;
  if (ts.rc === 0) {
    assert.equal(ours.info?.truncated, false, `tshark read it cleanly; wirecheck reported ${JSON.stringify(ours.anomalies)}`);
    assert.equal((ours.info?.otherRecords ?? 0) + ours.frames.length, lastRecord, 'records numbered as frames');
  } else {
    assert.equal(ours.info?.truncated, true, `tshark stopped (${ts.stderr.trim()}); wirecheck must stop with an anomaly`);
    const stop = ours.anomalies.find((a) => a.code === 'TRUNCATED' || a.code.startsWith('BAD_') || a.code === 'UNSUPPORTED_VERSION' || a.code === 'CAPLEN_TOO_LARGE');
    assert.ok(stop, `a stopping anomaly: ${JSON.stringify(ours.anomalies)}`);
    assert.equal(stop.firstFrame, lastRecord + 1, 'the anomaly names the frame after the last good one');
    if (/cut short/.test(ts.stderr)) assert.equal(`${stop.layer}/${stop.code}`, 'capture/TRUNCATED');
  }
}

async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** tshark and wirecheck on the same file, back to back (again if the file changed meanwhile). */
async function bothReaders(file: string): Promise<{ ts: TsharkRun; ours: ReadResult }> {
  const stamp = () => { const st = statSync(file); return `${st.size}/${st.mtimeMs}`; };
  for (let attempt = 0; ; attempt++) {
    const before = stamp();
    const ts = await runTshark(file, 120000);
    const ours = await readPath(file);
    if (stamp() === before || attempt === 2) return { ts, ours };
  }
}

function corpus(): string[] {
  return [...listCaptures(capturesDir, true), ...(existsSync(publicCapturesDir) ? listCaptures(publicCapturesDir, false) : [])];
}

test('tshark agrees with wirecheck on every capture (count, frame numbers, ns timestamps, lengths, damage)',
  // about 30 s on an idle 2-core machine (tshark starts in ~0.4 s CPU per file); the timeout
  // leaves room for a busy one
  { skip: need('tshark') || need('public-captures'), timeout: 900000 }, async (t) => {
    const files = corpus();
    assert.ok(files.length > 100, `only ${files.length} captures found`);
    const runs = await pool(files, Math.max(2, availableParallelism()), (f) => bothReaders(f));
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      const shown = file.startsWith(repoRoot) ? relative(repoRoot, file) : basename(file);
      await t.test(shown, () => compare(file, runs[i].ours, runs[i].ts));
    }
  });

// ---------------------------------------------------------------------------------------
// pcap-parser

interface PcapParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as { parse(input: NodeJS.ReadableStream): NodeJS.EventEmitter };

function parseWithPcapParser(file: string): Promise<PcapParserPacket[]> {
  return new Promise((resolve) => {
    const packets: PcapParserPacket[] = [];
    const stream = createReadStream(file);
    const p = pcapParser.parse(stream);
    let done = false;
    const finish = () => { if (!done) { done = true; stream.destroy(); resolve(packets); } };
    p.on('packet', (pk: PcapParserPacket) => packets.push({ header: { ...pk.header }, data: Buffer.from(pk.data) }));
    p.on('end', finish);
    p.on('error', finish);
  });
}

function isClassicMicrosecondPcap(file: string): boolean {
  const b = readFileSync(file).subarray(0, 24);
  if (b.length < 24) return false;
  const m = b.readUInt32LE(0);
  if (m !== 0xa1b2c3d4 && m !== 0xd4c3b2a1) return false;
  const major = m === 0xa1b2c3d4 ? b.readUInt16LE(4) : b.readUInt16BE(4);
  return major === 2;
}

test('pcap-parser yields the same records for every classic µs pcap', { skip: need('public-captures') }, async (t) => {
  const files = corpus().filter((f) => !/\.(gz|zst)$/.test(f) && isClassicMicrosecondPcap(f));
  assert.ok(files.length > 50, `only ${files.length} classic µs pcaps`);
  for (const file of files) {
    await t.test(basename(file), async () => {
      const ref = await parseWithPcapParser(file);
      const ours = await readPath(file);
      assert.equal(ours.error, null);
      assert.equal(ours.frames.length, ref.length, 'record count');
      for (let i = 0; i < ref.length; i++) {
        const h = ref[i].header;
        const f = ours.frames[i];
        const us = BigInt(h.timestampSeconds) * 1000000n + BigInt(h.timestampMicroseconds);
        assert.equal(BigInt(f.tsSec) * 1000000n + BigInt(f.tsNsec / 1000), us, `record ${i + 1}: time`);
        assert.equal(f.tsNsec % 1000, 0);
        assert.equal(f.capLen, h.capturedLength, `record ${i + 1}: incl_len`);
        assert.equal(f.origLen, h.originalLength, `record ${i + 1}: orig_len`);
        assert.ok(f.data.equals(ref[i].data), `record ${i + 1}: bytes`);
      }
    });
  }
});
