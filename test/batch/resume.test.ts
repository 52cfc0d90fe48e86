import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropPartialLine, fileKey, loadPreviousRun, NdjsonFile } from '../../src/batch/resume.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'wirecheck-resume-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const line = (path: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: 'report', input: { path, root: '/a', size: 100, mtimeMs: 1.5, packets: 1, bytes: 1 }, checks: [], findings: [], ...extra }) + '\n';

test('dropPartialLine keeps whole lines only', () => {
  const p = join(dir, 'p.ndjson');
  const cases: [string, string][] = [
    ['', ''],
    ['a\n', 'a\n'],
    ['a\nb\n', 'a\nb\n'],
    ['a\nbc', 'a\n'],
    ['abc', ''],
    ['a\n' + 'x'.repeat(200_000), 'a\n'],
    ['x'.repeat(70_000) + '\n' + 'y'.repeat(70_000), 'x'.repeat(70_000) + '\n'],
  ];
  for (const [before, want] of cases) {
    writeFileSync(p, before);
    const fd = openSync(p, 'r+');
    const dropped = dropPartialLine(fd);
    closeSync(fd);
    assert.equal(readFileSync(p, 'utf8'), want);
    assert.equal(dropped, Buffer.byteLength(before) - Buffer.byteLength(want));
  }
});

test('loadPreviousRun: reports by root+path, a partial last line dropped from the file, junk ignored', async () => {
  const p = join(dir, 'out.ndjson');
  writeFileSync(p, line('a.pcap') + line('b.pcap', { error: { code: 'EACCES', message: 'x' } }) + 'not json\n' + '{"type":"finding"}\n' + line('a.pcap', { input: { path: 'a.pcap', root: '/a', size: 200, mtimeMs: 3 } }));
  appendFileSync(p, line('c.pcap').slice(0, 40));
  const seen: string[] = [];
  const run = await loadPreviousRun(p, (d) => seen.push(d.path));
  assert.deepEqual(seen, ['a.pcap', 'b.pcap', 'a.pcap']);
  assert.equal(run.reports, 3);
  assert.equal(run.badLines, 2);
  assert.equal(run.droppedBytes, 40);
  assert.deepEqual(run.reported.get(fileKey('/a', 'a.pcap')), { size: 200, mtimeMs: 3, error: false }, 'the last report of a file counts');
  assert.deepEqual(run.reported.get(fileKey('/a', 'b.pcap')), { size: 100, mtimeMs: 1.5, error: true });
  assert.equal(run.reported.has(fileKey('/a', 'c.pcap')), false);
  assert.ok(readFileSync(p, 'utf8').endsWith('\n'));
});

test('loadPreviousRun of a missing file is empty', async () => {
  const run = await loadPreviousRun(join(dir, 'nope.ndjson'));
  assert.equal(run.reports, 0);
  assert.equal(run.reported.size, 0);
});

test('NdjsonFile: fresh truncates, append keeps, each line whole', () => {
  const p = join(dir, 'w.ndjson');
  writeFileSync(p, 'old\n');
  const a = new NdjsonFile(p, true);
  a.writeLine('{"x":1}\n');
  a.writeLine('{"x":2}');
  a.close();
  assert.equal(readFileSync(p, 'utf8'), 'old\n{"x":1}\n{"x":2}\n');
  const f = new NdjsonFile(p, false);
  f.writeLine('{"x":3}\n');
  f.close();
  f.close();
  assert.equal(readFileSync(p, 'utf8'), '{"x":3}\n');
});
