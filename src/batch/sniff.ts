// Is this file a capture? Decided from its first bytes (and, for gzip/zstd, from the first
// bytes of what they decompress to), with bounded reads and bounded decompression. Used by
// batch discovery for files whose name does not already say "capture".

import { open } from 'node:fs/promises';
import { gunzipSync, constants as zc } from 'node:zlib';
import { Decompress } from 'fzstd';

export type SniffResult = 'capture' | 'other' | 'unreadable';

/** Names that say "capture": .pcap .pcapng .cap .ntar, optionally + .gz / .zst. */
export const CAPTURE_NAME_RE = /\.(pcap|pcapng|cap|ntar)(\.(gz|zst))?$/i;

export function namedLikeCapture(name: string): boolean {
  return CAPTURE_NAME_RE.test(name);
}

/** pcap (µs/ns, both byte orders) or pcapng magic at the start of `b`. */
export function isCaptureMagic(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const m = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  return m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1 || m === 0x0a0d0d0a;
}

export function isGzipMagic(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

export function isZstdMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd;
}

/** compressed bytes read to peek into a gzip / zstd file */
const GZIP_PEEK = 4096;
const ZSTD_PEEK = 160 * 1024;          // one zstd block is at most 128 KiB
const MAX_ZSTD_WINDOW = 16 << 20;      // fzstd allocates the window: refuse bigger ones

/** Decompress the start of a gzip stream; at most a few MiB out. */
export function peekGunzip(b: Uint8Array): Uint8Array | null {
  try {
    return gunzipSync(b, { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: 8 << 20 });
  } catch {
    return null;
  }
}

/** Window size a zstd frame header asks for, or null when the header is not readable. */
export function zstdWindowSize(b: Uint8Array): number | null {
  if (!isZstdMagic(b) || b.length < 6) return null;
  const flg = b[4];
  const singleSegment = (flg >> 5) & 1;
  const fcf = flg >> 6;
  const dictBytes = [0, 1, 2, 4][flg & 3];
  if (!singleSegment) {
    const wb = 2 ** (10 + (b[5] >> 3));
    return wb + (wb / 8) * (b[5] & 7);
  }
  // single segment: the window is the frame content size
  let p = 5 + dictBytes;
  const fsb = fcf === 0 ? 1 : 1 << fcf;
  if (b.length < p + fsb) return null;
  let size = 0;
  for (let i = fsb - 1; i >= 0; i--) size = size * 256 + b[p + i];
  if (fcf === 1) size += 256;
  p += fsb;
  return size;
}

/** Decompress the first block(s) of a zstd frame; null when that is not possible cheaply. */
export function peekZstd(b: Uint8Array): Uint8Array | null {
  const w = zstdWindowSize(b);
  if (w === null || w > MAX_ZSTD_WINDOW) return null;
  let out: Uint8Array | null = null;
  try {
    const d = new Decompress((chunk) => { if (out === null && chunk.length > 0) out = chunk.slice(0, 64); });
    d.push(b, false);
  } catch {
    // a partial or corrupt frame: whatever came out before the error is still good
  }
  return out;
}

/** What the content of `b` (the first bytes of a file) says. */
export function sniffBytes(b: Uint8Array): 'capture' | 'other' {
  if (isCaptureMagic(b)) return 'capture';
  if (isGzipMagic(b)) {
    const inner = peekGunzip(b);
    return inner !== null && isCaptureMagic(inner) ? 'capture' : 'other';
  }
  if (isZstdMagic(b)) {
    const inner = peekZstd(b);
    return inner !== null && isCaptureMagic(inner) ? 'capture' : 'other';
  }
  return 'other';
}

/** Read the start of a regular file and sniff it. Never throws. */
export async function sniffFile(file: string): Promise<SniffResult> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return 'unreadable';
  }
  try {
    const head = Buffer.allocUnsafe(16);
    const { bytesRead } = await fh.read(head, 0, 16, 0);
    const b = head.subarray(0, bytesRead);
    if (isCaptureMagic(b)) return 'capture';
    if (!isGzipMagic(b) && !isZstdMagic(b)) return 'other';
    const want = isGzipMagic(b) ? GZIP_PEEK : ZSTD_PEEK;
    const more = Buffer.allocUnsafe(want);
    const r = await fh.read(more, 0, want, 0);
    return sniffBytes(more.subarray(0, r.bytesRead));
  } catch {
    return 'unreadable';
  } finally {
    await fh.close().catch(() => undefined);
  }
}
