// Test prerequisites: tshark, root, ../shared. On a user's machine a missing prerequisite
// skips the test with a clear message; when CI is set it fails instead, so a broken install
// can never pass as green.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** repository root (works from src and from dist/) */
export const repoRoot: string = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();

export const sharedDir = resolve(repoRoot, '..', 'shared');
export const publicCapturesDir = join(sharedDir, 'captures', 'public');
export const capturesDir = join(repoRoot, 'captures');
export const inCI = !!process.env.CI;

let tsharkOk: boolean | undefined;
export function hasTshark(): boolean {
  if (tsharkOk === undefined) {
    const r = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
    tsharkOk = r.status === 0;
  }
  return tsharkOk;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Returns `false` (run the test) when the prerequisite holds, else a skip reason. In CI a
 * missing prerequisite throws, failing the test that asked.
 */
export function need(what: 'tshark' | 'root' | 'shared' | 'public-captures'): false | string {
  let ok: boolean;
  let why: string;
  switch (what) {
    case 'tshark': ok = hasTshark(); why = 'tshark is not installed (apt-get install tshark)'; break;
    case 'root': ok = isRoot(); why = 'needs root (network namespaces)'; break;
    case 'shared': ok = existsSync(sharedDir); why = `../shared is not present (${sharedDir})`; break;
    case 'public-captures': ok = existsSync(publicCapturesDir); why = '../shared/captures/public is not present'; break;
  }
  if (ok) return false;
  if (inCI) throw new Error(`prerequisite missing in CI: ${why}`);
  return `skipped: ${why}`;
}
