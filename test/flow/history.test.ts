// History letters: Zeek's case rule, repeats on new sequence numbers, log-scaled t/g/w.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isScaledStep, letterFor } from '../../src/flow/history.js';
import { makeTable } from './recorder.js';
import { PacketSeq, TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN } from '../helpers/packets.js';

const CL = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const SV = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };
const PA = TH_PSH | TH_ACK;

test('isScaledStep: 1, 10, 100, 1000 only', () => {
  const hits: number[] = [];
  for (let i = 0; i <= 20000; i++) if (isScaledStep(i)) hits.push(i);
  assert.deepEqual(hits, [1, 10, 100, 1000, 10000]);
  assert.equal(letterFor('t'.charCodeAt(0), 0), 'T'.charCodeAt(0));
  assert.equal(letterFor('t'.charCodeAt(0), 1), 't'.charCodeAt(0));
  assert.equal(letterFor('^'.charCodeAt(0), 0), '^'.charCodeAt(0));
});

function established(t: ReturnType<typeof makeTable>, s: PacketSeq): void {
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1000 }),
    s.tcp(1, { ...SV, flags: TH_SYN | TH_ACK, seq: 5000, ack: 1001 }),
    s.tcp(1, { ...CL, flags: TH_ACK, seq: 1001, ack: 5001 }),
  );
}

test('history: retransmitted payload is logged on a log10 scale (T at 1, 10, 100)', () => {
  for (const [n, want] of [[1, 'ShADT'], [9, 'ShADT'], [10, 'ShADTT'], [99, 'ShADTT'], [100, 'ShADTTT']] as const) {
    const t = makeTable();
    const s = new PacketSeq();
    established(t, s);
    t.feed(s.tcp(1, { ...CL, flags: PA, seq: 1001, ack: 5001, payload: Buffer.alloc(100, 1) }));
    for (let i = 0; i < n; i++) t.feed(s.tcp(1, { ...CL, flags: PA, seq: 1001, ack: 5001, payload: Buffer.alloc(100, 1) }));
    t.table.flushAll();
    const f = t.rec.ends[0];
    assert.equal(f.history, want, `${n} retransmissions`);
    assert.equal(f.dir[0].payloadBytes, 100, 'retransmissions are not payload');
    assert.equal(f.dir[0].pkts, 2 + 1 + n);   // SYN, ACK, data, retransmissions
  }
});

test('history: zero window (w), content gap (g), FIN+RST (I), SYN+FIN (Q)', () => {
  const t = makeTable();
  const s = new PacketSeq();
  established(t, s);
  t.feed(
    s.tcp(1, { ...SV, flags: TH_ACK, seq: 5001, ack: 1001, window: 0 }),                  // a, w
    s.tcp(1, { ...SV, flags: PA, seq: 5001, ack: 1001, payload: Buffer.alloc(10) }),       // d
    // client acks 5011 + 1000 bytes the capture never saw: the responder's data has a gap
    s.tcp(1, { ...CL, flags: TH_ACK, seq: 1001, ack: 6011 }),
    s.tcp(1, { ...CL, flags: TH_FIN | TH_RST | TH_ACK, seq: 1001, ack: 6011 }),            // I
  );
  t.table.flushAll();
  assert.equal(t.rec.ends[0].history, 'ShAawdgI');

  const t2 = makeTable();
  const s2 = new PacketSeq();
  t2.feed(s2.tcp(0, { ...CL, flags: TH_SYN | TH_FIN, seq: 1 }));
  t2.table.flushAll();
  assert.equal(t2.rec.ends[0].history, 'Q');
});

test('history: S again only for a new sequence number; F and R likewise', () => {
  const t = makeTable();
  const s = new PacketSeq();
  t.feed(
    s.tcp(0, { ...CL, flags: TH_SYN, seq: 1000 }),
    s.tcp(1000, { ...CL, flags: TH_SYN, seq: 1000 }),     // retransmission: no letter
    s.tcp(2000, { ...CL, flags: TH_SYN, seq: 7777 }),     // new ISN while the attempt lives: S again
  );
  t.table.flushAll();
  assert.equal(t.rec.ends[0].history, 'SS');
  assert.equal(t.rec.ends[0].synCount, 3);

  const t2 = makeTable();
  const s2 = new PacketSeq();
  established(t2, s2);
  t2.feed(
    s2.tcp(1, { ...SV, flags: TH_RST, seq: 5001 }),
    s2.tcp(1, { ...SV, flags: TH_RST, seq: 5001 }),       // same seq: once
    s2.tcp(1, { ...SV, flags: TH_RST, seq: 9001 }),       // new seq: again
  );
  t2.table.flushAll();
  assert.equal(t2.rec.ends[0].history, 'ShArr');
});

test('history: bounded length', () => {
  const t = makeTable();
  const s = new PacketSeq();
  established(t, s);
  for (let i = 0; i < 200; i++) t.feed(s.tcp(1, { ...SV, flags: TH_RST, seq: 5001 + i }));
  t.table.flushAll();
  assert.equal(t.rec.ends[0].history.length, 24);
  assert.ok(t.rec.ends[0].history.startsWith('ShArrr'));
});
