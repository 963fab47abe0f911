import diagnostics_channel from 'node:diagnostics_channel';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { getCurrent, type Greenlet, type ReadonlyGreenletList } from '@tsgi/hub';
import { GreenletList, onSpawn, runNow, setTag, spawnNow, tagOf, waitFor } from '@tsgi/hub/internal';
import {
  classifyRequest,
  createBodyStream,
  encodePong,
  isUwsgiProtocolError,
  SIGNAL_DELIVERED,
  SIGNAL_REJECTED,
  stripScriptName,
  UwsgiRequestParser,
  type UwsgiRequestHead,
} from '@tsgi/uwsgi-protocol';
import { nativeHttpListenerOf, type NativeHttpListener } from '../adapters/native-http.js';
import { ClientDisconnectedError, HarakiriError, RequestReadTimeoutError, WriteTimeoutError } from '../errors.js';
import type { RequestLogRecord } from '../logging/request-log.js';
import { AcceptGate } from './accept-gate.js';
import { AsyncCores } from './async-cores.js';
import { addTsgiKeys, httpEnviron, httpEnvironOf, newEnvironObject, type Environ, type SharedEnviron } from './environ.js';
import { NativeLogRecord, NativeRequestContext, CountingServerResponse, type NativeContextOptions } from './native-http.js';
import type { RequestContext } from './request-context.js';
import { RequestRunner, type TsgiApplication } from './request-runner.js';
import { HttpResponseSink, RawSocketSink, type ResponseSink } from './response-sink.js';
import { HeadWaitList, isRawStreamHandle, RawConnectionSink, RawUwsgiConnection, type RawHeadResult } from './raw-uwsgi-connection.js';
import { rawHttpParser, RawHttpConnection, type RawHttpCallbacks } from './raw-http-connection.js';
import { RawHttpSink } from './raw-http-sink.js';
import { TsgiInput } from './tsgi-input.js';

const requestStartChannel = diagnostics_channel.channel('tsgi:server:request:start');
const requestEndChannel = diagnostics_channel.channel('tsgi:server:request:end');
const requestErrorChannel = diagnostics_channel.channel('tsgi:server:request:error');

export interface EngineSocket {
  readonly index: number;
  readonly protocol: 'uwsgi' | 'http';
  /** The bound address as text (for logs). */
  readonly name: string;
  /** The bound port, for SERVER_PORT on --http-socket. */
  readonly port: number;
}

export type { RequestLogRecord };

export interface EngineLogger {
  info(line: string): void;
  error(line: string, error?: unknown): void;
  request(record: RequestLogRecord): void;
  /** False when request lines are off (--disable-logging): the engine then builds no record at all. */
  readonly logsRequests?: boolean;
}

export interface EngineOptions {
  workerId: number;
  cores: number;
  bufferSize: number;
  /** Seconds; bounds reading the request head, the body, and each write's drain. */
  socketTimeout: number;
  limitPost: number;
  /** Seconds; 0 disables. Per request: only the late request is cancelled. */
  harakiri: number;
  backlog: number;
  multiprocess: boolean;
  version: string;
  sockets: EngineSocket[];
  app: TsgiApplication;
  log: EngineLogger;
  /** Asks the master for another duplicate of listening socket `index` (arrives via supplyHandle). */
  requestHandle(index: number): void;
  /** Called after each request is logged and its core freed (max-requests, reload-on-rss checks). */
  onRequestDone?(): void;
  /** A remote signal (modifier1 110) arrived from `remoteAddr`: true if delivered. */
  onRemoteSignal?(num: number, remoteAddr: string): boolean | Promise<boolean>;
}

interface PendingHttp {
  req: IncomingMessage;
  res: ServerResponse;
  socket: EngineSocket;
}

/** One request being served: its context (what `uwsgi.requestContext()` returns) and its parts. */
class ActiveRequest implements RequestContext {
  greenlet: Greenlet<unknown> | undefined = undefined;
  ended = false;
  runner: RequestRunner;
  harakiriTimer: NodeJS.Timeout | undefined = undefined;
  harakiri = false;

  constructor(
    readonly workerId: number,
    readonly core: number,
    readonly environ: Environ,
    public startTime: number,
    readonly method: string,
    readonly uri: string,
    readonly remoteAddr: string,
    readonly sink: ResponseSink,
    readonly input: TsgiInput,
    /** The uwsgi packet's var count and size; -1 when counted from the environ, only if logged. */
    readonly varsCount: number,
    readonly varsBytes: number,
    /** The --http-socket request, whose unread body must be drained before the next one. */
    readonly httpReq: IncomingMessage | null,
  ) {
    this.runner = new RequestRunner(sink);
  }
}

const NOTHING_THROWN = Symbol('nothing thrown');

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * True when an --http-socket request may still have body bytes to drain. The request greenlet runs
 * inside the parser's headers callback, before `req.complete` is set even for a bodiless GET; the
 * headers tell: no Content-Length (or 0) and no Transfer-Encoding means no body.
 */
function hasUnreadBody(r: ActiveRequest): boolean {
  const req = r.httpReq;
  if (req === null || req.complete) return false;
  const length = r.environ.CONTENT_LENGTH;
  return (length !== undefined && length !== '0') || r.environ.HTTP_TRANSFER_ENCODING !== undefined;
}

/** Counts the CGI variables of an environ as a uwsgi packet would carry them (keys without a dot). */
function countVars(environ: Environ): [count: number, bytes: number] {
  let count = 0;
  let bytes = 0;
  for (const key in environ) {
    if (key.includes('.')) continue;
    const value = environ[key];
    if (typeof value !== 'string') continue;
    count++;
    bytes += 4 + key.length + value.length;
  }
  return [count, bytes];
}

/**
 * One worker's gevent loop engine: N async cores, one greenlet per request, accepting from the
 * shared sockets only while a core is free.
 */
export class LoopEngine {
  readonly cores: AsyncCores;
  readonly options: EngineOptions;
  #gates: AcceptGate[];
  #httpServers = new Map<number, http.Server>();
  /** uwsgi connections accepted while every core was busy: a net.Socket, or a handle to serve raw. */
  #pendingSockets: Array<{ connection: Socket | object; engineSocket: EngineSocket }> = [];
  /**
   * Raw connections whose request head is still on its way, swept for --socket-timeout: uwsgi ones,
   * and --http-socket ones between requests (idle keep-alive or a head partly read).
   */
  #headWaits = new HeadWaitList<RawUwsgiConnection<EngineSocket> | RawHttpConnection<EngineSocket>>();
  /** --http-socket connections served raw (see raw-http-connection.ts), null when Node's http server serves them all. */
  #rawHttp: RawHttpCallbacks | null = null;
  /** Raw --http-socket connections with a parsed head, waiting for a free core. */
  #pendingRawHttp: RawHttpConnection<EngineSocket>[] = [];
  #headSweep: NodeJS.Timeout | null = null;
  #pendingHttp: PendingHttp[] = [];
  #accepting = false;
  #stopping = false;
  #lastQueueFullLog = 0;
  #idleWaiters: Array<() => void> = [];
  #listeningWaiters: Array<() => void> = [];
  /**
   * Greenlets spawned from request context (directly or transitively) that are still alive. Not a
   * Set: every greenlet a request spawns comes and goes through it, and the tables a long-lived Set
   * rehashes away would keep each finished one and its request alive through scavenges, to the old
   * generation (see GreenletList): 325 MB promoted per million 2 KB bg_tasks instead of 26 MB.
   */
  readonly #background = new GreenletList();
  readonly #leaveBackground = (child: Greenlet<any>): void => {
    this.#background.delete(child);
  };
  /** The request on each async core (uWSGI's per-core wsgi_req), undefined when the core is free. */
  #onCore: Array<ActiveRequest | NativeRequestContext | undefined>;
  #unsubscribeSpawn: () => void;
  #shared: SharedEnviron;
  #serverPorts = new Map<number, string>();
  #logsRequests: boolean;
  /** Options every request shares, made once. */
  #inputOptions: { timeoutSeconds: number };
  #parserOptions: { bufferSize: number; limitPost: number };
  readonly #serve = (r: ActiveRequest): void | Promise<void> => this.#serveRequest(r);
  /** The app's native listener (fromNodeListener, fromFetch), served straight from Node's req/res on --http-socket; null until looked up. */
  #native: { listener: NativeHttpListener | undefined; options: NativeContextOptions } | null = null;
  stats = {
    requests: 0,
    appRequests: 0,
    exceptions: 0,
    harakiriCount: 0,
    writeErrors: 0,
    readErrors: 0,
    tx: 0,
    totalRequestMicros: 0,
    protocolErrors: 0,
    queueFullEvents: 0,
    /** --http-socket connections handed from the raw path to Node's http server (a request body, an upgrade). */
    httpHandOvers: 0,
  };

  constructor(options: EngineOptions) {
    this.options = options;
    this.cores = new AsyncCores(options.cores);
    this.#gates = options.sockets.map(
      (s) =>
        new AcceptGate({
          index: s.index,
          backlog: options.backlog,
          onConnection: (socket) => this.#onConnection(socket, s),
          requestHandle: (index) => options.requestHandle(index),
          onError: (err) => options.log.error(`socket ${s.name}: ${err.message}`),
          onListening: () => this.#checkListening(),
        }),
    );
    for (const s of options.sockets) {
      if (s.protocol === 'http') this.#httpServers.set(s.index, this.#createHttpServer(s));
    }
    // Apps served from Node's own req/res (fromNodeListener, fromFetch) need Node's http server.
    if (rawHttpParser !== null && this.#httpServers.size > 0 && nativeHttpListenerOf(options.app) === undefined) this.#rawHttp = this.#rawHttpCallbacks();
    this.#onCore = new Array<ActiveRequest | NativeRequestContext | undefined>(options.cores).fill(undefined);
    this.#logsRequests = options.log.logsRequests !== false;
    this.#inputOptions = { timeoutSeconds: options.socketTimeout };
    this.#parserOptions = { bufferSize: options.bufferSize, limitPost: options.limitPost };
    this.#shared = {
      errors: { write: (text: string) => this.options.log.error(String(text).replace(/\n$/, '')), flush: () => undefined },
      multiprocess: options.multiprocess,
      uwsgiVersion: options.version,
    };
    this.#unsubscribeSpawn = onSpawn((child, parent) => {
      const request = tagOf(parent);
      if (request === undefined) return;
      setTag(child, request);
      this.#background.add(child);
      child.link(this.#leaveBackground);
    });
  }

  /** The background greenlets (read-only: they leave when they finish). */
  get background(): ReadonlyGreenletList {
    return this.#background;
  }

  /** The requests in flight, one per busy core. */
  get inFlight(): RequestContext[] {
    return this.#onCore.filter((r): r is ActiveRequest | NativeRequestContext => r !== undefined);
  }

  /** A duplicate of listening socket `index` arrived from the master. */
  supplyHandle(index: number, handle: object): void {
    this.#gates[index]?.supply(handle);
  }

  /** Starts accepting on every socket. */
  start(): void {
    this.#accepting = true;
    this.#updateGates();
  }

  /**
   * Resolves once every socket is listening. The master only binds them, and a gate can listen only
   * when its duplicate of the socket has come over IPC, which may be after the app has loaded; a
   * worker that reported ready before that would have clients refused (ECONNREFUSED) on that socket.
   */
  whenListening(): Promise<void> {
    if (this.#gates.every((g) => g.listened)) return Promise.resolve();
    return new Promise((resolve) => this.#listeningWaiters.push(resolve));
  }

  #checkListening(): void {
    if (this.#gates.every((g) => g.listened)) for (const resolve of this.#listeningWaiters.splice(0)) resolve();
  }

  get waitingForCore(): number {
    return this.#pendingSockets.length + this.#pendingHttp.length + this.#pendingRawHttp.length;
  }

  get isAccepting(): boolean {
    return this.#gates.some((g) => g.isOpen);
  }

  /** Stops accepting for good (graceful reload/shutdown); in-flight requests go on. */
  stopAccepting(): void {
    this.#stopping = true;
    this.#accepting = false;
    for (const gate of this.#gates) gate.shutdown();
    // Responses still to start say `Connection: close`; those waiting for a core do at their start.
    for (const r of this.#onCore) {
      if (r instanceof ActiveRequest && (r.sink instanceof RawHttpSink || r.sink instanceof HttpResponseSink) && !r.sink.headersSent) r.sink.keepAlive = false;
      else if (r instanceof NativeRequestContext && !r.res.headersSent) r.res.shouldKeepAlive = false;
    }
  }

  /**
   * Stops accepting, then waits for in-flight requests. Keep-alive connections that are idle get
   * `graceSeconds` to carry one last request (answered with `Connection: close`) before they are
   * closed: closing them at once races a client that is sending on them, which it sees as a reset.
   */
  async drain(graceSeconds = 1): Promise<void> {
    this.stopAccepting();
    if (this.#httpServers.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, graceSeconds * 1000));
      for (const server of this.#httpServers.values()) server.closeIdleConnections();
      this.#closeRawHttp(true);
    }
    await this.whenIdle();
    for (const server of this.#httpServers.values()) server.closeIdleConnections();
    this.#closeRawHttp(true);
  }

  /** Closes the raw --http-socket connections waiting for a head (only the idle ones when `idleOnly`). */
  #closeRawHttp(idleOnly: boolean): void {
    this.#headWaits.sweep(Infinity, (c) => {
      if (c instanceof RawHttpConnection && (!idleOnly || c.idle)) c.close();
    });
  }

  /** Resolves when no request is in flight and none waits for a core. */
  whenIdle(): Promise<void> {
    if (this.cores.busyCount === 0 && this.waitingForCore === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  dispose(): void {
    this.#unsubscribeSpawn();
    for (const server of this.#httpServers.values()) server.closeAllConnections();
    this.#closeRawHttp(false);
  }

  #updateGates(): void {
    const open = this.#accepting && this.cores.freeCount > 0 && this.waitingForCore === 0;
    for (const gate of this.#gates) {
      if (open) gate.open();
      else gate.close();
    }
    if (!open && this.#accepting && this.cores.freeCount === 0) {
      this.stats.queueFullEvents++;
      const now = Date.now();
      if (now - this.#lastQueueFullLog >= 1000) {
        this.#lastQueueFullLog = now;
        this.options.log.info(
          `[DANGER] async queue is full !!! (${this.cores.size} cores busy on worker ${this.options.workerId}; not accepting until one frees, connections wait in the listen backlog)`,
        );
      }
    }
  }

  #acquireCore(): number {
    const core = this.cores.acquire();
    if (this.cores.freeCount === 0) this.#updateGates();
    return core;
  }

  #releaseCore(core: number): void {
    this.cores.release(core);
    const next = this.#pendingSockets.shift();
    if (next !== undefined) {
      this.#startUwsgiConnection(next.connection, next.engineSocket, this.cores.acquire());
      return;
    }
    const nextRaw = this.#pendingRawHttp.shift();
    if (nextRaw !== undefined) {
      spawnNow(this.#serveRawHttpBound, nextRaw, this.cores.acquire());
      return;
    }
    const nextHttp = this.#pendingHttp.shift();
    if (nextHttp !== undefined) {
      // Not at once: a run of requests that each finish synchronously would nest here without end.
      this.#startHttp(nextHttp.req, nextHttp.res, nextHttp.socket, this.cores.acquire(), false);
      return;
    }
    if (this.cores.busyCount === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
    if (this.#accepting && !this.#anyGateOpen()) this.#updateGates();
  }

  #anyGateOpen(): boolean {
    for (let i = 0; i < this.#gates.length; i++) if (this.#gates[i].isOpen) return true;
    return false;
  }

  #onConnection(handle: object, engineSocket: EngineSocket): void {
    if (engineSocket.protocol === 'http') {
      if (this.#rawHttp !== null && isRawStreamHandle(handle)) {
        this.#startRawHttp(handle, engineSocket);
        return;
      }
      const socket = new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
      socket.on('error', () => undefined);
      socket.setNoDelay(true);
      this.#httpServers.get(engineSocket.index)!.emit('connection', socket);
      return;
    }
    let connection: Socket | object = handle;
    if (!isRawStreamHandle(handle)) {
      const socket = new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
      socket.on('error', () => undefined);
      connection = socket;
    }
    const core = this.#acquireCore();
    if (core < 0) {
      // Only reachable when connections raced the gate closing; they wait here, unread, for a core.
      if (connection instanceof net.Socket) connection.pause();
      this.#pendingSockets.push({ connection, engineSocket });
      return;
    }
    this.#startUwsgiConnection(connection, engineSocket, core);
  }

  #startUwsgiConnection(connection: Socket | object, engineSocket: EngineSocket, core: number): void {
    if (connection instanceof net.Socket) this.#startUwsgi(connection, engineSocket, core);
    else this.#startUwsgiRaw(connection, engineSocket, core);
  }

  /** A uwsgi connection on its bare handle: the head is read off it, then #onRawHead decides. */
  #startUwsgiRaw(handle: object, engineSocket: EngineSocket, core: number): void {
    const startTime = Date.now();
    const parser = new UwsgiRequestParser(this.#parserOptions);
    const timeoutMs = this.options.socketTimeout * 1000;
    const connection = new RawUwsgiConnection(handle, parser, timeoutMs > 0 ? startTime + timeoutMs : Infinity, this.#onRawHeadBound, engineSocket, core, startTime);
    if (!connection.start()) {
      this.#releaseCore(core);
      return;
    }
    if (timeoutMs > 0) this.#waitForHead(connection);
  }

  #startRawHttp(handle: object, engineSocket: EngineSocket): void {
    const connection = new RawHttpConnection(handle, engineSocket, this.#rawHttp!, this.options.socketTimeout * 1000);
    if (connection.start()) this.#waitForHead(connection);
  }

  /** Puts a raw connection on the head wait list, and starts the sweep if it was off. */
  #waitForHead(connection: RawUwsgiConnection<EngineSocket> | RawHttpConnection<EngineSocket>): void {
    this.#headWaits.add(connection);
    const timeoutMs = this.options.socketTimeout * 1000;
    if (timeoutMs > 0) this.#headSweep ??= setInterval(() => this.#sweepHeadWaits(), Math.min(1000, timeoutMs)).unref();
  }

  #rawHttpCallbacks(): RawHttpCallbacks {
    return {
      onHead: (connection) => {
        const c = connection as RawHttpConnection<EngineSocket>;
        this.#headWaits.delete(c);
        const core = this.#acquireCore();
        if (core < 0) this.#pendingRawHttp.push(c);
        else runNow(this.#serveRawHttpBound, c, core);
      },
      onError: (connection, error) => {
        const c = connection as RawHttpConnection<EngineSocket>;
        this.#headWaits.delete(c);
        const engineSocket = c.context;
        if (error instanceof WriteTimeoutError) {
          this.stats.writeErrors++;
          this.options.log.error(`${error.message} [${error.code}] to ${c.remoteAddress().address || engineSocket.name} on ${engineSocket.name}: the client does not read its answers; connection closed`);
          return;
        }
        this.stats.protocolErrors++;
        if (error instanceof RequestReadTimeoutError) {
          this.options.log.error(`${error.message} [${error.code}] from ${c.remoteAddress().address || engineSocket.name} on ${engineSocket.name}`);
          return;
        }
        const reason = (error as { reason?: unknown }).reason;
        const message = typeof reason === 'string' ? `Parse Error: ${reason}` : error.message;
        this.options.log.error(`TSGI_ERR_HTTP_PARSE: invalid HTTP request on ${engineSocket.name}: ${message} (${error.code ?? 'HPE'}) from ${c.remoteAddress().address}`);
      },
      onHandOver: (connection, socket) => {
        const c = connection as RawHttpConnection<EngineSocket>;
        this.#headWaits.delete(c);
        this.stats.httpHandOvers++;
        this.#httpServers.get(c.context.index)!.emit('connection', socket);
      },
      onClose: (connection) => {
        this.#headWaits.delete(connection as RawHttpConnection<EngineSocket>);
      },
    };
  }

  /** A raw --http-socket request in its greenlet: the environ from the parsed head, then #serveRequest. */
  readonly #serveRawHttpBound = (c: RawHttpConnection<EngineSocket>, core: number): void | Promise<void> => {
    const head = c.takeHead();
    const remote = c.remoteAddress();
    const input = new TsgiInput(null, this.#inputOptions);
    const peer = { localAddress: c.localAddress(), remoteAddress: remote.address, remotePort: remote.port };
    const version = `${head.versionMajor}.${head.versionMinor}`;
    const environ = httpEnvironOf(head.method, head.url, version, head.rawHeaders, peer, this.#serverPorts.get(c.context.index)!, this.#shared, input, core);
    const sink = new RawHttpSink(c, head, this.options.socketTimeout, !this.#stopping);
    const r = new ActiveRequest(this.options.workerId, core, environ, Date.now(), head.method, head.url, remote.address, sink, input, -1, 0, null);
    return this.#serveRequest(r);
  };

  /**
   * After a raw --http-socket response: the connection waits for its next request, or closes. Either
   * way it is swept while it waits, also for a response still being written to a client that does
   * not read it (see RawHttpConnection.timeOut).
   */
  #rawHttpNext(sink: RawHttpSink): void {
    const c = sink.connection as RawHttpConnection<EngineSocket>;
    if (!c.closed) this.#waitForHead(c);
    c.next(sink.keepAlive && sink.completed && !this.#stopping);
  }

  /** One timer for every raw connection waiting for its head, as coarse as uWSGI's socket timeout. */
  #sweepHeadWaits(): void {
    this.#headWaits.sweep(Date.now(), (connection) => connection.timeOut(new RequestReadTimeoutError(this.options.socketTimeout)));
    if (this.#headWaits.size === 0 && this.#headSweep !== null) {
      clearInterval(this.#headSweep);
      this.#headSweep = null;
    }
  }

  readonly #onRawHeadBound = (connection: RawUwsgiConnection<EngineSocket>, head: RawHeadResult): void => this.#onRawHead(connection, head);

  #onRawHead(connection: RawUwsgiConnection<EngineSocket>, head: RawHeadResult): void {
    const { context: engineSocket, core, startTime } = connection;
    this.#headWaits.delete(connection);
    if (head !== null && !(head instanceof Error) && head.contentLength === 0 && !head.chunked) {
      const kind = classifyRequest(head);
      if (kind.kind === 'app') {
        connection.holdHead(head);
        runNow(this.#serveUwsgiRawBound, connection, kind.stripScriptName);
        return;
      }
    }
    if (head === null || head instanceof Error) {
      // Logged (with the peer's address) and closed without a net.Socket ever being made.
      if (head !== null) this.#logHeadError(head, connection.remoteAddress() ?? engineSocket.name, engineSocket, core);
      connection.close();
      this.#releaseCore(core);
      return;
    }
    runNow(this.#serveUwsgiHead, connection.toSocket(), engineSocket, core, startTime, head);
  }

  readonly #serveUwsgiRawBound = (connection: RawUwsgiConnection<EngineSocket>, strip: boolean): void | Promise<void> => {
    const head = connection.takeHead();
    const sink = (protocol: string) => new RawConnectionSink(connection, protocol, this.options.socketTimeout);
    return this.#serveUwsgiApp(head, strip, sink, null, connection.core, connection.startTime, () => connection.remoteAddress() ?? connection.context.name);
  };

  #logHeadError(head: Error, remote: string, engineSocket: EngineSocket, core: number): void {
    this.stats.protocolErrors++;
    this.cores.cores[core].readErrors++;
    const logText = isUwsgiProtocolError(head) && head.logText ? head.logText : head.message;
    const code = (head as { code?: string }).code ?? 'TSGI_ERR_UWSGI';
    this.options.log.error(`${logText} [${code}] from ${remote} on ${engineSocket.name}`);
  }

  #createHttpServer(engineSocket: EngineSocket): http.Server {
    this.#serverPorts.set(engineSocket.index, String(engineSocket.port));
    // The counting response class only where the direct path needs its byte count: it costs a TSGI app's every response.
    const ResponseClass = nativeHttpListenerOf(this.options.app) === undefined ? http.ServerResponse : CountingServerResponse;
    const server = http.createServer({ keepAlive: true, noDelay: true, ServerResponse: ResponseClass }, (req, res) => {
      const core = this.#acquireCore();
      if (core < 0) {
        this.#pendingHttp.push({ req, res, socket: engineSocket });
        return;
      }
      this.#startHttp(req, res, engineSocket, core, true);
    });
    server.keepAliveTimeout = this.options.socketTimeout * 1000;
    server.headersTimeout = this.options.socketTimeout * 1000;
    server.requestTimeout = 0;
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        this.stats.protocolErrors++;
        this.options.log.error(`TSGI_ERR_HTTP_PARSE: invalid HTTP request on ${engineSocket.name}: ${err.message}`);
      }
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    return server;
  }

  /**
   * Reads a uwsgi connection's request head off the socket's events, then serves the request in a
   * greenlet started at once: no greenlet, promise or timer of its own while the head is on its way.
   */
  #startUwsgi(socket: Socket, engineSocket: EngineSocket, core: number): void {
    const startTime = Date.now();
    const parser = new UwsgiRequestParser({ bufferSize: this.options.bufferSize, limitPost: this.options.limitPost });
    const timeoutMs = this.options.socketTimeout * 1000;
    let finished = false;
    const done = (head: UwsgiRequestHead | Error | null): void => {
      if (finished) return;
      finished = true;
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      if (timeoutMs > 0) {
        socket.removeListener('timeout', onTimeout);
        socket.setTimeout(0);
      }
      socket.pause();
      runNow(this.#serveUwsgiHead, socket, engineSocket, core, startTime, head);
    };
    const onData = (chunk: Buffer): void => {
      const result = parser.push(chunk);
      if (result !== null) done(result);
    };
    const onEnd = (): void => done(parser.end());
    const onTimeout = (): void => done(new RequestReadTimeoutError(this.options.socketTimeout));
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    if (timeoutMs > 0) {
      socket.setTimeout(timeoutMs);
      socket.on('timeout', onTimeout);
    }
  }

  /** `now`: the greenlet runs at once, so a whole response is written before the parser's callback returns. */
  #startHttp(req: IncomingMessage, res: ServerResponse, engineSocket: EngineSocket, core: number, now: boolean): void {
    if (this.#stopping) res.shouldKeepAlive = false;
    if (this.#startNativeHttp({ req, res, socket: engineSocket }, core, now)) return;
    const input = new TsgiInput(req, this.#inputOptions);
    const environ = httpEnviron(req, this.#serverPorts.get(engineSocket.index)!, this.#shared, input, core);
    const sink = new HttpResponseSink(res, this.options.socketTimeout);
    const r = new ActiveRequest(this.options.workerId, core, environ, Date.now(), environ.REQUEST_METHOD, environ.REQUEST_URI as string, environ.REMOTE_ADDR as string, sink, input, -1, 0, req);
    if (now) runNow(this.#serve, r);
    else spawnNow(this.#serve, r);
  }

  /**
   * Serves the request straight from Node's `req`/`res` when the app has a native listener (Node
   * listeners and fetch handlers made by the adapters): no environ, no synthetic request. Returns
   * false for TSGI apps, which take the environ path.
   */
  #startNativeHttp(pending: PendingHttp, core: number, now: boolean): boolean {
    let native = this.#native;
    if (native === null) {
      const options = this.options;
      native = this.#native = {
        listener: nativeHttpListenerOf(options.app),
        options: {
          workerId: options.workerId,
          socketTimeout: options.socketTimeout,
          multiprocess: options.multiprocess,
          version: options.version,
          errors: (text) => options.log.error(text),
        },
      };
    }
    const listener = native.listener;
    if (listener === undefined) return false;
    const ctx = new NativeRequestContext(pending.req, pending.res, core, pending.socket.port, native.options);
    if (now) runNow(this.#serveNativeBound, ctx, listener);
    else spawnNow(this.#serveNativeBound, ctx, listener);
    return true;
  }

  /**
   * One native request in its greenlet: the listener runs in the request context. A listener that
   * answered at once is done in the same call; otherwise the greenlet waits (hub waits, so
   * --harakiri's kill reaches it) for the promise the listener returned and for the response to end
   * or the connection to close.
   */
  readonly #serveNativeBound = (ctx: NativeRequestContext, listener: NativeHttpListener): Promise<void> | undefined => this.#serveNative(ctx, listener);

  #serveNative(ctx: NativeRequestContext, listener: NativeHttpListener): Promise<void> | undefined {
    const res = ctx.res;
    const greenlet = getCurrent();
    ctx.greenlet = greenlet;
    setTag(greenlet, ctx);
    this.#onCore[ctx.core] = ctx;
    this.stats.appRequests++;
    if (requestStartChannel.hasSubscribers) requestStartChannel.publish({ context: ctx });
    if (this.options.harakiri > 0) ctx.harakiriTimer = setTimeout(() => this.#nativeHarakiri(ctx, greenlet), this.options.harakiri * 1000);
    let result: unknown;
    try {
      result = listener(ctx.req, res, ctx);
    } catch (err) {
      this.#nativeFailed(ctx, err);
    }
    const thenable = result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function';
    if (res.writableEnded) {
      if (thenable) (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.#nativeFailed(ctx, err));
      this.#endNative(ctx, 0);
      return undefined;
    }
    return this.#awaitNative(ctx, thenable ? (result as PromiseLike<unknown>) : null);
  }

  async #awaitNative(ctx: NativeRequestContext, result: PromiseLike<unknown> | null): Promise<void> {
    const res = ctx.res;
    let waits = 0;
    try {
      if (result !== null) {
        waits++;
        await waitFor<unknown>((resolve, reject) => {
          result.then(resolve, reject);
        });
      }
      if (!res.writableEnded && !res.destroyed) {
        waits++;
        await waitFor<void>((resolve) => {
          res.once('close', resolve);
          return () => res.off('close', resolve);
        });
      }
    } catch (err) {
      if (!ctx.harakiri && !(err instanceof HarakiriError)) this.#nativeFailed(ctx, err);
    }
    if (!ctx.harakiri && !ctx.failed && !res.writableEnded) {
      this.stats.writeErrors++;
      this.cores.cores[ctx.core].writeErrors++;
      this.options.log.error(`uwsgi_response_write_body_do(): Broken pipe [TSGI_ERR_CLIENT_GONE] during ${ctx.method} ${ctx.uri} (${ctx.remoteAddr}): the client closed the connection before the response ended`);
    }
    this.#endNative(ctx, waits);
  }

  /** --harakiri for a native request: 504 when nothing was sent yet, else the connection is cut; then the greenlet is killed. */
  #nativeHarakiri(ctx: NativeRequestContext, greenlet: Greenlet<unknown>): void {
    ctx.harakiri = true;
    this.stats.harakiriCount++;
    const age = ((Date.now() - ctx.startTime) / 1000).toFixed(1);
    this.options.log.error(
      `*** HARAKIRI ON WORKER ${this.options.workerId} CORE ${ctx.core} (pid: ${process.pid}) *** request "${ctx.method} ${ctx.uri}" from ${ctx.remoteAddr} cancelled after ${age} s (--harakiri ${this.options.harakiri}); the other requests go on`,
    );
    // What the cancelled app still writes after this goes nowhere, without an unhandled 'error'.
    ctx.res.on('error', () => undefined);
    if (!this.#nativeAnswer(ctx.res, 504, 'Gateway Timeout: the request ran longer than --harakiri\n') && !ctx.res.writableEnded) ctx.res.destroy();
    void greenlet.kill({ exception: new HarakiriError(this.options.harakiri), block: false });
  }

  /** The listener threw or its promise rejected: logged, and answered 500 when nothing was sent yet, else the connection is cut. */
  #nativeFailed(ctx: NativeRequestContext, err: unknown): void {
    ctx.failed = true;
    this.stats.exceptions++;
    if (requestErrorChannel.hasSubscribers) requestErrorChannel.publish({ context: ctx, error: err });
    const res = ctx.res;
    if (res.writableEnded) {
      this.options.log.error(`[TSGI_ERR_APP_EXCEPTION] ${ctx.method} ${ctx.uri} failed after the response ended:`, err);
      return;
    }
    const answered = this.#nativeAnswer(res, 500, 'Internal Server Error\n');
    this.options.log.error(`[TSGI_ERR_APP_EXCEPTION] ${ctx.method} ${ctx.uri} failed ${answered ? 'before the response started; answered 500' : 'after the response headers were sent; connection closed'}:`, err);
    if (!answered) res.destroy();
  }

  /** Answers in the app's place (its headers dropped, the connection closed after); false when headers already went out. */
  #nativeAnswer(res: ServerResponse, status: number, text: string): boolean {
    if (res.headersSent || res.destroyed) return false;
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.shouldKeepAlive = false;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return true;
  }

  #endNative(ctx: NativeRequestContext, switches: number): void {
    if (ctx.harakiriTimer !== undefined) clearTimeout(ctx.harakiriTimer);
    ctx.ended = true;
    this.#onCore[ctx.core] = undefined;
    const record = new NativeLogRecord(ctx, switches, ++this.stats.requests, this.stats.appRequests);
    this.stats.tx += record.responseSize + record.headersSize;
    this.stats.totalRequestMicros += record.duration * 1e6;
    if (requestEndChannel.hasSubscribers) requestEndChannel.publish({ context: ctx, status: record.status });
    if (this.#logsRequests) this.options.log.request(record);
    this.#releaseCore(ctx.core);
    this.options.onRequestDone?.();
  }

  readonly #serveUwsgiHead = (socket: Socket, engineSocket: EngineSocket, core: number, startTime: number, head: UwsgiRequestHead | Error | null): void | Promise<void> =>
    this.#serveUwsgi(socket, engineSocket, core, startTime, head);

  #serveUwsgi(socket: Socket, engineSocket: EngineSocket, core: number, startTime: number, head: UwsgiRequestHead | Error | null): void | Promise<void> {
    if (head === null) {
      // Connected and closed without sending a byte (a health check): nothing to log.
      socket.destroy();
      this.#releaseCore(core);
      return;
    }
    if (head instanceof Error) {
      this.#logHeadError(head, socket.remoteAddress ?? engineSocket.name, engineSocket, core);
      socket.destroy();
      this.#releaseCore(core);
      return;
    }
    const kind = classifyRequest(head);
    if (kind.kind !== 'app') return this.#serveUwsgiControl(socket, engineSocket, core, kind);
    const sink = (protocol: string) => new RawSocketSink(socket, protocol, this.options.socketTimeout);
    return this.#serveUwsgiApp(head, kind.stripScriptName, sink, socket, core, startTime, () => socket.remoteAddress ?? engineSocket.name);
  }

  /** A uwsgi request for the app: its environ from the head's vars, then #serveRequest. */
  #serveUwsgiApp(
    head: UwsgiRequestHead,
    strip: boolean,
    makeSink: (serverProtocol: string) => ResponseSink,
    socket: Socket | null,
    core: number,
    startTime: number,
    peer: () => string,
  ): void | Promise<void> {
    const environ = head.vars.assignTo(newEnvironObject());
    if (strip) stripScriptName(environ as Record<string, string>);
    const input =
      socket === null || (head.contentLength === 0 && !head.chunked)
        ? new TsgiInput(null, this.#inputOptions)
        : new TsgiInput(createBodyStream(socket, head, { limitPost: this.options.limitPost }), this.#inputOptions);
    const shared = this.#shared;
    addTsgiKeys(environ, { input, errors: shared.errors, multiprocess: shared.multiprocess, core, greenlet: undefined, uwsgiVersion: shared.uwsgiVersion });
    const env = environ as Environ;
    const sink = makeSink(env.SERVER_PROTOCOL);
    const uri = typeof environ.REQUEST_URI === 'string' ? environ.REQUEST_URI : env.PATH_INFO;
    const remote = typeof environ.REMOTE_ADDR === 'string' ? environ.REMOTE_ADDR : peer();
    const r = new ActiveRequest(this.options.workerId, core, env, startTime, env.REQUEST_METHOD, uri, remote, sink, input, head.vars.length, head.datasize, null);
    return this.#serveRequest(r);
  }

  /** Ping, remote signal, or a modifier tsgi does not serve. */
  async #serveUwsgiControl(socket: Socket, engineSocket: EngineSocket, core: number, kind: Exclude<ReturnType<typeof classifyRequest>, { kind: 'app' }>): Promise<void> {
    const remote = socket.remoteAddress ?? engineSocket.name;
    if (kind.kind === 'signal') {
      await this.#remoteSignal(socket, kind.signal, remote);
    } else if (kind.kind === 'ping') {
      socket.end(encodePong());
    } else {
      this.stats.protocolErrors++;
      this.options.log.error(`${kind.logText} [TSGI_ERR_UWSGI_MODIFIER] from ${remote}`);
      socket.destroy();
    }
    this.#releaseCore(core);
  }

  async #remoteSignal(socket: Socket, num: number, remote: string): Promise<void> {
    let delivered = false;
    try {
      delivered = this.options.onRemoteSignal ? await this.options.onRemoteSignal(num, remote) : false;
    } catch (err) {
      this.options.log.error(`error raising remote signal ${num} from ${remote}`, err);
    }
    if (!socket.destroyed) socket.end(delivered ? SIGNAL_DELIVERED : SIGNAL_REJECTED);
  }

  /**
   * Serves one request in its greenlet. A response the app returns whole, synchronously, goes out
   * and is logged without a single promise; anything else continues in #serveAsync.
   */
  #serveRequest(r: ActiveRequest): void | Promise<void> {
    const greenlet = getCurrent() as Greenlet<unknown>;
    r.greenlet = greenlet;
    r.environ['tsgi.greenlet'] = greenlet;
    setTag(greenlet, r);
    this.#onCore[r.core] = r;
    this.stats.appRequests++;
    if (requestStartChannel.hasSubscribers) requestStartChannel.publish({ context: r });
    if (this.options.harakiri > 0) this.#armHarakiri(r);
    let result: ReturnType<TsgiApplication>;
    try {
      result = r.runner.call(this.options.app, r.environ);
      if (!isThenable(result) && r.runner.sendWhole(result) && !hasUnreadBody(r)) {
        this.#requestEnded(r);
        this.#finish(r, r.runner.statusCode);
        return;
      }
    } catch (err) {
      return this.#serveAsync(r, undefined, err);
    }
    return this.#serveAsync(r, result, NOTHING_THROWN);
  }

  #armHarakiri(r: ActiveRequest): void {
    r.harakiriTimer = setTimeout(() => {
      r.harakiri = true;
      this.stats.harakiriCount++;
      const age = ((Date.now() - r.startTime) / 1000).toFixed(1);
      this.options.log.error(
        `*** HARAKIRI ON WORKER ${this.options.workerId} CORE ${r.core} (pid: ${process.pid}) *** request "${r.method} ${r.uri}" from ${r.remoteAddr} cancelled after ${age} s (--harakiri ${this.options.harakiri}); the other requests go on`,
      );
      void r.greenlet!.kill({ exception: new HarakiriError(this.options.harakiri), block: false });
    }, this.options.harakiri * 1000);
  }

  #requestEnded(r: ActiveRequest): void {
    if (r.harakiriTimer !== undefined) clearTimeout(r.harakiriTimer);
    r.ended = true;
    this.#onCore[r.core] = undefined;
  }

  async #serveAsync(r: ActiveRequest, result: ReturnType<TsgiApplication> | undefined, thrown: unknown): Promise<void> {
    const { runner, sink } = r;
    let status = 0;
    try {
      if (thrown !== NOTHING_THROWN) throw thrown;
      // The app's promise is awaited here, not inside complete(): a request waiting on it (a sleeper)
      // then holds one suspended frame instead of two.
      await runner.complete(isThenable(result) ? await result : result);
      status = runner.statusCode;
      // Unread body bytes would otherwise be parsed as the next request on this keep-alive connection.
      if (hasUnreadBody(r) && !sink.clientGone) await r.input.discard().catch(() => sink.abort());
    } catch (err) {
      if (r.harakiri || err instanceof HarakiriError) {
        status = (await runner.sendTimeout()) ? 504 : runner.statusCode;
        if (!sink.headersSent || status !== 504) sink.abort();
      } else if (err instanceof ClientDisconnectedError || sink.clientGone) {
        this.stats.writeErrors++;
        this.cores.cores[r.core].writeErrors++;
        status = runner.statusCode;
        this.options.log.error(`uwsgi_response_write_body_do(): Broken pipe [TSGI_ERR_CLIENT_GONE] during ${r.method} ${r.uri} (${r.remoteAddr})`);
        sink.abort();
      } else {
        this.stats.exceptions++;
        if (requestErrorChannel.hasSubscribers) requestErrorChannel.publish({ context: r, error: err });
        const where = sink.headersSent ? 'after the response headers were sent; connection closed' : 'before the response started; answered 500';
        this.options.log.error(`[TSGI_ERR_APP_EXCEPTION] ${r.method} ${r.uri} failed ${where}:`, err);
        if (await runner.sendInternalError()) status = 500;
        else {
          status = runner.statusCode;
          sink.abort();
        }
      }
    } finally {
      this.#requestEnded(r);
    }
    this.#finish(r, status);
  }

  #finish(r: ActiveRequest, status: number): void {
    const sink = r.sink;
    const micros = Math.max(0, Math.round((Date.now() - r.startTime) * 1000));
    this.stats.requests++;
    this.stats.tx += sink.bodyBytes + sink.headerBytes;
    this.stats.totalRequestMicros += micros;
    if (requestEndChannel.hasSubscribers) requestEndChannel.publish({ context: r, status });
    if (this.#logsRequests) this.#logRequest(r, status, micros);
    this.#releaseCore(r.core);
    if (sink instanceof RawHttpSink) this.#rawHttpNext(sink);
    this.options.onRequestDone?.();
  }

  #logRequest(r: ActiveRequest, status: number, micros: number): void {
    const [varCount, packetSize] = r.varsCount >= 0 ? [r.varsCount, r.varsBytes] : countVars(r.environ);
    const sink = r.sink;
    this.options.log.request({
      pid: process.pid,
      workerId: this.options.workerId,
      appId: 0,
      appRequests: this.stats.appRequests,
      totalRequests: this.stats.requests,
      remoteAddr: r.remoteAddr,
      remoteUser: typeof r.environ.REMOTE_USER === 'string' ? r.environ.REMOTE_USER : '',
      varCount,
      packetSize,
      startTime: r.startTime / 1000,
      duration: micros / 1e6,
      method: r.method,
      uri: r.uri,
      protocol: r.environ.SERVER_PROTOCOL,
      status,
      responseSize: sink.bodyBytes,
      headerCount: sink.headerCount,
      headersSize: sink.headerBytes,
      switches: r.runner.switches + sink.waits + r.input.waits,
      core: r.core,
      vars: r.environ,
    });
  }
}
