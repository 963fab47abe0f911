import { waitFor } from '@tsgi/hub/internal';
import type { HeaderPair, ResponseSink } from '../engine/response-sink.js';
import { ClientDisconnectedError } from '../errors.js';

/**
 * A ResponseSink that keeps the response in memory, for running an app in-process (the adapters'
 * tests). `highWaterMark` bytes may be unread before a write waits for `read()`, which is how a
 * slow client is played; `disconnect()` plays a client that goes away.
 */
export class MemorySink implements ResponseSink {
  headersSent = false;
  clientGone = false;
  bodyBytes = 0;
  headerBytes = 0;
  headerCount = 0;
  waits = 0;
  ended = false;
  aborted = false;
  status = '';
  headers: HeaderPair[] = [];
  trailers?: HeaderPair[];
  /** Every chunk written, in order (what the client received). */
  readonly chunks: Buffer[] = [];
  readonly #controller = new AbortController();
  readonly disconnected: AbortSignal = this.#controller.signal;
  #unread = 0;
  readonly #highWaterMark: number;
  #drainWaiter: (() => void) | null = null;
  #writeWaiters: Array<() => void> = [];

  constructor(options: { highWaterMark?: number } = {}) {
    this.#highWaterMark = options.highWaterMark ?? Infinity;
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async sendHeaders(status: string, headers: HeaderPair[], first?: Buffer): Promise<void> {
    if (this.clientGone) throw new ClientDisconnectedError('Broken pipe');
    this.status = status;
    this.headers = headers;
    this.headerCount = headers.length;
    this.headersSent = true;
    if (first && first.length > 0) await this.write(first);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.clientGone) throw new ClientDisconnectedError('Broken pipe');
    this.chunks.push(Buffer.from(chunk));
    this.bodyBytes += chunk.length;
    this.#unread += chunk.length;
    for (const wake of this.#writeWaiters.splice(0)) wake();
    if (this.#unread <= this.#highWaterMark) return;
    this.waits++;
    await waitFor<void>((resolve, reject) => {
      this.#drainWaiter = resolve;
      const onGone = (): void => reject(new ClientDisconnectedError('Broken pipe'));
      this.disconnected.addEventListener('abort', onGone, { once: true });
      return () => {
        this.#drainWaiter = null;
        this.disconnected.removeEventListener('abort', onGone);
      };
    });
  }

  async sendComplete(status: string, headers: HeaderPair[], body: Buffer | string): Promise<void> {
    await this.sendHeaders(status, headers, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    await this.end();
  }

  /** The client reads everything written so far (lets a waiting write go on). */
  read(): void {
    this.#unread = 0;
    const wake = this.#drainWaiter;
    this.#drainWaiter = null;
    wake?.();
  }

  /** Resolves at the next write (for tests that follow a stream). */
  nextWrite(): Promise<void> {
    return new Promise((resolve) => this.#writeWaiters.push(resolve));
  }

  async end(): Promise<void> {
    this.ended = true;
  }

  abort(): void {
    this.aborted = true;
  }

  disconnect(): void {
    this.clientGone = true;
    this.#controller.abort(new ClientDisconnectedError('the client closed the connection'));
  }
}
