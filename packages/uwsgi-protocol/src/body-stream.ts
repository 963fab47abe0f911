import { Readable, type ReadableOptions } from 'node:stream';
import { ChunkedDecoder } from './chunked.js';
import { UwsgiProtocolError } from './errors.js';

export interface BodyFraming {
  /** Bytes of body to deliver when not chunked. */
  contentLength: number;
  chunked?: boolean;
  /** Body bytes that already arrived with the head (UwsgiRequestHead.rest). */
  rest?: Buffer;
}

export interface BodyStreamOptions {
  /** For chunked bodies: fail with TSGI_ERR_UWSGI_LIMIT_POST once more than this many bytes are decoded (0 = unlimited). */
  limitPost?: number;
  highWaterMark?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * The request body of one uwsgi request as a Readable: exactly CONTENT_LENGTH bytes (or the decoded chunked body),
 * read from `source` with backpressure (the source is paused while this stream's buffer is full). It ends at the
 * length and fails with TSGI_ERR_UWSGI_EOF_BODY if the source ends first. It never reads past the body: once the body
 * is complete it pauses the source and detaches, and bytes that had already arrived beyond the body are kept in
 * `excess` (one request per connection, so they are the peer's mistake, but they are not dropped silently).
 * Destroying this stream does not destroy the source.
 */
export class UwsgiBodyStream extends Readable {
  /** Bytes received after the end of the body (null while the body is incomplete or when there were none). */
  excess: Buffer | null = null;
  readonly contentLength: number;
  readonly chunked: boolean;
  #source: Readable | null;
  #remaining: number;
  #decoder: ChunkedDecoder | null = null;
  #attached = false;
  #complete = false;
  #received = 0;

  constructor(source: Readable, framing: BodyFraming, options: BodyStreamOptions = {}) {
    super({ highWaterMark: options.highWaterMark } as ReadableOptions);
    this.#source = source;
    this.chunked = framing.chunked === true;
    this.contentLength = this.chunked ? -1 : framing.contentLength;
    this.#remaining = this.contentLength;
    if (this.chunked) {
      this.#decoder = new ChunkedDecoder((data) => this.#deliver(data), options.limitPost ?? 0, 'chunked request body');
    } else if (!(Number.isInteger(framing.contentLength) && framing.contentLength >= 0)) {
      throw new UwsgiProtocolError('TSGI_ERR_UWSGI_CONTENT_LENGTH', `contentLength must be a non-negative integer, got ${String(framing.contentLength)}`);
    }
    const rest = framing.rest ?? EMPTY;
    if (this.#remaining === 0) this.#finish(rest);
    else if (rest.length > 0) this.#consume(rest);
  }

  /** Body bytes delivered so far (decoded bytes for chunked bodies). */
  get received(): number {
    return this.#received;
  }

  override _read(): void {
    const source = this.#source;
    if (source === null || this.#complete) return;
    if (!this.#attached) {
      this.#attached = true;
      if (source.readableEnded || source.destroyed) {
        this.#sourceEnded();
        return;
      }
      source.on('data', this.#onData);
      source.on('end', this.#onEnd);
      source.on('close', this.#onEnd);
      source.on('error', this.#onError);
    }
    source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#detach();
    callback(error);
  }

  #onData = (chunk: Buffer): void => {
    this.#consume(chunk);
  };

  #onEnd = (): void => {
    if (!this.#complete) this.#sourceEnded();
  };

  #onError = (error: Error): void => {
    if (this.#complete) return;
    this.destroy(
      new UwsgiProtocolError('TSGI_ERR_UWSGI_BODY_SOURCE', `the connection failed while reading the request body (${this.#describe()}): ${error.message}`, {
        cause: error,
        logText: `uwsgi_request_body_read(): ${error.message}`,
      }),
    );
  };

  #sourceEnded(): void {
    this.destroy(
      new UwsgiProtocolError('TSGI_ERR_UWSGI_EOF_BODY', `the peer closed the connection before the end of the request body (${this.#describe()})`, {
        logText: 'uwsgi_request_body_read(): Connection reset by peer',
      }),
    );
  }

  #describe(): string {
    return this.chunked ? `${this.#received} bytes of a chunked body` : `${this.#received} of ${this.contentLength} bytes`;
  }

  #consume(chunk: Buffer): void {
    if (this.#complete || this.destroyed) return;
    if (this.#decoder !== null) {
      const used = this.#decoder.write(chunk);
      if (used < 0) {
        this.destroy(this.#decoder.error ?? undefined);
        return;
      }
      if (this.#decoder.finished) this.#finish(chunk.subarray(used));
      return;
    }
    if (chunk.length < this.#remaining) {
      this.#remaining -= chunk.length;
      this.#deliver(chunk);
      return;
    }
    const take = this.#remaining;
    this.#remaining = 0;
    this.#deliver(chunk.subarray(0, take));
    this.#finish(chunk.subarray(take));
  }

  #deliver(data: Buffer): void {
    if (data.length === 0) return;
    this.#received += data.length;
    if (!this.push(data)) this.#source?.pause();
  }

  #finish(excess: Buffer): void {
    this.#complete = true;
    if (excess.length > 0) this.excess = excess;
    this.#detach();
    this.push(null);
  }

  #detach(): void {
    const source = this.#source;
    if (source === null) return;
    this.#source = null;
    if (this.#attached) {
      source.pause();
      source.off('data', this.#onData);
      source.off('end', this.#onEnd);
      source.off('close', this.#onEnd);
      source.off('error', this.#onError);
    }
  }
}

/** The body of a parsed request (see UwsgiBodyStream). */
export function createBodyStream(source: Readable, framing: BodyFraming, options?: BodyStreamOptions): UwsgiBodyStream {
  return new UwsgiBodyStream(source, framing, options);
}
