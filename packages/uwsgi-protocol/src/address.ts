import { UwsgiProtocolError } from './errors.js';

/** Where a uwsgi server listens: TCP host/port (host defaults to 127.0.0.1) or a unix socket path. */
export type UwsgiAddress = { host?: string; port: number } | { path: string };

/**
 * Parses an address as uWSGI's `--socket`/`--signal` take it: `host:port`, `:port` (127.0.0.1), `[v6]:port`, or a
 * unix socket path (anything containing `/`, or with no colon).
 */
export function parseAddress(text: string): UwsgiAddress {
  if (typeof text !== 'string' || text.length === 0) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', 'address must be "host:port", ":port", "[v6]:port" or a unix socket path');
  }
  if (text.includes('/') || !text.includes(':')) return { path: text };
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', `invalid port in address ${JSON.stringify(text)}`);
  }
  return { host: host === '' ? '127.0.0.1' : host, port };
}

/** The address as nginx/uWSGI print it: `127.0.0.1:3031`, `[::1]:3031`, `unix:/path`. */
export function formatAddress(address: UwsgiAddress): string {
  if ('path' in address) return `unix:${address.path}`;
  const host = address.host ?? '127.0.0.1';
  return host.includes(':') ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

export function checkAddress(address: UwsgiAddress): void {
  const ok =
    address !== null &&
    typeof address === 'object' &&
    (('path' in address && typeof address.path === 'string' && address.path.length > 0) ||
      ('port' in address && Number.isInteger(address.port) && address.port > 0 && address.port <= 65535));
  if (!ok) {
    throw new UwsgiProtocolError('TSGI_ERR_UWSGI_INVALID_ARGUMENT', 'address must be { host, port } (port 1..65535) or { path } (a unix socket)');
  }
}
