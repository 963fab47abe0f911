import { createRequire } from 'node:module';
import net from 'node:net';
import { lastWriteWasAsync, rawStreams, writeRaw, type RawStreamHandle, type RawWriteReq } from '@tsgi/uwsgi-protocol/internal';
import { waitFor } from '@tsgi/hub/internal';
import { ClientDisconnectedError, WriteTimeoutError } from '../errors.js';
import type { HeadWaiter } from './raw-uwsgi-connection.js';
import { onRawRead, RAW_CONNECTION } from './raw-handle-reader.js';

/*
 * An --http-socket connection served on its libuv stream handle, without net.Socket, http.Server,
 * IncomingMessage or ServerResponse: the request head is parsed by Node's own parser (llhttp, the
 * HTTPParser binding that Node's http server uses), and the response is written on the handle.
 *
 * A keep-alive connection waiting in the app holds this object, its handle and the head: no parser
 * (it goes back to a pool once the head is parsed), no stream states, no bound listeners. Node's
 * http server keeps all of those per connection, about 4 KB of heap and 2 KB of native memory.
 *
 * Only what this path serves in full comes here: a request without a body, not an upgrade. For
 * anything else (a body, `Upgrade`, CONNECT) the connection is handed over, with the bytes of the
 * request read so far, to Node's http server, which serves it and the rest of the connection.
 * The parser is fed one head at a time, never past the end of the head it is parsing, so the bytes
 * of a pipelined next request stay unparsed until the response before it is out.
 */

interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  [callback: number]: unknown;
  connection?: RawHttpConnection | null;
}

interface LlhttpParserClass {
  new (): LlhttpParser;
  REQUEST: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
}

interface HttpParserBinding {
  HTTPParser: LlhttpParserClass;
  methods: string[];
}

function loadHttpParser(): HttpParserBinding | null {
  if (process.env.TSGI_RAW_HTTP === '0' || rawStreams === null) return null;
  try {
    const common = createRequire(import.meta.url)('_http_common') as Partial<HttpParserBinding>;
    const { HTTPParser, methods } = common;
    if (typeof HTTPParser !== 'function' || !Array.isArray(methods)) return null;
    for (const key of ['REQUEST', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete', 'kOnExecute'] as const) {
      if (typeof HTTPParser[key] !== 'number') return null;
    }
    return { HTTPParser, methods };
  } catch {
    return null;
  }
}

/** Node's HTTP parser binding, or null when --http-socket must go through Node's http server (TSGI_RAW_HTTP=0 forces that). */
export const rawHttpParser: HttpParserBinding | null = loadHttpParser();

/** Node's default --max-http-header-size. */
const MAX_HEADER_SIZE = 16 * 1024;
/** Node's http server's default maxHeadersCount, as name/value entries. */
const MAX_HEADER_ENTRIES = 2 * 2000;
/** Parsers kept for reuse (Node's http server keeps as many). */
const PARSER_POOL_SIZE = 1000;
/** Bytes of a pipelined next request read ahead while a response is in progress, before reading pauses. */
const READ_AHEAD_LIMIT = 64 * 1024;

/** A request head, as Node's parser reported it. */
export interface RawHttpHead {
  readonly method: string;
  readonly url: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** Names and values, alternating, as received (IncomingMessage.rawHeaders). */
  readonly rawHeaders: string[];
  /** llhttp's verdict: HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`. */
  readonly keepAlive: boolean;
}

const parserPool: LlhttpParser[] = [];

function onHeaders(this: LlhttpParser, headers: string[], url: string): void {
  const c = this.connection;
  if (c === null || c === undefined) return;
  if (c.partialHeaders.length < MAX_HEADER_ENTRIES) c.partialHeaders.push(...headers);
  c.partialUrl += url;
}

function onHeadersComplete(
  this: LlhttpParser,
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _statusCode: unknown,
  _statusMessage: unknown,
  upgrade: boolean,
  shouldKeepAlive: boolean,
): number {
  const c = this.connection;
  if (c === null || c === undefined) return 0;
  // More header lines than the binding passes at once came earlier through onHeaders.
  if (headers === undefined) headers = c.partialHeaders;
  else if (c.partialHeaders.length > 0) headers = c.partialHeaders.concat(headers);
  if (url === undefined) url = c.partialUrl;
  c.partialHeaders = [];
  c.partialUrl = '';
  c.upgrade = upgrade;
  c.head = { method: rawHttpParser!.methods[method] ?? 'GET', url, versionMajor, versionMinor, rawHeaders: headers, keepAlive: shouldKeepAlive };
  return 0;
}

function onMessageComplete(this: LlhttpParser): void {
  const c = this.connection;
  if (c !== null && c !== undefined) c.messageComplete = true;
}

function ignore(): void {}

function acquireParser(connection: RawHttpConnection): LlhttpParser {
  const binding = rawHttpParser!;
  let parser = parserPool.pop();
  if (parser === undefined) {
    parser = new binding.HTTPParser();
    const P = binding.HTTPParser;
    parser[P.kOnHeaders] = onHeaders;
    parser[P.kOnHeadersComplete] = onHeadersComplete;
    parser[P.kOnBody] = ignore;
    parser[P.kOnMessageComplete] = onMessageComplete;
    parser[P.kOnExecute] = ignore;
  }
  parser.initialize(binding.HTTPParser.REQUEST, connection, MAX_HEADER_SIZE, 0);
  parser.connection = connection;
  return parser;
}

function releaseParser(parser: LlhttpParser): void {
  parser.connection = null;
  if (parserPool.length < PARSER_POOL_SIZE) parserPool.push(parser);
}

/**
 * Where the end of a head (CR LF CR LF) is in `data` from `offset`: the index just past it, or -1.
 * `matched` is how much of the terminator the bytes before `offset` ended with; `scan.matched`
 * carries it over to the next call.
 */
function findHeadEnd(data: Buffer, offset: number, scan: { matched: number }): number {
  let m = scan.matched;
  for (let i = offset; i < data.length; i++) {
    const b = data[i];
    if (b === 13) m = m === 2 ? 3 : 1;
    else if (b === 10 && (m === 1 || m === 3)) {
      if (m === 3) {
        scan.matched = 0;
        return i + 1;
      }
      m = 2;
    } else m = 0;
  }
  scan.matched = m;
  return -1;
}

interface StreamHandle extends RawStreamHandle {
  readonly writeQueueSize?: number;
  setNoDelay?(enable: boolean): number;
  getpeername?(out: { address?: string; port?: number }): number;
  getsockname?(out: { address?: string; port?: number }): number;
  [RAW_CONNECTION]?: RawHttpConnection;
}



function onWriteComplete(this: RawWriteReq, status: number): void {
  this.buffer = null;
  (this.handle as StreamHandle)[RAW_CONNECTION]?.writeDone(status);
}

/** What the engine does with a connection's heads and its end. */
export interface RawHttpCallbacks {
  /** A bodiless request's head was parsed: serve it (then call `next()` on the connection). */
  onHead(connection: RawHttpConnection): void;
  /**
   * The connection failed and is being closed: a head Node's parser refused (answered 400), one
   * that took too long (408), or a client that took none of its answer for too long (WriteTimeoutError).
   */
  onError(connection: RawHttpConnection, error: Error & { code?: string }): void;
  /** A request this path does not serve: the connection, as a net.Socket with the bytes read so far unshifted, for Node's http server. */
  onHandOver(connection: RawHttpConnection, socket: net.Socket): void;
  /** The connection is closed (by either side). */
  onClose(connection: RawHttpConnection): void;
}

const enum Phase {
  /** Waiting for a request head (keep-alive idle, or the head partly read). */
  Head,
  /** A request is being served; bytes that arrive are read ahead (a pipelined next request). */
  Serving,
  /** Handed to a net.Socket, or closed. */
  Gone,
}

/** One accepted --http-socket connection, read and answered on its stream handle. */
export class RawHttpConnection<C = unknown> implements HeadWaiter {
  readonly handle: StreamHandle;
  readonly context: C;
  /** Epoch milliseconds after which an idle keep-alive connection is closed, or a partial head answered 408. */
  deadline = Infinity;
  waitPrev: HeadWaiter | null = null;
  waitNext: HeadWaiter | null = null;
  /** Filled by the parser's callbacks (module functions, hence not private). */
  head: RawHttpHead | null = null;
  partialHeaders: string[] = [];
  partialUrl = '';
  upgrade = false;
  messageComplete = false;
  /** Requests served on this connection (the first is 1). */
  requests = 0;
  readonly #callbacks: RawHttpCallbacks;
  #parser: LlhttpParser | null = null;
  #phase = Phase.Head;
  #reading = false;
  #scan = { matched: 0 };
  /** The bytes of the current head given to the parser, kept for a hand-over to Node's http server. */
  #headBytes: Buffer[] = [];
  /** Bytes read but not parsed yet: the start of a pipelined next request. */
  #ahead: Buffer[] = [];
  #aheadBytes = 0;
  /** The peer ended or reset the connection. */
  #peerGone = false;
  #closed = false;
  #closeAfterWrites = false;
  #writesInFlight = 0;
  /** Keep-alive, but the next request waits until the last response's writes are out. */
  #awaitingWrites = false;
  /** libuv's write queue size at the last timeOut() with writes in flight. */
  #queuedAtCheck = Infinity;
  readonly #timeoutMs: number;
  #writeFailed = false;
  #onPeerGone: (() => void) | null = null;
  #remote: { address?: string; port?: number } | null = null;
  #local: { address?: string; port?: number } | null = null;

  /** `timeoutMs` (--socket-timeout, 0 for none) bounds the wait for a head, and a write's lack of progress. */
  constructor(handle: object, context: C, callbacks: RawHttpCallbacks, timeoutMs: number) {
    this.handle = handle as StreamHandle;
    this.context = context;
    this.#callbacks = callbacks;
    this.#timeoutMs = timeoutMs;
  }

  #deadlineFromNow(): number {
    return this.#timeoutMs > 0 ? Date.now() + this.#timeoutMs : Infinity;
  }

  /** Starts reading the first head; false when the handle refused (the connection is then closed). */
  start(): boolean {
    const handle = this.handle;
    handle[RAW_CONNECTION] = this;
    handle.onread = onRawRead;
    // As Node's http server here (noDelay: true): a streamed response's chunks go out as written.
    handle.setNoDelay?.(true);
    this.deadline = this.#deadlineFromNow();
    if (!this.#startReading()) {
      this.close();
      return false;
    }
    return true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True while no byte of a next request has arrived and no answer is on its way (an idle keep-alive connection). */
  get idle(): boolean {
    return this.#phase === Phase.Head && this.#headBytes.length === 0 && this.#aheadBytes === 0 && this.#writesInFlight === 0;
  }

  /** True once the peer is gone, or a write to it failed. */
  get peerGone(): boolean {
    return this.#peerGone || this.#writeFailed || this.#closed;
  }

  /** Called once when the peer goes away while a request is served (for `tsgi.disconnected`). */
  set onPeerGone(callback: (() => void) | null) {
    this.#onPeerGone = callback;
  }

  /** The peer's address and port ('' for both on a unix socket). */
  remoteAddress(): { address: string; port: string } {
    if (this.#remote === null) {
      this.#remote = {};
      this.handle.getpeername?.(this.#remote);
    }
    return { address: this.#remote.address ?? '', port: this.#remote.port === undefined ? '' : String(this.#remote.port) };
  }

  localAddress(): string {
    if (this.#local === null) {
      this.#local = {};
      this.handle.getsockname?.(this.#local);
    }
    return this.#local.address ?? '';
  }

  /** Bytes arrived (from the handle's read callback). */
  received(chunk: Buffer): void {
    if (this.#phase === Phase.Head && this.#aheadBytes === 0) {
      this.#parse(chunk);
      return;
    }
    if (this.#phase === Phase.Gone) return;
    this.#ahead.push(chunk);
    this.#aheadBytes += chunk.length;
    if (this.#aheadBytes >= READ_AHEAD_LIMIT) this.#stopReading();
  }

  /** The peer closed or the read failed (from the handle's read callback). */
  ended(): void {
    this.#peerGone = true;
    this.#stopReading();
    if (this.#phase === Phase.Serving) {
      // The response in progress finds out at its next write; an app waiting on `tsgi.disconnected` now.
      const notify = this.#onPeerGone;
      this.#onPeerGone = null;
      notify?.();
      return;
    }
    if (this.#phase === Phase.Head) this.close();
  }

  /**
   * The deadline passed. With writes still queued (a client reading slowly, or not at all), one that
   * made progress since the last check gets another period and one that did not is closed; else an
   * idle keep-alive connection is closed, and a partial head answered 408.
   */
  timeOut(error: Error & { code?: string }): void {
    if (this.#writesInFlight > 0) {
      const queued = this.handle.writeQueueSize ?? 0;
      if (queued < this.#queuedAtCheck) {
        this.#queuedAtCheck = queued;
        this.deadline = this.#deadlineFromNow();
        return;
      }
      this.#callbacks.onError(this, new WriteTimeoutError(this.#timeoutMs / 1000));
      this.close();
      return;
    }
    if (this.#phase !== Phase.Head) return;
    if (this.idle) {
      this.close();
      return;
    }
    this.#releaseParser();
    this.#callbacks.onError(this, error);
    this.writeAndClose(Buffer.from('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1'));
  }

  #parse(data: Buffer): void {
    const parser = (this.#parser ??= acquireParser(this));
    let offset = 0;
    while (offset < data.length) {
      const end = findHeadEnd(data, offset, this.#scan);
      const stop = end < 0 ? data.length : end;
      const piece = offset === 0 && stop === data.length ? data : data.subarray(offset, stop);
      offset = stop;
      this.#headBytes.push(piece);
      const result = parser.execute(piece);
      if (typeof result !== 'number') {
        this.#releaseParser();
        this.#headBytes = [];
        this.#callbacks.onError(this, result);
        this.writeAndClose(Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1'));
        return;
      }
      if (this.head !== null) {
        this.#headParsed(offset < data.length ? data.subarray(offset) : null);
        return;
      }
    }
  }

  #headParsed(rest: Buffer | null): void {
    const servable = this.messageComplete && !this.upgrade;
    this.#releaseParser();
    if (rest !== null) {
      this.#ahead.unshift(rest);
      this.#aheadBytes += rest.length;
    }
    if (!servable) {
      this.#handOver();
      return;
    }
    this.#headBytes = [];
    this.#phase = Phase.Serving;
    this.requests++;
    if (this.#aheadBytes >= READ_AHEAD_LIMIT) this.#stopReading();
    this.#callbacks.onHead(this);
  }

  #releaseParser(): void {
    if (this.#parser === null) return;
    releaseParser(this.#parser);
    this.#parser = null;
    this.#scan.matched = 0;
    this.messageComplete = false;
    this.upgrade = false;
  }

  /** Node's http server takes over: a fresh parser there reads this request again from its first byte. */
  #handOver(): void {
    const bytes = Buffer.concat([...this.#headBytes, ...this.#ahead]);
    this.#headBytes = [];
    this.#ahead = [];
    this.#aheadBytes = 0;
    this.head = null;
    this.#phase = Phase.Gone;
    this.#stopReading();
    const handle = this.handle;
    // net.Socket installs its own onread (an internal field that only takes functions).
    handle[RAW_CONNECTION] = undefined;
    const socket = new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
    socket.on('error', ignore);
    socket.setNoDelay(true);
    if (bytes.length > 0) socket.unshift(bytes);
    this.#callbacks.onHandOver(this, socket);
  }

  /** Takes the parsed head (once). */
  takeHead(): RawHttpHead {
    const head = this.head;
    if (head === null) throw new Error('RawHttpConnection.takeHead(): no head parsed');
    this.head = null;
    return head;
  }

  /**
   * Writes `data`: undefined when libuv wrote it at once, else a promise for the write's end, which
   * the caller may wait on (backpressure) or leave (libuv keeps writes in order). Throws
   * ClientDisconnectedError when the connection is gone.
   */
  write(data: Buffer, wait: boolean, timeoutSeconds: number): Promise<void> | undefined {
    if (this.peerGone) throw new ClientDisconnectedError('Broken pipe');
    if (writeRaw(this.handle, data, onWriteComplete) !== 0) {
      this.#writeFailed = true;
      throw new ClientDisconnectedError('Broken pipe');
    }
    if (!lastWriteWasAsync()) return undefined;
    this.#writesInFlight++;
    if (!wait) return undefined;
    return waitFor<void>((resolve, reject) => {
      const timer =
        timeoutSeconds > 0
          ? setTimeout(() => {
              this.#writeWaiter = null;
              reject(new WriteTimeoutError(timeoutSeconds));
            }, timeoutSeconds * 1000)
          : undefined;
      this.#writeWaiter = (failed: boolean): void => {
        this.#writeWaiter = null;
        if (timer !== undefined) clearTimeout(timer);
        if (failed) reject(new ClientDisconnectedError('Broken pipe'));
        else resolve();
      };
      return () => {
        this.#writeWaiter = null;
        if (timer !== undefined) clearTimeout(timer);
      };
    });
  }

  #writeWaiter: ((failed: boolean) => void) | null = null;

  /** A write libuv finished later (from the write request's callback). */
  writeDone(status: number): void {
    this.#writesInFlight--;
    if (status < 0) this.#writeFailed = true;
    if (this.#writesInFlight === 0) {
      this.#queuedAtCheck = Infinity;
      const waiter = this.#writeWaiter;
      if (waiter !== null) waiter(this.#writeFailed);
      if (this.#closeAfterWrites || this.#writeFailed) this.close();
      else if (this.#awaitingWrites) {
        this.#awaitingWrites = false;
        this.deadline = this.#deadlineFromNow();
        this.#resume();
      }
    } else if (status < 0) {
      this.#writeWaiter?.(true);
    }
  }

  /** Writes `data` (ignoring a failure) and closes the connection once it is out. */
  writeAndClose(data: Buffer): void {
    this.#phase = Phase.Gone;
    try {
      this.write(data, false, 0);
    } catch {
      // Gone already: there is nobody to answer.
    }
    this.closeAfterWrites();
  }

  /** Closes the connection once every write is out. */
  closeAfterWrites(): void {
    this.#phase = Phase.Gone;
    this.#stopReading();
    if (this.#writesInFlight === 0) this.close();
    else this.#closeAfterWrites = true;
  }

  /**
   * The response is out (or on its way): on a keep-alive connection, reads the next request (from
   * the bytes read ahead first); otherwise closes once the writes are done.
   */
  next(keepAlive: boolean): void {
    if (this.#phase !== Phase.Serving) return;
    this.#onPeerGone = null;
    this.deadline = this.#deadlineFromNow();
    if (!keepAlive || this.#peerGone || this.#writeFailed) {
      this.closeAfterWrites();
      return;
    }
    this.#phase = Phase.Head;
    if (this.#writesInFlight > 0) {
      // Backpressure: a client that pipelines requests without reading the answers gets the next
      // one answered only when it has taken this one, so what waits for it is one response at most.
      this.#awaitingWrites = true;
      this.#stopReading();
      return;
    }
    this.#resume();
  }

  #resume(): void {
    if (this.#aheadBytes === 0) {
      if (!this.#startReading()) this.close();
      return;
    }
    // Not at once: next() runs where the response ended, maybe inside the request's greenlet, and a
    // run of pipelined requests each answered synchronously would nest there without end.
    setImmediate(() => this.#parseAhead());
  }

  #parseAhead(): void {
    // One chunk at a time off the front (a head that completes inside a chunk puts its tail back
    // first), and one request at a time: a request answered at once has already called next(),
    // which carries on from there, or waits for its answer's writes.
    const served = this.requests;
    while (this.#phase === Phase.Head && !this.#awaitingWrites && this.#ahead.length > 0 && this.requests === served) {
      const chunk = this.#ahead.shift()!;
      this.#aheadBytes -= chunk.length;
      this.#parse(chunk);
    }
    if (this.requests === served && this.#phase === Phase.Head && !this.#awaitingWrites && !this.#startReading()) this.close();
  }

  #startReading(): boolean {
    if (this.#reading || this.#peerGone) return true;
    if (this.handle.readStart() !== 0) return false;
    this.#reading = true;
    return true;
  }

  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.handle.readStop();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#phase = Phase.Gone;
    this.#releaseParser();
    this.#stopReading();
    this.#headBytes = [];
    this.#ahead = [];
    this.handle[RAW_CONNECTION] = undefined;
    this.handle.close();
    // libuv cancels the writes still queued, and their completions no longer reach this object.
    this.#writeWaiter?.(true);
    const notify = this.#onPeerGone;
    this.#onPeerGone = null;
    notify?.();
    this.#callbacks.onClose(this);
  }
}
