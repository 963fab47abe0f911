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

/*
 * A uwsgi request's CGI keys come off the wire, so they are stored with computed names, and V8
 * turns an object that gets more than a dozen of those into a hash table: about 1.8 KB for a
 * request from nginx, slower to fill and to read. V8 sizes a constructor's objects by the
 * `this.x =` assignments in its body, run or not, and trims that to what its first objects used.
 * The assignments below never run; they only reserve in-object room, so the environ stays a fast
 * object of a few hundred bytes whatever its keys. Its prototype is Object.prototype: to an app it
 * is a plain object.
 */
function EnvironObject(this: Record<string, unknown>, reserve: boolean): void {
  if (reserve) {
    this.r0 = 0; this.r1 = 0; this.r2 = 0; this.r3 = 0; this.r4 = 0; this.r5 = 0;
    this.r6 = 0; this.r7 = 0; this.r8 = 0; this.r9 = 0; this.r10 = 0; this.r11 = 0;
    this.r12 = 0; this.r13 = 0; this.r14 = 0; this.r15 = 0; this.r16 = 0; this.r17 = 0;
    this.r18 = 0; this.r19 = 0; this.r20 = 0; this.r21 = 0; this.r22 = 0; this.r23 = 0;
    this.r24 = 0; this.r25 = 0; this.r26 = 0; this.r27 = 0; this.r28 = 0; this.r29 = 0;
    this.r30 = 0; this.r31 = 0; this.r32 = 0; this.r33 = 0; this.r34 = 0; this.r35 = 0;
    this.r36 = 0; this.r37 = 0; this.r38 = 0; this.r39 = 0; this.r40 = 0; this.r41 = 0;
    this.r42 = 0; this.r43 = 0; this.r44 = 0; this.r45 = 0; this.r46 = 0; this.r47 = 0;
  }
}
EnvironObject.prototype = Object.prototype;

/** An empty environ to fill with computed keys (see EnvironObject). */
export function newEnvironObject(): Record<string, unknown> {
  return new (EnvironObject as unknown as new (reserve: boolean) => Record<string, unknown>)(false);
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
  const socket = req.socket;
  const peer: HttpPeer = { localAddress: socket.localAddress ?? '', remoteAddress: socket.remoteAddress ?? '', remotePort: String(socket.remotePort ?? '') };
  return httpEnvironOf(req.method ?? 'GET', req.url ?? '/', req.httpVersion, req.rawHeaders, peer, serverPort, shared, input, core);
}

/** The addresses of an HTTP connection, as the environ carries them. */
export interface HttpPeer {
  localAddress: string;
  remoteAddress: string;
  remotePort: string;
}

/** httpEnviron() from the parts of a request head (`httpVersion` as "1.1"), wherever they were parsed. */
export function httpEnvironOf(
  method: string,
  url: string,
  httpVersion: string,
  rawHeaders: string[],
  peer: HttpPeer,
  serverPort: string,
  shared: SharedEnviron,
  input: unknown,
  core: number,
): Environ {
  const q = url.indexOf('?');
  const environ: Record<string, unknown> = {
    REQUEST_METHOD: method,
    REQUEST_URI: url,
    PATH_INFO: decodePathBytes(q < 0 ? url : url.slice(0, q)),
    QUERY_STRING: q < 0 ? '' : url.slice(q + 1),
    SCRIPT_NAME: '',
    SERVER_PROTOCOL: httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${httpVersion}`,
    SERVER_NAME: peer.localAddress,
    SERVER_PORT: serverPort,
    REMOTE_ADDR: peer.remoteAddress,
    REMOTE_PORT: peer.remotePort,
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
  addHeaderVars(environ, rawHeaders);
  return environ as Environ;
}
