// Test helper: read a whole capture (a Buffer, fed in chunks of chosen sizes, or a path) and
// collect copies of its frames (checking the Frame contract on the way), the info, the
// anomalies and the error, if any.

import assert from 'node:assert/strict';
import { AnomalySink, CaptureError, type Anomaly } from '../../src/errors.js';
import { openCapture, openStream } from '../../src/source/open.js';
import type { CaptureInfo, Frame, PacketSource } from '../../src/source/types.js';

export interface ReadResult {
  frames: Frame[];
  info: CaptureInfo | null;
  anomalies: Anomaly[];
  error: CaptureError | null;
  batches: number;
}

/** Split `buf` into pieces: a fixed size, or sizes cycling through a list. */
export function* pieces(buf: Buffer, sizes: number | number[]): Generator<Buffer> {
  const list = typeof sizes === 'number' ? [sizes] : sizes;
  let i = 0;
  let k = 0;
  while (i < buf.length) {
    const n = Math.max(1, list[k++ % list.length]);
    yield buf.subarray(i, Math.min(buf.length, i + n));
    i += n;
  }
}

async function drain(src: PacketSource, anomalies: AnomalySink): Promise<ReadResult> {
  const frames: Frame[] = [];
  let batches = 0;
  for await (const batch of src) {
    batches++;
    for (const f of batch) {
      // the Frame contract: the bytes are buf[off, off + capLen), and data is that range
      assert.ok(f.off >= 0 && f.off + f.capLen <= f.buf.length, `frame ${f.frameNo}: [off, off + capLen) inside buf`);
      assert.equal(f.data.length, f.capLen, `frame ${f.frameNo}: data.length === capLen`);
      assert.ok(f.data.equals(f.buf.subarray(f.off, f.off + f.capLen)), `frame ${f.frameNo}: data is buf at off`);
      const data = Buffer.from(f.data);
      frames.push({ frameNo: f.frameNo, tsSec: f.tsSec, tsNsec: f.tsNsec, linkType: f.linkType, buf: data, off: 0, data,
        capLen: f.capLen, origLen: f.origLen, ifIndex: f.ifIndex, noTimestamp: f.noTimestamp });
    }
  }
  return { frames, info: src.info, anomalies: anomalies.list(), error: null, batches };
}

/** Read a Buffer through openStream, fed in the given piece sizes (default: all at once). */
export async function readBuffer(buf: Buffer, sizes: number | number[] = buf.length || 1): Promise<ReadResult> {
  const anomalies = new AnomalySink();
  // a plain async iterable is enough for the reader (and much cheaper than a Readable)
  const stream = (async function* () { yield* pieces(buf, sizes); })() as unknown as NodeJS.ReadableStream;
  const src = openStream(stream, { anomalies });
  try {
    return await drain(src, anomalies);
  } catch (e) {
    if (e instanceof CaptureError) return { frames: [], info: src.info, anomalies: anomalies.list(), error: e, batches: 0 };
    throw e;
  }
}

/** Read a file through openCapture. */
export async function readPath(path: string, chunkSize?: number): Promise<ReadResult> {
  const anomalies = new AnomalySink();
  let src: PacketSource;
  try {
    src = await openCapture(path, { anomalies, chunkSize });
  } catch (e) {
    if (e instanceof CaptureError) return { frames: [], info: null, anomalies: anomalies.list(), error: e, batches: 0 };
    throw e;
  }
  return drain(src, anomalies);
}

export function codes(r: ReadResult): string[] {
  return r.anomalies.map((a) => `${a.layer}/${a.code}`);
}
