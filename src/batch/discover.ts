// Batch discovery: turns the arguments of `wirecheck batch` (directories, files, globs)
// into the files to scan, lazily (an async generator), in a stable order: arguments in the
// order given; in a directory, its files by name, then its subdirectories by name (depth
// first).
//
// - A directory argument is walked recursively; its root is the argument as given and each
//   file's path is relative to it (POSIX separators).
// - A file argument is always scanned (the user named it), even when it is not a capture
//   (it then becomes an error report); its root is its directory, its path its name.
// - A glob argument ('*', '?', '[...]', '**'; see glob.ts) that does not name an existing
//   path is walked from its literal base directory, which is the root; matched directories
//   are walked whole.
// - Files found by walking are scanned when their name looks like a capture (.pcap,
//   .pcapng, .cap, .ntar, optionally + .gz/.zst) or their content is one (pcap/pcapng
//   magic, or gzip/zstd of either); other files are skipped. Only regular files are
//   considered (FIFOs, sockets and devices are skipped: reading them could block).
// - Symbolic links are followed; a directory reached twice (a link loop, or two arguments
//   that overlap) is walked once, and a file reached twice (hard links, overlapping
//   arguments) is scanned once.
// - Problems become error entries (the batch reports them as error reports and exits 2):
//   an argument that does not exist or a glob that matches nothing (ENOENT), a directory
//   that cannot be read (EACCES), a broken link named like a capture (ENOENT).
//
// Sharding is applied before content sniffing (it depends on the path only), so a shard
// reads only the heads of its own files.

import { opendir, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import type { CaptureErrorCode } from '../errors.js';
import { compileGlob, hasGlobChars, type CompiledGlob } from './glob.js';
import { namedLikeCapture, sniffFile } from './sniff.js';
import { shardOf, type Shard } from './shard.js';

export interface FoundFile {
  kind: 'file';
  /** path to open (root joined with path, in the platform's form) */
  file: string;
  root: string;
  /** POSIX path relative to root */
  path: string;
  size: number;
  mtimeMs: number;
}

export interface FoundError {
  kind: 'error';
  file: string;
  root: string;
  path: string;
  code: CaptureErrorCode;
  message: string;
}

export interface Skipped {
  kind: 'skip';
  file: string;
  reason: string;
}

export type Discovered = FoundFile | FoundError | Skipped;

export interface DiscoverOptions {
  shard?: Shard | null;
  /** report skipped files too (for --verbose); without it they are not yielded */
  withSkipped?: boolean;
}

function fsCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
}

function toCaptureCode(code: string): { code: CaptureErrorCode; message: string } {
  switch (code) {
    case 'ENOENT': case 'ENOTDIR': case 'ELOOP': return { code: 'ENOENT', message: 'no such file' };
    case 'EACCES': case 'EPERM': return { code: 'EACCES', message: 'permission denied' };
    case 'EISDIR': return { code: 'EISDIR', message: 'is a directory' };
    default: return { code: 'EACCES', message: `cannot be read (${code})` };
  }
}

const toPosix = sep === '/' ? (p: string) => p : (p: string) => p.split(sep).join('/');

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

async function readDirSorted(dir: string): Promise<Dirent[]> {
  const d = await opendir(dir);
  const out: Dirent[] = [];
  for await (const e of d) out.push(e);
  out.sort(byName);
  return out;
}

async function statOrCode(p: string): Promise<Stats | string> {
  try {
    return await stat(p);
  } catch (e) {
    return fsCode(e);
  }
}

export async function* discover(args: readonly string[], opts: DiscoverOptions = {}): AsyncGenerator<Discovered> {
  const shard = opts.shard && opts.shard.count > 1 ? opts.shard : null;
  const seenDirs = new Set<string>();
  // device -> inodes of the files found (numbers: an archive may hold millions of files)
  const seenFiles = new Map<number, Set<number>>();
  const seenFile = (st: Stats): boolean => {
    let inodes = seenFiles.get(st.dev);
    if (inodes === undefined) { inodes = new Set(); seenFiles.set(st.dev, inodes); }
    if (inodes.has(st.ino)) return true;
    inodes.add(st.ino);
    return false;
  };
  const withSkipped = opts.withSkipped === true;
  let globMatches = 0;

  const inShard = (rel: string): boolean => shard === null || shardOf(rel, shard.count) === shard.index;
  const errorEntry = (file: string, root: string, path: string, code: string): FoundError =>
    ({ kind: 'error', file, root, path, ...toCaptureCode(code) });

  /** decide about one non-directory entry found by walking (`st` follows links) */
  async function* considerFile(file: string, root: string, rel: string, st: Stats | string): AsyncGenerator<Discovered> {
    if (!inShard(rel)) return;
    const named = namedLikeCapture(rel);
    if (typeof st === 'string') {
      if (named) yield errorEntry(file, root, rel, st);
      else if (withSkipped) yield { kind: 'skip', file, reason: `cannot be read (${st})` };
      return;
    }
    if (!st.isFile()) {
      if (withSkipped) yield { kind: 'skip', file, reason: 'not a regular file' };
      return;
    }
    if (!named) {
      const s = await sniffFile(file);
      if (s !== 'capture') {
        if (withSkipped) yield { kind: 'skip', file, reason: s === 'unreadable' ? 'cannot be read' : 'not a capture' };
        return;
      }
    }
    if (seenFile(st)) {
      if (withSkipped) yield { kind: 'skip', file, reason: 'already found under another path' };
      return;
    }
    yield { kind: 'file', file, root, path: rel, size: st.size, mtimeMs: st.mtimeMs };
  }

  /**
   * Walk `dir` (= root joined with relDir) depth first. With a glob, directories are pruned
   * and files filtered by it until a directory that matches it whole is reached.
   */
  async function* walk(root: string, startRel: string, glob: CompiledGlob | null): AsyncGenerator<Discovered> {
    // explicit stack of [relative dir, glob still applies]; entries pushed in reverse so
    // that the walk visits them in name order
    const stack: [string, boolean][] = [[startRel, glob !== null]];
    while (stack.length > 0) {
      const [relDir, globbing] = stack.pop()!;
      const dir = relDir === '' ? root : join(root, relDir);
      const dst = await statOrCode(dir);
      if (typeof dst === 'string') {
        if (inShard(relDir || '.')) yield errorEntry(dir, root, relDir || '.', dst);
        continue;
      }
      const dkey = `${dst.dev}:${dst.ino}`;
      if (seenDirs.has(dkey)) continue;
      seenDirs.add(dkey);
      let entries: Dirent[];
      try {
        entries = await readDirSorted(dir);
      } catch (e) {
        if (inShard(relDir || '.')) yield errorEntry(dir, root, relDir || '.', fsCode(e));
        continue;
      }
      const subdirs: [string, boolean][] = [];
      for (const e of entries) {
        const rel = relDir === '' ? e.name : `${relDir}/${e.name}`;
        const file = join(dir, e.name);
        let isDir = e.isDirectory();
        let st: Stats | string | undefined;
        if (e.isSymbolicLink()) {
          st = await statOrCode(file);
          isDir = typeof st !== 'string' && st.isDirectory();
        }
        if (globbing) {
          const segs = rel.split('/');
          if (isDir) {
            if (glob!.matches(segs)) { globMatches++; subdirs.push([rel, false]); }
            else if (glob!.mayContainMatches(segs)) subdirs.push([rel, true]);
            continue;
          }
          if (!glob!.matches(segs)) continue;
          globMatches++;
        } else if (isDir) {
          subdirs.push([rel, false]);
          continue;
        }
        if (st === undefined) st = await statOrCode(file);
        yield* considerFile(file, root, rel, st);
      }
      for (let k = subdirs.length - 1; k >= 0; k--) stack.push(subdirs[k]);
    }
  }

  for (const arg of args) {
    const st = await statOrCode(arg);
    if (typeof st !== 'string') {
      if (st.isDirectory()) {
        yield* walk(arg, '', null);
        continue;
      }
      // a file named on the command line is scanned whatever it is
      const root = dirname(arg);
      const rel = toPosix(basename(arg));
      if (!inShard(rel)) continue;
      if (!st.isFile()) {
        if (withSkipped) yield { kind: 'skip', file: arg, reason: 'not a regular file' };
        continue;
      }
      if (seenFile(st)) continue;
      yield { kind: 'file', file: arg, root, path: rel, size: st.size, mtimeMs: st.mtimeMs };
      continue;
    }
    if (hasGlobChars(arg)) {
      const g = compileGlob(toPosix(arg));
      const root = g.base === '' ? '.' : g.base;
      const bst = await statOrCode(root);
      globMatches = 0;
      if (typeof bst !== 'string' && bst.isDirectory()) yield* walk(root, '', g);
      if (globMatches === 0 && inShard(g.rest)) {
        // nothing at all matched: an error like a missing path (said by one shard only)
        yield { kind: 'error', file: arg, root, path: g.rest, code: 'ENOENT', message: 'no file matches this pattern' };
      }
      continue;
    }
    const rel = toPosix(basename(arg));
    if (inShard(rel)) yield errorEntry(arg, dirname(arg), rel, st);
  }
}
