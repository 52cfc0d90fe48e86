// conn_state: the pure function, table-driven from Zeek's rules, and every state reached
// end to end through the flow table from real packet sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connState, TCP_CLOSED, TCP_ESTABLISHED, TCP_INACTIVE, TCP_PARTIAL, TCP_RESET, TCP_SYN_ACK_SENT, TCP_SYN_SENT,
  type ConnStateInput,
} from '../../src/flow/conn-state.js';
import type { ConnState } from '../../src/flow/types.js';
import { makeTable } from './recorder.js';
import { PacketSeq, TH_ACK, TH_FIN, TH_PSH, TH_RST, TH_SYN } from '../helpers/packets.js';
import type { Packet } from '../../src/decode/packet.js';

const I = TCP_INACTIVE, SS = TCP_SYN_SENT, SA = TCP_SYN_ACK_SENT, P = TCP_PARTIAL, E = TCP_ESTABLISHED,
  C = TCP_CLOSED, R = TCP_RESET;

function tcp(o: number, r: number, history = '', origSize = 0, respSize = 0): ConnStateInput {
  return { proto: 'tcp', origState: o, respState: r, origSize, respSize, history };
}

test('connState: table of Zeek rules', () => {
  const rows: [ConnStateInput, ConnState][] = [
    [tcp(SS, I, 'S'), 'S0'],
    [tcp(SA, I, 'H'), 'OTH'],
    [tcp(E, E, 'ShA'), 'S1'],
    [tcp(C, C, 'ShADadFf', 10, 20), 'SF'],
    [tcp(SS, R, 'Sr'), 'REJ'],
    [tcp(SA, R, 'Hr'), 'REJ'],
    [tcp(R, R, 'SrR'), 'REJ'],                  // both reset, no payload
    [tcp(R, R, 'ShADR', 5, 0), 'RSTR'],         // both reset, payload: responder reset wins
    [tcp(C, I, 'SF'), 'SH'],
    [tcp(C, E, 'ShAF'), 'S2'],
    [tcp(E, C, 'ShAf'), 'S3'],
    [tcp(I, C, '^hf'), 'SHR'],
    [tcp(P, C, 'Df'), 'SHR'],
    [tcp(E, R, 'ShAr'), 'RSTR'],
    [tcp(I, R, '^hr'), 'RSTRH'],
    [tcp(P, R, 'Dr'), 'RSTRH'],
    [tcp(R, E, 'ShAR'), 'RSTO'],
    [tcp(R, I, 'SR'), 'RSTOS0'],
    [tcp(R, I, '^SR'), 'RSTOS0'],
    [tcp(R, I, 'SAR'), 'OTH'],                  // history rules out RSTOS0 (an ACK was seen)
    [tcp(R, P, 'DR'), 'OTH'],
    [tcp(P, I, 'D'), 'OTH'],
    [tcp(P, P, 'Dd'), 'OTH'],
    [tcp(E, SS, 'x'), 'OTH'],
    [{ proto: 'udp', origState: 1, respState: 1, origSize: 0, respSize: 0, history: 'Dd' }, 'SF'],
    [{ proto: 'udp', origState: 1, respState: 0, origSize: 0, respSize: 0, history: 'D' }, 'S0'],
    [{ proto: 'udp', origState: 0, respState: 1, origSize: 0, respSize: 0, history: '^d' }, 'SHR'],
    [{ proto: 'udp', origState: 0, respState: 0, origSize: 0, respSize: 0, history: '' }, 'OTH'],
    [{ proto: 'icmp', origState: 1, respState: 1, origSize: 0, respSize: 0, history: '' }, 'OTH'],
  ];
  for (const [input, want] of rows) assert.equal(connState(input), want, JSON.stringify(input));
});

// --- end to end: packet sequences through the table ------------------------------------

const CL = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const SV = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };

type Step = [dt: number, from: 'c' | 's', flags: number, seq: number, ack: number, len?: number];

function run(steps: Step[]): { state: ConnState | null; history: string } {
  const t = makeTable();
  const s = new PacketSeq();
  for (const [dt, from, flags, seq, ack, len] of steps) {
    const ep = from === 'c' ? CL : SV;
    t.table.process(s.tcp(dt, { ...ep, flags, seq, ack, payload: len ? Buffer.alloc(len, 0x41) : undefined }));
  }
  t.table.flushAll();
  assert.equal(t.rec.ends.length, 1, 'one flow');
  return { state: t.rec.ends[0].conn_state, history: t.rec.ends[0].history };
}

const A = TH_ACK, S = TH_SYN, F = TH_FIN, RS = TH_RST, PA = TH_PSH | TH_ACK;
const HANDSHAKE: Step[] = [[0, 'c', S, 1000, 0], [10, 's', S | A, 5000, 1001], [1, 'c', A, 1001, 5001]];

test('conn_state end to end: every TCP state from packets', () => {
  const cases: [string, Step[], ConnState, string][] = [
    ['S0', [[0, 'c', S, 1000, 0]], 'S0', 'S'],
    ['S1', HANDSHAKE, 'S1', 'ShA'],
    ['SF', [...HANDSHAKE, [1, 'c', PA, 1001, 5001, 10], [5, 's', PA, 5001, 1011, 20], [1, 'c', A, 1011, 5021],
      [1, 'c', F | A, 1011, 5021], [1, 's', F | A, 5021, 1012], [1, 'c', A, 1012, 5022]], 'SF', 'ShADdFf'],
    ['REJ', [[0, 'c', S, 1000, 0], [1, 's', RS | A, 0, 1001]], 'REJ', 'Sr'],
    ['S2', [...HANDSHAKE, [1, 'c', F | A, 1001, 5001]], 'S2', 'ShAF'],
    ['S3', [...HANDSHAKE, [1, 's', F | A, 5001, 1001]], 'S3', 'ShAf'],
    ['RSTO', [...HANDSHAKE, [1, 'c', RS | A, 1001, 5001]], 'RSTO', 'ShAR'],
    ['RSTR', [...HANDSHAKE, [1, 'c', PA, 1001, 5001, 5], [1, 's', RS | A, 5001, 1006]], 'RSTR', 'ShADr'],
    ['RSTOS0', [[0, 'c', S, 1000, 0], [1, 'c', RS, 1001, 0]], 'RSTOS0', 'SR'],
    // first packet a SYN-ACK: roles flipped (^), then the responder resets
    ['RSTRH', [[0, 's', S | A, 5000, 1001], [1, 's', RS | A, 5001, 1001]], 'RSTRH', '^hr'],
    ['SH', [[0, 'c', S, 1000, 0], [1, 'c', F | A, 1001, 0]], 'SH', 'SF'],
    ['SHR', [[0, 's', S | A, 5000, 1001], [1, 's', F | A, 5001, 1001]], 'SHR', '^hf'],
    ['OTH midstream', [[0, 'c', PA, 1001, 5001, 10], [1, 's', A, 5001, 1011]], 'OTH', 'Da'],
  ];
  for (const [name, steps, state, history] of cases) {
    const got = run(steps);
    assert.deepEqual(got, { state, history }, name);
  }
});

test('conn_state end to end: UDP SF, S0, SHR and ICMP OTH', () => {
  const t = makeTable();
  const s = new PacketSeq();
  const pk: Packet[] = [
    s.udp(0, { src: '10.0.0.1', dst: '10.0.0.9', sport: 50001, dport: 5000, payload: Buffer.from('a') }),
    s.udp(1, { src: '10.0.0.9', dst: '10.0.0.1', sport: 5000, dport: 50001, payload: Buffer.from('b') }),
    s.udp(1, { src: '10.0.0.1', dst: '10.0.0.9', sport: 50002, dport: 5000, payload: Buffer.from('a') }),
    // a datagram from a server port to an ephemeral one first: flipped, the originator never spoke
    s.udp(1, { src: '10.0.0.9', dst: '10.0.0.1', sport: 123, dport: 50003, payload: Buffer.from('b') }),
    s.icmp(1, { src: '10.0.0.1', dst: '10.0.0.9', type: 8, code: 0, rest: 0x00010001 }),
    s.icmp(1, { src: '10.0.0.9', dst: '10.0.0.1', type: 0, code: 0, rest: 0x00010001 }),
  ];
  for (const p of pk) t.table.process(p);
  t.table.flushAll();
  const st = (f: { id: { orig_p: number } }) => f.id.orig_p;
  const byPort = new Map(t.rec.ends.map((f) => [st(f), f]));
  assert.equal(byPort.get(50001)?.conn_state, 'SF');
  assert.equal(byPort.get(50001)?.history, 'Dd');
  assert.equal(byPort.get(50002)?.conn_state, 'S0');
  assert.equal(byPort.get(50003)?.conn_state, 'SHR');
  assert.equal(byPort.get(50003)?.history, '^d');
  const icmp = t.rec.ends.find((f) => f.id.proto === 'icmp');
  assert.ok(icmp);
  assert.deepEqual(icmp.id, { orig_h: '10.0.0.1', orig_p: 8, resp_h: '10.0.0.9', resp_p: 0, proto: 'icmp' });
  assert.equal(icmp.conn_state, 'OTH');
  assert.equal(icmp.dir[0].pkts, 1);
  assert.equal(icmp.dir[1].pkts, 1);
  assert.deepEqual(t.table.stats().byConnState, { S0: 1, SF: 1, SHR: 1, OTH: 1 });
});
