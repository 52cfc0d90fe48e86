// Error and anomaly shapes shared by every pipeline stage.
//
// Two kinds of trouble exist and they are kept apart (conventions.md rules 4 and 5):
// - DecodeError: a packet that could not be decoded further. Decoders return it, never
//   throw it. Exactly two shapes: LenError (not enough bytes) and ContentError (a field
//   holds an impossible value). Offsets are relative to the decoder's own start until the
//   packet walker rebases them with addOffset().
// - CaptureError: the input as a whole cannot be read (not a capture, empty, unsupported
//   version, filesystem error). It becomes the report's `error` object and exit code 2.
// Everything that goes wrong but still lets analysis continue is an Anomaly, counted per
// layer + code like Zeek's weird.log.

export type Layer =
  | 'capture' | 'pcap' | 'pcapng' | 'gzip' | 'zstd'
  | 'link' | 'ethernet' | 'vlan' | 'sll' | 'sll2' | 'null' | 'pppoe'
  | 'ipv4' | 'ipv6' | 'ipv6-ext' | 'fragment'
  | 'tcp' | 'udp' | 'icmp' | 'icmpv6'
  | 'dns' | 'tls' | 'http' | 'flow' | 'live';

export type LenSource =
  | 'capture'          // the captured bytes ended (snap length or truncation)
  | 'ipv4.totalLen' | 'ipv4.ihl' | 'ipv6.payloadLen' | 'ipv6.extLen'
  | 'udp.len' | 'tcp.dataOffset' | 'dns.tcpLen' | 'pppoe.len' | 'icmp.quoted';

export interface LenError {
  readonly code: 'LEN';
  readonly layer: Layer;
  readonly required: number;
  readonly available: number;
  readonly lenSource: LenSource;
  readonly offset: number;
}

export interface ContentError {
  readonly code: string;              // stable, e.g. 'IPV4_BAD_VERSION', 'TCP_DATA_OFFSET_TOO_SMALL'
  readonly layer: Layer;
  readonly field: string;
  readonly value: number | string;
  readonly offset: number;
}

export type DecodeError = LenError | ContentError;

export function lenError(layer: Layer, required: number, available: number, lenSource: LenSource, offset = 0): LenError {
  return { code: 'LEN', layer, required, available, lenSource, offset };
}

export function contentError(code: string, layer: Layer, field: string, value: number | string, offset = 0): ContentError {
  return { code, layer, field, value, offset };
}

/** Rebase a decoder-relative error to an absolute offset in the frame. */
export function addOffset<E extends DecodeError>(e: E, delta: number): E {
  return delta === 0 ? e : { ...e, offset: e.offset + delta };
}

export function isLenError(e: DecodeError): e is LenError {
  return e.code === 'LEN' && 'lenSource' in e;
}

/**
 * Stable anomaly code for a decode error: LenErrors are named after what ran short; a
 * ContentError's code loses the prefix that repeats its layer, since the anomaly is keyed by
 * layer + code already (ipv4 + 'IPV4_BAD_HEADER_LENGTH' -> ipv4/BAD_HEADER_LENGTH).
 */
export function anomalyCodeOf(e: DecodeError): string {
  if (!isLenError(e)) {
    const prefix = e.layer.replace(/\W/g, '_').toUpperCase() + '_';
    return e.code.startsWith(prefix) && e.code.length > prefix.length ? e.code.slice(prefix.length) : e.code;
  }
  return e.lenSource === 'capture' ? 'TRUNCATED_FRAME' : `BAD_LENGTH_${e.lenSource.replace(/\W/g, '_').toUpperCase()}`;
}

export function describeDecodeError(e: DecodeError): string {
  if (isLenError(e)) {
    return `${e.layer}: needs ${e.required} bytes at offset ${e.offset}, ${e.available} available (${e.lenSource})`;
  }
  return `${e.layer}: ${e.field} = ${e.value} at offset ${e.offset} (${e.code})`;
}

// ---------------------------------------------------------------------------------------
// Whole-input errors

export type CaptureErrorCode =
  | 'NOT_A_CAPTURE' | 'EMPTY_FILE' | 'UNSUPPORTED_VERSION' | 'EACCES' | 'ENOENT' | 'EISDIR';

export class CaptureError extends Error {
  readonly code: CaptureErrorCode;
  constructor(code: CaptureErrorCode, message: string) {
    super(message);
    this.name = 'CaptureError';
    this.code = code;
  }
}

/** Map a filesystem error from node:fs to a CaptureError (or undefined when it is not one we name). */
export function captureErrorFromFs(err: unknown): CaptureError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return new CaptureError('ENOENT', 'no such file');
    case 'EACCES': case 'EPERM': return new CaptureError('EACCES', 'permission denied');
    case 'EISDIR': return new CaptureError('EISDIR', 'is a directory');
    default: return undefined;
  }
}

/** A usage error: wrong flags, bad config. Exit code 2, one line on stderr. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

// ---------------------------------------------------------------------------------------
// Anomalies

export interface Anomaly {
  layer: Layer;
  code: string;
  count: number;
  firstFrame: number | null;   // null when not tied to a frame (e.g. a file header problem)
  message: string;
}

/** Counts anomalies per layer + code; keeps the first frame and message of each. */
export class AnomalySink {
  private readonly byKey = new Map<string, Anomaly>();

  add(layer: Layer, code: string, frameNo: number | null, message: string, count = 1): void {
    const key = layer + '/' + code;
    const a = this.byKey.get(key);
    if (a) {
      a.count += count;
      if (a.firstFrame === null && frameNo !== null) a.firstFrame = frameNo;
    } else {
      this.byKey.set(key, { layer, code, count, firstFrame: frameNo, message });
    }
  }

  addDecodeError(e: DecodeError, frameNo: number): void {
    this.add(e.layer, anomalyCodeOf(e), frameNo, describeDecodeError(e));
  }

  has(layer: Layer, code: string): boolean {
    return this.byKey.has(layer + '/' + code);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Sorted by first frame, then layer/code, for stable output. */
  list(): Anomaly[] {
    return [...this.byKey.values()].sort((a, b) =>
      (a.firstFrame ?? 0) - (b.firstFrame ?? 0) || (a.layer + a.code).localeCompare(b.layer + b.code));
  }
}
