import diagnostics_channel from 'node:diagnostics_channel';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getCurrent, type Greenlet } from '@tsgi/hub';
import { onSpawn, spawnNow, waitFor } from '@tsgi/hub/internal';
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
import { ClientDisconnectedError, HarakiriError, RequestReadTimeoutError } from '../errors.js';
import type { RequestLogRecord } from '../logging/request-log.js';
import { AcceptGate } from './accept-gate.js';
import { AsyncCores } from './async-cores.js';
import { addTsgiKeys, httpRequestVars, type Environ } from './environ.js';
import { waitForEmitter } from './hub-waits.js';
import { NativeLogRecord, NativeRequestContext, CountingServerResponse, type NativeContextOptions } from './native-http.js';
import { requestStorage, type RequestContext } from './request-context.js';
import { RequestRunner, type TsgiApplication } from './request-runner.js';
import { HttpResponseSink, RawSocketSink, type ResponseSink } from './response-sink.js';
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

/**
 * One worker's gevent loop engine: N async cores, one greenlet per request, accepting from the
 * shared sockets only while a core is free.
 */
export class LoopEngine {
  readonly cores: AsyncCores;
  readonly options: EngineOptions;
  #gates: AcceptGate[];
  #httpServers = new Map<number, http.Server>();
  #pendingSockets: Array<{ socket: Socket; engineSocket: EngineSocket }> = [];
  #pendingHttp: PendingHttp[] = [];
  #activeHttp = new Set<ServerResponse>();
  #accepting = false;
  #stopping = false;
  #lastQueueFullLog = 0;
  #idleWaiters: Array<() => void> = [];
  /** Greenlets spawned from request context (directly or transitively) that are still alive. */
  readonly background = new Set<Greenlet<unknown>>();
  readonly inFlight = new Set<RequestContext>();
  #unsubscribeSpawn: () => void;
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
        }),
    );
    for (const s of options.sockets) {
      if (s.protocol === 'http') this.#httpServers.set(s.index, this.#createHttpServer(s));
    }
    this.#unsubscribeSpawn = onSpawn((child) => {
      if (requestStorage.getStore() === undefined) return;
      this.background.add(child);
      child.link(() => this.background.delete(child));
    });
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

  get waitingForCore(): number {
    return this.#pendingSockets.length + this.#pendingHttp.length;
  }

  get isAccepting(): boolean {
    return this.#gates.some((g) => g.isOpen);
  }

  /** Stops accepting for good (graceful reload/shutdown); in-flight requests go on. */
  stopAccepting(): void {
    this.#stopping = true;
    this.#accepting = false;
    for (const gate of this.#gates) gate.shutdown();
    for (const res of this.#activeHttp) res.shouldKeepAlive = false;
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
    }
    await this.whenIdle();
    for (const server of this.#httpServers.values()) server.closeIdleConnections();
  }

  /** Resolves when no request is in flight and none waits for a core. */
  whenIdle(): Promise<void> {
    if (this.cores.busyCount === 0 && this.waitingForCore === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  dispose(): void {
    this.#unsubscribeSpawn();
    for (const server of this.#httpServers.values()) server.closeAllConnections();
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
      this.#startUwsgi(next.socket, next.engineSocket, this.cores.acquire());
      return;
    }
    const nextHttp = this.#pendingHttp.shift();
    if (nextHttp !== undefined) {
      this.#startHttp(nextHttp, this.cores.acquire());
      return;
    }
    if (this.cores.busyCount === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
    if (!this.isAccepting && this.#accepting) this.#updateGates();
  }

  #onConnection(socket: Socket, engineSocket: EngineSocket): void {
    socket.on('error', () => undefined);
    if (engineSocket.protocol === 'http') {
      socket.setNoDelay(true);
      this.#httpServers.get(engineSocket.index)!.emit('connection', socket);
      return;
    }
    const core = this.#acquireCore();
    if (core < 0) {
      // Only reachable when connections raced the gate closing; they wait here, unread, for a core.
      socket.pause();
      this.#pendingSockets.push({ socket, engineSocket });
      return;
    }
    this.#startUwsgi(socket, engineSocket, core);
  }

  #createHttpServer(engineSocket: EngineSocket): http.Server {
    const server = http.createServer({ keepAlive: true, noDelay: true, ServerResponse: CountingServerResponse }, (req, res) => {
      if (this.#stopping) res.shouldKeepAlive = false;
      this.#activeHttp.add(res);
      res.once('close', () => this.#activeHttp.delete(res));
      const pending = { req, res, socket: engineSocket };
      const core = this.#acquireCore();
      if (core < 0) {
        this.#pendingHttp.push(pending);
        return;
      }
      this.#startHttp(pending, core);
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

  #newContext(core: number, environ: Environ, method: string, uri: string, remoteAddr: string): RequestContext {
    return { workerId: this.options.workerId, core, environ, startTime: Date.now(), greenlet: undefined, method, uri, remoteAddr, ended: false };
  }

  #startUwsgi(socket: Socket, engineSocket: EngineSocket, core: number): void {
    const startTime = Date.now();
    // In this turn, not the next: the response goes out in the turn its request was read.
    spawnNow(() => this.#serveUwsgi(socket, engineSocket, core, startTime));
  }

  #startHttp(pending: PendingHttp, core: number): void {
    if (this.#startNativeHttp(pending, core)) return;
    const { req, res } = pending;
    const vars = httpRequestVars(req, pending.socket.port);
    const input = new TsgiInput(req, { timeoutSeconds: this.options.socketTimeout });
    const environ = this.#environ(vars, input, core);
    const ctx = this.#newContext(core, environ, environ.REQUEST_METHOD, String(vars.REQUEST_URI), String(vars.REMOTE_ADDR));
    const sink = new HttpResponseSink(res, this.options.socketTimeout);
    let varsCount = 0;
    let varsBytes = 0;
    for (const [key, value] of Object.entries(vars)) {
      varsCount++;
      varsBytes += 4 + key.length + String(value).length;
    }
    this.#spawnRequest(ctx, sink, input, varsCount, varsBytes, async () => {
      // Unread body bytes would otherwise be parsed as the next request on this keep-alive connection.
      if (!req.complete && !res.destroyed) await input.discard().catch(() => res.destroy());
    });
  }

  /**
   * Serves the request straight from Node's `req`/`res` when the app has a native listener (Node
   * listeners and fetch handlers made by the adapters): no environ, no synthetic request. Returns
   * false for TSGI apps, which take the environ path.
   */
  #startNativeHttp(pending: PendingHttp, core: number): boolean {
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
    spawnNow(() => this.#serveNative(ctx, listener));
    return true;
  }

  /**
   * One native request in its greenlet: the listener runs in the request context. A listener that
   * answered at once is done in the same call; otherwise the greenlet waits (hub waits, so
   * --harakiri's kill reaches it) for the promise the listener returned and for the response to end
   * or the connection to close.
   */
  #serveNative(ctx: NativeRequestContext, listener: NativeHttpListener): Promise<void> | undefined {
    const res = ctx.res;
    const greenlet = getCurrent();
    ctx.greenlet = greenlet;
    this.inFlight.add(ctx);
    this.stats.appRequests++;
    if (requestStartChannel.hasSubscribers) requestStartChannel.publish({ context: ctx });
    if (this.options.harakiri > 0) ctx.harakiriTimer = setTimeout(() => this.#nativeHarakiri(ctx, greenlet), this.options.harakiri * 1000);
    let result: unknown;
    try {
      result = requestStorage.run(ctx, listener, ctx.req, res, ctx);
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
    this.inFlight.delete(ctx);
    const record = new NativeLogRecord(ctx, switches, ++this.stats.requests, this.stats.appRequests);
    this.stats.tx += record.responseSize + record.headersSize;
    this.stats.totalRequestMicros += record.duration * 1e6;
    if (requestEndChannel.hasSubscribers) requestEndChannel.publish({ context: ctx, status: record.status });
    this.options.log.request(record);
    this.#releaseCore(ctx.core);
    this.options.onRequestDone?.();
  }

  #environ(vars: Record<string, unknown>, input: TsgiInput, core: number): Environ {
    return addTsgiKeys(vars, {
      input,
      errors: { write: (text: string) => this.options.log.error(String(text).replace(/\n$/, '')), flush: () => undefined },
      multiprocess: this.options.multiprocess,
      core,
      greenlet: undefined,
      uwsgiVersion: this.options.version,
    });
  }

  async #readHead(socket: Socket, parser: UwsgiRequestParser): Promise<UwsgiRequestHead | Error | null> {
    for (;;) {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        const result = parser.push(chunk);
        if (result !== null) return result;
      }
      if (socket.readableEnded || socket.destroyed) return parser.end();
      let ended = false;
      await waitForEmitter(socket, 'readable', {
        failEvents: { end: () => (ended = true), close: () => (ended = true) },
        timeoutSeconds: this.options.socketTimeout,
        onTimeout: () => new RequestReadTimeoutError(this.options.socketTimeout),
      }).catch((err: unknown) => {
        if (!ended) throw err;
      });
      if (ended) {
        while ((chunk = socket.read() as Buffer | null) !== null) {
          const result = parser.push(chunk);
          if (result !== null) return result;
        }
        return parser.end();
      }
    }
  }

  async #serveUwsgi(socket: Socket, engineSocket: EngineSocket, core: number, startTime: number): Promise<void> {
    const parser = new UwsgiRequestParser({ bufferSize: this.options.bufferSize, limitPost: this.options.limitPost });
    const remote = socket.remoteAddress ?? engineSocket.name;
    let head: UwsgiRequestHead | Error | null;
    try {
      head = await this.#readHead(socket, parser);
    } catch (err) {
      head = err as Error;
    }
    if (head === null) {
      // Connected and closed without sending a byte (a health check): nothing to log.
      socket.destroy();
      this.#releaseCore(core);
      return;
    }
    if (head instanceof Error) {
      this.stats.protocolErrors++;
      this.cores.cores[core].readErrors++;
      const logText = isUwsgiProtocolError(head) && head.logText ? head.logText : head.message;
      const code = (head as { code?: string }).code ?? 'TSGI_ERR_UWSGI';
      this.options.log.error(`${logText} [${code}] from ${remote} on ${engineSocket.name}`);
      socket.destroy();
      this.#releaseCore(core);
      return;
    }
    const kind = classifyRequest(head);
    if (kind.kind === 'signal') {
      await this.#remoteSignal(socket, kind.signal, remote);
      this.#releaseCore(core);
      return;
    }
    if (kind.kind === 'ping') {
      socket.end(encodePong());
      this.#releaseCore(core);
      return;
    }
    if (kind.kind === 'unknown') {
      this.stats.protocolErrors++;
      this.options.log.error(`${kind.logText} [TSGI_ERR_UWSGI_MODIFIER] from ${remote}`);
      socket.destroy();
      this.#releaseCore(core);
      return;
    }
    const vars: Record<string, unknown> = head.vars.toEnviron();
    if (kind.stripScriptName) stripScriptName(vars as Record<string, string>);
    const body = createBodyStream(socket, head, { limitPost: this.options.limitPost });
    const input = new TsgiInput(body, { timeoutSeconds: this.options.socketTimeout });
    const environ = this.#environ(vars, input, core);
    const ctx = this.#newContext(core, environ, environ.REQUEST_METHOD, String(vars.REQUEST_URI ?? environ.PATH_INFO), String(vars.REMOTE_ADDR ?? remote));
    (ctx as { startTime: number }).startTime = startTime;
    const sink = new RawSocketSink(socket, environ.SERVER_PROTOCOL, this.options.socketTimeout);
    await this.#runRequest(ctx, sink, input, head.vars.length, head.datasize, undefined);
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

  #spawnRequest(ctx: RequestContext, sink: ResponseSink, input: TsgiInput, varsCount: number, varsBytes: number, after: (() => Promise<void>) | undefined): void {
    spawnNow(() => this.#runRequest(ctx, sink, input, varsCount, varsBytes, after));
  }

  async #runRequest(ctx: RequestContext, sink: ResponseSink, input: TsgiInput, varsCount: number, varsBytes: number, after: (() => Promise<void>) | undefined): Promise<void> {
    const greenlet = getCurrent();
    (ctx as { greenlet: unknown }).greenlet = greenlet;
    ctx.environ['tsgi.greenlet'] = greenlet;
    this.inFlight.add(ctx);
    this.stats.appRequests++;
    if (requestStartChannel.hasSubscribers) requestStartChannel.publish({ context: ctx });
    const runner = new RequestRunner(sink);
    let harakiriTimer: NodeJS.Timeout | undefined;
    let harakiri = false;
    if (this.options.harakiri > 0) {
      harakiriTimer = setTimeout(() => {
        harakiri = true;
        this.stats.harakiriCount++;
        const age = ((Date.now() - ctx.startTime) / 1000).toFixed(1);
        this.options.log.error(
          `*** HARAKIRI ON WORKER ${this.options.workerId} CORE ${ctx.core} (pid: ${process.pid}) *** request "${ctx.method} ${ctx.uri}" from ${ctx.remoteAddr} cancelled after ${age} s (--harakiri ${this.options.harakiri}); the other requests go on`,
        );
        void (greenlet as Greenlet<unknown>).kill({ exception: new HarakiriError(this.options.harakiri), block: false });
      }, this.options.harakiri * 1000);
    }
    let status = 0;
    try {
      await requestStorage.run(ctx, () => runner.run(this.options.app, ctx.environ));
      status = runner.statusCode;
      if (after) await after();
    } catch (err) {
      if (harakiri || err instanceof HarakiriError) {
        status = (await runner.sendTimeout()) ? 504 : runner.statusCode;
        if (!sink.headersSent || status !== 504) sink.abort();
      } else if (err instanceof ClientDisconnectedError || sink.clientGone) {
        this.stats.writeErrors++;
        this.cores.cores[ctx.core].writeErrors++;
        status = runner.statusCode;
        this.options.log.error(`uwsgi_response_write_body_do(): Broken pipe [TSGI_ERR_CLIENT_GONE] during ${ctx.method} ${ctx.uri} (${ctx.remoteAddr})`);
        sink.abort();
      } else {
        this.stats.exceptions++;
        if (requestErrorChannel.hasSubscribers) requestErrorChannel.publish({ context: ctx, error: err });
        const where = sink.headersSent ? 'after the response headers were sent; connection closed' : 'before the response started; answered 500';
        this.options.log.error(`[TSGI_ERR_APP_EXCEPTION] ${ctx.method} ${ctx.uri} failed ${where}:`, err);
        if (await runner.sendInternalError()) status = 500;
        else {
          status = runner.statusCode;
          sink.abort();
        }
      }
    } finally {
      if (harakiriTimer !== undefined) clearTimeout(harakiriTimer);
      ctx.ended = true;
      this.inFlight.delete(ctx);
    }
    const switches = runner.switches + sink.waits + input.waits;
    this.#finish(ctx, status, sink, varsCount, varsBytes, switches);
  }

  #finish(ctx: RequestContext, status: number, sink: ResponseSink, varsCount: number, varsBytes: number, switches: number): void {
    const micros = Math.max(0, Math.round((Date.now() - ctx.startTime) * 1000));
    this.stats.requests++;
    this.stats.tx += sink.bodyBytes + sink.headerBytes;
    this.stats.totalRequestMicros += micros;
    if (requestEndChannel.hasSubscribers) requestEndChannel.publish({ context: ctx, status });
    this.options.log.request({
      pid: process.pid,
      workerId: this.options.workerId,
      appId: 0,
      appRequests: this.stats.appRequests,
      totalRequests: this.stats.requests,
      remoteAddr: ctx.remoteAddr,
      remoteUser: typeof ctx.environ.REMOTE_USER === 'string' ? ctx.environ.REMOTE_USER : '',
      varCount: varsCount,
      packetSize: varsBytes,
      startTime: ctx.startTime / 1000,
      duration: micros / 1e6,
      method: ctx.method,
      uri: ctx.uri,
      protocol: ctx.environ.SERVER_PROTOCOL,
      status,
      responseSize: sink.bodyBytes,
      headerCount: sink.headerCount,
      headersSize: sink.headerBytes,
      switches,
      core: ctx.core,
      vars: ctx.environ,
    });
    this.#releaseCore(ctx.core);
    this.options.onRequestDone?.();
  }
}
