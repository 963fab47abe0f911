import { sleep } from '@tsgi/hub';
import { ClientDisconnectedError, ResponseBodyError, StartResponseError } from '../errors.js';
import type { Environ } from './environ.js';
import type { HeaderPair, ResponseSink } from './response-sink.js';

export type Chunk = string | Uint8Array;
export type ResponseBody = Chunk | Iterable<Chunk> | AsyncIterable<Chunk> | null | undefined;
export type WriteCallable = (chunk: Chunk) => Promise<void>;
export type StartResponse = (status: string, headers: ReadonlyArray<readonly [string, string]>, excInfo?: unknown) => WriteCallable;
/** A TSGI application: `application(environ, startResponse)`. */
export type TsgiApplication = (environ: Environ, startResponse: StartResponse) => ResponseBody | Promise<ResponseBody>;

export interface RequestOutcome {
  status: number;
  /** The app failed; `error` is what it threw (already logged by the caller). */
  error?: unknown;
  /** The client went away before the response was complete. */
  clientGone: boolean;
  /** Engine-level cooperative switches (one per chunk, plus waits for drain and body reads). */
  switches: number;
}

const STATUS_LINE = /^\d{3}( [^\r\n]*)?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_VALUE = /[\r\n\0]/;

function toBuffer(chunk: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new ResponseBodyError(`response chunks must be strings or bytes, got ${chunk === null ? 'null' : typeof chunk}`);
}

/** Header names already found valid: most apps send the same few on every response. */
const validNames = new Set<string>();

function validateHeaders(headers: unknown): HeaderPair[] {
  if (!Array.isArray(headers)) throw new StartResponseError('start_response() headers must be an array of [name, value] pairs');
  const out: HeaderPair[] = new Array(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2) throw new StartResponseError(`start_response() header #${i} is not a [name, value] pair`);
    const name: unknown = pair[0];
    const value: unknown = pair[1];
    if (typeof name !== 'string' || !validNames.has(name)) {
      if (typeof name !== 'string' || !TOKEN.test(name)) throw new StartResponseError(`start_response() header #${i} has an invalid name ${JSON.stringify(name)}`);
      if (validNames.size < 256) validNames.add(name);
    }
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || FORBIDDEN_VALUE.test(text)) {
      throw new StartResponseError(`start_response() header ${name} has an invalid value (strings without CR, LF or NUL)`);
    }
    out[i] = [name, text];
  }
  return out;
}

/** The last status line found valid (apps answer "200 OK" over and over). */
let validStatus = '200 OK';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Where `environ['tsgi.disconnected']` finds its sink: one getter shared by every environ. */
const SINK = Symbol('tsgi.sink');
const DISCONNECTED: PropertyDescriptor = {
  get(this: { [SINK]: ResponseSink }) {
    return this[SINK].disconnected;
  },
  enumerable: true,
  configurable: true,
};

/**
 * Runs one TSGI application call against a sink with WSGI's rules: start_response once (again only
 * with excInfo, and then only before headers went out), headers sent with the first non-empty
 * chunk, a switch (`sleep(0)`) after every chunk an iterator yields, and the iterator's `return()`
 * (WSGI's `close()`) always called.
 *
 * `call()` then `sendWhole()` is the engine's synchronous path: a response known whole when the app
 * returns goes out without a single promise. Everything else goes through `complete()`.
 */
export class RequestRunner {
  #sink: ResponseSink;
  #status: string | undefined;
  #headers: HeaderPair[] | undefined;
  #writeChain: Promise<void> | null = null;
  #writeFn: WriteCallable | null = null;
  /** A sendComplete() the sink could not finish synchronously. */
  #pendingSend: Promise<void> | null = null;
  /** sendWhole() finished the response. */
  #sent = false;
  /** Chunks handed to write() (the app's callable or the engine's drain). */
  #writes = 0;
  switches = 0;
  readonly startResponse: StartResponse;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
    this.startResponse = (status, headers, excInfo) => this.#startResponse(status, headers, excInfo);
  }

  get statusCode(): number {
    return this.#status === undefined ? 0 : Number.parseInt(this.#status, 10);
  }

  #startResponse(status: string, headers: ReadonlyArray<readonly [string, string]>, excInfo?: unknown): WriteCallable {
    if (excInfo !== undefined && excInfo !== null) {
      if (this.#sink.headersSent) throw excInfo;
    } else if (this.#status !== undefined) {
      throw new StartResponseError('start_response() called twice without excInfo');
    }
    if (status !== validStatus) {
      if (typeof status !== 'string' || !STATUS_LINE.test(status)) {
        throw new StartResponseError(`start_response() status must look like "200 OK", got ${JSON.stringify(status)}`);
      }
      validStatus = status;
    }
    this.#headers = validateHeaders(headers);
    this.#status = status;
    return (this.#writeFn ??= (chunk) => this.#write(chunk));
  }

  #write(chunk: Chunk): Promise<void> {
    this.#writes++;
    const buf = toBuffer(chunk);
    const next = this.#writeChain === null ? this.#emit(buf) : this.#writeChain.then(() => this.#emit(buf));
    this.#writeChain = next.catch(() => undefined);
    return next;
  }

  async #emit(buf: Buffer): Promise<void> {
    if (this.#status === undefined) throw new StartResponseError('write() or a body chunk came before start_response()');
    if (!this.#sink.headersSent) {
      if (buf.length === 0) return;
      await this.#sink.sendHeaders(this.#status, this.#headers!, buf);
      return;
    }
    if (buf.length > 0) await this.#sink.write(buf);
  }

  async #finish(): Promise<void> {
    if (this.#writeChain !== null) await this.#writeChain;
    if (this.#status === undefined) throw new StartResponseError('the app returned without calling start_response()');
    if (!this.#sink.headersSent) await this.#sink.sendHeaders(this.#status, this.#headers!);
    await this.#sink.end();
  }

  /**
   * `environ['tsgi.trailers'](pairs)`: trailer fields to send after the last body chunk (replacing any
   * set before). Only HTTP/1.1 chunked responses carry them; elsewhere they are dropped.
   */
  setTrailers(pairs: ReadonlyArray<readonly [string, string]>): void {
    this.#sink.trailers = validateHeaders(pairs);
  }

  /** Calls the app: what it returned (maybe a promise), or throws what it threw. */
  call(app: TsgiApplication, environ: Environ): ResponseBody | Promise<ResponseBody> {
    environ['tsgi.trailers'] = (pairs: ReadonlyArray<readonly [string, string]>) => this.setTrailers(pairs);
    (environ as Record<symbol, unknown>)[SINK] = this.#sink;
    Object.defineProperty(environ, 'tsgi.disconnected', DISCONNECTED);
    return app(environ, this.startResponse);
  }

  /**
   * Sends `body` at once when it is whole (see #wholeBody); true when the response is done. Throws
   * ClientDisconnectedError when the client is already gone.
   */
  sendWhole(body: ResponseBody): boolean {
    const whole = this.#wholeBody(body);
    if (whole === null) return false;
    const sent = this.#sink.sendComplete(this.#status!, this.#headers!, whole);
    if (isThenable(sent)) {
      this.#pendingSend = sent as Promise<void>;
      return false;
    }
    this.#sent = true;
    return true;
  }

  /** Sends the response to what `call()` returned, however it comes; resolves when done. */
  async complete(result: ResponseBody | Promise<ResponseBody>): Promise<void> {
    if (this.#sent) return;
    if (this.#pendingSend !== null) {
      await this.#pendingSend;
      return;
    }
    const body = isThenable(result) ? await result : result;
    if (this.sendWhole(body)) return;
    if (this.#pendingSend !== null) {
      await this.#pendingSend;
      return;
    }
    await this.#drain(body);
    await this.#finish();
  }

  /** Calls the app and sends its response; resolves when done. Throws what the app threw. */
  async run(app: TsgiApplication, environ: Environ): Promise<void> {
    const result = this.call(app, environ);
    if (!isThenable(result) && this.sendWhole(result)) return;
    await this.complete(result);
  }

  /**
   * The body as one string or Buffer when it is known up front (a string, bytes, or an array of them) and
   * nothing went out yet; null when it must be streamed. Such a response goes out in one write.
   */
  #wholeBody(body: ResponseBody): Buffer | string | null {
    if (this.#status === undefined || this.#sink.headersSent || this.#writes > 0) return null;
    if (this.#sink.trailers !== undefined && this.#sink.trailers.length > 0) return null;
    if (typeof body === 'string') return body;
    if (body instanceof Uint8Array) return toBuffer(body);
    if (!Array.isArray(body)) return null;
    if (body.length === 1) {
      const only: unknown = body[0];
      if (typeof only === 'string') return only;
      if (only instanceof Uint8Array) return toBuffer(only);
    }
    const parts: Buffer[] = [];
    for (const item of body) {
      if (typeof item !== 'string' && !(item instanceof Uint8Array)) return null;
      parts.push(toBuffer(item));
    }
    return Buffer.concat(parts);
  }

  async #drain(body: ResponseBody): Promise<void> {
    if (body === null || body === undefined) return;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      await this.#write(body);
      return;
    }
    if (Array.isArray(body)) {
      // Already materialised: no app code runs between the items, so nothing to interleave.
      for (const item of body) await this.#write(item as Chunk);
      return;
    }
    const asyncIter = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator];
    const syncIter = (body as Iterable<Chunk>)[Symbol.iterator];
    if (typeof asyncIter !== 'function' && typeof syncIter !== 'function') {
      throw new ResponseBodyError(`the app returned ${typeof body}; return a string, bytes, an iterable or an async iterable`);
    }
    const iterator = typeof asyncIter === 'function' ? asyncIter.call(body) : syncIter.call(body);
    let completed = false;
    try {
      for (;;) {
        const step = await iterator.next();
        if (step.done) {
          completed = true;
          return;
        }
        await this.#write(step.value);
        this.switches++;
        await sleep(0);
      }
    } finally {
      if (!completed && typeof iterator.return === 'function') {
        await iterator.return(undefined);
      } else if (completed) {
        const closable = body as unknown as { close?: () => unknown };
        if (typeof closable.close === 'function') await closable.close();
      }
    }
  }

  /** After a failure before headers went out: answer 500 instead of closing the socket as uWSGI does. */
  sendInternalError(): Promise<boolean> {
    return this.#sendError('500 Internal Server Error', 'Internal Server Error\n');
  }

  /** After a harakiri before headers went out: answer 504. */
  sendTimeout(): Promise<boolean> {
    return this.#sendError('504 Gateway Timeout', 'Gateway Timeout: the request ran longer than --harakiri\n');
  }

  /** Answers `status` in the app's place; false when that is no longer possible (headers sent, client gone). */
  async #sendError(status: string, text: string): Promise<boolean> {
    if (this.#sink.headersSent || this.#sink.clientGone) return false;
    const body = Buffer.from(text);
    try {
      await this.#sink.sendComplete(status, [['Content-Type', 'text/plain; charset=utf-8'], ['Content-Length', String(body.length)]], body);
      return true;
    } catch {
      return false;
    }
  }
}

export function isClientGone(error: unknown): boolean {
  return error instanceof ClientDisconnectedError;
}
