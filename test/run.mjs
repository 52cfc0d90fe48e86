#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in test runner.
// `npm test` compiles first (tsc), then runs this. Extra args are passed to `node --test`
// (e.g. `node test/run.mjs --test-name-pattern=pcapng`); a path filter can be given with
// WIRECHECK_TESTS=substring. Two test files run at a time (this machine has 2 cores; tests that
// build network namespaces use their own name prefixes, so they do not collide).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'dist', 'test');
const files = [];
(function walk(d) {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.js')) files.push(p);
  }
})(dir);
const filter = process.env.WIRECHECK_TESTS;
const selected = files.filter((f) => !filter || relative(dir, f).includes(filter)).sort();
if (selected.length === 0) {
  console.error('test/run.mjs: no test files found under dist/test (did tsc run?)');
  process.exit(1);
}
const args = ['--test', '--test-reporter=spec', '--test-concurrency=2', ...process.argv.slice(2), ...selected];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: { ...process.env, TZ: 'UTC' } });
process.exit(r.status ?? 1);
