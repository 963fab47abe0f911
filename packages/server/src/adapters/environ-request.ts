import type { Environ } from '../engine/environ.js';

/** `HTTP_X_FORWARDED_FOR` → `X-Forwarded-For`; CGI names keep no case, so this restores the usual one. */
export function headerName(cgiName: string): string {
  const lower = cgiName.toLowerCase();
  let out = '';
  let upper = true;
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i];
    if (c === '_') {
      out += '-';
      upper = true;
    } else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

/**
 * The request's header fields, rebuilt from the CGI variables as `[Name, value, ...]` (Node's
 * `rawHeaders` shape). Repeated fields arrive already joined (`, `, or `; ` for Cookie) by nginx or
 * the engine, so each name appears once.
 */
export function rawHeadersOf(environ: Environ): string[] {
  const raw: string[] = [];
  for (const key in environ) {
    if (key.charCodeAt(0) !== 72 /* H */ || !key.startsWith('HTTP_')) continue;
    const value = environ[key];
    if (typeof value !== 'string') continue;
    // HTTP_CONTENT_TYPE/LENGTH would duplicate CONTENT_TYPE/LENGTH (some proxies send both).
    if (key === 'HTTP_CONTENT_TYPE' || key === 'HTTP_CONTENT_LENGTH') continue;
    raw.push(headerName(key.slice(5)), value);
  }
  const type = environ.CONTENT_TYPE;
  if (typeof type === 'string' && type !== '') raw.push('Content-Type', type);
  const length = environ.CONTENT_LENGTH;
  if (typeof length === 'string' && length !== '') raw.push('Content-Length', length);
  return raw;
}

/** True when the request carries a body: a non-zero CONTENT_LENGTH or a Transfer-Encoding. */
export function hasRequestBody(environ: Environ): boolean {
  const length = environ.CONTENT_LENGTH;
  if (typeof length === 'string' && length !== '' && length !== '0') return true;
  return typeof environ.HTTP_TRANSFER_ENCODING === 'string';
}

/** The request target as the client sent it: REQUEST_URI, else rebuilt from SCRIPT_NAME, PATH_INFO and QUERY_STRING. */
export function requestTarget(environ: Environ): string {
  const uri = environ.REQUEST_URI;
  if (typeof uri === 'string' && uri !== '') return uri;
  const path = Buffer.from(`${environ.SCRIPT_NAME}${environ.PATH_INFO}`, 'latin1');
  const encoded = encodeURI(path.toString('utf8')) || '/';
  return environ.QUERY_STRING ? `${encoded}?${environ.QUERY_STRING}` : encoded;
}

/** `host[:port]` the request was for: the Host header, else SERVER_NAME and SERVER_PORT. */
export function requestHost(environ: Environ): string {
  const host = environ.HTTP_HOST;
  if (typeof host === 'string' && host !== '') return host;
  const name = typeof environ.SERVER_NAME === 'string' && environ.SERVER_NAME !== '' ? environ.SERVER_NAME : 'localhost';
  const port = typeof environ.SERVER_PORT === 'string' ? environ.SERVER_PORT : '';
  const scheme = environ['tsgi.url_scheme'];
  const defaultPort = scheme === 'https' ? '443' : '80';
  const bracketed = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  return port === '' || port === defaultPort ? bracketed : `${bracketed}:${port}`;
}

/** `HTTP/1.1` → [1, 1]; anything unreadable counts as HTTP/1.0, as uWSGI assumes. */
export function httpVersionOf(environ: Environ): [number, number] {
  const m = /^HTTP\/(\d)\.(\d)$/.exec(environ.SERVER_PROTOCOL);
  return m === null ? [1, 0] : [Number(m[1]), Number(m[2])];
}
