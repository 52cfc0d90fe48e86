// Zeek's connection history letters (conventions.md rule 6).
//
// Upper case = originator, lower case = responder. Most letters are recorded the first time
// the event happens in a direction; S/H, F and R are recorded again when the sequence number
// of the packet differs from the last one of that kind (a new SYN, FIN or RST rather than a
// retransmission); c, g, t and w are recorded on a log10 scale: at the 1st, 10th, 100th, ...
// occurrence. '^' marks a flow whose roles were flipped (the first packet came from the
// responder, e.g. a SYN-ACK).
//
// Letters we record: s h a d f r (TCP flags / data), t (retransmitted payload), g (content
// gap: the peer acknowledged data never seen), w (zero window), i (FIN+RST), q (other
// multi-flag packets), ^ (flip); D/d for UDP datagrams. Not recorded: c (bad checksum: the
// decoder does not verify checksums, captures often carry offloaded ones) and x.
//
// The flow table stores history as bytes (see table.ts); this module holds the letter set,
// the per-direction "seen" bits and the log-scale rule.

export const H_SYN = 0;      // 's'
export const H_SYNACK = 1;   // 'h'
export const H_ACK = 2;      // 'a'
export const H_DATA = 3;     // 'd'
export const H_FIN = 4;      // 'f'
export const H_RST = 5;      // 'r'
export const H_MULTI = 6;    // 'q'
export const H_FINRST = 7;   // 'i'

/** Lower-case letter (responder form) of each "seen once" bit. */
export const HISTORY_LETTER: readonly number[] = Object.freeze(
  ['s', 'h', 'a', 'd', 'f', 'r', 'q', 'i'].map((c) => c.charCodeAt(0)));

export const LETTER_T = 't'.charCodeAt(0);
export const LETTER_G = 'g'.charCodeAt(0);
export const LETTER_W = 'w'.charCodeAt(0);
export const LETTER_FLIP = '^'.charCodeAt(0);

/** Letter case for a direction: originator (0) upper case, responder (1) lower case. */
export function letterFor(lower: number, dir: number): number {
  return dir === 0 && lower >= 97 && lower <= 122 ? lower - 32 : lower;
}

/**
 * Log-scale rule of Zeek's ScaledHistoryEntry with base 10: after incrementing a counter to
 * `count`, the letter is recorded when count is 1, 10, 100, ...
 */
export function isScaledStep(count: number): boolean {
  while (count >= 10 && count % 10 === 0) count /= 10;
  return count === 1;
}

/** History bytes to the string Zeek logs. */
export function historyText(bytes: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(bytes[off + i]);
  return s;
}

/** Maximum stored history length per flow; letters beyond it are dropped (bounded state). */
export const HISTORY_MAX = 24;
