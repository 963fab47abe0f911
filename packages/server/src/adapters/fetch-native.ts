import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { waitFor } from '@tsgi/hub/internal';
import type { Environ } from '../engine/environ.js';
import { FetchResponseError } from './errors.js';
import { installLazyRequestSupport, LazyRequest } from './lazy-request.js';
import { installLightResponse, LightResponse } from './light-response.js';
import type { NativeHttpListener, NativeHttpRequest } from './native-http.js';

/** The fetch handler as fromFetch() calls it. */
export type FetchCall = (request: Request, environ: Environ) => Response | Promise<Response>;

/**
 * undici keeps what a Response was made from (a string, bytes) next to the body stream it makes of
 * it; reading that source spares reading the stream. Found once, by the description of undici's
 * own symbol; absent (another fetch implementation), every body is streamed.
 */
const kState = Object.getOwnPropertySymbols(new Response('')).find((s) => s.description === 'state');

/** True when this Node's undici lets knownBody() see a Response's source (Node 20's does; Node 24's keeps it private). */
export const responseSourceVisible = kState !== undefined;

interface UndiciBody {
  stream?: ReadableStream<Uint8Array> & { locked: boolean };
  source?: unknown;
}

/** The whole body of `response` when it was made from a string or bytes and nobody read it yet; else null. */
export function knownBody(response: Response): string | Uint8Array | null {
  if (kState === undefined) return null;
  const state = (response as unknown as Record<symbol, { body?: UndiciBody | null } | undefined>)[kState];
  const body = state?.body;
  if (body === undefined || body === null) return null;
  const source = body.source;
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) return null;
  const stream = body.stream;
  if (stream === undefined || stream.locked || response.bodyUsed) return null;
  return source;
}

/** Statuses whose responses carry no body, so no Content-Length: 0 either. */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** A Response, or another realm's or another undici's Response (same shape). */
export function isResponseLike(value: unknown): value is Response {
  if (value instanceof Response) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Response).status === 'number' &&
    typeof (value as Response).headers?.forEach === 'function' &&
    'body' in value
  );
}

/** The response's header fields as Node's flat `[name, value, ...]`, Set-Cookie fields kept apart. */
function flatHeaders(response: Response): { flat: string[]; hasLength: boolean } {
  const flat: string[] = [];
  let hasLength = false;
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie') return;
    if (name === 'content-length') hasLength = true;
    flat.push(name, value);
  });
  const headers = response.headers;
  if (typeof headers.getSetCookie === 'function') {
    for (const cookie of headers.getSetCookie()) flat.push('set-cookie', cookie);
  }
  return { flat, hasLength };
}

/** Streams `body` into `res`: each chunk written as it comes, waiting for 'drain' when Node's buffer is full. */
async function streamBody(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  let done = false;
  const onClose = (): void => {
    if (!done) reader.cancel(new DOMException('the client closed the connection', 'AbortError')).catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const step = await waitFor<ReadableStreamReadResult<Uint8Array>>((resolve, reject) => {
        reader.read().then(resolve, reject);
      });
      if (step.done) break;
      if (res.destroyed) return;
      const chunk = step.value;
      if (chunk === undefined || chunk.byteLength === 0) continue;
      if (!res.write(chunk)) {
        await waitFor<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
          return () => {
            res.off('drain', resolve);
            res.off('close', resolve);
          };
        });
      }
    }
    done = true;
    if (!res.destroyed) res.end();
  } finally {
    res.off('close', onClose);
    if (!done) {
      reader.cancel().catch(() => undefined);
      if (!res.writableEnded) res.destroy();
    }
    reader.releaseLock();
  }
}

/** Writes a fetch Response to Node's `res`: bodies made from a string or bytes in one write, others streamed. */
export function sendFetchResponse(response: unknown, req: IncomingMessage, res: ServerResponse): void | Promise<void> {
  if (!isResponseLike(response)) throw new FetchResponseError(response);
  if (res.writableEnded || res.destroyed) {
    // Answered already (--harakiri) or the client left: the body is nobody's now.
    response.body?.cancel().catch(() => undefined);
    return;
  }
  {
    const fast = LightResponse.fastPartsOf(response);
    if (fast !== null) {
      const { flat, body } = fast;
      const bodyless = body === null || req.method === 'HEAD';
      if (!fast.hasLength && !NULL_BODY_STATUS.has(fast.status)) flat.push('content-length', String(body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
      res.writeHead(fast.status, flat);
      if (bodyless) res.end();
      else res.end(body);
      return;
    }
  }
  const { flat, hasLength } = flatHeaders(response);
  const reason = response.statusText === '' ? undefined : response.statusText;
  const body = response.body;
  if (body === null || req.method === 'HEAD') {
    if (body !== null) body.cancel().catch(() => undefined);
    else if (!hasLength && !NULL_BODY_STATUS.has(response.status)) flat.push('content-length', '0');
    res.writeHead(response.status, reason, flat);
    res.end();
    return;
  }
  const whole = knownBody(response);
  if (whole !== null) {
    if (!hasLength) flat.push('content-length', String(typeof whole === 'string' ? Buffer.byteLength(whole) : whole.byteLength));
    res.writeHead(response.status, reason, flat);
    res.end(whole);
    return;
  }
  res.writeHead(response.status, reason, flat);
  return streamBody(body, res);
}

/** The absolute URL of the request, as fetch handlers expect it. */
function requestUrl(req: IncomingMessage): string {
  const target = req.url ?? '/';
  if (target.charCodeAt(0) !== 47 /* / */ && (target.startsWith('http://') || target.startsWith('https://'))) return target;
  const socket = req.socket as IncomingMessage['socket'] & { encrypted?: boolean };
  const scheme = socket.encrypted === true ? 'https' : 'http';
  let host = req.headers.host;
  if (host === undefined || host === '') {
    const address = socket.localAddress ?? 'localhost';
    host = `${address.includes(':') ? `[${address}]` : address}:${socket.localPort ?? 80}`;
  }
  return `${scheme}://${host}${target}`;
}

const kNative = Symbol('tsgi.native');
type EnvironTarget = { [kNative]: NativeHttpRequest };
const env = (t: EnvironTarget): Environ => t[kNative].environ;
/** One handler for every request's environ proxy: each reads through to the environ, built on first use. */
const environHandler: ProxyHandler<EnvironTarget> = {
  get: (t, key) => Reflect.get(env(t), key),
  has: (t, key) => Reflect.has(env(t), key),
  set: (t, key, value) => Reflect.set(env(t), key, value),
  ownKeys: (t) => Reflect.ownKeys(env(t)),
  getOwnPropertyDescriptor: (t, key) => {
    const d = Reflect.getOwnPropertyDescriptor(env(t), key);
    if (d !== undefined) d.configurable = true;
    return d;
  },
  deleteProperty: (t, key) => Reflect.deleteProperty(env(t), key),
  defineProperty: (t, key, d) => Reflect.defineProperty(env(t), key, d),
};

/** The environ handed to the handler as its second argument, built only when the handler reads it. */
function lazyEnviron(native: NativeHttpRequest): Environ {
  return new Proxy({ [kNative]: native }, environHandler) as unknown as Environ;
}

/**
 * The fetch handler served straight from Node's `req`/`res` (--http-socket): a LazyRequest in, and
 * the Response written to `res` as soon as the handler returns it (in the same turn when the
 * handler answers without waiting). It makes the global Request accept a LazyRequest and the global
 * Response a LightResponse, as @hono/node-server does on its own server.
 */
export function fetchNativeListener(call: FetchCall, onRequest?: (request: Request, environ: Environ) => void): NativeHttpListener {
  installLazyRequestSupport();
  installLightResponse();
  return (req, res, native) => {
    const request = new LazyRequest(req, res, requestUrl(req), native) as unknown as Request;
    const environ = lazyEnviron(native);
    onRequest?.(request, environ);
    const result = call(request, environ);
    if (result !== null && typeof result === 'object' && typeof (result as Promise<Response>).then === 'function') {
      return (result as Promise<Response>).then((response) => sendFetchResponse(response, req, res));
    }
    return sendFetchResponse(result, req, res);
  };
}
