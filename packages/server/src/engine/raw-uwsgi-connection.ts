import net from 'node:net';
import type { UwsgiRequestHead, UwsgiRequestParser } from '@tsgi/uwsgi-protocol';
import { lastWriteWasAsync, rawStreams, writeRaw, type RawStreamHandle, type RawWriteReq } from '@tsgi/uwsgi-protocol/internal';
import { ClientDisconnectedError } from '../errors.js';
import type { HeaderPair, ResponseSink } from './response-sink.js';
import { RawSocketSink, wholeResponse } from './response-sink.js';
import { onRawRead, RAW_CONNECTION } from './raw-handle-reader.js';

/*
 * A uwsgi connection served on its libuv stream handle, without a net.Socket.
 *
 * Behind nginx every request is a new connection, and for a small response Node spends more on
 * building and tearing down a net.Socket (a Duplex with two stream states, listeners, timers, a
 * shutdown before close) than on the request itself. uWSGI does accept, read, write, close. So does
 * this: the head is read straight off the handle, and a whole response is written with one write
 * request and the handle closed. Anything else (a request body, a streamed response, a ping or a
 * signal) hands the handle to a net.Socket at that point and goes on as before. The bare handle
 * API (and its fallback to net.Socket) is @tsgi/uwsgi-protocol's raw-stream.ts.
 */

interface StreamHandle extends RawStreamHandle {
  getpeername?(out: { address?: string }): number;
  [RAW_CONNECTION]?: RawUwsgiConnection<any>;
}


export { rawStreams };

/** True when `handle` can be served raw (a libuv stream with the methods used here). */
export function isRawStreamHandle(handle: object): boolean {
  const h = handle as Partial<StreamHandle>;
  return rawStreams !== null && typeof h.readStart === 'function' && typeof h.readStop === 'function' && typeof h.writeBuffer === 'function';
}


function onWriteComplete(this: RawWriteReq): void {
  this.buffer = null;
  (this.handle as StreamHandle)[RAW_CONNECTION]?.close();
}

export type RawHeadResult = UwsgiRequestHead | Error | null;

/**
 * One accepted uwsgi connection, read and answered on its stream handle. `context`, `core` and
 * `startTime` are the engine's, kept here so that one shared head callback serves every connection.
 */
export class RawUwsgiConnection<C = unknown> {
  readonly handle: StreamHandle;
  /** Epoch milliseconds after which a head still incomplete is a read timeout. */
  readonly deadline: number;
  readonly context: C;
  readonly core: number;
  readonly startTime: number;
  /** Dropped once the head is parsed: a request waiting in the app keeps no parser and no read buffer. */
  #parser: UwsgiRequestParser | null;
  /** The parsed head, held from #finishHead until the engine's greenlet takes it (see takeHead). */
  #head: UwsgiRequestHead | null = null;
  #onHead: (connection: RawUwsgiConnection<C>, head: RawHeadResult) => void;
  #reading = false;
  #closed = false;
  #socket: net.Socket | null = null;
  /** Neighbours in a HeadWaitList, null when not in one. */
  waitPrev: HeadWaiter | null = null;
  waitNext: HeadWaiter | null = null;

  constructor(
    handle: object,
    parser: UwsgiRequestParser,
    deadline: number,
    onHead: (connection: RawUwsgiConnection<C>, head: RawHeadResult) => void,
    context: C,
    core = -1,
    startTime = 0,
  ) {
    this.handle = handle as StreamHandle;
    this.#parser = parser;
    this.deadline = deadline;
    this.#onHead = onHead;
    this.context = context;
    this.core = core;
    this.startTime = startTime;
  }

  /** Starts reading the head; false when the handle refused (the connection is then closed). */
  start(): boolean {
    const handle = this.handle;
    handle[RAW_CONNECTION] = this;
    handle.onread = onRawRead;
    if (handle.readStart() !== 0) {
      this.close();
      return false;
    }
    this.#reading = true;
    return true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The peer's address, or undefined (unix sockets have none). */
  remoteAddress(): string | undefined {
    const out: { address?: string } = {};
    return this.handle.getpeername !== undefined && this.handle.getpeername(out) === 0 ? out.address : undefined;
  }

  /** Bytes arrived (called from the handle's read callback). */
  received(chunk: Buffer): void {
    if (this.#parser === null) return;
    const result = this.#parser.push(chunk);
    if (result !== null) this.#finishHead(result);
  }

  /** The peer closed or the read failed (called from the handle's read callback). */
  ended(): void {
    if (this.#parser !== null) this.#finishHead(this.#parser.end());
  }

  /** Gives up on a head that takes too long. */
  timeOut(error: Error): void {
    if (this.#parser !== null) this.#finishHead(error);
  }

  /**
   * Keeps `head` for the greenlet that will serve it. Passed this way rather than as a greenlet
   * argument, because a greenlet keeps its arguments until it ends (its repr shows them), and the head
   * holds the whole read buffer: taken, it is garbage while the app runs.
   */
  holdHead(head: UwsgiRequestHead): void {
    this.#head = head;
  }

  takeHead(): UwsgiRequestHead {
    const head = this.#head;
    if (head === null) throw new Error('RawUwsgiConnection.takeHead(): no head held (holdHead() first, take it once)');
    this.#head = null;
    return head;
  }

  #finishHead(result: RawHeadResult): void {
    this.#parser = null;
    this.#stopReading();
    this.#onHead(this, result);
  }

  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.handle.readStop();
  }

  /**
   * Hands the connection to a net.Socket (paused; bytes already read stay with the parsed head).
   * Used for everything but a whole response to a bodiless request.
   */
  toSocket(): net.Socket {
    if (this.#socket !== null) return this.#socket;
    this.#stopReading();
    const handle = this.handle;
    // net.Socket installs its own onread (an internal field that only takes functions).
    handle[RAW_CONNECTION] = undefined;
    const socket = new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
    socket.on('error', () => undefined);
    socket.pause();
    this.#socket = socket;
    return socket;
  }

  /** Writes `data` and closes the connection once it is out; false when the write failed at once. */
  writeAndClose(data: Buffer): boolean {
    if (writeRaw(this.handle, data, onWriteComplete) !== 0) {
      this.close();
      return false;
    }
    // Written in full at once (the usual case for a small response): close now. Otherwise libuv
    // finishes the write and onWriteComplete closes.
    if (!lastWriteWasAsync()) this.close();
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#socket !== null) {
      this.#socket.destroy();
      return;
    }
    this.#stopReading();
    this.handle[RAW_CONNECTION] = undefined;
    this.handle.close();
  }
}

/** What a HeadWaitList links: a connection with a deadline for its head. */
export interface HeadWaiter {
  readonly deadline: number;
  waitPrev: HeadWaiter | null;
  waitNext: HeadWaiter | null;
}

/**
 * The raw connections still waiting for their head, linked through the connections themselves.
 *
 * Not a Set: a long-lived Set that keeps adding and deleting rehashes into new tables, and V8 leaves
 * each table it rehashed away in the old generation still pointing at the entries it held then.
 * Every young object such a dead table points at survives the scavenges until the next full
 * collection, and so does everything it references: behind nginx that was every request (its
 * connection, head, environ and response), about 900 KB promoted per scavenge at 12,000 requests/s.
 * A removed connection here keeps no links.
 */
export class HeadWaitList<T extends HeadWaiter> {
  #first: HeadWaiter | null = null;
  #last: HeadWaiter | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(connection: T): void {
    if (connection.waitPrev !== null || this.#first === connection) return;
    connection.waitPrev = this.#last;
    if (this.#last === null) this.#first = connection;
    else this.#last.waitNext = connection;
    this.#last = connection;
    this.#size++;
  }

  delete(connection: T): void {
    const prev = connection.waitPrev;
    const next = connection.waitNext;
    if (prev === null && this.#first !== connection) return;
    if (prev === null) this.#first = next;
    else prev.waitNext = next;
    if (next === null) this.#last = prev;
    else next.waitPrev = prev;
    connection.waitPrev = connection.waitNext = null;
    this.#size--;
  }

  /** Calls `expire` for every connection whose deadline is at or before `now` (it may delete it). */
  sweep(now: number, expire: (connection: T) => void): void {
    for (let c = this.#first; c !== null; ) {
      const next = c.waitNext;
      if (c.deadline <= now) expire(c as T);
      c = next;
    }
  }
}

/**
 * The sink of a request served on a raw connection: a whole response goes out in one write and the
 * connection closes; anything else moves the connection to a net.Socket and continues there.
 */
export class RawConnectionSink implements ResponseSink {
  headersSent = false;
  bodyBytes = 0;
  headerBytes = 0;
  headerCount = 0;
  #trailers: HeaderPair[] | undefined = undefined;
  #connection: RawUwsgiConnection<any>;
  #protocol: string;
  #timeoutSeconds: number;
  #gone = false;
  #socketSink: RawSocketSink | null = null;

  constructor(connection: RawUwsgiConnection<any>, serverProtocol: string, timeoutSeconds: number) {
    this.#connection = connection;
    this.#protocol = serverProtocol || 'HTTP/1.0';
    this.#timeoutSeconds = timeoutSeconds;
  }

  #onSocket(): RawSocketSink {
    if (this.#socketSink === null) {
      this.#socketSink = new RawSocketSink(this.#connection.toSocket(), this.#protocol, this.#timeoutSeconds);
      if (this.#trailers !== undefined) this.#socketSink.trailers = this.#trailers;
    }
    return this.#socketSink;
  }

  get trailers(): HeaderPair[] | undefined {
    return this.#trailers;
  }

  set trailers(pairs: HeaderPair[] | undefined) {
    this.#trailers = pairs;
    if (this.#socketSink !== null) this.#socketSink.trailers = pairs;
  }

  get clientGone(): boolean {
    return this.#socketSink !== null ? this.#socketSink.clientGone : this.#gone;
  }

  get waits(): number {
    return this.#socketSink?.waits ?? 0;
  }

  get disconnected(): AbortSignal {
    return this.#onSocket().disconnected;
  }

  sendComplete(status: string, headers: HeaderPair[], body: Buffer | string): void {
    if (this.#socketSink !== null) {
      this.#socketSink.sendComplete(status, headers, body);
      this.#copyCounters();
      return;
    }
    if (this.#gone || this.#connection.closed) throw new ClientDisconnectedError('Broken pipe');
    const data = wholeResponse(this.#protocol, status, headers, body);
    this.headerCount = headers.length;
    this.headerBytes = data.headBytes;
    this.bodyBytes = data.bodyBytes;
    this.headersSent = true;
    if (!this.#connection.writeAndClose(data.bytes)) {
      this.#gone = true;
      throw new ClientDisconnectedError('Broken pipe');
    }
  }

  async sendHeaders(status: string, headers: HeaderPair[], first?: Buffer): Promise<void> {
    const sink = this.#onSocket();
    try {
      await sink.sendHeaders(status, headers, first);
    } finally {
      this.#copyCounters();
    }
  }

  async write(chunk: Buffer): Promise<void> {
    const sink = this.#onSocket();
    try {
      await sink.write(chunk);
    } finally {
      this.#copyCounters();
    }
  }

  async end(): Promise<void> {
    if (this.#socketSink === null && this.headersSent) return;
    await this.#onSocket().end();
  }

  abort(): void {
    if (this.#socketSink !== null) this.#socketSink.abort();
    else this.#connection.close();
  }

  #copyCounters(): void {
    const sink = this.#socketSink!;
    this.headersSent = sink.headersSent;
    this.bodyBytes = sink.bodyBytes;
    this.headerBytes = sink.headerBytes;
    this.headerCount = sink.headerCount;
  }
}
