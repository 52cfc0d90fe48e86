// Units of the source stage: timestamp arithmetic against a BigInt reference, the chunk queue
// (ByteQueue) under every way a record can straddle chunks, and the zstd framing tracker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ticksToTs, tsOut, tsResolution, pcapTs } from '../../src/source/timestamps.js';
import { ByteQueue, type ChunkSource } from '../../src/source/chunks.js';
import { ZstdSource } from '../../src/source/decompress.js';
import { ticksToSecNsec, zstdCli, packetBytes, hasZstdCli } from '../helpers/capture-builder.js';

const RESOLUTIONS = [
  ...Array.from({ length: 20 }, (_, n) => n),                 // 10^-0 .. 10^-19
  ...Array.from({ length: 64 }, (_, n) => 0x80 | n),          // 2^-0 .. 2^-63
];

function check(hi: number, lo: number, r: number, off: number): void {
  const res = tsResolution(r);
  ticksToTs(hi, lo, res, off);
  const [s, ns] = ticksToSecNsec((BigInt(hi) << 32n) | BigInt(lo), r, BigInt(off));
  const what = `hi ${hi} lo ${lo} tsresol 0x${r.toString(16)} offset ${off}`;
  if (Math.abs(s) <= 2 ** 53) {
    assert.deepEqual([tsOut.sec, tsOut.nsec], [s, ns], what);
  } else {
    // more seconds than a double holds exactly (resolution 1 s or 2^-n with tiny n): close enough
    assert.equal(tsOut.nsec, ns, what);
    assert.ok(Math.abs(tsOut.sec - s) <= Math.abs(s) * 2 ** -50, what);
  }
}

test('ticksToTs equals the BigInt reference: edges of every resolution', () => {
  const his = [0, 1, 0x1fffff, 0x200000, 0x17a2b1c8, 0x7fffffff, 0xffffffff];
  const los = [0, 1, 999_999, 1_000_000, 999_999_999, 1_000_000_000, 0x80000000, 0xffffffff];
  for (const r of RESOLUTIONS) for (const hi of his) for (const lo of los) check(hi, lo, r, 0);
});

test('ticksToTs equals the BigInt reference: random ticks, resolutions and offsets (fast-check)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }),
    fc.constantFrom(...RESOLUTIONS, 6, 6, 9, 9, 9), fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
    (hi, lo, r, off) => check(hi, lo, r, off),
  ), { numRuns: 20000, seed: 9 });
  // ns timestamps of this century, the common case
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 4_102_444_800_000_000_000n }), (t) => {
    check(Number(t >> 32n), Number(t & 0xffffffffn), 9, 0);
  }), { numRuns: 20000, seed: 10 });
});

test('tsResolution: digits and units', () => {
  assert.deepEqual([6, 9, 0, 3, 19, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80].map((r) => tsResolution(r).digits), [6, 9, 0, 3, 9, 4, 7, 9, 0]);
  assert.equal(tsResolution(undefined).units, 1e6);
  assert.equal(tsResolution(0x80 | 10).units, 1024);
});

test('pcapTs carries whole seconds out of the fraction', () => {
  pcapTs(5, 999_999, 1000); assert.deepEqual([tsOut.sec, tsOut.nsec], [5, 999_999_000]);
  pcapTs(5, 1_000_000, 1000); assert.deepEqual([tsOut.sec, tsOut.nsec], [6, 0]);
  pcapTs(5, 0xffffffff, 1); assert.deepEqual([tsOut.sec, tsOut.nsec], [9, 294_967_295]);
  pcapTs(0xffffffff, 0, 1); assert.deepEqual([tsOut.sec, tsOut.nsec], [0xffffffff, 0]);
});

// ---------------------------------------------------------------------------------------
// ByteQueue

/** Records of [len(2) payload] through a ByteQueue fed in arbitrary pieces. */
function readRecords(stream: Buffer, cuts: number[]): Buffer[] {
  const q = new ByteQueue(1 << 16);
  const out: Buffer[] = [];
  const held: Buffer[] = [];   // views handed out in the current "batch"
  let start = 0;
  const bounds = [...cuts.filter((c) => c > 0 && c < stream.length).sort((a, b) => a - b), stream.length];
  for (const end of bounds) {
    q.push(stream.subarray(start, end));
    start = end;
    held.length = 0;
    for (;;) {
      if (!q.ensure(2)) break;
      const n = q.buf.readUInt16LE(q.off);
      if (!q.ensure(2 + n)) break;
      const view = q.buf.subarray(q.off + 2, q.off + 2 + n);
      held.push(view);
      out.push(Buffer.from(view));
      q.consume(2 + n);
    }
    // every view of this batch is still intact after the chunk is done with
    for (let i = 0; i < held.length; i++) assert.ok(held[i].equals(out[out.length - held.length + i]));
  }
  assert.equal(q.pending, 0);
  return out;
}

test('ByteQueue: records come out whole and intact however the chunks cut them', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 30 }),
    fc.array(fc.nat(), { maxLength: 40 }),
    (lens, cuts) => {
      const recs = lens.map((n, i) => packetBytes(n, i + 1));
      const stream = Buffer.concat(recs.flatMap((r) => { const h = Buffer.alloc(2); h.writeUInt16LE(r.length); return [h, r]; }));
      const got = readRecords(stream, cuts.map((c) => c % (stream.length + 1)));
      assert.equal(got.length, recs.length);
      got.forEach((g, i) => assert.ok(g.equals(recs[i])));
    },
  ), { numRuns: 800, seed: 3 });
});

test('ByteQueue: skip crosses chunks, a record larger than the bound throws (parsers check first)', () => {
  const q = new ByteQueue(64);
  q.push(Buffer.from([1, 2, 3]));
  assert.equal(q.ensure(4), false);
  assert.equal(q.pending, 3);
  q.push(Buffer.from([4, 5, 6, 7, 8]));
  assert.equal(q.skip(6), 6);
  assert.equal(q.ensure(2), true);
  assert.deepEqual([...q.buf.subarray(q.off, q.off + 2)], [7, 8]);
  assert.throws(() => { q.push(Buffer.alloc(10)); q.ensure(1000); }, RangeError);
});

// ---------------------------------------------------------------------------------------
// zstd framing tracker

class ListSource implements ChunkSource {
  failure = null;
  private i = 0;
  constructor(private readonly parts: Buffer[]) {}
  async read(): Promise<Buffer | null> { return this.i < this.parts.length ? this.parts[this.i++] : null; }
  async close(): Promise<void> { /* nothing */ }
}

test('ZstdSource: output identical to the input whatever the piece sizes; bounded per read', { skip: hasZstdCli() ? false : (process.env.CI ? false : 'zstd CLI not installed') }, async () => {
  const data = Buffer.concat(Array.from({ length: 400 }, (_, i) => packetBytes(1000 + (i % 7) * 300, i)));
  for (const args of [['-q', '-c', '-1'], ['-q', '-c', '-19', '--check'], ['-q', '-c', '--no-check', '-B4096']]) {
    const z = zstdCli(data, args);
    assert.ok(z, 'zstd CLI required in CI');
    for (const piece of [1, 3, 64, 100000]) {
      const parts: Buffer[] = [];
      for (let i = 0; i < z.length; i += piece) parts.push(z.subarray(i, i + piece));
      const src = new ZstdSource(new ListSource(parts), 65536);
      const got: Buffer[] = [];
      for (let c = await src.read(); c !== null; c = await src.read()) {
        assert.ok(c.length <= 65536 + 2 * 1024 * 1024, `read of ${c.length}`);
        got.push(Buffer.from(c));
      }
      assert.equal(src.failure, null, `${args} piece ${piece}`);
      assert.ok(Buffer.concat(got).equals(data), `${args} piece ${piece}`);
    }
  }
});
