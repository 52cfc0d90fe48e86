// Shared name cache: what the capture's own DNS answers taught about names and addresses
// (design.md "flow/"; read by web-protection and gotomeeting). Bounded: at most
// `maxNames` names and `maxAddrsPerName` addresses (and CNAME targets) per name; the names
// taught longest ago are dropped first (teaching a name again makes it young again).
//
// Names are lower case without the trailing dot. CNAME chains are followed both ways
// (name -> addresses, address -> every name leading to it) with a visited set and a depth
// bound, so CNAME loops in hostile answers cannot hang a walk.

export interface NameFact {
  name: string;          // lower case, no trailing dot
  frameNo: number;       // the response frame that taught it
}

export interface AddressFact extends NameFact {
  address: string;       // A/AAAA data
}

export interface NameCache {
  /** Record the answers of one response: CNAMEs and A/AAAA records. */
  learn(frameNo: number, answers: readonly { name: string; type: string; data: string }[]): void;
  /** Every name that leads to this address, directly (A/AAAA owner) or through CNAME chains (aliases first). */
  namesFor(address: string): NameFact[];
  /** Addresses a name resolves to, following CNAMEs. */
  addressesOf(name: string): AddressFact[];
  /** The CNAME chain starting at `name` (excluding it), in order. */
  cnameChain(name: string): NameFact[];
  /** All names matching a predicate (for "did the SWG name ever resolve?"). */
  findNames(pred: (name: string) => boolean): NameFact[];
  readonly size: number;
}

export interface NameCacheLimits {
  maxNames?: number;          // default 65536
  maxAddrsPerName?: number;   // default 32
}

/** Longest CNAME chain followed (real resolvers give up far earlier). */
const MAX_CHAIN = 16;

interface Edge {
  to: string;            // address (A/AAAA) or target name (CNAME)
  frameNo: number;
}

interface NameEntry {
  name: string;
  frameNo: number;       // first frame that taught anything about this name
  addrs: Edge[];         // oldest first, bounded
  cnames: Edge[];        // oldest first, bounded
}

export function normalizeName(name: string): string {
  let n = name.toLowerCase();
  while (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

class BoundedNameCache implements NameCache {
  private readonly entries = new Map<string, NameEntry>();    // insertion order = age
  // address -> names owning an A/AAAA for it; CNAME target -> names pointing at it. A single
  // name is stored as the string itself (most addresses have one owner), more as a Set.
  private readonly owners = new Map<string, NameSet>();
  private readonly aliases = new Map<string, NameSet>();
  private readonly maxNames: number;
  private readonly maxPer: number;

  constructor(limits: NameCacheLimits) {
    this.maxNames = Math.max(1, limits.maxNames ?? 65536);
    this.maxPer = Math.max(1, limits.maxAddrsPerName ?? 32);
  }

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

  /** The entry for a name, made youngest; created when new. */
  private touch(name: string, frameNo: number): NameEntry {
    let e = this.entries.get(name);
    if (e) {
      this.entries.delete(name);
    } else {
      e = { name, frameNo, addrs: [], cnames: [] };
    }
    this.entries.set(name, e);
    return e;
  }

  private addEdge(e: NameEntry, list: Edge[], to: string, frameNo: number, reverse: Map<string, NameSet>): void {
    const s = reverse.get(to);
    // already known (the reverse map says so in one lookup): keep the first frame
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

  addressesOf(name: string): AddressFact[] {
    const out: AddressFact[] = [];
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

export function createNameCache(limits: NameCacheLimits = {}): NameCache {
  return new BoundedNameCache(limits);
}
