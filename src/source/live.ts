// Live capture: a PacketSource over the optional `cap` package (libpcap binding, 0.2.1).
//
// What cap 0.2.1 gives and what it does not (read from node_modules/cap/src/binding.cc):
// - `new Cap()`, `c.open(device, filter, bufSize, buffer)` returns the link type as a name
//   ('ETHERNET', 'LINKTYPE_LINUX_SLL', 'NULL', 'RAW', 'IEEE802_11_RADIO', or
//   'Unknown linktype <DLT>'); it throws libpcap's message when the device cannot be opened
//   (pcap_activate) or the filter does not compile (pcap_compile, after activation).
// - every packet is copied into the ONE buffer handed to open() and announced with
//   'packet' (nbytes, truncated), synchronously, from a loop that runs pcap_dispatch until
//   the kernel has nothing more: frames must be copied out before the next one arrives.
// - no packet timestamps: frames are stamped on arrival here (monotonic clock anchored to
//   the wall clock at process start), `info.timing = 'arrival'`.
// - no wire length: origLen is what libpcap captured (its snap length is fixed at 65535);
//   `snaplen` below truncates in JS (capLen = min(nbytes, snaplen), origLen = nbytes).
// - promiscuous mode always on; no pcap_stats (kernel drop counters are unavailable);
//   setMinBytes exists on Windows only.
// - after a failed open() the native object holds an un-initialised poll handle that its
//   destructor would stop: such objects are kept referenced until the process ends.
//
// Memory: frames wait in one queue until the consumer pulls them; the queue is bounded in
// bytes and frames, and what does not fit is dropped and counted (`live/QUEUE_FULL`), since
// cap offers no way to pause the capture. While no packet arrives the iterator yields an
// empty batch every `idleTickMs`, so the consumer can expire flows by the arrival clock.

import type { AnomalySink } from '../errors.js';
import { emptyCaptureInfo, type CaptureInfo, type Frame, type PacketSource } from './types.js';

export const CAP_MISSING_MESSAGE =
  "live capture needs the optional 'cap' module: install libpcap development headers (apt-get install libpcap-dev), then run npm rebuild cap";

/** Test hook: when this environment variable is '1', loadCap() behaves as if cap were not installed. */
export const FAKE_NO_CAP_ENV = 'WIRECHECK_FAKE_NO_CAP';

/** The snap length cap 0.2.1 sets on every handle (pcap_set_snaplen(65535)). */
export const CAP_SNAPLEN = 65535;

export interface CapAddress {
  addr?: string;
  netmask?: string;
  broadaddr?: string;
  dstaddr?: string;
}

export interface CapDevice {
  name: string;
  description?: string;
  addresses: CapAddress[];
  /** cap sets 'PCAP_IF_LOOPBACK' for loopback devices */
  flags?: string;
}

/** What we use of a cap `Cap` object (an EventEmitter in the real module). */
export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): unknown;
}

/** What we use of the cap module. */
export interface CapModule {
  Cap: new () => CapHandle;
  deviceList(): CapDevice[];
}

export type LiveErrorCode = 'NO_CAP' | 'NO_SUCH_INTERFACE' | 'PERMISSION' | 'BAD_FILTER' | 'OPEN_FAILED';

/** A live capture that cannot start. The CLI prints `message` as one line and exits 2. */
export class LiveCaptureError extends Error {
  readonly code: LiveErrorCode;
  constructor(code: LiveErrorCode, message: string) {
    super(message);
    this.name = 'LiveCaptureError';
    this.code = code;
  }
}

export const PERMISSION_HINT =
  'run as root, or grant the capture capabilities to node: sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node))';

/**
 * Load cap. It is an optional dependency built from source; when it is missing or its
 * native part was not built, this throws LiveCaptureError('NO_CAP') with the one-line hint.
 * `WIRECHECK_FAKE_NO_CAP=1` simulates that (a test hook).
 */
export async function loadCap(): Promise<CapModule> {
  if (process.env[FAKE_NO_CAP_ENV] === '1') throw new LiveCaptureError('NO_CAP', CAP_MISSING_MESSAGE);
  let mod: unknown;
  try {
    // a variable specifier: cap has no type declarations and may be absent
    const specifier = 'cap';
    mod = await import(specifier);
  } catch {
    throw new LiveCaptureError('NO_CAP', CAP_MISSING_MESSAGE);
  }
  const m = ((mod as { default?: unknown }).default ?? mod) as Partial<CapModule>;
  if (typeof m.Cap !== 'function' || typeof m.deviceList !== 'function') {
    throw new LiveCaptureError('NO_CAP', CAP_MISSING_MESSAGE);
  }
  return m as CapModule;
}

/** Devices libpcap can capture on (pcap_findalldevs). Throws LiveCaptureError on failure. */
export function listDevices(cap: CapModule): CapDevice[] {
  let list: unknown;
  try {
    list = cap.deviceList();
  } catch (e) {
    throw new LiveCaptureError('OPEN_FAILED', `cannot list interfaces: ${oneLine(e)}`);
  }
  if (!Array.isArray(list)) return [];
  return list.filter((d): d is CapDevice => typeof d === 'object' && d !== null && typeof (d as CapDevice).name === 'string')
    .map((d) => ({ ...d, addresses: Array.isArray(d.addresses) ? d.addresses : [] }));
}

/**
 * cap's link type name -> LINKTYPE_* number. cap names five DLTs and reports the rest as
 * 'Unknown linktype <DLT>'; DLT and LINKTYPE values agree except for the few mapped here
 * (libpcap's dlt_to_linktype). -1 when the text means nothing.
 */
export function capLinkType(name: string): number {
  switch (name) {
    case 'NULL': return 0;
    case 'ETHERNET': return 1;
    case 'RAW': return 101;                 // DLT_RAW (12 on Linux) is LINKTYPE_RAW
    case 'LINKTYPE_LINUX_SLL': return 113;
    case 'IEEE802_11_RADIO': return 127;    // LINKTYPE_IEEE802_11_RADIOTAP
  }
  const m = /^Unknown linktype (\d+)$/.exec(name);
  if (m === null) return -1;
  const dlt = Number(m[1]);
  switch (dlt) {
    case 11: return 100;                    // DLT_ATM_RFC1483
    case 12: case 14: return 101;           // DLT_RAW on various systems
    case 17: return 117;                    // DLT_PFLOG (OpenBSD numbering)
    case 18: return 246;                    // DLT_PFSYNC
    default: return dlt;
  }
}

export interface LiveOptions {
  device: string;
  /** BPF capture filter; '' or undefined: none */
  filter?: string;
  /** truncate frames to this many bytes (origLen keeps the captured length); default CAP_SNAPLEN */
  snaplen?: number;
  /** stop after this many frames */
  count?: number;
  /** stop after this many milliseconds */
  durationMs?: number;
  anomalies: AnomalySink;
  /** libpcap buffer size in bytes (default 32 MiB) */
  bufferSize?: number;
  /** yield an empty batch after this long without packets (default 500 ms) */
  idleTickMs?: number;
  /** bound of the frames waiting for the consumer (defaults: 64 MiB, 262144 frames) */
  maxQueueBytes?: number;
  maxQueueFrames?: number;
  /** wall clock in ms since the epoch (default: monotonic clock anchored at process start) */
  clock?: () => number;
}

export type LiveStopReason = 'count' | 'duration' | 'stopped';

const SLAB_BYTES = 256 * 1024;
/**
 * cap's fixed 65535-byte snap length makes each libpcap ring slot ~64 KiB (immediate mode
 * uses TPACKET_V2 frames of snaplen size): 32 MiB hold ~500 packets. Measured on a veth at
 * ~57k packets/s: 8 MiB lost half of them, 32 MiB 3 %.
 */
const DEFAULT_BUFFER_SIZE = 32 * 1024 * 1024;
/** objects of failed opens; see the header comment */
const keepAlive: CapHandle[] = [];

function oneLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.replace(/\s+/g, ' ').trim();
}

function defaultClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Open a capture handle; classify libpcap's complaint into a LiveCaptureError. */
function openHandle(cap: CapModule, device: string, filter: string, bufSize: number, buffer: Buffer, devices: CapDevice[]): { handle: CapHandle; linkName: string } {
  const noSuch = (): LiveCaptureError => new LiveCaptureError('NO_SUCH_INTERFACE',
    `no such interface '${device}'${devices.length ? ` (interfaces: ${devices.map((d) => d.name).join(', ')})` : ''}`);
  if (devices.length > 0 && !devices.some((d) => d.name === device)) throw noSuch();
  const handle = new cap.Cap();
  try {
    return { handle, linkName: String(handle.open(device, filter, bufSize, buffer)) };
  } catch (e) {
    keepAlive.push(handle);
    const msg = oneLine(e);
    if (/permission|not permitted|EPERM|EACCES/i.test(msg)) {
      throw new LiveCaptureError('PERMISSION', `permission denied capturing on ${device} (${msg}): ${PERMISSION_HINT}`);
    }
    if (/no such device/i.test(msg)) throw noSuch();
    if (filter !== '') {
      // pcap_compile runs after activation: if the device opens without the filter, the
      // filter is at fault
      const probe = new cap.Cap();
      let opensWithout = false;
      try {
        probe.open(device, '', bufSize, Buffer.allocUnsafe(buffer.length));
        opensWithout = true;
      } catch {
        keepAlive.push(probe);
      }
      if (opensWithout) {
        try { probe.close(); } catch { /* closing a probe */ }
        throw new LiveCaptureError('BAD_FILTER', `capture filter does not compile: ${msg}: '${filter}'`);
      }
    }
    throw new LiveCaptureError('OPEN_FAILED', `cannot capture on ${device}: ${msg}`);
  }
}

/**
 * Frames from a live interface, in batches. Stops on `count`, `durationMs` or stop(); the
 * frames captured before the stop are all handed over, then the iteration ends.
 */
export class LiveSource implements PacketSource, AsyncIterator<Frame[]> {
  readonly info: CaptureInfo;
  readonly device: string;
  readonly filter: string;
  /** cap's name of the link type */
  readonly linkTypeName: string;
  readonly snaplen: number;
  /** frames handed on (numbered 1..packets) */
  packets = 0;
  /** frames dropped because the queue was full (the consumer fell behind) */
  dropped = 0;
  stopReason: LiveStopReason | null = null;

  private readonly handle: CapHandle;
  private readonly buffer: Buffer;
  private readonly linkType: number;
  private readonly anomalies: AnomalySink;
  private readonly count: number;
  private readonly idleTickMs: number;
  private readonly maxQueueBytes: number;
  private readonly maxQueueFrames: number;
  private readonly clock: () => number;

  private queue: Frame[] = [];
  private queueBytes = 0;
  private droppedReported = 0;
  private slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private slabPos = 0;
  private lastMs = -Infinity;
  private capturing = true;     // the handle is open: frames may still come
  private finished = false;     // the iteration has ended
  private waiter: ((r: IteratorResult<Frame[]>) => void) | null = null;
  private wakeScheduled = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private durationTimer: NodeJS.Timeout | null = null;

  private constructor(cap: { handle: CapHandle; linkName: string; buffer: Buffer }, opts: LiveOptions) {
    this.handle = cap.handle;
    this.buffer = cap.buffer;
    this.linkTypeName = cap.linkName;
    this.device = opts.device;
    this.filter = opts.filter ?? '';
    this.linkType = capLinkType(cap.linkName);
    this.snaplen = Math.min(CAP_SNAPLEN, Math.max(1, Math.floor(opts.snaplen ?? CAP_SNAPLEN)));
    this.anomalies = opts.anomalies;
    this.count = opts.count !== undefined && opts.count > 0 ? Math.floor(opts.count) : Infinity;
    this.idleTickMs = Math.max(10, opts.idleTickMs ?? 500);
    this.maxQueueBytes = Math.max(SLAB_BYTES, opts.maxQueueBytes ?? 64 * 1024 * 1024);
    this.maxQueueFrames = Math.max(1, opts.maxQueueFrames ?? 262144);
    this.clock = opts.clock ?? defaultClock;
    const info = emptyCaptureInfo();
    info.linkTypes = this.linkType >= 0 ? [this.linkType] : [];
    info.tsDigits = 6;
    info.snaplen = this.snaplen;
    info.interfaces = 1;
    info.timing = 'arrival';
    this.info = info;
    if (this.linkType < 0) {
      this.anomalies.add('live', 'UNKNOWN_LINKTYPE', null, `cap reported the link type as '${cap.linkName}'`);
    }
    this.handle.on('packet', (nbytes, truncated) => this.onPacket(nbytes, truncated));
    if (opts.durationMs !== undefined && opts.durationMs > 0) {
      this.durationTimer = setTimeout(() => this.stop('duration'), opts.durationMs);
    }
  }

  /**
   * Open `opts.device` (synchronously: privileges may be dropped right after this returns,
   * before any packet is handed on). Throws LiveCaptureError.
   */
  static open(cap: CapModule, opts: LiveOptions): LiveSource {
    const devices = listDevices(cap);
    const buffer = Buffer.alloc(CAP_SNAPLEN);
    const bufSize = Math.max(65536, Math.floor(opts.bufferSize ?? DEFAULT_BUFFER_SIZE));
    const { handle, linkName } = openHandle(cap, opts.device, opts.filter ?? '', bufSize, buffer, devices);
    return new LiveSource({ handle, linkName, buffer }, opts);
  }

  /** The clock frames are stamped with, in ms since the epoch (never behind the last frame). */
  nowMs(): number {
    const t = this.clock();
    return t > this.lastMs ? t : this.lastMs;
  }

  /** true while the capture handle is open */
  get running(): boolean {
    return this.capturing;
  }

  /** Stop capturing (Ctrl-C, SIGTERM, --duration, --count). Frames already captured are still handed over. */
  stop(reason: LiveStopReason = 'stopped'): void {
    if (!this.capturing) return;
    this.capturing = false;
    this.stopReason = reason;
    try { this.handle.close(); } catch { /* already closed */ }
    this.clearTimers();
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<Frame[]> {
    return this;
  }

  next(): Promise<IteratorResult<Frame[]>> {
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    if (this.queue.length > 0 || !this.capturing) return Promise.resolve(this.take());
    if (this.waiter !== null) return Promise.reject(new Error('LiveSource: next() called while a pull is pending'));
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.idleTimer = setTimeout(this.onIdle, this.idleTickMs);
    });
  }

  return(): Promise<IteratorResult<Frame[]>> {
    this.stop('stopped');
    this.finish();
    this.queue = [];
    this.queueBytes = 0;
    return Promise.resolve({ done: true, value: undefined });
  }

  // -------------------------------------------------------------------------------------

  private onPacket(nbytes: number, truncated: boolean): void {
    if (!this.capturing) return;
    const capLen = nbytes < this.snaplen ? nbytes : this.snaplen;
    if (this.queueBytes + capLen > this.maxQueueBytes || this.queue.length >= this.maxQueueFrames) {
      this.dropped++;
      return;
    }
    if (truncated) this.anomalies.add('live', 'BUFFER_TRUNCATED', this.packets + 1, `a packet longer than cap's ${this.buffer.length}-byte buffer was cut`);
    let ms = this.clock();
    if (!(ms >= this.lastMs)) ms = this.lastMs;     // never backwards (also catches NaN)
    this.lastMs = ms;
    const tsSec = Math.floor(ms / 1000);
    let tsNsec = Math.floor((ms - tsSec * 1000) * 1000) * 1000;
    if (tsNsec > 999_999_000) tsNsec = 999_999_000;
    else if (!(tsNsec >= 0)) tsNsec = 0;
    const data = this.copyOut(capLen);
    const frame: Frame = {
      frameNo: ++this.packets, tsSec, tsNsec, linkType: this.linkType,
      buf: data, off: 0, data, capLen, origLen: nbytes, ifIndex: 0,
    };
    this.queue.push(frame);
    this.queueBytes += capLen;
    if (this.packets >= this.count) this.stop('count');
    else if (this.waiter !== null && !this.wakeScheduled) {
      // hand over after cap's dispatch loop has emptied the kernel buffer: bigger batches
      this.wakeScheduled = true;
      setImmediate(this.wake);
    }
  }

  /** Copy the shared capture buffer's first `n` bytes out (into a slab: few allocations). */
  private copyOut(n: number): Buffer {
    if (n > SLAB_BYTES >> 3) return Buffer.from(this.buffer.subarray(0, n));
    if (this.slabPos + n > SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabPos = 0;
    }
    const at = this.slabPos;
    this.buffer.copy(this.slab, at, 0, n);
    this.slabPos = (at + n + 7) & ~7;
    return this.slab.subarray(at, at + n);
  }

  private readonly wake = (): void => {
    this.wakeScheduled = false;
    const w = this.waiter;
    if (w === null || (this.queue.length === 0 && this.capturing)) return;
    this.waiter = null;
    if (this.idleTimer !== null) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    w(this.take());
  };

  private readonly onIdle = (): void => {
    this.idleTimer = null;
    const w = this.waiter;
    if (w === null) return;
    this.waiter = null;
    w(this.queue.length > 0 || !this.capturing ? this.take() : { done: false, value: [] });
  };

  private take(): IteratorResult<Frame[]> {
    if (this.dropped > this.droppedReported) {
      this.anomalies.add('live', 'QUEUE_FULL', null,
        `frames dropped by wirecheck: analysis fell behind the capture (queue bound ${this.maxQueueFrames} frames / ${this.maxQueueBytes >> 20} MiB)`,
        this.dropped - this.droppedReported);
      this.droppedReported = this.dropped;
    }
    if (this.queue.length === 0) {
      this.finish();
      return { done: true, value: undefined };
    }
    const batch = this.queue;
    this.queue = [];
    this.queueBytes = 0;
    return { done: false, value: batch };
  }

  private finish(): void {
    this.finished = true;
    this.clearTimers();
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w({ done: true, value: undefined });
  }

  private clearTimers(): void {
    if (this.durationTimer !== null) { clearTimeout(this.durationTimer); this.durationTimer = null; }
    if (this.idleTimer !== null) { clearTimeout(this.idleTimer); this.idleTimer = null; }
  }
}
