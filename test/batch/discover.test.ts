import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { discover, type Discovered } from '../../src/batch/discover.js';
import { sniffBytes, sniffFile, zstdWindowSize, namedLikeCapture } from '../../src/batch/sniff.js';
import { buildMixedFolder, hasZstd, writeScenario, type MixedFolder } from './fixtures.js';

let dir: string;
let mixed: MixedFolder;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirecheck-discover-'));
  mixed = buildMixedFolder(join(dir, 'archive'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function all(args: string[], opts: Parameters<typeof discover>[1] = {}): Promise<Discovered[]> {
  const out: Discovered[] = [];
  for await (const d of discover(args, opts)) out.push(d);
  return out;
}

const files = (ds: Discovered[]): string[] => ds.filter((d) => d.kind === 'file').map((d) => (d as { path: string }).path);

test('names that say capture', () => {
  for (const n of ['a.pcap', 'a.PCAPNG', 'x/y.cap', 'old.ntar', 'a.pcap.gz', 'a.pcapng.zst', 'a.cap.GZ']) assert.equal(namedLikeCapture(n), true, n);
  for (const n of ['a.txt', 'a.pcap.bak', 'pcap', 'a.gz', 'a.pcap.bz2', 'a.pcapx']) assert.equal(namedLikeCapture(n), false, n);
});

test('sniffBytes: pcap/pcapng magics, gzip and zstd of them', () => {
  const hex = (h: string): Buffer => Buffer.from(h, 'hex');
  for (const m of ['d4c3b2a1', 'a1b2c3d4', '4d3cb2a1', 'a1b23c4d', '0a0d0d0a']) assert.equal(sniffBytes(hex(m + '00000000')), 'capture', m);
  assert.equal(sniffBytes(hex('d4c3b2')), 'other');
  assert.equal(sniffBytes(Buffer.alloc(0)), 'other');
  assert.equal(sniffBytes(Buffer.from('GET / HTTP/1.1\r\n')), 'other');
  const pcap = writeScenario(join(dir, 's.pcap'), 'clean');
  assert.equal(sniffBytes(gzipSync(pcap)), 'capture');
  assert.equal(sniffBytes(gzipSync(pcap).subarray(0, 300)), 'capture', 'a truncated gzip still shows its first bytes');
  assert.equal(sniffBytes(gzipSync(Buffer.from('plain text'))), 'other');
  assert.equal(sniffBytes(hex('1f8b08')), 'other', 'a gzip header cut short');
  assert.equal(sniffBytes(hex('1f8b0800000000000003ffffffffffff')), 'other', 'corrupt deflate data');
});

test('zstd: window size from the frame header; huge windows are not decompressed', () => {
  // magic, FHD 0x00 (no single segment), window descriptor 0x58 -> 2^(10+11) = 2 MiB
  assert.equal(zstdWindowSize(Buffer.from('28b52ffd0058', 'hex')), 2 << 20);
  // window descriptor 0xf8: 2^(10+31) — must not be allocated
  assert.equal(zstdWindowSize(Buffer.from('28b52ffd00f8', 'hex')), 2 ** 41);
  assert.equal(sniffBytes(Buffer.from('28b52ffd00f8000000000000', 'hex')), 'other');
  // single segment, 1-byte content size 200
  assert.equal(zstdWindowSize(Buffer.from('28b52ffd20c8', 'hex')), 200);
});

test('zstd of a capture is a capture', { skip: hasZstd() ? false : 'zstd tool not installed' }, () => {
  const pcap = writeScenario(join(dir, 'z.pcap'), 'dns-unanswered');
  const z = spawnSync('zstd', ['-q', '-c'], { input: pcap }).stdout;
  assert.equal(sniffBytes(z), 'capture');
  const t = spawnSync('zstd', ['-q', '-c'], { input: Buffer.from('text '.repeat(1000)) }).stdout;
  assert.equal(sniffBytes(t), 'other');
});

test('sniffFile: unreadable and missing files', async () => {
  assert.equal(await sniffFile(join(dir, 'does-not-exist')), 'unreadable');
  assert.equal(await sniffFile(join(dir, 'archive')), 'unreadable');
});

test('a folder: every capture (by name or by content) once, others skipped, stable order', async () => {
  const root = join(dir, 'archive');
  const ds = await all([root], { withSkipped: true });
  const expected = [...mixed.captures, ...mixed.bad.map((b) => b.path)].sort();
  assert.deepEqual([...files(ds)].sort(), expected);
  for (const d of ds) {
    if (d.kind !== 'file') continue;
    assert.equal(d.root, root);
    assert.equal(d.file, join(root, d.path));
    assert.ok(d.size >= 0 && d.mtimeMs > 0);
  }
  const skipped = ds.filter((d) => d.kind === 'skip').map((d) => d.file);
  for (const s of mixed.skipped) assert.ok(skipped.includes(join(root, s)), `not listed as skipped: ${s}`);
  // order: depth first, names sorted
  const again = await all([root]);
  assert.deepEqual(files(again), files(ds));
  const order = files(ds);
  assert.ok(order.indexOf('README.txt') < 0);
  assert.ok(order.indexOf('site-a/dns-blocked.pcap') < order.indexOf('site-b/clean.pcap'));
  assert.ok(order.indexOf('site-b/big-endian.cap') < order.indexOf('site-b/day1/deeper/capture-without-extension'));
  // a directory's files come before its subdirectories
  assert.ok(order.indexOf('site-b/day1/swg.pcap.gz') < order.indexOf('site-b/day1/deeper/raw-capture.bin'));
  assert.ok(order.indexOf('tmp-swg.pcap') < order.indexOf('site-a/dns-blocked.pcap'));
  // without withSkipped nothing but files/errors
  assert.ok(again.every((d) => d.kind !== 'skip'));
});

test('FIFOs are skipped without being opened; link loops are walked once; broken links', async () => {
  const d = join(dir, 'special');
  mkdirSync(join(d, 'sub'), { recursive: true });
  writeScenario(join(d, 'sub/a.pcap'), 'clean');
  assert.equal(spawnSync('mkfifo', [join(d, 'pipe.pcap')]).status, 0);
  assert.equal(spawnSync('mkfifo', [join(d, 'pipe-no-name')]).status, 0);
  symlinkSync('..', join(d, 'sub/loop'));
  symlinkSync(join(d, 'sub/a.pcap'), join(d, 'link-to-a.pcap'));
  symlinkSync(join(d, 'missing.pcap'), join(d, 'broken.pcap'));
  symlinkSync(join(d, 'missing.txt'), join(d, 'broken.txt'));
  const ds = await all([d], { withSkipped: true });
  // a.pcap is found once (through the link or directly, whichever comes first)
  assert.deepEqual(files(ds), ['link-to-a.pcap']);
  const errs = ds.filter((x) => x.kind === 'error');
  assert.deepEqual(errs.map((e) => [e.path, (e as { code: string }).code]), [['broken.pcap', 'ENOENT']]);
  const skipped = ds.filter((x) => x.kind === 'skip').map((x) => x.file);
  for (const s of ['pipe.pcap', 'pipe-no-name', 'broken.txt', 'sub/a.pcap']) assert.ok(skipped.includes(join(d, s)), s);
});

test('file arguments are scanned whatever they are; missing arguments are errors', async () => {
  const root = join(dir, 'archive');
  const ds = await all([join(root, 'README.txt'), join(root, 'site-a/dns-blocked.pcap'), join(dir, 'nope')]);
  assert.deepEqual(ds.map((d) => [d.kind, (d as { root: string }).root, (d as { path: string }).path]), [
    ['file', root, 'README.txt'],
    ['file', join(root, 'site-a'), 'dns-blocked.pcap'],
    ['error', dir, 'nope'],
  ]);
  assert.equal((ds[2] as { code: string }).code, 'ENOENT');
});

test('overlapping arguments: each file once', async () => {
  const root = join(dir, 'archive');
  const ds = await all([root, join(root, 'site-a'), join(root, 'site-a/dns-blocked.pcap')]);
  assert.equal(files(ds).length, mixed.captures.length + mixed.bad.length);
});

test('glob arguments: walked from their literal base, which is the root', async () => {
  const root = join(dir, 'archive');
  const ds = await all([`${root}/site-*/**/*.pcap*`]);
  assert.deepEqual(files(ds).sort(), [...mixed.captures, ...mixed.bad.map((b) => b.path)]
    .filter((p) => /^site-[^/]+\/(.*\/)?[^/]*\.pcap[^/]*$/.test(p)).sort());
  for (const d of ds) assert.equal((d as { root: string }).root, root);
  // a glob matching a directory walks it whole
  const dirs = await all([`${root}/site-[ab]`]);
  assert.deepEqual(files(dirs).sort(), [...mixed.captures, ...mixed.bad.map((b) => b.path)].filter((p) => /^site-[ab]\//.test(p)).sort());
  // nothing matches: one ENOENT error
  const none = await all([`${root}/zzz-*/*.pcap`]);
  assert.deepEqual(none.map((d) => [d.kind, (d as { code?: string }).code]), [['error', 'ENOENT']]);
  const noBase = await all([`${dir}/no-such-dir/*.pcap`]);
  assert.equal(noBase.length, 1);
  assert.equal(noBase[0].kind, 'error');
});

test('shards: disjoint, and together every file', async () => {
  const root = join(dir, 'archive');
  const whole = files(await all([root])).sort();
  const parts = [];
  for (let i = 0; i < 3; i++) parts.push(files(await all([root], { shard: { index: i, count: 3 } })));
  const union = parts.flat().sort();
  assert.deepEqual(union, whole);
  assert.equal(new Set(union).size, union.length);
  assert.ok(parts.filter((p) => p.length > 0).length >= 2, 'the hash spreads the files');
});
