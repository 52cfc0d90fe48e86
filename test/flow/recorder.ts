// Test support for the flow tests: an observer that records every event, and a table factory.
import { AnomalySink } from '../../src/errors.js';
import type { Packet } from '../../src/decode/packet.js';
import { FlowTable, type FlowTableOptions } from '../../src/flow/table.js';
import { createNameCache, type NameCache } from '../../src/flow/names.js';
import type {
  DnsResponseEvent, DnsTransaction, FlowObserver, FlowRecord, IcmpErrorRef,
} from '../../src/flow/types.js';
import { DEFAULT_TIMEOUTS } from '../../src/config.js';

export class Recorder implements FlowObserver {
  readonly name: string;
  starts: FlowRecord[] = [];
  /** copies of the records handed to onFlowEnd, as they were then */
  ends: FlowRecord[] = [];
  /** the records themselves (for identity checks: a record nobody kept is reused after the call) */
  endsRaw: FlowRecord[] = [];
  packets: { uid: string; frameNo: number; dir: 0 | 1; pkts: number }[] = [];
  txs: DnsTransaction[] = [];
  responses: DnsResponseEvent[] = [];
  icmp: { ref: IcmpErrorRef; flow: FlowRecord | null }[] = [];
  /** every event in order, as short strings */
  log: string[] = [];

  constructor(private readonly mask: number | ((f: FlowRecord, p: Packet) => number) = 0, name = 'rec') {
    this.name = name;
  }

  onFlowStart(flow: FlowRecord, pkt: Packet): number {
    this.starts.push(flow);
    this.log.push(`start ${flow.uid} ${pkt.frameNo}`);
    return typeof this.mask === 'function' ? this.mask(flow, pkt) : this.mask;
  }

  onPacket(flow: FlowRecord, pkt: Packet, dir: 0 | 1): void {
    this.packets.push({ uid: flow.uid, frameNo: pkt.frameNo, dir, pkts: flow.dir[0].pkts + flow.dir[1].pkts });
  }

  onIcmpError(ref: IcmpErrorRef, flow: FlowRecord | null): void {
    this.icmp.push({ ref, flow });
    this.log.push(`icmp ${ref.frameNo} ${flow ? flow.uid : '-'}`);
  }

  onDnsResponse(ev: DnsResponseEvent): void {
    this.responses.push(ev);
    this.log.push(`resp ${ev.frameNo}`);
  }

  onDnsTransaction(tx: DnsTransaction): void {
    this.txs.push(tx);
    this.log.push(`tx ${tx.queryFrames[0]} ${tx.outcome}`);
  }

  onFlowEnd(flow: FlowRecord): void {
    // the table may reuse the record after the call (flows nobody kept): keep a copy
    this.ends.push(snapshotFlow(flow));
    this.endsRaw.push(flow);
    this.log.push(`end ${flow.uid} ${flow.conn_state}`);
  }

  /** the ended flow record with this originator port (tests use distinct ports) */
  endByPort(origPort: number): FlowRecord {
    const f = this.ends.find((x) => x.id.orig_p === origPort);
    if (!f) throw new Error(`no ended flow with orig_p ${origPort}`);
    return f;
  }
}

/** A plain deep copy of a flow record as it is now (stream captures are shared, not copied). */
export function snapshotFlow(f: FlowRecord): FlowRecord {
  return {
    uid: f.uid,
    id: { orig_h: f.id.orig_h, orig_p: f.id.orig_p, resp_h: f.id.resp_h, resp_p: f.id.resp_p, proto: f.id.proto },
    tsSec: f.tsSec, tsNsec: f.tsNsec, lastTsSec: f.lastTsSec, lastTsNsec: f.lastTsNsec, lastMs: f.lastMs,
    firstMs: f.firstMs, duration: f.duration,
    dir: [{ ...f.dir[0] }, { ...f.dir[1] }],
    history: f.history, conn_state: f.conn_state, ipVersion: f.ipVersion,
    synFrames: [...f.synFrames], synTimesMs: [...f.synTimesMs], synCount: f.synCount, synIsn: f.synIsn,
    synTtl: f.synTtl, synAckFrame: f.synAckFrame, synAckTtl: f.synAckTtl, synToSynAckMs: f.synToSynAckMs,
    rstFrame: f.rstFrame, rstDir: f.rstDir, rstTtl: f.rstTtl, rstAfterSynMs: f.rstAfterSynMs,
    finFrame: [f.finFrame[0], f.finFrame[1]], firstDataFrame: [f.firstDataFrame[0], f.firstDataFrame[1]],
    firstDataMs: [f.firstDataMs[0], f.firstDataMs[1]], icmpErrors: [...f.icmpErrors],
    streams: f.streams, watchers: f.watchers, ext: f.ext,
  };
}

export interface TestTable {
  table: FlowTable;
  anomalies: AnomalySink;
  names: NameCache;
  rec: Recorder;
  feed(...pkts: Packet[]): void;
}

export function makeTable(opts: Partial<FlowTableOptions> = {}, rec: Recorder = new Recorder()): TestTable {
  const anomalies = opts.anomalies ?? new AnomalySink();
  const names = opts.names ?? createNameCache();
  const table = new FlowTable({
    timeouts: { ...DEFAULT_TIMEOUTS },
    maxFlows: 1024,
    observers: [rec],
    anomalies,
    names,
    dnsServers: ['208.67.222.222', '208.67.220.220', '2620:119:35::35', '2620:119:53::53'],
    dnsPorts: [53, 443],
    uidSeed: 7,
    ...opts,
  });
  return { table, anomalies, names, rec, feed: (...pkts) => { for (const p of pkts) table.process(p); } };
}
