// Shared name cache: what the capture's own DNS answers taught about names and addresses
// (design.md "flow/"; read by web-protection and gotomeeting). Bounded: at most
// `maxNames` names and `maxAddrsPerName` addresses (and CNAME targets) per name; the names
// taught longest ago are dropped first (teaching a name again makes it young again).
//
// Names are lower case without the trailing dot. CNAME chains are followed both ways
// (name -> addresses, address -> every name leading to it) with a visited set and a depth
// bound, so CNAME loops in hostile answers cannot hang a walk.
//
// Costs (learn runs for every DNS response with answers): one Map lookup per answered name;
// age order is a doubly linked list through the entries (making a name young again moves it
// to the tail, no Map delete + set); addresses and CNAME targets of a name are kept in two
// ring buffers of parallel arrays (no object per edge, no shifting when full); an edge
// already known costs one lookup in the reverse map. The DNS service teaches through
// learnNormalized (its names and addresses are already normal), which skips normalizeName.

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
  /**
   * learn() for answers already normal: names lower case without the trailing dot (as
   * normalizeName gives them), A/AAAA data lower case (as the DNS wire reader gives them).
   * Optional: callers fall back to learn().
   */
  learnNormalized?(frameNo: number, answers: readonly { name: string; type: string; data: string }[]): void;
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

/**
 * Edges of one kind (addresses or CNAME targets) of a name, oldest first: a ring buffer of
 * at most maxAddrsPerName entries in two parallel arrays (to: address or target name).
 */
class Edges {
  readonly to: string[] = [];
  readonly frame: number[] = [];
  /** index of the oldest edge once the ring is full (0 while it fills) */
  head = 0;

  get length(): number {
    return this.to.length;
  }

  /** the i-th edge's target, oldest first */
  toAt(i: number): string {
    const n = this.to.length;
    const k = this.head + i;
    return this.to[k < n ? k : k - n];
  }

  frameAt(i: number): number {
    const n = this.to.length;
    const k = this.head + i;
    return this.frame[k < n ? k : k - n];
  }

  /** frame of the edge to `to`, or undefined */
  frameOf(to: string): number | undefined {
    const n = this.to.length;
    for (let i = 0; i < n; i++) if (this.toAt(i) === to) return this.frameAt(i);
    return undefined;
  }
}

class NameEntry {
  /** age list: older and younger neighbours */
  prev: NameEntry | null = null;
  next: NameEntry | null = null;
  readonly addrs = new Edges();
  readonly cnames = new Edges();
  constructor(
    readonly name: string,
    /** first frame that taught anything about this name */
    readonly frameNo: number,
  ) {}
}

export function normalizeName(name: string): string {
  let n = name.toLowerCase();
  while (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

type Answer = { name: string; type: string; data: string };

class BoundedNameCache implements NameCache {
  private readonly entries = new Map<string, NameEntry>();
  /** age list: oldest (dropped first) and youngest entries */
  private oldest: NameEntry | null = null;
  private youngest: NameEntry | null = null;
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

  learn(frameNo: number, answers: readonly Answer[]): void {
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      if (a.type === 'A' || a.type === 'AAAA') {
        if (a.data === '') continue;
        const e = this.touch(normalizeName(a.name), frameNo);
        this.addEdge(e, e.addrs, a.data.toLowerCase(), frameNo, this.owners);
      } else if (a.type === 'CNAME') {
        this.learnCname(normalizeName(a.name), normalizeName(a.data), frameNo);
      }
    }
    this.trim();
  }

  learnNormalized(frameNo: number, answers: readonly Answer[]): void {
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i];
      if (a.type === 'A' || a.type === 'AAAA') {
        if (a.data === '') continue;
        const e = this.touch(a.name, frameNo);
        this.addEdge(e, e.addrs, a.data, frameNo, this.owners);
      } else if (a.type === 'CNAME') {
        this.learnCname(a.name, a.data, frameNo);
      }
    }
    this.trim();
  }

  private learnCname(name: string, target: string, frameNo: number): void {
    if (target === '' || target === name) return;
    const e = this.touch(name, frameNo);
    this.addEdge(e, e.cnames, target, frameNo, this.aliases);
  }

  /** The entry for a name, made youngest; created when new. */
  private touch(name: string, frameNo: number): NameEntry {
    let e = this.entries.get(name);
    if (e === undefined) {
      e = new NameEntry(name, frameNo);
      this.entries.set(name, e);
    } else if (e === this.youngest) {
      return e;
    } else {
      // unlink (it is not the youngest, so it has a younger neighbour)
      const next = e.next as NameEntry;
      if (e.prev === null) this.oldest = next;
      else e.prev.next = next;
      next.prev = e.prev;
      e.next = null;
    }
    e.prev = this.youngest;
    if (this.youngest === null) this.oldest = e;
    else this.youngest.next = e;
    this.youngest = e;
    return e;
  }

  private addEdge(e: NameEntry, list: Edges, to: string, frameNo: number, reverse: Map<string, NameSet>): void {
    const s = reverse.get(to);
    // already known (the reverse map says so in one lookup): keep the first frame
    if (s !== undefined && (s === e.name || (typeof s !== 'string' && s.has(e.name)))) return;
    if (list.to.length >= this.maxPer) {
      // full: the oldest edge gives its place to the new one
      const h = list.head;
      unlink(reverse, list.to[h], e.name);
      list.to[h] = to;
      list.frame[h] = frameNo;
      list.head = h + 1 < list.to.length ? h + 1 : 0;
    } else {
      list.to.push(to);
      list.frame.push(frameNo);
    }
    if (s === undefined) reverse.set(to, e.name);
    else if (typeof s === 'string') { if (s !== e.name) reverse.set(to, new Set([s, e.name])); }
    else s.add(e.name);
  }

  private trim(): void {
    while (this.entries.size > this.maxNames) {
      const e = this.oldest as NameEntry;
      this.oldest = e.next;
      if (e.next === null) this.youngest = null;
      else e.next.prev = null;
      e.next = null;
      this.entries.delete(e.name);
      for (let i = 0; i < e.addrs.length; i++) unlink(this.owners, e.addrs.toAt(i), e.name);
      for (let i = 0; i < e.cnames.length; i++) unlink(this.aliases, e.cnames.toAt(i), e.name);
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
      const edgeFrame = e?.addrs.frameOf(address.toLowerCase());
      depth.set(name, { fact: { name, frameNo: edgeFrame ?? e?.frameNo ?? -1 }, depth: 0, order: order++ });
      frontier.push(name);
    }
    for (let d = 1; d <= MAX_CHAIN && frontier.length > 0; d++) {
      const next: string[] = [];
      for (const target of frontier) {
        for (const alias of namesOf(this.aliases.get(target))) {
          if (depth.has(alias)) continue;                  // loop or already reached
          const e = this.entries.get(alias);
          const edgeFrame = e?.cnames.frameOf(target);
          depth.set(alias, { fact: { name: alias, frameNo: edgeFrame ?? -1 }, depth: d, order: order++ });
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
        for (let i = 0; i < e.addrs.length; i++) {
          const to = e.addrs.toAt(i);
          if (seenAddr.has(to)) continue;
          seenAddr.add(to);
          out.push({ name: n, frameNo: e.addrs.frameAt(i), address: to });
        }
        for (let i = 0; i < e.cnames.length; i++) next.push(e.cnames.toAt(i));
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
      const to = cur.cnames.toAt(0);
      if (visited.has(to)) break;
      visited.add(to);
      out.push({ name: to, frameNo: cur.cnames.frameAt(0) });
      cur = this.entries.get(to);
    }
    return out;
  }

  findNames(pred: (name: string) => boolean): NameFact[] {
    const out: NameFact[] = [];
    for (let e = this.oldest; e !== null; e = e.next) if (pred(e.name)) out.push({ name: e.name, frameNo: e.frameNo });
    // names that appear only as CNAME targets (never owners) are facts too
    for (const [target] of this.aliases) {
      if (!this.entries.has(target) && pred(target)) {
        let frameNo = -1;
        for (const alias of namesOf(this.aliases.get(target))) {
          const f = this.entries.get(alias)?.cnames.frameOf(target) ?? -1;
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
