// The flow table: direction-free 5-tuple -> FlowRecord, driven by packet time.
// STUB: implemented in the foundation issue (flows).
import type { AnomalySink } from '../errors.js';
import type { Packet } from '../decode/packet.js';
import type { FlowObserver, FlowTimeouts } from './types.js';
import type { NameCache } from './names.js';

export interface FlowTableOptions {
  timeouts: FlowTimeouts;
  /** cap on live flows; beyond it the least recently active flow is evicted (flow/TABLE_FULL) */
  maxFlows: number;
  observers: FlowObserver[];
  anomalies: AnomalySink;
  names: NameCache;
  /** addresses whose traffic is DNS on any port (resolvers): UDP/TCP to these on `dnsPorts` is decoded as DNS */
  dnsServers: string[];
  dnsPorts: number[];
  /** seed for uids (deterministic output) */
  uidSeed?: number;
}

export interface FlowStats {
  total: number;
  live: number;
  byConnState: Record<string, number>;
  evicted: number;
}

export class FlowTable {
  constructor(readonly opts: FlowTableOptions) {}
  /** Feed one decoded packet (valid only during the call). Also expires idle flows by packet time. */
  process(pkt: Packet): void { void pkt; throw new Error('FlowTable: not implemented yet'); }
  /** Expire flows idle at `nowMs` (live mode ticks); finalizes them. */
  expire(nowMs: number): void { void nowMs; }
  /** End of input: finalize every flow (pending DNS judged by the timeout at the last packet time). */
  flushAll(): void {}
  stats(): FlowStats { return { total: 0, live: 0, byConnState: {}, evicted: 0 }; }
}
