// HTTP/1.x message heads (RFC 9112) from the first bytes of a TCP direction: the request line
// and the Host header, or the status line and the headers that reveal a proxy (Location, Via,
// Server, WWW-Authenticate, Proxy-Authenticate). Bodies are not decoded.
//
//   request  = method SP request-target SP HTTP-version CRLF *( field-line CRLF ) CRLF
//   response = HTTP-version SP status-code [ SP reason-phrase ] CRLF *( field-line CRLF ) CRLF
//
// request-target forms: origin ("/path"), absolute ("http://host/path", sent to an explicit
// proxy), authority ("host:port", CONNECT only) and asterisk ("*", OPTIONS).
//
// Lax and bounded (conventions.md rule 5): a bare LF ends a line as well as CRLF; an obsolete
// folded line continues the previous field; at most `maxHeaderBytes` bytes (default 16 KiB)
// and `maxFields` field lines (default 100) are read, each kept value is cut to 1024
// characters. Whatever decoded is returned together with `stop`, the reason decoding ended
// early (null when the head ended with its empty line). When not even the start line
// decodes, a DecodeError is returned instead. Never throws.

import { contentError, lenError, type DecodeError } from '../errors.js';

export const HTTP_MAX_HEADER_BYTES = 16 * 1024;
export const HTTP_MAX_FIELDS = 100;
const MAX_VALUE = 1024;
const MAX_START_LINE = 8 * 1024;

export interface HttpDecodeOptions {
  maxHeaderBytes?: number;
  maxFields?: number;
}

interface HttpHead {
  version: string;                 // 'HTTP/1.1'
  /** field lines as [name (lower case), value] in order (bounded) */
  fields: [string, string][];
  /** offset just after the empty line ending the head, -1 when the head was not complete */
  headEnd: number;
  /** Content-Length when present and valid, else -1 */
  contentLength: number;
  /** why decoding stopped before the empty line (null when the head is complete) */
  stop: DecodeError | null;
}

export interface HttpRequest extends HttpHead {
  kind: 'request';
  method: string;
  target: string;
  /** Host header value (lower case, port kept), else the authority of an absolute or CONNECT target */
  host: string | null;
  /** CONNECT host:port (explicit proxy tunnel) */
  connect: { host: string; port: number } | null;
  /** target in absolute form (`http://host/...`): the request was written for an explicit proxy */
  absoluteForm: boolean;
}

export interface HttpResponse extends HttpHead {
  kind: 'response';
  status: number;
  reason: string;
  location: string | null;
  via: string | null;
  server: string | null;
  wwwAuthenticate: string[];
  proxyAuthenticate: string[];
}

export type HttpMessage = HttpRequest | HttpResponse;

// Methods recognised at the start of a request (RFC 9110 §9 plus WebDAV/common extensions).
const METHODS = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'PRI',
]);

/** What the bytes at `off` look like: an HTTP request, a response, or neither (cheap, no allocation). */
export function sniffHttp(buf: Uint8Array, off: number, end: number = buf.length): 'request' | 'response' | null {
  const lim = end < buf.length ? end : buf.length;
  if (lim - off >= 5 && buf[off] === 0x48 && buf[off + 1] === 0x54 && buf[off + 2] === 0x54 &&
      buf[off + 3] === 0x50 && buf[off + 4] === 0x2f) return 'response';       // "HTTP/"
  // method token: 3..10 upper-case letters then a space
  let i = off;
  while (i < lim && i - off <= 10 && buf[i] >= 0x41 && buf[i] <= 0x5a) i++;
  const n = i - off;
  if (n >= 3 && n <= 10 && i < lim && buf[i] === 0x20) return 'request';
  return null;
}

/** Decode an HTTP/1.x request or response head at `off`. */
export function decodeHttp(buf: Buffer, off: number, end: number = buf.length,
  opts: HttpDecodeOptions = {}): HttpMessage | DecodeError {
  const kind = sniffHttp(buf, off, end);
  if (kind === 'response') return decodeHttpResponse(buf, off, end, opts);
  if (kind === 'request') return decodeHttpRequest(buf, off, end, opts);
  const lim = end < buf.length ? end : buf.length;
  if (lim <= off) return lenError('http', 1, 0, 'capture', 0);
  return contentError('HTTP_NOT_HTTP', 'http', 'start', hexPrefix(buf, off, lim), 0);
}

export function decodeHttpRequest(buf: Buffer, off: number, end: number = buf.length,
  opts: HttpDecodeOptions = {}): HttpRequest | DecodeError {
  const lim = end < buf.length ? end : buf.length;
  const line = readLine(buf, off, lim, MAX_START_LINE);
  if (line.end < 0) return startLineError(buf, off, lim, line.next);
  const text = buf.toString('latin1', off, line.end);
  const sp1 = text.indexOf(' ');
  const sp2 = text.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1) return contentError('HTTP_BAD_REQUEST_LINE', 'http', 'request-line', cut(text, 64), 0);
  const method = text.slice(0, sp1);
  const target = text.slice(sp1 + 1, sp2).trim();
  const version = text.slice(sp2 + 1);
  if (!METHODS.has(method) || !/^HTTP\/\d\.\d$/.test(version) || target.length === 0) {
    return contentError('HTTP_BAD_REQUEST_LINE', 'http', 'request-line', cut(text, 64), 0);
  }
  const head = readFields(buf, off, line.next, lim, opts);
  let connect: { host: string; port: number } | null = null;
  let absoluteForm = false;
  let authority: string | null = null;
  if (method === 'CONNECT') {
    const a = splitAuthority(target);
    if (a !== null) { connect = { host: a.host, port: a.port >= 0 ? a.port : 443 }; authority = target; }
  } else {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(target);
    if (m !== null) { absoluteForm = true; authority = m[1].replace(/^.*@/, ''); }
  }
  const hostField = fieldValue(head.fields, 'host');
  const host = hostField !== null && hostField !== '' ? hostField.toLowerCase()
    : authority !== null ? authority.toLowerCase() : null;
  return { kind: 'request', method, target: cut(target, MAX_VALUE), host, connect, absoluteForm, ...head, version };
}

export function decodeHttpResponse(buf: Buffer, off: number, end: number = buf.length,
  opts: HttpDecodeOptions = {}): HttpResponse | DecodeError {
  const lim = end < buf.length ? end : buf.length;
  const line = readLine(buf, off, lim, MAX_START_LINE);
  if (line.end < 0) return startLineError(buf, off, lim, line.next);
  const text = buf.toString('latin1', off, line.end);
  const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(text);
  if (m === null) return contentError('HTTP_BAD_STATUS_LINE', 'http', 'status-line', cut(text, 64), 0);
  const head = readFields(buf, off, line.next, lim, opts);
  const all = (name: string) => head.fields.filter((f) => f[0] === name).map((f) => f[1]);
  const via = all('via');
  return {
    kind: 'response',
    status: Number(m[2]),
    reason: cut(m[3] ?? '', MAX_VALUE),
    location: fieldValue(head.fields, 'location'),
    via: via.length > 0 ? via.join(', ') : null,
    server: fieldValue(head.fields, 'server'),
    wwwAuthenticate: all('www-authenticate'),
    proxyAuthenticate: all('proxy-authenticate'),
    ...head,
    version: m[1],
  };
}

/**
 * `host[:port]` or `[v6]:port` -> host (lower case, brackets removed) and port (-1 when none).
 * Null when it is not an authority.
 */
export function splitAuthority(auth: string): { host: string; port: number } | null {
  const a = auth.trim();
  if (a === '' || /[\s/?#]/.test(a)) return null;
  let host: string;
  let portText = '';
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    if (close < 0) return null;
    host = a.slice(1, close);
    const rest = a.slice(close + 1);
    if (rest !== '') { if (!rest.startsWith(':')) return null; portText = rest.slice(1); }
  } else {
    const colon = a.lastIndexOf(':');
    if (colon >= 0 && a.indexOf(':') === colon) { host = a.slice(0, colon); portText = a.slice(colon + 1); }
    else if (colon >= 0) return null;      // bare IPv6 without brackets is not an authority
    else host = a;
  }
  if (host === '') return null;
  let port = -1;
  if (portText !== '') {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port > 65535) return null;
  }
  return { host: host.toLowerCase(), port };
}

/** Host of an absolute URL (`http://wsa.lab.test/auth` -> 'wsa.lab.test'); null for a relative reference. */
export function urlHost(url: string): string | null {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(url.trim()) ?? /^\/\/([^/?#]*)/.exec(url.trim());
  if (m === null) return null;
  const a = splitAuthority(m[1].replace(/^.*@/, ''));
  return a === null ? null : a.host;
}

// ---------------------------------------------------------------------------------------

/** One line from `off`: `end` = offset of its CR/LF (-1 when no line end within `max` bytes), `next` = start of the next line. */
function readLine(buf: Uint8Array, off: number, lim: number, max: number): { end: number; next: number } {
  const stopAt = off + max < lim ? off + max : lim;
  for (let i = off; i < stopAt; i++) {
    if (buf[i] === 0x0a) return { end: i > off && buf[i - 1] === 0x0d ? i - 1 : i, next: i + 1 };
  }
  return { end: -1, next: stopAt };
}

function startLineError(buf: Uint8Array, off: number, lim: number, next: number): DecodeError {
  if (next < lim) return contentError('HTTP_LINE_TOO_LONG', 'http', 'start-line', next - off, 0);
  return lenError('http', lim - off + 1, lim - off, 'capture', 0);
}

function readFields(buf: Buffer, start: number, off: number, lim: number, opts: HttpDecodeOptions): HttpHead {
  const maxBytes = opts.maxHeaderBytes ?? HTTP_MAX_HEADER_BYTES;
  const maxFields = opts.maxFields ?? HTTP_MAX_FIELDS;
  const headLim = start + maxBytes < lim ? start + maxBytes : lim;
  const fields: [string, string][] = [];
  let contentLength = -1;
  let stop: DecodeError | null = null;
  let headEnd = -1;
  let p = off;
  let lines = 0;
  for (;;) {
    const line = readLine(buf, p, headLim, headLim - p);
    if (line.end < 0) {
      stop = headLim < lim
        ? contentError('HTTP_HEAD_TOO_LONG', 'http', 'head', maxBytes, p - start)
        : lenError('http', lim - start + 1, lim - start, 'capture', p - start);
      break;
    }
    if (line.end === p) { headEnd = line.next; break; }          // empty line: end of head
    if (++lines > maxFields) { stop = contentError('HTTP_TOO_MANY_FIELDS', 'http', 'fields', maxFields, p - start); break; }
    const first = buf[p];
    if ((first === 0x20 || first === 0x09) && fields.length > 0) {   // obs-fold
      const last = fields[fields.length - 1];
      last[1] = cut(last[1] + ' ' + buf.toString('latin1', p, line.end).trim(), MAX_VALUE);
      p = line.next;
      continue;
    }
    const colon = buf.indexOf(0x3a, p);
    if (colon < 0 || colon >= line.end || colon === p) {
      stop = contentError('HTTP_BAD_FIELD_LINE', 'http', 'field-line', cut(buf.toString('latin1', p, line.end), 64), p - start);
      break;
    }
    const name = buf.toString('latin1', p, colon).trim().toLowerCase();
    const value = cut(buf.toString('latin1', colon + 1, line.end).trim(), MAX_VALUE);
    fields.push([name, value]);
    if (name === 'content-length' && /^\d{1,15}$/.test(value)) contentLength = Number(value);
    p = line.next;
  }
  return { version: '', fields, headEnd, contentLength, stop };
}

function fieldValue(fields: readonly [string, string][], name: string): string | null {
  for (const f of fields) if (f[0] === name) return f[1];
  return null;
}

function cut(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n);
}

function hexPrefix(buf: Uint8Array, off: number, lim: number): string {
  let s = '';
  for (let i = off; i < lim && i < off + 8; i++) s += buf[i].toString(16).padStart(2, '0');
  return s;
}
