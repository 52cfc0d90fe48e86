// Baseline for the benchmark: the fastest plain streamed read of a classic pcap in Node —
// 1 MiB reads, walking record headers, touching nothing else. wirecheck's MB/s is compared
// with this.
import { closeSync, openSync, readSync } from 'node:fs';

export function plainRead(path: string): { packets: number; bytes: number } {
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let carry = 0;           // bytes of an incomplete record carried to the next read
  let packets = 0, bytes = 0;
  let first = true;
  for (;;) {
    const n = readSync(fd, chunk, carry, chunk.length - carry, null);
    if (n === 0) break;
    bytes += n;
    const end = carry + n;
    let off = 0;
    if (first) { off = 24; first = false; }
    while (off + 16 <= end) {
      const incl = chunk.readUInt32LE(off + 8);
      if (off + 16 + incl > end) break;
      off += 16 + incl;
      packets++;
    }
    carry = end - off;
    chunk.copy(chunk, 0, off, end);
  }
  closeSync(fd);
  return { packets, bytes };
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''));
if (isMain) {
  const r = plainRead(process.argv[2]);
  process.stdout.write(JSON.stringify(r) + '\n');
}
