import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Greenlet } from '@tsgi/hub';
import { onKill } from '@tsgi/hub/internal';

const OriginalRequest = globalThis.Request;
type RequestInput = string | URL | Request;
const kMaterialize = Symbol('tsgi.lazyRequest.materialize');

/** The request body as a byte stream read from Node's request as the app pulls it. */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Buffer> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const step = await iterator.next();
      if (step.done) controller.close();
      else controller.enqueue(new Uint8Array(step.value.buffer, step.value.byteOffset, step.value.byteLength));
    },
    async cancel() {
      await iterator?.return?.();
    },
  });
}

const WITHOUT_BODY = new Set(['GET', 'HEAD']);

/**
 * A WHATWG `Request` over Node's `req`, made for the common handler that reads only the method, the
 * URL and a header or two: those come straight from `req`, and the real `Request` (its body a
 * stream over `req`) is built the first time anything else is touched. `instanceof Request` holds.
 * Its `signal` aborts when the connection closes before the response was completely written, or
 * when the request's greenlet is killed (--harakiri).
 */
export class LazyRequest {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #url: string;
  readonly #owner: { readonly greenlet: unknown };
  #headers: Headers | null = null;
  #abort: AbortController | null = null;
  #real: Request | null = null;

  /** `owner.greenlet` is the request's greenlet (read when the signal is first asked for). */
  constructor(req: IncomingMessage, res: ServerResponse, url: string, owner: { readonly greenlet: unknown }) {
    this.#req = req;
    this.#res = res;
    this.#url = url;
    this.#owner = owner;
  }

  get method(): string {
    return this.#req.method ?? 'GET';
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    if (this.#headers !== null) return this.#headers;
    const raw = this.#req.rawHeaders;
    const headers = new Headers();
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    this.#headers = headers;
    return headers;
  }

  get signal(): AbortSignal {
    if (this.#abort === null) {
      const controller = new AbortController();
      this.#abort = controller;
      const res = this.#res;
      const onClose = (): void => {
        if (!res.writableFinished) controller.abort(new DOMException('the client closed the connection', 'AbortError'));
      };
      if (res.destroyed) onClose();
      else res.once('close', onClose);
      const greenlet = this.#owner.greenlet as Greenlet<unknown> | undefined;
      if (greenlet !== undefined && !controller.signal.aborted) onKill(greenlet, (reason) => controller.abort(reason));
    }
    return this.#abort.signal;
  }

  /** The real Request, built once; a URL, method or header the WHATWG classes refuse throws here. */
  [kMaterialize](): Request {
    if (this.#real !== null) return this.#real;
    const method = this.method;
    const init: RequestInit & { duplex?: 'half' } = { method, headers: this.headers, signal: this.signal };
    if (!WITHOUT_BODY.has(method)) {
      init.body = bodyOf(this.#req);
      init.duplex = 'half';
    }
    const real = new OriginalRequest(this.#url, init);
    this.#real = real;
    return real;
  }
}

for (const name of ['body', 'bodyUsed', 'cache', 'credentials', 'destination', 'duplex', 'integrity', 'keepalive', 'mode', 'redirect', 'referrer', 'referrerPolicy']) {
  Object.defineProperty(LazyRequest.prototype, name, {
    get(this: LazyRequest) {
      return (this[kMaterialize]() as unknown as Record<string, unknown>)[name];
    },
    configurable: true,
  });
}
for (const name of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text']) {
  Object.defineProperty(LazyRequest.prototype, name, {
    value(this: LazyRequest, ...args: unknown[]) {
      const real = this[kMaterialize]() as unknown as Record<string, (...a: unknown[]) => unknown>;
      return real[name].apply(real, args);
    },
    configurable: true,
    writable: true,
  });
}
Object.defineProperty(LazyRequest.prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: LazyRequest, depth: number, options: object, inspect: (v: unknown, o: object) => string) {
    return `Request (tsgi, built on use) ${inspect({ method: this.method, url: this.url, headers: this.headers }, { ...options, depth: depth - 1 })}`;
  },
});

/** The real Request behind `value` when it is a LazyRequest (for `new Request(lazy, init)`), else `value`. */
export function unwrapLazyRequest(value: RequestInput): RequestInput {
  return value instanceof LazyRequest ? value[kMaterialize]() : value;
}

/** The global Request once installLazyRequestSupport() ran: the same class, also taking a LazyRequest as input. */
class TsgiRequest extends OriginalRequest {
  constructor(input: RequestInput, init?: RequestInit) {
    super(unwrapLazyRequest(input), init);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(OriginalRequest, value);
  }
}
Object.defineProperty(TsgiRequest, 'name', { value: 'Request' });
Object.setPrototypeOf(LazyRequest.prototype, TsgiRequest.prototype);

/**
 * Makes `new Request(lazy, init)` work (Hono's mount() and proxies do it): the global Request
 * becomes a subclass whose constructor takes a LazyRequest as its input, as @hono/node-server does
 * on its own server. Everything else is the Request it was; `instanceof Request` holds for both
 * classes' instances and for lazy requests.
 */
export function installLazyRequestSupport(): void {
  if (globalThis.Request !== OriginalRequest) return;
  Object.defineProperty(globalThis, 'Request', { value: TsgiRequest, writable: true, configurable: true, enumerable: false });
}
