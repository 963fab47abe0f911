import { IncomingMessage, ServerResponse } from 'node:http';
import { ClientDisconnectedError } from '../errors.js';
import { addTsgiKeys, httpRequestVars, type Environ } from './environ.js';
import type { RequestLogRecord } from '../logging/request-log.js';
import type { RequestContext } from './request-context.js';
import { TsgiInput } from './tsgi-input.js';

type WriteCallback = (error?: Error | null) => void;

function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return chunk.length === 0 ? 0 : Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

const nodeWrite = ServerResponse.prototype.write;
const nodeEnd = ServerResponse.prototype.end;

function countingWrite(this: CountingServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  if (!this.writableEnded && !this.destroyed) this.tsgiBodyBytes += chunkBytes(chunk, encoding);
  return (nodeWrite as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback);
}

function countingEnd(this: CountingServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown): CountingServerResponse {
  if (typeof chunk !== 'function' && chunk !== undefined && chunk !== null && !this.writableEnded && !this.destroyed) {
    this.tsgiBodyBytes += chunkBytes(chunk, encoding);
  }
  return (nodeEnd as (...args: unknown[]) => CountingServerResponse).call(this, chunk, encoding, callback);
}

/**
 * The --http-socket server's response class: a ServerResponse that counts the body bytes the app
 * hands it (as uWSGI's log line reports them, without chunked framing), for requests served
 * straight from Node's `req`/`res`. The counting write() and end() are the instance's own, because
 * frameworks swap the prototype of `res` (Express sets its own).
 */
export class CountingServerResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  /** Body bytes written by the app (before chunked framing; a HEAD response's discarded body included). */
  tsgiBodyBytes = 0;

  constructor(req: Request, options?: object) {
    // Node passes the server's options (highWaterMark, ...) as a second argument its types omit.
    super(...([req, options] as unknown as [Request]));
    Object.assign(this, { write: countingWrite, end: countingEnd });
  }
}

/** The size and count of the response's header block as Node wrote it (status line and blank line included). */
export function sentHeaderBlock(res: ServerResponse): { bytes: number; count: number } {
  const header = (res as unknown as { _header?: string | null })._header;
  if (typeof header !== 'string') return { bytes: 0, count: 0 };
  let lines = 0;
  for (let i = header.indexOf('\n'); i >= 0; i = header.indexOf('\n', i + 1)) lines++;
  return { bytes: header.length, count: Math.max(0, lines - 2) };
}

/**
 * The number of CGI vars of `req` and their size in a uwsgi packet, for the request log, estimated
 * without building the environ: the ten vars httpRequestVars always sets (126 bytes of names, the
 * URI counted twice for REQUEST_URI and PATH_INFO plus QUERY_STRING, 30 bytes for protocol, server
 * and remote address), then one var per header field.
 */
export function requestVarsSize(req: IncomingMessage): { count: number; bytes: number } {
  const raw = req.rawHeaders;
  let bytes = 4 * 10 + 126 + 30 + (req.method?.length ?? 0) + 2 * (req.url?.length ?? 0);
  for (let i = 0; i < raw.length; i += 2) bytes += 4 + 5 + raw[i].length + raw[i + 1].length;
  return { count: 10 + raw.length / 2, bytes };
}

/** What every request of one engine shares. */
export interface NativeContextOptions {
  workerId: number;
  socketTimeout: number;
  multiprocess: boolean;
  version: string;
  errors: (text: string) => void;
}

/**
 * The request context of a request served straight from Node's `req`/`res`: what the engine logs
 * is read from `req`, and the environ (which apps served this way rarely read) is built on first use.
 */
export class NativeRequestContext implements RequestContext {
  readonly workerId: number;
  readonly core: number;
  readonly startTime: number;
  greenlet: unknown = undefined;
  readonly method: string;
  readonly uri: string;
  readonly remoteAddr: string;
  ended = false;
  /** Set when --harakiri cancelled the request. */
  harakiri = false;
  /** Set when the app failed (already logged and answered or cut). */
  failed = false;
  harakiriTimer: NodeJS.Timeout | undefined = undefined;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly #serverPort: number;
  readonly #options: NativeContextOptions;
  #environ: Environ | null = null;
  #disconnect: AbortController | null = null;

  constructor(req: IncomingMessage, res: ServerResponse, core: number, serverPort: number, options: NativeContextOptions) {
    this.workerId = options.workerId;
    this.core = core;
    this.#serverPort = serverPort;
    this.startTime = Date.now();
    this.method = req.method ?? 'GET';
    this.uri = req.url ?? '/';
    this.remoteAddr = req.socket.remoteAddress ?? '';
    this.req = req;
    this.res = res;
    this.#options = options;
  }

  get environ(): Environ {
    if (this.#environ !== null) return this.#environ;
    const options = this.#options;
    const vars = httpRequestVars(this.req, this.#serverPort);
    const environ = addTsgiKeys(vars, {
      input: new TsgiInput(this.req, { timeoutSeconds: options.socketTimeout }),
      errors: { write: (text: string) => options.errors(String(text).replace(/\n$/, '')), flush: () => undefined },
      multiprocess: options.multiprocess,
      core: this.core,
      greenlet: this.greenlet,
      uwsgiVersion: options.version,
    });
    const res = this.res;
    const getSignal = (): AbortSignal => {
      if (this.#disconnect === null) {
        const controller = new AbortController();
        this.#disconnect = controller;
        if (res.destroyed && !res.writableFinished) controller.abort(new ClientDisconnectedError('the client closed the connection before the response ended'));
        else res.once('close', () => {
          if (!res.writableFinished) controller.abort(new ClientDisconnectedError('the client closed the connection before the response ended'));
        });
      }
      return this.#disconnect.signal;
    };
    Object.defineProperty(environ, 'tsgi.disconnected', { get: getSignal, enumerable: true, configurable: true });
    this.#environ = environ;
    return environ;
  }
}

/** The request log record of a native request; the environ (`vars`) is built only if the log format reads it. */
export class NativeLogRecord implements RequestLogRecord {
  readonly pid = process.pid;
  readonly workerId: number;
  readonly appId = 0;
  readonly appRequests: number;
  readonly totalRequests: number;
  readonly remoteAddr: string;
  readonly remoteUser = '';
  readonly varCount: number;
  readonly packetSize: number;
  readonly startTime: number;
  readonly duration: number;
  readonly method: string;
  readonly uri: string;
  readonly protocol: string;
  readonly status: number;
  readonly responseSize: number;
  readonly headerCount: number;
  readonly headersSize: number;
  readonly switches: number;
  readonly core: number;
  readonly #ctx: NativeRequestContext;

  constructor(ctx: NativeRequestContext, switches: number, totalRequests: number, appRequests: number) {
    const { req, res } = ctx;
    this.#ctx = ctx;
    this.workerId = ctx.workerId;
    this.appRequests = appRequests;
    this.totalRequests = totalRequests;
    this.remoteAddr = ctx.remoteAddr;
    const vars = requestVarsSize(req);
    this.varCount = vars.count;
    this.packetSize = vars.bytes;
    this.startTime = ctx.startTime / 1000;
    this.duration = Math.max(0, Date.now() - ctx.startTime) / 1000;
    this.method = ctx.method;
    this.uri = ctx.uri;
    this.protocol = `HTTP/${req.httpVersion}`;
    this.status = res.headersSent ? res.statusCode : 0;
    this.responseSize = (res as Partial<CountingServerResponse>).tsgiBodyBytes ?? 0;
    const head = sentHeaderBlock(res);
    this.headerCount = head.count;
    this.headersSize = head.bytes;
    this.switches = switches;
    this.core = ctx.core;
  }

  get vars(): Readonly<Record<string, unknown>> {
    return this.#ctx.environ;
  }
}
