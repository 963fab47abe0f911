import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { BufferChain } from './buffer-chain.js';
import * as channels from './channels.js';
import type { Location } from './config.js';
import { EdgeUpstreamError } from './errors.js';
import { clientResponseHeaders } from './headers.js';
import type { Readable } from 'node:stream';
import type { UpstreamResponse } from './transport.js';

/** The head a client will get, computed (and validated) before anything is committed to the client. */
export interface ClientHead {
  readonly status: number;
  readonly statusText: string;
  /** Flat `[name, value, ...]`, Server included. */
  readonly headers: string[];
  /** Buffering for this response, after X-Accel-Buffering. */
  readonly buffering: boolean;
  /** The body length announced to the client, when there is one. */
  readonly contentLength: number | null;
}

/**
 * Works out what the client gets from an upstream head. Throws EdgeUpstreamError('invalid-header') when the
 * upstream sent something no HTTP client may receive, so the caller can answer 502 or try another server.
 */
export function clientHead(upstream: UpstreamResponse, location: Location): ClientHead {
  if (!Number.isInteger(upstream.status) || upstream.status < 100 || upstream.status > 999) {
    throw new EdgeUpstreamError('invalid-header', 'header', { detail: `status ${JSON.stringify(upstream.status)}` });
  }
  const { flat, accelBuffering, invalidAt, contentLength } = clientResponseHeaders(upstream.headers);
  if (invalidAt !== -1) {
    throw new EdgeUpstreamError('invalid-header', 'header', { detail: JSON.stringify(`${flat[invalidAt]}: ${flat[invalidAt + 1]}`.slice(0, 64)) });
  }
  let buffering = location.buffering;
  if (accelBuffering !== undefined && !location.ignoreHeaders.has('x-accel-buffering')) {
    const v = accelBuffering.trim().toLowerCase();
    if (v === 'yes') buffering = true;
    else if (v === 'no') buffering = false;
  }
  flat.push('Server', 'tsgi-edge');
  return { status: upstream.status, statusText: upstream.statusText, headers: flat, buffering, contentLength };
}

export type RelayOutcome = 'complete' | 'upstream-error' | 'client-gone' | 'client-timeout';

export interface RelayResult {
  readonly outcome: RelayOutcome;
  /** Body bytes handed to the client connection. */
  readonly bytes: number;
  /** Set when the upstream failed mid-body (premature close, reset, read timeout). */
  readonly error: EdgeUpstreamError | null;
  /** performance.now() when the upstream body ended (or failed); null if the client left first. */
  readonly upstreamEndedAt: number | null;
  /** Bytes of the response that went through the temp file. */
  readonly tempFileBytes: number;
}

export interface RelayOptions {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly location: Location;
  readonly upstream: UpstreamResponse;
  readonly head: ClientHead;
  /** Seconds between two successive writes to the client before giving up (nginx send_timeout). */
  readonly clientSendTimeout: number;
  readonly tempDir: string | null;
  /** Called once, when the upstream is done with: its body ended or failed, or the relay abandoned it. */
  readonly onUpstreamDone?: () => void;
}

/** Bytes of the buffer chain sent to the client in one write (nginx sends its busy buffers as one chain). */
const MAX_WRITE = 65536;

/**
 * The response stage. Buffering off: each upstream read goes to the client at once, and a client that does not
 * read pauses the upstream. Buffering on: the upstream is read at its own speed into memory buffers and a temp
 * file; the client gets nothing until a whole buffer is filled or the upstream is done (as nginx), then is fed
 * from the chain at its own speed. Either way an upstream failure mid-body closes the client connection without
 * a clean end, so a truncated body can never look complete.
 */
export function relayResponse(opts: RelayOptions): Promise<RelayResult> {
  return new Promise<RelayResult>((resolve) => new Relay(opts, resolve).start());
}

class Relay {
  readonly #opts: RelayOptions;
  readonly #res: ServerResponse;
  readonly #body: Readable;
  readonly #resolve: (result: RelayResult) => void;
  /** The stage's own read timer; null when the transport times reads itself (uwsgi). */
  #readTimer: NodeJS.Timeout | null = null;
  #readArmed = false;
  #bytes = 0;
  #done = false;
  #upstreamEnded = false;
  #upstreamEndedAt: number | null = null;
  #upstreamFailure: EdgeUpstreamError | null = null;
  #chain: BufferChain | null = null;
  /** Buffering on, for a body announced no larger than one buffer: its chunks, sent at once when it is complete. */
  #small: Buffer[] | null = null;
  #spilled = false;
  /** A drain (or the client's close) is awaited. */
  #waitingDrain: ((ok: boolean) => void) | null = null;
  #sendTimer: NodeJS.Timeout | null = null;
  /** The buffered pump is waiting for the chain to hold a whole buffer, or to end. */
  #waitingData: (() => void) | null = null;

  constructor(opts: RelayOptions, resolve: (result: RelayResult) => void) {
    this.#opts = opts;
    this.#res = opts.res;
    this.#body = opts.upstream.body;
    this.#resolve = resolve;
  }

  start(): void {
    const res = this.#res;
    const body = this.#body;
    res.on('close', this.#onClientClose);
    res.on('drain', this.#onDrain);
    body.on('error', this.#onBodyError);
    body.on('close', this.#onBodyClose);
    body.on('end', this.#onBodyEnd);
    if (!this.#opts.head.buffering) {
      this.#writeHead();
      // The head goes out with the first chunk when that is already here (one write, as nginx after one recv);
      // otherwise on its own right after, so a client sees it before a slow first chunk.
      setImmediate(this.#flushHead);
      body.on('data', this.#onDataUnbuffered);
    } else if (this.#opts.head.contentLength !== null && this.#opts.head.contentLength <= this.#opts.location.buffers.size) {
      // Such a body goes out in one piece once complete, as the chain would send it, without the chain's machinery.
      this.#small = [];
      body.on('data', this.#onDataSmall);
    } else {
      const loc = this.#opts.location;
      this.#chain = new BufferChain({ memoryLimit: loc.buffers.count * loc.buffers.size, maxFileSize: loc.maxTempFileSize, tempDir: this.#opts.tempDir });
      this.#chain.on('space', this.#onSpace);
      this.#chain.on('data', this.#wake);
      body.on('data', this.#onDataBuffered);
      void this.#pump();
    }
    this.#armRead();
  }

  #finish(outcome: RelayOutcome): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#readTimer !== null) clearTimeout(this.#readTimer);
    if (this.#sendTimer !== null) clearTimeout(this.#sendTimer);
    this.#res.off('drain', this.#onDrain);
    this.#chain?.destroy();
    if (!this.#upstreamEnded) {
      this.#opts.upstream.destroy();
      this.#opts.onUpstreamDone?.();
    }
    const waiting = this.#waitingDrain;
    this.#waitingDrain = null;
    waiting?.(false);
    const pump = this.#waitingData;
    this.#waitingData = null;
    pump?.();
    this.#resolve({ outcome, bytes: this.#bytes, error: this.#upstreamFailure, upstreamEndedAt: this.#upstreamEndedAt, tempFileBytes: this.#chain?.fileBytes ?? 0 });
  }

  /** (Re)starts the read timeout: one timer per response, refreshed, never re-created per read. */
  #armRead(): void {
    if (this.#upstreamEnded || this.#done || this.#opts.upstream.timesOwnReads) return;
    this.#readArmed = true;
    if (this.#readTimer === null) this.#readTimer = setTimeout(this.#onReadTimeout, this.#opts.location.readTimeout * 1000);
    else this.#readTimer.refresh();
  }

  /** Reading paused on purpose: a timer that fires meanwhile is ignored. */
  #stopRead(): void {
    this.#readArmed = false;
  }

  #onReadTimeout = (): void => {
    if (!this.#readArmed) return;
    this.#readArmed = false;
    this.#upstreamFailed(new EdgeUpstreamError('timeout', 'body'));
  };

  /** Resolves true once the client drained, false if it went away or timed out (send_timeout). */
  #drained(): Promise<boolean> {
    if (this.#done) return Promise.resolve(false);
    return new Promise<boolean>((ok) => {
      this.#waitingDrain = ok;
      if (this.#sendTimer === null) this.#sendTimer = setTimeout(this.#onSendTimeout, this.#opts.clientSendTimeout * 1000);
      else this.#sendTimer.refresh();
    });
  }

  #onDrain = (): void => {
    const waiting = this.#waitingDrain;
    if (waiting === null) return;
    this.#waitingDrain = null;
    waiting(true);
  };

  #onSendTimeout = (): void => {
    if (this.#waitingDrain === null) return;
    this.#res.destroy();
    this.#finish('client-timeout');
  };

  #onClientClose = (): void => {
    if (!this.#done && !this.#res.writableFinished) this.#finish(this.#upstreamFailure ? 'upstream-error' : 'client-gone');
  };

  #writeHead(): void {
    const res = this.#res;
    if (!res.headersSent) {
      const head = this.#opts.head;
      res.writeHead(head.status, head.statusText || STATUS_CODES[head.status] || 'Unknown', head.headers);
    }
  }

  #flushHead = (): void => {
    if (!this.#done && !this.#res.writableEnded && this.#bytes === 0) this.#res.flushHeaders();
  };

  async #endClient(): Promise<void> {
    this.#writeHead();
    // The send timeout also covers the tail still queued for a client that stopped reading.
    if (this.#res.writableNeedDrain && !(await this.#drained())) return;
    if (!this.#done) this.#res.end(this.#onEnded);
  }

  #onEnded = (): void => this.#finish('complete');

  /** The upstream broke mid-body: the client gets what arrived, then the connection closes uncleanly. */
  #abortClient(): void {
    if (this.#done) return;
    this.#writeHead();
    // Destroying the socket (not ending the response) is what makes the truncation visible to the client.
    this.#res.destroy();
    this.#finish('upstream-error');
  }

  #upstreamDone(failure: EdgeUpstreamError | null): void {
    this.#upstreamEnded = true;
    this.#upstreamEndedAt = performance.now();
    this.#upstreamFailure = failure;
    this.#stopRead();
    if (this.#readTimer !== null) clearTimeout(this.#readTimer);
    this.#opts.onUpstreamDone?.();
  }

  #upstreamFailed(err: EdgeUpstreamError): void {
    if (this.#upstreamEnded || this.#done) return;
    this.#upstreamDone(err);
    this.#body.destroy();
    this.#opts.upstream.destroy();
    if (this.#chain) this.#chain.end();
    else {
      // A small buffered body: what arrived goes out, then the connection breaks, as from the chain.
      if (this.#small !== null && this.#small.length > 0 && !this.#done) {
        this.#writeHead();
        const data = Buffer.concat(this.#small);
        this.#bytes += data.length;
        this.#res.write(data);
      }
      this.#abortClient();
    }
  }

  #onBodyError = (err: NodeJS.ErrnoException): void => {
    const code = err.code ?? '';
    const failure = code === 'ECONNRESET' && err.message !== 'aborted' ? 'reset' : code.includes('TIMEOUT') ? 'timeout' : 'premature-close';
    this.#upstreamFailed(new EdgeUpstreamError(failure, 'body', { cause: err }));
  };

  #onBodyClose = (): void => {
    if (!this.#upstreamEnded) this.#upstreamFailed(new EdgeUpstreamError('premature-close', 'body'));
  };

  #onBodyEnd = (): void => {
    if (this.#upstreamEnded) return;
    this.#upstreamDone(null);
    if (this.#chain) this.#chain.end();
    else if (this.#small !== null) this.#endSmall();
    else void this.#endClient();
  };

  #onDataSmall = (chunk: Buffer): void => {
    if (this.#done) return;
    this.#small!.push(chunk);
    this.#armRead();
  };

  #endSmall(): void {
    if (this.#done) return;
    const parts = this.#small!;
    this.#writeHead();
    if (parts.length === 0) {
      this.#res.end(this.#onEnded);
      return;
    }
    const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.#bytes += data.length;
    // The body and the end of the response in one write.
    this.#res.end(data, this.#onEnded);
  }

  // --- buffering off ---------------------------------------------------------------------------

  #onDataUnbuffered = (chunk: Buffer): void => {
    if (this.#done) return;
    this.#bytes += chunk.length;
    if (this.#res.write(chunk)) {
      this.#armRead();
      return;
    }
    this.#body.pause();
    this.#stopRead();
    void this.#drained().then(this.#resumeUnbuffered);
  };

  #resumeUnbuffered = (ok: boolean): void => {
    if (ok && !this.#upstreamEnded) {
      this.#body.resume();
      this.#armRead();
    }
  };

  // --- buffering on ----------------------------------------------------------------------------

  #onDataBuffered = (chunk: Buffer): void => {
    if (this.#done) return;
    const c = this.#chain!;
    const more = c.push(chunk);
    if (!this.#spilled && c.fileBytes > 0) {
      this.#spilled = true;
      if (channels.tempFile.hasSubscribers) channels.tempFile.publish({ req: this.#opts.req });
    }
    if (more) this.#armRead();
    else {
      this.#body.pause();
      this.#stopRead();
    }
  };

  #onSpace = (): void => {
    if (!this.#upstreamEnded && !this.#done) {
      this.#body.resume();
      this.#armRead();
    }
  };

  #sendable(): boolean {
    const c = this.#chain!;
    return c.pending >= this.#opts.location.buffers.size || c.ended || this.#done;
  }

  /** Chain 'data' (bytes pushed, or the end): lets a waiting pump go on once it has something to send. */
  #wake = (): void => {
    const waiting = this.#waitingData;
    if (waiting !== null && this.#sendable()) {
      this.#waitingData = null;
      waiting();
    }
  };

  /**
   * Feeds the client from the chain: whole buffers while the upstream is still running, everything once it is
   * done; what is already buffered goes out as one write, as nginx sends its buffer chain. Bytes in memory are
   * taken at once; only temp-file bytes and a full client cost a wait.
   */
  async #pump(): Promise<void> {
    const c = this.#chain!;
    const unit = this.#opts.location.buffers.size;
    const res = this.#res;
    try {
      for (;;) {
        if (!this.#sendable()) await new Promise<void>((ok) => (this.#waitingData = ok));
        if (this.#done) return;
        while (c.pending >= unit || (c.ended && c.pending > 0)) {
          const first = c.shiftMemory() ?? (await c.shift());
          if (first === null || this.#done) return;
          const parts = [first];
          let size = first.length;
          while (c.pending > 0 && size < MAX_WRITE) {
            const more = c.shiftMemory() ?? (await c.shift());
            if (more === null) break;
            parts.push(more);
            size += more.length;
          }
          if (this.#done) return;
          const data = parts.length === 1 ? first : Buffer.concat(parts, size);
          this.#writeHead();
          this.#bytes += data.length;
          if (c.ended && c.pending === 0 && !this.#upstreamFailure) {
            // The last bytes and the end of the response in one write.
            res.end(data, this.#onEnded);
            return;
          }
          if (!res.write(data) && !(await this.#drained())) return;
        }
        if (c.ended && c.pending === 0) {
          if (this.#upstreamFailure) this.#abortClient();
          else await this.#endClient();
          return;
        }
      }
    } catch (err) {
      // A temp-file read failed: the client cannot get the rest, so it must not get a clean end either.
      this.#upstreamFailure ??= new EdgeUpstreamError('error', 'body', { detail: (err as Error).message, cause: err });
      this.#abortClient();
    }
  }
}
