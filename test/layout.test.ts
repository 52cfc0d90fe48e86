// Layout rules (conventions.md rule 1): each pipeline stage imports only from stages to its
// left; only the wiring (src/pipeline.ts) and the CLI see every stage; no import cycles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from './helpers/env.js';

const src = join(repoRoot, 'src');
const ORDER = ['source', 'decode', 'flow', 'detect', 'report'];
const SHARED = new Set(['errors.ts', 'config.ts', 'version.ts']);

function files(d: string): string[] {
  return readdirSync(d).flatMap((e) => {
    const p = join(d, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const spec = m[1] ?? m[2];
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

function stageOf(file: string): string {
  const rel = relative(src, file).split('/');
  return rel.length === 1 ? rel[0] : rel[0];
}

test('stages import only from stages to their left', () => {
  const bad: string[] = [];
  for (const f of files(src)) {
    const from = stageOf(f);
    const fromIdx = ORDER.indexOf(from);
    for (const imp of importsOf(f)) {
      const to = stageOf(imp);
      if (SHARED.has(to)) continue;
      if (from === 'cli' || from === 'pipeline.ts' || from === 'batch') continue;
      if (fromIdx < 0) {
        if (SHARED.has(from)) {
          // shared modules may import types from stages, but never the wiring or the CLI
          if (to === 'cli' || to === 'pipeline.ts') bad.push(`${relative(repoRoot, f)} -> ${relative(repoRoot, imp)}`);
        }
        continue;
      }
      const toIdx = ORDER.indexOf(to);
      if (toIdx < 0 || toIdx > fromIdx) bad.push(`${relative(repoRoot, f)} -> ${relative(repoRoot, imp)}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('no import cycles in src/', () => {
  const graph = new Map<string, string[]>();
  for (const f of files(src)) graph.set(f, importsOf(f).filter((i) => i.startsWith(src)));
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 2) return;
    if (state.get(n) === 1) {
      cycles.push([...path.slice(path.indexOf(n)), n].map((p) => relative(src, p)).join(' -> '));
      return;
    }
    state.set(n, 1);
    for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
    state.set(n, 2);
  };
  for (const n of graph.keys()) visit(n, []);
  assert.deepEqual(cycles, []);
});
