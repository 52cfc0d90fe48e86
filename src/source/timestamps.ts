// Timestamp arithmetic for capture records: exact conversion of a 64-bit tick count (pcapng:
// two 32-bit halves) at some resolution to seconds + nanoseconds, without BigInt on the common
// paths (10^-6 and 10^-9, and any 10^-n, n <= 9, or 2^-n, n <= 23).
//
// Rules (what the Frame type promises):
// - tsNsec is 0..999_999_999 and tsSec = floor(time); times before the epoch (a negative
//   if_tsoffset) keep that convention: -0.25 s is tsSec -1, tsNsec 750_000_000.
// - resolutions finer than a nanosecond are rounded down to the nanosecond; binary
//   resolutions (2^-n) are converted exactly and rounded down.
// - tshark 4.0 overflows for resolutions finer than 1 ns (it multiplies the remainder by 10^9 in
//   64 bits) and prints nonsense; we do not copy that.

/** Resolution of a pcapng interface, from if_tsresol. */
export interface TsResolution {
  /** ticks per second as a BigInt (exact, any size) */
  unitsBig: bigint;
  /** ticks per second as a number (exact when <= 2^53) */
  units: number;
  /** 'dec' (10^-n) or 'bin' (2^-n) */
  base: 'dec' | 'bin';
  exponent: number;
  /** fractional digits this resolution needs (decimal n; binary ceil(n log10 2)), capped at 9 */
  digits: number;
  /** nanoseconds per tick when 10^9 is a multiple of units (decimal n <= 9), else 0 */
  nsPerTick: number;
}

/** if_tsresol byte -> resolution (absent option: 10^-6). */
export function tsResolution(tsresol: number | undefined): TsResolution {
  const v = tsresol ?? 6;
  const bin = (v & 0x80) !== 0;
  const n = v & 0x7f;
  const unitsBig = bin ? 1n << BigInt(n) : 10n ** BigInt(n);
  const units = Number(unitsBig);
  const digits = Math.min(9, bin ? Math.max(0, Math.ceil(n * Math.LOG10E * Math.LN2 - 1e-12)) : n);
  const nsPerTick = !bin && n <= 9 ? 10 ** (9 - n) : 0;
  return { unitsBig, units, base: bin ? 'bin' : 'dec', exponent: n, digits, nsPerTick };
}

/** Result registers of the conversions below (no allocation per call). */
export const tsOut = { sec: 0, nsec: 0 };

const TWO32 = 4294967296;
// binary resolutions up to 2^-23: rem * 1e9 < 2^53, exact in doubles
const MAX_FAST_BIN_UNITS = 1 << 23;

/**
 * ticks (hi * 2^32 + lo) at `res` plus `offsetSec` seconds -> tsOut.sec / tsOut.nsec.
 */
export function ticksToTs(hi: number, lo: number, res: TsResolution, offsetSec: number): void {
  const units = res.units;
  let sec: number;
  let rem: number;
  if (units <= 1e9 || (res.base === 'bin' && units <= TWO32)) {
    if (hi >= 0x200000 && units >= 4096 && units <= 0x40000000) {
      // (ns timestamps land here) estimate in floating point -- off by at most a couple of
      // units -- then fix it with the exact remainder, computed modulo 2^32: the true
      // remainder of the estimate lies well inside the int32 range
      sec = Math.floor((hi * TWO32 + lo) / units);
      rem = (lo - Math.imul(sec % TWO32, units)) | 0;
      while (rem < 0) { sec--; rem += units; }
      while (rem >= units) { sec++; rem -= units; }
    } else if (hi < 0x200000) {
      // the whole count is below 2^53: exact in a double, one division
      const v = hi * TWO32 + lo;
      sec = Math.floor(v / units);
      rem = v - sec * units;
    } else {
      // long division in 16-bit limbs: every partial dividend stays below units * 2^16 <= 2^53
      let t = hi >>> 16;
      const q3 = Math.floor(t / units);
      t = (t - q3 * units) * 65536 + (hi & 0xffff);
      const q2 = Math.floor(t / units);
      t = (t - q2 * units) * 65536 + (lo >>> 16);
      const q1 = Math.floor(t / units);
      t = (t - q1 * units) * 65536 + (lo & 0xffff);
      const q0 = Math.floor(t / units);
      rem = t - q0 * units;
      sec = ((q3 * 65536 + q2) * 65536 + q1) * 65536 + q0;
    }
    let nsec: number;
    if (res.nsPerTick !== 0) nsec = rem * res.nsPerTick;
    else if (units <= MAX_FAST_BIN_UNITS) nsec = Math.floor((rem * 1e9) / units);
    else nsec = Number((BigInt(rem) * 1000000000n) / res.unitsBig);
    tsOut.sec = sec + offsetSec;
    tsOut.nsec = nsec;
    return;
  }
  // any other resolution (finer than 1 ns decimal, finer than 2^-32 binary): exact in BigInt
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  const q = v / res.unitsBig;
  const r = v - q * res.unitsBig;
  tsOut.sec = Number(q) + offsetSec;
  tsOut.nsec = Number((r * 1000000000n) / res.unitsBig);
}

/**
 * Classic pcap: seconds and a fraction field in µs (mult 1000) or ns (mult 1). A fraction of a
 * second or more (damaged files) is carried into the seconds, so tsNsec stays below 10^9
 * (tshark prints such a fraction unnormalised, e.g. "1418145370.1000000000").
 */
export function pcapTs(sec: number, frac: number, mult: number): void {
  let nsec = frac * mult;
  if (nsec >= 1e9) {
    const carry = Math.floor(nsec / 1e9);
    sec += carry;
    nsec -= carry * 1e9;
  }
  tsOut.sec = sec;
  tsOut.nsec = nsec;
}
