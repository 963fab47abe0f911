import diagnostics_channel from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { type UwsgiAddress, checkAddress, formatAddress } from './address.js';
import { ChunkedDecoder } from './chunked.js';
import { type VarsInput, encodePacket } from './codec.js';
import { UwsgiProtocolError, isUwsgiProtocolError } from './errors.js';
import { type HeaderPair, type ResponseFraming, findHeadEnd, parseResponseHead } from './response-head.js';
import { type Link, type LinkEvents, openLink } from './upstream-link.js';

export type RequestBody = string | Uint8Array | Readable | AsyncIterable<Uint8Array | string>;

export interface UwsgiRequestOptions {
  vars: VarsInput;
  /** Sent after the packet, as is (strings as UTF-8). Set CONTENT_LENGTH in vars to match. */
  body?: RequestBody | null;
  modifier1?: number;
  modifier2?: number;
  /** Seconds to establish the connection (nginx uwsgi_connect_timeout; default 60). */
  connectTimeout?: number;
  /** Seconds between two successive writes while the socket is full (nginx uwsgi_send_timeout; default 60). */
  sendTimeout?: number;
  /** Seconds between two successive reads (nginx uwsgi_read_timeout; default 60). Not counted while the body reader applies backpressure. */
  readTimeout?: number;
  /** Largest response head accepted in bytes (nginx uwsgi_buffer_size; default 4096). */
  maxHeaderSize?: number;
  signal?: AbortSignal;
  /** highWaterMark of the response body stream (default 16 KiB). */
  highWaterMark?: number;
}

export interface UwsgiResponse {
  status: number;
  statusText: string;
  /** '1.1', '1.0' ...; '' when the server sent a CGI-style head (`Status:` header). */
  httpVersion: string;
  /** Raw order and case. */
  headers: HeaderPair[];
  /** How the body's end is known: 'close' (uwsgi's norm), or 'length'/'chunked' when the server framed it. */
  framing: ResponseFraming;
  /** The body, de-chunked when framing is 'chunked'. Errors with TSGI_ERR_UWSGI_PREMATURE_CLOSE if a framed body is cut short. */
  body: Readable;
}

const requestChannel = diagnostics_channel.channel('tsgi:uwsgi-protocol:client:request');
const responseChannel = diagnostics_channel.channel('tsgi:uwsgi-protocol:client:response');
const errorChannel = diagnostics_channel.channel('tsgi:uwsgi-protocol:client:error');

const DEFAULT_TIMEOUT = 60;

type Phase = 'connect' | 'send' | 'read-header' | 'read-body';

const PHASE_TEXT: Record<Phase, string> = {
  connect: 'while connecting to upstream',
  send: 'while sending request to upstream',
  'read-header': 'while reading response header from upstream',
  'read-body': 'while reading upstream',
};

function seconds(value: number | undefined, name: string): number {
  const v = value ?? DEFAULT_TIMEOUT;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `${name} must be a positive number of seconds, got ${String(value)}`);
  }
  return Math.max(1, Math.round(v * 1000));
}

/** Maps a socket error to a coded error, with nginx's log text for the phase it happened in. */
export function socketError(error: NodeJS.ErrnoException, phase: Phase, address: string): UwsgiProtocolError {
  const errno = error.code ?? 'EIO';
  const where = PHASE_TEXT[phase];
  if (errno === 'ECONNREFUSED') {
    return new UwsgiProtocolError('TSGI_ERR_UWSGI_CONNECT_REFUSED', `connection to ${address} refused: is the uwsgi server running and listening there?`, {
      cause: error,
      logText: `connect() failed (111: Connection refused) ${where}`,
    });
  }
  if (phase === 'connect') {
    return new UwsgiProtocolError('TSGI_ERR_UWSGI_CONNECT_FAILED', `cannot connect to ${address}: ${error.message}`, {
      cause: error,
      logText: `connect() to ${address} failed (${errno}) ${where}`,
    });
  }
  const syscall = phase === 'send' ? 'writev() failed (32: Broken pipe)' : 'recv() failed (104: Connection reset by peer)';
  return new UwsgiProtocolError('TSGI_ERR_UWSGI_CONNECTION_RESET', `connection to ${address} failed ${where}: ${error.message}`, {
    cause: error,
    logText: `${syscall} ${where}`,
  });
}

function timeoutError(phase: Phase, address: string, secs: number): UwsgiProtocolError {
  const code = phase === 'connect' ? 'TSGI_ERR_UWSGI_CONNECT_TIMEOUT' : phase === 'send' ? 'TSGI_ERR_UWSGI_SEND_TIMEOUT' : 'TSGI_ERR_UWSGI_READ_TIMEOUT';
  return new UwsgiProtocolError(code, `${address} did not make progress for ${secs} s ${PHASE_TEXT[phase]}`, {
    logText: `upstream timed out (110: Connection timed out) ${PHASE_TEXT[phase]}`,
  });
}

function abortError(signal: AbortSignal): UwsgiProtocolError {
  return new UwsgiProtocolError('TSGI_ERR_UWSGI_ABORTED', 'the uwsgi request was aborted', { cause: signal.reason });
}

/**
 * The response body: reads from the connection only while its consumer wants data (reading is paused otherwise),
 * so memory stays bounded by highWaterMark plus the socket's own buffer.
 */
class ResponseBody extends Readable {
  constructor(
    private readonly exchange: Exchange,
    highWaterMark: number | undefined,
  ) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
  }

  override _read(): void {
    this.exchange.wantMore();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.exchange.bodyDestroyed();
    callback(error);
  }
}

class Exchange implements LinkEvents {
  link!: Link;
  readonly address: string;
  readonly method: string;
  readonly maxHeaderSize: number;
  readonly timeouts: { connect: number; send: number; read: number };
  readonly highWaterMark: number | undefined;
  readonly signal: AbortSignal | undefined;
  resolve!: (response: UwsgiResponse) => void;
  reject!: (error: Error) => void;
  phase: Phase = 'connect';
  timer: NodeJS.Timeout | null = null;
  timerPhase: Phase = 'connect';
  timerMs = 0;
  headChunks: Buffer[] = [];
  headBytes = 0;
  body: ResponseBody | null = null;
  framing: ResponseFraming = 'close';
  remaining = 0;
  decoder: ChunkedDecoder | null = null;
  done = false;
  paused = false;
  requestSent = false;
  /** Resumes a write() waiting for the link to drain. */
  drainWaiter: (() => void) | null = null;

  constructor(address: UwsgiAddress, options: UwsgiRequestOptions, method: string) {
    this.address = formatAddress(address);
    this.method = method;
    this.maxHeaderSize = options.maxHeaderSize ?? 4096;
    if (!Number.isInteger(this.maxHeaderSize) || this.maxHeaderSize < 16) {
      throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `maxHeaderSize must be an integer >= 16, got ${String(options.maxHeaderSize)}`);
    }
    this.timeouts = {
      connect: seconds(options.connectTimeout, 'connectTimeout'),
      send: seconds(options.sendTimeout, 'sendTimeout'),
      read: seconds(options.readTimeout, 'readTimeout'),
    };
    this.highWaterMark = options.highWaterMark;
    this.signal = options.signal;
  }

  /** (Re)starts the timeout of `phase`; a running timer of the same length is restarted, not replaced. */
  arm(phase: Phase): void {
    const ms = phase === 'connect' ? this.timeouts.connect : phase === 'send' ? this.timeouts.send : this.timeouts.read;
    this.timerPhase = phase;
    if (this.timer !== null && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    this.disarm();
    this.timerMs = ms;
    this.timer = setTimeout(this.onTimeout, ms);
  }

  onTimeout = (): void => {
    this.fail(timeoutError(this.timerPhase, this.address, this.timerMs / 1000));
  };

  disarm(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Marks the exchange done and closes the connection; false when it already was. */
  close(): boolean {
    if (this.done) return false;
    this.done = true;
    this.disarm();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.link.destroy();
    // a write waiting for room has nothing left to wait for
    this.onDrain();
    return true;
  }

  /** Ends the exchange with an error: rejects the promise or errors the body, and closes the connection. */
  fail(error: UwsgiProtocolError): void {
    if (!this.close()) return;
    if (errorChannel.hasSubscribers) errorChannel.publish({ address: this.address, error });
    if (this.body === null) this.reject(error);
    else this.body.destroy(error);
  }

  finishBody(): void {
    if (this.close()) this.body!.push(null);
  }

  onAbort = (): void => {
    this.fail(abortError(this.signal!));
  };

  onConnect(): void {
    this.phase = 'send';
    // writes made while connecting were only queued: their timers start now
    if (this.requestSent) this.arm('read-header');
    else if (this.link.needsDrain) this.arm('send');
    else this.disarm();
  }

  onData(chunk: Buffer): void {
    if (this.done) return;
    if (this.body === null) this.onHeadData(chunk);
    else this.onBodyData(chunk);
  }

  onDrain(): void {
    const waiter = this.drainWaiter;
    if (waiter === null) return;
    this.drainWaiter = null;
    if (this.body === null && !this.done) this.disarm();
    waiter();
  }

  onEnd(): void {
    if (this.done) return;
    if (this.body === null) {
      this.fail(
        new UwsgiProtocolError('TSGI_ERR_UWSGI_PREMATURE_CLOSE', `${this.address} closed the connection before sending a complete response head (${this.headBytes} bytes received)`, {
          logText: 'upstream prematurely closed connection while reading response header from upstream',
        }),
      );
    } else if (this.framing === 'close') {
      this.finishBody();
    } else {
      this.fail(
        new UwsgiProtocolError('TSGI_ERR_UWSGI_PREMATURE_CLOSE', `${this.address} closed the connection before the end of the ${this.framing === 'chunked' ? 'chunked body' : `${this.remaining} remaining body bytes`}`, {
          logText: 'upstream prematurely closed connection while reading upstream',
        }),
      );
    }
  }

  onError(error: NodeJS.ErrnoException): void {
    if (this.done) return;
    this.fail(socketError(error, this.body === null ? (this.phase === 'connect' ? 'connect' : this.requestSent ? 'read-header' : 'send') : 'read-body', this.address));
  }

  onHeadData(chunk: Buffer): void {
    this.headChunks.push(chunk);
    const before = this.headBytes;
    this.headBytes += chunk.length;
    const buf = this.headChunks.length === 1 ? chunk : Buffer.concat(this.headChunks, this.headBytes);
    const limit = Math.min(buf.length, this.maxHeaderSize);
    const end = findHeadEnd(buf, Math.max(0, before - 2), limit);
    if (end < 0) {
      if (buf.length >= this.maxHeaderSize) {
        this.fail(
          new UwsgiProtocolError('TSGI_ERR_UWSGI_HEADER_TOO_BIG', `the response head from ${this.address} is larger than maxHeaderSize ${this.maxHeaderSize}: raise maxHeaderSize (nginx uwsgi_buffer_size)`, {
            logText: 'upstream sent too big header while reading response header from upstream',
          }),
        );
        return;
      }
      if (this.headChunks.length > 1) this.headChunks = [buf];
      if (this.requestSent) this.arm('read-header');
      return;
    }
    const head = parseResponseHead(buf, end, this.method);
    if (isUwsgiProtocolError(head)) {
      this.fail(head);
      return;
    }
    this.headChunks = [];
    this.phase = 'read-body';
    this.framing = head.framing;
    this.remaining = head.contentLength;
    const body = new ResponseBody(this, this.highWaterMark);
    this.body = body;
    if (head.framing === 'chunked') {
      this.decoder = new ChunkedDecoder((data) => this.deliver(data), 0, 'chunked response body');
    }
    // The consumer has not asked for data yet: stop reading until it does.
    this.link.pause();
    this.paused = true;
    this.disarm();
    if (responseChannel.hasSubscribers) responseChannel.publish({ address: this.address, status: head.status, headers: head.headers });
    this.resolve({
      status: head.status,
      statusText: head.statusText,
      httpVersion: head.httpVersion,
      headers: head.headers,
      framing: head.framing,
      body,
    });
    const rest = buf.subarray(end);
    if (head.framing === 'length' && head.contentLength === 0) this.finishBody();
    else if (rest.length > 0) this.onBodyData(rest);
  }

  onBodyData(chunk: Buffer): void {
    if (this.framing === 'close') {
      this.deliver(chunk);
    } else if (this.framing === 'length') {
      if (chunk.length < this.remaining) {
        this.remaining -= chunk.length;
        this.deliver(chunk);
      } else {
        this.deliver(chunk.subarray(0, this.remaining));
        this.remaining = 0;
        this.finishBody();
        return;
      }
    } else {
      const used = this.decoder!.write(chunk);
      if (used < 0) {
        this.fail(this.decoder!.error!);
        return;
      }
      if (this.decoder!.finished) {
        this.finishBody();
        return;
      }
    }
    if (!this.done && !this.paused) this.arm('read-body');
  }

  deliver(data: Buffer): void {
    if (data.length === 0) return;
    if (!this.body!.push(data) && !this.paused) {
      this.paused = true;
      this.link.pause();
      this.disarm();
    }
  }

  wantMore(): void {
    if (this.done || !this.paused) return;
    this.paused = false;
    this.link.resume();
    this.arm('read-body');
  }

  bodyDestroyed(): void {
    this.close();
  }

  async send(packet: Buffer, body: RequestBody | null | undefined): Promise<void> {
    await this.write(packet);
    if (body !== null && body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        if (body.length > 0) await this.write(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
      } else {
        try {
          for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
            if (this.done) return;
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
            if (bytes.length > 0) await this.write(bytes);
          }
        } catch (error) {
          if (isUwsgiProtocolError(error)) throw error;
          throw new UwsgiProtocolError('TSGI_ERR_UWSGI_BODY_SOURCE', `the request body source failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
        }
      }
    }
    this.requestSent = true;
    if (!this.done && this.body === null && this.phase !== 'connect') this.arm('read-header');
  }

  /** Writes one chunk; when the connection is full, waits for it to drain at most sendTimeout. */
  write(chunk: Uint8Array): Promise<void> {
    if (this.done) return Promise.resolve();
    if (this.link.write(chunk)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      if (this.phase !== 'connect') this.arm('send');
      this.drainWaiter = resolve;
    });
  }
}

/**
 * Sends one request to a uwsgi server and resolves once the response head has arrived. The body stream ends when the
 * server closes the connection (the uwsgi norm) or, if the head framed it, at Content-Length / the last chunk.
 * Rejects (or, after the head, errors the body) with a UwsgiProtocolError: connect refused/failed/timeout, reset,
 * send/read timeout, invalid or too big head, premature close, aborted.
 */
export function uwsgiRequest(address: UwsgiAddress, options: UwsgiRequestOptions): Promise<UwsgiResponse> {
  let packet: Buffer;
  let exchange: Exchange;
  try {
    checkAddress(address);
    if (options === null || typeof options !== 'object') {
      throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', 'uwsgiRequest(address, options): options with vars are required');
    }
    if (options.signal?.aborted) throw abortError(options.signal);
    const vars = materialize(options.vars);
    packet = encodePacket({ modifier1: options.modifier1, modifier2: options.modifier2, vars });
    exchange = new Exchange(address, options, methodOf(vars));
    exchange.link = openLink(address, exchange);
  } catch (error) {
    return Promise.reject(error);
  }
  const promise = new Promise<UwsgiResponse>((resolve, reject) => {
    exchange.resolve = resolve;
    exchange.reject = reject;
  });
  if (requestChannel.hasSubscribers) requestChannel.publish({ address: exchange.address, modifier1: options.modifier1 ?? 0 });
  options.signal?.addEventListener('abort', exchange.onAbort, { once: true });
  exchange.arm('connect');
  exchange.send(packet, options.body).catch((error: unknown) => {
    exchange.fail(isUwsgiProtocolError(error) ? error : new UwsgiProtocolError('TSGI_ERR_UWSGI_BODY_SOURCE', String(error), { cause: error }));
  });
  return promise;
}

/** One-shot iterables (generators) are read once here, so the method can be looked up after encoding. */
function materialize(vars: VarsInput): VarsInput {
  if (vars !== null && typeof vars === 'object' && !Array.isArray(vars) && typeof (vars as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(vars as Iterable<readonly [string, string]>);
  }
  return vars;
}

function methodOf(vars: VarsInput): string {
  let method: unknown = 'GET';
  if (Array.isArray(vars)) {
    for (let i = vars.length - 1; i >= 0; i--) {
      if (vars[i]?.[0] === 'REQUEST_METHOD') {
        method = vars[i][1];
        break;
      }
    }
  } else {
    method = (vars as Record<string, unknown>).REQUEST_METHOD ?? 'GET';
  }
  return typeof method === 'string' ? method : Buffer.from(method as Uint8Array).toString('latin1');
}
