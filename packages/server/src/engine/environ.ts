import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';

/** The TSGI environ: CGI variables (latin1 strings, byte-exact as WSGI's) plus the tsgi.* and uwsgi.* keys. */
export type Environ = Record<string, unknown> & {
  REQUEST_METHOD: string;
  PATH_INFO: string;
  QUERY_STRING: string;
  SCRIPT_NAME: string;
  SERVER_PROTOCOL: string;
};

export const TSGI_VERSION: readonly [number, number] = Object.freeze([1, 0]) as readonly [number, number];
const NODE_NAME = hostname();

export interface EnvironExtras {
  input: unknown;
  errors: unknown;
  multiprocess: boolean;
  core: number;
  greenlet: unknown;
  uwsgiVersion: string;
}

/** uWSGI's scheme rule: UWSGI_SCHEME wins, then HTTPS on/1, else http. */
export function urlScheme(vars: Record<string, unknown>): 'http' | 'https' {
  const explicit = vars.UWSGI_SCHEME;
  if (explicit === 'https' || explicit === 'http') return explicit;
  const https = typeof vars.HTTPS === 'string' ? vars.HTTPS.toLowerCase() : '';
  return https === 'on' || https === '1' ? 'https' : 'http';
}

export function addTsgiKeys(environ: Record<string, unknown>, extras: EnvironExtras): Environ {
  environ['tsgi.version'] = TSGI_VERSION;
  environ['tsgi.url_scheme'] = urlScheme(environ);
  environ['tsgi.input'] = extras.input;
  environ['tsgi.errors'] = extras.errors;
  environ['tsgi.multithread'] = false;
  environ['tsgi.multiprocess'] = extras.multiprocess;
  environ['tsgi.run_once'] = false;
  environ['tsgi.greenlet'] = extras.greenlet;
  environ['uwsgi.version'] = extras.uwsgiVersion;
  environ['uwsgi.node'] = NODE_NAME;
  environ['uwsgi.core'] = extras.core;
  for (const key of ['REQUEST_METHOD', 'PATH_INFO', 'QUERY_STRING', 'SCRIPT_NAME', 'SERVER_PROTOCOL'] as const) {
    if (typeof environ[key] !== 'string') environ[key] = key === 'REQUEST_METHOD' ? 'GET' : key === 'SERVER_PROTOCOL' ? 'HTTP/1.0' : '';
  }
  return environ as Environ;
}

/** Percent-decodes a URI path into bytes and returns them as a latin1 string (what uWSGI's http parser puts in PATH_INFO). */
export function decodePathBytes(path: string): string {
  if (!path.includes('%')) return path;
  const bytes: number[] = [];
  const raw = Buffer.from(path, 'latin1');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 0x25 && i + 2 < raw.length) {
      const hex = raw.toString('latin1', i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    bytes.push(c);
  }
  return Buffer.from(bytes).toString('latin1');
}

/** CGI variables for a request that came through --http-socket (Node's own HTTP parser). */
export function httpRequestVars(req: IncomingMessage, serverPort: number): Record<string, unknown> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const socket = req.socket;
  const vars: Record<string, unknown> = {
    REQUEST_METHOD: req.method ?? 'GET',
    REQUEST_URI: url,
    PATH_INFO: decodePathBytes(path),
    QUERY_STRING: q < 0 ? '' : url.slice(q + 1),
    SCRIPT_NAME: '',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    SERVER_NAME: socket.localAddress ?? '',
    SERVER_PORT: String(serverPort),
    REMOTE_ADDR: socket.remoteAddress ?? '',
    REMOTE_PORT: String(socket.remotePort ?? ''),
  };
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toUpperCase().replace(/-/g, '_');
    const value = raw[i + 1];
    if (name === 'CONTENT_TYPE' || name === 'CONTENT_LENGTH') {
      vars[name] = value;
      continue;
    }
    const key = 'HTTP_' + name;
    const prev = vars[key];
    vars[key] = prev === undefined ? value : `${prev}${name === 'COOKIE' ? '; ' : ', '}${value}`;
  }
  if (typeof vars.HTTP_HOST === 'string') {
    const host = vars.HTTP_HOST;
    const colon = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
    vars.SERVER_NAME = colon > 0 ? host.slice(0, colon) : host;
  }
  return vars;
}
