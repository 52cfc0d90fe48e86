import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob, hasGlobChars } from '../../src/batch/glob.js';

const m = (pattern: string, path: string): boolean => compileGlob(pattern).matches(path.split('/'));

test('hasGlobChars', () => {
  assert.equal(hasGlobChars('/archive/site-a'), false);
  assert.equal(hasGlobChars('/archive/*.pcap'), true);
  assert.equal(hasGlobChars('a?b'), true);
  assert.equal(hasGlobChars('x[0-9]'), true);
});

test('base directory is the literal prefix', () => {
  assert.equal(compileGlob('/archive/site-*/**/*.pcap').base, '/archive');
  assert.equal(compileGlob('/archive/site-*/**/*.pcap').rest, 'site-*/**/*.pcap');
  assert.equal(compileGlob('*.pcap').base, '');
  assert.equal(compileGlob('./caps/*.pcap').base, 'caps');
  assert.equal(compileGlob('../caps/x/*.pcap').base, '../caps/x');
  assert.equal(compileGlob('/*.pcap').base, '/');
});

test('* and ? stay inside one segment', () => {
  assert.equal(m('*.pcap', 'a.pcap'), true);
  assert.equal(m('*.pcap', 'sub/a.pcap'), false);
  assert.equal(m('*/*.pcap', 'sub/a.pcap'), true);
  assert.equal(m('a?c.pcap', 'abc.pcap'), true);
  assert.equal(m('a?c.pcap', 'ac.pcap'), false);
  assert.equal(m('a*', 'a'), true);
  assert.equal(m('*a*b*', 'xxaxxbxx'), true);
  assert.equal(m('*a*b*', 'xxbxxaxx'), false);
});

test('character classes: sets, ranges, negation, literal ]', () => {
  assert.equal(m('day[0-9].pcap', 'day7.pcap'), true);
  assert.equal(m('day[0-9].pcap', 'dayx.pcap'), false);
  assert.equal(m('day[!0-9].pcap', 'dayx.pcap'), true);
  assert.equal(m('day[^0-9].pcap', 'day7.pcap'), false);
  assert.equal(m('[ab]*', 'b.pcap'), true);
  assert.equal(m('[ab]*', 'c.pcap'), false);
  assert.equal(m('[]x]', ']'), true);
  assert.equal(m('[a-]', '-'), true);
  assert.equal(m('x[', 'x['), true, 'an unclosed [ is literal');
});

test('escapes and regex metacharacters are literal', () => {
  assert.equal(m('a\\*b', 'a*b'), true);
  assert.equal(m('a\\*b', 'axb'), false);
  assert.equal(m('*(x)+.pcap', 'a(x)+.pcap'), true);
  assert.equal(m('*(x)+.pcap', 'axx.pcap'), false);
  assert.equal(m('*.pcap', 'apcap'), false, 'the dot is literal');
  assert.equal(m('?$^|{}.pcap', 'a$^|{}.pcap'), true);
});

test('** matches zero or more directories', () => {
  assert.equal(m('**/*.pcap', 'a.pcap'), true);
  assert.equal(m('**/*.pcap', 'x/y/z/a.pcap'), true);
  assert.equal(m('site/**/day1/*.cap', 'site/day1/a.cap'), true);
  assert.equal(m('site/**/day1/*.cap', 'site/x/y/day1/a.cap'), true);
  assert.equal(m('site/**/day1/*.cap', 'site/x/y/day2/a.cap'), false);
  assert.equal(m('**', 'any/thing'), true);
  assert.equal(m('a/**', 'a'), true);
});

test('leading dots are matched only explicitly', () => {
  assert.equal(m('*.pcap', '.hidden.pcap'), false);
  assert.equal(m('.*.pcap', '.hidden.pcap'), true);
  assert.equal(m('**/*.pcap', '.git/a.pcap'), false);
  assert.equal(m('*/.git/*.pcap', 'x/.git/a.pcap'), true);
  assert.equal(m('*/*/*.pcap', 'x/.git/a.pcap'), false);
  assert.equal(m('?x', '.x'), false);
});

test('mayContainMatches prunes directories', () => {
  const g = compileGlob('site-*/day[12]/*.pcap');
  assert.equal(g.mayContainMatches(['site-a']), true);
  assert.equal(g.mayContainMatches(['other']), false);
  assert.equal(g.mayContainMatches(['site-a', 'day1']), true);
  assert.equal(g.mayContainMatches(['site-a', 'day3']), false);
  assert.equal(g.mayContainMatches(['site-a', 'day1', 'x.pcap']), true);
  assert.equal(g.mayContainMatches(['site-a', 'day1', 'x.pcap', 'deeper']), false);
  const s = compileGlob('**/x/*.pcap');
  assert.equal(s.mayContainMatches(['a', 'b', 'c']), true);
  assert.equal(s.mayContainMatches(['.git']), false);
});

test('many globstars stay fast (memoized)', () => {
  const g = compileGlob('**/**/**/**/**/**/**/**/**/**/z.pcap');
  const path = Array.from({ length: 40 }, (_, i) => `d${i}`);
  const t0 = Date.now();
  assert.equal(g.matches([...path, 'y.pcap']), false);
  assert.equal(g.matches([...path, 'z.pcap']), true);
  assert.ok(Date.now() - t0 < 1000);
});
