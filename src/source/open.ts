// Opening inputs: a path (or '-' for stdin) becomes a PacketSource. Format and compression
// are recognised by magic bytes, never by name.
// STUB: implemented in the foundation issue (readers).
import type { OpenOptions, PacketSource } from './types.js';

/** Open a capture file, or stdin for '-'. Throws CaptureError (ENOENT, EACCES, EISDIR, NOT_A_CAPTURE, EMPTY_FILE, UNSUPPORTED_VERSION) when it cannot be read. */
export async function openCapture(path: string, opts: OpenOptions): Promise<PacketSource> {
  void path; void opts;
  throw new Error('openCapture: not implemented yet');
}

/** Wrap any byte stream (e.g. process.stdin). Errors surface when iteration starts. */
export function openStream(stream: NodeJS.ReadableStream, opts: OpenOptions): PacketSource {
  void stream; void opts;
  throw new Error('openStream: not implemented yet');
}
