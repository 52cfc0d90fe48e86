// `wirecheck live` and `wirecheck interfaces` end to end: the compiled CLI (from the same
// dist folder as this file) capturing for real on a veth pair between two network
// namespaces (prefix wcl, 10.34.0.0/16), while dig TXT queries to a resolver address whose
// firewall drops UDP 53/443 and a TCP connect to a closed port (reset) cross it. Also the
// error paths (cap missing, unknown interface, bad filter, permission denied, unknown user),
// Ctrl-C and SIGTERM, --count/--snaplen/--write, --user and the TTY status line.
//
// Needs root and a built cap; skipped with a message without them, failing when CI is set.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCI, need } from '../helpers/env.js';
import { cliMain, runCli } from '../helpers/cli.js';
import { CAP_MISSING_MESSAGE, loadCap, PERMISSION_HINT } from '../../src/source/live.js';
import type { Report } from '../../src/report/types.js';

const capBuilt = await loadCap().then(() => true, () => false);
function needCap(): false | string {
  if (capBuilt) return false;
  const why = "the optional 'cap' module is not built (apt-get install libpcap-dev; npm rebuild cap)";
  if (inCI) throw new Error(`prerequisite missing in CI: ${why}`);
  return `skipped: ${why}`;
}
const needRootAndCap = (): false | string => need('root') || needCap();

const tmp = mkdtempSync(join(tmpdir(), 'wirecheck-live-'));
chmodSync(tmp, 0o777);                  // --user nobody writes here
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const NS_A = `wcl-${process.pid}-a`;
const NS_B = `wcl-${process.pid}-b`;
const IF_A = 'wcl0';
const ADDR_A = '10.34.0.1';
const ADDR_B = '10.34.0.2';

const children = new Set<ChildProcess>();

interface Finished { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
interface LiveRun { child: ChildProcess; ready: Promise<void>; done: Promise<Finished> }

/** Start `wirecheck live ...` inside namespace `ns`; `ready` resolves once it is listening. */
function startLive(ns: string, args: string[], timeoutMs = 40_000): LiveRun {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, cliMain, 'live', ...args], {
    env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '', stderr = '';
  let readyResolve!: () => void, readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
  const readyTimer = setTimeout(() => readyReject(new Error(`not listening after 15 s; stderr: ${stderr}`)), 15_000);
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/listening on /.test(stderr)) { clearTimeout(readyTimer); readyResolve(); }
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      clearTimeout(readyTimer);
      children.delete(child);
      readyReject(new Error(`exited (code ${code}) before listening; stderr: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  ready.catch(() => undefined);
  return { child, ready, done };
}

/** Run a command inside a namespace; resolves with its exit code (never rejects on failure). */
function inNs(ns: string, cmd: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...cmd], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function sh(script: string): void {
  const r = spawnSync('timeout', ['30', 'bash', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setup failed (${r.status}): ${r.stderr}`);
}

function tsharkFrames(file: string): { no: number; len: number; capLen: number; fields: string[] }[] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'frame.len', '-e', 'frame.cap_len',
    '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'udp.dstport'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `tshark cannot read ${file}: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const f = l.split('|');
    return { no: Number(f[0]), len: Number(f[1]), capLen: Number(f[2]), fields: f.slice(3) };
  });
}

// ---------------------------------------------------------------------------------------
// without a capture

test('cap missing (simulated): one line, exit 2, for live and interfaces', async () => {
  for (const args of [['live', '-i', 'lo'], ['interfaces']]) {
    const r = await runCli(args, { env: { WIRECHECK_FAKE_NO_CAP: '1' } });
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, `wirecheck: ${CAP_MISSING_MESSAGE}\n`);
    assert.equal(r.stdout, '');
  }
});

test('usage errors: missing -i, bad --count/--snaplen/--duration/--buffer-size, unknown --user (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [['live'], /required option '-i, --interface <name>'/],
    [['live', '-i', 'lo', '--count', '0'], /^wirecheck: --count: expected a whole number from 1 to \d+, got '0'\n$/],
    [['live', '-i', 'lo', '--snaplen', 'x'], /^wirecheck: --snaplen: expected a whole number from 1 to 262144, got 'x'\n$/],
    [['live', '-i', 'lo', '--duration', 'soon'], /^wirecheck: --duration: expected a duration/],
    [['live', '-i', 'lo', '--buffer-size', '0'], /^wirecheck: --buffer-size: expected a whole number from 1 to 4096, got '0'\n$/],
    [['live', '-i', 'lo', '--user', 'no_such_user_wcl'], /^wirecheck: --user: unknown user 'no_such_user_wcl'\n$/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args, { timeoutMs: 20_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('unknown interface: one line listing the valid ones, exit 2', { skip: needCap() }, async () => {
  const r = await runCli(['live', '-i', 'nosuch-wcl0'], { timeoutMs: 20_000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wirecheck: no such interface 'nosuch-wcl0' \(interfaces: [^\n]*\blo\b[^\n]*\)\n$/);
  assert.equal(r.stdout, '');
});

test('permission denied: one line with the setcap hint, exit 2', { skip: needRootAndCap() }, async (t) => {
  if (spawnSync('setpriv', ['--version']).status !== 0) { t.skip('setpriv (util-linux) is not installed'); return; }
  if ((statSync(cliMain).mode & 0o004) === 0) { t.skip('the build is not readable by other users'); return; }
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliMain, 'live', '-i', 'lo'],
    { encoding: 'utf8', timeout: 20_000, cwd: tmp });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^wirecheck: permission denied capturing on lo \([^\n]*\): /);
  assert.ok(r.stderr.endsWith(`${PERMISSION_HINT}\n`), r.stderr);
  assert.equal(r.stderr.split('\n').length, 2, 'one line');
});

// ---------------------------------------------------------------------------------------
// in namespaces

describe('live capture on a veth pair between namespaces', { skip: needRootAndCap() }, () => {
  before(() => {
    sh(`set -euo pipefail
      ip netns add ${NS_A}; ip netns add ${NS_B}
      ip link add ${IF_A} netns ${NS_A} type veth peer name wcl1 netns ${NS_B}
      ip -n ${NS_A} addr add ${ADDR_A}/24 dev ${IF_A}; ip -n ${NS_B} addr add ${ADDR_B}/24 dev wcl1
      ip -n ${NS_A} link set lo up; ip -n ${NS_B} link set lo up
      ip -n ${NS_A} link set ${IF_A} up; ip -n ${NS_B} link set wcl1 up
      ip netns exec ${NS_B} iptables -A INPUT -p udp --dport 53 -j DROP
      ip netns exec ${NS_B} iptables -A INPUT -p udp --dport 443 -j DROP`);
  });

  after(() => {
    for (const c of children) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NS_A]);
    spawnSync('ip', ['netns', 'del', NS_B]);
  });

  test('findings while capturing, the final report, --write and exit 1', { timeout: 60_000 }, async () => {
    const file = join(tmp, 'live.pcapng');
    const run = startLive(NS_A, ['-i', IF_A, '--resolver', ADDR_B, '--swg', `${ADDR_B}/32`, '--dns-timeout', '2s',
      '--duration', '8', '--write', file, '--format', 'ndjson']);
    await run.ready;
    // real traffic: TXT queries the far side's firewall drops (UDP 53 and 443), a TCP
    // connect to a closed port (reset)
    await inNs(NS_A, ['dig', '+tries=2', '+timeout=1', `@${ADDR_B}`, 'TXT', 'debug.opendns.com']);
    await inNs(NS_A, ['dig', '-p', '443', '+tries=2', '+timeout=1', `@${ADDR_B}`, 'TXT', 'debug.opendns.com']);
    const tcp = await inNs(NS_A, ['bash', '-c', `exec 3<>/dev/tcp/${ADDR_B}/443`]);
    assert.notEqual(tcp.code, 0, 'the TCP connect should have been refused');
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^wirecheck: listening on wcl0, link type ETHERNET, snap length 65535 bytes, no filter, for 8 s\n$/);

    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const report = lines[lines.length - 1] as unknown as Report;
    assert.equal(report.type, 'report');
    const early = lines.slice(0, -1);
    assert.ok(early.length >= 1, 'findings are printed while capturing');
    assert.ok(early.every((l) => l.type === 'finding'));
    assert.ok(early.some((l) => l.id === 'swg-reset'), 'the reset is reported as soon as it is seen');

    const has = (id: string, port: number, transport: string) => report.findings.find((f) =>
      f.id === id && f.target.ip === ADDR_B && f.target.port === port && f.target.transport === transport);
    const u53 = has('dns-unanswered', 53, 'udp');
    const u443 = has('dns-unanswered', 443, 'udp');
    const rst = has('swg-reset', 443, 'tcp');
    assert.ok(u53, `dns-unanswered on UDP 53: ${JSON.stringify(report.findings.map((f) => [f.id, f.target]))}`);
    assert.ok(u443, 'dns-unanswered on UDP 443');
    assert.ok(rst, 'swg-reset');
    assert.ok(u53.attempts >= 1 && u53.count >= 2, 'the query and its retry');
    assert.equal(report.checks.find((c) => c.check === 'dns-protection')?.status, 'fail');
    assert.equal(report.checks.find((c) => c.check === 'web-protection')?.status, 'fail');

    const input = report.input;
    assert.equal(input.path, 'live:wcl0');
    assert.deepEqual(input.linkTypes, ['ETHERNET']);
    assert.equal(input.timing, 'arrival');
    assert.equal(input.drops, null);
    const live = input.live as Record<string, unknown>;
    assert.equal(live.stoppedBy, 'duration');
    assert.equal(live.queueDrops, 0);
    assert.ok((live.durationMs as number) >= 7900 && (live.durationMs as number) < 20_000);

    // the --write file: tshark reads it, same packets and lengths as the report, and the
    // finding's frame numbers point at the evidence in it
    const frames = tsharkFrames(file);
    assert.equal(frames.length, input.packets);
    assert.deepEqual(frames.map((f) => f.no), frames.map((_, i) => i + 1));
    assert.equal(frames.reduce((s, f) => s + f.len, 0), input.bytes);
    const syn = frames[rst.firstFrame - 1];
    assert.deepEqual(syn.fields.slice(0, 3), [ADDR_B, '443', '1'], `frame ${rst.firstFrame} is the SYN to ${ADDR_B}:443`);
    for (const n of u53.frames) assert.deepEqual([frames[n - 1].fields[0], frames[n - 1].fields[3]], [ADDR_B, '53']);

    // and `analyze` on it finds the reset too
    const off = await runCli(['analyze', '--swg', `${ADDR_B}/32`, '--format', 'json', file]);
    assert.equal(off.code, 1, off.stderr);
    const offReport = (JSON.parse(off.stdout) as Report[])[0];
    assert.ok(offReport.findings.some((f) => f.id === 'swg-reset' && f.target.ip === ADDR_B));
    assert.equal(offReport.input.packets, input.packets);
  });

  test('Ctrl-C: the capture stops, the report is printed, exit per the checks', { timeout: 30_000 }, async () => {
    const run = startLive(NS_A, ['-i', 'lo', '--format', 'json']);
    await run.ready;
    await inNs(NS_A, ['dig', '+tries=1', '+timeout=1', '@127.0.0.1', 'TXT', 'debug.opendns.com']);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    const reports = JSON.parse(r.stdout) as Report[];
    assert.equal(reports.length, 1);
    assert.equal((reports[0].input.live as Record<string, unknown>).stoppedBy, 'SIGINT');
    assert.ok(reports[0].input.packets >= 2, 'the query and the ICMP port unreachable on lo');
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `only the listening line: ${r.stderr}`);
  });

  test('SIGTERM stops like Ctrl-C; a second signal quits at once', { timeout: 30_000 }, async () => {
    const once = startLive(NS_A, ['-i', 'lo', '--format', 'ndjson']);
    await once.ready;
    once.child.kill('SIGTERM');
    const r1 = await once.done;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(JSON.parse(r1.stdout.trim()).input.live.stoppedBy, 'SIGTERM');

    // two signals delivered together (hold the process, queue SIGINT and SIGTERM, go on;
    // the kernel picks their order): the second one ends the process with 128 + its number
    // instead of the graceful exit 0
    const twice = startLive(NS_A, ['-i', 'lo', '--format', 'json']);
    await twice.ready;
    twice.child.kill('SIGSTOP');
    twice.child.kill('SIGINT');
    twice.child.kill('SIGTERM');
    twice.child.kill('SIGCONT');
    const r2 = await twice.done;
    assert.ok(r2.code === 130 || r2.code === 143, `exit code ${r2.code}, signal ${r2.signal}: ${r2.stderr}`);
  });

  test('--count, --snaplen and --write: exactly the frames analysed, cut as asked', { timeout: 40_000 }, async () => {
    const file = join(tmp, 'count.pcapng');
    const run = startLive(NS_A, ['-i', IF_A, '--count', '4', '--snaplen', '60', '--write', file, '--format', 'json']);
    await run.ready;
    let exited = false;
    void run.done.then(() => { exited = true; });
    for (let i = 0; i < 6 && !exited; i++) {
      await inNs(NS_A, ['dig', '+tries=1', '+timeout=1', `@${ADDR_B}`, 'TXT', `q${i}.debug.opendns.com`]);
    }
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    const report = (JSON.parse(r.stdout) as Report[])[0];
    assert.equal(report.input.packets, 4);
    assert.equal((report.input.live as Record<string, unknown>).stoppedBy, 'count');
    assert.ok(report.input.snaplenTruncatedFrames >= 1, 'the DNS queries are longer than 60 bytes');
    const frames = tsharkFrames(file);
    assert.equal(frames.length, 4);
    assert.ok(frames.every((f) => f.capLen <= 60));
    assert.ok(frames.some((f) => f.len > f.capLen), 'original lengths kept');
    assert.equal(frames.reduce((s, f) => s + f.len, 0), report.input.bytes);
  });

  test('bad capture filter: libpcap\'s message on one line, exit 2', { timeout: 20_000 }, async () => {
    const r = await inNs(NS_A, [process.execPath, cliMain, 'live', '-i', 'lo', '--filter', 'port eleventy']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^wirecheck: capture filter does not compile: [^\n]+: 'port eleventy'\n$/);
  });

  test('--user: privileges dropped once the capture is open; the capture goes on', { timeout: 30_000 }, async () => {
    const file = join(tmp, 'user.pcapng');
    const run = startLive(NS_A, ['-i', 'lo', '--user', 'nobody', '--duration', '3', '--write', file, '--format', 'json']);
    await run.ready;
    await inNs(NS_A, ['dig', '+tries=1', '+timeout=1', '@127.0.0.1', 'TXT', 'debug.opendns.com']);
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    const report = (JSON.parse(r.stdout) as Report[])[0];
    assert.ok(report.input.packets >= 2, 'packets captured after the switch');
    const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    assert.equal(statSync(file).uid, nobody, 'the --write file was created as the user (after the switch)');
    assert.equal(tsharkFrames(file).length, report.input.packets);
  });

  test('interfaces: the namespace\'s devices with addresses (json and table)', { timeout: 20_000 }, async () => {
    const j = await inNs(NS_A, [process.execPath, cliMain, 'interfaces', '--format', 'json']);
    assert.equal(j.code, 0, j.stderr);
    const devs = JSON.parse(j.stdout) as { name: string; loopback: boolean; addresses: { addr: string; prefix: number }[] }[];
    const veth = devs.find((d) => d.name === IF_A);
    assert.ok(veth, j.stdout);
    assert.ok(veth.addresses.some((a) => a.addr === ADDR_A && a.prefix === 24));
    const lo = devs.find((d) => d.name === 'lo');
    assert.ok(lo && lo.loopback && lo.addresses.some((a) => a.addr === '127.0.0.1' && a.prefix === 8));
    const t = await inNs(NS_A, [process.execPath, cliMain, 'interfaces']);
    assert.equal(t.code, 0);
    assert.match(t.stdout, /wcl0\s*│\s*10\.34\.0\.1\/24/);
  });

  test('TTY + table: a status line while capturing, cleared before the final table', { timeout: 30_000 }, async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) { t.skip('script (util-linux) is not installed'); return; }
    // script(1) gives the CLI a terminal; stdout and stderr both land in `out`
    const cmd = `ip netns exec ${NS_A} ${process.execPath} ${cliMain} live -i lo --duration 3`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => { clearTimeout(kill); children.delete(child); resolve(c); }));
    assert.equal(code, 0, out);
    assert.match(out, /\r\x1b\[Kcapturing on lo: \d+ packets, \d+ flows, \d+ findings, \d+ s \(Ctrl-C stops\)/);
    const table = out.search(/wirecheck \d+\.\d+\.\d+\S* — live:lo/);
    assert.ok(table > 0, out);
    // the last thing before the table is the clearing of the status line
    assert.ok(out.slice(0, table).endsWith('\r\x1b[K'), JSON.stringify(out.slice(Math.max(0, table - 80), table)));
  });
});
