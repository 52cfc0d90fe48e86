// What every check module exports and emits (conventions.md rule 8; design.md output contract).

import type { EffectiveConfig } from '../config.js';
import type { FlowObserver } from '../flow/types.js';
import type { NameCache } from '../flow/names.js';

export type CheckName = 'dns-protection' | 'web-protection' | 'gotomeeting';
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'not-observed';
export type Severity = 'error' | 'warning' | 'info';

export type FindingId =
  | 'dns-unanswered' | 'dns-rejected' | 'dns-error'
  | 'swg-syn-unanswered' | 'swg-reset'
  | 'gtm-intercepted' | 'gtm-blocked' | 'proxy-intercepted';

export interface FindingTarget {
  ip: string;
  port?: number;
  ports?: number[];
  transport?: 'udp' | 'tcp';
  names?: string[];
  [extra: string]: unknown;
}

export interface ClientRef {
  ip: string;
  count: number;
  firstFrame: number;
}

export interface Signal {
  kind: string;            // e.g. 'ttl-differs', 'rtt-differs', 'http-redirect', 'via-proxy', 'cert-issuer', 'reset-after-data'
  port: number;
  frame: number;
  value: string;
}

export interface Finding {
  id: FindingId;
  check: CheckName;
  severity: Severity;
  target: FindingTarget;
  clients: ClientRef[];    // at most 20
  count: number;           // evidence packets
  attempts: number;        // distinct queries / connections
  frames: number[];        // first 20 evidence frames, ascending
  firstFrame: number;
  lastFrame: number;
  firstSeen: string;       // ISO-8601 UTC
  lastSeen: string;
  message: string;
  explanation: string;
  remedy: string;
  wiresharkFilter: string;
  decodeAs?: string;
  signals?: Signal[];
  [extra: string]: unknown;
}

export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  summary: string;
  targets: unknown[];
  [extra: string]: unknown;
}

export interface CheckContext {
  config: EffectiveConfig;
  /** shared name cache (DNS answers seen so far) */
  names: NameCache;
  /** true when findings may include this client (--client) */
  clientAllowed(ip: string): boolean;
  /** a capture timestamp as the report writes it: ISO-8601 UTC with the capture's precision */
  isoTime(tsSec: number, tsNsec: number): string;
  /** live mode: called when a finding is established before the end of input */
  emitEarly?(f: Finding): void;
  /**
   * How packet times were taken: 'capture' (the file's timestamps, default) or 'arrival'
   * (live: stamped on arrival at this host, so small delays are not trustworthy). Checks use
   * timing differences only as supporting evidence when 'arrival'.
   */
  timing?: 'capture' | 'arrival';
}

/** A check is a flow observer that produces a result and findings when input ends. */
export interface Check extends FlowObserver {
  readonly name: CheckName;
  /** called after every flow was finalized */
  finish(): { result: CheckResult; findings: Finding[] };
}

export type CheckFactory = (ctx: CheckContext) => Check;
