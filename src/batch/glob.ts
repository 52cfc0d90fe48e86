// A small glob matcher for batch arguments (Node 20 has no fs.glob).
//
// Syntax, per path segment (segments are separated by '/'):
//   *        any run of characters except '/'
//   ?        one character except '/'
//   [abc] [a-z] [!a-z] [^a-z]   one character from (or not from) the class
//   \x       the character x itself
//   **       as a whole segment: any number of directories (zero or more)
// As in a shell without `dotglob`, '*', '?' and classes do not match a leading '.' of a
// name, and '**' does not descend into directories whose name starts with '.'; write the
// dot explicitly ('.hidden/*.pcap', '**/.*.pcap') to reach them.
//
// compileGlob splits a pattern into its literal base directory (the segments before the
// first one with a wildcard) and the segment matchers for the rest; the batch walks the
// base and tests relative paths against the rest.

export function hasGlobChars(s: string): boolean {
  return /[*?[]/.test(s);
}

type SegMatcher = { kind: 'globstar' } | { kind: 'literal'; text: string } | { kind: 're'; re: RegExp; dotOk: boolean };

export interface CompiledGlob {
  /** the literal leading directory ('' when the pattern starts with a wildcard; '/' for an absolute one) */
  base: string;
  /** the pattern relative to base, as given */
  rest: string;
  /** does the relative path (segments under base) match the whole pattern? */
  matches(segs: readonly string[]): boolean;
  /** could a path under the directory `segs` (relative to base) still match? (prunes the walk) */
  mayContainMatches(segs: readonly string[]): boolean;
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? '\\' + c : c;
}

/** Compile one segment (no '/'), or return null when it has no wildcard (a literal). */
function compileSegment(seg: string): SegMatcher {
  if (seg === '**') return { kind: 'globstar' };
  let re = '';
  let literal = '';
  let wild = false;
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '\\' && i + 1 < seg.length) {
      i++;
      re += escapeRe(seg[i]);
      literal += seg[i];
    } else if (c === '*') {
      wild = true;
      while (seg[i + 1] === '*') i++;   // '***' inside a segment is just '*'
      re += '[^/]*';
    } else if (c === '?') {
      wild = true;
      re += '[^/]';
    } else if (c === '[') {
      // find the closing bracket; a ']' right after '[' or '[!' is a member
      let j = i + 1;
      let negate = false;
      if (seg[j] === '!' || seg[j] === '^') { negate = true; j++; }
      const firstMember = j;
      while (j < seg.length && (seg[j] !== ']' || j === firstMember)) j++;
      if (j >= seg.length) {
        // no closing bracket: '[' is literal, as in a shell
        re += '\\[';
        literal += '[';
        continue;
      }
      wild = true;
      let cls = '';
      for (let k = firstMember; k < j; k++) {
        const m = seg[k];
        if (m === '\\' && k + 1 < j) { k++; cls += escapeRe(seg[k]); }
        else if (m === '-' && k > firstMember && k + 1 < j) cls += '-';
        else cls += escapeRe(m);
      }
      re += negate ? `[^/${cls}]` : `[${cls}]`;
      i = j;
    } else {
      re += escapeRe(c);
      literal += c;
    }
  }
  if (!wild) return { kind: 'literal', text: literal };
  return { kind: 're', re: new RegExp(`^${re}$`, 's'), dotOk: seg.startsWith('.') || seg.startsWith('\\.') };
}

function segMatches(m: SegMatcher, name: string): boolean {
  if (m.kind === 'literal') return m.text === name;
  if (m.kind === 'globstar') return true;
  if (name.startsWith('.') && !m.dotOk) return false;
  return m.re.test(name);
}

/**
 * Does `segs[j..]` match `pat[i..]`? With `prefix`, answers instead whether some path that
 * starts with `segs[j..]` (a directory) could match. Memoized: globstars make it otherwise
 * exponential on patterns like a/**\/**\/**\/b.
 */
function matchFrom(pat: readonly SegMatcher[], segs: readonly string[], prefix: boolean): boolean {
  const memo = new Map<number, boolean>();
  const rec = (i: number, j: number): boolean => {
    const key = i * (segs.length + 1) + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (j === segs.length) {
      // path exhausted: a prefix may still go on; a full match needs only globstars left
      r = prefix ? true : pat.slice(i).every((m) => m.kind === 'globstar');
    } else if (i === pat.length) {
      r = false;
    } else {
      const m = pat[i];
      if (m.kind === 'globstar') {
        // zero directories, or swallow one (never a dot directory) and stay on '**'
        r = rec(i + 1, j) || (!segs[j].startsWith('.') && rec(i, j + 1));
      } else {
        r = segMatches(m, segs[j]) && rec(i + 1, j + 1);
      }
    }
    memo.set(key, r);
    return r;
  };
  return rec(0, 0);
}

export function compileGlob(pattern: string): CompiledGlob {
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/').filter((p, k) => p !== '' || k === 0);
  if (absolute) parts.shift();
  let firstWild = parts.findIndex((p) => hasGlobChars(p));
  if (firstWild < 0) firstWild = parts.length;
  const baseParts = parts.slice(0, firstWild).filter((p) => p !== '' && p !== '.');
  const restParts = parts.slice(firstWild).filter((p) => p !== '' && p !== '.');
  const base = (absolute ? '/' : '') + baseParts.join('/');
  const matchers = restParts.map(compileSegment);
  return {
    base,
    rest: restParts.join('/'),
    matches: (segs) => matchFrom(matchers, segs, false),
    mayContainMatches: (segs) => matchFrom(matchers, segs, true),
  };
}
