// Damaged input: truncation sweeps over real captures, impossible lengths, inputs that are not
// captures, and random mutations (fast-check). The reader must hand out every good frame, then
// say what went wrong as an anomaly -- never throw anything but a CaptureError from open,
// never allocate what a length field claims, never hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { need, publicCapturesDir } from '../helpers/env.js';
import {
  buildPcap, buildPcapng, buildPcapngBlocks, gzip, hasZstdCli, packetBytes, zstdCli, type NgSection,
} from '../helpers/capture-builder.js';
import { codes, readBuffer, readPath, type ReadResult } from './read-all.js';

const CAPTURE_ERROR_CODES = ['NOT_A_CAPTURE', 'EMPTY_FILE', 'UNSUPPORTED_VERSION'];

/** Independent walk of a well-formed capture: header end, and the end offset of every record (packet or not). */
function layout(buf: Buffer): { headerEnd: number; records: { end: number; packet: boolean }[] } {
  const m = buf.readUInt32LE(0);
  if (m === 0x0a0d0d0a) {
    const records: { end: number; packet: boolean }[] = [];
    let le = true;
    let off = 0;
    let headerEnd = 0;
    while (off < buf.length) {
      let type = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      if (type === 0x0a0d0d0a) le = buf.readUInt32LE(off + 8) === 0x1a2b3c4d;
      type = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      const len = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      off += len;
      if (headerEnd === 0) headerEnd = off;
      else records.push({ end: off, packet: type === 6 || type === 3 || type === 2 });
    }
    return { headerEnd, records };
  }
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  const records: { end: number; packet: boolean }[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const incl = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
    off += 16 + incl;
    records.push({ end: off, packet: true });
  }
  return { headerEnd: 24, records };
}

function checkCut(full: ReadResult, buf: Buffer, c: number, r: ReadResult, lay: ReturnType<typeof layout>): void {
  const where = `cut at ${c} of ${buf.length}`;
  if (c === 0) {
    assert.equal(r.error?.code, 'EMPTY_FILE', where);
    return;
  }
  if (c < lay.headerEnd) {
    assert.equal(r.error?.code, 'NOT_A_CAPTURE', where);
    return;
  }
  assert.equal(r.error, null, where);
  const complete = lay.records.filter((x) => x.end <= c);
  const nFrames = complete.filter((x) => x.packet).length;
  const atBoundary = c === lay.headerEnd || lay.records.some((x) => x.end === c);
  assert.equal(r.frames.length, nFrames, where);
  for (let i = 0; i < nFrames; i++) {
    const a = r.frames[i];
    const b = full.frames[i];
    assert.ok(a.frameNo === b.frameNo && a.tsSec === b.tsSec && a.tsNsec === b.tsNsec && a.data.equals(b.data), `${where}: frame ${i + 1}`);
  }
  assert.deepEqual(codes(r), atBoundary ? [] : ['capture/TRUNCATED'], where);
  assert.equal(r.info?.truncated, !atBoundary, where);
  // pcap: the anomaly names the frame that was cut (pcapng may number other records too)
  if (!atBoundary && full.info?.format === 'pcap') assert.equal(r.anomalies[0].firstFrame, nFrames + 1, where);
}

async function sweep(name: string, offsets: Iterable<number>): Promise<number> {
  const buf = readFileSync(join(publicCapturesDir, name));
  const full = await readBuffer(buf);
  assert.equal(full.error, null);
  assert.deepEqual(codes(full), []);
  const lay = layout(buf);
  assert.equal(lay.records[lay.records.length - 1].end, buf.length, 'reference walk reaches the end');
  let n = 0;
  for (const c of offsets) {
    const r = await readBuffer(buf.subarray(0, c));
    checkCut(full, buf, c, r, lay);
    n++;
  }
  return n;
}

function* every(n: number): Generator<number> {
  for (let i = 0; i <= n; i++) yield i;
}

function* seeded(n: number, max: number, seed: number): Generator<number> {
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    yield x % (max + 1);
  }
}

test('truncation sweep: every byte offset of a 63 KiB pcap', { skip: need('public-captures') }, async () => {
  const name = 'zeek__http-connect-with-header.pcap';
  const size = readFileSync(join(publicCapturesDir, name)).length;
  assert.ok(size <= 64 * 1024);
  assert.equal(await sweep(name, every(size)), size + 1);
});

test('truncation sweep: every byte offset of a multi-interface pcapng', { skip: need('public-captures') }, async () => {
  const name = 'zeek__ldap-gap-data-missing.pcapng';
  const size = readFileSync(join(publicCapturesDir, name)).length;
  assert.equal(await sweep(name, every(size)), size + 1);
});

test('truncation sweep: 2000 seeded offsets of a 2.9 MB pcap', { skip: need('public-captures') }, async () => {
  const name = 'pcapplusplus__example2.pcap';
  const size = readFileSync(join(publicCapturesDir, name)).length;
  assert.equal(await sweep(name, seeded(2000, size, 20260401)), 2000);
});

test('truncation of a crafted multi-section pcapng at every offset, fed in small pieces', async () => {
  const sections: NgSection[] = [
    { blocks: [{ kind: 'idb', linkType: 1 }, { kind: 'epb', ifid: 0, ticks: 1n, data: packetBytes(70, 1) },
      { kind: 'custom' }, { kind: 'spb', data: packetBytes(33, 2) }, { kind: 'unknown', body: packetBytes(3000, 9) }] },
    { byteOrder: 'be', blocks: [{ kind: 'idb', linkType: 113, tsresol: 9 }, { kind: 'pb', ifid: 0, ticks: 5n, data: packetBytes(9, 3) },
      { kind: 'nrb' }, { kind: 'epb', ifid: 0, ticks: 7n, data: packetBytes(200, 4) }] },
  ];
  const buf = buildPcapng(sections);
  const full = await readBuffer(buf);
  const lay = layout(buf);
  for (let c = 0; c <= buf.length; c++) {
    const r = await readBuffer(buf.subarray(0, c), [5, 1, 64]);
    const where = `cut at ${c}`;
    if (c < lay.headerEnd) { assert.equal(r.error?.code, c === 0 ? 'EMPTY_FILE' : 'NOT_A_CAPTURE', where); continue; }
    const nFrames = lay.records.filter((x) => x.end <= c && x.packet).length;
    assert.equal(r.frames.length, nFrames, where);
    assert.deepEqual(r.frames.map((f) => f.frameNo), full.frames.slice(0, nFrames).map((f) => f.frameNo), where);
    const atBoundary = lay.records.some((x) => x.end === c) || c === lay.headerEnd;
    assert.deepEqual(codes(r), atBoundary ? [] : ['capture/TRUNCATED'], where);
  }
});

test('truncated gzip / zstd: the frames decompressed, then capture/TRUNCATED', async () => {
  const pk = Array.from({ length: 200 }, (_, i) => ({ sec: 1000 + i, frac: i, data: packetBytes(300 + i, i) }));
  const pc = buildPcap({}, pk);
  const z = gzip(pc);
  for (const c of seeded(60, z.length - 1, 7)) {
    const r = await readBuffer(z.subarray(0, c), 4096);
    if (r.error) { assert.ok(CAPTURE_ERROR_CODES.includes(r.error.code), `gzip cut ${c}`); continue; }
    assert.deepEqual(codes(r), ['capture/TRUNCATED'], `gzip cut ${c}`);
    assert.equal(r.info?.truncated, true);
    assert.ok(r.frames.length < 200);
    r.frames.forEach((f, i) => assert.ok(f.data.equals(pk[i].data)));
  }
  const zs = zstdCli(pc);
  if (zs) {
    for (const c of seeded(60, zs.length - 1, 8)) {
      const r = await readBuffer(zs.subarray(0, c), 4096);
      if (r.error) { assert.ok(CAPTURE_ERROR_CODES.includes(r.error.code), `zstd cut ${c}`); continue; }
      assert.deepEqual(codes(r), ['capture/TRUNCATED'], `zstd cut ${c}`);
      r.frames.forEach((f, i) => assert.ok(f.data.equals(pk[i].data)));
    }
  }
});

test('corrupt gzip data: frames before it, then gzip/CORRUPT', async () => {
  const pk = Array.from({ length: 50 }, (_, i) => ({ sec: 1000 + i, frac: i, data: packetBytes(2000, i) }));
  const z = gzip(buildPcap({}, pk));
  const bad = Buffer.from(z);
  for (let i = Math.floor(z.length * 0.7); i < Math.floor(z.length * 0.7) + 64; i++) bad[i] ^= 0x5a;
  const r = await readBuffer(bad, 1024);
  assert.equal(r.error, null);
  assert.ok(r.frames.length > 0 && r.frames.length < 50, `${r.frames.length}`);
  assert.ok(codes(r).includes('gzip/CORRUPT'), codes(r).join());
  assert.equal(r.info?.truncated, true);
});

// ---------------------------------------------------------------------------------------
// impossible lengths

function arrayBufferGrowth<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const before = process.memoryUsage().arrayBuffers;
  return fn().then((v) => [v, process.memoryUsage().arrayBuffers - before]);
}

test('pcap: incl_len beyond max(snaplen, 262144) stops with pcap/BAD_RECORD_LENGTH, nothing allocated', async () => {
  const good = [{ sec: 1, frac: 1, data: packetBytes(100, 1) }, { sec: 2, frac: 2, data: packetBytes(100, 2) }];
  for (const incl of [0xffffffff, 0x10000000, 262145, 70000 + 262144]) {
    const buf = Buffer.concat([buildPcap({ snaplen: 65535 }, good), buildPcap({}, [{ sec: 3, frac: 3, data: packetBytes(64, 3), inclLen: incl }]).subarray(24)]);
    const [r, grew] = await arrayBufferGrowth(() => readBuffer(buf, [1000, 3]));
    assert.equal(r.frames.length, 2, `incl ${incl}`);
    assert.deepEqual(codes(r), ['pcap/BAD_RECORD_LENGTH']);
    assert.equal(r.anomalies[0].firstFrame, 3);
    assert.equal(r.info?.truncated, true);
    assert.ok(grew < 32 * 1024 * 1024, `grew ${grew}`);
  }
  // a snap length above 262144 raises the bound (as libpcap does)
  const big = buildPcap({ snaplen: 400000 }, [{ sec: 1, frac: 1, data: packetBytes(300000, 1) }]);
  const r = await readBuffer(big, 65536);
  assert.equal(r.frames.length, 1);
  assert.equal(r.frames[0].capLen, 300000);
  assert.deepEqual(codes(r), []);
});

function damagedPcapng(mutate: (blocks: Buffer[]) => void, sections?: NgSection[]): Buffer {
  const blocks = buildPcapngBlocks(sections ?? [{ blocks: [
    { kind: 'idb', linkType: 1 },
    { kind: 'epb', ifid: 0, ticks: 1_000_000n, data: packetBytes(60, 1) },
    { kind: 'epb', ifid: 0, ticks: 2_000_000n, data: packetBytes(60, 2) },
    { kind: 'epb', ifid: 0, ticks: 3_000_000n, data: packetBytes(60, 3) },
  ] }]);
  mutate(blocks);
  return Buffer.concat(blocks);
}

test('pcapng: impossible block lengths stop with pcapng/BAD_BLOCK_LENGTH after the good frames', async () => {
  const cases: [string, (b: Buffer[]) => void][] = [
    ['256 MiB', (b) => { b[4].writeUInt32LE(0x10000000, 4); }],
    ['4 GiB - 4', (b) => { b[4].writeUInt32LE(0xfffffffc, 4); }],
    ['8 (< 12)', (b) => { b[4].writeUInt32LE(8, 4); }],
    ['0', (b) => { b[4].writeUInt32LE(0, 4); }],
    ['trailer differs', (b) => { b[4].writeUInt32LE(12345, b[4].length - 4); }],
    ['not a multiple of 4, trailer at the written length', (b) => { b[4] = Buffer.concat([b[4].subarray(0, 4), Buffer.from([90, 0, 0, 0]), b[4].subarray(8, 86), Buffer.from([90, 0, 0, 0])]); b.push(Buffer.from(b[2])); }],
    ['EPB too short for its caplen', (b) => { b[4].writeUInt32LE(61, 20); }],
    ['unknown block with a huge length', (b) => { b.splice(4, 0, Buffer.from([0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0x40, 1, 2, 3, 4])); }],
    ['garbage after the last block', (b) => { b.splice(4, 1, Buffer.alloc(40, 0xff)); }],
  ];
  for (const [what, mutate] of cases) {
    const buf = damagedPcapng(mutate);
    const [r, grew] = await arrayBufferGrowth(() => readBuffer(buf, [4096, 7]));
    assert.equal(r.error, null, what);
    assert.equal(r.frames.length, 2, what);
    assert.deepEqual(codes(r), ['pcapng/BAD_BLOCK_LENGTH'], what);
    assert.equal(r.anomalies[0].firstFrame, 3, what);
    assert.equal(r.info?.truncated, true, what);
    assert.ok(grew < 32 * 1024 * 1024, `${what}: grew ${grew}`);
  }
});

test('pcapng: unknown interface, captured length > 262144, option past the block, later unsupported section, bad byte order', async () => {
  const cases: [string, (b: Buffer[]) => void, string][] = [
    ['interface 5', (b) => { b[4].writeUInt32LE(5, 8); }, 'pcapng/BAD_INTERFACE_ID'],
    ['option past the block', (b) => {
      const e = b[4];
      b[4] = Buffer.concat([e.subarray(0, 4), Buffer.from([e.length + 8, 0, 0, 0]), e.subarray(8, e.length - 4),
        Buffer.from([1, 0, 200, 0, 0, 0, 0, 0]), Buffer.from([e.length + 8, 0, 0, 0])]);
    }, 'pcapng/BAD_OPTION'],
    ['section 2.0', (b) => { b.splice(4, 0, buildPcapngBlocks([{ version: [2, 0], blocks: [] }])[0]); }, 'pcapng/UNSUPPORTED_VERSION'],
    ['section 1.1', (b) => { b.splice(4, 0, buildPcapngBlocks([{ version: [1, 1], blocks: [] }])[0]); }, 'pcapng/UNSUPPORTED_VERSION'],
    ['bad byte-order magic', (b) => { const s = buildPcapngBlocks([{ blocks: [] }])[0]; s.writeUInt32LE(0x11223344, 8); b.splice(4, 0, s); }, 'pcapng/BAD_BYTE_ORDER'],
    ['section without interfaces', (b) => { b.splice(4, 0, buildPcapngBlocks([{ blocks: [] }])[0]); }, 'pcapng/BAD_INTERFACE_ID'],
  ];
  for (const [what, mutate, code] of cases) {
    const r = await readBuffer(damagedPcapng(mutate), 13);
    assert.equal(r.frames.length, 2, what);
    assert.deepEqual(codes(r), [code], what);
    assert.equal(r.info?.truncated, true, what);
  }
  const big = buildPcapng([{ blocks: [{ kind: 'idb', linkType: 1 }, { kind: 'epb', ifid: 0, ticks: 1n, data: packetBytes(10, 1) },
    { kind: 'epb', ifid: 0, ticks: 2n, data: Buffer.alloc(300000) }] }]);
  const r = await readBuffer(big);
  assert.equal(r.frames.length, 1);
  assert.deepEqual(codes(r), ['pcapng/CAPLEN_TOO_LARGE']);
  // an SPB holding more than min(origLen, snaplen): tshark refuses the block too
  const spb = buildPcapngBlocks([{ blocks: [{ kind: 'idb', linkType: 1, snaplen: 20 }, { kind: 'spb', data: packetBytes(60, 1) }] }]);
  const fat = Buffer.concat([spb[0], spb[1], Buffer.from([3, 0, 0, 0, 80, 0, 0, 0, 60, 0, 0, 0]), packetBytes(64, 2), Buffer.from([80, 0, 0, 0])]);
  const rs = await readBuffer(fat);
  assert.equal(rs.frames.length, 0);
  assert.deepEqual(codes(rs), ['pcapng/BAD_BLOCK_LENGTH']);
});

test('pcapng: captured length > original length keeps the frame', async () => {
  const r = await readBuffer(buildPcapng([{ blocks: [{ kind: 'idb', linkType: 1 }, { kind: 'epb', ifid: 0, ticks: 1n, data: packetBytes(60, 1), origLen: 40 }] }]));
  assert.equal(r.frames.length, 1);
  assert.deepEqual(codes(r), ['pcapng/CAPLEN_GT_ORIGLEN']);
  assert.equal(r.info?.truncated, false);
});

// ---------------------------------------------------------------------------------------
// not a capture

test('inputs that are not captures: CaptureError from open with a stable code', async () => {
  const cases: [string, Buffer, string][] = [
    ['empty', Buffer.alloc(0), 'EMPTY_FILE'],
    ['text', Buffer.from('this is not a valid pcap file.'), 'NOT_A_CAPTURE'],
    ['3 bytes', Buffer.from([0xd4, 0xc3, 0xb2]), 'NOT_A_CAPTURE'],
    ['pcap magic only', buildPcap({}, []).subarray(0, 4), 'NOT_A_CAPTURE'],
    ['pcap header cut at 23', buildPcap({}, []).subarray(0, 23), 'NOT_A_CAPTURE'],
    ['pcapng SHB cut', buildPcapng([{ blocks: [] }]).subarray(0, 20), 'NOT_A_CAPTURE'],
    ['pcapng bad byte order', (() => { const b = buildPcapng([{ blocks: [] }]); b.writeUInt32LE(0x11223344, 8); return b; })(), 'NOT_A_CAPTURE'],
    ['pcapng first section 2.0', buildPcapng([{ version: [2, 0], blocks: [] }]), 'UNSUPPORTED_VERSION'],
    ['pcapng first section 0.1', buildPcapng([{ version: [0, 1], blocks: [] }]), 'UNSUPPORTED_VERSION'],
    ['pcapng SHB option too long', (() => {
      const b = Buffer.concat([buildPcapng([{ blocks: [] }]).subarray(0, 24), Buffer.from([1, 0, 0x30, 0x30, 0, 0, 0, 0]), Buffer.from([36, 0, 0, 0])]);
      b.writeUInt32LE(36, 4); return b;
    })(), 'NOT_A_CAPTURE'],
    ['gzip of text', gzip(Buffer.from('hello, not a capture at all')), 'NOT_A_CAPTURE'],
    ['gzip of nothing', gzip(Buffer.alloc(0)), 'EMPTY_FILE'],
    ['gzip header only', gzip(buildPcap({}, [])).subarray(0, 8), 'NOT_A_CAPTURE'],
    ['pcap version 1', buildPcap({ version: [1, 4] }, []), 'UNSUPPORTED_VERSION'],
  ];
  if (hasZstdCli()) cases.push(['zstd of text', zstdCli(Buffer.from('plain text, no capture'))!, 'NOT_A_CAPTURE']);
  for (const [what, buf, code] of cases) {
    const r = await readBuffer(buf, 3);
    assert.equal(r.error?.code, code, what);
    assert.equal(r.frames.length, 0, what);
  }
});

test('zstd frame asking for a huge window is refused before allocation', async () => {
  // magic, descriptor (no single segment), window descriptor exponent 31 -> 2 TiB window
  const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00]);
  const [r, grew] = await arrayBufferGrowth(() => readBuffer(frame));
  assert.equal(r.error?.code, 'NOT_A_CAPTURE');
  assert.ok(grew < 32 * 1024 * 1024);
  // after good data: frames, then zstd/WINDOW_TOO_LARGE
  const zs = zstdCli(buildPcap({}, [{ sec: 1, frac: 1, data: packetBytes(100, 1) }]));
  if (zs) {
    const r2 = await readBuffer(Buffer.concat([zs, frame]));
    assert.equal(r2.frames.length, 1);
    assert.deepEqual(codes(r2), ['zstd/WINDOW_TOO_LARGE']);
  }
});

test('zstd bomb (RLE blocks): output handed out a chunk at a time, memory stays flat', async () => {
  // one frame: pcap header + one record claiming 200 KiB... built from raw and RLE blocks
  const hdr = buildPcap({ snaplen: 262144 }, []);
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(1, 0); rec.writeUInt32LE(0, 4); rec.writeUInt32LE(131072, 8); rec.writeUInt32LE(131072, 12);
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x40])];   // window descriptor 8<<3: 256 KiB
  const raw = (b: Buffer, last: boolean) => { const h = Buffer.alloc(3); h.writeUIntLE((b.length << 3) | (0 << 1) | (last ? 1 : 0), 0, 3); return Buffer.concat([h, b]); };
  const rle = (n: number, v: number, last: boolean) => { const h = Buffer.alloc(4); h.writeUIntLE((n << 3) | (1 << 1) | (last ? 1 : 0), 0, 3); h[3] = v; return h; };
  const N = 3000;   // 3000 records of 128 KiB: about 375 MiB of output from 69 KiB of input
  for (let i = 0; i < N; i++) {
    parts.push(raw(i === 0 ? Buffer.concat([hdr, rec]) : rec, false));
    parts.push(rle(131072, i & 0xff, i === N - 1));
  }
  const z = Buffer.concat(parts);
  assert.ok(z.length < 128 * 1024);
  const { openStream } = await import('../../src/source/open.js');
  const { AnomalySink } = await import('../../src/errors.js');
  const { Readable } = await import('node:stream');
  const anomalies = new AnomalySink();
  const src = openStream(Readable.from([z], { objectMode: true }), { anomalies });
  let frames = 0;
  let peak = 0;
  for await (const batch of src) {
    frames += batch.length;
    for (const f of batch) assert.equal(f.data[0], (f.frameNo - 1) & 0xff);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }
  assert.equal(frames, N);
  assert.deepEqual(anomalies.list(), []);
  assert.ok(peak < 256 * 1024 * 1024, `arrayBuffers peaked at ${peak}`);
});

test('filesystem errors: ENOENT, EISDIR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirecheck-reader-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'empty.pcap'), Buffer.alloc(0));
    assert.equal((await readPath(join(dir, 'nope.pcap'))).error?.code, 'ENOENT');
    assert.equal((await readPath(join(dir, 'sub'))).error?.code, 'EISDIR');
    assert.equal((await readPath(join(dir, 'empty.pcap'))).error?.code, 'EMPTY_FILE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------
// random mutations

function bases(): Buffer[] {
  const pk = Array.from({ length: 6 }, (_, i) => ({ sec: 1_600_000_000 + i, frac: i * 1000, data: packetBytes(40 + i * 13, i) }));
  const ng: NgSection[] = [
    { blocks: [{ kind: 'idb', linkType: 1, tsresol: 9 }, { kind: 'idb', linkType: 113, snaplen: 50, tsresol: 0x80 | 20 },
      { kind: 'epb', ifid: 0, ticks: 1_600_000_000_000_000_000n, data: packetBytes(60, 1) },
      { kind: 'spb', data: packetBytes(70, 2) }, { kind: 'custom' },
      { kind: 'epb', ifid: 1, ticks: 1_600_000_000n << 20n, data: packetBytes(50, 3), origLen: 99 }] },
    { byteOrder: 'be', blocks: [{ kind: 'idb', linkType: 101, tsoffset: -5n }, { kind: 'nrb' },
      { kind: 'pb', ifid: 0, ticks: 77n, data: packetBytes(20, 4) }, { kind: 'epb', ifid: 0, ticks: 78n, data: packetBytes(21, 5) }] },
  ];
  return [
    buildPcap({}, pk), buildPcap({ byteOrder: 'be', nano: true }, pk), buildPcap({ modified: true }, pk),
    buildPcapng(ng), gzip(buildPcap({}, pk)),
  ];
}

function checkInvariants(r: ReadResult, what: string): void {
  if (r.error) {
    assert.ok(CAPTURE_ERROR_CODES.includes(r.error.code), `${what}: ${r.error.code}`);
    return;
  }
  let last = 0;
  for (const f of r.frames) {
    assert.ok(f.frameNo > last, `${what}: frame numbers increase`);
    last = f.frameNo;
    assert.equal(f.data.length, f.capLen);
    assert.ok(f.tsNsec >= 0 && f.tsNsec < 1e9 && Number.isInteger(f.tsNsec), `${what}: tsNsec ${f.tsNsec}`);
    assert.ok(Number.isFinite(f.tsSec));
    assert.ok(f.capLen <= 16 * 1024 * 1024);
  }
  if (r.anomalies.some((a) => a.code === 'TRUNCATED' || a.code.startsWith('BAD_') || a.code === 'UNSUPPORTED_VERSION')) {
    assert.equal(r.info?.truncated, true, `${what}: damage marks the input truncated`);
  }
}

test('property: random byte mutations and cuts never make the reader throw (fast-check)', async () => {
  const all = bases();
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: all.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.constantFrom<number | number[]>(1 << 20, 3, [17, 1]),
      async (which, muts, cut, split) => {
        const buf = Buffer.from(all[which]);
        for (const [pos, v] of muts) buf[pos % buf.length] = v;
        const input = cut === undefined ? buf : buf.subarray(0, cut % (buf.length + 1));
        const r = await readBuffer(input, split);
        checkInvariants(r, `base ${which}`);
      },
    ),
    { numRuns: 1500, seed: 0x5eed, endOnFailure: true },
  );
});

test('property: mutations in length fields (the likeliest damage) never throw either', async () => {
  const all = bases();
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 3 }),
      fc.nat(),
      fc.constantFrom(0, 1, 3, 4, 7, 8, 11, 12, 0x7fffffff, 0xffffffff, 0x10000000, 65536, 262145),
      async (which, at, value) => {
        const buf = Buffer.from(all[which]);
        const pos = (at % Math.max(1, buf.length - 4)) & ~3;
        buf.writeUInt32LE(value >>> 0, pos);
        checkInvariants(await readBuffer(buf, 64), `base ${which}`);
      },
    ),
    { numRuns: 1500, seed: 42, endOnFailure: true },
  );
});

test('pcapng: interfaces per section are bounded (memory must not grow with the file)', async () => {
  const idbs: NgSection['blocks'] = Array.from({ length: 65537 }, () => ({ kind: 'idb' as const, linkType: 1 }));
  const ok = buildPcapng([{ blocks: [...idbs.slice(0, 65536), { kind: 'epb', ifid: 65535, ticks: 1n, data: packetBytes(10, 1) }] }]);
  const r1 = await readBuffer(ok);
  assert.equal(r1.frames.length, 1);
  assert.equal(r1.frames[0].ifIndex, 65535);
  assert.deepEqual(codes(r1), []);
  const r2 = await readBuffer(buildPcapng([{ blocks: [{ kind: 'idb', linkType: 1 }, { kind: 'epb', ifid: 0, ticks: 1n, data: packetBytes(10, 1) }, ...idbs] }]));
  assert.equal(r2.frames.length, 1);
  assert.deepEqual(codes(r2), ['pcapng/TOO_MANY_INTERFACES']);
});
