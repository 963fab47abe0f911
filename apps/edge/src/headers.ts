/** Hop-by-hop headers (RFC 9110 §7.6.1 plus the de-facto ones) never cross the proxy in either direction. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Header names listed in a Connection header are hop-by-hop for that message too. */
export function connectionTokens(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of Array.isArray(value) ? value : value ? [value] : []) {
    for (const t of v.split(',')) {
      const name = t.trim().toLowerCase();
      if (name) out.add(name);
    }
  }
  return out;
}

export function isHopByHop(name: string, tokens: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  return HOP_BY_HOP.has(lower) || tokens.has(lower);
}

/** Upstream response headers nginx keeps to itself (proxy_hide_header's defaults) or replaces with its own. */
const HIDDEN_RESPONSE = new Set(['x-accel-buffering', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-charset', 'x-accel-expires', 'status', 'date', 'server', 'x-pad']);

/** What a client gets of an upstream head, worked out in one pass over the upstream's headers. */
export interface ClientResponseHeaders {
  /** Flat `[name, value, name, value, ...]`, as `writeHead` takes it. */
  readonly flat: string[];
  /** The upstream's X-Accel-Buffering value (first one), which never reaches the client. */
  readonly accelBuffering: string | undefined;
  /** Index in `flat` of the first name that may not be sent to an HTTP client, or -1. */
  readonly invalidAt: number;
  /** The body length the client is told (one valid Content-Length), or null. */
  readonly contentLength: number | null;
}

/** RFC 9110 token and field-value checks, as Node's http module makes them. */
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The headers a client gets from an upstream response: hop-by-hop and nginx-hidden ones dropped, and
 * Content-Length dropped when Transfer-Encoding also came (the body is then re-framed by the edge).
 */
export function clientResponseHeaders(upstream: readonly (readonly [string, string])[]): ClientResponseHeaders {
  const n = upstream.length;
  const lower: string[] = new Array<string>(n);
  let tokens: Set<string> | null = null;
  let chunked = false;
  let accelBuffering: string | undefined;
  for (let i = 0; i < n; i++) {
    const [name, value] = upstream[i];
    const l = (lower[i] = name.toLowerCase());
    if (l === 'connection') {
      tokens ??= new Set();
      for (const t of connectionTokens(value)) tokens.add(t);
    } else if (l === 'transfer-encoding') chunked = true;
    else if (l === 'x-accel-buffering' && accelBuffering === undefined) accelBuffering = value;
  }
  const flat: string[] = [];
  let invalidAt = -1;
  let contentLength: number | null = null;
  let lengths = 0;
  for (let i = 0; i < n; i++) {
    const l = lower[i];
    if (HOP_BY_HOP.has(l) || HIDDEN_RESPONSE.has(l) || (tokens !== null && tokens.has(l)) || (chunked && l === 'content-length')) continue;
    const [name, value] = upstream[i];
    if (invalidAt === -1 && (!TOKEN.test(name) || INVALID_VALUE.test(value))) invalidAt = flat.length;
    if (l === 'content-length') {
      lengths++;
      contentLength = /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : null;
    }
    flat.push(name, value);
  }
  return { flat, accelBuffering, invalidAt, contentLength: lengths === 1 ? contentLength : null };
}
