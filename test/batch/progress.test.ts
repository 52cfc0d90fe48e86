import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, fmtDuration } from '../../src/batch/progress.js';

function sink(isTTY: boolean): { isTTY: boolean; columns: number; text: string; write(s: string): boolean } {
  return { isTTY, columns: 100, text: '', write(s: string) { this.text += s; return true; } };
}

test('fmtDuration', () => {
  assert.equal(fmtDuration(0), '00:00');
  assert.equal(fmtDuration(75), '01:15');
  assert.equal(fmtDuration(3725), '1:02:05');
  assert.equal(fmtDuration(NaN), '--:--');
  assert.equal(fmtDuration(-1), '--:--');
});

test('the bar shows files and bytes done of those found, rate and ETA', () => {
  const out = sink(true);
  const p = new Progress(out, true, 60_000);
  try {
    p.found(1024 * 1024);
    p.found(3 * 1024 * 1024);
    const during = p.line(Date.now() + 1000);
    assert.match(during, /^\[-+\] 0\/2\+ files {2}0 B\/4\.0 MiB\+ {2}0 B\/s {2}ETA --:--$/);
    p.discoveryDone();
    p.done(1024 * 1024);
    const l = p.line(Date.now() + 2000);
    assert.match(l, /^\[#+-+\] 1\/2 files {2}1\.0 MiB\/4\.0 MiB {2}\d+\.\d KiB\/s {2}ETA 00:0\d$/);
    const bar = /^\[(#*)(-*)\]/.exec(l)!;
    assert.equal(Math.round((bar[1].length / (bar[1].length + bar[2].length)) * 4), 1, 'a quarter filled');
    assert.ok(l.length <= 99);
  } finally {
    p.finish();
  }
});

test('log clears the bar first; finish clears it; nothing at all when disabled', () => {
  const out = sink(true);
  const p = new Progress(out, true, 60_000);
  p.found(10);
  p.draw();
  assert.match(out.text, /^\r\x1b\[2K\[/);
  out.text = '';
  p.log('wirecheck: something');
  assert.equal(out.text, '\r\x1b[2Kwirecheck: something\n');
  out.text = '';
  p.log('again');
  assert.equal(out.text, 'again\n', 'no clearing when no bar is shown');
  p.draw();
  out.text = '';
  p.finish();
  assert.equal(out.text, '\r\x1b[2K');

  const quiet = sink(false);
  const q = new Progress(quiet);
  assert.equal(q.enabled, false);
  q.found(5); q.done(5); q.draw(); q.finish();
  assert.equal(quiet.text, '');
  q.log('a message still goes out');
  assert.equal(quiet.text, 'a message still goes out\n');
});
