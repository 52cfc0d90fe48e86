// First bytes of TCP directions: order, retransmissions, gaps, bounds, budget, release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTable, Recorder } from './recorder.js';
import { PacketSeq, TH_ACK, TH_FIN, TH_PSH, TH_SYN } from '../helpers/packets.js';
import { WANT_STREAMS, type StreamCapture } from '../../src/flow/types.js';
import { createStreams, StreamBudget, streamSegment, streamSyn } from '../../src/flow/streams.js';
import { AnomalySink } from '../../src/errors.js';

const CL = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 };
const SV = { src: '10.0.0.2', dst: '10.0.0.1', sport: 443, dport: 40000 };
const PA = TH_PSH | TH_ACK;

/** an observer that asks for streams and copies them at flow end */
class StreamGrab extends Recorder {
  got: { text: [string, string]; s: [StreamCapture, StreamCapture] }[] = [];
  /** the records themselves (kept flows: the table does not reuse them) */
  live: Parameters<Recorder['onFlowEnd']>[0][] = [];
  constructor() { super(WANT_STREAMS); }
  override onFlowEnd(flow: Parameters<Recorder['onFlowEnd']>[0]): void {
    super.onFlowEnd(flow);
    this.live.push(flow);
    const s = flow.streams!;
    this.got.push({ text: [s[0].bytes.subarray(0, s[0].length).toString('latin1'), s[1].bytes.subarray(0, s[1].length).toString('latin1')],
      s: [{ ...s[0], bytes: Buffer.from(s[0].bytes.subarray(0, s[0].length)) }, { ...s[1], bytes: Buffer.from(s[1].bytes.subarray(0, s[1].length)) }] });
  }
}

test('in order from ISN+1; retransmissions and overlaps add only new bytes; FIN completes', () => {
  const g = new StreamGrab();
  const t = makeTable({}, g);
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1000 }),
    s.tcp(1, { ...SV, flags: TH_SYN | TH_ACK, seq: 5000, ack: 1001 }),
    s.tcp(1, { ...CL, flags: PA, seq: 1001, ack: 5001, payload: Buffer.from('GET / HTTP/1.1\r\n') }),
    s.tcp(1, { ...CL, flags: PA, seq: 1001, ack: 5001, payload: Buffer.from('GET / HTTP/1.1\r\n') }),       // retransmission
    s.tcp(1, { ...CL, flags: PA, seq: 1008, ack: 5001, payload: Buffer.from('TTP/1.1\r\nHost: x\r\n\r\n') }),  // overlap
    s.tcp(1, { ...SV, flags: PA, seq: 5001, ack: 1037, payload: Buffer.from('HTTP/1.1 302 Found\r\n') }),
    s.tcp(1, { ...SV, flags: TH_FIN | TH_ACK, seq: 5021, ack: 1037 }),
  );
  t.table.flushAll();
  const { text, s: st } = g.got[0];
  assert.deepEqual(text, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP/1.1 302 Found\r\n']);
  assert.deepEqual(st[0].frames, [3, 5]);
  assert.deepEqual([st[0].complete, st[0].gap, st[1].complete, st[1].gap], [false, false, true, false]);
  assert.equal(g.live[0].streams, null, 'memory released after onFlowEnd');
});

test('a gap stops the direction; without a SYN the first data segment starts it', () => {
  const g = new StreamGrab();
  const t = makeTable({}, g);
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: PA, seq: 7000, ack: 1, payload: Buffer.from('abc') }),   // midstream
    s.tcp(1, { ...CL, flags: PA, seq: 7010, ack: 1, payload: Buffer.from('xyz') }),   // 7 bytes missing
    s.tcp(1, { ...CL, flags: PA, seq: 7003, ack: 1, payload: Buffer.from('defghij') }),
  );
  t.table.flushAll();
  assert.equal(g.got[0].text[0], 'abc');
  assert.equal(g.got[0].s[0].gap, true);
  assert.equal(g.got[0].s[0].complete, true);
});

test('a segment cut by the snap length ends the direction with a gap', () => {
  const g = new StreamGrab();
  const t = makeTable({}, g);
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1 }),
    s.tcp(1, { ...CL, flags: PA, seq: 2, ack: 1, payload: Buffer.alloc(1000, 0x61), snap: 20 + 20 + 100 }),
  );
  t.table.flushAll();
  assert.equal(g.got[0].s[0].length, 100);
  assert.equal(g.got[0].s[0].gap, true);
});

test('bounded per direction', () => {
  const g = new StreamGrab();
  const t = makeTable({ streamBytesPerDir: 5000 }, g);
  const s = new PacketSeq();
  t.feed(s.tcp(0, { ...CL, flags: TH_SYN, seq: 0 }));
  for (let i = 0; i < 10; i++) t.feed(s.tcp(1, { ...CL, flags: PA, seq: 1 + i * 1400, ack: 1, payload: Buffer.alloc(1400, 65 + i) }));
  t.table.flushAll();
  const st = g.got[0].s[0];
  assert.equal(st.length, 5000);
  assert.equal(st.complete, true);
  assert.equal(st.gap, false);
  assert.equal(g.got[0].text[0].slice(4199, 4201), 'CD');   // 3 x 1400 bytes of A, B, C, then D
});

test('total budget: collection stops with flow/STREAM_BUDGET and resumes when flows end', () => {
  const g = new StreamGrab();
  const t = makeTable({ streamBudgetBytes: 3 * 2048 }, g);
  const s = new PacketSeq();
  for (let k = 0; k < 4; k++) {
    const c = { ...CL, sport: 41000 + k };
    t.feed(s.tcp(0, { ...c, flags: TH_SYN, seq: 0 }), s.tcp(1, { ...c, flags: PA, seq: 1, ack: 1, payload: Buffer.alloc(100, 0x41) }));
  }
  const b = t.anomalies.list().find((x) => x.code === 'STREAM_BUDGET');
  assert.equal(b?.count, 1);
  assert.equal(b?.firstFrame, 8);
  t.table.flushAll();
  assert.deepEqual(g.got.map((x) => x.s[0].length), [100, 100, 100, 0]);
  assert.equal(g.got[3].s[0].complete, true);
  // all released: a new flow collects again
  const s2 = new PacketSeq(s.ms + 1000);
  t.feed(s2.tcp(0, { ...CL, sport: 42000, flags: TH_SYN, seq: 0 }), s2.tcp(1, { ...CL, sport: 42000, flags: PA, seq: 1, ack: 1, payload: Buffer.alloc(10, 0x42) }));
  t.table.flushAll();
  assert.equal(g.got[4].s[0].length, 10);
});

test('streamSegment unit: sequence wrap-around', () => {
  const budget = new StreamBudget(1 << 20, new AnomalySink());
  const [d] = createStreams(1000);
  streamSyn(d, 0xfffffffe);
  streamSegment(d, budget, 1, 0xffffffff, Buffer.from('ab'), 0, 2, 2, false);
  streamSegment(d, budget, 2, 1, Buffer.from('cd'), 0, 2, 2, false);
  assert.equal(d.data().toString(), 'abcd');
  assert.equal(d.gap, false);
  assert.equal(budget.used, 1000);   // capacity capped at the per-direction bound
});
