import { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { waitForEmitter } from './hub-waits.js';

const EMPTY = Buffer.alloc(0);

/**
 * `environ['tsgi.input']`: the request body as an async iterable of Buffers, with WSGI-style
 * `read(n)`, `readLine()` and `readAll()`. Every wait is a cooperative hub wait, so a greenlet
 * reading a slow upload never blocks the others, and kill/harakiri interrupt it.
 */
export class TsgiInput implements AsyncIterable<Buffer> {
  #stream: Readable | null;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #ended: boolean;
  #error: Error | null = null;
  #timeoutSeconds: number;
  /** Bytes handed to the app so far. */
  bytesRead = 0;
  /** Cooperative waits done while reading (counted as switches in the request log). */
  waits = 0;

  constructor(stream: Readable | null, options: { timeoutSeconds: number }) {
    this.#stream = stream;
    this.#ended = stream === null;
    this.#timeoutSeconds = options.timeoutSeconds;
    // Node's IncomingMessage keeps its end and error as state (readableEnded, errored) and emits
    // 'error' only to listeners, so it needs none: two closures fewer on every request.
    if (stream !== null && !(stream instanceof IncomingMessage)) {
      stream.on('end', () => {
        this.#ended = true;
      });
      stream.on('error', (err) => {
        this.#error = err;
      });
    }
  }

  async #fill(): Promise<boolean> {
    const stream = this.#stream;
    if (stream === null) return false;
    for (;;) {
      if (this.#error) throw this.#error;
      if (stream.errored) throw stream.errored;
      const chunk = stream.read() as Buffer | null;
      if (chunk !== null) {
        this.#buffered.push(chunk);
        this.#bufferedBytes += chunk.length;
        return true;
      }
      if (this.#ended || stream.readableEnded) {
        this.#ended = true;
        return false;
      }
      if (stream.destroyed) {
        throw Object.assign(new Error('the request body ended before CONTENT_LENGTH bytes arrived (client went away)'), { code: 'TSGI_ERR_BODY_ABORTED' });
      }
      this.waits++;
      await waitForEmitter(stream, 'readable', {
        failEvents: { end: () => undefined, error: (e) => e, close: () => undefined },
        timeoutSeconds: this.#timeoutSeconds,
        onTimeout: () => Object.assign(new Error(`request body read timed out after ${this.#timeoutSeconds} s (--socket-timeout)`), { code: 'TSGI_ERR_BODY_TIMEOUT' }),
      }).catch((err: unknown) => {
        if (err !== undefined) throw err;
      });
    }
  }

  #take(n: number): Buffer {
    if (n >= this.#bufferedBytes) {
      const all = this.#buffered.length === 1 ? this.#buffered[0] : Buffer.concat(this.#buffered, this.#bufferedBytes);
      this.#buffered = [];
      this.#bufferedBytes = 0;
      this.bytesRead += all.length;
      return all;
    }
    const all = Buffer.concat(this.#buffered, this.#bufferedBytes);
    const out = all.subarray(0, n);
    this.#buffered = [all.subarray(n)];
    this.#bufferedBytes = all.length - n;
    this.bytesRead += n;
    return out;
  }

  /** Reads up to `size` bytes (all that remains when omitted or negative); an empty Buffer means the end. */
  async read(size?: number): Promise<Buffer> {
    if (size === undefined || size < 0) return this.readAll();
    if (size === 0) return EMPTY;
    while (this.#bufferedBytes < size && (await this.#fill()));
    return this.#bufferedBytes === 0 ? EMPTY : this.#take(size);
  }

  /** Reads one line including its `\n` (or what remains at the end). */
  async readLine(limit = Infinity): Promise<Buffer> {
    for (;;) {
      const joined = this.#buffered.length > 1 ? Buffer.concat(this.#buffered, this.#bufferedBytes) : (this.#buffered[0] ?? EMPTY);
      if (this.#buffered.length > 1) this.#buffered = [joined];
      const nl = joined.indexOf(0x0a);
      if (nl >= 0 && nl < limit) return this.#take(nl + 1);
      if (joined.length >= limit) return this.#take(limit);
      if (!(await this.#fill())) return this.#bufferedBytes === 0 ? EMPTY : this.#take(this.#bufferedBytes);
    }
  }

  async readAll(): Promise<Buffer> {
    while (await this.#fill());
    return this.#bufferedBytes === 0 ? EMPTY : this.#take(this.#bufferedBytes);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      if (this.#bufferedBytes === 0 && !(await this.#fill())) return;
      yield this.#take(this.#bufferedBytes);
    }
  }

  /** Reads and drops what the app left unread, so a keep-alive connection can carry the next request. */
  async discard(): Promise<void> {
    while (await this.#fill()) {
      this.#buffered = [];
      this.#bufferedBytes = 0;
    }
  }
}
