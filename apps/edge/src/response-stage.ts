import { STATUS_CODES, validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import { BufferChain } from './buffer-chain.js';
import * as channels from './channels.js';
import type { Location } from './config.js';
import { EdgeUpstreamError } from './errors.js';
import { clientResponseHeaders, headerValue } from './headers.js';
import type { UpstreamResponse } from './transport.js';

/** The head a client will get, computed (and validated) before anything is committed to the client. */
export interface ClientHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: [string, string][];
  /** Buffering for this response, after X-Accel-Buffering. */
  readonly buffering: boolean;
}

/**
 * Works out what the client gets from an upstream head. Throws EdgeUpstreamError('invalid-header') when the
 * upstream sent something no HTTP client may receive, so the caller can answer 502 or try another server.
 */
export function clientHead(upstream: UpstreamResponse, location: Location): ClientHead {
  if (!Number.isInteger(upstream.status) || upstream.status < 100 || upstream.status > 999) {
    throw new EdgeUpstreamError('invalid-header', 'header', { detail: `status ${JSON.stringify(upstream.status)}` });
  }
  let buffering = location.buffering;
  const accel = headerValue(upstream.headers, 'x-accel-buffering');
  if (accel !== undefined && !location.ignoreHeaders.has('x-accel-buffering')) {
    const v = accel.trim().toLowerCase();
    if (v === 'yes') buffering = true;
    else if (v === 'no') buffering = false;
  }
  const headers = clientResponseHeaders(upstream.headers);
  for (const [name, value] of headers) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      throw new EdgeUpstreamError('invalid-header', 'header', { detail: JSON.stringify(`${name}: ${value}`.slice(0, 64)) });
    }
  }
  headers.push(['Server', 'tsgi-edge']);
  return { status: upstream.status, statusText: upstream.statusText, headers, buffering };
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
}

/**
 * The response stage. Buffering off: each upstream read goes to the client at once, and a client that does not
 * read pauses the upstream. Buffering on: the upstream is read at its own speed into memory buffers and a temp
 * file; the client gets nothing until a whole buffer is filled or the upstream is done (as nginx), then is fed
 * from the chain at its own speed. Either way an upstream failure mid-body closes the client connection without
 * a clean end, so a truncated body can never look complete.
 */
export function relayResponse(opts: RelayOptions): Promise<RelayResult> {
  const { req, res, location, upstream, head } = opts;
  const body = upstream.body;
  return new Promise<RelayResult>((resolve) => {
    let bytes = 0;
    let done = false;
    let upstreamEnded = false;
    let upstreamEndedAt: number | null = null;
    let upstreamFailure: EdgeUpstreamError | null = null;
    let readTimer: NodeJS.Timeout | undefined;
    let sendTimer: NodeJS.Timeout | undefined;
    let chain: BufferChain | null = null;

    const finish = (outcome: RelayOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(readTimer);
      clearTimeout(sendTimer);
      chain?.destroy();
      if (!upstreamEnded) upstream.destroy();
      resolve({ outcome, bytes, error: upstreamFailure, upstreamEndedAt, tempFileBytes: chain?.fileBytes ?? 0 });
    };

    const armRead = () => {
      clearTimeout(readTimer);
      if (upstreamEnded || done) return;
      readTimer = setTimeout(() => upstreamFailed(new EdgeUpstreamError('timeout', 'body')), location.readTimeout * 1000);
    };
    const stopRead = () => clearTimeout(readTimer);

    const clientTimedOut = () => {
      res.destroy();
      finish('client-timeout');
    };
    /** Resolves true once the client drained, false if it went away or timed out. */
    const drained = () =>
      new Promise<boolean>((ok) => {
        if (done) return ok(false);
        sendTimer = setTimeout(() => {
          clientTimedOut();
          ok(false);
        }, opts.clientSendTimeout * 1000);
        const onDrain = () => {
          clearTimeout(sendTimer);
          res.off('close', onClose);
          ok(true);
        };
        const onClose = () => {
          clearTimeout(sendTimer);
          res.off('drain', onDrain);
          ok(false);
        };
        res.once('drain', onDrain);
        res.once('close', onClose);
      });

    const writeHead = () => {
      if (!res.headersSent) res.writeHead(head.status, head.statusText || STATUS_CODES[head.status] || 'Unknown', head.headers.flat());
    };
    const endClient = async () => {
      writeHead();
      // The send timeout also covers the tail still queued for a client that stopped reading.
      if (res.writableNeedDrain && !(await drained())) return;
      if (!done) res.end(() => finish('complete'));
    };
    /** The upstream broke mid-body: the client gets what arrived, then the connection closes uncleanly. */
    const abortClient = () => {
      if (done) return;
      writeHead();
      // Destroying the socket (not ending the response) is what makes the truncation visible to the client.
      res.destroy();
      finish('upstream-error');
    };

    res.on('close', () => {
      if (!done && !res.writableFinished) finish(upstreamFailure ? 'upstream-error' : 'client-gone');
    });

    const upstreamFailed = (err: EdgeUpstreamError) => {
      if (upstreamEnded || done) return;
      upstreamEnded = true;
      upstreamEndedAt = performance.now();
      upstreamFailure = err;
      stopRead();
      body.destroy();
      upstream.destroy();
      if (chain) chain.end();
      else abortClient();
    };
    body.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      const failure = code === 'ECONNRESET' && err.message !== 'aborted' ? 'reset' : code.includes('TIMEOUT') ? 'timeout' : 'premature-close';
      upstreamFailed(new EdgeUpstreamError(failure, 'body', { cause: err }));
    });
    body.on('close', () => {
      if (!upstreamEnded) upstreamFailed(new EdgeUpstreamError('premature-close', 'body'));
    });
    const onUpstreamEnd = () => {
      if (upstreamEnded) return;
      upstreamEnded = true;
      upstreamEndedAt = performance.now();
      stopRead();
    };

    if (!head.buffering) {
      writeHead();
      // The head goes out with the first chunk when that is already here (one write, as nginx after one recv);
      // otherwise on its own right after, so a client sees it before a slow first chunk.
      setImmediate(() => {
        if (!done && !res.writableEnded && bytes === 0) res.flushHeaders();
      });
      body.on('data', (chunk: Buffer) => {
        if (done) return;
        bytes += chunk.length;
        if (res.write(chunk)) {
          armRead();
          return;
        }
        body.pause();
        stopRead();
        void drained().then((ok) => {
          if (ok && !upstreamEnded) {
            body.resume();
            armRead();
          }
        });
      });
      body.on('end', () => {
        onUpstreamEnd();
        void endClient();
      });
      armRead();
      return;
    }

    const c = (chain = new BufferChain({
      memoryLimit: location.buffers.count * location.buffers.size,
      maxFileSize: location.maxTempFileSize,
      tempDir: opts.tempDir,
    }));
    let spilled = false;
    body.on('data', (chunk: Buffer) => {
      if (done) return;
      const more = c.push(chunk);
      if (!spilled && c.fileBytes > 0) {
        spilled = true;
        if (channels.tempFile.hasSubscribers) channels.tempFile.publish({ req });
      }
      if (more) armRead();
      else {
        body.pause();
        stopRead();
      }
    });
    c.on('space', () => {
      if (!upstreamEnded && !done) {
        body.resume();
        armRead();
      }
    });
    body.on('end', () => {
      onUpstreamEnd();
      c.end();
    });
    armRead();

    const unit = location.buffers.size;
    const waitForData = () =>
      new Promise<void>((ok) => {
        if (c.pending >= unit || c.ended || done) return ok();
        const check = () => {
          if (c.pending >= unit || c.ended || done) {
            c.off('data', check);
            ok();
          }
        };
        c.on('data', check);
      });
    void (async () => {
      try {
        for (;;) {
          await waitForData();
          if (done) return;
          // Send on in whole buffers while the upstream is still running; everything once it is done.
          while (c.pending >= unit || (c.ended && c.pending > 0)) {
            const first = await c.shift();
            if (first === null || done) return;
            // What is already buffered goes out as one write (one chunk), as nginx sends its buffer chain.
            const parts = [first];
            let size = first.length;
            while (c.pending > 0 && size < 65536) {
              const more = await c.shift();
              if (more === null) break;
              parts.push(more);
              size += more.length;
            }
            if (done) return;
            const data = parts.length === 1 ? first : Buffer.concat(parts, size);
            writeHead();
            bytes += data.length;
            if (c.ended && c.pending === 0 && !upstreamFailure) {
              // The last bytes and the end of the response in one write.
              res.end(data, () => finish('complete'));
              return;
            }
            if (!res.write(data) && !(await drained())) return;
          }
          if (c.ended && c.pending === 0) {
            if (upstreamFailure) abortClient();
            else await endClient();
            return;
          }
        }
      } catch (err) {
        // A temp-file read failed: the client cannot get the rest, so it must not get a clean end either.
        upstreamFailure ??= new EdgeUpstreamError('error', 'body', { detail: (err as Error).message, cause: err });
        abortClient();
      }
    })();
  });
}
