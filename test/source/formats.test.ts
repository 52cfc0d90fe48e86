// Every format variant the readers handle, built with the capture builder and read back
// exactly: fields, timestamps to the nanosecond, frame numbers, interfaces, info.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildPcap, buildPcapng, expectedFrames, gzip, hasZstdCli, optComment, packetBytes, zstdCli,
  type NgSection, type PcapOptions, type PcapPacket,
} from '../helpers/capture-builder.js';
import { readBuffer, readPath, codes, type ReadResult } from './read-all.js';
import type { Frame } from '../../src/source/types.js';

const SPLITS: (number | number[])[] = [1 << 30, 1, 7, [13, 1000, 3], 64, 4096];

function plain(f: Frame) {
  return { frameNo: f.frameNo, tsSec: f.tsSec, tsNsec: f.tsNsec, linkType: f.linkType, ifIndex: f.ifIndex,
    capLen: f.capLen, origLen: f.origLen, data: Buffer.from(f.data).toString('hex'), noTimestamp: f.noTimestamp ?? false };
}

function assertFrames(r: ReadResult, expected: ReturnType<typeof plain>[], what: string): void {
  assert.equal(r.error, null, `${what}: ${r.error?.message}`);
  assert.deepEqual(r.frames.map(plain), expected, what);
  for (const f of r.frames) assert.equal(f.data.length, f.capLen, `${what}: data.length === capLen`);
}

// ---------------------------------------------------------------------------------------
// classic pcap

function pcapPackets(nano: boolean): PcapPacket[] {
  const max = nano ? 999_999_999 : 999_999;
  return [
    { sec: 1_700_000_000, frac: 0, data: packetBytes(60, 1) },
    { sec: 1_700_000_000, frac: max, data: packetBytes(1514, 2) },
    { sec: 1_700_000_001, frac: 123, data: packetBytes(0, 3) },                 // empty record
    { sec: 0xffffffff, frac: 1, data: packetBytes(97, 4), origLen: 1500 },     // 2106, snapped
    { sec: 0, frac: 5, data: packetBytes(3000, 5) },
  ];
}

function pcapExpected(opts: PcapOptions, pk: PcapPacket[]) {
  const mult = opts.nano ? 1 : 1000;
  return pk.map((p, i) => ({
    frameNo: i + 1, tsSec: p.sec, tsNsec: p.frac * mult, linkType: opts.linkType ?? 1, ifIndex: 0,
    capLen: p.data.length, origLen: p.origLen ?? p.data.length, data: Buffer.from(p.data).toString('hex'), noTimestamp: false,
  }));
}

for (const byteOrder of ['le', 'be'] as const) {
  for (const nano of [false, true]) {
    test(`pcap ${nano ? 'ns' : 'µs'} ${byteOrder}: every field read back exactly, whatever the chunking`, async () => {
      const opts: PcapOptions = { byteOrder, nano, linkType: 113, snaplen: 4000 };
      const pk = pcapPackets(nano);
      const buf = buildPcap(opts, pk);
      const exp = pcapExpected(opts, pk);
      for (const s of SPLITS) {
        const r = await readBuffer(buf, s);
        assertFrames(r, exp, `split ${s}`);
        assert.deepEqual(codes(r), []);
        assert.equal(r.info?.format, 'pcap');
        assert.equal(r.info?.byteOrder, byteOrder);
        assert.equal(r.info?.tsDigits, nano ? 9 : 6);
        assert.equal(r.info?.snaplen, 4000);
        assert.deepEqual(r.info?.linkTypes, [113]);
        assert.equal(r.info?.truncated, false);
        assert.equal(r.info?.compression, null);
      }
    });
  }
}

test('pcap with modified (Kuznetzov) 24-byte record headers', async () => {
  for (const byteOrder of ['le', 'be'] as const) {
    const opts: PcapOptions = { byteOrder, modified: true };
    const pk = pcapPackets(false);
    const r = await readBuffer(buildPcap(opts, pk), 5);
    assertFrames(r, pcapExpected(opts, pk), byteOrder);
  }
});

test('pcap linktype: upper bits (FCS length, reserved) are masked to the 16-bit LINKTYPE', async () => {
  for (const field of [1 | 0x04000000 | (4 << 28), 1 | 0x00300000, 0x00010001]) {
    const r = await readBuffer(buildPcap({ linkTypeField: field }, pcapPackets(false).slice(0, 1)));
    assert.equal(r.error, null);
    assert.equal(r.frames[0].linkType, field & 0xffff);
    assert.deepEqual(r.info?.linkTypes, [field & 0xffff]);
  }
});

test('pcap: a fraction of a second or more is carried into the seconds (tsNsec stays < 1e9)', async () => {
  const us = await readBuffer(buildPcap({}, [{ sec: 10, frac: 1_000_000, data: packetBytes(10, 1) },
    { sec: 10, frac: 4_294_967_295, data: packetBytes(10, 2) }]));
  assert.deepEqual(us.frames.map((f) => [f.tsSec, f.tsNsec]), [[11, 0], [10 + 4294, 967_295_000]]);
  const ns = await readBuffer(buildPcap({ nano: true }, [{ sec: 10, frac: 2_147_483_648, data: packetBytes(10, 1) }]));
  assert.deepEqual(ns.frames.map((f) => [f.tsSec, f.tsNsec]), [[12, 147_483_648]]);
});

test('pcap: captured length > original length keeps the frame and counts an anomaly', async () => {
  const r = await readBuffer(buildPcap({}, [{ sec: 1, frac: 2, data: packetBytes(60, 1), origLen: 40 },
    { sec: 2, frac: 3, data: packetBytes(60, 2) }]));
  assert.equal(r.frames.length, 2);
  assert.equal(r.frames[0].capLen, 60);
  assert.equal(r.frames[0].origLen, 40);
  assert.deepEqual(codes(r), ['pcap/CAPLEN_GT_ORIGLEN']);
  assert.equal(r.anomalies[0].firstFrame, 1);
  assert.equal(r.info?.truncated, false);
});

test('pcap: version 2.x is read (2.0, 2.5), other majors are UNSUPPORTED_VERSION', async () => {
  for (const v of [[2, 0], [2, 5]] as [number, number][]) {
    const r = await readBuffer(buildPcap({ version: v }, pcapPackets(false)));
    assert.equal(r.frames.length, 5, `${v}`);
  }
  for (const v of [[1, 4], [3, 0], [0, 0]] as [number, number][]) {
    const r = await readBuffer(buildPcap({ version: v }, pcapPackets(false)));
    assert.equal(r.error?.code, 'UNSUPPORTED_VERSION', `${v}`);
  }
});

test('pcap: an empty capture (header only) has no frames and no anomaly', async () => {
  const r = await readBuffer(buildPcap({ nano: true }, []));
  assert.equal(r.error, null);
  assert.equal(r.frames.length, 0);
  assert.equal(r.info?.tsDigits, 9);
  assert.deepEqual(codes(r), []);
});

// ---------------------------------------------------------------------------------------
// pcapng

const T0 = 1_700_000_000n;

function richSections(): NgSection[] {
  return [
    {
      byteOrder: 'le',
      options: [optComment('first section'), { code: 0x2bad, value: Buffer.from('unknown shb option') }],
      blocks: [
        { kind: 'idb', linkType: 1, snaplen: 65535 },                                           // if 0: µs
        { kind: 'idb', linkType: 113, snaplen: 128, tsresol: 9, options: [{ code: 2, value: Buffer.from('eth1') }, { code: 0x7777, value: Buffer.from([1, 2, 3]) }] }, // if 1: ns
        { kind: 'epb', ifid: 0, ticks: T0 * 1_000_000n + 123_456n, data: packetBytes(74, 1) },
        { kind: 'epb', ifid: 1, ticks: T0 * 1_000_000_000n + 999_999_999n, data: packetBytes(128, 2), origLen: 1514,
          options: [optComment('a comment'), { code: 2, value: Buffer.from([1, 0, 0, 0]) }, { code: 0x5555, value: Buffer.from('x') }] },
        { kind: 'nrb' },
        { kind: 'spb', data: packetBytes(60, 3) },
        { kind: 'isb' },
        { kind: 'custom', body: Buffer.from('numbered like a frame') },
        { kind: 'dsb' },
        { kind: 'epb', ifid: 0, ticks: (T0 + 1n) * 1_000_000n, data: packetBytes(1, 4) },
        { kind: 'unknown', type: 0x12345678 },
        { kind: 'idb', linkType: 101, tsresol: 3 },                                             // if 2: ms, added late
        { kind: 'epb', ifid: 2, ticks: (T0 + 2n) * 1000n + 7n, data: packetBytes(20, 5) },
        { kind: 'journal' },
        { kind: 'pb', ifid: 1, ticks: T0 * 1_000_000_000n + 5n, data: packetBytes(33, 6), drops: 2 },
      ],
    },
    {
      byteOrder: 'be',
      version: [1, 2],
      blocks: [
        { kind: 'custom-nocopy' },
        { kind: 'idb', linkType: 276, tsresol: 0x80 | 10 },                                     // global 3: 2^-10
        { kind: 'idb', linkType: 1, snaplen: 50, tsresol: 12, tsoffset: 1000n },                 // global 4: ps + offset
        { kind: 'epb', ifid: 0, ticks: (T0 << 10n) + 1023n, data: packetBytes(40, 7) },
        { kind: 'epb', ifid: 1, ticks: 1_234_567_890_123_456_789n, data: packetBytes(50, 8), origLen: 90 },
        { kind: 'spb', data: packetBytes(90, 9) },                                              // snapped to 0's snaplen? no: if 0 has snaplen 0
        { kind: 'epb', ifid: 0, ticks: 0n, data: packetBytes(10, 10) },
      ],
    },
    {
      byteOrder: 'le',
      blocks: [
        { kind: 'idb', linkType: 228, snaplen: 30, tsresol: 0x80 | 30, tsoffset: -1_700_000_001n }, // global 5
        { kind: 'idb', linkType: 229, tsresol: 0x80 | 40 },                                         // global 6
        { kind: 'idb', linkType: 1, tsresol: 19 },                                                  // global 7
        { kind: 'spb', data: packetBytes(100, 11) },                                                // snapped to 30
        { kind: 'epb', ifid: 0, ticks: (T0 << 30n) + (1n << 30n) - 1n, data: packetBytes(30, 12), origLen: 100 },
        { kind: 'epb', ifid: 1, ticks: (16_000_000n << 40n) + 12345n, data: packetBytes(12, 13) },   // 2^-40: 64 bits hold 2^24 s
        { kind: 'epb', ifid: 2, ticks: 18_446_744_073_709_551_615n, data: packetBytes(12, 14) },
        { kind: 'epb', ifid: 0, ticks: 0n, data: packetBytes(0, 15) },
      ],
    },
  ];
}

test('pcapng: sections of both byte orders, interfaces with their own link types, snap lengths, resolutions and offsets; EPB / SPB / PB; other blocks skipped', async () => {
  const sections = richSections();
  const buf = buildPcapng(sections);
  const exp = expectedFrames(sections).map((e) => ({ ...e, data: e.data.toString('hex') }));
  // spot-check the reference itself on a few hand-computed values
  assert.deepEqual([exp[0].tsSec, exp[0].tsNsec], [1_700_000_000, 123_456_000]);
  assert.deepEqual([exp[1].tsSec, exp[1].tsNsec, exp[1].frameNo], [1_700_000_000, 999_999_999, 2]);
  assert.equal(exp[2].noTimestamp, true);                                  // SPB: previous time
  assert.deepEqual([exp[2].tsSec, exp[2].tsNsec], [1_700_000_000, 999_999_999]);
  assert.equal(exp[3].frameNo, 5);                                         // the custom block took 4
  const sec2 = exp.filter((e) => e.ifIndex === 3 || e.ifIndex === 4);
  assert.deepEqual([sec2[0].tsSec, sec2[0].tsNsec], [1_700_000_000, 999_023_437]);   // 1023/1024 s, rounded down
  assert.deepEqual([sec2[1].tsSec, sec2[1].tsNsec], [1_234_567 + 1000, 890_123_456]); // ps, rounded down, +offset
  const last = exp[exp.length - 1];
  assert.deepEqual([last.tsSec, last.tsNsec], [-1_700_000_001, 0]);
  const neg = exp.find((e) => e.ifIndex === 5 && e.capLen === 30 && !e.noTimestamp);
  assert.deepEqual([neg?.tsSec, neg?.tsNsec], [-1, 999_999_999]);
  for (const s of SPLITS) {
    const r = await readBuffer(buf, s);
    assertFrames(r, exp, `split ${s}`);
    assert.deepEqual(codes(r), []);
    const info = r.info!;
    assert.equal(info.format, 'pcapng');
    assert.equal(info.byteOrder, 'le');
    assert.equal(info.sections, 3);
    assert.equal(info.interfaces, 8);
    assert.deepEqual(info.linkTypes, [1, 113, 101, 276, 228, 229]);
    assert.equal(info.tsDigits, 9);
    assert.equal(info.snaplen, 65535);
    assert.equal(info.otherRecords, 3);
    assert.equal(info.truncated, false);
  }
});

test('pcapng: tsDigits follows the finest interface (µs default 6, ms 3, 2^-10 -> 4, ns 9)', async () => {
  const cases: [number[], number][] = [[[], 6], [[3], 3], [[3, 6], 6], [[0x80 | 10], 4], [[0x80 | 20, 3], 7], [[9, 3], 9], [[12], 9], [[0x80 | 63], 9]];
  for (const [resols, digits] of cases) {
    const blocks: NgSection['blocks'] = resols.map((t) => ({ kind: 'idb' as const, linkType: 1, tsresol: t }));
    if (blocks.length === 0) blocks.push({ kind: 'idb', linkType: 1 });
    const r = await readBuffer(buildPcapng([{ blocks }]));
    assert.equal(r.info?.tsDigits, digits, `${resols}`);
  }
});

test('pcapng: a Simple Packet Block takes interface 0, min(origLen, snaplen) bytes, and the previous time', async () => {
  const sections: NgSection[] = [{ blocks: [
    { kind: 'idb', linkType: 1, snaplen: 64 },
    { kind: 'spb', data: packetBytes(100, 1) },
    { kind: 'epb', ifid: 0, ticks: 5_000_001n, data: packetBytes(10, 2) },
    { kind: 'spb', data: packetBytes(61, 3) },
  ] }];
  const r = await readBuffer(buildPcapng(sections), 3);
  assert.deepEqual(r.frames.map((f) => [f.capLen, f.origLen, f.tsSec, f.tsNsec, f.noTimestamp]),
    [[64, 100, 0, 0, true], [10, 10, 5, 1000, false], [61, 61, 5, 1000, true]]);
});

test('pcapng: an empty file (SHB only, or SHB + IDB) reads as zero frames', async () => {
  for (const s of [[{ blocks: [] }], [{ blocks: [{ kind: 'idb', linkType: 1 }] }], [{ blocks: [] }, { byteOrder: 'be', blocks: [] }]] as NgSection[][]) {
    const r = await readBuffer(buildPcapng(s));
    assert.equal(r.error, null);
    assert.equal(r.frames.length, 0);
    assert.deepEqual(codes(r), []);
    assert.equal(r.info?.sections, s.length);
  }
});

test('pcapng: block lengths not a multiple of 4 are rounded up as Wireshark does (trailer at the padded end)', async () => {
  const sections: NgSection[] = [{ blocks: [{ kind: 'idb', linkType: 1 },
    { kind: 'epb', ifid: 0, ticks: 1n, data: packetBytes(58, 1) }, { kind: 'epb', ifid: 0, ticks: 2n, data: packetBytes(60, 2) }] }];
  const buf = buildPcapng(sections);
  // the first EPB starts after SHB (28) + IDB (20); its length 92 -> write 90 in both places
  const at = 28 + 20;
  assert.equal(buf.readUInt32LE(at + 4), 92);
  buf.writeUInt32LE(90, at + 4);
  buf.writeUInt32LE(90, at + 88);
  const r = await readBuffer(buf);
  assert.equal(r.frames.length, 2);
  assert.deepEqual(codes(r), []);
});

// ---------------------------------------------------------------------------------------
// compression, files, stdin-like streams

test('gzip: recognised by magic, decompressed as a stream; concatenated members work', async () => {
  const sections = richSections();
  const ng = buildPcapng(sections);
  const exp = expectedFrames(sections).map((e) => ({ ...e, data: e.data.toString('hex') }));
  for (const s of [1 << 30, 3, 1000]) {
    const r = await readBuffer(gzip(ng), s);
    assertFrames(r, exp, `gzip split ${s}`);
    assert.equal(r.info?.compression, 'gzip');
  }
  const pk = pcapPackets(true);
  const pc = buildPcap({ nano: true }, pk);
  const members = Buffer.concat([gzip(pc.subarray(0, 100)), gzip(pc.subarray(100, 2000)), gzip(pc.subarray(2000))]);
  const r = await readBuffer(members, 777);
  assertFrames(r, pcapExpected({ nano: true }, pk), 'gzip members');
  assert.deepEqual(codes(r), []);
});

test('zstd: recognised by magic, decompressed as a stream (zstd CLI)', { skip: hasZstdCli() ? false : (process.env.CI ? false : 'zstd CLI not installed') }, async () => {
  const sections = richSections();
  const ng = buildPcapng(sections);
  const exp = expectedFrames(sections).map((e) => ({ ...e, data: e.data.toString('hex') }));
  const z = zstdCli(ng);
  assert.ok(z, 'zstd CLI missing (required in CI)');
  for (const s of [1 << 30, 1, 5, 100]) {
    const r = await readBuffer(z, s);
    assertFrames(r, exp, `zstd split ${s}`);
    assert.equal(r.info?.compression, 'zstd');
    assert.deepEqual(codes(r), []);
  }
  // several frames, one with a checksum, and a skippable frame between them
  const pk = pcapPackets(false);
  const pc = buildPcap({ byteOrder: 'be' }, pk);
  const skippable = Buffer.alloc(8 + 5);
  skippable.writeUInt32LE(0x184d2a53, 0);
  skippable.writeUInt32LE(5, 4);
  const multi = Buffer.concat([zstdCli(pc.subarray(0, 50), ['-q', '-c', '--check'])!, skippable,
    zstdCli(pc.subarray(50), ['-q', '-c', '--no-check', '-19'])!]);
  const r = await readBuffer(multi, 9);
  assertFrames(r, pcapExpected({ byteOrder: 'be' }, pk), 'zstd frames');
});

test('files: openCapture reads paths with big or tiny chunks, compressed or not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirecheck-reader-'));
  try {
    const sections = richSections();
    const exp = expectedFrames(sections).map((e) => ({ ...e, data: e.data.toString('hex') }));
    const ng = buildPcapng(sections);
    writeFileSync(join(dir, 'a.pcapng'), ng);
    writeFileSync(join(dir, 'a.bin'), gzip(ng));          // the name says nothing
    for (const name of ['a.pcapng', 'a.bin']) {
      for (const cs of [undefined, 1, 16, 333]) {
        const r = await readPath(join(dir, name), cs);
        assertFrames(r, exp, `${name} chunk ${cs}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frames are valid until the next pull: batch contents checked before pulling again', async () => {
  const sections = richSections();
  const exp = expectedFrames(sections);
  const buf = buildPcapng(sections);
  for (const s of [1, 11, 97]) {
    const { openStream } = await import('../../src/source/open.js');
    const { AnomalySink } = await import('../../src/errors.js');
    const { Readable } = await import('node:stream');
    const { pieces } = await import('./read-all.js');
    const src = openStream(Readable.from(pieces(buf, s), { objectMode: true }), { anomalies: new AnomalySink() });
    let i = 0;
    for await (const batch of src) {
      for (const f of batch) {
        assert.ok(exp[i].data.equals(f.data), `frame ${f.frameNo} at split ${s}`);
        i++;
      }
    }
    assert.equal(i, exp.length);
  }
});

test('frames are read in place: a chunk\'s frames share its buffer, data is buf at off, made on first access', async () => {
  const { openStream } = await import('../../src/source/open.js');
  const { AnomalySink } = await import('../../src/errors.js');
  const inputs: Array<[string, Buffer]> = [
    ['pcap le', buildPcap({ nano: true }, pcapPackets(true))],
    ['pcap be', buildPcap({ byteOrder: 'be' }, pcapPackets(false))],
    ['pcapng', buildPcapng(richSections())],
  ];
  for (const [what, buf] of inputs) {
    const src = openStream((async function* () { yield buf; })() as unknown as NodeJS.ReadableStream, { anomalies: new AnomalySink() });
    let n = 0;
    for await (const batch of src) {
      for (const f of batch) {
        n++;
        assert.equal(f.buf, buf, `${what} frame ${f.frameNo}: in the chunk itself`);
        assert.ok(f.off > 0 && f.off + f.capLen <= buf.length);
        const d = f.data;
        assert.equal(f.data, d, 'the view is made once');
        assert.equal(d.buffer, buf.buffer);
        assert.equal(d.byteOffset, buf.byteOffset + f.off);
        assert.equal(d.length, f.capLen);
      }
    }
    assert.ok(n >= 5, what);
  }
});

test("'-' reads stdin (a child process with the capture piped in)", async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const openJs = fileURLToPath(new URL('../../src/source/open.js', import.meta.url));
  const errorsJs = fileURLToPath(new URL('../../src/errors.js', import.meta.url));
  const script = `
    const { openCapture } = await import(${JSON.stringify(openJs)});
    const { AnomalySink } = await import(${JSON.stringify(errorsJs)});
    try {
      const src = await openCapture('-', { anomalies: new AnomalySink() });
      let n = 0, last = '';
      for await (const b of src) for (const f of b) { n++; last = f.tsSec + '.' + f.tsNsec; }
      console.log(JSON.stringify({ n, last, format: src.info.format, compression: src.info.compression }));
    } catch (e) { console.log(JSON.stringify({ error: e.code })); }`;
  const run = (input: Buffer) => JSON.parse(spawnSync(process.execPath, ['--input-type=module', '-e', script], { input }).stdout.toString());
  const pk = pcapPackets(true);
  assert.deepEqual(run(buildPcap({ nano: true }, pk)), { n: 5, last: '0.5', format: 'pcap', compression: null });
  assert.deepEqual(run(gzip(buildPcap({ nano: true }, pk))), { n: 5, last: '0.5', format: 'pcap', compression: 'gzip' });
  assert.deepEqual(run(Buffer.alloc(0)), { error: 'EMPTY_FILE' });
  assert.deepEqual(run(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { error: 'NOT_A_CAPTURE' });
});
