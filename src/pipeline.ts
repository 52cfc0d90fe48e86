// The one place that wires source -> decode -> flow -> detect -> report. analyze, live and
// batch all call into here; they differ only in the PacketSource they hand over.

import { stat } from 'node:fs/promises';
import { AnomalySink, CaptureError, captureErrorFromFs } from './errors.js';
import type { EffectiveConfig } from './config.js';
import type { Frame, PacketSource } from './source/types.js';
import { openCapture } from './source/open.js';
import { FrameDecoder } from './decode/walk.js';
import { linkTypeName } from './decode/linktypes.js';
import { CidrSet } from './decode/addr.js';
import { FlowTable } from './flow/table.js';
import { createNameCache } from './flow/names.js';
import type { Check, CheckContext, Finding } from './detect/types.js';
import { createChecks } from './detect/index.js';
import type { InputSummary, Report } from './report/types.js';
import { isoTime } from './report/time.js';
import { VERSION } from './version.js';

export interface AnalyzeOptions {
  /** path as the report shows it (batch: relative to root) */
  displayPath?: string;
  root?: string;
  /** live: findings as they are established */
  onFinding?: (f: Finding) => void;
  /** live: progress callback, called every `progressEvery` frames */
  onProgress?: (p: { packets: number; flows: number; findings: number }) => void;
  /** live: the source is bounded by a wall clock; flows are expired by this tick */
  tickMs?: () => number;
}

/** Configuration as the report shows it (design.md: "config": the effective one). */
export function configForReport(config: EffectiveConfig): Record<string, unknown> {
  return {
    checks: config.checks,
    resolvers: config.resolvers.addresses,
    resolverPorts: config.resolvers.ports,
    swg: { addresses: config.swg.addresses, names: config.swg.names, ports: config.swg.ports },
    gotomeeting: { ranges: config.gotomeeting.ranges, names: config.gotomeeting.names, ports: config.gotomeeting.ports },
    timeouts: config.timeouts,
    clients: config.clients,
    maxFlows: config.maxFlows,
  };
}

function emptyInput(path: string): InputSummary {
  return {
    path, size: null, mtimeMs: null, format: null, compression: null, linkTypes: [], packets: 0, bytes: 0,
    snaplenTruncatedFrames: 0, firstTimestamp: null, lastTimestamp: null, truncated: false,
  };
}

/** A report for an input that could not be read (same shape as a success). */
export function errorReport(config: EffectiveConfig, path: string, err: CaptureError, extra: Partial<InputSummary> = {}): Report {
  return {
    type: 'report',
    tool: { name: 'wirecheck', version: VERSION },
    config: configForReport(config),
    input: { ...emptyInput(path), ...extra },
    error: { code: err.code, message: err.message },
    flows: { total: 0, byConnState: {} },
    anomalies: [],
    checks: [],
    findings: [],
  };
}

/**
 * Starting capacity of the flow table for an input of `size` bytes: one flow per 512 bytes
 * of file (a flow takes at least one record of 16 + 28 bytes, and most flows of a capture
 * are not alive at the same time), so small files (batch archives are full of them) do not
 * pay for reserving the whole table; the table doubles when it needs more. Unknown size
 * (stdin, live): the table's default.
 */
export function initialFlowsFor(size: number | null, maxFlows: number): number | undefined {
  if (size === null) return undefined;
  let n = 1024;
  while (n < maxFlows && n * 512 < size) n *= 2;
  return Math.min(n, maxFlows);
}

/** Open a path (or '-') and analyse it. Never throws for input problems: they become an error report. */
export async function analyzePath(path: string, config: EffectiveConfig, opts: AnalyzeOptions = {}): Promise<Report> {
  const shown = opts.displayPath ?? path;
  const extra: Partial<InputSummary> = opts.root !== undefined ? { root: opts.root } : {};
  if (path !== '-') {
    try {
      const st = await stat(path);
      extra.size = st.size;
      extra.mtimeMs = st.mtimeMs;
      if (st.isDirectory()) return errorReport(config, shown, new CaptureError('EISDIR', 'is a directory'), extra);
    } catch (e) {
      const ce = captureErrorFromFs(e);
      if (ce) return errorReport(config, shown, ce, extra);
      throw e;
    }
  }
  const anomalies = new AnomalySink();
  let source: PacketSource;
  try {
    source = await openCapture(path, { anomalies });
  } catch (e) {
    if (e instanceof CaptureError) return errorReport(config, shown, e, extra);
    const ce = captureErrorFromFs(e);
    if (ce) return errorReport(config, shown, ce, extra);
    throw e;
  }
  return analyzeSource(source, config, anomalies, { ...opts, displayPath: shown }, extra);
}

/**
 * Run the whole pipeline over a source. Reading problems the source can recover from are
 * anomalies; a CaptureError thrown before the first frame becomes an error report.
 */
export async function analyzeSource(
  source: PacketSource, config: EffectiveConfig, anomalies: AnomalySink,
  opts: AnalyzeOptions = {}, extra: Partial<InputSummary> = {},
): Promise<Report> {
  const shown = opts.displayPath ?? '-';
  const info = source.info;
  const clientSet = new CidrSet(config.clients);
  const names = createNameCache();
  const ctx: CheckContext = {
    config,
    names,
    clientAllowed: (ip: string) => clientSet.size === 0 || clientSet.has(ip),
    isoTime: (sec: number, nsec: number) => isoTime(sec, nsec, info.tsDigits),
    emitEarly: opts.onFinding === undefined ? undefined : (f: Finding) => { earlyFindings++; opts.onFinding!(f); },
    timing: info.timing ?? 'capture',
  };
  let earlyFindings = 0;
  const checks: Check[] = createChecks(config.checks, ctx);
  const decoder = new FrameDecoder(anomalies);
  const table = new FlowTable({
    timeouts: config.timeouts,
    maxFlows: config.maxFlows,
    observers: checks,
    anomalies,
    names,
    dnsServers: config.resolvers.addresses,
    dnsPorts: config.resolvers.ports,
    initialFlows: initialFlowsFor(extra.size ?? null, config.maxFlows),
  });

  let packets = 0;
  let bytes = 0;
  let firstSec = 0, firstNsec = 0, lastSec = 0, lastNsec = 0;
  let lastFrameNo = 0;
  const progressEvery = 4096;
  try {
    for await (const batch of source) {
      for (let i = 0; i < batch.length; i++) {
        const f: Frame = batch[i];
        if (packets === 0) { firstSec = f.tsSec; firstNsec = f.tsNsec; }
        packets++;
        bytes += f.origLen;
        lastSec = f.tsSec; lastNsec = f.tsNsec;
        lastFrameNo = f.frameNo;
        const pkt = decoder.decode(f);
        if (pkt !== null) table.process(pkt);
        if (opts.onProgress !== undefined && (packets & (progressEvery - 1)) === 0) {
          opts.onProgress({ packets, flows: table.size, findings: earlyFindings });
        }
      }
      if (opts.tickMs) table.expire(opts.tickMs());
      if (opts.onProgress !== undefined) opts.onProgress({ packets, flows: table.size, findings: earlyFindings });
    }
  } catch (e) {
    if (e instanceof CaptureError && packets === 0) {
      return errorReport(config, shown, e, { ...extra, format: info.format, compression: info.compression });
    }
    if (e instanceof CaptureError) {
      // damage after good frames: keep what was read, record the reason
      anomalies.add('capture', e.code, lastFrameNo + 1, e.message);
      info.truncated = true;
    } else {
      throw e;
    }
  }
  decoder.finish();   // datagrams still incomplete: fragment/INCOMPLETE
  table.flushAll();

  const checkResults = [];
  const findings: Finding[] = [];
  for (const c of checks) {
    const { result, findings: fs } = c.finish();
    checkResults.push(result);
    for (const f of fs) if (f.clients.length === 0 || f.clients.some((cl) => ctx.clientAllowed(cl.ip))) findings.push(f);
  }
  const st = table.stats();
  table.release();
  const input: InputSummary = {
    ...emptyInput(shown),
    ...extra,
    path: shown,
    format: info.format,
    compression: info.compression,
    linkTypes: info.linkTypes.map(linkTypeName),
    packets,
    bytes,
    snaplenTruncatedFrames: decoder.snaplenTruncatedFrames,
    firstTimestamp: packets > 0 ? isoTime(firstSec, firstNsec, info.tsDigits) : null,
    lastTimestamp: packets > 0 ? isoTime(lastSec, lastNsec, info.tsDigits) : null,
    truncated: info.truncated,
    timing: info.timing ?? 'capture',
  };
  return {
    type: 'report',
    tool: { name: 'wirecheck', version: VERSION },
    config: configForReport(config),
    input,
    flows: { total: st.total, byConnState: st.byConnState, evicted: st.evicted },
    anomalies: anomalies.list(),
    checks: checkResults,
    findings,
  };
}
