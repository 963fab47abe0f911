const OriginalResponse = globalThis.Response;
type HeadersInit = ConstructorParameters<typeof Headers>[0];
type BodyInit = ConstructorParameters<typeof Response>[0];
const kMaterialize = Symbol('tsgi.lightResponse.materialize');
/** Statuses whose responses carry no body (the Response constructor refuses one). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

type FastBody = string | Uint8Array | ArrayBuffer | null;

/** What a Response made from a string or bytes is, for writing it without its body stream. */
export interface FastResponseParts {
  status: number;
  /** Node's flat `[name, value, ...]`, names lower-cased. */
  flat: string[];
  hasLength: boolean;
  body: string | Uint8Array | null;
}

function isFast(body: unknown, init: ResponseInit | undefined): body is FastBody | undefined {
  if (!(body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer)) return false;
  if (init === undefined || init === null) return true;
  if (typeof init !== 'object' || init.statusText !== undefined) return false;
  const status = init.status;
  if (status === undefined) return true;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) return false;
  return !(NULL_BODY_STATUS.has(status) && body !== undefined && body !== null);
}

function hasName(flat: string[], name: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return true;
  return false;
}

function flatFromHeaders(headers: Headers, flat: string[]): void {
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') flat.push(name, value);
  });
  for (const cookie of headers.getSetCookie()) flat.push('set-cookie', cookie);
}

/** The fields of a HeadersInit as flat pairs, without making a Headers object of them. */
function flatFromInit(init: HeadersInit | undefined, flat: string[]): void {
  if (init === undefined || init === null) return;
  if (init instanceof Headers) return flatFromHeaders(init, flat);
  if (Array.isArray(init)) {
    for (const pair of init) flat.push(String(pair[0]).toLowerCase(), String(pair[1]));
    return;
  }
  for (const name of Object.keys(init)) {
    const value = (init as Record<string, string | string[]>)[name];
    const lower = name.toLowerCase();
    if (Array.isArray(value)) for (const v of value) flat.push(lower, String(v));
    else flat.push(lower, String(value));
  }
}

/**
 * The global Response while a fetch app is served on --http-socket: made from a string or bytes
 * (what `c.text()`, `c.json()`, `new Response('hi')` make), it only records them, and the engine
 * writes them to Node's `res` as they are; the WHATWG Response behind it (its body stream and all)
 * is built the first time anything else than `status`, `ok` or `headers` is used. Any other body
 * builds the real Response at once. `instanceof Response` holds for both kinds.
 */
export class LightResponse {
  #body: FastBody = null;
  #init: ResponseInit | undefined;
  #headers: Headers | null = null;
  #real: Response | null = null;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    if (!isFast(body, init)) {
      this.#real = new OriginalResponse(body, init);
      return;
    }
    this.#body = body ?? null;
    this.#init = init;
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(OriginalResponse, value);
  }

  get status(): number {
    return this.#real !== null ? this.#real.status : (this.#init?.status ?? 200);
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get headers(): Headers {
    if (this.#real !== null) return this.#real.headers;
    if (this.#headers === null) {
      const headers = new Headers(this.#init?.headers);
      if (typeof this.#body === 'string' && !headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** The real Response, built once (from the headers as they are now, if they were touched). */
  [kMaterialize](): Response {
    if (this.#real === null) {
      const init = this.#init;
      this.#real = new OriginalResponse(this.#body, { status: init?.status, headers: this.#headers ?? init?.headers });
    }
    return this.#real;
  }

  /**
   * Status, headers and body of `value` for a direct write when it is a LightResponse whose real
   * Response was never built; null otherwise (then its body stream is the truth).
   */
  static fastPartsOf(value: unknown): FastResponseParts | null {
    if (typeof value !== 'object' || value === null || !(#real in value)) return null;
    return (value as LightResponse).#fastParts();
  }

  #fastParts(): FastResponseParts | null {
    if (this.#real !== null) return null;
    const flat: string[] = [];
    if (this.#headers !== null) flatFromHeaders(this.#headers, flat);
    else {
      flatFromInit(this.#init?.headers, flat);
      if (typeof this.#body === 'string' && !hasName(flat, 'content-type')) flat.push('content-type', 'text/plain;charset=UTF-8');
    }
    const body = this.#body instanceof ArrayBuffer ? new Uint8Array(this.#body) : this.#body;
    return { status: this.status, flat, hasLength: hasName(flat, 'content-length'), body };
  }
}

for (const name of ['body', 'bodyUsed', 'redirected', 'statusText', 'type', 'url']) {
  Object.defineProperty(LightResponse.prototype, name, {
    get(this: LightResponse) {
      return (this[kMaterialize]() as unknown as Record<string, unknown>)[name];
    },
    configurable: true,
  });
}
for (const name of ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text']) {
  Object.defineProperty(LightResponse.prototype, name, {
    value(this: LightResponse, ...args: unknown[]) {
      const real = this[kMaterialize]() as unknown as Record<string, (...a: unknown[]) => unknown>;
      return real[name].apply(real, args);
    },
    configurable: true,
    writable: true,
  });
}
Object.defineProperty(LightResponse.prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: LightResponse, depth: number, options: object, inspect: (v: unknown, o: object) => string) {
    return `Response (tsgi, built on use) ${inspect({ status: this.status, headers: this.headers }, { ...options, depth: depth - 1 })}`;
  },
});
Object.defineProperty(LightResponse, 'name', { value: 'Response' });
Object.setPrototypeOf(LightResponse, OriginalResponse);
Object.setPrototypeOf(LightResponse.prototype, OriginalResponse.prototype);

/** Makes LightResponse the global Response (once; not when something else already replaced it). */
export function installLightResponse(): void {
  if (globalThis.Response !== OriginalResponse) return;
  Object.defineProperty(globalThis, 'Response', { value: LightResponse, writable: true, configurable: true, enumerable: false });
}
