// Batch case of `npm run bench` (called by bench.ts): `wirecheck batch` over a folder of
// many captures with --jobs 1 and --jobs 2. Builds its folder in the OS temp dir (generated
// captures of 0.5–2 MiB, each copied several times, plus copies of the repository's
// captures/**/*.pcap and the small scenario captures of the batch tests) and removes it.
//
// Each configuration runs three times, alternating (the first run also warms the page
// cache); the fastest run counts. The load average is reported with the figures: on a
// machine busy with other work the speedup of --jobs 2 cannot show. Peak RSS is the batch process's VmHWM (all worker threads share the process);
// per-worker figures are each worker's largest V8 heap, from the hidden --stats flag.
//
// Alone: node dist/test/bench/batch-bench.js [copies]   (default 16: ~830 files, ~530 MB)

import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';
import { repoCaptures, buildManyScenarioFiles } from '../batch/fixtures.js';

const cliMain = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Stats {
  files: number;
  bytes: number;
  elapsedMs: number;
  maxRssKiB: number;
  workers: { files: number; peakHeapKiB: number }[];
}

interface Run {
  ms: number;
  /** user + system CPU seconds of the batch process (all its threads) */
  cpuS: number;
  peakRssMiB: number;
  code: number | null;
  stats: Stats | null;
}

function runBatch(dir: string, jobs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [cliMain, 'batch', dir, '--jobs', String(jobs), '--stats', '--no-progress'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { if (err.length < 1 << 20) err += d.toString(); });
    let hwmKb = 0;
    let ticks = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
        // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ')'
        const st = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        ticks = Math.max(ticks, Number(f[11]) + Number(f[12]));
      } catch { /* exited */ }
    }, 20);
    child.on('error', (e) => { clearInterval(poll); reject(e); });
    child.on('exit', (code) => {
      clearInterval(poll);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const m = /wirecheck: stats (\{.*\})/.exec(err);
      const stats = m ? JSON.parse(m[1]) as Stats : null;
      if (stats) hwmKb = Math.max(hwmKb, stats.maxRssKiB);
      resolve({ ms, cpuS: ticks / 100, peakRssMiB: Math.round(hwmKb / 1024), code, stats });
    });
  });
}

function buildFolder(copies: number): { dir: string; files: number; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'wirecheck-batch-bench-'));
  const seeds = 24;
  const gen = join(dir, '.gen');
  mkdirSync(gen);
  const sources: string[] = [];
  for (let s = 1; s <= seeds; s++) {
    const p = join(gen, `g${s}.pcap`);
    generate(p, 0.5 + (s % 4) * 0.5, s);
    sources.push(p);
  }
  sources.push(...repoCaptures());
  let files = 0, bytes = 0;
  for (let c = 0; c < copies; c++) {
    const sub = join(dir, `site-${c}`);
    mkdirSync(sub);
    sources.forEach((src, i) => {
      const dst = join(sub, `c${i}.pcap`);
      copyFileSync(src, dst);
      files++;
      bytes += statSync(dst).size;
    });
  }
  const small = buildManyScenarioFiles(join(dir, 'small'), 60);
  for (const f of small) { files++; bytes += statSync(join(dir, 'small', f)).size; }
  rmSync(gen, { recursive: true, force: true });
  return { dir, files, bytes };
}

export async function benchBatch(copies = 16): Promise<Record<string, number | string>> {
  const { dir, files, bytes } = buildFolder(copies);
  const empty = mkdtempSync(join(tmpdir(), 'wirecheck-batch-bench-empty-'));
  try {
    // fixed cost of a run (process start, no file): part of every figure below
    let startMs = Infinity;
    for (let i = 0; i < 3; i++) startMs = Math.min(startMs, (await runBatch(empty, 1)).ms);
    const best: Record<number, Run> = {};
    const load = loadavg()[0];
    for (const jobs of [1, 2, 1, 2, 1, 2]) {
      const r = await runBatch(dir, jobs);
      if (r.code === null || r.code > 2) throw new Error(`batch --jobs ${jobs} failed (exit ${r.code})`);
      if (!best[jobs] || r.ms < best[jobs].ms) best[jobs] = r;
    }
    const mb = bytes / 1e6;
    const row: Record<string, number | string> = {
      files,
      'total MB': Number(mb.toFixed(1)),
    };
    for (const jobs of [1, 2]) {
      const r = best[jobs];
      row[`jobs ${jobs} s`] = Number((r.ms / 1000).toFixed(2));
      row[`jobs ${jobs} files/s`] = Math.round(files / (r.ms / 1000));
      row[`jobs ${jobs} MB/s`] = Number((mb / (r.ms / 1000)).toFixed(1));
      row[`jobs ${jobs} CPU s (user+sys)`] = Number(r.cpuS.toFixed(2));
      row[`jobs ${jobs} peak RSS MiB (process)`] = r.peakRssMiB;
      row[`jobs ${jobs} peak heap MiB per worker`] = r.stats
        ? r.stats.workers.map((w) => (w.peakHeapKiB / 1024).toFixed(1)).join(' / ') : 'n/a';
    }
    row['speedup jobs 2 / jobs 1'] = Number((best[1].ms / best[2].ms).toFixed(2));
    row['start-up of a run (empty folder) s'] = Number((startMs / 1000).toFixed(2));
    row['speedup without start-up'] = Number(((best[1].ms - startMs) / (best[2].ms - startMs)).toFixed(2));
    row['target'] = 'speedup ≥ 1.7';
    row['load average before / after'] = `${load.toFixed(1)} / ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores`;
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const copies = process.argv[2] ? Number(process.argv[2]) : 16;
  const row = await benchBatch(copies);
  for (const [k, v] of Object.entries(row)) process.stdout.write(`  ${k.padEnd(38)} ${v}\n`);
}
