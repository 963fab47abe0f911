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

/** Raw header name → CGI key (`User-Agent` → `HTTP_USER_AGENT`), for the names a worker keeps seeing. */
const cgiKeys = new Map<string, string>();
const CGI_KEY_CACHE_LIMIT = 1024;

function cgiHeaderKey(name: string): string {
  let key = cgiKeys.get(name);
  if (key !== undefined) return key;
  const upper = name.toUpperCase().replace(/-/g, '_');
  key = upper === 'CONTENT_TYPE' || upper === 'CONTENT_LENGTH' ? upper : 'HTTP_' + upper;
  // Bounded: a client sending ever-new header names must not grow the worker.
  if (cgiKeys.size < CGI_KEY_CACHE_LIMIT) cgiKeys.set(name, key);
  return key;
}

/** Adds the request's headers as CGI keys, joining repeats as uWSGI's http parser does. */
function addHeaderVars(vars: Record<string, unknown>, raw: string[]): void {
  for (let i = 0; i < raw.length; i += 2) {
    const key = cgiHeaderKey(raw[i]);
    const value = raw[i + 1];
    const prev = vars[key];
    if (prev === undefined || key.charCodeAt(0) === 67 /* C: CONTENT_TYPE, CONTENT_LENGTH */) vars[key] = value;
    else vars[key] = `${prev as string}${key === 'HTTP_COOKIE' ? '; ' : ', '}${value}`;
  }
  const host = vars.HTTP_HOST;
  if (typeof host === 'string') {
    const colon = host.charCodeAt(0) === 91 /* [ */ ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
    vars.SERVER_NAME = colon > 0 ? host.slice(0, colon) : host;
  }
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
  addHeaderVars(vars, req.rawHeaders);
  return vars;
}

/** What every environ of one worker shares (see addTsgiKeys). */
export interface SharedEnviron {
  errors: unknown;
  multiprocess: boolean;
  uwsgiVersion: string;
}

/**
 * The whole environ of an --http-socket request in one object literal, so every request's environ
 * starts with the same shape: the CGI variables, the tsgi.* and uwsgi.* keys, then the headers.
 */
export function httpEnviron(req: IncomingMessage, serverPort: string, shared: SharedEnviron, input: unknown, core: number): Environ {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const socket = req.socket;
  const environ: Record<string, unknown> = {
    REQUEST_METHOD: req.method ?? 'GET',
    REQUEST_URI: url,
    PATH_INFO: decodePathBytes(q < 0 ? url : url.slice(0, q)),
    QUERY_STRING: q < 0 ? '' : url.slice(q + 1),
    SCRIPT_NAME: '',
    SERVER_PROTOCOL: req.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.httpVersion}`,
    SERVER_NAME: socket.localAddress ?? '',
    SERVER_PORT: serverPort,
    REMOTE_ADDR: socket.remoteAddress ?? '',
    REMOTE_PORT: String(socket.remotePort ?? ''),
    'tsgi.version': TSGI_VERSION,
    'tsgi.url_scheme': 'http',
    'tsgi.input': input,
    'tsgi.errors': shared.errors,
    'tsgi.multithread': false,
    'tsgi.multiprocess': shared.multiprocess,
    'tsgi.run_once': false,
    'tsgi.greenlet': undefined,
    'uwsgi.version': shared.uwsgiVersion,
    'uwsgi.node': NODE_NAME,
    'uwsgi.core': core,
  };
  addHeaderVars(environ, req.rawHeaders);
  return environ as Environ;
}
