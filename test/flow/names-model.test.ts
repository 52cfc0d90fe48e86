// The name cache against a model: the straightforward implementation it replaced (Map
// insertion order as age, arrays of edge objects shifted when full), kept here as the oracle.
// Random sequences of answers (few names and addresses, tight bounds, so that names age out,
// edges are dropped, addresses are shared and CNAMEs loop) must give the same answers to
// every query after every step, through learn() and through learnNormalized().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createNameCache, normalizeName, type NameCache, type NameFact } from '../../src/flow/names.js';

const MAX_CHAIN = 16;

interface Edge { to: string; frameNo: number }
interface NameEntry { name: string; frameNo: number; addrs: Edge[]; cnames: Edge[] }

class ModelNameCache {
  private readonly entries = new Map<string, NameEntry>();    // insertion order = age
  private readonly owners = new Map<string, NameSet>();
  private readonly aliases = new Map<string, NameSet>();

  constructor(private readonly maxNames: number, private readonly maxPer: number) {}

  get size(): number {
    return this.entries.size;
  }

  learn(frameNo: number, answers: readonly { name: string; type: string; data: string }[]): void {
    for (const a of answers) {
      if (a.type === 'A' || a.type === 'AAAA') {
        if (a.data === '') continue;
        const e = this.touch(normalizeName(a.name), frameNo);
        this.addEdge(e, e.addrs, a.data.toLowerCase(), frameNo, this.owners);
      } else if (a.type === 'CNAME') {
        const target = normalizeName(a.data);
        const name = normalizeName(a.name);
        if (target === '' || target === name) continue;
        const e = this.touch(name, frameNo);
        this.addEdge(e, e.cnames, target, frameNo, this.aliases);
      }
    }
    this.trim();
  }

  private touch(name: string, frameNo: number): NameEntry {
    let e = this.entries.get(name);
    if (e) this.entries.delete(name);
    else e = { name, frameNo, addrs: [], cnames: [] };
    this.entries.set(name, e);
    return e;
  }

  private addEdge(e: NameEntry, list: Edge[], to: string, frameNo: number, reverse: Map<string, NameSet>): void {
    const s = reverse.get(to);
    if (s !== undefined && (s === e.name || (typeof s !== 'string' && s.has(e.name)))) return;
    if (list.length >= this.maxPer) {
      const old = list.shift() as Edge;
      unlink(reverse, old.to, e.name);
    }
    list.push({ to, frameNo });
    if (s === undefined) reverse.set(to, e.name);
    else if (typeof s === 'string') { if (s !== e.name) reverse.set(to, new Set([s, e.name])); }
    else s.add(e.name);
  }

  private trim(): void {
    while (this.entries.size > this.maxNames) {
      const oldest = this.entries.keys().next().value as string;
      const e = this.entries.get(oldest) as NameEntry;
      this.entries.delete(oldest);
      for (const x of e.addrs) unlink(this.owners, x.to, e.name);
      for (const x of e.cnames) unlink(this.aliases, x.to, e.name);
    }
  }

  namesFor(address: string): NameFact[] {
    const held = this.owners.get(address.toLowerCase());
    if (held === undefined) return [];
    const owners = namesOf(held);
    // Walk from each owner back through the names whose CNAMEs lead to it; farthest first.
    const depth = new Map<string, { fact: NameFact; depth: number; order: number }>();
    let order = 0;
    let frontier: string[] = [];
    for (const name of owners) {
      const e = this.entries.get(name);
      const edge = e?.addrs.find((x) => x.to === address.toLowerCase());
      depth.set(name, { fact: { name, frameNo: edge?.frameNo ?? e?.frameNo ?? -1 }, depth: 0, order: order++ });
      frontier.push(name);
    }
    for (let d = 1; d <= MAX_CHAIN && frontier.length > 0; d++) {
      const next: string[] = [];
      for (const target of frontier) {
        for (const alias of namesOf(this.aliases.get(target))) {
          if (depth.has(alias)) continue;                  // loop or already reached
          const e = this.entries.get(alias);
          const edge = e?.cnames.find((x) => x.to === target);
          depth.set(alias, { fact: { name: alias, frameNo: edge?.frameNo ?? -1 }, depth: d, order: order++ });
          next.push(alias);
        }
      }
      frontier = next;
    }
    return [...depth.values()].sort((a, b) => b.depth - a.depth || a.order - b.order).map((x) => x.fact);
  }

  addressesOf(name: string): (NameFact & { address: string })[] {
    const out: (NameFact & { address: string })[] = [];
    const seenAddr = new Set<string>();
    const visited = new Set<string>();
    let frontier = [normalizeName(name)];
    for (let d = 0; d <= MAX_CHAIN && frontier.length > 0; d++) {
      const next: string[] = [];
      for (const n of frontier) {
        if (visited.has(n)) continue;
        visited.add(n);
        const e = this.entries.get(n);
        if (!e) continue;
        for (const a of e.addrs) {
          if (seenAddr.has(a.to)) continue;
          seenAddr.add(a.to);
          out.push({ name: n, frameNo: a.frameNo, address: a.to });
        }
        for (const c of e.cnames) next.push(c.to);
      }
      frontier = next;
    }
    return out;
  }

  cnameChain(name: string): NameFact[] {
    const out: NameFact[] = [];
    const start = normalizeName(name);
    const visited = new Set<string>([start]);
    let cur = this.entries.get(start);
    while (cur && cur.cnames.length > 0 && out.length < MAX_CHAIN) {
      const edge = cur.cnames[0];
      if (visited.has(edge.to)) break;
      visited.add(edge.to);
      out.push({ name: edge.to, frameNo: edge.frameNo });
      cur = this.entries.get(edge.to);
    }
    return out;
  }

  findNames(pred: (name: string) => boolean): NameFact[] {
    const out: NameFact[] = [];
    for (const e of this.entries.values()) if (pred(e.name)) out.push({ name: e.name, frameNo: e.frameNo });
    // names that appear only as CNAME targets (never owners) are facts too
    for (const [target] of this.aliases) {
      if (!this.entries.has(target) && pred(target)) {
        let frameNo = -1;
        for (const alias of namesOf(this.aliases.get(target))) {
          const f = this.entries.get(alias)?.cnames.find((x) => x.to === target)?.frameNo ?? -1;
          if (f >= 0 && (frameNo < 0 || f < frameNo)) frameNo = f;
        }
        out.push({ name: target, frameNo });
      }
    }
    return out;
  }
}

type NameSet = string | Set<string>;

function namesOf(s: NameSet | undefined): readonly string[] | Set<string> {
  if (s === undefined) return [];
  return typeof s === 'string' ? [s] : s;
}

function unlink(m: Map<string, NameSet>, key: string, name: string): void {
  const s = m.get(key);
  if (s === undefined) return;
  if (typeof s === 'string') {
    if (s === name) m.delete(key);
    return;
  }
  s.delete(name);
  if (s.size === 1) m.set(key, s.values().next().value as string);
  else if (s.size === 0) m.delete(key);
}



// ---------------------------------------------------------------------------------------

const NAMES = ['a.example', 'b.example', 'c.example', 'd.example', 'e.example', 'f.example'];
const ADDRS = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '198.51.100.7', '2620:119:35::35', '2001:db8::1'];

/** an answer as the DNS service gives it (normal names and addresses) */
const answer = fc.oneof(
  fc.record({ name: fc.constantFrom(...NAMES), type: fc.constantFrom('A', 'AAAA'), data: fc.constantFrom(...ADDRS, '') }),
  fc.record({ name: fc.constantFrom(...NAMES), type: fc.constant('CNAME'), data: fc.constantFrom(...NAMES, '') }),
  fc.record({ name: fc.constantFrom(...NAMES), type: fc.constantFrom('TXT', 'NS'), data: fc.constantFrom(...NAMES) }),
);
/** the same answer as other callers may hand it to learn(): any case, trailing dots */
const spelled = fc.tuple(answer, fc.boolean(), fc.boolean()).map(([a, upper, dot]) => ({
  raw: { name: (upper ? a.name.toUpperCase() : a.name) + (dot ? '.' : ''), type: a.type,
    data: a.type === 'CNAME' && upper ? a.data.toUpperCase() + '.' : upper ? a.data.toUpperCase() : a.data },
  normal: a,
}));

function queries(c: Pick<NameCache, 'namesFor' | 'addressesOf' | 'cnameChain' | 'findNames' | 'size'>): unknown {
  return {
    size: c.size,
    namesFor: ADDRS.map((x) => c.namesFor(x)),
    namesForUpper: c.namesFor('2620:119:35::35'.toUpperCase()),
    addressesOf: NAMES.map((n) => c.addressesOf(n)),
    addressesOfUpper: c.addressesOf('A.EXAMPLE.'),
    cnameChain: NAMES.map((n) => c.cnameChain(n)),
    findNames: c.findNames(() => true),
  };
}

test('name cache = the model, after every response, through learn and learnNormalized', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }),
    fc.array(fc.array(spelled, { minLength: 0, maxLength: 5 }), { minLength: 1, maxLength: 25 }),
    (maxNames, maxPer, responses) => {
      const model = new ModelNameCache(maxNames, maxPer);
      const viaLearn = createNameCache({ maxNames, maxAddrsPerName: maxPer });
      const viaNormal = createNameCache({ maxNames, maxAddrsPerName: maxPer });
      responses.forEach((r, i) => {
        model.learn(i + 1, r.map((x) => x.raw));
        viaLearn.learn(i + 1, r.map((x) => x.raw));
        viaNormal.learnNormalized!(i + 1, r.map((x) => x.normal));
        const want = queries(model);
        assert.deepEqual(queries(viaLearn), want);
        assert.deepEqual(queries(viaNormal), want);
      });
    },
  ), { numRuns: 2000, seed: 5 });
});

test('name cache: a long run with full rings and names ageing out keeps matching the model', () => {
  const model = new ModelNameCache(50, 4);
  const c = createNameCache({ maxNames: 50, maxAddrsPerName: 4 });
  let s = 1;
  const next = (n: number): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
  for (let i = 0; i < 20000; i++) {
    const name = `n${next(80)}.example`;
    const ans = next(4) === 0
      ? [{ name, type: 'CNAME', data: `n${next(80)}.example` }]
      : [{ name, type: 'A', data: `10.0.${next(4)}.${next(40)}` }];
    model.learn(i, ans);
    c.learnNormalized!(i, ans);
    if (i % 997 === 0 || i === 19999) assert.deepEqual(queries(c), queries(model));
  }
  for (let k = 0; k < 80; k++) {
    assert.deepEqual(c.addressesOf(`n${k}.example`), model.addressesOf(`n${k}.example`));
    assert.deepEqual(c.cnameChain(`n${k}.example`), model.cnameChain(`n${k}.example`));
  }
  for (let a = 0; a < 40; a++) assert.deepEqual(c.namesFor(`10.0.1.${a}`), model.namesFor(`10.0.1.${a}`));
});
