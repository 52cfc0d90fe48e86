// Micro benchmark of FlowTable.process() (not a timed test; run by hand):
//
//   npx tsc -p . --outDir dist-flow && node --expose-gc dist-flow/test/flow/bench-table.js [flows] [observers]
//
// Synthetic IPv4 traffic, packets handed over like the decoder does (one reused Packet and
// buffer, valid only during the call): 70 % TCP flows (SYN, SYN-ACK, ACK, data, data, FIN,
// FIN, ACK) and 30 % UDP flows (request, answer). Flows run in waves of 50 000 concurrent
// flows with their packets interleaved, so lookups hit a large table; packet time advances
// 10 µs a packet. Prints packets/s, flows/s, the throughput that means at an average frame
// size of 600 bytes, and peak RSS / heap. Rates are per CPU second of this process
// (process.cpuUsage: user + system), so a busy shared machine does not distort them; wall
// time is printed too. `observers` = 0 (flow table alone) or 3 (three
// observers with onFlowStart/onFlowEnd, like the checks).

import { AnomalySink } from '../../src/errors.js';
import type { Packet } from '../../src/decode/packet.js';
import { TH_ACK, TH_FIN, TH_PSH, TH_SYN } from '../../src/decode/packet.js';
import { FlowTable } from '../../src/flow/table.js';
import { createNameCache } from '../../src/flow/names.js';
import type { FlowObserver, FlowRecord } from '../../src/flow/types.js';
import { DEFAULT_MAX_FLOWS, DEFAULT_RESOLVERS, DEFAULT_TIMEOUTS } from '../../src/config.js';

const FLOWS = Number(process.argv[2] ?? 1_200_000);
const OBSERVERS = Number(process.argv[3] ?? 0);
const WAVE = Number(process.env.WAVE ?? 50_000);
const AVG_FRAME = 600;

const buf = Buffer.alloc(64);
const pkt: Packet = {
  frameNo: 0, tsSec: 1_714_564_800, tsNsec: 0, data: buf, snapTruncated: false, stop: null, vlans: [],
  ipVersion: 4, ipOff: 0, srcOff: 12, dstOff: 16, ttl: 64, ipId: 0, reassembled: false, ipLen: 40,
  proto: 6, l4Off: 20, l4End: 40, srcPort: 0, dstPort: 0, tcpFlags: 0, seq: 0, ack: 0, window: 65535,
  tcpHdrLen: 20, payloadOff: 40, payloadEnd: 40, payloadLen: 0, icmpType: -1, icmpCode: -1, quoted: null,
};

function writeAddrs(f: number, fromClient: boolean): void {
  const c = 0x0a000000 + (f & 0xffffff);            // 10.x.y.z
  const s = 0xac100001 + ((f >>> 4) & 0xff00);       // 172.16.x.1
  buf.writeUInt32BE(fromClient ? c : s, 12);
  buf.writeUInt32BE(fromClient ? s : c, 16);
}

let frame = 0;
let nsec = 0;
let sec = pkt.tsSec;
function stamp(): void {
  pkt.frameNo = ++frame;
  nsec += 10_000;
  if (nsec >= 1e9) { nsec -= 1e9; sec++; }
  pkt.tsSec = sec;
  pkt.tsNsec = nsec;
}

const TCP_STEPS: [boolean, number, number][] = [   // fromClient, flags, payload
  [true, TH_SYN, 0], [false, TH_SYN | TH_ACK, 0], [true, TH_ACK, 0], [true, TH_PSH | TH_ACK, 517],
  [false, TH_PSH | TH_ACK, 1400], [true, TH_FIN | TH_ACK, 0], [false, TH_FIN | TH_ACK, 0], [true, TH_ACK, 0],
];

function emit(table: FlowTable, f: number, step: number): boolean {
  const isUdp = f % 10 >= 7;
  const cport = 1024 + (f % 60000);
  if (isUdp) {
    if (step >= 2) return false;
    const fromClient = step === 0;
    writeAddrs(f, fromClient);
    pkt.proto = 17; pkt.tcpHdrLen = 0; pkt.tcpFlags = 0;
    pkt.srcPort = fromClient ? cport : 5000; pkt.dstPort = fromClient ? 5000 : cport;
    pkt.payloadLen = fromClient ? 60 : 200; pkt.ipLen = 28 + pkt.payloadLen;
  } else {
    if (step >= TCP_STEPS.length) return false;
    const [fromClient, flags, len] = TCP_STEPS[step];
    writeAddrs(f, fromClient);
    pkt.proto = 6; pkt.tcpHdrLen = 20; pkt.tcpFlags = flags;
    pkt.srcPort = fromClient ? cport : 443; pkt.dstPort = fromClient ? 443 : cport;
    const cIsn = 1000, sIsn = 9000;
    const cSeq = step <= 0 ? cIsn : step <= 4 ? cIsn + 1 + (step === 4 ? 517 : 0) : cIsn + 518 + (step === 7 ? 1 : 0);
    const sSeq = step <= 1 ? sIsn : step <= 5 ? sIsn + 1 : sIsn + 1401;
    pkt.seq = fromClient ? (step >= 4 ? cIsn + 518 : cSeq) : sSeq;
    pkt.ack = fromClient ? (step >= 6 ? sIsn + 1402 : sIsn + 1 + (step >= 5 ? 1400 : 0)) : cIsn + 1 + (step >= 4 ? 517 : 0);
    pkt.payloadLen = len; pkt.ipLen = 40 + len;
  }
  stamp();
  table.process(pkt);
  return true;
}

class CountingObserver implements FlowObserver {
  ends = 0;
  bytes = 0;
  constructor(readonly name: string) {}
  onFlowStart(flow: FlowRecord): number {
    return flow.id.resp_p === 8200 ? 1 : 0;
  }
  onFlowEnd(flow: FlowRecord): void {
    this.ends++;
    if (flow.conn_state === 'SF') this.bytes += flow.dir[0].payloadBytes;
  }
}

function main(): void {
  const anomalies = new AnomalySink();
  const observers: FlowObserver[] = [];
  for (let i = 0; i < OBSERVERS; i++) observers.push(new CountingObserver(`obs${i}`));
  const table = new FlowTable({
    timeouts: { ...DEFAULT_TIMEOUTS }, maxFlows: DEFAULT_MAX_FLOWS, observers, anomalies,
    names: createNameCache(), dnsServers: [...DEFAULT_RESOLVERS], dnsPorts: [53, 443], uidSeed: 1,
  });
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage().rss;
  let peakRss = rss0, peakHeap = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let packets = 0;
  for (let w = 0; w < FLOWS; w += WAVE) {
    const end = Math.min(FLOWS, w + WAVE);
    for (let step = 0; step < TCP_STEPS.length; step++) {
      for (let f = w; f < end; f++) if (emit(table, f, step)) packets++;
    }
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  }
  table.flushAll();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const secs = (cu.user + cu.system) / 1e6;
  const st = table.stats();
  const mib = (n: number) => (n / 1048576).toFixed(0) + ' MiB';
  console.log(`flows ${FLOWS.toLocaleString('en')} (created ${st.total.toLocaleString('en')}, evicted ${st.evicted.toLocaleString('en')}), packets ${packets.toLocaleString('en')}, observers ${OBSERVERS}`);
  console.log(`cpu ${secs.toFixed(2)} s (wall ${wall.toFixed(2)} s): ${(packets / secs / 1e6).toFixed(2)} M packets/s, ${(st.total / secs / 1e6).toFixed(2)} M flows/s, ` +
    `= ${(packets / secs * AVG_FRAME / 1e6).toFixed(0)} MB/s at ${AVG_FRAME}-byte frames`);
  console.log(`memory: RSS before ${mib(rss0)}, peak ${mib(peakRss)}; peak heap used ${mib(peakHeap)}`);
  console.log(`conn_state: ${JSON.stringify(st.byConnState)}; anomalies: ${anomalies.list().map((a) => `${a.layer}/${a.code} x${a.count}`).join(', ') || 'none'}`);
}

main();
