// The Report: one per input (design.md "Output contract"). Renderers in this folder
// (table, json, ndjson) render the same object; an unreadable input has the same shape
// with `error` set.

import type { Anomaly } from '../errors.js';
import type { CheckResult, Finding } from '../detect/types.js';

export interface InputSummary {
  path: string;
  root?: string;
  size: number | null;
  mtimeMs: number | null;
  format: 'pcap' | 'pcapng' | null;
  compression: null | 'gzip' | 'zstd';
  linkTypes: string[];
  packets: number;
  bytes: number;
  snaplenTruncatedFrames: number;
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  truncated: boolean;
  [extra: string]: unknown;
}

export interface Report {
  type: 'report';
  tool: { name: 'wirecheck'; version: string };
  config: Record<string, unknown>;
  input: InputSummary;
  error?: { code: string; message: string };
  flows: { total: number; byConnState: Record<string, number>; [extra: string]: unknown };
  anomalies: Anomaly[];
  checks: CheckResult[];
  findings: Finding[];
  [extra: string]: unknown;
}
