// The command line: version, usage errors, unreadable inputs, config errors (design.md
// "Exit codes", "Configuration").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliMain, runCli } from '../helpers/cli.js';
import { repoRoot, isRoot } from '../helpers/env.js';
import { VERSION } from '../../src/version.js';

const tmp = mkdtempSync(join(tmpdir(), 'wirecheck-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

test('--version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  assert.equal(VERSION, pkg.version);
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('unknown command and unknown option are usage errors (exit 2)', async () => {
  assert.equal((await runCli(['frobnicate'])).code, 2);
  const r = await runCli(['analyze', '--no-such-option', 'x.pcap']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option/);
});

test('missing file: one line on stderr, error report, exit 2', async () => {
  const p = join(tmp, 'nope.pcap');
  const r = await runCli(['analyze', '--format', 'json', p]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `wirecheck: no such file: ${p}\n`);
  const reports = JSON.parse(r.stdout);
  assert.equal(reports.length, 1);
  assert.equal(reports[0].type, 'report');
  assert.deepEqual(reports[0].error, { code: 'ENOENT', message: 'no such file' });
  assert.equal(reports[0].input.path, p);
});

test('a directory is EISDIR', async () => {
  const r = await runCli(['analyze', '--format', 'ndjson', tmp]);
  assert.equal(r.code, 2);
  assert.equal(JSON.parse(r.stdout.trim()).error.code, 'EISDIR');
});

test('permission denied is EACCES', async () => {
  const p = join(tmp, 'secret.pcap');
  writeFileSync(p, Buffer.alloc(100));
  chmodSync(p, 0o000);
  let code: number | null;
  let stdout: string;
  if (isRoot()) {
    // root reads anything: run the CLI as nobody (setpriv, util-linux) to get a real EACCES
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliMain, 'analyze', '--format', 'json', p], { encoding: 'utf8' });
    if (r.error) throw new Error(`setpriv is needed to test EACCES as root: ${r.error.message}`);
    code = r.status; stdout = r.stdout;
  } else {
    const r = await runCli(['analyze', '--format', 'json', p]);
    code = r.code; stdout = r.stdout;
  }
  assert.equal(code, 2);
  assert.equal(JSON.parse(stdout)[0].error.code, 'EACCES');
});

test('not a capture: exit 2 and the one-line message', async () => {
  const p = join(tmp, 'notes.pcap');
  writeFileSync(p, 'this is not a capture file, just some text that is long enough\n');
  const r = await runCli(['analyze', p]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `wirecheck: not a pcap or pcapng file: ${p}\n`);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /);
});

test('empty file: EMPTY_FILE', async () => {
  const p = join(tmp, 'empty.pcap');
  writeFileSync(p, '');
  const r = await runCli(['analyze', '--format', 'json', p]);
  assert.equal(r.code, 2);
  assert.equal(JSON.parse(r.stdout)[0].error.code, 'EMPTY_FILE');
});

test('one report per input even when some are unreadable', async () => {
  const a = join(tmp, 'a-missing.pcap');
  const b = join(tmp, 'b-text.pcap');
  writeFileSync(b, 'hello hello hello hello hello hello');
  const r = await runCli(['analyze', '--format', 'ndjson', a, b]);
  assert.equal(r.code, 2);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.error.code), ['ENOENT', 'NOT_A_CAPTURE']);
  assert.equal(r.stderr.trim().split('\n').length, 2);
});

test('bad config: one line naming the key, exit 2', async () => {
  const cfg = join(tmp, 'bad.json');
  const cases: [unknown, RegExp][] = [
    [{ resolvers: ['208.67.222.222', 'not-an-ip'] }, /resolvers\[1\]: not an IP address/],
    [{ swg: { addresses: ['18.135.112.0/99'] } }, /swg\.addresses\[0\]/],
    [{ gotomeeting: { ports: [8200, 70000] } }, /gotomeeting\.ports\[1\]/],
    [{ timeouts: { dnsAnswerMs: -1 } }, /timeouts\.dnsAnswerMs/],
    [{ bogus: 1 }, /bogus: unknown key/],
  ];
  for (const [body, re] of cases) {
    writeFileSync(cfg, JSON.stringify(body));
    const r = await runCli(['analyze', '--config', cfg, join(tmp, 'x.pcap')]);
    assert.equal(r.code, 2, JSON.stringify(body));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  writeFileSync(cfg, '{ not json');
  const r = await runCli(['analyze', '--config', cfg, join(tmp, 'x.pcap')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not valid JSON/);
});

test('bad flags: --checks, --resolver, --format, --dns-timeout', async () => {
  for (const args of [['--checks', 'dns-protection,nope'], ['--resolver', '1.2.3'], ['--format', 'xml'], ['--dns-timeout', 'soon'], ['--client', 'x']]) {
    const r = await runCli(['analyze', ...args, join(tmp, 'x.pcap')]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /^wirecheck: /);
  }
});

test('effective config in the report reflects flags and config file', async () => {
  const cfg = join(tmp, 'good.json');
  writeFileSync(cfg, JSON.stringify({ resolvers: { addresses: ['9.9.9.9'], replace: true }, swg: { addresses: ['18.135.112.0/24'] }, timeouts: { dnsAnswerMs: 3000 } }));
  const r = await runCli(['analyze', '--format', 'json', '--config', cfg, '--resolver', '2620:0119:0035:0000::0035', '--checks', 'dns-protection', join(tmp, 'missing.pcap')]);
  const rep = JSON.parse(r.stdout)[0];
  assert.deepEqual(rep.config.resolvers, ['9.9.9.9', '2620:119:35::35']);
  assert.deepEqual(rep.config.swg.addresses, ['146.112.255.50', '18.135.112.0/24']);
  assert.equal(rep.config.timeouts.dnsAnswerMs, 3000);
  assert.deepEqual(rep.config.checks, ['dns-protection']);
});
