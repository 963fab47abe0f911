import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ClientDisconnectedError, WriteTimeoutError } from '../errors.js';
import { waitForEmitter } from './hub-waits.js';

export type HeaderPair = [string, string];

/** Where a response goes: a raw uwsgi connection, or a Node HTTP response (--http-socket). */
export interface ResponseSink {
  readonly headersSent: boolean;
  /** True once the peer is gone; the next write throws ClientDisconnectedError. */
  readonly clientGone: boolean;
  /** Body bytes written so far. */
  readonly bodyBytes: number;
  /** Size of the status line and headers as sent. */
  readonly headerBytes: number;
  /** Number of headers sent. */
  readonly headerCount: number;
  /** Sends the status line and headers, with `first` in the same write when given. */
  sendHeaders(status: string, headers: HeaderPair[], first?: Buffer): Promise<void>;
  write(chunk: Buffer): Promise<void>;
  /**
   * Sends a whole response known up front (status, headers, body) in one write, and finishes it.
   * The engine's sinks do it synchronously (and throw ClientDisconnectedError synchronously). A
   * string body is sent as UTF-8.
   */
  sendComplete(status: string, headers: HeaderPair[], body: Buffer | string): void | Promise<void>;
  /** Finishes the response cleanly. */
  end(): Promise<void>;
  /** Ends the connection without a clean end, so the client sees a truncated response as such. */
  abort(): void;
  /** Cooperative waits done for drain (counted as switches). */
  readonly waits: number;
  /** Aborted when the peer goes away before the response ended (published as `environ['tsgi.disconnected']`). */
  readonly disconnected?: AbortSignal;
  /** Trailer fields to send after the body, where the transport can carry them (see `end()`). */
  trailers?: HeaderPair[];
}

/**
 * The AbortSignal published as `environ['tsgi.disconnected']`, created on first use: most requests
 * never look at it, and an AbortController is not free on the request path.
 */
export class LazyDisconnect {
  #controller: AbortController | null = null;
  #reason: Error | null = null;

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#reason !== null) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(): void {
    this.#reason = new ClientDisconnectedError('the client closed the connection before the response ended');
    this.#controller?.abort(this.#reason);
  }
}

function statusCode(status: string): number {
  return Number.parseInt(status.slice(0, 3), 10);
}

/**
 * A response written raw to a uwsgi connection, as uWSGI does: `<SERVER_PROTOCOL> <status>\r\n`,
 * the headers, a blank line, then the body, ended by closing the connection.
 */
export class RawSocketSink implements ResponseSink {
  headersSent = false;
  clientGone = false;
  bodyBytes = 0;
  headerBytes = 0;
  headerCount = 0;
  waits = 0;
  trailers?: HeaderPair[];
  #socket: Socket;
  #protocol: string;
  #timeoutSeconds: number;
  #ended = false;
  #watching = false;
  #disconnect: LazyDisconnect | null = null;

  get disconnected(): AbortSignal {
    this.#disconnect ??= new LazyDisconnect();
    this.#watch();
    if (this.clientGone && !this.#ended) this.#disconnect.abort();
    return this.#disconnect.signal;
  }

  #gone(): void {
    this.#disconnect?.abort();
  }

  constructor(socket: Socket, serverProtocol: string, timeoutSeconds: number) {
    this.#socket = socket;
    this.#protocol = serverProtocol || 'HTTP/1.0';
    this.#timeoutSeconds = timeoutSeconds;
  }

  /** The 'close' listener, added only once a response streams or the app asks for `tsgi.disconnected`. */
  #watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    const socket = this.#socket;
    if (socket.destroyed) this.#closed();
    else socket.once('close', () => this.#closed());
  }

  #closed(): void {
    this.clientGone = true;
    if (!this.#ended) this.#gone();
  }

  async sendHeaders(status: string, headers: HeaderPair[], first?: Buffer): Promise<void> {
    this.#watch();
    this.headerCount = headers.length;
    let head = `${this.#protocol} ${status}\r\n`;
    for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
    head += '\r\n';
    const headBuf = Buffer.from(head, 'latin1');
    this.headerBytes = headBuf.length;
    this.headersSent = true;
    if (first && first.length > 0) {
      this.bodyBytes += first.length;
      await this.#write(Buffer.concat([headBuf, first], headBuf.length + first.length));
    } else {
      await this.#write(headBuf);
    }
  }

  async write(chunk: Buffer): Promise<void> {
    this.bodyBytes += chunk.length;
    await this.#write(chunk);
  }

  async #write(data: Buffer): Promise<void> {
    const socket = this.#socket;
    if (this.clientGone || socket.destroyed || !socket.writable) throw new ClientDisconnectedError('Broken pipe');
    if (socket.write(data)) return;
    this.waits++;
    await waitForEmitter(socket, 'drain', {
      failEvents: { close: () => new ClientDisconnectedError('Broken pipe'), error: (e) => new ClientDisconnectedError(String((e as Error)?.message ?? e)) },
      timeoutSeconds: this.#timeoutSeconds,
      onTimeout: () => new WriteTimeoutError(this.#timeoutSeconds),
    });
  }

  sendComplete(status: string, headers: HeaderPair[], body: Buffer | string): void {
    this.headerCount = headers.length;
    const data = wholeResponse(this.#protocol, status, headers, body);
    this.headerBytes = data.headBytes;
    this.bodyBytes = data.bodyBytes;
    this.headersSent = true;
    this.#ended = true;
    const socket = this.#socket;
    if (this.clientGone || socket.destroyed || !socket.writable) throw new ClientDisconnectedError('Broken pipe');
    socket.end(data.bytes);
  }

  /** A uwsgi response is delimited by the connection's close, so there is no place for trailers: they are dropped. */
  async end(): Promise<void> {
    this.#ended = true;
    if (this.#socket.destroyed) return;
    this.#socket.end();
  }

  abort(): void {
    this.#socket.destroy();
  }
}

/** A whole uwsgi-socket response (status line, headers, body) as the one buffer it is written in. */
export function wholeResponse(protocol: string, status: string, headers: HeaderPair[], body: Buffer | string): { bytes: Buffer; headBytes: number; bodyBytes: number } {
  let head = `${protocol} ${status}\r\n`;
  for (let i = 0; i < headers.length; i++) head += `${headers[i][0]}: ${headers[i][1]}\r\n`;
  head += '\r\n';
  return headAndBody(head, body);
}

/** A response head (latin1 text) and its body (a string is UTF-8) in one buffer, the head encoded straight into it. */
export function headAndBody(head: string, body: Buffer | string): { bytes: Buffer; headBytes: number; bodyBytes: number } {
  const headBytes = Buffer.byteLength(head, 'latin1');
  const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const bytes = Buffer.allocUnsafe(headBytes + bodyBytes);
  bytes.write(head, 0, headBytes, 'latin1');
  if (typeof body === 'string') bytes.write(body, headBytes, bodyBytes, 'utf8');
  else body.copy(bytes, headBytes);
  return { bytes, headBytes, bodyBytes };
}

/** A response written through Node's HTTP server (keep-alive, chunked when no length is given). */
export class HttpResponseSink implements ResponseSink {
  headersSent = false;
  bodyBytes = 0;
  headerBytes = 0;
  headerCount = 0;
  waits = 0;
  trailers?: HeaderPair[];
  #res: ServerResponse;
  #timeoutSeconds: number;
  #disconnect: LazyDisconnect | null = null;
  #gone = false;
  #watching = false;

  constructor(res: ServerResponse, timeoutSeconds: number) {
    this.#res = res;
    this.#timeoutSeconds = timeoutSeconds;
  }

  /** False: the response says `Connection: close` and the connection ends after it (a stopping worker). */
  set keepAlive(value: boolean) {
    this.#res.shouldKeepAlive = value;
  }

  /**
   * True once the client is gone before the response finished. A whole response written in one go
   * never needs to know when that happens, so the 'close' listener is added only when a response
   * streams or the app asks for `tsgi.disconnected`.
   */
  get clientGone(): boolean {
    if (this.#gone) return true;
    const res = this.#res;
    if (res.writableFinished) return false;
    if (res.destroyed || (res.socket !== null && res.socket.destroyed)) this.#markGone();
    return this.#gone;
  }

  get disconnected(): AbortSignal {
    this.#disconnect ??= new LazyDisconnect();
    this.#watch();
    if (this.clientGone) this.#disconnect.abort();
    return this.#disconnect.signal;
  }

  #markGone(): void {
    this.#gone = true;
    this.#disconnect?.abort();
  }

  #watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    const res = this.#res;
    res.once('close', () => {
      if (!res.writableFinished) this.#markGone();
    });
  }

  async sendHeaders(status: string, headers: HeaderPair[], first?: Buffer): Promise<void> {
    this.#watch();
    this.headerCount = headers.length;
    const flat: string[] = [];
    let bytes = 0;
    for (const [name, value] of headers) {
      flat.push(name, value);
      bytes += name.length + value.length + 4;
    }
    const code = statusCode(status);
    const reason = status.slice(4);
    this.#res.writeHead(code, reason, flat);
    // As uWSGI counts them: the status line, the app's headers and the blank line.
    this.headerBytes = bytes + status.length + 13;
    this.headersSent = true;
    if (first && first.length > 0) await this.write(first);
  }

  async write(chunk: Buffer): Promise<void> {
    const res = this.#res;
    if (this.clientGone) throw new ClientDisconnectedError('Broken pipe');
    this.bodyBytes += chunk.length;
    if (res.write(chunk)) return;
    this.waits++;
    await waitForEmitter(res, 'drain', {
      failEvents: { close: () => new ClientDisconnectedError('Broken pipe') },
      timeoutSeconds: this.#timeoutSeconds,
      onTimeout: () => new WriteTimeoutError(this.#timeoutSeconds),
    });
  }

  sendComplete(status: string, headers: HeaderPair[], body: Buffer | string): void {
    const res = this.#res;
    if (this.clientGone) throw new ClientDisconnectedError('Broken pipe');
    this.headerCount = headers.length;
    const flat: string[] = [];
    let bytes = 0;
    let hasLength = false;
    for (let i = 0; i < headers.length; i++) {
      const name = headers[i][0];
      const value = headers[i][1];
      flat.push(name, value);
      bytes += name.length + value.length + 4;
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
    }
    const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
    // The whole body is known: a length instead of chunked encoding, and one write on the wire (a
    // string body even one string: Node joins it to the head).
    if (!hasLength) flat.push('Content-Length', String(bodyBytes));
    res.writeHead(statusCode(status), status.slice(4), flat);
    this.headerBytes = bytes + status.length + 13;
    this.headersSent = true;
    this.bodyBytes = bodyBytes;
    res.end(body);
  }

  /** Trailers go out only on a chunked response (no Content-Length, HTTP/1.1); Node drops them otherwise. */
  async end(): Promise<void> {
    if (this.#res.destroyed) return;
    if (this.trailers !== undefined && this.trailers.length > 0 && this.#res.chunkedEncoding) this.#res.addTrailers(this.trailers);
    this.#res.end();
  }

  abort(): void {
    this.#res.destroy();
  }
}
