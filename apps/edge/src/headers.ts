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

/**
 * The headers a client gets from an upstream response: hop-by-hop and nginx-hidden ones dropped, and
 * Content-Length dropped when Transfer-Encoding also came (the body is then re-framed by the edge).
 */
export function clientResponseHeaders(upstream: readonly (readonly [string, string])[]): [string, string][] {
  const tokens = connectionTokens(upstream.filter(([n]) => n.toLowerCase() === 'connection').map(([, v]) => v));
  const chunked = upstream.some(([n]) => n.toLowerCase() === 'transfer-encoding');
  const out: [string, string][] = [];
  for (const [name, value] of upstream) {
    const lower = name.toLowerCase();
    if (isHopByHop(lower, tokens) || HIDDEN_RESPONSE.has(lower)) continue;
    if (chunked && lower === 'content-length') continue;
    out.push([name, value]);
  }
  return out;
}

/** First value of a header in a [name, value] list, case-insensitively. */
export function headerValue(headers: readonly (readonly [string, string])[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}
