// `wirecheck batch` and `wirecheck summarize` end to end: the real CLI (compiled main.js of
// this build folder) over folders built in a temp dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, cliMain } from '../helpers/cli.js';
import { analyzePath } from '../../src/pipeline.js';
import { buildConfig } from '../../src/cli/options.js';
import { failedFileReport } from '../../src/cli/batch.js';
import type { Report } from '../../src/report/types.js';
import { buildManyScenarioFiles, buildMixedFolder, type MixedFolder } from './fixtures.js';

let dir: string;
let archive: string;
let mixed: MixedFolder;
let many: string;
let manyFiles: string[];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirecheck-batch-cli-'));
  archive = join(dir, 'archive');
  mixed = buildMixedFolder(archive);
  many = join(dir, 'many');
  manyFiles = buildManyScenarioFiles(many, 150);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function parseLines(text: string): Report[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Report);
}

function linesOf(file: string): Report[] {
  return existsSync(file) ? parseLines(readFileSync(file, 'utf8')) : [];
}

/** What `analyze` gives for a file, as batch must report it. */
async function expectedReport(root: string, path: string): Promise<Report> {
  const config = await buildConfig({});
  try {
    return await analyzePath(join(root, path), config, { displayPath: path, root });
  } catch (e) {
    // the pipeline threw: batch reports it as an INTERNAL error for that file
    const st = (await import('node:fs')).statSync(join(root, path));
    return failedFileReport(config, { file: join(root, path), root, path, size: st.size, mtimeMs: st.mtimeMs, code: 'INTERNAL', message: `internal error while analysing: ${(e as Error).message}` });
  }
}

test('a mixed folder: every capture once, the same report as analyze, bad files as errors, exit 2', async () => {
  const r = await runCli(['batch', archive, '--format', 'ndjson', '--jobs', '2', '--verbose']);
  assert.equal(r.code, 2, r.stderr);
  const reports = parseLines(r.stdout);
  const paths = reports.map((x) => x.input.path).sort();
  const expectedPaths = [...mixed.captures, ...mixed.bad.map((b) => b.path)].sort();
  assert.deepEqual(paths, expectedPaths, 'each capture (and each bad file named like one) reported exactly once');
  for (const rep of reports) {
    assert.equal(rep.input.root, archive);
    assert.deepEqual(rep, await expectedReport(archive, rep.input.path), `report of ${rep.input.path}`);
  }
  const by = new Map(reports.map((x) => [x.input.path, x]));
  for (const b of mixed.bad) assert.equal(by.get(b.path)!.error?.code, b.code, `${b.path} is reported as ${b.code}`);
  for (const c of mixed.captures) assert.equal(by.get(c)!.error, undefined, `${c} is read`);
  for (const t of mixed.truncated) assert.equal(by.get(t)!.input.truncated, true, `${t} is flagged truncated`);
  assert.ok(reports.some((x) => x.findings.length > 0), 'the crafted problem captures produce findings');
  // bad files are named on stderr; skipped files too with --verbose
  for (const b of mixed.bad) assert.match(r.stderr, new RegExp(`wirecheck: .*: ${join(archive, b.path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
  for (const s of mixed.skipped) assert.ok(r.stderr.includes(`skipped (not a capture): ${join(archive, s)}`), s);
});

test('table format prints the summary; json format one array of the same reports', async () => {
  const t = await runCli(['batch', archive, '--jobs', '2']);
  assert.equal(t.code, 2);
  const n = mixed.captures.length + mixed.bad.length;
  assert.match(t.stdout, new RegExp(`files scanned\\s+│ ${n} `));
  assert.match(t.stdout, /Unreadable files/);
  assert.doesNotMatch(t.stderr, /skipped/, 'skipped files only with --verbose');
  const j = await runCli(['batch', archive, '--jobs', '1', '--format', 'json']);
  assert.equal(j.code, 2);
  const arr = JSON.parse(j.stdout) as Report[];
  assert.equal(arr.length, n);
  const nd = await runCli(['batch', archive, '--jobs', '1', '--format', 'ndjson']);
  const byPath = (rs: Report[]): Report[] => [...rs].sort((a, b) => (a.input.path < b.input.path ? -1 : 1));
  assert.deepEqual(byPath(arr), byPath(parseLines(nd.stdout)));
});

test('--out writes NDJSON while the table goes to stdout; summarize prints the same summary and exit code', async () => {
  const out = join(dir, 'out-table.ndjson');
  const r = await runCli(['batch', archive, '--out', out]);
  assert.equal(r.code, 2);
  const lines = linesOf(out);
  assert.equal(lines.length, mixed.captures.length + mixed.bad.length);
  const s = await runCli(['summarize', out]);
  assert.equal(s.code, r.code);
  assert.equal(s.stdout, r.stdout);
  const sj = await runCli(['summarize', out, '--format', 'json']);
  const summary = JSON.parse(sj.stdout) as { files: number; exitCode: number };
  assert.equal(summary.files, lines.length);
  assert.equal(summary.exitCode, 2);
});

test('shards: disjoint, their union is the unsharded run, summarize over them prints the same summary', async () => {
  const whole = join(dir, 'whole.ndjson');
  const w = await runCli(['batch', archive, '--jobs', '2', '--out', whole]);
  const all = linesOf(whole).map((x) => x.input.path).sort();
  const parts: string[][] = [];
  const outs: string[] = [];
  for (let i = 0; i < 3; i++) {
    const out = join(dir, `shard-${i}.ndjson`);
    outs.push(out);
    const r = await runCli(['batch', archive, '--jobs', '2', '--shard', `${i}/3`, '--out', out]);
    assert.ok(r.code === 0 || r.code === 1 || r.code === 2, r.stderr);
    parts.push(linesOf(out).map((x) => x.input.path));
  }
  const union = parts.flat().sort();
  assert.equal(new Set(union).size, union.length, 'shards are disjoint');
  assert.deepEqual(union, all, 'their union is the unsharded run');
  assert.ok(parts.filter((p) => p.length > 0).length >= 2);
  const s = await runCli(['summarize', ...outs]);
  assert.equal(s.stdout, w.stdout);
  assert.equal(s.code, w.code);
  // auto/3 takes the index from the array-job environment
  const auto = join(dir, 'shard-auto.ndjson');
  await runCli(['batch', archive, '--shard', 'auto/3', '--out', auto], { env: { JOB_COMPLETION_INDEX: '1', AWS_BATCH_JOB_ARRAY_INDEX: '', SLURM_ARRAY_TASK_ID: '' } });
  assert.deepEqual(linesOf(auto).map((x) => x.input.path).sort(), [...parts[1]].sort());
});

test('resume: a batch killed (SIGKILL) halfway is finished by the same command; every file exactly once', async () => {
  const out = join(dir, 'resume.ndjson');
  // stdout is a pipe nobody reads: once it is full the batch blocks on it, with some
  // reports already in --out; then it is killed
  const child = spawn(process.execPath, [cliMain, 'batch', many, '--jobs', '1', '--format', 'ndjson', '--out', out],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, TZ: 'UTC' } });
  let exited = false;
  child.on('exit', () => { exited = true; });
  let last = -1, stableSince = Date.now();
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && !exited) {
    await sleep(50);
    const n = existsSync(out) ? readFileSync(out, 'utf8').length : 0;
    if (n !== last) { last = n; stableSince = Date.now(); } else if (n > 0 && Date.now() - stableSince > 700) break;
  }
  assert.equal(exited, false, 'the batch should still be running (blocked on its stdout)');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  const before = linesOf(out);
  assert.ok(before.length > 0 && before.length < manyFiles.length, `killed after ${before.length} of ${manyFiles.length}`);
  // a kill in the middle of a write leaves an unterminated line: simulate it too
  appendFileSync(out, JSON.stringify(before[0]).slice(0, 100));

  const again = await runCli(['batch', many, '--jobs', '2', '--out', out, '--resume', '--verbose']);
  assert.ok(again.code !== null && again.code <= 2, again.stderr);
  assert.match(again.stderr, new RegExp(`resuming: ${before.length} reports already in .*dropped an unterminated last line \\(100 bytes\\)`));
  assert.match(again.stderr, new RegExp(`${manyFiles.length - before.length} files analysed.*${before.length} already reported`));
  const afterLines = linesOf(out);   // parses: no partial line left
  const paths = afterLines.map((x) => x.input.path).sort();
  assert.deepEqual(paths, manyFiles, 'every file exactly once');
  // the resumed run's summary covers the whole batch, as a fresh run's does
  const fresh = await runCli(['batch', many, '--jobs', '2']);
  assert.equal(again.stdout, fresh.stdout);
  assert.equal(again.code, fresh.code);
  // a third run has nothing left to do
  const third = await runCli(['batch', many, '--out', out, '--resume', '--verbose']);
  assert.match(third.stderr, /0 files analysed/);
  assert.equal(linesOf(out).length, manyFiles.length);
  // a changed file is scanned again (and counted once in the summary)
  appendFileSync(join(many, manyFiles[0]), Buffer.alloc(0));
  const { utimesSync } = await import('node:fs');
  utimesSync(join(many, manyFiles[0]), new Date(), new Date(Date.now() + 5000));
  const fourth = await runCli(['batch', many, '--out', out, '--resume', '--verbose']);
  assert.match(fourth.stderr, /1 files analysed/);
  assert.equal(fourth.stdout, fresh.stdout);
});

test('Ctrl-C: the files in progress finish, no more start, exit 130; --resume finishes', async () => {
  const out = join(dir, 'sigint.ndjson');
  const child = spawn(process.execPath, [cliMain, 'batch', many, '--jobs', '1', '--out', out],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
  let stderr = '', stdout = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && !(existsSync(out) && readFileSync(out, 'utf8').includes('\n'))) await sleep(5);
  child.kill('SIGINT');
  const code = await closed;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted: finishing the files in progress .*--resume/);
  const done = linesOf(out);
  assert.ok(done.length > 0 && done.length < manyFiles.length, `${done.length} of ${manyFiles.length}`);
  assert.match(stdout, new RegExp(`files scanned\\s+│ ${done.length} `), 'the summary covers what was scanned');
  const rest = await runCli(['batch', many, '--out', out, '--resume']);
  assert.ok(rest.code !== null && rest.code <= 2);
  assert.deepEqual(linesOf(out).map((x) => x.input.path).sort(), manyFiles);
});

test('usage errors: one line, exit 2', async () => {
  for (const [args, re] of [
    [['batch', archive, '--resume'], /--resume needs --out/],
    [['batch', archive, '--shard', '3/3'], /--shard: index 3 is not below/],
    [['batch', archive, '--shard', 'auto/3'], /--shard auto\/3: none of/],
    [['batch', archive, '--jobs', '0'], /--jobs: expected 1 to/],
    [['batch', archive, '--jobs', 'many'], /--jobs: expected a number/],
    [['batch', archive, '--format', 'xml'], /--format/],
    [['batch', archive, '--out', join(dir, 'no-such-dir', 'x.ndjson')], /--out: cannot write .*: ENOENT/],
    [['batch', archive, '--out', dir, '--resume'], /--out: cannot resume from .*: EISDIR/],
  ] as [string[], RegExp][]) {
    const r = await runCli(args, { env: { JOB_COMPLETION_INDEX: '', AWS_BATCH_JOB_ARRAY_INDEX: '', SLURM_ARRAY_TASK_ID: '' } });
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
});

test('missing paths, globs and summarize inputs', async () => {
  const r = await runCli(['batch', join(dir, 'nope'), `${archive}/zz*/*.pcap`, '--format', 'ndjson']);
  assert.equal(r.code, 2);
  const reps = parseLines(r.stdout);
  assert.deepEqual(reps.map((x) => x.error?.code), ['ENOENT', 'ENOENT']);
  const g = await runCli(['batch', `${archive}/site-*/**/*.pcap`, '--format', 'ndjson']);
  const gp = parseLines(g.stdout).map((x) => x.input.path).sort();
  assert.deepEqual(gp, [...mixed.captures, ...mixed.bad.map((b) => b.path)].filter((p) => /^site-.*\.pcap$/.test(p)).sort());
  const s = await runCli(['summarize', join(dir, 'nope.ndjson')]);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /cannot read .*nope\.ndjson: ENOENT/);
});

test('no capture at all: an empty summary, exit 0', async () => {
  const empty = mkdtempSync(join(dir, 'empty-'));
  const e = await runCli(['batch', empty]);
  assert.equal(e.code, 0);
  assert.match(e.stdout, /files scanned\s+│ 0 /);
});
