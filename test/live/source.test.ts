// LiveSource (src/source/live.ts) over a fake cap module: copying out of cap's one shared
// buffer, frame numbering, --count, --duration, --snaplen, stop() as Ctrl-C does it, idle
// ticks, arrival timestamps, the queue bound, link type names, open errors and the loader's
// missing-cap path. Plus the CLI's two-signal rule (installStopSignals) with a fake process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { AnomalySink } from '../../src/errors.js';
import type { Frame } from '../../src/source/types.js';
import {
  CAP_MISSING_MESSAGE, LiveCaptureError, LiveSource, PERMISSION_HINT, capLinkType, loadCap,
  type CapDevice, type CapHandle, type CapModule, type LiveOptions,
} from '../../src/source/live.js';
import { installStopSignals } from '../../src/cli/live.js';

interface FakeConfig {
  devices?: CapDevice[];
  linkName?: string;
  /** returns an error message to throw from open(), or null */
  openError?: (device: string, filter: string) => string | null;
}

class FakeHandle extends EventEmitter implements CapHandle {
  buf: Buffer = Buffer.alloc(0);
  opened: { device: string; filter: string; bufSize: number } | null = null;
  closed = false;
  constructor(private readonly cfg: FakeConfig) { super(); }
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string {
    const err = this.cfg.openError?.(device, filter) ?? null;
    if (err !== null) throw new Error(err);
    this.opened = { device, filter, bufSize };
    this.buf = buffer;
    return this.cfg.linkName ?? 'ETHERNET';
  }
  close(): boolean {
    const was = !this.closed;
    this.closed = true;
    return was;
  }
  /** what cap's dispatch loop does per packet: copy into the shared buffer, emit */
  inject(bytes: Buffer): void {
    if (this.closed || this.opened === null) return;
    bytes.copy(this.buf);
    this.emit('packet', bytes.length, false);
  }
}

function fakeCap(cfg: FakeConfig = {}): { mod: CapModule; handles: FakeHandle[] } {
  const handles: FakeHandle[] = [];
  class Cap extends FakeHandle {
    constructor() { super(cfg); handles.push(this); }
  }
  const devices = cfg.devices ?? [{ name: 'veth0', addresses: [] }, { name: 'lo', addresses: [], flags: 'PCAP_IF_LOOPBACK' }];
  return { mod: { Cap, deviceList: () => devices }, handles };
}

function packet(n: number, fill: number): Buffer {
  const b = Buffer.alloc(n, fill);
  b.writeUInt32BE(n, 0);
  return b;
}

function openFake(opts: Partial<LiveOptions> = {}, cfg: FakeConfig = {}) {
  const { mod, handles } = fakeCap(cfg);
  const anomalies = new AnomalySink();
  const src = LiveSource.open(mod, { device: 'veth0', anomalies, ...opts });
  return { src, h: handles[0], anomalies };
}

async function drain(src: LiveSource, onBatch?: (b: Frame[]) => void): Promise<{ frames: Frame[]; empty: number }> {
  const frames: Frame[] = [];
  let empty = 0;
  for await (const b of src) {
    if (b.length === 0) empty++;
    // copy what we keep: frames are valid until the next pull
    for (const f of b) frames.push({ ...f, data: Buffer.from(f.data) });
    onBatch?.(b);
  }
  return { frames, empty };
}

test('frames are copied out of the shared buffer, numbered from 1, in one batch', async () => {
  const { src, h } = openFake({ bufferSize: 4 << 20 });
  assert.equal(h.opened?.device, 'veth0');
  assert.equal(h.opened?.filter, '');
  assert.equal(h.opened?.bufSize, 4 << 20);
  const sent = [packet(60, 1), packet(40000, 2), packet(1514, 3), packet(98, 4)];   // one beyond the slab path
  const pull = src.next();             // pending pull, then a burst as cap's dispatch loop delivers it
  for (const p of sent) h.inject(p);
  const r = await pull;
  assert.equal(r.done, false);
  const batch = r.value as Frame[];
  assert.equal(batch.length, 4, 'a burst is handed over as one batch');
  batch.forEach((f, i) => {
    assert.equal(f.frameNo, i + 1);
    assert.equal(f.capLen, sent[i].length);
    assert.equal(f.origLen, sent[i].length);
    assert.equal(f.data.length, f.capLen);
    assert.equal(f.linkType, 1);
    assert.equal(f.ifIndex, 0);
    assert.ok(f.data.equals(sent[i]), `frame ${i + 1} keeps its own bytes although cap's buffer was overwritten`);
  });
  src.stop();
  assert.equal((await src.next()).done, true);
  assert.equal(h.closed, true);
});

test('--count: stops after that many frames and closes the handle', async () => {
  const { src, h } = openFake({ count: 5 });
  for (let i = 0; i < 8; i++) h.inject(packet(64, i));
  assert.equal(h.closed, true, 'closed as soon as the count is reached');
  const { frames } = await drain(src);
  assert.deepEqual(frames.map((f) => f.frameNo), [1, 2, 3, 4, 5]);
  assert.deepEqual(frames.map((f) => f.data[10]), [0, 1, 2, 3, 4]);
  assert.equal(src.stopReason, 'count');
  assert.equal(src.packets, 5);
});

test('--snaplen truncates in JS: capLen = min(n, snaplen), origLen = n', async () => {
  const { src, h } = openFake({ snaplen: 60, count: 2 });
  assert.equal(src.info.snaplen, 60);
  const big = packet(100, 7), small = packet(42, 8);
  h.inject(big);
  h.inject(small);
  const { frames } = await drain(src);
  assert.equal(frames[0].capLen, 60);
  assert.equal(frames[0].origLen, 100);
  assert.ok(frames[0].data.equals(big.subarray(0, 60)));
  assert.equal(frames[1].capLen, 42);
  assert.equal(frames[1].origLen, 42);
  // above cap's fixed 65535 the option changes nothing
  const { src: s2 } = openFake({ snaplen: 262144 });
  assert.equal(s2.snaplen, 65535);
  s2.stop();
});

test('--duration: ends on time; idle ticks yield empty batches meanwhile', async () => {
  const t0 = Date.now();
  const { src, h } = openFake({ durationMs: 300, idleTickMs: 50 });
  setTimeout(() => h.inject(packet(70, 9)), 120);
  const { frames, empty } = await drain(src);
  const took = Date.now() - t0;
  assert.ok(took >= 280 && took < 2000, `took ${took} ms`);
  assert.equal(frames.length, 1);
  assert.ok(empty >= 3, `only ${empty} idle ticks in 300 ms at one per 50 ms`);
  assert.equal(src.stopReason, 'duration');
  assert.equal(h.closed, true);
});

test('stop() (Ctrl-C): frames captured before it are handed over, later ones are not', async () => {
  const { src, h } = openFake();
  h.inject(packet(80, 1));
  h.inject(packet(81, 2));
  src.stop();
  h.inject(packet(82, 3));   // a closed handle emits nothing; and a late emit is ignored
  h.emit('packet', 82, false);
  const { frames } = await drain(src);
  assert.deepEqual(frames.map((f) => f.capLen), [80, 81]);
  assert.equal(src.stopReason, 'stopped');
  assert.equal(src.running, false);
});

test('stop() while a pull is pending ends the iteration', async () => {
  const { src } = openFake({ idleTickMs: 10_000 });
  const pull = src.next();
  setTimeout(() => src.stop(), 20);
  const r = await pull;
  assert.equal(r.done, true);
});

test('breaking out of for-await closes the capture', async () => {
  const { src, h } = openFake();
  h.inject(packet(60, 1));
  for await (const b of src) {
    assert.equal(b.length, 1);
    break;
  }
  assert.equal(h.closed, true);
  assert.equal((await src.next()).done, true);
});

test('arrival timestamps: µs, never backwards; nowMs() follows the same clock', async () => {
  const times = [1700000000123.4567, 1700000000999.9996, 1700000000500, 1700000001000.25];
  let i = 0;
  let now = times[0];
  const { src, h } = openFake({ count: 4, clock: () => { now = times[Math.min(i, times.length - 1)]; return now; } });
  assert.equal(src.info.timing, 'arrival');
  assert.equal(src.info.tsDigits, 6);
  for (; i < 4; i++) h.inject(packet(60, i));
  const { frames } = await drain(src);
  assert.deepEqual(frames.map((f) => [f.tsSec, f.tsNsec]), [
    [1700000000, 123456000],
    [1700000000, 999999000],
    [1700000000, 999999000],   // the clock went back: held at the last frame's time
    [1700000001, 250000],
  ]);
  assert.ok(src.nowMs() >= 1700000001000.25);
});

test('the queue is bounded: frames beyond it are dropped and counted as live/QUEUE_FULL', async () => {
  const { src, h, anomalies } = openFake({ maxQueueFrames: 4 });
  for (let i = 0; i < 10; i++) h.inject(packet(60, i));
  assert.equal(src.dropped, 6);
  const first = await src.next();
  assert.equal((first.value as Frame[]).length, 4);
  const a = anomalies.list().find((x) => x.layer === 'live' && x.code === 'QUEUE_FULL');
  assert.ok(a, 'anomaly recorded');
  assert.equal(a.count, 6);
  // frame numbers stay dense (they are what the --write file and the report count)
  h.inject(packet(60, 99));
  const second = await src.next();
  assert.equal((second.value as Frame[])[0].frameNo, 5);
  src.stop();
});

test('cap link type names map to LINKTYPE numbers', () => {
  assert.equal(capLinkType('ETHERNET'), 1);
  assert.equal(capLinkType('NULL'), 0);
  assert.equal(capLinkType('RAW'), 101);
  assert.equal(capLinkType('LINKTYPE_LINUX_SLL'), 113);
  assert.equal(capLinkType('IEEE802_11_RADIO'), 127);
  assert.equal(capLinkType('Unknown linktype 276'), 276);
  assert.equal(capLinkType('Unknown linktype 12'), 101);
  assert.equal(capLinkType('gibberish'), -1);
  const { src } = openFake({}, { linkName: 'LINKTYPE_LINUX_SLL' });
  assert.deepEqual(src.info.linkTypes, [113]);
  assert.equal(src.info.format, null);
  src.stop();
  const bad = openFake({}, { linkName: 'Something odd' });
  assert.deepEqual(bad.src.info.linkTypes, []);
  assert.ok(bad.anomalies.has('live', 'UNKNOWN_LINKTYPE'));
  bad.src.stop();
});

function openError(cfg: FakeConfig, opts: Partial<LiveOptions> = {}): LiveCaptureError {
  try {
    openFake(opts, cfg);
  } catch (e) {
    assert.ok(e instanceof LiveCaptureError, String(e));
    return e;
  }
  assert.fail('open did not fail');
}

test('open errors: unknown interface lists the valid ones', () => {
  const e = openError({}, { device: 'eth9' });
  assert.equal(e.code, 'NO_SUCH_INTERFACE');
  assert.equal(e.message, "no such interface 'eth9' (interfaces: veth0, lo)");
  // libpcap's own "no such device" (e.g. the interface vanished after listing) reads the same
  const e2 = openError({ openError: () => 'No such device exists' });
  assert.equal(e2.code, 'NO_SUCH_INTERFACE');
});

test('open errors: permission denied names the two ways out', () => {
  const e = openError({ openError: () => 'socket: Operation not permitted' });
  assert.equal(e.code, 'PERMISSION');
  assert.ok(e.message.startsWith('permission denied capturing on veth0 (socket: Operation not permitted): '));
  assert.ok(e.message.endsWith(PERMISSION_HINT));
  assert.match(PERMISSION_HINT, /sudo setcap cap_net_raw,cap_net_admin=eip \$\(readlink -f \$\(which node\)\)$/);
});

test('open errors: a filter that does not compile gives libpcap\'s message', () => {
  const cfg: FakeConfig = { openError: (_d, f) => (f !== '' ? "can't parse filter expression: syntax error" : null) };
  const e = openError(cfg, { filter: 'port eleventy' });
  assert.equal(e.code, 'BAD_FILTER');
  assert.equal(e.message, "capture filter does not compile: can't parse filter expression: syntax error: 'port eleventy'");
  // when the device fails without the filter too, the device is at fault
  const e2 = openError({ openError: () => 'That device is not up' }, { filter: 'udp' });
  assert.equal(e2.code, 'OPEN_FAILED');
  assert.equal(e2.message, 'cannot capture on veth0: That device is not up');
});

test('loadCap: WIRECHECK_FAKE_NO_CAP=1 simulates a missing cap with the one-line hint', async () => {
  const before = process.env.WIRECHECK_FAKE_NO_CAP;
  process.env.WIRECHECK_FAKE_NO_CAP = '1';
  try {
    await assert.rejects(loadCap(), (e: unknown) => e instanceof LiveCaptureError && e.code === 'NO_CAP' && e.message === CAP_MISSING_MESSAGE);
  } finally {
    if (before === undefined) delete process.env.WIRECHECK_FAKE_NO_CAP;
    else process.env.WIRECHECK_FAKE_NO_CAP = before;
  }
  assert.equal(CAP_MISSING_MESSAGE,
    "live capture needs the optional 'cap' module: install libpcap development headers (apt-get install libpcap-dev), then run npm rebuild cap");
});

test('signals: the first stops, the second quits at once (130 for Ctrl-C, 143 for SIGTERM)', () => {
  for (const [second, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    const proc = new EventEmitter();
    const calls: string[] = [];
    const uninstall = installStopSignals(
      (sig) => calls.push(`first:${sig}`), () => calls.push('second'), (c) => calls.push(`exit:${c}`),
      proc as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    );
    proc.emit('SIGINT', 'SIGINT');
    assert.deepEqual(calls, ['first:SIGINT']);
    proc.emit(second, second);
    assert.deepEqual(calls, ['first:SIGINT', 'second', `exit:${code}`]);
    uninstall();
    assert.equal(proc.listenerCount('SIGINT') + proc.listenerCount('SIGTERM'), 0);
  }
});
