import diagnostics_channel from 'node:diagnostics_channel';
import { STATUS_CODES } from 'node:http';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { getCurrent } from '@tsgi/hub';
import { onKill, waitFor } from '@tsgi/hub/internal';
import type { Environ } from '../engine/environ.js';
import type { TsgiApplication } from '../engine/request-runner.js';
import { AdapterArgumentError, FetchResponseError } from './errors.js';
import { hasRequestBody, requestHost, requestTarget } from './environ-request.js';
import { fetchNativeListener, isResponseLike } from './fetch-native.js';
import { withNativeHttpListener } from './native-http.js';

/** A fetch-style handler: Hono's `app.fetch`, itty-router, Bun's and Deno's `fetch(request)`. It also gets the environ. */
export type FetchHandler = (request: Request, environ: Environ) => Response | Promise<Response>;

const requestChannel = diagnostics_channel.channel('tsgi:server:adapter:fetch:request');
const BAD_REQUEST = '400 Bad Request';

/** The body as a byte stream pulled from tsgi.input (its reads are hub waits, so kill and harakiri reach them). */
function bodyStream(input: AsyncIterable<Buffer>): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Buffer> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= input[Symbol.asyncIterator]();
      const step = await iterator.next();
      if (step.done) controller.close();
      else controller.enqueue(new Uint8Array(step.value.buffer, step.value.byteOffset, step.value.byteLength));
    },
    async cancel() {
      await iterator?.return?.();
    },
  });
}

/** Waits for `promise` as a hub wait, so kill() and --harakiri interrupt an app stuck in it. */
function hubAwait<T>(promise: Promise<T>): Promise<T> {
  return waitFor<T>((resolve, reject) => {
    promise.then(resolve, reject);
  });
}

/** Reads a Response body stream chunk by chunk; return() (client gone, kill) cancels the stream. */
async function* streamChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  abort: AbortController,
  first: Uint8Array | undefined,
  pending: Promise<ReadableStreamReadResult<Uint8Array>>,
): AsyncGenerator<Uint8Array> {
  let done = false;
  let next: Promise<ReadableStreamReadResult<Uint8Array>> | null = pending;
  try {
    if (first !== undefined && first.byteLength > 0) yield first;
    for (;;) {
      const step = await hubAwait(next ?? reader.read());
      next = null;
      if (step.done) {
        done = true;
        return;
      }
      if (step.value !== undefined && step.value.byteLength > 0) yield step.value;
    }
  } finally {
    if (!done) {
      abort.abort(new DOMException('the response was not completed (client gone or request cancelled)', 'AbortError'));
      reader.cancel().catch(() => undefined);
    }
    reader.releaseLock();
  }
}

/**
 * Turns a fetch-style handler into a TSGI application: each request becomes a WHATWG `Request`
 * (body streamed from tsgi.input, `signal` aborted when the client goes away or the request is
 * killed), and the `Response` it resolves to is sent with its body streamed as it comes. On
 * --http-socket the request is a LazyRequest over Node's `req` and the Response is written
 * straight to Node's `res` (see fetch-native.ts).
 * `fromFetch(app)` also takes an object with a `fetch` method (Hono's app, `export default { fetch }`).
 */
export function fromFetch(handler: FetchHandler | { fetch: FetchHandler }): TsgiApplication {
  let call: FetchHandler;
  if (typeof handler === 'function') call = handler;
  else if (handler !== null && typeof handler === 'object' && typeof handler.fetch === 'function') call = (request, environ) => handler.fetch(request, environ);
  else throw new AdapterArgumentError(`fromFetch() takes a (request) => Response function or an object with a fetch method, got ${handler === null ? 'null' : typeof handler}`);

  const application: TsgiApplication = async function fetchApplication(environ, startResponse) {
    const scheme = environ['tsgi.url_scheme'] === 'https' ? 'https' : 'http';
    const method = environ.REQUEST_METHOD;
    const abort = new AbortController();
    let request: Request;
    try {
      const headers = new Headers();
      for (const key in environ) {
        if (!key.startsWith('HTTP_') || key === 'HTTP_CONTENT_TYPE' || key === 'HTTP_CONTENT_LENGTH') continue;
        const value = environ[key];
        if (typeof value === 'string') headers.append(key.slice(5).replace(/_/g, '-'), value);
      }
      if (typeof environ.CONTENT_TYPE === 'string' && environ.CONTENT_TYPE !== '') headers.set('content-type', environ.CONTENT_TYPE);
      if (typeof environ.CONTENT_LENGTH === 'string' && environ.CONTENT_LENGTH !== '') headers.set('content-length', environ.CONTENT_LENGTH);
      const input = environ['tsgi.input'] as AsyncIterable<Buffer> | undefined;
      const withBody = method !== 'GET' && method !== 'HEAD' && input != null && hasRequestBody(environ);
      const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: abort.signal };
      if (withBody) {
        init.body = bodyStream(input);
        init.duplex = 'half';
      }
      request = new Request(`${scheme}://${requestHost(environ)}${requestTarget(environ)}`, init);
    } catch (error) {
      // A URL or header the WHATWG classes refuse: the client's fault, answered as Node's server would.
      const text = `Bad Request: ${(error as Error).message}\n`;
      startResponse(BAD_REQUEST, [
        ['Content-Type', 'text/plain; charset=utf-8'],
        ['Content-Length', String(Buffer.byteLength(text))],
      ]);
      return text;
    }

    const disconnected = environ['tsgi.disconnected'];
    const onGone = (): void => abort.abort(new DOMException('the client closed the connection', 'AbortError'));
    if (disconnected instanceof AbortSignal) {
      if (disconnected.aborted) onGone();
      else disconnected.addEventListener('abort', onGone, { once: true });
    }
    const unhookKill = onKill(getCurrent(), (reason) => abort.abort(reason));

    if (requestChannel.hasSubscribers) requestChannel.publish({ environ, request });
    let response: unknown;
    try {
      response = await hubAwait(Promise.resolve(call(request, environ)));
    } catch (error) {
      unhookKill();
      if (!abort.signal.aborted) abort.abort(error);
      throw error;
    }
    if (!isResponseLike(response)) {
      unhookKill();
      throw new FetchResponseError(response);
    }
    const pairs: Array<[string, string]> = [];
    response.headers.forEach((value, name) => {
      if (name === 'set-cookie') return;
      pairs.push([name, value]);
    });
    const cookies = typeof response.headers.getSetCookie === 'function' ? response.headers.getSetCookie() : [];
    for (const cookie of cookies) pairs.push(['set-cookie', cookie]);
    const reason = response.statusText || STATUS_CODES[response.status] || '';
    const status = reason === '' ? String(response.status) : `${response.status} ${reason}`;
    const body = response.body;
    if (body === null || method === 'HEAD') {
      unhookKill();
      startResponse(status, pairs);
      if (body !== null) await body.cancel().catch(() => undefined);
      return null;
    }
    // A body made from a string or bytes is one chunk and already closed: sent whole, with a
    // Content-Length (as Node servers do), without a switch. Anything still open streams.
    const reader = body.getReader();
    const first = await hubAwait(reader.read());
    if (first.done) {
      unhookKill();
      reader.releaseLock();
      if (!pairs.some(([n]) => n === 'content-length')) pairs.push(['content-length', '0']);
      startResponse(status, pairs);
      return null;
    }
    const second = reader.read();
    const ready = await Promise.race([second, new Promise<null>((resolve) => setImmediate(resolve, null))]);
    if (ready !== null && ready.done) {
      unhookKill();
      reader.releaseLock();
      const chunk = first.value ?? new Uint8Array(0);
      if (!pairs.some(([n]) => n === 'content-length')) pairs.push(['content-length', String(chunk.byteLength)]);
      startResponse(status, pairs);
      return [chunk];
    }
    startResponse(status, pairs);
    const chunks = streamChunks(reader, abort, first.value, second);
    // The hooks must live as long as the body streams; the generator's finally is the end of that.
    return (async function* () {
      try {
        yield* chunks;
      } finally {
        unhookKill();
        if (disconnected instanceof AbortSignal) disconnected.removeEventListener('abort', onGone);
      }
    })();
  };
  const publish = (request: Request, environ: Environ): void => {
    if (requestChannel.hasSubscribers) requestChannel.publish({ environ, request });
  };
  return withNativeHttpListener(application, fetchNativeListener(call, publish));
}
