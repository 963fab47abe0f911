import { UwsgiProtocolError } from './errors.js';
import { latin1Slice } from './latin1.js';

export type HeaderPair = [name: string, value: string];

/** How the end of a response body is known. */
export type ResponseFraming = 'length' | 'chunked' | 'close';

export interface ResponseHead {
  status: number;
  statusText: string;
  /** '1.0', '1.1', ... ; '' for a CGI-style head (`Status:` header instead of a status line). */
  httpVersion: string;
  /** In the order and case the server sent them. A CGI-style `Status:` header is removed. */
  headers: HeaderPair[];
  framing: ResponseFraming;
  /** Content-Length when framing is 'length'. */
  contentLength: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/;
const CGI_STATUS = /^(\d{3})(?: (.*))?$/;
// field values: visible chars, SP, HTAB and obs-text; no CR, LF or NUL
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

function invalid(reason: string): UwsgiProtocolError {
  return new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_HEADER', `the uwsgi server sent an invalid response head (${reason})`, {
    logText: 'upstream sent invalid header while reading response header from upstream',
  });
}

/**
 * Index just past the blank line ending the head in buf[0, limit), or -1. Lines may end in CRLF or a bare LF (nginx
 * accepts both).
 */
export function findHeadEnd(buf: Buffer, from: number, limit: number): number {
  let i = buf.indexOf(0x0a, from);
  while (i >= 0 && i < limit) {
    const next = buf[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && buf[i + 2] === 0x0a) return i + 3;
    i = buf.indexOf(0x0a, i + 1);
  }
  return -1;
}

/**
 * Parses the raw HTTP head a uwsgi server writes (`HTTP/1.x NNN reason`, headers, blank line) or, as nginx does,
 * a CGI-style head (`Status: NNN reason`; 302 with Location; 200 otherwise). `method` matters for framing: responses
 * to HEAD, 1xx, 204 and 304 carry no body, so they are read to the close without checking a length.
 */
export function parseResponseHead(buf: Buffer, end: number, method = 'GET'): ResponseHead | UwsgiProtocolError {
  const text = latin1Slice(buf, 0, end);
  const lines = text.split('\n');
  // drop the blank line and what split made after it
  lines.length = lines.length - 2;
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
  let status = 0;
  let statusText = '';
  let httpVersion = '';
  let first = 0;
  const m = STATUS_LINE.exec(lines[0] ?? '');
  if (m !== null) {
    httpVersion = `${m[1]}.${m[2]}`;
    status = Number(m[3]);
    statusText = m[4] ?? '';
    first = 1;
  } else if ((lines[0] ?? '').startsWith('HTTP/')) {
    return invalid(`bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  }
  const headers: HeaderPair[] = [];
  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let location = false;
  for (let i = first; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) return invalid(`header line without a name: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return invalid(`bad header name ${JSON.stringify(name.slice(0, 80))}`);
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) return invalid(`bad characters in header ${name}`);
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) return invalid(`Content-Length ${JSON.stringify(value.slice(0, 40))}`);
      const n = Number(value);
      if (contentLength >= 0 && contentLength !== n) return invalid('conflicting Content-Length headers');
      contentLength = n;
    } else if (lower === 'transfer-encoding') {
      transferEncoding = true;
      chunked = /(?:^|,)[ \t]*chunked[ \t]*$/i.test(value);
    } else if (lower === 'location') {
      location = true;
    } else if (first === 0 && lower === 'status') {
      const s = CGI_STATUS.exec(value);
      if (s === null) return invalid(`Status ${JSON.stringify(value.slice(0, 40))}`);
      status = Number(s[1]);
      statusText = s[2] ?? '';
      continue;
    }
    headers.push([name, value]);
  }
  if (first === 0) {
    if (headers.length === 0 && status === 0) return invalid('no status line and no headers');
    if (status === 0) status = location ? 302 : 200;
  }
  if (status < 100) return invalid(`status ${status}`);
  let framing: ResponseFraming = 'close';
  const bodyless = method === 'HEAD' || status < 200 || status === 204 || status === 304;
  if (!bodyless) {
    if (transferEncoding) framing = chunked ? 'chunked' : 'close';
    else if (contentLength >= 0) framing = 'length';
  }
  return { status, statusText, httpVersion, headers, framing, contentLength: framing === 'length' ? contentLength : -1 };
}
