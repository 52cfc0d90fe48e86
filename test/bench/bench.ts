// `npm run bench`: speed and memory of `wirecheck analyze` against a plain Node read and
// tshark's single pass, on generated captures of 100 MiB and 2 GiB (over a million
// distinct flows), plus the batch case (--jobs 1 vs --jobs 2). Prints figures; asserts
// nothing (timed assertions do not belong in tests). WIRECHECK_BENCH_QUICK=1 runs the
// 100 MiB file only.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, hasTshark } from '../helpers/env.js';
import { generate } from './generate.js';

const GENERATOR_VERSION = 3;
const dataDir = join(repoRoot, 'bench-data');

interface RunResult {
  ms: number;
  peakRssMiB: number;
  code: number | null;
  stdout: string;
}

/** Run a command, polling /proc/<pid>/status for VmHWM (peak RSS) until it exits. */
function run(cmd: string, args: string[], captureStdout = false): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', 'inherit'] });
    let hwmKb = 0;
    let out = '';
    child.stdout?.on('data', (d: Buffer) => { if (out.length < 1 << 20) out += d.toString(); });
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch { /* exited */ }
    }, 20);
    child.on('error', (e) => { clearInterval(poll); reject(e); });
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, peakRssMiB: hwmKb / 1024, code, stdout: out });
    });
  });
}

function ensureCapture(name: string, sizeMiB: number): { path: string; bytes: number; packets: number; flows: number } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, name);
  const metaPath = path + '.json';
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
    if (meta.version === GENERATOR_VERSION && meta.sizeMiB === sizeMiB && statSync(path).size === meta.bytes) return meta;
  }
  process.stdout.write(`generating ${name} (${sizeMiB} MiB)… `);
  const t0 = Date.now();
  const res = generate(path, sizeMiB, 1);
  process.stdout.write(`${res.packets} packets, ${res.flows} flows, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const meta = { version: GENERATOR_VERSION, sizeMiB, ...res };
  writeFileSync(metaPath, JSON.stringify(meta));
  return meta;
}

const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

/** Keep the faster time and the larger peak RSS of two runs of the same command in `a`. */
function best(a: RunResult, b: RunResult): void {
  if (b.code === a.code && b.ms < a.ms) {
    a.ms = b.ms;
    a.stdout = b.stdout;
  }
  a.peakRssMiB = Math.max(a.peakRssMiB, b.peakRssMiB);
}

async function benchFile(name: string, sizeMiB: number): Promise<Record<string, string | number>> {
  const cap = ensureCapture(name, sizeMiB);
  const node = process.execPath;
  // The plain read and wirecheck run twice each, alternating, and the faster run counts
  // (peak RSS: the larger). The first plain read brings the file into the page cache, so
  // the figures compare computing, not the disk (a machine that reclaims page cache
  // proactively otherwise hands the first reader a partly cold file).
  const plainArgs = [join(repoRoot, 'dist', 'test', 'bench', 'plain-read.js'), cap.path];
  const wcArgs = [join(repoRoot, 'bin', 'wirecheck'), 'analyze', '--format', 'json', cap.path];
  const plain = await run(node, plainArgs);
  const wc = await run(node, wcArgs, true);
  best(plain, await run(node, plainArgs));
  best(wc, await run(node, wcArgs, true));
  let flowsSeen = -1;
  let findings = -1;
  try {
    const rep = JSON.parse(wc.stdout)[0];
    flowsSeen = rep.flows.total;
    findings = rep.findings.length;
  } catch { /* reported below */ }
  let tshark: RunResult | null = null;
  if (hasTshark()) tshark = await run('tshark', ['-r', cap.path, '-Y', 'dns.qry.type == 16']);
  const wcMBs = mbps(cap.bytes, wc.ms);
  const plainMBs = mbps(cap.bytes, plain.ms);
  const row: Record<string, string | number> = {
    capture: name,
    MiB: +(cap.bytes / 1048576).toFixed(0),
    packets: cap.packets,
    flows: cap.flows,
    'wirecheck exit': wc.code ?? 'signal',
    'wirecheck flows seen': flowsSeen,
    'wirecheck findings': findings,
    'wirecheck s': +(wc.ms / 1000).toFixed(2),
    'wirecheck MB/s': +wcMBs.toFixed(0),
    'wirecheck kpkt/s': +(cap.packets / wc.ms).toFixed(0),
    'wirecheck peak RSS MiB': +wc.peakRssMiB.toFixed(0),
    'plain read MB/s': +plainMBs.toFixed(0),
    'plain read peak RSS MiB': +plain.peakRssMiB.toFixed(0),
    'wirecheck / plain read': +(wcMBs / plainMBs).toFixed(3),
  };
  if (tshark) {
    const tsMBs = mbps(cap.bytes, tshark.ms);
    row['tshark s'] = +(tshark.ms / 1000).toFixed(2);
    row['tshark MB/s'] = +tsMBs.toFixed(0);
    row['tshark peak RSS MiB'] = +tshark.peakRssMiB.toFixed(0);
    row['wirecheck / tshark'] = +(wcMBs / tsMBs).toFixed(1);
  } else {
    row['tshark'] = 'not installed';
  }
  return row;
}

function print(title: string, row: Record<string, string | number>): void {
  process.stdout.write(`\n${title}\n`);
  const w = Math.max(...Object.keys(row).map((k) => k.length));
  for (const [k, v] of Object.entries(row)) process.stdout.write(`  ${k.padEnd(w)}  ${v}\n`);
}

async function main(): Promise<void> {
  process.stdout.write(`wirecheck benchmark — node ${process.version}, ${(await import('node:os')).availableParallelism()} cores\n`);
  const quick = !!process.env.WIRECHECK_BENCH_QUICK;
  const rows = [await benchFile('bench-100m.pcap', 100)];
  if (!quick) rows.push(await benchFile('bench-2g.pcap', 2048));
  for (const r of rows) print(`analyze ${r.capture}`, r);
  process.stdout.write('\nTargets: wirecheck ≥ 20× tshark (at least 10×), ≥ 50 % of the plain read, peak RSS ≤ 200 MiB\n');
  for (const r of rows) {
    const ratioTs = typeof r['wirecheck / tshark'] === 'number' ? `${r['wirecheck / tshark']}× tshark` : 'tshark n/a';
    process.stdout.write(`  ${r.capture}: ${ratioTs}, ${(Number(r['wirecheck / plain read']) * 100).toFixed(0)} % of plain read, ${r['wirecheck peak RSS MiB']} MiB peak\n`);
  }
  const batchModule = join(repoRoot, 'dist', 'test', 'bench', 'batch-bench.js');
  if (existsSync(batchModule)) {
    const { benchBatch } = await import(pathToFileURL(batchModule).href);
    print('batch (many small captures)', await benchBatch());
  }
}

await main();
