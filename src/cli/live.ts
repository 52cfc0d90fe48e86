// `wirecheck live` and `wirecheck interfaces`: the same pipeline as `analyze`, over a
// LiveSource (src/source/live.ts) instead of a file. This module only parses options, opens
// the capture, drops privileges, wires --write, signals and the status line, and prints.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import Table from 'cli-table3';
import { AnomalySink, UsageError } from '../errors.js';
import {
  addAnalysisOptions, buildConfig, parseDurationMs, parseFormat, type AnalysisOptionValues,
} from './options.js';
import { analyzeSource } from '../pipeline.js';
import {
  CAP_SNAPLEN, LiveCaptureError, LiveSource, listDevices, loadCap, type CapDevice,
} from '../source/live.js';
import type { PacketSource } from '../source/types.js';
import { PcapngWriter } from '../source/writer.js';
import { CidrSet, parseIp } from '../decode/addr.js';
import type { Finding } from '../detect/types.js';
import type { Report } from '../report/types.js';
import { exitCodeFor, findingLine, ndjsonLine, renderJson, renderTable } from '../report/render.js';
import { fail, writeOut } from './io.js';

interface LiveOptionValues extends AnalysisOptionValues {
  interface: string;
  filter?: string;
  snaplen?: string;
  duration?: string;
  count?: string;
  write?: string;
  user?: string;
  bufferSize?: string;
}

/** libpcap buffer in MiB (see README: with cap's 65535-byte snap length a slot takes ~64 KiB). */
const DEFAULT_BUFFER_MIB = 32;

/** Status line refresh period (at most 4 updates a second). */
const STATUS_EVERY_MS = 250;

// ---------------------------------------------------------------------------------------
// privileges (--user), as tcpdump -Z: initgroups, setgid, setuid after the handle is open

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}

function parsePasswdLine(line: string, name: string): UserEntry | null {
  const f = line.split(':');
  if (f.length < 4) return null;
  if (f[0] !== name && f[2] !== name) return null;
  const uid = Number(f[2]), gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0) return null;
  return { name: f[0], uid, gid };
}

/** Look a user up (NSS through getent, else /etc/passwd). Unknown user: UsageError. */
export function resolveUser(name: string): UserEntry {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(name) || name.length > 256) {
    throw new UsageError(`--user: not a user name: '${name}'`);
  }
  let text: string | null = null;
  try {
    text = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      try { text = readFileSync('/etc/passwd', 'utf8'); } catch { text = null; }
    }
  }
  for (const line of (text ?? '').split('\n')) {
    const u = parsePasswdLine(line, name);
    if (u !== null) return u;
  }
  throw new UsageError(`--user: unknown user '${name}'`);
}

/** Switch to `u` for good. Throws an Error with a one-line message when that is not possible. */
export function dropPrivileges(u: UserEntry): void {
  if (typeof process.setuid !== 'function' || typeof process.getuid !== 'function') {
    throw new Error('--user: switching users is not supported on this platform');
  }
  if (process.getuid() !== 0) {
    if (process.getuid() === u.uid) return;
    throw new Error(`--user: cannot switch to '${u.name}': only root can change user`);
  }
  try {
    // supplementary groups: the user's (initgroups, in Node but not in @types/node), else only its own
    const p = process as NodeJS.Process & { initgroups?: (user: string, extraGroup: number) => void };
    if (typeof p.initgroups === 'function') p.initgroups(u.name, u.gid);
    else process.setgroups?.([u.gid]);
    process.setgid?.(u.gid);
    process.setuid(u.uid);
  } catch (e) {
    throw new Error(`--user: cannot switch to '${u.name}': ${(e as Error).message}`);
  }
  if (process.getuid() !== u.uid) throw new Error(`--user: still uid ${process.getuid()} after switching to '${u.name}'`);
}

// ---------------------------------------------------------------------------------------
// signals: the first Ctrl-C / SIGTERM stops the capture (the report follows); the second
// quits at once

export type Exit = (code: number) => void;

/**
 * Install SIGINT/SIGTERM handlers. The first signal calls `onFirst`; a second one calls
 * `onSecond` and then `exit(128 + signal number)` (130 for Ctrl-C). Returns an uninstaller.
 */
export function installStopSignals(
  onFirst: (sig: NodeJS.Signals) => void, onSecond: () => void,
  // process.exit here is deliberate (conventions.md prefers exitCode): a second Ctrl-C
  // must end the process even while the pipeline or a blocked stdout still holds the loop.
  exit: Exit = (code) => process.exit(code),
  proc: Pick<NodeJS.Process, 'on' | 'off'> = process,
): () => void {
  let seen = 0;
  const handler = (sig: NodeJS.Signals): void => {
    seen++;
    if (seen === 1) {
      onFirst(sig);
      return;
    }
    onSecond();
    exit(sig === 'SIGTERM' ? 143 : 130);
  };
  proc.on('SIGINT', handler);
  proc.on('SIGTERM', handler);
  return () => {
    proc.off('SIGINT', handler);
    proc.off('SIGTERM', handler);
  };
}

// ---------------------------------------------------------------------------------------
// status line (stderr, TTY, table format)

class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private shown = '';
  constructor(private readonly stream: NodeJS.WriteStream, private readonly text: () => string) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), STATUS_EVERY_MS);
    this.timer.unref();
  }

  draw(): void {
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    let t = this.text();
    if (t.length > width) t = t.slice(0, width - 1) + '…';
    if (t === this.shown) return;
    this.shown = t;
    this.stream.write(`\r\x1b[K${t}`);
  }

  /** Print a line above the status line. */
  print(line: string): void {
    this.stream.write(`\r\x1b[K${line}\n`);
    this.shown = '';
    this.draw();
  }

  clear(): void {
    if (this.timer !== null) { clearInterval(this.timer); this.timer = null; }
    if (this.shown !== '') this.stream.write('\r\x1b[K');
    this.shown = '';
  }
}

// ---------------------------------------------------------------------------------------
// live

class WriteError extends Error {}

/** Pass batches through, saving every frame to `writer` first (exactly what is analysed). */
function teeToWriter(src: PacketSource, writer: PcapngWriter): PacketSource {
  return {
    info: src.info,
    async *[Symbol.asyncIterator]() {
      for await (const batch of src) {
        try {
          for (let i = 0; i < batch.length; i++) writer.writeSync(batch[i]);
        } catch (e) {
          throw new WriteError(`--write: ${(e as Error).message}`);
        }
        yield batch;
      }
    },
  };
}

function positiveInt(s: string, what: string, max: number): number {
  const n = Number(s);
  if (!/^\s*\d+\s*$/.test(s) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${what}: expected a whole number from 1 to ${max}, got '${s}'`);
  }
  return n;
}

function findingText(f: Finding): string {
  const t = f.target;
  const port = t.port !== undefined ? ` ${t.transport ? t.transport.toUpperCase() + '/' : ''}${t.port}` : '';
  return `finding: [${f.severity}] ${f.id} ${t.ip}${port}: ${f.message}`;
}

async function liveCommand(o: LiveOptionValues): Promise<void> {
  const format = parseFormat(o.format);
  const config = await buildConfig(o);
  const snaplen = o.snaplen !== undefined ? positiveInt(o.snaplen, '--snaplen', 262144) : undefined;
  const count = o.count !== undefined ? positiveInt(o.count, '--count', Number.MAX_SAFE_INTEGER) : undefined;
  const durationMs = o.duration !== undefined ? parseDurationMs(o.duration, '--duration') : undefined;
  if (o.write !== undefined && o.write.trim() === '') throw new UsageError('--write: needs a file name');
  const user = o.user !== undefined ? resolveUser(o.user) : null;
  const bufferMiB = o.bufferSize !== undefined ? positiveInt(o.bufferSize, '--buffer-size', 4096) : DEFAULT_BUFFER_MIB;

  let source: LiveSource;
  const anomalies = new AnomalySink();
  try {
    const cap = await loadCap();
    source = LiveSource.open(cap, {
      device: o.interface, filter: o.filter, snaplen, count, durationMs, anomalies, bufferSize: bufferMiB * 1024 * 1024,
    });
  } catch (e) {
    if (e instanceof LiveCaptureError) { fail(e.message, 2); return; }
    throw e;
  }

  // the handle is open and no packet has been handed on yet: drop privileges now, then
  // create the --write file as that user (as tcpdump -Z does)
  let writer: PcapngWriter | null = null;
  try {
    if (user !== null) dropPrivileges(user);
    if (o.write !== undefined) {
      const lt = source.info.linkTypes[0] ?? 1;
      try {
        writer = PcapngWriter.openSync(o.write, {
          linkType: lt, precision: 'us', snaplen: source.snaplen,
          interfaces: [{ linkType: lt, name: source.device, snaplen: source.snaplen }],
        });
      } catch (e) {
        throw new Error(`--write: cannot create ${o.write}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
  } catch (e) {
    source.stop();
    fail((e as Error).message, 2);
    return;
  }


  const started = Date.now();
  let flows = 0;
  let findings = 0;
  const clientSet = new CidrSet(config.clients);
  const status = format === 'table' && process.stderr.isTTY
    ? new StatusLine(process.stderr, () => `capturing on ${source.device}: ${source.packets} packets, ${flows} flows, ${findings} findings, ${Math.floor((Date.now() - started) / 1000)} s (Ctrl-C stops)`)
    : null;
  status?.start();

  let stoppedBy: string | null = null;
  const uninstall = installStopSignals(
    (sig) => { stoppedBy = sig; source.stop('stopped'); },
    () => {
      status?.clear();
      try { writer?.closeSync(); } catch { /* quitting anyway */ }
    },
  );

  // announced only once the handlers are in place: whoever waits for this line may signal
  process.stderr.write(`wirecheck: listening on ${source.device}, link type ${source.linkTypeName}, snap length ${source.snaplen} bytes, ${source.filter ? `filter '${source.filter}'` : 'no filter'}${durationMs !== undefined ? `, for ${durationMs / 1000} s` : ''}${count !== undefined ? `, up to ${count} packets` : ''}\n`);

  const onFinding = (f: Finding): void => {
    if (f.clients.length > 0 && clientSet.size > 0 && !f.clients.some((c) => clientSet.has(c.ip))) return;
    findings++;
    if (format === 'ndjson') void writeOut(ndjsonLine(findingLine(f)));
    else if (format === 'table') {
      if (status !== null) status.print(findingText(f));
      else process.stderr.write(findingText(f) + '\n');
    }
  };

  const input = writer !== null ? teeToWriter(source, writer) : source;
  let report: Report;
  try {
    report = await analyzeSource(input, config, anomalies, {
      displayPath: `live:${source.device}`,
      onFinding,
      onProgress: (p) => { flows = p.flows; },
      tickMs: () => source.nowMs(),
    }, { size: null, mtimeMs: null, timing: 'arrival', drops: null });
  } catch (e) {
    source.stop();
    status?.clear();
    uninstall();
    try { writer?.closeSync(); } catch { /* reporting the first error */ }
    if (e instanceof WriteError) { fail(e.message, 2); return; }
    throw e;
  }
  source.stop();
  status?.clear();
  let writeProblem: string | null = null;
  if (writer !== null) {
    try { writer.closeSync(); } catch (e) { writeProblem = `--write: ${(e as Error).message}`; }
  }

  report.input.live = {
    interface: source.device,
    filter: source.filter || null,
    snaplen: source.snaplen,
    linkType: source.linkTypeName,
    stoppedBy: stoppedBy ?? source.stopReason ?? 'end',
    durationMs: Date.now() - started,
    queueDrops: source.dropped,
    written: o.write ?? null,
    notes: [
      'timestamps are arrival times in wirecheck (the cap binding exposes no capture timestamps)',
      'drops: unavailable (the cap binding exposes no libpcap drop counters)',
    ],
  };

  if (format === 'table') await writeOut(renderTable(report));
  else if (format === 'json') await writeOut(renderJson([report]));
  else await writeOut(ndjsonLine(report));
  // the signal handlers stay: a second signal from here on still means "quit at once"
  if (writeProblem !== null) { fail(writeProblem, 2); return; }
  process.exitCode = exitCodeFor([report]);
}

// ---------------------------------------------------------------------------------------
// interfaces

function prefixLength(netmask: string | undefined): number | null {
  if (netmask === undefined) return null;
  const b = parseIp(netmask);
  if (b === null) return null;
  let n = 0;
  for (const byte of b) {
    if (byte === 0xff) { n += 8; continue; }
    let x = byte;
    while (x & 0x80) { n++; x = (x << 1) & 0xff; }
    break;
  }
  return n;
}

export function deviceJson(d: CapDevice): Record<string, unknown> {
  return {
    name: d.name,
    description: d.description ?? null,
    loopback: d.flags === 'PCAP_IF_LOOPBACK',
    addresses: d.addresses.filter((a) => a.addr !== undefined).map((a) => ({
      addr: a.addr, prefix: prefixLength(a.netmask), netmask: a.netmask ?? null,
      ...(a.broadaddr !== undefined ? { broadaddr: a.broadaddr } : {}),
      ...(a.dstaddr !== undefined ? { dstaddr: a.dstaddr } : {}),
    })),
  };
}

async function interfacesCommand(o: { format?: string }): Promise<void> {
  const format = parseFormat(o.format);
  let devices: CapDevice[];
  try {
    devices = listDevices(await loadCap());
  } catch (e) {
    if (e instanceof LiveCaptureError) { fail(e.message, 2); return; }
    throw e;
  }
  const rows = devices.map(deviceJson);
  if (format === 'json') { await writeOut(JSON.stringify(rows, null, 2) + '\n'); return; }
  if (format === 'ndjson') { await writeOut(rows.map((r) => ndjsonLine(r)).join('')); return; }
  const t = new Table({ head: ['interface', 'addresses', 'description'], wordWrap: true, style: { head: [], border: [] } });
  for (const d of rows) {
    const addrs = (d.addresses as { addr: string; prefix: number | null }[])
      .map((a) => (a.prefix !== null ? `${a.addr}/${a.prefix}` : a.addr)).join('\n');
    t.push([d.name as string, addrs || '-', [(d.description as string | null) ?? '', d.loopback ? '(loopback)' : ''].filter(Boolean).join(' ') || '-']);
  }
  await writeOut(t.toString() + '\n');
}

export function registerLiveCommands(program: Command): void {
  addAnalysisOptions(
    program.command('live')
      .description('capture on a live interface and run the checks as packets arrive (needs the optional cap module and capture privileges)')
      .requiredOption('-i, --interface <name>', 'interface to capture on (see `wirecheck interfaces`)')
      .option('--filter <bpf>', 'libpcap capture filter (default: none: every packet is examined)')
      .option('--snaplen <bytes>', `keep at most this many bytes of each packet (cap captures at most ${CAP_SNAPLEN})`)
      .option('--duration <seconds>', 'stop after this long: seconds, or with unit ms/s/m')
      .option('--count <packets>', 'stop after this many packets')
      .option('--write <file.pcapng>', 'also save the captured packets as pcapng (arrival timestamps; original length = captured length)')
      .option('--user <name>', 'drop root privileges to this user once the capture is open (like tcpdump -Z)')
      .option('--buffer-size <MiB>', `libpcap's capture buffer (default ${DEFAULT_BUFFER_MIB}; cap's fixed 65535-byte snap length makes each slot ~64 KiB)`),
  ).action(liveCommand);

  program.command('interfaces')
    .description('list the interfaces live capture can use, with addresses and descriptions (needs the optional cap module)')
    .option('-f, --format <format>', 'output format: table, json or ndjson', 'table')
    .action(interfacesCommand);
}
