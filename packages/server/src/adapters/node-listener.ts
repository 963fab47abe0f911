import diagnostics_channel from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { waitFor } from '@tsgi/hub/internal';
import type { Environ } from '../engine/environ.js';
import type { StartResponse, TsgiApplication } from '../engine/request-runner.js';
import { ClientDisconnectedError } from '../errors.js';
import { AdapterArgumentError } from './errors.js';
import { hasRequestBody, httpVersionOf, rawHeadersOf, requestTarget } from './environ-request.js';
import { HttpOutputParser } from './http-output-parser.js';
import { withNativeHttpListener } from './native-http.js';

/** What `http.createServer(listener)` takes: Express's `app`, Koa's `app.callback()`, ... */
export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

type WriteCallback = (error?: Error | null) => void;

const requestChannel = diagnostics_channel.channel('tsgi:server:adapter:node:request');

/**
 * OutgoingMessage records "a write returned false" under this own symbol, and Node's HTTP server
 * (not the response) clears it and emits the response's 'drain' when the socket drains. There is
 * no server here, so the exchange does that part; the symbol is found once by its description.
 */
const kNeedDrain = Object.getOwnPropertySymbols(new ServerResponse(new IncomingMessage(null as never))).find(
  (s) => s.description === 'kNeedDrain',
);

/**
 * The socket a synthetic request and response are attached to. Nothing is read from it (the body
 * comes from tsgi.input); what the response writes lands in `onWrite`, whose callback the exchange
 * holds until the engine has sent those bytes, so `res.write()` returns false while the client is
 * behind, exactly as on a real socket.
 */
class ExchangeSocket extends Duplex {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** Set (true) when the request came over HTTPS, as on a TLSSocket: Express, Koa and Fastify read it. */
  encrypted?: boolean;
  readonly #onWrite: (chunks: Buffer[], cb: WriteCallback) => void;

  constructor(environ: Environ, onWrite: (chunks: Buffer[], cb: WriteCallback) => void) {
    super({ writableHighWaterMark: 64 * 1024, allowHalfOpen: true });
    this.#onWrite = onWrite;
    this.remoteAddress = typeof environ.REMOTE_ADDR === 'string' ? environ.REMOTE_ADDR : undefined;
    const port = Number(environ.REMOTE_PORT);
    this.remotePort = Number.isInteger(port) && port > 0 ? port : undefined;
    this.remoteFamily = this.remoteAddress === undefined ? undefined : this.remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
    this.localAddress = typeof environ.SERVER_ADDR === 'string' ? environ.SERVER_ADDR : undefined;
    const localPort = Number(environ.SERVER_PORT);
    this.localPort = Number.isInteger(localPort) && localPort > 0 ? localPort : undefined;
    if (environ['tsgi.url_scheme'] === 'https') this.encrypted = true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: WriteCallback): void {
    this.#onWrite([chunk], cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: WriteCallback): void {
    this.#onWrite(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  override _read(): void {}

  /** No idle timer of its own: --socket-timeout and --harakiri bound the request in the engine. */
  setTimeout(_msecs: number, callback?: () => void): this {
    if (callback) this.once('timeout', callback);
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localAddress === undefined) return {};
    return { address: this.localAddress, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4', port: this.localPort ?? 0 };
  }
}

/**
 * One request through a Node listener: a real IncomingMessage fed from tsgi.input and a real
 * ServerResponse whose output is read back into start_response and body chunks. It is the
 * response body iterator the engine drains.
 */
class NodeExchange implements AsyncIterableIterator<Buffer> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly #environ: Environ;
  readonly #startResponse: StartResponse;
  readonly #socket: ExchangeSocket;
  readonly #parser = new HttpOutputParser();
  #headStarted = false;
  #queue: Buffer[] = [];
  /** Callbacks of writes whose bytes are still queued here. */
  #held: WriteCallback[] = [];
  /** Callbacks of writes whose bytes were handed to the engine by the last next(). */
  #inFlight: WriteCallback[] = [];
  #waiter: (() => void) | null = null;
  #pumpWaiter: (() => void) | null = null;
  #pumping = false;
  #finished = false;
  #failure: { error: unknown } | null = null;
  #closed = false;
  #unlinkDisconnect: (() => void) | null = null;

  constructor(environ: Environ, startResponse: StartResponse) {
    this.#environ = environ;
    this.#startResponse = startResponse;
    const socket = new ExchangeSocket(environ, (chunks, cb) => this.#onWrite(chunks, cb));
    socket.on('drain', () => this.#onSocketDrain());
    socket.on('error', () => undefined);
    this.#socket = socket;

    const req = new IncomingMessage(socket as never);
    const [major, minor] = httpVersionOf(environ);
    req.httpVersionMajor = major;
    req.httpVersionMinor = minor;
    req.httpVersion = `${major}.${minor}`;
    req.method = environ.REQUEST_METHOD;
    req.url = requestTarget(environ);
    const rawHeaders = rawHeadersOf(environ);
    // What Node's parser calls: headers and headersDistinct are then built lazily with Node's duplicate rules.
    const addHeaderLines = (req as unknown as { _addHeaderLines?: (h: string[], n: number) => void })._addHeaderLines;
    if (typeof addHeaderLines === 'function') addHeaderLines.call(req, rawHeaders, rawHeaders.length);
    else {
      req.rawHeaders = rawHeaders;
      const headers: Record<string, string> = {};
      for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i].toLowerCase()] = rawHeaders[i + 1];
      req.headers = headers;
    }
    req.rawTrailers = [];
    // Read on demand: the body is pulled from tsgi.input only when the app reads it.
    (req as unknown as { _read: () => void })._read = () => this.#onBodyRead();
    if (!hasRequestBody(environ)) {
      req.complete = true;
      req.push(null);
    }
    this.req = req;

    const res = new ServerResponse(req);
    // Date is the front's (nginx) or the --http-socket response's to add, not the app's.
    res.sendDate = false;
    res.assignSocket(socket as never);
    res.once('finish', () => {
      this.#finished = true;
      this.#wake();
    });
    this.res = res;

    const disconnected = environ['tsgi.disconnected'];
    if (disconnected instanceof AbortSignal) {
      const onAbort = (): void => {
        this.#fail(new ClientDisconnectedError('the client closed the connection'));
        this.#teardown();
      };
      if (disconnected.aborted) onAbort();
      else {
        disconnected.addEventListener('abort', onAbort, { once: true });
        this.#unlinkDisconnect = () => disconnected.removeEventListener('abort', onAbort);
      }
    }
  }

  /** Calls the listener; a synchronous throw or a rejected returned promise fails the request. */
  run(listener: NodeRequestListener): void {
    if (requestChannel.hasSubscribers) requestChannel.publish({ environ: this.#environ, req: this.req, res: this.res });
    const result = listener(this.req, this.res);
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (error: unknown) => this.#fail(error));
    }
  }

  /**
   * When the app answered without waiting for anything (the common hello-world case) the whole
   * response is already here: hand it over as an array, which the engine sends without a switch.
   */
  takeIfComplete(): Buffer[] | null {
    if (!this.res.writableEnded || this.#failure !== null) return null;
    // Releasing a write lets the socket hand over what it buffered behind it, so repeat until none is held.
    while (this.#held.length > 0) {
      const held = this.#held;
      this.#held = [];
      for (const cb of held) cb();
    }
    if (!this.res.writableFinished || this.#failure !== null) return null;
    const body = this.#queue;
    this.#queue = [];
    this.#complete();
    return body;
  }

  #onWrite(chunks: Buffer[], cb: WriteCallback): void {
    try {
      for (const chunk of chunks) {
        const pieces = this.#parser.push(chunk);
        if (!this.#headStarted && this.#parser.head !== null) {
          this.#headStarted = true;
          this.#startResponse(this.#parser.head.status, this.#parser.head.headers);
        }
        for (const piece of pieces) if (piece.length > 0) this.#queue.push(piece);
      }
      if (this.#parser.done && this.#parser.trailers.length > 0) {
        const setTrailers = this.#environ['tsgi.trailers'];
        if (typeof setTrailers === 'function') setTrailers(this.#parser.trailers);
      }
    } catch (error) {
      this.#fail(error);
    }
    this.#held.push(cb);
    this.#wake();
  }

  #onSocketDrain(): void {
    const res = this.res as unknown as Record<symbol, boolean>;
    if (this.res.writableEnded) return;
    if (kNeedDrain !== undefined) {
      if (!res[kNeedDrain]) return;
      res[kNeedDrain] = false;
    }
    this.res.emit('drain');
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter();
    }
  }

  #fail(error: unknown): void {
    if (this.#failure === null) this.#failure = { error };
    this.#wake();
  }

  async next(): Promise<IteratorResult<Buffer>> {
    const consumed = this.#inFlight;
    this.#inFlight = [];
    for (const cb of consumed) cb();
    for (;;) {
      if (this.#failure !== null) throw this.#failure.error;
      if (this.#queue.length > 0) {
        const queue = this.#queue;
        this.#queue = [];
        this.#inFlight = this.#held;
        this.#held = [];
        return { value: queue.length === 1 ? queue[0] : Buffer.concat(queue), done: false };
      }
      if (this.#held.length > 0) {
        // Writes that carried no body bytes (the head alone, chunk framing): nothing to wait for.
        const held = this.#held;
        this.#held = [];
        for (const cb of held) cb();
        continue;
      }
      if (this.#finished) {
        this.#complete();
        return { value: undefined, done: true };
      }
      await waitFor<void>((resolve) => {
        this.#waiter = resolve;
        return () => {
          this.#waiter = null;
        };
      });
    }
  }

  /** The engine stopped early (client gone, kill, harakiri, an error): the framework sees an aborted request. */
  async return(): Promise<IteratorResult<Buffer>> {
    this.#teardown();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** As Node's server does after 'finish': the response (and a bodiless request) emit 'close'. */
  #complete(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlinkDisconnect?.();
    this.#socket.destroy();
    if (this.req.complete && this.req.readableFlowing === null) this.req.resume();
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlinkDisconnect?.();
    // Writes still held will never be sent; net.Socket marks the same state before destroying.
    (this.#socket as unknown as { _hadError: boolean })._hadError = true;
    this.#socket.destroy();
    if (!this.req.destroyed) this.req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const pumpWaiter = this.#pumpWaiter;
    this.#pumpWaiter = null;
    pumpWaiter?.();
    this.#wake();
  }

  #onBodyRead(): void {
    if (this.#pumping) {
      const waiter = this.#pumpWaiter;
      this.#pumpWaiter = null;
      waiter?.();
      return;
    }
    this.#pumping = true;
    void this.#pump();
  }

  /** Moves the body from tsgi.input into the request, as fast as the app reads it. */
  async #pump(): Promise<void> {
    const req = this.req;
    const input = this.#environ['tsgi.input'] as AsyncIterable<Buffer> | undefined;
    try {
      if (input !== undefined && input !== null) {
        for await (const chunk of input) {
          if (this.#closed || req.destroyed) return;
          if (!req.push(chunk)) {
            await waitFor<void>((resolve) => {
              this.#pumpWaiter = resolve;
              return () => {
                this.#pumpWaiter = null;
              };
            });
            if (this.#closed || req.destroyed) return;
          }
        }
      }
      req.complete = true;
      req.push(null);
    } catch (error) {
      if (!req.destroyed) req.destroy(error as Error);
    }
  }
}

/**
 * Turns a Node request listener (`(req, res) => void`: Express's `app`, Koa's `app.callback()`,
 * Fastify's server handler) into a TSGI application. Each request gets a real `IncomingMessage`
 * (body from tsgi.input, on demand) and a real `ServerResponse`; what the response writes becomes
 * the TSGI response, chunk by chunk, with the engine's backpressure reaching `res.write()`.
 * Served on --http-socket, the listener gets the `req` and `res` of the engine's own HTTP server.
 */
export function fromNodeListener(listener: NodeRequestListener): TsgiApplication {
  if (typeof listener !== 'function') {
    throw new AdapterArgumentError(`fromNodeListener() takes a (req, res) function, got ${listener === null ? 'null' : typeof listener}`);
  }
  const application: TsgiApplication = function nodeListenerApplication(environ, startResponse) {
    const exchange = new NodeExchange(environ, startResponse);
    try {
      exchange.run(listener);
    } catch (error) {
      void exchange.return();
      throw error;
    }
    return exchange.takeIfComplete() ?? exchange;
  };
  // On --http-socket the engine hands the listener Node's own req and res.
  return withNativeHttpListener(application, (req, res, native) => {
    if (requestChannel.hasSubscribers) {
      requestChannel.publish({
        get environ() {
          return native.environ;
        },
        req,
        res,
      });
    }
    return listener(req, res);
  });
}
