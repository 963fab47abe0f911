import type { IncomingMessage } from 'node:http';
import type { VarPair } from './vars.js';

export interface NginxUwsgiVarsOptions {
  /** $server_name: the matching server block's first server_name (nginx's default is ''). */
  serverName?: string;
  /** $server_port (default: the local port of the request's socket). */
  serverPort?: number | string;
  /** $remote_addr (default: the socket's remote address, with an IPv4-mapped ::ffff: prefix removed). */
  remoteAddr?: string;
  /** $remote_port (default: the socket's remote port). */
  remotePort?: number | string;
  /** $document_root (default '/usr/share/nginx/html', the root of Debian's nginx when none is configured). */
  documentRoot?: string;
  /** $https is 'on' and $scheme 'https' (default: whether the socket is TLS). */
  https?: boolean;
  /**
   * $content_length. By default the Content-Length header ('' without one). nginx, which buffers a chunked request
   * body before passing it, sends the buffered length here (and still passes HTTP_TRANSFER_ENCODING: chunked); give
   * that length when you do the same.
   */
  contentLength?: number | string;
  /** $server_protocol (default `HTTP/${req.httpVersion}`). */
  serverProtocol?: string;
  /**
   * Debian's /etc/nginx/uwsgi_params adds `uwsgi_param HTTP_HOST $host` after the 14 stock params (a security
   * workaround): HTTP_HOST is then $host (lowercase, no port) and the client's Host header is not passed. Default false.
   */
  debianHostParam?: boolean;
  /**
   * nginx >= 1.23 sends one var per header name, duplicate values joined with ', ' ('; ' for Cookie). nginx <= 1.22
   * (Debian bookworm's 1.22.1) sends one var per header line. Default true.
   */
  joinDuplicateHeaders?: boolean;
  /** nginx `underscores_in_headers` (default off: headers with '_' in their name are dropped). */
  underscoresInHeaders?: boolean;
}

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The vars nginx sends with `include uwsgi_params; uwsgi_pass ...;` for this request, in nginx's order: the 14 keys
 * of the stock conf/uwsgi_params (HTTPS only when https), then HTTP_* for each request header (name upper-cased,
 * '-' to '_'; names with characters other than letters, digits and '-' are dropped, as nginx's default
 * ignore_invalid_headers and underscores_in_headers off do). Values are latin1 strings, as Node gives them.
 */
export function nginxUwsgiVars(req: IncomingMessage, options: NginxUwsgiVarsOptions = {}): VarPair[] {
  const socket = req.socket as (IncomingMessage['socket'] & { encrypted?: boolean }) | undefined;
  const https = options.https ?? socket?.encrypted === true;
  const rawUrl = req.url ?? '/';
  const requestUri = originForm(rawUrl);
  const q = requestUri.indexOf('?');
  const path = q < 0 ? requestUri : requestUri.slice(0, q);
  const query = q < 0 ? '' : requestUri.slice(q + 1);
  const remote = options.remoteAddr ?? unmap(socket?.remoteAddress ?? '');
  const vars: VarPair[] = [
    ['QUERY_STRING', query],
    ['REQUEST_METHOD', req.method ?? 'GET'],
    ['CONTENT_TYPE', firstHeader(req, 'content-type')],
    ['CONTENT_LENGTH', options.contentLength === undefined ? firstHeader(req, 'content-length') : String(options.contentLength)],
    ['REQUEST_URI', requestUri],
    ['PATH_INFO', documentUri(path)],
    ['DOCUMENT_ROOT', options.documentRoot ?? '/usr/share/nginx/html'],
    ['SERVER_PROTOCOL', options.serverProtocol ?? `HTTP/${req.httpVersion}`],
    ['REQUEST_SCHEME', https ? 'https' : 'http'],
  ];
  if (https) vars.push(['HTTPS', 'on']);
  vars.push(
    ['REMOTE_ADDR', remote],
    ['REMOTE_PORT', String(options.remotePort ?? socket?.remotePort ?? '')],
    ['SERVER_PORT', String(options.serverPort ?? socket?.localPort ?? '')],
    ['SERVER_NAME', options.serverName ?? ''],
  );
  const skipHost = options.debianHostParam === true;
  if (skipHost) vars.push(['HTTP_HOST', hostVariable(req, rawUrl, options.serverName ?? '')]);
  const join = options.joinDuplicateHeaders !== false;
  const valid = options.underscoresInHeaders === true ? /^[A-Za-z0-9_-]+$/ : /^[A-Za-z0-9-]+$/;
  const raw = req.rawHeaders;
  const index = new Map<string, number>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (!valid.test(name)) continue;
    const lower = name.toLowerCase();
    if (skipHost && lower === 'host') continue;
    const at = join ? index.get(lower) : undefined;
    if (at !== undefined) {
      vars[at][1] += (lower === 'cookie' ? '; ' : ', ') + value;
      continue;
    }
    if (join) index.set(lower, vars.length);
    vars.push([`HTTP_${name.toUpperCase().replace(/-/g, '_')}`, value]);
  }
  return vars;
}

function unmap(address: string): string {
  const m = IPV4_MAPPED.exec(address);
  return m ? m[1] : address;
}

function firstHeader(req: IncomingMessage, name: string): string {
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() === name) return raw[i + 1];
  return '';
}

/** nginx's $request_uri for an absolute-form target (`GET http://h/p`) is the path and query. */
function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?]*(.*)$/.exec(url);
  if (m === null) return url;
  return m[1] === '' ? '/' : m[1].startsWith('?') ? `/${m[1]}` : m[1];
}

/** $host: host from an absolute-form target, else the Host header, else server_name; lowercase, without the port. */
function hostVariable(req: IncomingMessage, rawUrl: string, serverName: string): string {
  const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?]*)/.exec(rawUrl);
  const host = abs ? abs[1] : firstHeader(req, 'host');
  if (host === '') return serverName;
  const withoutPort = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  return withoutPort.toLowerCase();
}

/**
 * nginx's $document_uri (= $uri): the path with %XX decoded (to bytes, kept as latin1 chars), '//' merged (nginx's
 * merge_slashes on), and '.' / '..' segments resolved ('..' never climbs above '/').
 */
export function documentUri(path: string): string {
  const decoded = path.includes('%') ? percentDecode(path) : path;
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === '' && !last) continue;
    if (seg === '.') {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}

function percentDecode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}
