import { closeSync, createReadStream, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import type { StaticLocation } from './config.js';

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.htm': 'text/html',
  '.css': 'text/css',
  '.js': 'application/javascript',
  '.mjs': 'application/javascript',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.xml': 'text/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
};

export interface StaticResult {
  readonly status: number;
  /** Body bytes the response will carry (what the access log reports). */
  readonly bytes: number;
  /** The body stream still being written, if any; the caller waits for the response to finish. */
}

/**
 * Resolves a normalized request path (already percent-decoded, no `..` segments) under the location's
 * directory. Returns null when the path would leave the directory.
 */
export function staticPath(location: StaticLocation, uriPath: string): string | null {
  const rest = uriPath.slice(location.prefix.length);
  if (rest.includes('\0')) return null;
  const full = join(location.root, rest);
  if (full !== location.root && !full.startsWith(location.root.endsWith(sep) ? location.root : location.root + sep)) return null;
  return full;
}

/** nginx's ETag: "<mtime seconds hex>-<size hex>". */
function etagOf(mtimeMs: number, size: number): string {
  return `"${Math.floor(mtimeMs / 1000).toString(16)}-${size.toString(16)}"`;
}

function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  // Several ranges, or a syntax we do not know: the full response is a correct answer (RFC 9110 §14.2).
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== '' && Number(m[2]) < start)) return 'unsatisfiable';
  return { start, end };
}

/** Files up to this size are read in one synchronous read and sent with the head (nginx's output buffer, 32k). */
const SMALL_FILE = 32 * 1024;

function openFile(path: string): { fd: number; st: Stats } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return { fd, st: fstatSync(fd) };
  } catch {
    closeSync(fd);
    return null;
  }
}

/** Reads `length` bytes at `start`; null when the file shrank under us. */
function readSmall(fd: number, start: number, length: number): Buffer | null {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, start + done);
    if (n === 0) return null;
    done += n;
  }
  return buf;
}

/**
 * Serves one file of a static location with ETag, Last-Modified, conditional requests and single byte ranges
 * (as nginx's static module). Directories get their index file, or a redirect to the path with a slash.
 * The file is opened, fstat()ed and (when small) read with blocking calls on the event loop, as nginx does
 * without `aio`: a page-cached file costs a few microseconds that way, against a thread-pool round trip per call.
 * Everything about the file (type, size, mtime, bytes) comes from one descriptor, so a file replaced meanwhile
 * is never served with another file's length or ETag.
 */
export function serveStatic(req: IncomingMessage, res: ServerResponse, location: StaticLocation, uriPath: string, rawQuery: string): StaticResult {
  const send = (status: number, headers: Record<string, string | number> = {}, body = ''): StaticResult => {
    res.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body), Server: 'tsgi-edge', ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
    return { status, bytes: Buffer.byteLength(body) };
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { Allow: 'GET, HEAD' }, errorPage(405));
  let file = staticPath(location, uriPath);
  if (file === null) return send(404, {}, errorPage(404));
  let opened = openFile(file);
  if (opened?.st.isDirectory()) {
    closeSync(opened.fd);
    opened = null;
    if (!uriPath.endsWith('/')) return send(301, { Location: `${uriPath}/${rawQuery}` }, errorPage(301));
    const dir = file;
    for (const name of location.index) {
      const candidate = openFile(join(dir, name));
      if (candidate?.st.isFile()) {
        file = join(dir, name);
        opened = candidate;
        break;
      }
      if (candidate) closeSync(candidate.fd);
    }
    if (!opened) return send(403, {}, errorPage(403));
  }
  if (!opened) return send(404, {}, errorPage(404));
  const { fd, st } = opened;
  if (!st.isFile()) {
    closeSync(fd);
    return send(404, {}, errorPage(404));
  }
  let fdOwned = true;
  try {
    const etag = etagOf(st.mtimeMs, st.size);
    const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
    const base = {
      'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Last-Modified': lastModified,
      ETag: etag,
      'Accept-Ranges': 'bytes',
      Server: 'tsgi-edge',
    };
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    const notModified = inm !== undefined
      ? inm.split(',').some((t) => t.trim() === etag || t.trim() === '*' || t.trim() === `W/${etag}`)
      : ims !== undefined && Date.parse(ims) >= Math.floor(st.mtimeMs / 1000) * 1000;
    if (notModified) {
      res.writeHead(304, base);
      res.end();
      return { status: 304, bytes: 0 };
    }

    let range: { start: number; end: number } | null = null;
    const rangeHeader = req.headers.range;
    const ifRange = req.headers['if-range'];
    const rangeApplies = rangeHeader !== undefined && (ifRange === undefined || ifRange === etag || ifRange === lastModified);
    if (rangeApplies) {
      const r = parseRange(rangeHeader, st.size);
      if (r === 'unsatisfiable') return send(416, { 'Content-Range': `bytes */${st.size}` }, errorPage(416));
      range = r;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? st.size - 1;
    const length = st.size === 0 ? 0 : end - start + 1;
    const headers: Record<string, string | number> = { ...base, 'Content-Length': length };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    const status = range ? 206 : 200;
    if (req.method === 'HEAD' || length === 0) {
      res.writeHead(status, headers);
      res.end();
      return { status, bytes: 0 };
    }
    if (length <= SMALL_FILE) {
      const data = readSmall(fd, start, length);
      // Shrunk between fstat and read: nothing was sent yet, so the client gets a clean error instead of a short body.
      if (data === null) return send(500, {}, errorPage(500));
      res.writeHead(status, headers);
      res.end(data);
      return { status, bytes: length };
    }
    res.writeHead(status, headers);
    const stream = createReadStream('', { fd, start, end, autoClose: true });
    fdOwned = false;
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
    return { status, bytes: length };
  } finally {
    if (fdOwned) closeSync(fd);
  }
}

const REASONS: Record<number, string> = {
  301: 'Moved Permanently',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Not Allowed',
  408: 'Request Time-out',
  413: 'Request Entity Too Large',
  416: 'Requested Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

/** nginx's built-in error page, with tsgi-edge's name. */
export function errorPage(status: number): string {
  const title = `${status} ${REASONS[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>tsgi-edge</center>\r\n</body>\r\n</html>\r\n`;
}
