// Hashing for the flow table and Zeek-like uids.
//
// The flow table hashes address and port bytes straight out of the packet buffer, so no
// key string is ever built per packet. The hash is symmetric: (a, pa, b, pb) and
// (b, pb, a, pa) give the same value, so both directions of a flow land in the same bucket
// and the direction is found by comparing the stored key.

/** Big-endian uint32 at `off` (no bounds check: callers pass offsets the decoder validated). */
export function readU32(d: Uint8Array, off: number): number {
  return ((d[off] << 24) | (d[off + 1] << 16) | (d[off + 2] << 8) | d[off + 3]) >>> 0;
}

/** murmur3's 32-bit finalizer: a bijection on uint32 with good avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of one endpoint: an address folded to 32 bits plus its port. */
export function endpointHash(addrFold: number, port: number): number {
  return fmix32((addrFold ^ Math.imul(port + 1, 0x9e3779b1)) >>> 0);
}

/** Fold the 4 words of an IPv6 address (or 1 word of IPv4 with the rest 0) into one. */
export function foldAddr(w0: number, w1: number, w2: number, w3: number): number {
  return (w0 ^ Math.imul(w1, 0x27d4eb2f) ^ Math.imul(w2, 0x165667b1) ^ Math.imul(w3, 0x61c88647)) >>> 0;
}

/** Symmetric combination of two endpoint hashes and the protocol. */
export function flowHash(e1: number, e2: number, proto: number): number {
  const lo = e1 < e2 ? e1 : e2;
  const hi = e1 < e2 ? e2 : e1;
  return fmix32((Math.imul(lo, 0xcc9e2d51) + hi + Math.imul(proto, 0x1b873593)) >>> 0);
}

const B62 = Uint8Array.from('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', (c) => c.charCodeAt(0));

/**
 * Deterministic Zeek-looking uid for the n-th flow ('C' + 11 base62 characters). The first
 * six characters encode a bijection of (n, seed) on uint32, so uids never collide within
 * 2^32 flows of one run; the rest only make them look less sequential.
 */
export function flowUid(n: number, seed: number): string {
  let h1 = fmix32((n ^ Math.imul(seed, 0x9e3779b9)) >>> 0);
  let h2 = fmix32((Math.imul(n, 0x85ebca77) + seed + 0x165667b1) >>> 0) % 916132832;   // 62^5
  // digits, most significant first (one string allocation)
  const d5 = B62[h1 % 62]; h1 = Math.floor(h1 / 62);
  const d4 = B62[h1 % 62]; h1 = Math.floor(h1 / 62);
  const d3 = B62[h1 % 62]; h1 = Math.floor(h1 / 62);
  const d2 = B62[h1 % 62]; h1 = Math.floor(h1 / 62);
  const d1 = B62[h1 % 62]; h1 = Math.floor(h1 / 62);
  const d0 = B62[h1 % 62];
  const e4 = B62[h2 % 62]; h2 = Math.floor(h2 / 62);
  const e3 = B62[h2 % 62]; h2 = Math.floor(h2 / 62);
  const e2 = B62[h2 % 62]; h2 = Math.floor(h2 / 62);
  const e1 = B62[h2 % 62]; h2 = Math.floor(h2 / 62);
  const e0 = B62[h2 % 62];
  return String.fromCharCode(67, d0, d1, d2, d3, d4, d5, e0, e1, e2, e3, e4);
}
