// Shared name cache: what the capture's own DNS answers taught about names and addresses
// (design.md "flow/"; read by web-protection and gotomeeting). Bounded: at most
// `maxNames` names and `maxAddrsPerName` addresses per name; the oldest names are dropped first.
//
// Implementation: see issue 2 (foundation). The interface below is what checks use.

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

// STUB: implemented in the foundation issue (flows).
export function createNameCache(limits: NameCacheLimits = {}): NameCache {
  void limits;
  throw new Error('createNameCache: not implemented yet');
}
