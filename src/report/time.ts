// Capture timestamps as ISO-8601 UTC with the capture's precision (design.md: "as many
// fractional digits as the capture has (9 for nanosecond captures)").

/** seconds + nanoseconds -> '2024-08-27T03:07:43.123456Z' with `digits` fractional digits (0..9). */
export function isoTime(sec: number, nsec: number, digits: number): string {
  const d = new Date(Math.floor(sec) * 1000);
  if (Number.isNaN(d.getTime())) return 'invalid-time';
  const base = d.toISOString().slice(0, 19);
  if (digits <= 0) return base + 'Z';
  const frac = String(Math.max(0, Math.min(999_999_999, Math.floor(nsec)))).padStart(9, '0').slice(0, Math.min(9, digits));
  return `${base}.${frac}Z`;
}

/** seconds + nanoseconds -> milliseconds since the epoch (float). */
export function tsToMs(sec: number, nsec: number): number {
  return sec * 1000 + nsec / 1e6;
}
