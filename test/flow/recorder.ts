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
  ends: FlowRecord[] = [];
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
    this.ends.push(flow);
    this.log.push(`end ${flow.uid} ${flow.conn_state}`);
  }

  /** the ended flow record with this originator port (tests use distinct ports) */
  endByPort(origPort: number): FlowRecord {
    const f = this.ends.find((x) => x.id.orig_p === origPort);
    if (!f) throw new Error(`no ended flow with orig_p ${origPort}`);
    return f;
  }
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
