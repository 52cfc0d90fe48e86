// Decode speed: frames/s of FrameDecoder.decode over a synthetic in-memory batch of realistic
// frames (not a test: timed assertions do not belong in tests). Run after a build:
//   node dist/test/decode/decode-speed.js [millions of frames, default 10]
// Mix (by frame count): Ethernet/IPv4/TCP full-size data 45 %, pure ACKs 25 %, SYN with
// options 5 %; Ethernet/IPv4/UDP DNS 10 %; Ethernet/IPv6/TCP 8 %; 802.1Q/IPv4/TCP 5 %; ICMP
// port unreachable with a quote 2 %. The frames lie in one chunk, as the file readers hand
// them out (Frame.buf at Frame.off).

import { AnomalySink } from '../../src/errors.js';
import { FrameDecoder } from '../../src/decode/walk.js';
import type { Frame } from '../../src/source/types.js';
import { dnsQuery, ether, etherTagged, icmp, ipv4, ipv6, tcp, udp } from './helpers.js';

function buildFrames(n: number): Frame[] {
  const frames: Frame[] = [];
  const bufs: Buffer[] = [];
  const opts = [0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x03, 0x03, 0x07];
  const data = new Array(1448).fill(0x61);
  const ts = [1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const r = (i * 7919) % 100;
    const src = `10.${(i >> 8) & 255}.${i & 255}.${(i >> 4) & 255}`;
    const sport = 1024 + (i % 60000);
    let b: Buffer;
    if (r < 45) b = ether(0x0800, ipv4(tcp(data, { sport, dport: 443, flags: 0x10, options: [1, 1, 8, 10, ...ts] }), { src, dst: '18.135.112.200' }));
    else if (r < 70) b = ether(0x0800, ipv4(tcp([], { sport: 443, dport: sport, flags: 0x10, options: [1, 1, 8, 10, ...ts] }), { src: '18.135.112.200', dst: src }));
    else if (r < 75) b = ether(0x0800, ipv4(tcp([], { sport, dport: 443, flags: 0x02, options: opts }), { src, dst: '18.135.112.200', df: true }));
    else if (r < 85) b = ether(0x0800, ipv4(udp(dnsQuery(i & 0xffff), sport, 53), { proto: 17, src, dst: '208.67.222.222' }));
    else if (r < 93) b = ether(0x86dd, ipv6(tcp(data.slice(0, 1200), { sport, dport: 443, flags: 0x18 }), { next: 6 }));
    else if (r < 98) b = etherTagged([[0x8100, 100 + (i % 50)]], 0x0800, ipv4(tcp(data.slice(0, 512), { sport, dport: 8200, flags: 0x18 }), { src }));
    else {
      const q = ipv4(udp(dnsQuery(1), sport, 443), { proto: 17, src, dst: '208.67.222.222' }).slice(0, 38);
      b = ether(0x0800, ipv4(icmp(3, 3, [0, 0, 0, 0], q), { proto: 1, src: '10.0.0.1', dst: src }));
    }
    bufs.push(b);
  }
  // laid out as a reader hands them out: records in one chunk (16-byte record header before each)
  const chunk = Buffer.alloc(bufs.reduce((k, b) => k + 16 + b.length, 0));
  let at = 0;
  for (let i = 0; i < n; i++) {
    const b = bufs[i];
    at += 16;
    b.copy(chunk, at);
    frames.push({ frameNo: i + 1, tsSec: 1_700_000_000 + (i >> 10), tsNsec: (i & 1023) * 1000, linkType: 1,
      buf: chunk, off: at, data: b, capLen: b.length, origLen: b.length, ifIndex: 0 });
    at += b.length;
  }
  return frames;
}

function main(): void {
  const millions = Number(process.argv[2] ?? 10);
  const total = Math.round(millions * 1e6);
  const frames = buildFrames(8192);
  const bytesPerRound = frames.reduce((n, f) => n + f.capLen, 0);
  const d = new FrameDecoder(new AnomalySink());
  let sink = 0;
  // warm up
  for (let i = 0; i < 200_000; i++) { const p = d.decode(frames[i & 8191]); if (p !== null) sink += p.dstPort; }
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < total; i++) {
    const p = d.decode(frames[i & 8191]);
    if (p !== null) sink += p.dstPort;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  const cpuNs = (c.user + c.system) * 1000;     // CPU time: meaningful on a shared, loaded machine
  const bytes = (total / frames.length) * bytesPerRound;
  const line = (label: string, t: number): string => `${label}: ${(t / total).toFixed(1)} ns/frame, `
    + `${(total / (t / 1e9) / 1e6).toFixed(2)} M frames/s, ${(bytes / (t / 1e9) / 1e9).toFixed(2)} GB/s of frame bytes`;
  console.log(`decoded ${total} frames (mean frame ${(bytesPerRound / frames.length).toFixed(0)} B) [checksum ${sink}]`);
  console.log('  ' + line('wall', ns));
  console.log('  ' + line('cpu ', cpuNs));
}

main();
