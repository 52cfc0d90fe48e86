// PcapWriter / PcapngWriter: round trips through two independent readers (tshark for every
// format, pcap-parser for classic µs pcap), plus exact byte layout of the headers, the
// stream path with backpressure, and the 64-bit nanosecond timestamp split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { PcapWriter, PcapngWriter, type FrameToWrite } from '../../src/source/writer.js';
import { need } from '../helpers/env.js';

const require = createRequire(import.meta.url);

/** deterministic PRNG (mulberry32) */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TestFrame extends FrameToWrite { origLen: number; linkType: number; ifIndex: number }

/**
 * Frames of random sizes (1..1600 bytes, one of 70 000 bytes to overflow the chunk) with
 * increasing timestamps that use every nanosecond digit; with `mixed`, every third frame is a
 * raw-IP frame on interface 1.
 */
function makeFrames(n: number, seed: number, mixed: boolean): TestFrame[] {
  const r = rng(seed);
  const out: TestFrame[] = [];
  let sec = 1_700_000_000, nsec = 123_456_789;
  for (let i = 0; i < n; i++) {
    const len = i === 7 ? 70_000 : 1 + Math.floor(r() * 1600);
    const data = Buffer.allocUnsafe(len);
    for (let k = 0; k < len; k++) data[k] = Math.floor(r() * 256);
    const truncated = i % 5 === 3;
    const raw = mixed && i % 3 === 2;
    out.push({ tsSec: sec, tsNsec: nsec, data, origLen: truncated ? len + 1 + Math.floor(r() * 100) : len,
      linkType: raw ? 101 : 1, ifIndex: raw ? 1 : 0 });
    nsec += Math.floor(r() * 2e9);
    sec += Math.floor(nsec / 1e9);
    nsec %= 1e9;
  }
  return out;
}

interface TsharkFrame { epoch: string; len: number; capLen: number; ifId: number; raw: string }

function tsharkRead(file: string): TsharkFrame[] {
  const r = spawnSync('tshark', ['-n', '-r', file, '-T', 'json', '-x', '-j', 'frame'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const pkts = JSON.parse(r.stdout) as { _source: { layers: Record<string, unknown> } }[];
  return pkts.map((p) => {
    const l = p._source.layers;
    const f = l.frame as Record<string, string>;
    return { epoch: f['frame.time_epoch'], len: Number(f['frame.len']), capLen: Number(f['frame.cap_len']),
      ifId: Number(f['frame.interface_id'] ?? 0), raw: (l.frame_raw as string[])[0] };
  });
}

/** "1700000000.123456789" -> [sec, nsec] */
function parseEpoch(s: string): [number, number] {
  const [a, b = ''] = s.split('.');
  return [Number(a), Number((b + '000000000').slice(0, 9))];
}

function checkAgainstTshark(file: string, frames: TestFrame[], precision: 'us' | 'ns', ifIdOf: (f: TestFrame) => number): void {
  const got = tsharkRead(file);
  assert.equal(got.length, frames.length, 'packet count');
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i], g = got[i];
    const [s, ns] = parseEpoch(g.epoch);
    const wantNs = precision === 'ns' ? f.tsNsec : Math.floor(f.tsNsec / 1000) * 1000;
    assert.deepEqual([s, ns], [f.tsSec, wantNs], `frame ${i + 1} timestamp`);
    assert.equal(g.capLen, f.data.length, `frame ${i + 1} cap_len`);
    assert.equal(g.len, f.origLen, `frame ${i + 1} len`);
    assert.equal(g.ifId, ifIdOf(f), `frame ${i + 1} interface`);
    assert.equal(g.raw, Buffer.from(f.data).toString('hex'), `frame ${i + 1} bytes`);
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'wirecheck-writer-'));
}

test('pcap µs: global header layout', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'h.pcap');
    const w = PcapWriter.openSync(f, { linkType: 276, snaplen: 65535 });
    w.writeSync({ tsSec: 1, tsNsec: 999_999_999, data: Buffer.from([0xab, 0xcd]), origLen: 9 });
    w.closeSync();
    const b = readFileSync(f);
    assert.equal(b.toString('hex'),
      'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '14010000' +
      '01000000' + '3f420f00' + '02000000' + '09000000' + 'abcd');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('pcap ns: magic and nanosecond field', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'h.pcap');
    const w = PcapWriter.openSync(f, { precision: 'ns' });
    w.writeSync({ tsSec: 2, tsNsec: 999_999_999, data: Buffer.from([1]) });
    w.closeSync();
    const b = readFileSync(f);
    assert.equal(b.readUInt32LE(0), 0xa1b23c4d);
    assert.equal(b.readUInt32LE(20), 1);
    assert.equal(b.readUInt32LE(24), 2);
    assert.equal(b.readUInt32LE(28), 999_999_999);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('pcap writer refuses a second link type and bad timestamps', () => {
  const dir = tmp();
  try {
    const w = PcapWriter.openSync(join(dir, 'x.pcap'));
    assert.throws(() => w.writeSync({ tsSec: 0, tsNsec: 0, data: Buffer.alloc(1), linkType: 101 }), /link type 101/);
    assert.throws(() => w.writeSync({ tsSec: -1, tsNsec: 0, data: Buffer.alloc(1) }), RangeError);
    assert.throws(() => w.writeSync({ tsSec: 0, tsNsec: 1e9, data: Buffer.alloc(1) }), RangeError);
    w.closeSync();
    assert.throws(() => w.writeSync({ tsSec: 0, tsNsec: 0, data: Buffer.alloc(1) }), /after close/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('pcapng: SHB userappl, IDB per interface and link type, EPB timestamp split', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'h.pcapng');
    const w = PcapngWriter.openSync(f, { interfaces: [{ linkType: 1, name: 'eth0' }] });
    // 2^32 ns boundary and a far date: the 64-bit unit count must be exact
    const stamps: [number, number][] = [[4, 294_967_295], [4, 294_967_296], [4_000_000_000, 999_999_999]];
    for (const [s, ns] of stamps) w.writeSync({ tsSec: s, tsNsec: ns, data: Buffer.from([1, 2, 3]) });
    w.writeSync({ tsSec: 5, tsNsec: 0, data: Buffer.from([4]), linkType: 101 });
    w.closeSync();
    assert.equal(w.interfaceCount, 2);
    const b = readFileSync(f);
    assert.equal(b.readUInt32LE(0), 0x0a0d0d0a);
    const shbLen = b.readUInt32LE(4);
    assert.equal(b.readUInt32LE(8), 0x1a2b3c4d);
    assert.equal(b.readUInt16LE(24), 4);                       // shb_userappl
    assert.equal(b.toString('utf8', 28, 28 + b.readUInt16LE(26)), 'wirecheck');
    assert.equal(b.readUInt32LE(shbLen - 4), shbLen);
    let p = shbLen;
    const epbs: { id: number; units: bigint }[] = [];
    const idbs: { lt: number; resol: number; name: string }[] = [];
    while (p < b.length) {
      const type = b.readUInt32LE(p), len = b.readUInt32LE(p + 4);
      assert.equal(b.readUInt32LE(p + len - 4), len, 'trailing block length');
      if (type === 1) {
        let o = p + 16, resol = 6, name = '';
        for (;;) {
          const code = b.readUInt16LE(o), ol = b.readUInt16LE(o + 2);
          if (code === 0) break;
          if (code === 9) resol = b[o + 4];
          if (code === 2) name = b.toString('utf8', o + 4, o + 4 + ol);
          o += 4 + ((ol + 3) & ~3);
        }
        idbs.push({ lt: b.readUInt16LE(p + 8), resol, name });
      } else if (type === 6) {
        epbs.push({ id: b.readUInt32LE(p + 8), units: (BigInt(b.readUInt32LE(p + 12)) << 32n) | BigInt(b.readUInt32LE(p + 16)) });
      }
      p += len;
    }
    assert.deepEqual(idbs, [{ lt: 1, resol: 9, name: 'eth0' }, { lt: 101, resol: 9, name: 'eth0' }]);
    assert.deepEqual(epbs.map((e) => e.id), [0, 0, 0, 1]);
    assert.deepEqual(epbs.slice(0, 3).map((e) => e.units), stamps.map(([s, ns]) => BigInt(s) * 1_000_000_000n + BigInt(ns)));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

for (const precision of ['us', 'ns'] as const) {
  test(`pcap ${precision}: tshark reads back every frame (count, timestamps, lengths, bytes)`, { skip: need('tshark') }, () => {
    const dir = tmp();
    try {
      const frames = makeFrames(120, precision === 'us' ? 1 : 2, false);
      const f = join(dir, `rt-${precision}.pcap`);
      const w = PcapWriter.openSync(f, { precision, chunkSize: 4096 });
      for (const fr of frames) w.writeSync(fr);
      w.closeSync();
      assert.equal(w.frames, 120);
      checkAgainstTshark(f, frames, precision, () => 0);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  test(`pcapng ${precision}: tshark reads back two interfaces with different link types`, { skip: need('tshark') }, () => {
    const dir = tmp();
    try {
      const frames = makeFrames(120, precision === 'us' ? 3 : 4, true);
      const f = join(dir, `rt-${precision}.pcapng`);
      const w = PcapngWriter.openSync(f, { precision, chunkSize: 4096, interfaces: [{ linkType: 1, name: 'veth0' }, { linkType: 101, name: 'tun0' }] });
      for (const fr of frames) w.writeSync(fr);
      w.closeSync();
      checkAgainstTshark(f, frames, precision, (fr) => fr.ifIndex);
      const names = spawnSync('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.interface_name', '-c', '3'], { encoding: 'utf8' });
      assert.deepEqual(names.stdout.trim().split('\n'), ['veth0', 'veth0', 'tun0']);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
}

test('pcap µs: pcap-parser (independent reader) agrees', async () => {
  const dir = tmp();
  try {
    const frames = makeFrames(60, 5, false);
    const f = join(dir, 'pp.pcap');
    const w = PcapWriter.openSync(f);
    for (const fr of frames) w.writeSync(fr);
    w.closeSync();
    const pcapp = require('pcap-parser') as { parse(p: string): NodeJS.EventEmitter };
    const got: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }[] = [];
    await new Promise<void>((resolve, reject) => {
      const p = pcapp.parse(f);
      p.on('packet', (pk: (typeof got)[number]) => got.push({ header: { ...pk.header }, data: Buffer.from(pk.data) }));
      p.on('end', () => resolve());
      p.on('error', reject);
    });
    assert.equal(got.length, frames.length);
    got.forEach((g, i) => {
      assert.equal(g.header.timestampSeconds, frames[i].tsSec);
      assert.equal(g.header.timestampMicroseconds, Math.floor(frames[i].tsNsec / 1000));
      assert.equal(g.header.capturedLength, frames[i].data.length);
      assert.equal(g.header.originalLength, frames[i].origLen);
      assert.ok(g.data.equals(Buffer.from(frames[i].data)), `frame ${i + 1} bytes`);
    });
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

/** A Writable that accepts little and completes each write later: forces backpressure. */
class SlowSink extends Writable {
  readonly chunks: Buffer[] = [];
  constructor() { super({ highWaterMark: 1024 }); }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    setTimeout(cb, 1);
  }
}

for (const kind of ['pcap', 'pcapng'] as const) {
  test(`${kind} on a stream: waits for drain and writes the same bytes as the sync file path`, async () => {
    const dir = tmp();
    try {
      const frames = makeFrames(200, 6, kind === 'pcapng');
      const sink = new SlowSink();
      const opts = { chunkSize: 4096, precision: 'ns' as const };
      const sw = kind === 'pcap' ? new PcapWriter(sink, opts) : new PcapngWriter(sink, opts);
      let waits = 0;
      let maxBuffered = 0;
      for (const fr of frames) {
        const pending = sw.write(kind === 'pcap' ? { ...fr, linkType: 1 } : fr);
        if (pending) { waits++; await pending; }
        maxBuffered = Math.max(maxBuffered, sink.writableLength);
      }
      await sw.close();
      assert.ok(waits > 0, 'the writer never waited for drain');
      // buffered bytes never exceed the high-water mark by more than one chunk (+ the big frame)
      assert.ok(maxBuffered <= 1024 + 4096 + 70_100, `stream buffered ${maxBuffered} bytes`);
      assert.ok(sink.writableFinished, 'stream ended');
      const f = join(dir, `sync.${kind}`);
      const fw = kind === 'pcap' ? PcapWriter.openSync(f, opts) : PcapngWriter.openSync(f, opts);
      for (const fr of frames) fw.writeSync(kind === 'pcap' ? { ...fr, linkType: 1 } : fr);
      fw.closeSync();
      const viaStream = Buffer.concat(sink.chunks);
      assert.equal(viaStream.length, fw.bytesWritten);
      assert.ok(viaStream.equals(readFileSync(f)), 'stream and file outputs differ');
      assert.equal(sw.bytesWritten, viaStream.length);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
}

test('stream error while waiting for drain rejects the write', async () => {
  const sink = new Writable({
    highWaterMark: 16,
    write(_c, _e, cb) { setTimeout(() => cb(new Error('disk full')), 1); },
  });
  sink.on('error', () => { /* observed through the writer */ });
  const w = new PcapWriter(sink, { chunkSize: 4096 });
  const big = Buffer.alloc(5000);
  await assert.rejects(async () => {
    for (let i = 0; i < 10; i++) await w.write({ tsSec: 1, tsNsec: 0, data: big });
  }, /disk full|closed before drain/);
});
