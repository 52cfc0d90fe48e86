// Replays every kept failure in test/regressions/*.hex through the frame decoder: inputs that
// once broke a decoder (shrunk fast-check counterexamples, cases found against tshark) and
// what must happen now.
//
// File format: `#` lines are comments (say where the case came from). `@frame linkType=N
// [origLen=N]` starts a frame whose hex follows on the next lines (whitespace ignored);
// frames are fed in order into one FrameDecoder. `@expect {json}` describes the outcome of
// the last frame: `anomalies` (layer/code list of the whole run), `packet` (null, or fields
// the returned Packet must have), `held` (decoder.lastHeld), `fragmentBytes` (bytes held by
// reassembly afterwards). Every returned Packet must also pass the generic sanity checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnomalySink } from '../../src/errors.js';
import { FrameDecoder } from '../../src/decode/walk.js';
import type { Packet } from '../../src/decode/packet.js';
import { repoRoot } from '../helpers/env.js';
import { assertDecodeError, assertPacketSane, frame } from '../decode/helpers.js';

interface Case {
  frames: Array<{ linkType: number; origLen: number | null; data: Buffer }>;
  expect: { anomalies?: string[]; packet?: null | Partial<Record<keyof Packet, unknown>>; held?: boolean; fragmentBytes?: number };
}

function parse(text: string): Case {
  const frames: Case['frames'] = [];
  let expect: Case['expect'] = {};
  let hex = '';
  let cur: { linkType: number; origLen: number | null } | null = null;
  const flush = (): void => {
    if (cur) frames.push({ ...cur, data: Buffer.from(hex, 'hex') });
    cur = null;
    hex = '';
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('@frame')) {
      flush();
      const lt = /linkType=(\d+)/.exec(line);
      const ol = /origLen=(\d+)/.exec(line);
      cur = { linkType: lt ? Number(lt[1]) : 1, origLen: ol ? Number(ol[1]) : null };
    } else if (line.startsWith('@expect')) {
      flush();
      expect = JSON.parse(line.slice('@expect'.length));
    } else {
      if (!/^[0-9a-fA-F\s]*$/.test(line)) throw new Error(`bad hex line: ${line}`);
      hex += line.replace(/\s+/g, '');
    }
  }
  flush();
  return { frames, expect };
}

const dir = join(repoRoot, 'test', 'regressions');
const files = readdirSync(dir).filter((f) => f.endsWith('.hex')).sort();

test('regressions: the folder holds cases', () => {
  assert.ok(files.length > 0);
});

for (const f of files) {
  test(`regression: ${f}`, () => {
    const c = parse(readFileSync(join(dir, f), 'utf8'));
    assert.ok(c.frames.length > 0, 'no frames');
    const anomalies = new AnomalySink();
    const d = new FrameDecoder(anomalies);
    let last: Packet | null = null;
    c.frames.forEach((fr, i) => {
      last = d.decode(frame(fr.data, fr.linkType, { frameNo: i + 1, origLen: fr.origLen ?? fr.data.length }));
      if (last !== null) assertPacketSane(last);
      if (d.lastStop !== null) assertDecodeError(d.lastStop, (last ?? d.last).data.length);
    });
    const e = c.expect;
    if (e.anomalies !== undefined) assert.deepEqual(anomalies.list().map((a) => `${a.layer}/${a.code}`), e.anomalies);
    if (e.packet === null) assert.equal(last, null);
    else if (e.packet !== undefined) {
      assert.ok(last, 'expected a packet');
      for (const [k, v] of Object.entries(e.packet)) assert.deepEqual((last as unknown as Record<string, unknown>)[k], v, k);
    }
    if (e.held !== undefined) assert.equal(d.lastHeld, e.held);
    if (e.fragmentBytes !== undefined) assert.equal(d.fragmentStats.bytes, e.fragmentBytes);
  });
}
